/* userbus.c: trust checks for the user bus (docs/libbus.md, "Which bus").
 *
 * Without XDG_RUNTIME_DIR the user bus lives in /tmp/busd-$UID, a name in a
 * world-writable directory that anyone can create first. Before connecting
 * through that fallback, the directory must be the user's (or root's), a real
 * directory (lstat: not a symbolic link) and not writable by group or others.
 * After connecting to the user bus by either rule ($XDG_RUNTIME_DIR/busd/bus
 * too), the daemon's uid (SO_PEERCRED) must be the user's or root's. Explicit
 * addresses elsewhere are the caller's choice and are not checked. Reads
 * the environment and stats files; sends nothing.
 */
#include "bus-internal.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* Permission bits the fallback directory must not give group or others. */
#define DIR_MODE_SHARED 0022

static bool trusted_uid(uid_t uid)
{
        return uid == 0 || uid == getuid() || uid == geteuid();
}

/* Whether path is the user bus's socket (stream or seqpacket) by the
 * default rules; *ret_fallback tells whether it is the /tmp fallback's. */
static bool is_user_bus(const char *path, bool *ret_fallback)
{
        const char *xdg = getenv("XDG_RUNTIME_DIR");
        struct address a;

        for (int seq = 0; seq < 2; seq++) {
                if (address_default(false, seq, xdg, getuid(), &a) == 0 && strcmp(a.path, path) == 0) {
                        *ret_fallback = !(xdg && xdg[0] == '/');
                        return true;
                }
        }
        return false;
}

int userbus_check_dir(const char *path, char *errbuf, size_t errlen)
{
        char dir[sizeof(((struct address *)0)->path)];
        bool fallback;
        struct stat st;

        if (!is_user_bus(path, &fallback) || !fallback)
                return 0;
        if (address_default_dir(false, NULL, getuid(), dir, sizeof(dir)) < 0)
                return 0;
        if (lstat(dir, &st) < 0)
                return 0; /* nothing there: connect() says ENOENT */
        if (S_ISLNK(st.st_mode) || !S_ISDIR(st.st_mode)) {
                snprintf(errbuf, errlen,
                         "the user bus directory %s is %s (owner uid %u), not a directory: refusing it as a "
                         "possible squatter's; remove it, or set XDG_RUNTIME_DIR",
                         dir, S_ISLNK(st.st_mode) ? "a symbolic link" : "not a directory", (unsigned)st.st_uid);
                return -EPERM;
        }
        if (!trusted_uid(st.st_uid)) {
                snprintf(errbuf, errlen,
                         "the user bus directory %s belongs to uid %u, not to you (uid %u) or root: refusing it as "
                         "a possible squatter's; remove it, or set XDG_RUNTIME_DIR",
                         dir, (unsigned)st.st_uid, (unsigned)getuid());
                return -EPERM;
        }
        if (st.st_mode & DIR_MODE_SHARED) {
                snprintf(errbuf, errlen,
                         "the user bus directory %s (owner uid %u) is writable by group or others (mode %04o): "
                         "refusing it; make it private (chmod 700) or set XDG_RUNTIME_DIR",
                         dir, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
                return -EPERM;
        }
        return 0;
}

int userbus_check_peer(int fd, const char *connected_to, char *errbuf, size_t errlen)
{
        struct sockaddr_un sa = { 0 };
        socklen_t salen = sizeof(sa);
        struct ucred cred;
        socklen_t clen = sizeof(cred);
        char path[sizeof(sa.sun_path) + 1];
        bool fallback;

        if (connected_to) {
                snprintf(path, sizeof(path), "%s", connected_to);
        } else {
                /* the path the daemon bound, as the kernel knows it */
                if (getpeername(fd, (struct sockaddr *)&sa, &salen) < 0 || sa.sun_family != AF_UNIX ||
                    salen <= offsetof(struct sockaddr_un, sun_path) || sa.sun_path[0] == 0)
                        return 0; /* socketpair(), abstract or unknown: not the user bus */
                size_t n = salen - offsetof(struct sockaddr_un, sun_path);
                memcpy(path, sa.sun_path, n);
                path[n] = 0;
        }
        if (!is_user_bus(path, &fallback))
                return 0;
        int r = userbus_check_dir(path, errbuf, errlen);
        if (r < 0)
                return r;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0) {
                r = -errno;
                snprintf(errbuf, errlen, "cannot read the user bus daemon's uid (SO_PEERCRED) at %s: %s", path,
                         strerror(-r));
                return r;
        }
        if (!trusted_uid(cred.uid)) {
                snprintf(errbuf, errlen,
                         "the user bus daemon at %s runs as uid %u (pid %d), not as you (uid %u) or root: "
                         "refusing it as a possible squatter's",
                         path, (unsigned)cred.uid, (int)cred.pid, (unsigned)getuid());
                return -EPERM;
        }
        return 0;
}
