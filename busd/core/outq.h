/* outq.h: a connection's output queue: a ring of buf references in order,
 * with the number of bytes of the first one already written (stream writes
 * may stop mid-message). A message may carry a file descriptor to pass with
 * it (SCM_RIGHTS); the queue owns it until the carrier takes it. No I/O but
 * close() of descriptors it still owns when it is emptied or freed.
 */
#pragma once

#include <stddef.h>
#include <sys/uio.h>

struct buf;

struct outq {
        struct buf **items;
        int *fds; /* parallel to items, allocated with the first descriptor; -1: none */
        size_t cap, head, count;
        size_t off; /* bytes of the first item already written */
};

void outq_init(struct outq *q);
/* Unreferences everything left and frees the ring. */
void outq_deinit(struct outq *q);
/* Appends b, taking over one reference the caller already holds. Returns 0 or
 * -ENOMEM (the caller still owns its reference). */
int outq_push(struct outq *q, struct buf *b);
/* Appends b with a descriptor to pass with it (the queue owns fd from now on,
 * also on failure, when it is closed). Returns 0 or -ENOMEM. */
int outq_push_fd(struct outq *q, struct buf *b, int fd);
/* The descriptor attached to the i-th item, or -1. */
int outq_fd_at(const struct outq *q, size_t i);
/* Takes the descriptor of the i-th item (it is passed now): returns it, or -1. */
int outq_take_fd(struct outq *q, size_t i);
/* The i-th queued buffer (0 = oldest), or NULL. */
struct buf *outq_at(const struct outq *q, size_t i);
/* Fills up to max iovecs with unwritten bytes, starting after `skip` whole
 * items. With strip_newline, each item loses its final line feed (packets).
 * Returns the number of iovecs filled. */
size_t outq_iov(const struct outq *q, size_t skip, struct iovec *iov, size_t max, int strip_newline);
/* Marks `bytes` written (stream): drops finished items. Returns the number of
 * items finished and adds their full lengths to *ret_bytes. */
size_t outq_consume_bytes(struct outq *q, size_t bytes, size_t *ret_bytes);
/* Drops the first n items (packets sent). Adds their lengths to *ret_bytes. */
void outq_consume_items(struct outq *q, size_t n, size_t *ret_bytes);
/* Releases the ring when empty and large, so idle connections stay small. */
void outq_shrink(struct outq *q);
