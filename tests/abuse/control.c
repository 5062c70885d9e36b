/* control.c: the control clients of bus-abuse, each a forked process. The
 * service owns CONTROL_NAME and answers every `echo` call with its params;
 * the caller calls it over stream and seqpacket in turn, one call every
 * millisecond, and fails on the first call that does not come back with its
 * own params (an error, a wrong answer, the connection ending, or no answer
 * within CALL_TIMEOUT_MS, a guard against a hung daemon, not a latency
 * target). Each reports one line on its pipe: READY once set up, then
 * "OK <calls> <max latency us>" or "FAIL <why>" when told to stop (its
 * down pipe closes) or when it fails.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "abuse.h"

#define CALL_TIMEOUT_MS 30000
#define CALL_INTERVAL_MS 1

static void say(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(int fd, const char *fmt, ...)
{
        char line[400];
        va_list ap;

        va_start(ap, fmt);
        int n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
        va_end(ap);
        if (n < 0)
                return;
        if ((size_t)n > sizeof(line) - 2)
                n = (int)sizeof(line) - 2;
        line[n++] = '\n';
        if (write(fd, line, (size_t)n) < 0) {
                /* the parent is gone: nothing to report to */
        }
}

/* True once the parent closed our down pipe (or wrote to it). */
static bool told_to_stop(int down, int timeout_ms)
{
        struct pollfd p = { .fd = down, .events = POLLIN };

        return poll(&p, 1, timeout_ms) > 0;
}

static int service_main(int up, int down, const char *addr)
{
        static const char *const names[] = { CONTROL_NAME, NULL };
        struct client c;
        uint64_t served = 0;

        if (client_connect(&c, addr) < 0 || client_hello(&c, "abuse control service", names, CALL_TIMEOUT_MS) < 0) {
                say(up, "FAIL the control service could not connect to %s", addr);
                return 1;
        }
        say(up, "READY");
        for (;;) {
                struct pollfd p[2] = { { .fd = c.fd, .events = POLLIN }, { .fd = down, .events = POLLIN } };
                if (poll(p, 2, -1) < 0 && errno != EINTR)
                        break;
                if (p[1].revents) {
                        say(up, "OK %llu 0", (unsigned long long)served);
                        client_close(&c);
                        return 0;
                }
                if (!p[0].revents)
                        continue;
                struct json_object *m = client_recv(&c, CALL_TIMEOUT_MS), *params = NULL, *id = NULL;
                if (!m) {
                        say(up, "FAIL the service's connection ended: %s", strerror(errno));
                        return 1;
                }
                const char *type = json_str(m, "type");
                if (type && strcmp(type, "call") == 0 && json_object_object_get_ex(m, "id", &id)) {
                        json_object_object_get_ex(m, "params", &params);
                        struct json_object *r = json_object_new_object();
                        json_object_object_add(r, "type", json_object_new_string("reply"));
                        json_object_object_add(r, "id", json_object_get(id));
                        json_object_object_add(r, "result", json_object_get(params));
                        const char *s = json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN);
                        int err = client_send(&c, s, strlen(s));
                        json_object_put(r);
                        if (err < 0) {
                                say(up, "FAIL the service could not send a reply");
                                return 1;
                        }
                        served++;
                }
                json_object_put(m);
        }
        say(up, "FAIL the service's poll failed: %s", strerror(errno));
        return 1;
}

static int caller_main(int up, int down, const char *stream_addr, const char *seq_addr)
{
        struct client c[2];
        uint64_t calls = 0, max_lat = 0;
        const char *addrs[2] = { stream_addr, seq_addr };

        for (int i = 0; i < 2; i++) {
                if (client_connect(&c[i], addrs[i]) < 0 ||
                    client_hello(&c[i], "abuse control caller", NULL, CALL_TIMEOUT_MS) < 0) {
                        say(up, "FAIL the control caller could not connect to %s", addrs[i]);
                        return 1;
                }
        }
        for (uint64_t n = 1;; n++) {
                struct client *k = &c[n % 2];
                char msg[300], s[64];
                uint64_t id = k->next_id++;
                snprintf(s, sizeof(s), "control %llu \\u00e9\\\"", (unsigned long long)n);
                int len = snprintf(msg, sizeof(msg),
                                   "{\"type\":\"call\",\"id\":%llu,\"dest\":\"" CONTROL_NAME "\",\"method\":\"echo\","
                                   "\"params\":{\"n\":%llu,\"s\":\"%s\"}}",
                                   (unsigned long long)id, (unsigned long long)n, s);
                uint64_t t0 = now_us();
                if (client_send(k, msg, (size_t)len) < 0) {
                        say(up, "FAIL call %llu: the %s connection ended", (unsigned long long)n,
                            k->seqpacket ? "seqpacket" : "stream");
                        return 1;
                }
                struct json_object *m = NULL;
                for (;;) {
                        m = client_recv(k, CALL_TIMEOUT_MS);
                        if (!m)
                                break;
                        const char *type = json_str(m, "type");
                        if (type && (strcmp(type, "reply") == 0 || strcmp(type, "error") == 0))
                                break;
                        json_object_put(m); /* nothing else is expected, but nothing else matters */
                }
                if (!m) {
                        say(up, "FAIL call %llu over %s: %s", (unsigned long long)n,
                            k->seqpacket ? "seqpacket" : "stream",
                            errno == ETIMEDOUT ? "no answer within 30 s" : "the connection ended");
                        return 1;
                }
                struct json_object *res = NULL;
                const char *type = json_str(m, "type");
                bool ok = type && strcmp(type, "reply") == 0 && json_u64(m, "id") == id &&
                          json_object_object_get_ex(m, "result", &res) && json_u64(res, "n") == n &&
                          json_str(res, "s") && strncmp(json_str(res, "s"), "control ", 8) == 0;
                if (!ok) {
                        say(up, "FAIL call %llu over %s got %s", (unsigned long long)n,
                            k->seqpacket ? "seqpacket" : "stream", json_object_to_json_string(m));
                        json_object_put(m);
                        return 1;
                }
                json_object_put(m);
                uint64_t lat = now_us() - t0;
                max_lat = lat > max_lat ? lat : max_lat;
                calls++;
                if (calls == 1)
                        say(up, "READY");
                if (told_to_stop(down, CALL_INTERVAL_MS)) {
                        say(up, "OK %llu %llu", (unsigned long long)calls, (unsigned long long)max_lat);
                        client_close(&c[0]);
                        client_close(&c[1]);
                        return 0;
                }
        }
}

