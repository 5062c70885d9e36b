/* kids.c: the child processes of a scenario, one per client role, and the
 * pipes that synchronise them with the main process. A child reports READY
 * once set up, may wait for a "go" byte, and reports one RESULT; EOF on its
 * down pipe tells long-lived children (services, relays) to stop. Timeouts
 * here only catch hangs; nothing is measured with them. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#define STOP_GRACE_MS 20000 /* how long a stopped child may take to exit before SIGKILL */

void kids_init(struct kids *ks)
{
        memset(ks, 0, sizeof(*ks));
}

int kids_spawn(struct kids *ks, const char *role, kid_fn fn, void *arg)
{
        int up[2], down[2];

        if (ks->n == KIDS_MAX)
                return -EMFILE;
        if (pipe2(up, O_CLOEXEC) < 0)
                return -errno;
        if (pipe2(down, O_CLOEXEC) < 0) {
                int e = -errno;
                close(up[0]);
                close(up[1]);
                return e;
        }
        fflush(stdout);
        fflush(stderr);
        pid_t parent = getpid();
        pid_t pid = fork();
        if (pid < 0) {
                int e = -errno;
                close(up[0]);
                close(up[1]);
                close(down[0]);
                close(down[1]);
                return e;
        }
        if (pid == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (getppid() != parent)
                        _exit(127);
                /* siblings' pipe ends would hide their EOFs */
                for (size_t i = 0; i < ks->n; i++) {
                        close(ks->k[i].up);
                        close(ks->k[i].down);
                }
                close(up[0]);
                close(down[1]);
                struct kid_io io = { .up = up[1], .down = down[0] };
                _exit(fn(&io, arg));
        }
        close(up[1]);
        close(down[0]);
        struct kid *k = &ks->k[ks->n];
        k->pid = pid;
        k->up = up[0];
        k->down = down[1];
        snprintf(k->role, sizeof(k->role), "%s", role);
        return (int)ks->n++;
}

int kid_read(struct kid *k, struct result *ret, int timeout_ms)
{
        struct pollfd p = { .fd = k->up, .events = POLLIN };
        int n;

        do
                n = poll(&p, 1, timeout_ms);
        while (n < 0 && errno == EINTR);
        if (n == 0)
                return -ETIMEDOUT;
        if (n < 0)
                return -errno;
        /* a child writes a whole struct at once (< PIPE_BUF: atomic) */
        return read_all(k->up, ret, sizeof(*ret)) < 0 ? -ECHILD : 0;
}

int kid_wait_ready(struct kid *k, char *err, size_t errlen)
{
        struct result r;
        int e = kid_read(k, &r, 120000);

        if (e < 0) {
                snprintf(err, errlen, "%s: %s", k->role,
                         e == -ETIMEDOUT ? "not ready after 120 s" : "died during setup");
                return e;
        }
        if (r.kind != KID_READY || r.error) {
                snprintf(err, errlen, "%s: %s", k->role, r.what[0] ? r.what : "setup failed");
                return r.error ? r.error : -EPROTO;
        }
        return 0;
}

int kid_go(struct kid *k)
{
        return write_all(k->down, "g", 1);
}

void kids_finish(struct kids *ks)
{
        for (size_t i = 0; i < ks->n; i++) {
                close(ks->k[i].down);
                ks->k[i].down = -1;
        }
        for (size_t i = 0; i < ks->n; i++) {
                struct kid *k = &ks->k[i];
                struct pollfd p = { .fd = k->up, .events = POLLIN };
                char sink[sizeof(struct result)];
                /* the up pipe reaches EOF when the child exits */
                for (;;) {
                        int n = poll(&p, 1, STOP_GRACE_MS);
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n <= 0) {
                                fprintf(stderr, "bus-bench: %s (pid %d) did not stop; killing it\n", k->role,
                                        (int)k->pid);
                                kill(k->pid, SIGKILL);
                                break;
                        }
                        ssize_t r = read(k->up, sink, sizeof(sink));
                        if (r <= 0 && !(r < 0 && errno == EINTR))
                                break;
                }
                close(k->up);
                while (waitpid(k->pid, NULL, 0) < 0 && errno == EINTR)
                        ;
        }
        ks->n = 0;
}

int io_send(const struct kid_io *io, struct result *r)
{
        return write_all(io->up, r, sizeof(*r));
}

int io_ready(const struct kid_io *io)
{
        struct result r = { .kind = KID_READY };

        return io_send(io, &r);
}

int io_fail(const struct kid_io *io, int error, const char *fmt, ...)
{
        struct result r = { .kind = KID_RESULT, .error = error < 0 ? error : -EIO };
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(r.what, sizeof(r.what), fmt, ap);
        va_end(ap);
        io_send(io, &r);
        return 1;
}

int io_wait(const struct kid_io *io)
{
        char c;
        ssize_t r;

        do
                r = read(io->down, &c, 1);
        while (r < 0 && errno == EINTR);
        return r < 0 ? -errno : (int)r;
}

void kids_kill(struct kids *ks)
{
        for (size_t i = 0; i < ks->n; i++)
                kill(ks->k[i].pid, SIGKILL);
        kids_finish(ks);
}
