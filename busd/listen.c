/* listen.c: see listen.h. */
#include "listen.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

int listen_prepare_dir(const char *dir, int system, char *err, size_t errlen)
{
        struct stat st;

        if (mkdir(dir, system ? 0755 : 0700) < 0 && errno != EEXIST) {
                int e = errno;
                snprintf(err, errlen, "cannot create %s: %s", dir, strerror(e));
                return -e;
        }
        if (lstat(dir, &st) < 0) {
                int e = errno;
                snprintf(err, errlen, "cannot use %s: %s", dir, strerror(e));
                return -e;
        }
        if (!S_ISDIR(st.st_mode)) {
                snprintf(err, errlen, "%s is not a directory", dir);
                return -ENOTDIR;
        }
        if (!system && (st.st_uid != geteuid() || (st.st_mode & 0077))) {
                snprintf(err, errlen, "%s must belong to uid %u and be private (mode 0700)", dir, (unsigned)geteuid());
                return -EPERM;
        }
        return 0;
}

static int sock_type(const struct address *a)
{
        return a->seqpacket ? SOCK_SEQPACKET : SOCK_STREAM;
}

/* Is someone accepting on the socket file at path? */
static int in_use(const struct address *a, const struct sockaddr_un *sa)
{
        int fd = socket(AF_UNIX, sock_type(a) | SOCK_CLOEXEC, 0);
        int r;

        if (fd < 0)
                return -errno;
        r = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
        r = r == 0 ? 1 : (errno == ECONNREFUSED || errno == ENOENT) ? 0 : -errno;
        close(fd);
        return r;
}

int listen_open(struct listen_sock *ls, const struct address *a, mode_t mode, char *err, size_t errlen)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        char lockpath[sizeof(a->path) + 8];
        struct stat st;
        int fd = -1, lock_fd, r;

        ls->addr = *a;
        ls->fd = ls->lock_fd = -1;
        ls->bound = 0;
        memcpy(sa.sun_path, a->path, strlen(a->path) + 1);

        snprintf(lockpath, sizeof(lockpath), "%s.lock", a->path);
        lock_fd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (lock_fd < 0) {
                r = -errno;
                snprintf(err, errlen, "cannot open lock file %s: %s", lockpath, strerror(-r));
                return r;
        }
        if (flock(lock_fd, LOCK_EX | LOCK_NB) < 0) {
                r = -errno;
                if (r == -EWOULDBLOCK)
                        snprintf(err, errlen, "another busd is already serving %s (it holds %s)", a->path, lockpath);
                else
                        snprintf(err, errlen, "cannot lock %s: %s", lockpath, strerror(-r));
                close(lock_fd);
                return r == -EWOULDBLOCK ? -EADDRINUSE : r;
        }
        if (lstat(a->path, &st) == 0) {
                if (!S_ISSOCK(st.st_mode)) {
                        snprintf(err, errlen, "%s exists and is not a socket; remove it or choose another path",
                                 a->path);
                        r = -EEXIST;
                        goto fail;
                }
                r = in_use(a, &sa);
                if (r > 0) {
                        snprintf(err, errlen, "%s is in use by another program", a->path);
                        r = -EADDRINUSE;
                        goto fail;
                }
                /* stale: left behind by a busd that died */
                if (unlink(a->path) < 0 && errno != ENOENT) {
                        r = -errno;
                        snprintf(err, errlen, "cannot remove stale socket %s: %s", a->path, strerror(-r));
                        goto fail;
                }
        }
        fd = socket(AF_UNIX, sock_type(a) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
                r = -errno;
                snprintf(err, errlen, "socket: %s", strerror(-r));
                goto fail;
        }
        /* permissions are set at bind time by the umask: no window with a wider mode */
        mode_t old = umask((mode_t)(~mode & 0777));
        r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
        int bind_errno = errno;
        umask(old);
        if (r < 0) {
                r = -bind_errno;
                snprintf(err, errlen, "cannot bind %s: %s", a->path, strerror(bind_errno));
                goto fail;
        }
        if (listen(fd, SOMAXCONN) < 0) {
                r = -errno;
                snprintf(err, errlen, "cannot listen on %s: %s", a->path, strerror(-r));
                unlink(a->path);
                goto fail;
        }
        ls->fd = fd;
        ls->lock_fd = lock_fd;
        ls->bound = 1;
        return 0;
fail:
        if (fd >= 0)
                close(fd);
        close(lock_fd);
        return r;
}

void listen_close(struct listen_sock *ls)
{
        if (ls->bound) {
                unlink(ls->addr.path);
                ls->bound = 0;
        }
        if (ls->fd >= 0) {
                close(ls->fd);
                ls->fd = -1;
        }
        if (ls->lock_fd >= 0) {
                close(ls->lock_fd);
                ls->lock_fd = -1;
        }
}
