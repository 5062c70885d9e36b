/* pktstash.h: the seqpacket packets a connection read in one batch
 * (recvmmsg) after the router said pause, kept in order until it is resumed
 * (conn.c). Only their bytes, length and MSG_TRUNC flag are kept. No libuv.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct pktstash {
        char *mem; /* records: a size_t (length, MSG_TRUNC in the top bit), then the bytes */
        size_t len, off;
};

/* Keeps packets [from, n) of a batch, replacing what was kept (which must
 * have been replayed). Returns 0 or -ENOMEM. */
int pktstash_save(struct pktstash *st, const struct mmsghdr *mm, const struct iovec *iov, int from, int n);
/* Hands the kept packets, oldest first, to fn until it returns false (the
 * rest stays) or none is left (the stash is emptied). Returns true when all
 * were handed out. */
bool pktstash_replay(struct pktstash *st, bool (*fn)(void *ud, char *data, size_t len, bool trunc), void *ud);
/* Frees what is kept. */
void pktstash_deinit(struct pktstash *st);
