/* unixsock.c: see unixsock.h. Socket options and recv() on a descriptor; no
 * libuv. */
#include "unixsock.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77 /* Linux 6.5; older kernels answer ENOPROTOOPT */
#endif
/* Supplementary groups read without allocating; beyond, up to the kernel's
 * NGROUPS_MAX (65536 on Linux) in an allocated array. */
#define GROUPS_INLINE 64
#define GROUPS_MAX 65536
/* Unread input thrown away before a close: reads of this size, at most this
 * many (a bound, so a client cannot keep us reading). */
#define DISCARD_CHUNK 4096
#define DISCARD_MAX_READS 256

void unixsock_groups(int fd, gid_t **ret_groups, size_t *ret_n)
{
        gid_t small[GROUPS_INLINE], *groups = NULL;
        socklen_t len = sizeof(small);
        size_t n = 0;

        if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, small, &len) == 0) {
                n = len / sizeof(gid_t);
                if (n && (groups = malloc(n * sizeof(gid_t))))
                        memcpy(groups, small, n * sizeof(gid_t));
        } else if (errno == ERANGE && len > sizeof(small) && len <= GROUPS_MAX * sizeof(gid_t)) {
                groups = malloc(len);
                if (groups && getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == 0)
                        n = len / sizeof(gid_t);
        }
        if (!groups || !n) {
                free(groups);
                groups = NULL;
                n = 0;
        }
        *ret_groups = groups;
        *ret_n = n;
}

int unixsock_pidfd(int fd)
{
        int pidfd = -1;
        socklen_t len = sizeof(pidfd);

        if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) < 0)
                return -errno;
        return pidfd;
}

bool unixsock_has_input(int fd)
{
        char byte;

        /* 0 (end of input) and errors count as input: the reader will see them */
        return !(recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
}

void unixsock_discard_input(int fd)
{
        char scratch[DISCARD_CHUNK];

        for (int i = 0; i < DISCARD_MAX_READS; i++)
                if (recv(fd, scratch, sizeof(scratch), MSG_DONTWAIT | MSG_TRUNC) <= 0)
                        break;
}
