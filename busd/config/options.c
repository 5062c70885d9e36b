/* options.c: see options.h. The command line, and reading the configuration
 * file (busd/config/config.c parses it). */
#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buslimits.h"
#include "policyload.h"
#include "readfile.h"

static void usage(FILE *f)
{
        fprintf(f,
                "Usage: busd [OPTIONS]\n"
                "Serve a message bus on AF_UNIX sockets (JSON Lines on SOCK_STREAM, one JSON\n"
                "message per packet on SOCK_SEQPACKET). With no options: the user bus at\n"
                "$XDG_RUNTIME_DIR/busd/bus and bus.seq.\n"
                "\n"
                "  --system                 serve the system bus (/run/busd/bus, bus.seq; mode 0666)\n"
                "  --config FILE            configuration file (default: " CONFIG_SYSTEM_PATH " with\n"
                "                           --system, else $XDG_CONFIG_HOME/" CONFIG_USER_PATH ");\n"
                "                           command-line options override it; SIGHUP re-reads it\n"
                "  --check-config           check the configuration file, then exit 0 or 1\n"
                "  --policy-dir DIR         read policy.json and policy.d/ from DIR (default\n"
                "                           " BUS_POLICY_SYSTEM_DIR " for --system, else\n"
                "                           $XDG_CONFIG_HOME/busd)\n"
                "  --bridge-config FILE     join other hosts' buses as the bridge file says (docs/bridge.md)\n"
                "  --bridge-listen ADDR     accept bridge links on ADDR (0.0.0.0:7400, [::]:7400); repeatable\n"
                "  --bridge-connect ADDR    dial a bridge link to ADDR (10.0.0.2:7400); repeatable\n"
                "  --bridge-peer NAME       the certificate name the other buses must present; repeatable\n"
                "  --bridge-cert FILE, --bridge-key FILE, --bridge-ca FILE\n"
                "                           this bus's certificate and key, and the CA of its peers (PEM)\n"
                "  --services-dir DIR       read activation files from DIR (repeatable; replaces the\n"
                "                           default directories, see busd(8))\n"
                "  --listen ADDRESS         unix:/path (stream) or seqpacket:/path; repeatable;\n"
                "                           replaces the default sockets (ignored when systemd\n"
                "                           passes the sockets)\n"
                "  --metrics-listen ADDR    serve GET /metrics (OpenMetrics) on a Unix socket path or\n"
                "                           a loopback TCP address (127.0.0.1:9101, [::1]:9101)\n"
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

enum {
        O_LISTEN = 256,
        O_READY,
        O_QUEUE,
        O_PENDING,
        O_NAMES,
        O_SUBS,
        O_STALL,
        O_MAXCONN,
        O_HANDSHAKES,
        O_HELLO_TIMEOUT,
        O_CONFIG,
        O_CHECK_CONFIG,
        O_SERVICES_DIR,
        O_POLICY_DIR,
        O_BRIDGE_CONFIG,
        O_BRIDGE_LISTEN,
        O_BRIDGE_CONNECT,
        O_BRIDGE_PEER,
        O_BRIDGE_CERT,
        O_BRIDGE_KEY,
        O_BRIDGE_CA,
        O_METRICS_LISTEN
};

/* Options that set a configuration key: the ranges are the file's (config.c). */
static const struct {
        int opt;
        const char *name;
        const char *key;
} numeric[] = {
        { O_QUEUE, "--queue-bytes", "limits.queue_bytes" },
        { O_PENDING, "--max-pending-calls", "limits.max_pending_calls" },
        { O_NAMES, "--max-names", "limits.max_names" },
        { O_SUBS, "--max-subscriptions", "limits.max_subscriptions" },
        { O_STALL, "--stall-timeout", "limits.stall_timeout_ms" },
        { O_MAXCONN, "--max-connections", "limits.max_connections" },
        { O_HANDSHAKES, "--max-handshakes", "limits.max_handshakes" },
        { O_HELLO_TIMEOUT, "--hello-timeout", "limits.hello_timeout_ms" },
};

static int set_numeric(struct options *o, int c, const char *arg)
{
        for (size_t i = 0; i < sizeof(numeric) / sizeof(numeric[0]); i++) {
                if (numeric[i].opt != c)
                        continue;
                const struct config_key *k = config_key(numeric[i].key);
                unsigned long v;
                int r = number(numeric[i].name, arg, (unsigned long)k->min, (unsigned long)k->max, &v);
                if (r == 0)
                        config_set_number(&o->cli, k, v);
                return r;
        }
        return -ENOENT;
}

static int default_config_path(struct options *o)
{
        const char *home = getenv("HOME");
        struct passwd pw, *res = NULL;
        char pwbuf[1024];

        if ((!home || home[0] != '/') && getpwuid_r(geteuid(), &pw, pwbuf, sizeof(pwbuf), &res) == 0 && res)
                home = res->pw_dir;
        int r = config_default_path(o->system, getenv("XDG_CONFIG_HOME"), home, o->config_path, sizeof(o->config_path));
        if (r == -ENOENT) {
                o->config_path[0] = 0; /* no home: the built-in defaults */
                return 0;
        }
        if (r < 0) {
                fprintf(stderr, "busd: the default configuration path is too long (XDG_CONFIG_HOME?)\n");
                return -EINVAL;
        }
        return 0;
}

int options_parse(struct options *o, int argc, char **argv)
{
        static const struct option longopts[] = {
                { "system", no_argument, NULL, 's' },
                { "config", required_argument, NULL, O_CONFIG },
                { "check-config", no_argument, NULL, O_CHECK_CONFIG },
                { "services-dir", required_argument, NULL, O_SERVICES_DIR },
                { "policy-dir", required_argument, NULL, O_POLICY_DIR },
                { "bridge-config", required_argument, NULL, O_BRIDGE_CONFIG },
                { "bridge-listen", required_argument, NULL, O_BRIDGE_LISTEN },
                { "bridge-connect", required_argument, NULL, O_BRIDGE_CONNECT },
                { "bridge-peer", required_argument, NULL, O_BRIDGE_PEER },
                { "bridge-cert", required_argument, NULL, O_BRIDGE_CERT },
                { "bridge-key", required_argument, NULL, O_BRIDGE_KEY },
                { "bridge-ca", required_argument, NULL, O_BRIDGE_CA },
                { "listen", required_argument, NULL, O_LISTEN },
                { "metrics-listen", required_argument, NULL, O_METRICS_LISTEN },
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
        struct config none;
        unsigned long v = 0;
        int c, r;

        memset(o, 0, sizeof(*o));
        o->ready_fd = -1;
        config_defaults(&o->cli);
        opterr = 0;
        while ((c = getopt_long(argc, argv, "vhV", longopts, NULL)) != -1) {
                r = 0;
                switch (c) {
                case 's':
                        o->system = true;
                        break;
                case O_CONFIG:
                        if (optarg[0] == 0 || strlen(optarg) >= sizeof(o->config_path)) {
                                fprintf(stderr, "busd: --config needs a file name\n");
                                return -EINVAL;
                        }
                        snprintf(o->config_path, sizeof(o->config_path), "%s", optarg);
                        o->config_required = true;
                        break;
                case O_CHECK_CONFIG:
                        o->check_config = true;
                        break;
                case O_POLICY_DIR:
                        if (optarg[0] != '/') {
                                fprintf(stderr, "busd: --policy-dir needs an absolute path, not '%s'\n", optarg);
                                return -EINVAL;
                        }
                        o->policy_dir = optarg;
                        break;
                case O_BRIDGE_CONFIG:
                        o->bridge_config = optarg;
                        break;
                case O_BRIDGE_CERT:
                        o->bridge_cert = optarg;
                        break;
                case O_BRIDGE_KEY:
                        o->bridge_key = optarg;
                        break;
                case O_BRIDGE_CA:
                        o->bridge_ca = optarg;
                        break;
                case O_BRIDGE_LISTEN:
                case O_BRIDGE_CONNECT:
                case O_BRIDGE_PEER: {
                        char **vec = c == O_BRIDGE_LISTEN    ? o->bridge_listen
                                     : c == O_BRIDGE_CONNECT ? o->bridge_connect
                                                             : o->bridge_peers;
                        size_t *n = c == O_BRIDGE_LISTEN    ? &o->nbridge_listen
                                    : c == O_BRIDGE_CONNECT ? &o->nbridge_connect
                                                            : &o->nbridge_peers;
                        size_t max = c == O_BRIDGE_LISTEN ? 8 : 16;
                        if (*n == max) {
                                fprintf(stderr, "busd: at most %zu of that --bridge option\n", max);
                                return -EINVAL;
                        }
                        vec[(*n)++] = optarg;
                        break;
                }
                case O_SERVICES_DIR:
                        if (o->nservices_dirs == sizeof(o->services_dirs) / sizeof(o->services_dirs[0])) {
                                fprintf(stderr, "busd: at most 8 --services-dir directories\n");
                                return -EINVAL;
                        }
                        if (optarg[0] != '/') {
                                fprintf(stderr, "busd: --services-dir needs an absolute path, not '%s'\n", optarg);
                                return -EINVAL;
                        }
                        o->services_dirs[o->nservices_dirs++] = optarg;
                        break;
                case O_LISTEN:
                        if (o->cli.nlisten == OPTIONS_MAX_LISTEN) {
                                fprintf(stderr, "busd: at most %d --listen addresses\n", OPTIONS_MAX_LISTEN);
                                return -EINVAL;
                        }
                        r = address_parse(optarg, &o->cli.listen[o->cli.nlisten]);
                        if (r < 0) {
                                fprintf(stderr,
                                        "busd: bad address '%s': %s (use unix:/absolute/path or "
                                        "seqpacket:/absolute/path)\n",
                                        optarg, r == -ENAMETOOLONG ? "path too long" : "unknown form");
                                return -EINVAL;
                        }
                        o->cli.nlisten++;
                        o->cli.given |= CONFIG_LISTEN;
                        break;
                case O_METRICS_LISTEN: {
                        char why[300];
                        if (metricsaddr_parse(optarg, &o->cli.metrics_listen, why, sizeof(why)) < 0) {
                                fprintf(stderr, "busd: --metrics-listen: %s\n", why);
                                return -EINVAL;
                        }
                        o->cli.given |= CONFIG_METRICS_LISTEN;
                        break;
                }
                case O_READY:
                        r = number("--ready-fd", optarg, 0, INT_MAX, &v);
                        o->ready_fd = (int)v;
                        break;
                case 'v':
                        o->cli.verbose = true;
                        o->cli.given |= CONFIG_VERBOSE;
                        break;
                case 'h':
                        usage(stdout);
                        return 1;
                case 'V':
                        printf("busd %s (protocol %d)\n", BUS_VERSION, BUS_PROTOCOL_VERSION);
                        return 1;
                default:
                        r = set_numeric(o, c, optarg);
                        if (r == -ENOENT) {
                                fprintf(stderr, "busd: unknown or incomplete option '%s'\n", argv[optind - 1]);
                                fprintf(stderr, "Try 'busd --help'.\n");
                                return -EINVAL;
                        }
                        break;
                }
                if (r < 0)
                        return r;
        }
        if (optind < argc) {
                fprintf(stderr, "busd: unexpected argument '%s'\nTry 'busd --help'.\n", argv[optind]);
                return -EINVAL;
        }
        if (!o->config_required && default_config_path(o) < 0)
                return -EINVAL;
        config_defaults(&none);
        options_apply(o, &none, true);
        return 0;
}

int options_read_config(const struct options *o, struct config *ret, char *err, size_t errlen)
{
        const char *path = o->config_path;
        char *text;
        size_t len;
        int r;

        if (!path[0]) {
                config_defaults(ret);
                return 1;
        }
        r = readfile(path, CONFIG_MAX_FILE_SIZE, &text, &len, err, errlen);
        if (r == -ENOENT && !o->config_required) {
                if (errlen > 0)
                        err[0] = 0;
                config_defaults(ret);
                return 1;
        }
        if (r < 0)
                return r; /* err: "path: reason" */
        char why[600];
        r = config_parse(text, len, ret, why, sizeof(why));
        free(text);
        if (r < 0)
                snprintf(err, errlen, "%s: %s", path, why);
        return r < 0 ? r : 0;
}

void options_effective(const struct options *o, const struct config *file, struct config *ret)
{
        config_defaults(ret);
        config_merge(ret, file);
        config_merge(ret, &o->cli);
}

void options_apply(struct options *o, const struct config *file, bool with_listen)
{
        struct config eff;

        o->file = *file;
        options_effective(o, file, &eff);
        o->verbose = eff.verbose;
        o->limits = eff.limits;
        o->max_connections = eff.max_connections;
        o->max_handshakes = eff.max_handshakes;
        o->hello_timeout_ms = eff.hello_timeout_ms;
        if (with_listen) {
                o->listen_given = (eff.given & CONFIG_LISTEN) != 0;
                memcpy(o->listen, eff.listen, sizeof(o->listen));
                o->nlisten = eff.nlisten;
                o->metrics_listen = eff.metrics_listen;
        }
}
