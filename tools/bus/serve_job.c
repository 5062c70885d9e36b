/* serve_job.c: see serve_job.h. Process and pipe handling for one call of
 * `bus serve`, and the answer built from the command's outcome. */
#include "serve_job.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus.h"

struct serve_job *serve_job_new(struct bus_call *call)
{
        struct serve_job *j = calloc(1, sizeof(*j));
        /* the caller's text, one line (the daemon relays it without
         * whitespace outside strings): no json-c tree on the way */
        const char *text = bus_call_params_json(call, NULL);

        if (!j)
                return NULL;
        list_init(&j->link);
        j->fd_in = j->fd_out = j->fd_err = -1;
        if (asprintf(&j->in, "%s\n", text) < 0) {
                free(j);
                return NULL;
        }
        j->in_len = strlen(j->in);
        j->call = call;
        return j;
}

static void close_fd(int *fd)
{
        if (*fd >= 0)
                close(*fd);
        *fd = -1;
}

void serve_job_free(struct serve_job *j)
{
        if (!j)
                return;
        close_fd(&j->fd_in);
        close_fd(&j->fd_out);
        close_fd(&j->fd_err);
        list_unlink(&j->link);
        free(j->in);
        free(j->out);
        free(j);
}

static bool is_ours(const char *entry)
{
        static const char *const names[] = {
                "BUS_ADDRESS=",    "BUS_METHOD=",     "BUS_DEST=",   "BUS_SENDER=",    "BUS_SENDER_UID=",
                "BUS_SENDER_GID=", "BUS_SENDER_PID=", "BUS_ONEWAY=", "BUS_SENDER_BUS="
        };
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
                if (strncmp(entry, names[i], strlen(names[i])) == 0)
                        return true;
        return false;
}

/* The command's environment: ours without the BUS_* we set, plus those.
 * Built before fork() so that the child only calls async-signal-safe
 * functions. Returns a NULL-terminated array (free with free_env) or NULL. */
static char **make_env(const struct serve_job *j, const char *address)
{
        size_t n = 0, k = 0;
        uid_t uid;
        gid_t gid;
        pid_t pid;

        while (environ[n])
                n++;
        char **env = calloc(n + 10, sizeof(*env));
        if (!env)
                return NULL;
        for (size_t i = 0; i < n; i++)
                if (!is_ours(environ[i]) && !(env[k++] = strdup(environ[i])))
                        goto fail;
        /* a caller on another bus: its credentials as that bus stamped them,
         * and BUS_SENDER_BUS says which bus (never set for a local caller) */
        const char *remote = bus_call_remote(j->call, &uid, &gid, &pid);
        if (!remote)
                bus_call_creds(j->call, &uid, &gid, &pid);
        if (remote && asprintf(&env[k++], "BUS_SENDER_BUS=%s", remote) < 0) {
                env[k - 1] = NULL;
                goto fail;
        }
        if (asprintf(&env[k++], "BUS_ADDRESS=%s", address) < 0 ||
            asprintf(&env[k++], "BUS_METHOD=%s", bus_call_method(j->call)) < 0 ||
            asprintf(&env[k++], "BUS_DEST=%s", bus_call_dest(j->call)) < 0 ||
            asprintf(&env[k++], "BUS_SENDER=%s", bus_call_sender(j->call)) < 0 ||
            asprintf(&env[k++], "BUS_SENDER_UID=%u", (unsigned)uid) < 0 ||
            asprintf(&env[k++], "BUS_SENDER_GID=%u", (unsigned)gid) < 0 ||
            asprintf(&env[k++], "BUS_SENDER_PID=%d", (int)pid) < 0) {
                env[k - 1] = NULL; /* asprintf leaves it undefined on failure */
                goto fail;
        }
        if (bus_call_is_oneway(j->call) && !(env[k++] = strdup("BUS_ONEWAY=1")))
                goto fail;
        return env;
fail:
        for (size_t i = 0; i < k; i++)
                free(env[i]);
        free(env);
        return NULL;
}

static void free_env(char **env)
{
        for (size_t i = 0; env && env[i]; i++)
                free(env[i]);
        free(env);
}

/* In the child: wire the pipes to 0, 1, 2 and exec. Never returns. */
static void child(int in, int out, int err, char *const *argv, char **env)
{
        sigset_t none;

        setpgid(0, 0);
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
                _exit(127);
        execvpe(argv[0], argv, env);
        const char *why = strerror(errno);
        dprintf(2, "bus serve: cannot run '%s': %s\n", argv[0], why);
        _exit(127);
}

