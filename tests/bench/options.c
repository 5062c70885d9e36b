/* options.c: the command line of bus-bench. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#ifndef BUS_BENCH_BUSD
#define BUS_BENCH_BUSD "busd"
#endif

static const char *const scenario_names[SC_COUNT] = {
        [SC_MEMORY] = "memory",         [SC_PINGPONG] = "pingpong",
        [SC_RELAY] = "relay",           [SC_CALL] = "call",
        [SC_PUBSUB] = "pubsub",         [SC_FANOUT] = "fanout",
        [SC_PUBSUB_RAW] = "pubsub-raw", [SC_FANOUT_RAW] = "fanout-raw",
};

const char *scenario_name(enum scenario s)
{
        return scenario_names[s];
}

const char *transport_name(enum transport t)
{
        return t == T_STREAM ? "stream" : "seqpacket";
}

static void usage(FILE *f)
{
        fprintf(f,
                "Usage: bus-bench [OPTIONS]\n"
                "Measure busd over stream and seqpacket: call round trips, event throughput\n"
                "1:1 and 1:N, the daemon's CPU per routed message and memory per idle\n"
                "connection, against the floor of raw AF_UNIX ping-pong and a byte relay.\n"
                "\n"
                "  --scenario NAME[,NAME]  memory, pingpong, relay, call, pubsub, fanout,\n"
                "                          pubsub-raw, fanout-raw (default: all)\n"
                "  --transport T           stream, seqpacket or both (default both)\n"
                "  --count N               messages per scenario (calls, round trips,\n"
                "                          events published)\n"
                "  --payload BYTES         size of the params/data string (default 64)\n"
                "  --connections N         idle connections for memory (default 2000)\n"
                "  --subscribers N         fan-out width (default 8)\n"
                "  --repeat N              run everything N times, report medians (default 1;\n"
                "                          memory is measured in the first round only)\n"
                "  --quick                 tiny counts (smoke tests)\n"
                "  --json                  machine-readable output\n"
                "  --check                 exit 1 unless every scenario ran and reported sane\n"
                "                          numbers (no timing thresholds)\n"
                "  --busd PATH             daemon binary (default: $BUSD, else the build tree's)\n"
                "  --address ADDR          use a running bus (unix:/path or seqpacket:/path;\n"
                "                          the other socket is found by the .seq convention)\n"
                "  --remote-address ADDR   across a bridge (needs --address; docs/bridge.md):\n"
                "                          subscribers (pubsub, fanout) and the service (call)\n"
                "                          connect to ADDR, a second bus bridged to --address,\n"
                "                          where the publisher and the caller stay. Default\n"
                "                          scenarios: call, pubsub, fanout and their -raw forms;\n"
                "                          memory, pingpong and relay stay on one bus. Each\n"
                "                          subscriber's count also takes the events the link\n"
                "                          dropped (the bridge's `dropped` counter on --address);\n"
                "                          the cross-check of the counts against the daemons'\n"
                "                          delivery counters is skipped (as for any --address);\n"
                "                          busd us is the CPU of both daemons\n"
                "  -h, --help              show this help\n"
                "\n"
                "Documentation: docs/benchmarks.md.\n");
}

static int number(const char *opt, const char *s, unsigned long long min, unsigned long long max,
                  unsigned long long *ret)
{
        char *end;

        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno || end == s || *end || s[0] == '-' || v < min || v > max) {
                fprintf(stderr, "bus-bench: %s needs a number from %llu to %llu, not '%s'\n", opt, min, max, s);
                return -EINVAL;
        }
        *ret = v;
        return 0;
}

static int parse_scenarios(const char *arg, unsigned *ret)
{
        char buf[256];
        unsigned set = 0;

        snprintf(buf, sizeof(buf), "%s", arg);
        for (char *save = NULL, *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
                int found = -1;
                for (int s = 0; s < SC_COUNT; s++)
                        if (strcmp(w, scenario_names[s]) == 0)
                                found = s;
                if (strcmp(w, "all") == 0) {
                        set = (1u << SC_COUNT) - 1;
                        continue;
                }
                if (found < 0) {
                        fprintf(stderr,
                                "bus-bench: unknown scenario '%s' (memory, pingpong, relay, call, pubsub, "
                                "fanout, pubsub-raw, fanout-raw, all)\n",
                                w);
                        return -EINVAL;
                }
                set |= 1u << found;
        }
        if (!set) {
                fprintf(stderr, "bus-bench: --scenario needs a name\n");
                return -EINVAL;
        }
        *ret = set;
        return 0;
}

int options_parse(struct bench_opts *o, int argc, char **argv)
{
        enum {
                O_SCEN = 256,
                O_TRANSPORT,
                O_COUNT,
                O_PAYLOAD,
                O_CONNS,
                O_SUBS,
                O_QUICK,
                O_JSON,
                O_CHECK,
                O_BUSD,
                O_ADDRESS,
                O_REPEAT,
                O_REMOTE
        };
        static const struct option longopts[] = {
                { "scenario", required_argument, NULL, O_SCEN },
                { "transport", required_argument, NULL, O_TRANSPORT },
                { "count", required_argument, NULL, O_COUNT },
                { "payload", required_argument, NULL, O_PAYLOAD },
                { "connections", required_argument, NULL, O_CONNS },
                { "subscribers", required_argument, NULL, O_SUBS },
                { "quick", no_argument, NULL, O_QUICK },
                { "json", no_argument, NULL, O_JSON },
                { "check", no_argument, NULL, O_CHECK },
                { "busd", required_argument, NULL, O_BUSD },
                { "address", required_argument, NULL, O_ADDRESS },
                { "repeat", required_argument, NULL, O_REPEAT },
                { "remote-address", required_argument, NULL, O_REMOTE },
                { "help", no_argument, NULL, 'h' },
                { NULL, 0, NULL, 0 },
        };
        unsigned long long v = 0; /* read below even when number() failed */
        const char *env = getenv("BUSD");
        int c, r;

        memset(o, 0, sizeof(*o));
        o->scenarios = (1u << SC_COUNT) - 1;
        o->transports = (1u << T_COUNT) - 1;
        o->payload = 64;
        o->subscribers = 8;
        o->repeat = 1;
        o->busd = env && *env ? env : BUS_BENCH_BUSD;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
                r = 0;
                switch (c) {
                case O_SCEN:
                        r = parse_scenarios(optarg, &o->scenarios);
                        o->scenarios_given = true;
                        break;
                case O_TRANSPORT:
                        if (strcmp(optarg, "stream") == 0) {
                                o->transports = 1u << T_STREAM;
                        } else if (strcmp(optarg, "seqpacket") == 0) {
                                o->transports = 1u << T_SEQPACKET;
                        } else if (strcmp(optarg, "both") == 0) {
                                o->transports = (1u << T_COUNT) - 1;
                        } else {
                                fprintf(stderr, "bus-bench: --transport is stream, seqpacket or both\n");
                                r = -EINVAL;
                        }
                        break;
                case O_COUNT:
                        r = number("--count", optarg, 1, 1000000000ull, &v);
                        o->count = v;
                        break;
                case O_PAYLOAD:
                        r = number("--payload", optarg, 0, 60000, &v);
                        o->payload = (size_t)v;
                        break;
                case O_CONNS:
                        r = number("--connections", optarg, 1, 1000000, &v);
                        o->connections = (unsigned)v;
                        break;
                case O_SUBS:
                        r = number("--subscribers", optarg, 1, KIDS_MAX - 2, &v);
                        o->subscribers = (unsigned)v;
                        break;
                case O_QUICK:
                        o->quick = true;
                        break;
                case O_JSON:
                        o->json = true;
                        break;
                case O_CHECK:
                        o->check = true;
                        break;
                case O_BUSD:
                        o->busd = optarg;
                        break;
                case O_ADDRESS:
                        o->address = optarg;
                        break;
                case O_REMOTE:
                        o->remote_address = optarg;
                        break;
                case O_REPEAT:
                        r = number("--repeat", optarg, 1, 99, &v);
                        o->repeat = (unsigned)v;
                        break;
                case 'h':
                        usage(stdout);
                        return 1;
                default:
                        fprintf(stderr, "bus-bench: unknown or incomplete option '%s'\nTry 'bus-bench --help'.\n",
                                argv[optind - 1]);
                        return -EINVAL;
                }
                if (r < 0)
                        return r;
        }
        if (optind < argc) {
                fprintf(stderr, "bus-bench: unexpected argument '%s'\n", argv[optind]);
                return -EINVAL;
        }
        if (!o->connections)
                o->connections = o->quick ? 50 : 2000;
        if (o->remote_address) {
                if (!o->address) {
                        fprintf(stderr, "bus-bench: --remote-address needs --address (the bus the publishers and "
                                        "callers use)\n");
                        return -EINVAL;
                }
                /* what crosses the bridge, unless asked otherwise */
                if (!o->scenarios_given)
                        o->scenarios = (1u << SC_CALL) | (1u << SC_PUBSUB) | (1u << SC_FANOUT) | (1u << SC_PUBSUB_RAW) |
                                       (1u << SC_FANOUT_RAW);
        }
        return 0;
}
