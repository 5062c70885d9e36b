/* outq.c: see outq.h. No I/O. */
#include "outq.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "buf.h"

/* The first ring allocated holds this many items; it doubles when full. */
#define CAP_MIN 8
/* An empty ring larger than this is freed (outq_shrink()): an idle peer
 * keeps no large ring from a burst. */
#define CAP_KEEP 64

void outq_init(struct outq *q)
{
        q->items = NULL;
        q->fds = NULL;
        q->cap = q->head = q->count = q->off = 0;
}

void outq_deinit(struct outq *q)
{
        for (size_t i = 0; i < q->count; i++) {
                buf_unref(q->items[(q->head + i) % q->cap]);
                int fd = outq_take_fd(q, i);
                if (fd >= 0)
                        close(fd);
        }
        free(q->items);
        free(q->fds);
        outq_init(q);
}

/* Makes room for one more item (and its descriptor slot when with_fds). */
static int grow(struct outq *q, bool with_fds)
{
        if (with_fds && !q->fds && q->cap) {
                q->fds = malloc(q->cap * sizeof(*q->fds));
                if (!q->fds)
                        return -ENOMEM;
                for (size_t i = 0; i < q->cap; i++)
                        q->fds[i] = -1;
        }
        if (q->count < q->cap)
                return 0;
        size_t cap = q->cap ? q->cap * 2 : CAP_MIN;
        struct buf **items = malloc(cap * sizeof(*items));
        int *fds = with_fds || q->fds ? malloc(cap * sizeof(*fds)) : NULL;
        if (!items || ((with_fds || q->fds) && !fds)) {
                free(items);
                free(fds);
                return -ENOMEM;
        }
        for (size_t i = 0; i < cap && fds; i++)
                fds[i] = -1;
        for (size_t i = 0; i < q->count; i++) {
                items[i] = q->items[(q->head + i) % q->cap];
                if (fds && q->fds)
                        fds[i] = q->fds[(q->head + i) % q->cap];
        }
        free(q->items);
        free(q->fds);
        q->items = items;
        q->fds = fds;
        q->cap = cap;
        q->head = 0;
        return 0;
}

int outq_push(struct outq *q, struct buf *b)
{
        if (grow(q, false) < 0)
                return -ENOMEM;
        q->items[(q->head + q->count) % q->cap] = b;
        if (q->fds)
                q->fds[(q->head + q->count) % q->cap] = -1;
        q->count++;
        return 0;
}

int outq_push_fd(struct outq *q, struct buf *b, int fd)
{
        if (grow(q, true) < 0) {
                close(fd);
                return -ENOMEM;
        }
        q->items[(q->head + q->count) % q->cap] = b;
        q->fds[(q->head + q->count) % q->cap] = fd;
        q->count++;
        return 0;
}

int outq_fd_at(const struct outq *q, size_t i)
{
        return q->fds && i < q->count ? q->fds[(q->head + i) % q->cap] : -1;
}

int outq_take_fd(struct outq *q, size_t i)
{
        if (!q->fds || i >= q->count)
                return -1;
        int *slot = &q->fds[(q->head + i) % q->cap];
        int fd = *slot;
        *slot = -1;
        return fd;
}

struct buf *outq_at(const struct outq *q, size_t i)
{
        return i < q->count ? q->items[(q->head + i) % q->cap] : NULL;
}

size_t outq_iov(const struct outq *q, size_t skip, struct iovec *iov, size_t max, int strip_newline)
{
        size_t n = 0;

        for (size_t i = skip; i < q->count && n < max; i++) {
                struct buf *b = outq_at(q, i);
                size_t off = i == 0 ? q->off : 0;
                size_t len = b->len - (strip_newline ? 1 : 0);
                iov[n].iov_base = b->data + off;
                iov[n].iov_len = len - off;
                n++;
        }
        return n;
}

static void pop(struct outq *q, size_t *ret_bytes)
{
        struct buf *b = q->items[q->head];
        int fd = outq_take_fd(q, 0);

        if (fd >= 0)
                close(fd);

        *ret_bytes += b->len;
        buf_unref(b);
        q->head = (q->head + 1) % q->cap;
        q->count--;
        q->off = 0;
}

size_t outq_consume_bytes(struct outq *q, size_t bytes, size_t *ret_bytes)
{
        size_t done = 0;

        while (bytes > 0 && q->count > 0) {
                struct buf *b = q->items[q->head];
                size_t left = b->len - q->off;
                if (bytes < left) {
                        q->off += bytes;
                        break;
                }
                bytes -= left;
                pop(q, ret_bytes);
                done++;
        }
        return done;
}

void outq_consume_items(struct outq *q, size_t n, size_t *ret_bytes)
{
        while (n-- > 0 && q->count > 0)
                pop(q, ret_bytes);
}

void outq_shrink(struct outq *q)
{
        if (q->count == 0 && (q->cap > CAP_KEEP || q->fds)) {
                free(q->items);
                free(q->fds);
                q->items = NULL;
                q->fds = NULL;
                q->cap = q->head = 0;
        }
}