int serve_job_start(struct serve_job *j, char *const *argv, const char *address, long long deadline_ms)
{
        int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 };
        char **env = make_env(j, address);
        int r = -ENOMEM;

        if (!env)
                return -ENOMEM;
        if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
                r = -errno;
                goto fail;
        }
        pid_t pid = fork();
        if (pid < 0) {
                r = -errno;
                goto fail;
        }
        if (pid == 0)
                child(in[0], out[1], err[1], argv, env);
        setpgid(pid, pid); /* also in the child: whichever runs first */
        free_env(env);
        close(in[0]);
        close(out[1]);
        close(err[1]);
        j->pid = pid;
        j->fd_in = in[1];
        j->fd_out = out[0];
        j->fd_err = err[0];
        fcntl(j->fd_in, F_SETFL, O_NONBLOCK);
        fcntl(j->fd_out, F_SETFL, O_NONBLOCK);
        fcntl(j->fd_err, F_SETFL, O_NONBLOCK);
        j->deadline_ms = deadline_ms;
        return 0;
fail:
        free_env(env);
        for (int i = 0; i < 2; i++) {
                close_fd(&in[i]);
                close_fd(&out[i]);
                close_fd(&err[i]);
        }
        return r;
}

static void write_in(struct serve_job *j)
{
        while (j->in_off < j->in_len) {
                ssize_t n = write(j->fd_in, j->in + j->in_off, j->in_len - j->in_off);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return;
                if (n < 0)
                        break; /* EPIPE: the command does not read its stdin; fine */
                j->in_off += (size_t)n;
        }
        close_fd(&j->fd_in);
}

static void read_out(struct serve_job *j, size_t max_out)
{
        char buf[16384];

        for (;;) {
                ssize_t n = read(j->fd_out, buf, sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return;
                if (n <= 0)
                        break;
                if (j->out_too_large || j->out_len + (size_t)n > max_out) {
                        j->out_too_large = true;
                        continue;
                }
                if (j->out_len + (size_t)n > j->out_cap) {
                        size_t cap = j->out_cap ? j->out_cap : 16384;
                        while (cap < j->out_len + (size_t)n)
                                cap *= 2;
                        char *o = realloc(j->out, cap);
                        if (!o) {
                                j->out_too_large = true;
                                continue;
                        }
                        j->out = o;
                        j->out_cap = cap;
                }
                memcpy(j->out + j->out_len, buf, (size_t)n);
                j->out_len += (size_t)n;
        }
        close_fd(&j->fd_out);
}

/* Keeps the last sizeof(j->err) bytes of stderr. */
static void read_err(struct serve_job *j)
{
        char buf[4096];

        for (;;) {
                ssize_t n = read(j->fd_err, buf, sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return;
                if (n <= 0)
                        break;
                size_t len = (size_t)n, cap = sizeof(j->err);
                const char *src = buf;
                if (len >= cap) {
                        src += len - cap;
                        len = cap;
                }
                if (j->err_len + len > cap) {
                        size_t drop = j->err_len + len - cap;
                        memmove(j->err, j->err + drop, j->err_len - drop);
                        j->err_len -= drop;
                }
                memcpy(j->err + j->err_len, src, len);
                j->err_len += len;
        }
        close_fd(&j->fd_err);
}

void serve_job_io(struct serve_job *j, int fd, short revents, size_t max_out)
{
        if (!revents)
                return;
        if (fd == j->fd_in)
                write_in(j);
        else if (fd == j->fd_out)
                read_out(j, max_out);
        else if (fd == j->fd_err)
                read_err(j);
}

void serve_job_reaped(struct serve_job *j, int status)
{
        j->reaped = true;
        j->status = status;
        close_fd(&j->fd_in);
}

void serve_job_kill(struct serve_job *j, int sig)
{
        if (j->pid > 0 && !j->reaped)
                kill(-j->pid, sig);
}

void serve_job_expire(struct serve_job *j)
{
        j->timed_out = true;
        j->deadline_ms = 0;
        serve_job_kill(j, SIGKILL);
        /* whatever still holds the pipes (a process that left the group) is
         * not waited for */
        close_fd(&j->fd_in);
        close_fd(&j->fd_out);
        close_fd(&j->fd_err);
}

bool serve_job_done(const struct serve_job *j)
{
        return j->reaped && j->fd_out < 0 && j->fd_err < 0;
}
