/* serve_loop.c: the event loop of `bus serve` (serve.h). One poll() watches
 * the bus fd, the signalfd and the pipes of every running command, so the bus
 * is never blocked and up to --jobs calls run at once; calls beyond that wait
 * in arrival order. */
#include "serve.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bus.h"
#include "cli.h"
#include "errcode.h"
#include "serve_job.h"

/* How long commands get to exit after SIGTERM when bus serve stops. */
#define STOP_GRACE_MS 2000

int serve_on_call(struct bus *bus, struct bus_call *call, void *userdata)
{
        struct serve *s = userdata;
        struct serve_job *j = serve_job_new(call);

        if (!j) {
                bus_reply_error(call, ERRCODE_INTERNAL, "bus serve ran out of memory");
                return 0;
        }
        bus_call_defer(call);
        list_append(&s->waiting, &j->link);
        return 0;
}

void serve_on_name(struct bus *bus, const char *name, bool acquired, void *userdata)
{
        struct serve *s = userdata;

        if (acquired) {
                fprintf(stderr, "bus serve: now the owner of %s\n", name);
        } else if (s->queue) {
                fprintf(stderr, "bus serve: %s was taken over by another connection; waiting in its queue\n", name);
        } else {
                fprintf(stderr,
                        "bus serve: %s was taken over by another connection (it used --replace); "
                        "exiting\n",
                        name);
                s->stop = true;
                s->status = CLI_EXIT_REMOTE;
        }
}

static void start_waiting(struct serve *s)
{
        struct list *pos;

        while (s->nrunning < s->max_jobs && (pos = list_first(&s->waiting))) {
                struct serve_job *j = list_entry(pos, struct serve_job, link);
                long long deadline = s->cli->timeout_ms > 0 ? cli_now_ms() + s->cli->timeout_ms : 0;
                int r;

                list_unlink(&j->link);
                r = serve_job_start(j, s->argv, s->cli->address, deadline);
                if (r < 0) {
                        bus_reply_error(j->call, "command_failed", "bus serve cannot start the command: %s",
                                        strerror(-r));
                        j->call = NULL;
                        serve_job_free(j);
                        continue;
                }
                list_append(&s->running, &j->link);
                s->nrunning++;
        }
}

static struct serve_job *find_job(struct serve *s, pid_t pid)
{
        list_for_each(pos, &s->running)
        {
                struct serve_job *j = list_entry(pos, struct serve_job, link);
                if (j->pid == pid)
                        return j;
        }
        return NULL;
}

static void reap(struct serve *s)
{
        pid_t pid;
        int st;

        while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
                struct serve_job *j = find_job(s, pid);
                if (j)
                        serve_job_reaped(j, st);
        }
}

static void read_signals(struct serve *s)
{
        struct signalfd_siginfo si;

        while (read(s->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
                if (si.ssi_signo != SIGCHLD)
                        s->stop = true;
        }
        reap(s);
}

/* Answers and frees the jobs that are done; kills those past their time. */
static void finish(struct serve *s)
{
        long long now = cli_now_ms();

        list_for_each_safe(pos, tmp, &s->running)
        {
                struct serve_job *j = list_entry(pos, struct serve_job, link);
                if (j->deadline_ms && now >= j->deadline_ms)
                        serve_job_expire(j);
                if (!serve_job_done(j))
                        continue;
                serve_job_answer(j, s->parser, s->max_message, s->cli->timeout_ms);
                serve_job_free(j);
                s->nrunning--;
        }
}

/* poll() timeout: the earlier of libbus's and the next command deadline. */
static int poll_timeout(struct serve *s)
{
        int t = bus_get_timeout(s->bus);
        long long now = cli_now_ms();

        list_for_each(pos, &s->running)
        {
                struct serve_job *j = list_entry(pos, struct serve_job, link);
                if (!j->deadline_ms)
                        continue;
                long long left = j->deadline_ms > now ? j->deadline_ms - now : 0;
                if (t < 0 || left < t)
                        t = (int)left;
        }
        return t;
}

int serve_loop(struct serve *s, struct pollfd *pfd, struct serve_job **owner)
{
        while (!s->stop) {
                size_t n = 0;

                start_waiting(s);
                pfd[n++] = (struct pollfd){ .fd = bus_get_fd(s->bus), .events = (short)bus_get_events(s->bus) };
                pfd[n++] = (struct pollfd){ .fd = s->sigfd, .events = POLLIN };
                list_for_each(pos, &s->running)
                {
                        struct serve_job *j = list_entry(pos, struct serve_job, link);
                        int fds[3] = { j->fd_in, j->fd_out, j->fd_err };
                        for (int k = 0; k < 3; k++) {
                                if (fds[k] < 0)
                                        continue;
                                owner[n] = j;
                                pfd[n++] = (struct pollfd){ .fd = fds[k], .events = k ? POLLIN : POLLOUT };
                        }
                }
                if (poll(pfd, n, poll_timeout(s)) < 0 && errno != EINTR) {
                        fprintf(stderr, "bus serve: poll: %s\n", strerror(errno));
                        return CLI_EXIT_INTERNAL;
                }
                for (size_t i = 2; i < n; i++)
                        serve_job_io(owner[i], pfd[i].fd, pfd[i].revents, s->max_message);
                if (pfd[1].revents)
                        read_signals(s);
                finish(s);
                int r = bus_process(s->bus);
                if (r < 0)
                        return cli_fail(s->cli, s->bus, "serving", r);
        }
        return s->status;
}

void serve_stop_all(struct serve *s)
{
        long long deadline = cli_now_ms() + STOP_GRACE_MS;

        list_for_each(pos, &s->running) serve_job_kill(list_entry(pos, struct serve_job, link), SIGTERM);
        while (s->nrunning) {
                bool all = true;
                list_for_each(pos, &s->running) all = all && list_entry(pos, struct serve_job, link)->reaped;
                if (all)
                        break;
                long long left = deadline - cli_now_ms();
                if (left <= 0) {
                        list_for_each(pos, &s->running)
                                serve_job_kill(list_entry(pos, struct serve_job, link), SIGKILL);
                        left = 1000;
                        deadline = cli_now_ms() + 1000;
                }
                struct pollfd p = { .fd = s->sigfd, .events = POLLIN };
                poll(&p, 1, (int)left);
                read_signals(s);
        }
        struct list *lists[] = { &s->running, &s->waiting };
        for (int i = 0; i < 2; i++) {
                list_for_each_safe(pos, tmp, lists[i])
                {
                        struct serve_job *j = list_entry(pos, struct serve_job, link);
                        bus_reply_error(j->call, "command_failed", "bus serve is stopping");
                        j->call = NULL;
                        serve_job_free(j);
                }
        }
        s->nrunning = 0;
        bus_flush(s->bus);
}
