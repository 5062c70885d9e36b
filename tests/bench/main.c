/* main.c: bus-bench's orchestration: the daemon, the order of the scenarios,
 * the sanity check and the output. The scenarios themselves are in sc_*.c. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <bus.h>

#include "bench.h"

uint64_t bench_count(const struct bench *b, enum scenario s)
{
        static const uint64_t full[SC_COUNT] = {
                [SC_PINGPONG] = 50000, [SC_RELAY] = 20000,       [SC_CALL] = 20000,       [SC_PUBSUB] = 200000,
                [SC_FANOUT] = 50000,   [SC_PUBSUB_RAW] = 200000, [SC_FANOUT_RAW] = 50000,
        };
        static const uint64_t quick[SC_COUNT] = {
                [SC_PINGPONG] = 300, [SC_RELAY] = 300,       [SC_CALL] = 300,       [SC_PUBSUB] = 3000,
                [SC_FANOUT] = 500,   [SC_PUBSUB_RAW] = 3000, [SC_FANOUT_RAW] = 500,
        };

        if (b->opt.count)
                return b->opt.count;
        return b->opt.quick ? quick[s] : full[s];
}

/* Idle connections need descriptors: use the whole hard limit. */
static void raise_fd_limit(void)
{
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                setrlimit(RLIMIT_NOFILE, &rl);
        }
}

static void describe_machine(const struct bench *b, char *buf, size_t len)
{
        char model[128] = "unknown CPU", line[256];
        struct utsname u;
        FILE *f = fopen("/proc/cpuinfo", "r");

        while (f && fgets(line, sizeof(line), f)) {
                char *colon = strchr(line, ':');
                if (strncmp(line, "model name", 10) == 0 && colon) {
                        snprintf(model, sizeof(model), "%s", colon + 2);
                        model[strcspn(model, "\n")] = 0;
                        break;
                }
        }
        if (f)
                fclose(f);
        if (uname(&u) < 0)
                snprintf(u.release, sizeof(u.release), "?");
        int n = snprintf(buf, len, "%s, %ld CPUs, Linux %s, bus-bench compiler %s; payload %zu bytes; busd pid %d%s",
                         model, sysconf(_SC_NPROCESSORS_ONLN), u.release, __VERSION__, b->opt.payload, (int)b->d.pid,
                         b->d.child > 0 ? "" : " (external)");
        if (b->rctl && n > 0 && (size_t)n < len)
                snprintf(buf + n, len - (size_t)n,
                         "; across a bridge: subscribers and services on %s (busd pid %d), publishers and callers "
                         "on %s; busd us counts both daemons",
                         b->opt.remote_address, (int)b->rd.pid, b->opt.address);
}

static bool sane(const struct row *r)
{
        if (r->failed || isnan(r->value) || isinf(r->value))
                return false;
        if (strcmp(r->scenario, "memory") != 0 && !(r->value > 0))
                return false;
        if (!isnan(r->p50_us) && !(r->p50_us > 0 && r->p50_us <= r->p99_us))
                return false;
        if (!isnan(r->daemon_us) && !(r->daemon_us >= 0))
                return false;
        return r->count > 0;
}

static void run(struct bench *b, unsigned round)
{
        const struct bench_opts *o = &b->opt;

        /* later rounds would reuse memory freed by earlier traffic */
        if ((o->scenarios & (1u << SC_MEMORY)) && round == 0)
                sc_memory(b);
        for (int t = 0; t < T_COUNT; t++)
                if ((o->transports & (1u << t)) && (o->scenarios & (1u << SC_PINGPONG)))
                        sc_pingpong(b, (enum transport)t);
        for (int t = 0; t < T_COUNT; t++)
                if ((o->transports & (1u << t)) && (o->scenarios & (1u << SC_RELAY)))
                        sc_relay(b, (enum transport)t);
        for (int t = 0; t < T_COUNT; t++)
                if ((o->transports & (1u << t)) && (o->scenarios & (1u << SC_CALL)))
                        sc_call(b, (enum transport)t);
        for (int t = 0; t < T_COUNT; t++)
                if ((o->transports & (1u << t)) && (o->scenarios & (1u << SC_PUBSUB)))
                        sc_events(b, (enum transport)t, 1, false);
        for (int t = 0; t < T_COUNT; t++)
                if ((o->transports & (1u << t)) && (o->scenarios & (1u << SC_PUBSUB_RAW)))
                        sc_events(b, (enum transport)t, 1, true);
        for (int t = 0; t < T_COUNT; t++)
                if ((o->transports & (1u << t)) && (o->scenarios & (1u << SC_FANOUT)))
                        sc_events(b, (enum transport)t, o->subscribers, false);
        for (int t = 0; t < T_COUNT; t++)
                if ((o->transports & (1u << t)) && (o->scenarios & (1u << SC_FANOUT_RAW)))
                        sc_events(b, (enum transport)t, o->subscribers, true);
}

