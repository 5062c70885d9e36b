/* test_buf.c: proto/buf.c, reference-counted message buffers: appends grow
 * the buffer and keep the bytes, references are counted. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "test.h"

/* buf_append_u64/_i64 write what printf writes, at the edges and between. */
static void test_numbers(void)
{
        static const uint64_t u[] = { 0, 1, 9, 10, 99, 100, 4294967295u, 4294967296u, UINT64_MAX / 10, UINT64_MAX };
        static const int64_t i[] = { 0, -1, 1, -9, -10, INT32_MIN, INT64_MAX, INT64_MIN + 1, INT64_MIN };
        char want[32];

        for (size_t k = 0; k < sizeof(u) / sizeof(u[0]); k++) {
                struct buf *b = buf_new(1);
                CHECK_EQ_INT(buf_append_u64(&b, u[k]), 0);
                snprintf(want, sizeof(want), "%" PRIu64, u[k]);
                CHECK_EQ_INT(b->len, strlen(want));
                CHECK(memcmp(b->data, want, b->len) == 0);
                buf_unref(b);
        }
        for (size_t k = 0; k < sizeof(i) / sizeof(i[0]); k++) {
                struct buf *b = buf_new(1);
                CHECK_EQ_INT(buf_append_i64(&b, i[k]), 0);
                snprintf(want, sizeof(want), "%" PRId64, i[k]);
                CHECK_EQ_INT(b->len, strlen(want));
                CHECK(memcmp(b->data, want, b->len) == 0);
                buf_unref(b);
        }
}

int main(void)
{
        test_numbers();
        struct buf *b = buf_new(0);

        CHECK(b);
        CHECK_EQ_INT(b->refs, 1);
        CHECK_EQ_INT(b->len, 0);
        CHECK_EQ_INT(buf_append_str(&b, "hello"), 0);
        CHECK_EQ_INT(b->len, 5);
        CHECK(b->cap >= 5);
        /* grow through several doublings; earlier bytes stay */
        char chunk[1000];
        memset(chunk, 'z', sizeof(chunk));
        for (int i = 0; i < 100; i++)
                CHECK_EQ_INT(buf_append(&b, chunk, sizeof(chunk)), 0);
        CHECK_EQ_INT(b->len, 5 + 100 * 1000);
        CHECK(memcmp(b->data, "hellozzz", 8) == 0);
        CHECK_EQ_INT(b->data[b->len - 1], 'z');
        CHECK_EQ_INT(buf_append(&b, "", 0), 0);
        CHECK_EQ_INT(b->len, 100005);

        /* references */
        CHECK(buf_ref(b) == b);
        CHECK_EQ_INT(b->refs, 2);
        buf_unref(b);
        CHECK_EQ_INT(b->refs, 1);
        buf_unref(b); /* freed: ASan reports a leak or a double free otherwise */
        buf_unref(NULL);

        /* exact capacity: no growth when it fits */
        b = buf_new(4);
        CHECK(b);
        CHECK_EQ_INT(buf_append(&b, "abcd", 4), 0);
        CHECK_EQ_INT(b->cap, 4);
        CHECK_EQ_INT(buf_append(&b, "e", 1), 0);
        CHECK(b->cap >= 5);
        CHECK(memcmp(b->data, "abcde", 5) == 0);
        buf_unref(b);
        return 0;
}
