/* peerkit.c: the peer clients' harness (peerkit.h): options, child
 * processes and their pipes, the server's CPU time, the JSON line. Knows no
 * broker: the roles come from the peer's file. */
#include "peerkit.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define KIDS_MAX 34
#define READY_MS 120000  /* setup; catches hangs only */
#define RESULT_MS 600000 /* a whole run; catches hangs only */
#define STOP_GRACE_MS 10000

enum { KIND_READY = 1, KIND_RESULT = 2 };

struct kid {
        pid_t pid;
        int up;   /* read end */
        int down; /* write end */
        const char *role;
};

struct kids {
        struct kid k[KIDS_MAX];
        size_t n;
};

uint64_t peerkit_now_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
        uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

        return x < y ? -1 : x > y;
}

void peerkit_percentiles(uint64_t *v, size_t n, uint64_t *ret_p50, uint64_t *ret_p99)
{
        if (!n) {
                *ret_p50 = *ret_p99 = 0;
                return;
        }
        qsort(v, n, sizeof(*v), cmp_u64);
        *ret_p50 = v[(n * 50 + 99) / 100 - 1];
        *ret_p99 = v[(n * 99 + 99) / 100 - 1];
}

static int write_all(int fd, const void *p, size_t len)
{
        const char *s = p;

        while (len) {
                ssize_t w = write(fd, s, len);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w <= 0)
                        return w < 0 ? -errno : -EIO;
                s += w;
                len -= (size_t)w;
        }
        return 0;
}

static int read_all(int fd, void *p, size_t len)
{
        char *s = p;

        while (len) {
                ssize_t r = read(fd, s, len);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0)
                        return r < 0 ? -errno : -EPIPE;
                s += r;
                len -= (size_t)r;
        }
        return 0;
}

int peerkit_ready(const struct peerkit_child *c)
{
        struct peerkit_result r = { .kind = KIND_READY };

        return write_all(c->up, &r, sizeof(r));
}

int peerkit_wait_go(const struct peerkit_child *c)
{
        char b;
        ssize_t r;

        do
                r = read(c->down, &b, 1);
        while (r < 0 && errno == EINTR);
        return r < 0 ? -errno : (int)r;
}

int peerkit_fail(struct peerkit_result *res, int error, const char *fmt, ...)
{
        va_list ap;

        res->error = error < 0 ? error : -EIO;
        va_start(ap, fmt);
        vsnprintf(res->what, sizeof(res->what), fmt, ap);
        va_end(ap);
        return 1;
}

/* Forks a child running role; it dies with us. Returns its index or a
 * negative errno. */
static int kids_spawn(struct kids *ks, const char *name, peerkit_role role, const struct peerkit_args *a)
{
        int up[2], down[2];

        if (ks->n == KIDS_MAX)
                return -E2BIG;
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
        pid_t parent = getpid(), pid = fork();
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
                /* a sibling's pipe ends would hide its EOFs */
                for (size_t i = 0; i < ks->n; i++) {
                        close(ks->k[i].up);
                        close(ks->k[i].down);
                }
                close(up[0]);
                close(down[1]);
                struct peerkit_child c = { .up = up[1], .down = down[0] };
                struct peerkit_result res = { 0 };
                int code = role(a, &c, &res);
                res.kind = KIND_RESULT;
                write_all(c.up, &res, sizeof(res));
                _exit(code);
        }
        close(up[1]);
        close(down[0]);
        struct kid *k = &ks->k[ks->n];
        k->pid = pid;
        k->up = up[0];
        k->down = down[1];
        k->role = name;
        return (int)ks->n++;
}

/* The child's next message. Returns 0, -ETIMEDOUT or -ECHILD (died). */
static int kid_read(struct kid *k, struct peerkit_result *ret, int timeout_ms)
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
        /* one struct per write, under PIPE_BUF: atomic */
        return read_all(k->up, ret, sizeof(*ret)) < 0 ? -ECHILD : 0;
}

/* Waits for READY; a failure's text goes to err. */
static int kid_wait_ready(struct kid *k, char *err, size_t errlen)
{
        struct peerkit_result r;
        int e = kid_read(k, &r, READY_MS);

        if (e < 0) {
                snprintf(err, errlen, "%s: %s", k->role, e == -ETIMEDOUT ? "not ready after 120 s" : "died in setup");
                return e;
        }
        if (r.kind != KIND_READY || r.error) {
                snprintf(err, errlen, "%s: %s", k->role, r.what[0] ? r.what : "setup failed");
                return r.error ? r.error : -EPROTO;
        }
        return 0;
}