/* Forks a child running a role; returns its pid with its pipes. */
static pid_t spawn(int *ret_up, int *ret_down, int (*fn)(int, int, const char *, const char *), const char *a,
                   const char *b)
{
        int up[2], down[2];

        if (pipe2(up, O_CLOEXEC) < 0)
                return -1;
        if (pipe2(down, O_CLOEXEC) < 0) {
                close(up[0]);
                close(up[1]);
                return -1;
        }
        fflush(stdout);
        fflush(stderr);
        pid_t parent = getpid();
        pid_t pid = fork();
        if (pid == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (getppid() != parent)
                        _exit(127);
                close(up[0]);
                close(down[1]);
                _exit(fn(up[1], down[0], a, b));
        }
        close(up[1]);
        close(down[0]);
        if (pid < 0) {
                close(up[0]);
                close(down[1]);
                return -1;
        }
        *ret_up = up[0];
        *ret_down = down[1];
        return pid;
}

static int run_service(int up, int down, const char *a, const char *b)
{
        return service_main(up, down, a);
}

static int run_caller(int up, int down, const char *a, const char *b)
{
        return caller_main(up, down, a, b);
}

/* Reads one line from a child's pipe (blocking, with a guard). */
static int read_line(int fd, char *buf, size_t len, int timeout_ms)
{
        size_t n = 0;

        while (n + 1 < len) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                if (poll(&p, 1, timeout_ms) <= 0)
                        break;
                ssize_t r = read(fd, buf + n, 1);
                if (r <= 0)
                        break;
                if (buf[n] == '\n')
                        break;
                n++;
        }
        buf[n] = 0;
        return n > 0 ? 0 : -1;
}

int control_start(struct control *ctl, const char *stream_addr, const char *seq_addr, int timeout_ms)
{
        char line[400];

        memset(ctl, 0, sizeof(*ctl));
        ctl->service = ctl->caller = -1;
        ctl->service_up = ctl->caller_up = ctl->service_down = ctl->caller_down = -1;
        ctl->service = spawn(&ctl->service_up, &ctl->service_down, run_service, stream_addr, NULL);
        if (ctl->service < 0 || read_line(ctl->service_up, line, sizeof(line), timeout_ms) < 0 ||
            strcmp(line, "READY") != 0) {
                fprintf(stderr, "bus-abuse: the control service did not start: %s\n", line);
                return -1;
        }
        ctl->caller = spawn(&ctl->caller_up, &ctl->caller_down, run_caller, stream_addr, seq_addr);
        if (ctl->caller < 0 || read_line(ctl->caller_up, line, sizeof(line), timeout_ms) < 0 ||
            strcmp(line, "READY") != 0) {
                fprintf(stderr, "bus-abuse: the control caller did not start: %s\n", line);
                return -1;
        }
        return 0;
}

static void finish(pid_t pid, int up, int down, struct control_result *ret)
{
        char line[400] = "";
        unsigned long long a = 0, b = 0;

        memset(ret, 0, sizeof(*ret));
        if (pid < 0) {
                snprintf(ret->why, sizeof(ret->why), "not started");
                return;
        }
        close(down);
        if (read_line(up, line, sizeof(line), CALL_TIMEOUT_MS + 5000) < 0)
                snprintf(line, sizeof(line), "FAIL no report");
        if (sscanf(line, "OK %llu %llu", &a, &b) == 2) {
                ret->ok = true;
                ret->calls = a;
                ret->max_lat_us = b;
        } else {
                snprintf(ret->why, sizeof(ret->why), "%.390s", strncmp(line, "FAIL ", 5) == 0 ? line + 5 : line);
        }
        close(up);
        if (!ret->ok)
                kill(pid, SIGKILL); /* it may be hung; it reported what it could */
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
}

void control_stop(struct control *ctl, struct control_result *service, struct control_result *caller)
{
        /* the caller first: the service must outlive its last call */
        finish(ctl->caller, ctl->caller_up, ctl->caller_down, caller);
        finish(ctl->service, ctl->service_up, ctl->service_down, service);
        ctl->caller = ctl->service = -1;
}

bool control_failed(struct control *ctl)
{
        struct pollfd p = { .fd = ctl->caller_up, .events = POLLIN };

        return ctl->caller_up >= 0 && poll(&p, 1, 0) > 0;
}
