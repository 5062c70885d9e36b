/* outq.c: see outq.h. No I/O. */
#include "outq.h"

#include <errno.h>
#include <stdlib.h>

#include "buf.h"

void outq_init(struct outq *q)
{
        q->items = NULL;
        q->cap = q->head = q->count = q->off = 0;
}

void outq_deinit(struct outq *q)
{
        for (size_t i = 0; i < q->count; i++)
                buf_unref(q->items[(q->head + i) % q->cap]);
        free(q->items);
        outq_init(q);
}

int outq_push(struct outq *q, struct buf *b)
{
        if (q->count == q->cap) {
                size_t cap = q->cap ? q->cap * 2 : 8;
                struct buf **items = malloc(cap * sizeof(*items));
                if (!items)
                        return -ENOMEM;
                for (size_t i = 0; i < q->count; i++)
                        items[i] = q->items[(q->head + i) % q->cap];
                free(q->items);
                q->items = items;
                q->cap = cap;
                q->head = 0;
        }
        q->items[(q->head + q->count) % q->cap] = b;
        q->count++;
        return 0;
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
        if (q->count == 0 && q->cap > 64) {
                free(q->items);
                q->items = NULL;
                q->cap = q->head = 0;
        }
}
