/* options.c: see options.h. */
#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buslimits.h"

static void usage(FILE *f)
{
        fprintf(f,
                "Usage: busd [OPTIONS]\n"
                "Serve a message bus on AF_UNIX sockets (JSON Lines on SOCK_STREAM, one JSON\n"
                "message per packet on SOCK_SEQPACKET). With no options: the user bus at\n"
                "$XDG_RUNTIME_DIR/busd/bus and bus.seq.\n"
                "\n"
                "  --system                 serve the system bus (/run/busd/bus, bus.seq; mode 0666)\n"
                "  --listen ADDRESS         unix:/path (stream) or seqpacket:/path; repeatable;\n"
                "                           replaces the default sockets\n"
                "  --ready-fd FD            write \"READY=1\\n\" to FD and close it once serving\n"
                "  --queue-bytes N          per-connection output queue limit (default %u)\n"
                "  --max-pending-calls N    calls one client may have waiting (default %u)\n"
                "  --max-names N            names one client may own or queue for (default %u)\n"
                "  --max-subscriptions N    patterns one client may subscribe (default %u)\n"
                "  --stall-timeout MS       disconnect a client whose queue stays full this long\n"
                "                           (default %u)\n"
                "  --max-connections N      connections served at once (default 16384)\n"
                "  --max-handshakes N       connections waiting to say hello at once (default %u)\n"
                "  --hello-timeout MS       time a new connection has to say hello (default %u)\n"
                "  -v, --verbose            log connections and disconnections\n"
                "  -h, --help               show this help\n"
                "  -V, --version            show the version\n"
                "\n"
                "Documentation: docs/busd.md (busd(8)), docs/protocol.md.\n",
                BUS_DEFAULT_QUEUE_BYTES, BUS_DEFAULT_MAX_PENDING_CALLS, BUS_DEFAULT_MAX_NAMES,
                BUS_DEFAULT_MAX_SUBSCRIPTIONS, BUS_DEFAULT_STALL_TIMEOUT_MS, BUS_DEFAULT_MAX_HANDSHAKES,
                BUS_DEFAULT_HELLO_TIMEOUT_MS);
}

static int number(const char *opt, const char *s, unsigned long min, unsigned long max, unsigned long *ret)
{
        char *end;

        errno = 0;
        unsigned long v = strtoul(s, &end, 10);
        if (errno || end == s || *end || s[0] == '-' || v < min || v > max) {
                fprintf(stderr, "busd: %s needs a number from %lu to %lu, not '%s'\n", opt, min, max, s);
                return -EINVAL;
        }
        *ret = v;
        return 0;
}

int options_parse(struct options *o, int argc, char **argv)
{
        enum { O_LISTEN = 256, O_READY, O_QUEUE, O_PENDING, O_NAMES, O_SUBS, O_STALL, O_MAXCONN, O_HANDSHAKES,
               O_HELLO_TIMEOUT };
        static const struct option longopts[] = {
                { "system", no_argument, NULL, 's' },
                { "listen", required_argument, NULL, O_LISTEN },
                { "ready-fd", required_argument, NULL, O_READY },
                { "queue-bytes", required_argument, NULL, O_QUEUE },
                { "max-pending-calls", required_argument, NULL, O_PENDING },
                { "max-names", required_argument, NULL, O_NAMES },
                { "max-subscriptions", required_argument, NULL, O_SUBS },
                { "stall-timeout", required_argument, NULL, O_STALL },
                { "max-connections", required_argument, NULL, O_MAXCONN },
                { "max-handshakes", required_argument, NULL, O_HANDSHAKES },
                { "hello-timeout", required_argument, NULL, O_HELLO_TIMEOUT },
                { "verbose", no_argument, NULL, 'v' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                { NULL, 0, NULL, 0 },
        };
        unsigned long v = 0;
        int c, r;

        memset(o, 0, sizeof(*o));
        o->ready_fd = -1;
        o->max_connections = 16384;
        o->max_handshakes = BUS_DEFAULT_MAX_HANDSHAKES;
        o->hello_timeout_ms = BUS_DEFAULT_HELLO_TIMEOUT_MS;
        router_limits_default(&o->limits);
        opterr = 0;
        while ((c = getopt_long(argc, argv, "vhV", longopts, NULL)) != -1) {
                r = 0;
                switch (c) {
                case 's':
                        o->system = true;
                        break;
                case O_LISTEN:
                        if (o->nlisten == OPTIONS_MAX_LISTEN) {
                                fprintf(stderr, "busd: at most %d --listen addresses\n", OPTIONS_MAX_LISTEN);
                                return -EINVAL;
                        }
                        r = address_parse(optarg, &o->listen[o->nlisten]);
                        if (r < 0) {
                                fprintf(stderr,
                                        "busd: bad address '%s': %s (use unix:/absolute/path or "
                                        "seqpacket:/absolute/path)\n",
                                        optarg, r == -ENAMETOOLONG ? "path too long" : "unknown form");
                                return -EINVAL;
                        }
                        o->nlisten++;
                        o->listen_given = true;
                        break;
                case O_READY:
                        r = number("--ready-fd", optarg, 0, INT_MAX, &v);
                        o->ready_fd = (int)v;
                        break;
                case O_QUEUE:
                        r = number("--queue-bytes", optarg, 4096, 1ul << 32, &v);
                        o->limits.queue_bytes = v;
                        break;
                case O_PENDING:
                        r = number("--max-pending-calls", optarg, 1, 1u << 20, &v);
                        o->limits.max_pending_calls = (unsigned)v;
                        break;
                case O_NAMES:
                        r = number("--max-names", optarg, 1, 1u << 20, &v);
                        o->limits.max_names = (unsigned)v;
                        break;
                case O_SUBS:
                        r = number("--max-subscriptions", optarg, 1, 1u << 20, &v);
                        o->limits.max_subscriptions = (unsigned)v;
                        break;
                case O_STALL:
                        r = number("--stall-timeout", optarg, 10, 86400000, &v);
                        o->limits.stall_timeout_ms = (unsigned)v;
                        break;
                case O_MAXCONN:
                        r = number("--max-connections", optarg, 1, 1u << 22, &v);
                        o->max_connections = (unsigned)v;
                        break;
                case O_HANDSHAKES:
                        r = number("--max-handshakes", optarg, 1, 1u << 22, &v);
                        o->max_handshakes = (unsigned)v;
                        break;
                case O_HELLO_TIMEOUT:
                        r = number("--hello-timeout", optarg, 10, 86400000, &v);
                        o->hello_timeout_ms = (unsigned)v;
                        break;
                case 'v':
                        o->verbose = true;
                        break;
                case 'h':
                        usage(stdout);
                        return 1;
                case 'V':
                        printf("busd %s (protocol %d)\n", BUS_VERSION, BUS_PROTOCOL_VERSION);
                        return 1;
                default:
                        fprintf(stderr, "busd: unknown or incomplete option '%s'\n", argv[optind - 1]);
                        fprintf(stderr, "Try 'busd --help'.\n");
                        return -EINVAL;
                }
                if (r < 0)
                        return r;
        }
        if (optind < argc) {
                fprintf(stderr, "busd: unexpected argument '%s'\nTry 'busd --help'.\n", argv[optind]);
                return -EINVAL;
        }
        return 0;
}