int main(int argc, char **argv)
{
        struct bench b;
        char machine[1024];
        int r;

        memset(&b, 0, sizeof(b));
        r = options_parse(&b.opt, argc, argv);
        if (r != 0)
                return r > 0 ? 0 : 64;
        signal(SIGPIPE, SIG_IGN);
        raise_fd_limit();
        r = b.opt.address ? daemon_attach(&b.d, b.opt.address) : daemon_start(&b.d, b.opt.busd);
        if (r < 0)
                return 1;
        r = bus_open(b.d.addr[T_STREAM], "bench-control", &b.ctl);
        if (r < 0) {
                fprintf(stderr, "bus-bench: cannot connect to %s: %s\n", b.d.addr[T_STREAM], bus_open_error());
                daemon_stop(&b.d);
                return 1;
        }
        if (daemon_identify(&b.d, b.ctl) < 0 || daemon_rss_kib(&b.d) < 0)
                fprintf(stderr, "bus-bench: cannot read the daemon's /proc entry: no CPU or memory figures\n");
        if (b.opt.remote_address) {
                /* the other end of the bridge: only clients and stats, never started here */
                if (daemon_attach(&b.rd, b.opt.remote_address) < 0) {
                        bus_close(b.ctl);
                        return 1;
                }
                r = bus_open(b.rd.addr[T_STREAM], "bench-control", &b.rctl);
                if (r < 0) {
                        fprintf(stderr, "bus-bench: cannot connect to %s: %s\n", b.rd.addr[T_STREAM], bus_open_error());
                        bus_close(b.ctl);
                        return 1;
                }
                if (daemon_identify(&b.rd, b.rctl) < 0 || daemon_rss_kib(&b.rd) < 0)
                        fprintf(stderr, "bus-bench: cannot read the remote daemon's /proc entry: no CPU figures\n");
        }
        struct report *rounds = calloc(b.opt.repeat, sizeof(*rounds));
        struct report merged;
        if (!rounds) {
                fprintf(stderr, "bus-bench: out of memory\n");
                bus_close(b.ctl);
                if (b.rctl)
                        bus_close(b.rctl);
                daemon_stop(&b.d);
                return 1;
        }
        for (unsigned i = 0; i < b.opt.repeat; i++) {
                memset(&b.rep, 0, sizeof(b.rep));
                run(&b, i);
                rounds[i] = b.rep;
        }
        report_merge(&merged, rounds, b.opt.repeat);
        free(rounds);
        b.rep = merged;
        report_floor_ratios(&b.rep);
        describe_machine(&b, machine, sizeof(machine));
        bus_close(b.ctl);
        if (b.rctl)
                bus_close(b.rctl);
        daemon_stop(&b.d);
        if (b.opt.json)
                report_print_json(&b.rep, &b.opt, machine);
        else
                report_print_table(&b.rep, machine);
        int status = 0;
        for (size_t i = 0; i < b.rep.n; i++) {
                const struct row *row = &b.rep.rows[i];
                if (row->failed || (b.opt.check && !sane(row))) {
                        fprintf(stderr, "bus-bench: %s over %s: %s%s\n", row->scenario, transport_name(row->transport),
                                row->failed ? "failed: " : "numbers not sane: ", row->note);
                        status = 1;
                }
        }
        if (b.opt.check && b.rep.n == 0) {
                fprintf(stderr, "bus-bench: no scenario ran\n");
                status = 1;
        }
        return status;
}
