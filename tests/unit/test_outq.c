/* test_outq.c: busd/core/outq.c, the output ring: order, partial writes (stream),
 * whole-packet writes (seqpacket, newline stripped), growth while wrapped,
 * references released, memory released when idle; descriptors passed with
 * items and their fallbacks (taken, refused, dropped, closed). */
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

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

/* Is fd open? */
static bool is_open(int fd)
{
        return fcntl(fd, F_GETFD) >= 0;
}

static int devnull(void)
{
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        CHECK(fd >= 0);
        return fd;
}

/* Descriptors with their fallbacks: counted, taken when passed, refused
 * (the fallback takes the item's place), dropped at close, closed with the
 * items that carry them; fallback references released each way. */
static void test_fds(void)
{
        struct outq q;
        size_t bytes = 0, old_len, new_len;
        struct buf *fb1 = mk("{\"e\":1}\n"), *fb2 = mk("{\"e\":2}\n"), *fb3 = mk("{\"e\":3}\n");
        int fd1 = devnull(), fd2 = devnull(), fd3 = devnull(), fd4 = devnull();

        outq_init(&q);
        CHECK_EQ_INT(outq_push(&q, mk("a\n")), 0);
        buf_ref(fb1);
        buf_ref(fb2);
        buf_ref(fb3);
        CHECK_EQ_INT(outq_push_fd(&q, mk("bb\n"), fd1, fb1), 0);
        CHECK_EQ_INT(outq_push_fd(&q, mk("ccc\n"), fd2, fb2), 0);
        CHECK_EQ_INT(outq_push_fd(&q, mk("d\n"), fd3, NULL), 0);
        CHECK_EQ_INT(outq_push_fd(&q, mk("eeeee\n"), fd4, fb3), 0);
        CHECK_EQ_INT(q.nfds, 4);
        CHECK_EQ_INT(outq_fd_at(&q, 0), -1);
        CHECK_EQ_INT(outq_fd_at(&q, 1), fd1);
        CHECK_EQ_INT(fb1->refs, 2);

        /* passed: the carrier takes it, the fallback goes */
        CHECK_EQ_INT(outq_take_fd(&q, 1), fd1);
        CHECK_EQ_INT(q.nfds, 3);
        CHECK_EQ_INT(fb1->refs, 1);
        CHECK(is_open(fd1));
        close(fd1);
        /* refused: closed, the fallback in the item's place */
        outq_refuse_fd(&q, 2, &old_len, &new_len);
        CHECK_EQ_INT(old_len, 4);
        CHECK_EQ_INT(new_len, 8);
        CHECK(!is_open(fd2));
        CHECK(outq_at(&q, 2) == fb2);
        CHECK_EQ_INT(fb2->refs, 2);
        CHECK_EQ_INT(outq_fd_at(&q, 2), -1);
        CHECK_EQ_INT(q.nfds, 2);
        /* refused without a fallback: the item stays, without its descriptor */
        outq_refuse_fd(&q, 3, &old_len, &new_len);
        CHECK_EQ_INT(old_len, 2);
        CHECK_EQ_INT(new_len, 2);
        CHECK(!is_open(fd3));
        CHECK_STREQ(iov_text(&q, 0, 64, 0), "a\nbb\n{\"e\":2}\nd\neeeee\n");
        /* sent as packets: an item's descriptor is closed with it */
        outq_consume_items(&q, 4, &bytes);
        CHECK_EQ_INT(bytes, 2 + 3 + 8 + 2);
        CHECK_EQ_INT(fb2->refs, 1);
        CHECK_EQ_INT(q.nfds, 1);
        /* the connection closes: what is left is dropped */
        CHECK_EQ_INT(outq_drop_fds(&q), 1);
        CHECK(!is_open(fd4));
        CHECK_EQ_INT(fb3->refs, 1);
        CHECK_EQ_INT(q.nfds, 0);
        CHECK_EQ_INT(outq_drop_fds(&q), 0);
        outq_deinit(&q);

        /* freed with descriptors still queued: closed */
        int fd5 = devnull();
        outq_init(&q);
        buf_ref(fb1);
        CHECK_EQ_INT(outq_push_fd(&q, mk("f\n"), fd5, fb1), 0);
        outq_deinit(&q);
        CHECK(!is_open(fd5));
        CHECK_EQ_INT(fb1->refs, 1);
        buf_unref(fb1);
        buf_unref(fb2);
        buf_unref(fb3);
}

int main(void)
{
        test_stream();
        test_packets();
        test_wrap_and_shrink();
        test_fds();
        return 0;
}
