/* buf.c: see buf.h. */
#include "buf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct buf *buf_new(size_t cap)
{
        struct buf *b = malloc(sizeof(*b) + cap);

        if (!b)
                return NULL;
        b->refs = 1;
        b->len = 0;
        b->cap = cap;
        return b;
}

int buf_append(struct buf **b, const void *p, size_t n)
{
        struct buf *o = *b;

        if (o->cap - o->len < n) {
                size_t cap = o->cap ? o->cap : 64;
                while (cap - o->len < n) {
                        if (cap > ((size_t)-1 - sizeof(*o)) / 2)
                                return -ENOMEM;
                        cap *= 2;
                }
                struct buf *nb = realloc(o, sizeof(*o) + cap);
                if (!nb)
                        return -ENOMEM;
                nb->cap = cap;
                *b = o = nb;
        }
        memcpy(o->data + o->len, p, n);
        o->len += n;
        return 0;
}

int buf_append_str(struct buf **b, const char *s)
{
        return buf_append(b, s, strlen(s));
}

int buf_append_u64(struct buf **b, uint64_t v)
{
        char num[20]; /* UINT64_MAX has 20 digits */
        size_t i = sizeof(num);

        do {
                num[--i] = (char)('0' + v % 10);
                v /= 10;
        } while (v);
        return buf_append(b, num + i, sizeof(num) - i);
}

int buf_append_i64(struct buf **b, int64_t v)
{
        if (v >= 0)
                return buf_append_u64(b, (uint64_t)v);
        int r = buf_append(b, "-", 1);
        return r ? r : buf_append_u64(b, (uint64_t)0 - (uint64_t)v);
}

struct buf *buf_ref(struct buf *b)
{
        b->refs++;
        return b;
}

void buf_unref(struct buf *b)
{
        if (b && --b->refs == 0)
                free(b);
}