/* Waits for a RESULT; a failure's text goes to err. */
static int kid_wait_result(struct kid *k, struct peerkit_result *ret, char *err, size_t errlen)
{
        int e = kid_read(k, ret, RESULT_MS);

        if (e == 0 && ret->kind == KIND_RESULT && !ret->error)
                return 0;
        snprintf(err, errlen, "%s: %s", k->role,
                 e == -ETIMEDOUT ? "no result after 600 s (hang)"
                 : e < 0         ? "died"
                                 : ret->what);
        return e < 0 ? e : -EIO;
}

static void kid_go(struct kid *k)
{
        write_all(k->down, "g", 1);
}

/* Closes every down pipe (stop), waits for the children to exit (SIGKILL
 * after a grace period), reaps them. kill: at once. */
static void kids_finish(struct kids *ks, bool kill_now)
{
        for (size_t i = 0; i < ks->n; i++) {
                if (kill_now)
                        kill(ks->k[i].pid, SIGKILL);
                close(ks->k[i].down);
        }
        for (size_t i = 0; i < ks->n; i++) {
                struct kid *k = &ks->k[i];
                struct pollfd p = { .fd = k->up, .events = POLLIN };
                char sink[sizeof(struct peerkit_result)];
                for (;;) {
                        int n = poll(&p, 1, STOP_GRACE_MS);
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n <= 0) {
                                fprintf(stderr, "peerkit: %s (pid %d) did not stop; killing it\n", k->role,
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

/* utime + stime of the whole process (all its threads, also those that have
 * exited), in ns; the resolution is the clock tick (usually 10 ms). */
static int server_cpu_ns(pid_t pid, uint64_t *ret)
{
        char path[64], buf[1024];
        unsigned long long ut, st;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        if (!(f = fopen(path, "r")))
                return -errno;
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = 0;
        /* the command name may hold spaces: count fields after its ')' */
        char *s = strrchr(buf, ')');
        if (!s || sscanf(s + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
                return -EPROTO;
        long hz = sysconf(_SC_CLK_TCK);
        *ret = (ut + st) * (1000000000ull / (uint64_t)(hz > 0 ? hz : 100));
        return 0;
}

/* What one run measured, for the JSON line. */
struct outcome {
        bool ok;
        uint64_t sent, expected, received, lib_dropped, messages, cpu_ns;
        unsigned end_seen, disconnected;
        double rate, publish_rate, p50_us, p99_us; /* < 0: not measured */
        char note[400];
};

static void json_string(const char *s)
{
        putchar('"');
        for (; *s; s++) {
                unsigned char ch = (unsigned char)*s;
                if (ch == '"' || ch == '\\')
                        printf("\\%c", ch);
                else if (ch < 0x20)
                        printf("\\u%04x", ch);
                else
                        putchar(ch);
        }
        putchar('"');
}

static void json_number(const char *key, double v, int decimals)
{
        if (v < 0)
                printf(", \"%s\": null", key);
        else
                printf(", \"%s\": %.*f", key, decimals, v);
}

static void print_outcome(const struct peerkit_peer *peer, const struct peerkit_args *a, const struct outcome *o)
{
        char name[32];

        if (a->workload == PEERKIT_CALL)
                snprintf(name, sizeof(name), "call");
        else
                snprintf(name, sizeof(name), "%s-1:%u", a->subscribers == 1 ? "pubsub" : "fanout", a->subscribers);
        printf("{\"peer\": ");
        json_string(peer->name);
        printf(", \"workload\": \"%s\", \"ok\": %s, \"count\": %" PRIu64 ", \"payload\": %zu", name,
               o->ok ? "true" : "false", a->count, a->payload);
        if (a->workload == PEERKIT_EVENTS)
                printf(", \"subscribers\": %u, \"sent\": %" PRIu64 ", \"expected\": %" PRIu64 ", \"received\": %" PRIu64
                       ", \"lost\": %" PRIu64 ", \"lib_dropped\": %" PRIu64
                       ", \"end_seen\": %u, \"disconnected\": %u, \"unit\": \"%s\"",
                       a->subscribers, o->sent, o->expected, o->received,
                       o->expected > o->received ? o->expected - o->received : 0, o->lib_dropped, o->end_seen,
                       o->disconnected, a->subscribers == 1 ? "events/s" : "deliveries/s");
        else
                printf(", \"unit\": \"calls/s\"");
        json_number("rate", o->ok ? o->rate : -1, 1);
        json_number("publish_rate", o->publish_rate, 1);
        json_number("p50_us", o->p50_us, 1);
        json_number("p99_us", o->p99_us, 1);
        json_number("server_cpu_ms", o->ok ? (double)o->cpu_ns / 1e6 : -1, 1);
        printf(", \"server_messages\": %" PRIu64, o->messages);
        json_number("server_us_per_msg", o->ok && o->messages ? (double)o->cpu_ns / 1e3 / (double)o->messages : -1, 3);
        printf(", \"note\": ");
        json_string(o->note);
        printf("}\n");
        fflush(stdout);
}

static bool run_events(const struct peerkit_peer *peer, const struct peerkit_args *a, struct outcome *o)
{
        struct kids ks = { .n = 0 };
        struct peerkit_result pub, res;
        uint64_t cpu0, cpu1, t_end = 0;
        char err[300];
        int e;

        for (unsigned i = 0; i < a->subscribers; i++) {
                int k = kids_spawn(&ks, "subscriber", peer->subscriber, a);
                if (k < 0 || kid_wait_ready(&ks.k[k], err, sizeof(err)) < 0)
                        goto fail;
        }
        int ip = kids_spawn(&ks, "publisher", peer->publisher, a);
        if (ip < 0 || kid_wait_ready(&ks.k[ip], err, sizeof(err)) < 0)
                goto fail;
        if ((e = server_cpu_ns(a->server_pid, &cpu0)) < 0) {
                snprintf(err, sizeof(err), "cannot read /proc/%d/stat: %s", (int)a->server_pid, strerror(-e));
                goto fail;
        }
        /* the subscribers start their quiet-period clocks, then the publisher starts */
        for (size_t i = 0; i < ks.n; i++)
                kid_go(&ks.k[i]);
        if (kid_wait_result(&ks.k[ip], &pub, err, sizeof(err)) < 0)
                goto fail;
        o->sent = pub.count;
        o->expected = pub.count * a->subscribers;
        for (unsigned i = 0; i < a->subscribers; i++) {
                if (kid_wait_result(&ks.k[i], &res, err, sizeof(err)) < 0)
                        goto fail;
                o->received += res.count;
                o->lib_dropped += res.lib_dropped;
                o->end_seen += res.end_seen;
                o->disconnected += res.disconnected;
                if (res.t_end > t_end)
                        t_end = res.t_end;
                if (res.what[0] && strlen(o->note) < sizeof(o->note) / 2)
                        snprintf(o->note + strlen(o->note), sizeof(o->note) - strlen(o->note), "%ssubscriber %u: %s",
                                 o->note[0] ? "; " : "", i, res.what);
        }
        if ((e = server_cpu_ns(a->server_pid, &cpu1)) < 0) {
                snprintf(err, sizeof(err), "cannot read /proc/%d/stat: %s", (int)a->server_pid, strerror(-e));
                goto fail;
        }
        kids_finish(&ks, false);
        double secs = t_end > pub.t_start ? (double)(t_end - pub.t_start) / 1e9 : 0;
        double pub_secs = (double)(pub.t_end - pub.t_start) / 1e9;
        o->rate = secs > 0 ? (double)o->received / secs : 0;
        o->publish_rate = pub_secs > 0 ? (double)pub.count / pub_secs : -1;
        /* what the server delivered: received, plus what the client library
         * dropped after it arrived */
        o->messages = o->received + o->lib_dropped;
        o->cpu_ns = cpu1 - cpu0;
        return true;
fail:
        snprintf(o->note, sizeof(o->note), "%s", err);
        kids_finish(&ks, true);
        return false;
}

static bool run_calls(const struct peerkit_peer *peer, const struct peerkit_args *a, struct outcome *o)
{
        struct kids ks = { .n = 0 };
        struct peerkit_result res;
        uint64_t cpu0, cpu1;
        char err[300];
        int e;

        int is = kids_spawn(&ks, "service", peer->service, a);
        if (is < 0 || kid_wait_ready(&ks.k[is], err, sizeof(err)) < 0)
                goto fail;
        int ic = kids_spawn(&ks, "caller", peer->caller, a);
        if (ic < 0 || kid_wait_ready(&ks.k[ic], err, sizeof(err)) < 0)
                goto fail;
        if ((e = server_cpu_ns(a->server_pid, &cpu0)) < 0) {
                snprintf(err, sizeof(err), "cannot read /proc/%d/stat: %s", (int)a->server_pid, strerror(-e));
                goto fail;
        }
        kid_go(&ks.k[ic]);
        if (kid_wait_result(&ks.k[ic], &res, err, sizeof(err)) < 0)
                goto fail;
        if ((e = server_cpu_ns(a->server_pid, &cpu1)) < 0) {
                snprintf(err, sizeof(err), "cannot read /proc/%d/stat: %s", (int)a->server_pid, strerror(-e));
                goto fail;
        }
        kids_finish(&ks, false);
        double secs = (double)(res.t_end - res.t_start) / 1e9;
        o->rate = secs > 0 ? (double)res.count / secs : 0;
        o->p50_us = (double)res.p50_ns / 1e3;
        o->p99_us = (double)res.p99_ns / 1e3;
        o->messages = 2 * res.count; /* each call and its answer */
        o->cpu_ns = cpu1 - cpu0;
        return true;
fail:
        snprintf(o->note, sizeof(o->note), "%s", err);
        kids_finish(&ks, true);
        return false;
}

static void usage(FILE *f, const char *peer)
{
        fprintf(f,
                "Usage: %s run --address ADDR --server-pid PID [--workload events|call] [--count N]\n"
                "       [--subscribers N] [--payload BYTES] [--quiet-ms MS]\n"
                "Runs one workload of bus-bench through %s and prints a JSON line.\n"
                "  events: a publisher sends N events as fast as the client library accepts them\n"
                "          to --subscribers N subscribers (1: the 1:1 burst), then an end marker;\n"
                "          each subscriber counts events until the marker or --quiet-ms without one\n"
                "  call:   a caller makes N blocking calls to a service that echoes the data\n"
                "  --server-pid: the broker process, whose utime+stime is read from /proc\n"
                "Defaults: --count 200000 (events) or 20000 (call), --subscribers 1,\n"
                "--payload 100, --quiet-ms 3000. See docs/benchmarks.md, \"Against the peers\".\n",
                program_invocation_short_name, peer);
}

static int number(const char *opt, const char *s, unsigned long long min, unsigned long long max,
                  unsigned long long *ret)
{
        char *end;

        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno || end == s || *end || s[0] == '-' || v < min || v > max) {
                fprintf(stderr, "%s needs a number from %llu to %llu, not '%s'\n", opt, min, max, s);
                return -EINVAL;
        }
        *ret = v;
        return 0;
}

int peerkit_run(const struct peerkit_peer *peer, int argc, char **argv)
{
        enum { O_ADDRESS = 256, O_PID, O_WORKLOAD, O_COUNT, O_SUBS, O_PAYLOAD, O_QUIET };
        static const struct option longopts[] = {
                { "address", required_argument, NULL, O_ADDRESS },
                { "server-pid", required_argument, NULL, O_PID },
                { "workload", required_argument, NULL, O_WORKLOAD },
                { "count", required_argument, NULL, O_COUNT },
                { "subscribers", required_argument, NULL, O_SUBS },
                { "payload", required_argument, NULL, O_PAYLOAD },
                { "quiet-ms", required_argument, NULL, O_QUIET },
                { "help", no_argument, NULL, 'h' },
                { NULL, 0, NULL, 0 },
        };
        struct peerkit_args a = { .workload = PEERKIT_EVENTS, .subscribers = 1, .payload = 100, .quiet_ms = 3000 };
        unsigned long long v = 0;
        int c, r;

        while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
                r = 0;
                switch (c) {
                case O_ADDRESS:
                        a.address = optarg;
                        break;
                case O_PID:
                        r = number("--server-pid", optarg, 1, INT32_MAX, &v);
                        a.server_pid = (pid_t)v;
                        break;
                case O_WORKLOAD:
                        if (strcmp(optarg, "events") == 0) {
                                a.workload = PEERKIT_EVENTS;
                        } else if (strcmp(optarg, "call") == 0) {
                                a.workload = PEERKIT_CALL;
                        } else {
                                fprintf(stderr, "--workload is events or call\n");
                                r = -EINVAL;
                        }
                        break;
                case O_COUNT:
                        r = number("--count", optarg, 1, 100000000ull, &v);
                        a.count = v;
                        break;
                case O_SUBS:
                        r = number("--subscribers", optarg, 1, KIDS_MAX - 2, &v);
                        a.subscribers = (unsigned)v;
                        break;
                case O_PAYLOAD:
                        r = number("--payload", optarg, 0, 60000, &v);
                        a.payload = (size_t)v;
                        break;
                case O_QUIET:
                        r = number("--quiet-ms", optarg, 10, 600000, &v);
                        a.quiet_ms = (unsigned)v;
                        break;
                case 'h':
                        usage(stdout, peer->name);
                        return 0;
                default:
                        usage(stderr, peer->name);
                        return 64;
                }
                if (r < 0)
                        return 64;
        }
        if (optind < argc || !a.address || !a.server_pid) {
                fprintf(stderr, "%s\n",
                        optind < argc ? "unexpected argument" : "--address and --server-pid are needed");
                usage(stderr, peer->name);
                return 64;
        }
        if (!a.count)
                a.count = a.workload == PEERKIT_CALL ? 20000 : 200000;
        char *data = malloc(a.payload + 1);
        if (!data) {
                fprintf(stderr, "out of memory\n");
                return 1;
        }
        memset(data, 'x', a.payload);
        data[a.payload] = 0;
        a.data = data;
        signal(SIGPIPE, SIG_IGN);

        struct outcome o = { .rate = -1, .publish_rate = -1, .p50_us = -1, .p99_us = -1 };
        o.ok = a.workload == PEERKIT_CALL ? run_calls(peer, &a, &o) : run_events(peer, &a, &o);
        print_outcome(peer, &a, &o);
        free(data);
        return o.ok ? 0 : 1;
}
