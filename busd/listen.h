/* listen.h: creating the listening sockets safely.
 *
 * A lock file beside each socket (<path>.lock, flock) makes a second busd on
 * the same path refuse to start; a socket file left by a dead busd is
 * detected (nobody accepts on it) and replaced; the socket is created with its
 * final permissions at bind time through the umask, never chmod'ed later.
 */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include "address.h"

struct listen_sock {
        struct address addr;
        int fd;      /* -1 once handed over (libuv closes it) */
        int lock_fd;
        int bound;   /* the socket file is ours to unlink */
};

/* Creates the directory of a default bus if missing (mode 0700 for a user
 * bus, 0755 for the system bus) and checks that a user bus directory belongs
 * to the user and is private. Returns 0 or a negative errno with err filled. */
int listen_prepare_dir(const char *dir, int system, char *err, size_t errlen);
/* Binds and listens. mode: permissions of the socket file (e.g. 0600).
 * Returns 0 or a negative errno with a readable reason in err. */
int listen_open(struct listen_sock *ls, const struct address *a, mode_t mode, char *err, size_t errlen);
/* Closes the socket (if still ours), unlinks the socket file, releases the lock. */
void listen_close(struct listen_sock *ls);
