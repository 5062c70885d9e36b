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
        q->cap = q->head = q->count = q->off = q->nfds = 0;
}

/* Drops what the slot of the i-th item passes along: closes its descriptor,
 * unreferences its fallback. */
static void clear_fd(struct outq *q, size_t i)
{
        int fd = outq_take_fd(q, i);

        if (fd >= 0)
                close(fd);
}

void outq_deinit(struct outq *q)
{
        for (size_t i = 0; i < q->count; i++) {
                clear_fd(q, i);
                buf_unref(q->items[(q->head + i) % q->cap]);
        }
        free(q->items);
        free(q->fds);
        outq_init(q);
}

static void no_fds(struct outq_fd *fds, size_t n)
{
        for (size_t i = 0; i < n; i++)
                fds[i] = (struct outq_fd){ -1, NULL };
}

/* Makes room for one more item (and its descriptor slot when with_fds). */
static int grow(struct outq *q, bool with_fds)
{
        if (with_fds && !q->fds && q->cap) {
                q->fds = malloc(q->cap * sizeof(*q->fds));
                if (!q->fds)
                        return -ENOMEM;
                no_fds(q->fds, q->cap);
        }
        if (q->count < q->cap)
                return 0;
        size_t cap = q->cap ? q->cap * 2 : CAP_MIN;
        struct buf **items = malloc(cap * sizeof(*items));
        struct outq_fd *fds = with_fds || q->fds ? malloc(cap * sizeof(*fds)) : NULL;
        if (!items || ((with_fds || q->fds) && !fds)) {
                free(items);
                free(fds);
                return -ENOMEM;
        }
        if (fds)
                no_fds(fds, cap);
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
                q->fds[(q->head + q->count) % q->cap] = (struct outq_fd){ -1, NULL };
        q->count++;
        return 0;
}

int outq_push_fd(struct outq *q, struct buf *b, int fd, struct buf *fallback)
{
        if (grow(q, true) < 0) {
                close(fd);
                return -ENOMEM;
        }
        q->items[(q->head + q->count) % q->cap] = b;
        q->fds[(q->head + q->count) % q->cap] = (struct outq_fd){ fd, fallback };
        q->count++;
        q->nfds++;
        return 0;
}

int outq_fd_at(const struct outq *q, size_t i)
{
        return q->fds && i < q->count ? q->fds[(q->head + i) % q->cap].fd : -1;
}

int outq_take_fd(struct outq *q, size_t i)
{
        if (!q->fds || i >= q->count)
                return -1;
        struct outq_fd *slot = &q->fds[(q->head + i) % q->cap];
        int fd = slot->fd;
        buf_unref(slot->fallback);
        *slot = (struct outq_fd){ -1, NULL };
        if (fd >= 0)
                q->nfds--;
        return fd;
}

void outq_refuse_fd(struct outq *q, size_t i, size_t *ret_old_len, size_t *ret_new_len)
{
        struct buf **item = &q->items[(q->head + i) % q->cap];
        struct outq_fd *slot = &q->fds[(q->head + i) % q->cap];
        struct buf *fallback = slot->fallback;

        *ret_old_len = (*item)->len;
        slot->fallback = NULL;
        clear_fd(q, i);
        if (fallback) {
                buf_unref(*item);
                *item = fallback;
        }
        *ret_new_len = (*item)->len;
}

size_t outq_drop_fds(struct outq *q)
{
        size_t n = q->nfds;

        for (size_t i = 0; i < q->count && q->nfds; i++)
                clear_fd(q, i);
        return n;
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

        clear_fd(q, 0); /* sent with it: the client has its own copy */
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
