/* test_buf.c: proto/buf.c, reference-counted message buffers: appends grow
 * the buffer and keep the bytes, references are counted. */
#include <errno.h>
#include <string.h>

#include "buf.h"
#include "test.h"

int main(void)
{
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
