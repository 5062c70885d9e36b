/* listen.c: see listen.h. */
#include "listen.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

/* The directory of a default bus: the system bus's is world-readable (anyone
 * may connect; the policy decides), a user bus's is the user's alone. */
#define DIR_MODE_SYSTEM 0755
#define DIR_MODE_USER 0700
/* Permission bits a user bus directory must not give group or others. */
#define DIR_MODE_NOT_PRIVATE 0077
/* The lock file beside a socket: only its owner opens it. */
#define LOCK_FILE_MODE 0600
/* The permission bits of a mode (for the umask). */
#define MODE_PERMISSIONS 0777

/* in_use()'s answers besides a negative errno. */
enum { SOCKET_FREE = 0, SOCKET_IN_USE = 1 };

int listen_prepare_dir(const char *dir, int system, char *err, size_t errlen)
{
        struct stat st;

        if (mkdir(dir, system ? DIR_MODE_SYSTEM : DIR_MODE_USER) < 0 && errno != EEXIST) {
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
        if (!system && (st.st_uid != geteuid() || (st.st_mode & DIR_MODE_NOT_PRIVATE))) {
                snprintf(err, errlen, "%s must belong to uid %u and be private (mode 0700)", dir, (unsigned)geteuid());
                return -EPERM;
        }
        return 0;
}

static int sock_type(const struct address *a)
{
        return a->seqpacket ? SOCK_SEQPACKET : SOCK_STREAM;
}

/* Is someone accepting on the socket file at path? SOCKET_IN_USE,
 * SOCKET_FREE (refused or gone: a stale file), or a negative errno. */
static int in_use(const struct address *a, const struct sockaddr_un *sa)
{
        int fd = socket(AF_UNIX, sock_type(a) | SOCK_CLOEXEC, 0);
        int r;

        if (fd < 0)
                return -errno;
        r = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
        r = r == 0 ? SOCKET_IN_USE : (errno == ECONNREFUSED || errno == ENOENT) ? SOCKET_FREE : -errno;
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
        lock_fd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, LOCK_FILE_MODE);
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
                if (r == SOCKET_IN_USE) {
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
        mode_t old = umask((mode_t)(~mode & MODE_PERMISSIONS));
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

static const char *type_name(int type)
{
        switch (type) {
        case SOCK_STREAM:
                return "SOCK_STREAM";
        case SOCK_SEQPACKET:
                return "SOCK_SEQPACKET";
        case SOCK_DGRAM:
                return "SOCK_DGRAM";
        default:
                return "another type";
        }
}

int listen_adopt(struct listen_sock *ls, int fd, const char *name, char *err, size_t errlen)
{
        struct sockaddr_un sa;
        socklen_t len = sizeof(int);
        int domain = -1, type = -1, acceptconn = 0, want;

        if (strcmp(name, LISTEN_NAME_STREAM) == 0) {
                want = SOCK_STREAM;
        } else if (strcmp(name, LISTEN_NAME_SEQPACKET) == 0) {
                want = SOCK_SEQPACKET;
        } else {
                snprintf(err, errlen,
                         "socket %d from systemd is named \"%s\"; busd knows \"" LISTEN_NAME_STREAM
                         "\" and \"" LISTEN_NAME_SEQPACKET "\" (set FileDescriptorName= in its .socket unit)",
                         fd, name);
                return -EINVAL;
        }
        if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0) {
                snprintf(err, errlen, "socket %d from systemd (\"%s\"): not a socket (%s)", fd, name, strerror(errno));
                return -EINVAL;
        }
        len = sizeof(int);
        getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len);
        len = sizeof(int);
        getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acceptconn, &len);
        if (domain != AF_UNIX) {
                snprintf(err, errlen,
                         "socket %d from systemd (\"%s\") is not an AF_UNIX socket (use ListenStream=/path or "
                         "ListenSequentialPacket=/path)",
                         fd, name);
                return -EINVAL;
        }
        if (type != want) {
                snprintf(err, errlen,
                         "socket %d from systemd is named \"%s\" but is a %s socket, not %s (%s in its "
                         ".socket unit)",
                         fd, name, type_name(type), type_name(want),
                         want == SOCK_STREAM ? "ListenStream=" : "ListenSequentialPacket=");
                return -EINVAL;
        }
        if (!acceptconn) {
                snprintf(err, errlen, "socket %d from systemd (\"%s\") is not listening (Accept=no is needed)", fd,
                         name);
                return -EINVAL;
        }
        memset(ls, 0, sizeof(*ls));
        ls->addr.seqpacket = want == SOCK_SEQPACKET;
        memset(&sa, 0, sizeof(sa));
        len = sizeof(sa);
        if (getsockname(fd, (struct sockaddr *)&sa, &len) == 0 && len > offsetof(struct sockaddr_un, sun_path)) {
                size_t n = len - offsetof(struct sockaddr_un, sun_path);
                if (sa.sun_path[0] == 0) /* abstract: shown as @name */
                        snprintf(ls->addr.path, sizeof(ls->addr.path), "@%.*s", (int)(n - 1), sa.sun_path + 1);
                else
                        snprintf(ls->addr.path, sizeof(ls->addr.path), "%.*s", (int)strnlen(sa.sun_path, n),
                                 sa.sun_path);
        } else {
                snprintf(ls->addr.path, sizeof(ls->addr.path), "(unnamed socket %d)", fd);
        }
        int fl = fcntl(fd, F_GETFL);
        if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
                snprintf(err, errlen, "socket %d from systemd (\"%s\"): %s", fd, name, strerror(errno));
                return -EINVAL;
        }
        ls->fd = fd;
        ls->lock_fd = -1;
        ls->bound = 0;
        ls->adopted = 1;
        return 0;
}

int listen_from_systemd(struct listen_sock *ls, size_t max, char *err, size_t errlen)
{
        char **names = NULL, fds_env[32], names_env[200];
        const char *e = getenv("LISTEN_FDS"), *en = getenv("LISTEN_FDNAMES");

        /* for the error message: the call unsets them */
        snprintf(fds_env, sizeof(fds_env), "%s", e ? e : "(unset)");
        snprintf(names_env, sizeof(names_env), "%s", en ? en : "(unset)");
        int n = sd_listen_fds_with_names(1, &names), r = 0;
        if (n < 0) {
                snprintf(err, errlen,
                         "cannot use the sockets passed by systemd (LISTEN_FDS=%s, LISTEN_FDNAMES=%s): %s; "
                         "LISTEN_FDNAMES must name each socket",
                         fds_env, names_env, strerror(-n));
                return n;
        }
        if ((size_t)n > max) {
                snprintf(err, errlen, "systemd passed %d sockets; busd serves at most %zu", n, max);
                r = -E2BIG;
        }
        for (int i = 0; i < n && r == 0; i++)
                r = listen_adopt(&ls[i], SD_LISTEN_FDS_START + i, names && names[i] ? names[i] : "unknown", err,
                                 errlen);
        if (r < 0)
                for (int i = 0; i < n; i++)
                        close(SD_LISTEN_FDS_START + i);
        for (char **p = names; p && *p; p++)
                free(*p);
        free(names);
        return r < 0 ? r : n;
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
