/* listen.h: creating the listening sockets safely.
 *
 * A lock file beside each socket (<path>.lock, flock) makes a second busd on
 * the same path refuse to start; a socket file left by a dead busd is
 * detected (nobody accepts on it) and replaced; the socket is created with its
 * final permissions at bind time through the umask, never chmod'ed later.
 *
 * Sockets can also come from systemd (socket activation, sd_listen_fds(3)):
 * each is named by its unit's FileDescriptorName=, "stream" or "seqpacket",
 * and checked to be an AF_UNIX listening socket of that type. systemd owns
 * those: busd neither locks nor unlinks them.
 */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include "address.h"

struct listen_sock {
        struct address addr;
        int fd; /* -1 once handed over (libuv closes it) */
        int lock_fd;
        int bound;   /* the socket file is ours to unlink */
        int adopted; /* received from systemd: not ours to unlink */
};

/* FileDescriptorName= of the two kinds of socket. */
#define LISTEN_NAME_STREAM "stream"
#define LISTEN_NAME_SEQPACKET "seqpacket"

/* Creates the directory of a default bus if missing (mode 0700 for a user
 * bus, 0755 for the system bus) and checks that a user bus directory belongs
 * to the user and is private. Returns 0 or a negative errno with err filled. */
int listen_prepare_dir(const char *dir, int system, char *err, size_t errlen);
/* Binds and listens. mode: permissions of the socket file (e.g. 0600).
 * Returns 0 or a negative errno with a readable reason in err. */
int listen_open(struct listen_sock *ls, const struct address *a, mode_t mode, char *err, size_t errlen);
/* Takes over the sockets systemd passed ($LISTEN_FDS, $LISTEN_FDNAMES for
 * this process; the variables are unset either way). Returns how many were
 * stored in ls[0..] (0: not socket-activated), or a negative errno with err
 * filled, all received descriptors closed: more than max sockets (-E2BIG), or
 * one that listen_adopt() refuses. */
int listen_from_systemd(struct listen_sock *ls, size_t max, char *err, size_t errlen);
/* Checks one received descriptor and fills ls: `name` must be "stream" or
 * "seqpacket" and fd a listening AF_UNIX socket of that type. Sets it
 * non-blocking. Returns 0, or -EINVAL with err naming the fd, its name and
 * what is wrong (the fd is left open). */
int listen_adopt(struct listen_sock *ls, int fd, const char *name, char *err, size_t errlen);
/* Closes the socket (if still ours), unlinks the socket file if busd bound
 * it (never one from systemd), releases the lock. */
void listen_close(struct listen_sock *ls);
