/* outq.h: a connection's output queue: a ring of buf references in order,
 * with the number of bytes of the first one already written (stream writes
 * may stop mid-message). A message may carry a file descriptor to pass with
 * it (SCM_RIGHTS), and a fallback message to send in its place should the
 * kernel refuse the descriptor; the queue owns both until the carrier takes
 * them. No I/O but close() of descriptors it still owns when they are
 * dropped, emptied or freed.
 */
#pragma once

#include <stddef.h>
#include <sys/uio.h>

struct buf;

/* What an item passes along: a descriptor (-1: none) and its fallback. */
struct outq_fd {
        int fd;
        struct buf *fallback; /* may be NULL */
};

struct outq {
        struct buf **items;
        struct outq_fd *fds; /* parallel to items, allocated with the first descriptor */
        size_t cap, head, count;
        size_t off;  /* bytes of the first item already written */
        size_t nfds; /* descriptors held */
};

void outq_init(struct outq *q);
/* Unreferences everything left, closes the descriptors and frees the ring. */
void outq_deinit(struct outq *q);
/* Appends b, taking over one reference the caller already holds. Returns 0 or
 * -ENOMEM (the caller still owns its reference). */
int outq_push(struct outq *q, struct buf *b);
/* Appends b with a descriptor to pass with it and the fallback to send
 * instead if the kernel refuses it (may be NULL). The queue owns fd from now
 * on, also on failure, when it is closed; it takes over one reference to b
 * and to fallback on success (on failure the caller still owns them).
 * Returns 0 or -ENOMEM. */
int outq_push_fd(struct outq *q, struct buf *b, int fd, struct buf *fallback);
/* The descriptor attached to the i-th item, or -1. */
int outq_fd_at(const struct outq *q, size_t i);
/* Takes the descriptor of the i-th item (it is passed now; its fallback is
 * dropped): returns it, or -1. */
int outq_take_fd(struct outq *q, size_t i);
/* The kernel refused the descriptor of the i-th item, of which nothing is
 * written yet: closes it and puts the item's fallback in the item's place
 * (without a fallback the item stays, without its descriptor). Stores the
 * lengths of the item before and after in *ret_old_len and *ret_new_len. */
void outq_refuse_fd(struct outq *q, size_t i, size_t *ret_old_len, size_t *ret_new_len);
/* Closes every descriptor still queued (the connection closes); their items
 * stay. Returns how many were closed. */
size_t outq_drop_fds(struct outq *q);
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
