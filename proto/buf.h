/* buf.h: reference-counted byte buffers holding one serialised message.
 *
 * One event fanned out to many receivers is serialised once into a buf and
 * every output queue holds a reference. A buf is only appended to while its
 * creator holds the single reference. Pure: no I/O.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct buf {
        unsigned refs;
        size_t len;
        size_t cap;
        char data[];
};

/* New buffer with refs = 1, len = 0 and room for `cap` bytes; NULL on ENOMEM. */
struct buf *buf_new(size_t cap);
/* Appends n bytes, growing the buffer (so *b may move). Only valid while
 * refs == 1. Returns 0 or -ENOMEM (then *b is unchanged and still valid). */
int buf_append(struct buf **b, const void *p, size_t n);
/* Appends a NUL-terminated string. */
int buf_append_str(struct buf **b, const char *s);
/* Appends v in decimal (what printf's PRIu64 / PRId64 write, without printf). */
int buf_append_u64(struct buf **b, uint64_t v);
int buf_append_i64(struct buf **b, int64_t v);
struct buf *buf_ref(struct buf *b);
/* Drops one reference; frees at zero. Accepts NULL. */
void buf_unref(struct buf *b);
