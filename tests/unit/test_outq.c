/* test_outq.c: busd/core/outq.c, the output ring: order, partial writes (stream),
 * whole-packet writes (seqpacket, newline stripped), growth while wrapped,
 * references released, memory released when idle. */
#include <string.h>

#include "buf.h"
#include "outq.h"
#include "test.h"

static struct buf *mk(const char *s)
{
        struct buf *b = buf_new(16);
        CHECK(b);
        CHECK_EQ_INT(buf_append_str(&b, s), 0);
        return b;
}

/* Concatenates what outq_iov() hands out. */
static const char *iov_text(const struct outq *q, size_t skip, size_t max, int strip)
{
        static char out[4096];
        struct iovec iov[64];
        size_t n = outq_iov(q, skip, iov, max, strip), len = 0;

        CHECK(n <= max);
        for (size_t i = 0; i < n; i++) {
                memcpy(out + len, iov[i].iov_base, iov[i].iov_len);
                len += iov[i].iov_len;
        }
        out[len] = 0;
        return out;
}

static void test_stream(void)
{
        struct outq q;
        size_t bytes = 0;

        outq_init(&q);
        CHECK(outq_at(&q, 0) == NULL);
        CHECK_EQ_INT(outq_iov(&q, 0, NULL, 0, 0), 0);
        struct buf *a = mk("aa\n"), *b = mk("bbbb\n"), *c = mk("c\n");
        buf_ref(a); /* keep one to watch the count */
        CHECK_EQ_INT(outq_push(&q, a), 0);
        CHECK_EQ_INT(outq_push(&q, b), 0);
        CHECK_EQ_INT(outq_push(&q, c), 0);
        CHECK(outq_at(&q, 0) == a && outq_at(&q, 2) == c && outq_at(&q, 3) == NULL);
        CHECK_STREQ(iov_text(&q, 0, 64, 0), "aa\nbbbb\nc\n");
        CHECK_STREQ(iov_text(&q, 0, 2, 0), "aa\nbbbb\n");
        CHECK_STREQ(iov_text(&q, 1, 64, 0), "bbbb\nc\n");

        /* a partial write of the first message */
        CHECK_EQ_INT(outq_consume_bytes(&q, 2, &bytes), 0);
        CHECK_EQ_INT(bytes, 0);
        CHECK_STREQ(iov_text(&q, 0, 64, 0), "\nbbbb\nc\n");
        /* finishing it and part of the next */
        CHECK_EQ_INT(outq_consume_bytes(&q, 1 + 3, &bytes), 1);
        CHECK_EQ_INT(bytes, 3);   /* whole length of the finished message */
        CHECK_EQ_INT(a->refs, 1); /* the queue's reference is gone */
        CHECK_STREQ(iov_text(&q, 0, 64, 0), "b\nc\n");
        CHECK_EQ_INT(outq_consume_bytes(&q, 4, &bytes), 2);
        CHECK_EQ_INT(bytes, 3 + 5 + 2);
        CHECK_EQ_INT(q.count, 0);
        CHECK_EQ_INT(q.off, 0);
        /* consuming more than is queued stops at empty */
        CHECK_EQ_INT(outq_consume_bytes(&q, 100, &bytes), 0);
        buf_unref(a);
        outq_deinit(&q);
}

static void test_packets(void)
{
        struct outq q;
        size_t bytes = 0;

        outq_init(&q);
        outq_push(&q, mk("{\"a\":1}\n"));
        outq_push(&q, mk("{}\n"));
        CHECK_STREQ(iov_text(&q, 0, 64, 1), "{\"a\":1}{}");
        struct iovec iov[2];
        CHECK_EQ_INT(outq_iov(&q, 0, iov, 2, 1), 2);
        CHECK_EQ_INT(iov[0].iov_len, 7);
        CHECK_EQ_INT(iov[1].iov_len, 2);
        outq_consume_items(&q, 1, &bytes);
        CHECK_EQ_INT(bytes, 8); /* accounting uses the full length */
        CHECK_STREQ(iov_text(&q, 0, 64, 1), "{}");
        outq_consume_items(&q, 5, &bytes);
        CHECK_EQ_INT(bytes, 11);
        CHECK_EQ_INT(q.count, 0);
        outq_deinit(&q);
}

/* Growth while the ring has wrapped keeps the order. */
static void test_wrap_and_shrink(void)
{
        struct outq q;
        size_t bytes = 0;
        char s[16];
        int next_in = 0, next_out = 0;

        outq_init(&q);
        for (int round = 0; round < 50; round++) {
                int push = 3 + round % 7, pop = 2 + round % 5;
                for (int i = 0; i < push; i++) {
                        snprintf(s, sizeof(s), "%d\n", next_in++);
                        CHECK_EQ_INT(outq_push(&q, mk(s)), 0);
                }
                for (int i = 0; i < pop && q.count; i++) {
                        snprintf(s, sizeof(s), "%d\n", next_out++);
                        CHECK(memcmp(outq_at(&q, 0)->data, s, strlen(s)) == 0);
                        outq_consume_items(&q, 1, &bytes);
                }
                for (size_t i = 0; i < q.count; i++) {
                        snprintf(s, sizeof(s), "%zu\n", (size_t)next_out + i);
                        CHECK(memcmp(outq_at(&q, i)->data, s, strlen(s)) == 0);
                }
        }
        CHECK(q.cap > 64);
        /* not released while something is queued */
        outq_shrink(&q);
        CHECK(q.items != NULL);
        outq_consume_items(&q, q.count, &bytes);
        outq_shrink(&q);
        CHECK(q.items == NULL && q.cap == 0);
        /* usable again after shrinking */
        CHECK_EQ_INT(outq_push(&q, mk("x\n")), 0);
        CHECK_STREQ(iov_text(&q, 0, 64, 0), "x\n");
        /* deinit releases what is left (ASan checks the references) */
        for (int i = 0; i < 20; i++)
                outq_push(&q, mk("y\n"));
        outq_deinit(&q);
        CHECK(q.items == NULL && q.count == 0);
}

int main(void)
{
        test_stream();
        test_packets();
        test_wrap_and_shrink();
        return 0;
}
