/* unixsock.h: what the kernel says about a connected AF_UNIX socket, and the
 * few things the daemon does to one directly, outside libuv: the peer's
 * supplementary groups (SO_PEERGROUPS) and a pidfd (SO_PEERPIDFD), whether
 * input waits unread, and throwing that input away before a close. Used by
 * conn.c; knows nothing of connections. Every call is non-blocking.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The peer's supplementary groups, as the kernel recorded them at connect;
 * optional (older kernels, or out of memory): then *ret_groups is NULL and
 * *ret_n 0. Never from /proc, never from the client. The caller frees
 * *ret_groups. */
void unixsock_groups(int fd, gid_t **ret_groups, size_t *ret_n);
/* A new pidfd for the process that connected (SO_PEERPIDFD, Linux 6.5), or a
 * negative errno (-ENOPROTOOPT on older kernels, -ESRCH once it has exited).
 * The caller owns it. */
int unixsock_pidfd(int fd);
/* Does input wait unread in the socket (a byte, or a packet)? */
bool unixsock_has_input(int fd);
/* Reads and throws away what the peer sent but we did not read (bounded):
 * closing a socket with unread data makes the kernel report ECONNRESET to
 * the peer, which could then miss the error we just wrote it. */
void unixsock_discard_input(int fd);
