/* main.c: bus-abuse's command line, the daemon under test, the checks made
 * after the flood, and the report. See abuse.h for the parts. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "abuse.h"
#include "address.h"
#include "busdproc.h"

#ifndef BUS_ABUSE_BUSD
#define BUS_ABUSE_BUSD "busd"
#endif

#define DEFAULT_FRAMES 1000000ull
#define SANITIZED_FRAMES 250000ull /* an ASan daemon is about 3x slower */
#define WRAPPED_FRAMES 100000ull   /* under valgrind: 20 times slower or more */
#define DEFAULT_RSS_SLACK_KIB 32768
#define MAX_BUSD_ARGS 16

struct opts {
        const char *busd;
        const char *address;
        const char *busd_args[MAX_BUSD_ARGS + 1];
        size_t nbusd_args;
        uint64_t frames;
        bool frames_given;
        double duration_s;
        unsigned connections, silent;
        bool stream, seqpacket;
        uint64_t seed;
        long rss_slack_kib;
        const char *dump_dir;
        bool verbose;
};

uint64_t now_us(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

long rss_kib(pid_t pid)
{
        return busdproc_rss_kib(pid);
}

static void usage(FILE *f)
{
        fprintf(f,
                "Usage: bus-abuse [OPTIONS]\n"
                "Send busd malformed frames of every class over stream and seqpacket from\n"
                "several connections, check that each gets its error (or that the connection\n"
                "is closed where the protocol says so), while a control client keeps calling\n"
                "a control service and must never fail. Afterwards the daemon's counters must\n"
                "be back to where they started and its memory near its baseline.\n"
                "\n"
                "  --frames N             malformed frames to send in all (default 1000000;\n"
                "                         250000 against a sanitizer build, 100000 when busd runs\n"
                "                         under $BUSD_WRAPPER, e.g. valgrind); 0: no limit\n"
                "  --duration SECONDS     stop after this long (default: no limit)\n"
                "  --connections N        abusing connections per transport (default 4)\n"
                "  --silent N             also N connections per transport that never say hello\n"
                "                         (some with 60 KiB of an unfinished line), opened again\n"
                "                         each time the daemon evicts them or times them out\n"
                "  --transport T          stream, seqpacket or both (default both)\n"
                "  --seed N               random seed (default: from the clock; printed)\n"
                "  --rss-slack KIB        allowed growth of busd's RSS from before to after\n"
                "                         (default %d; 0: do not check)\n"
                "  --busd PATH            daemon binary (default: $BUSD, else the build tree's)\n"
                "  --busd-arg ARG         one more argument for the daemon we start (repeatable)\n"
                "  --address ADDR         use a running bus instead (unix:/path; its .seq sibling\n"
                "                         is the seqpacket socket)\n"
                "  --dump-dir DIR         write each failing batch to DIR (to replay it)\n"
                "  -v, --verbose          progress every 5 s, and the daemon's log\n"
                "  -h, --help             show this help\n"
                "\n"
                "Exit status 0 when every check held, 1 otherwise, 64 for a usage error.\n"
                "Documentation: docs/reliability.md.\n",
                DEFAULT_RSS_SLACK_KIB);
}

static int number(const char *opt, const char *s, double max, double *ret)
{
        char *end;

        errno = 0;
        double v = strtod(s, &end);
        if (errno || end == s || *end || v < 0 || v > max) {
                fprintf(stderr, "bus-abuse: %s needs a number from 0 to %.0f, not '%s'\n", opt, max, s);
                return -EINVAL;
        }
        *ret = v;
        return 0;
}

static int parse_opts(struct opts *o, int argc, char **argv)
{
        enum {
                O_FRAMES = 256,
                O_DURATION,
                O_CONNS,
                O_TRANSPORT,
                O_SEED,
                O_SLACK,
                O_BUSD,
                O_BUSD_ARG,
                O_ADDRESS,
                O_DUMP,
                O_SILENT
        };
        static const struct option longopts[] = {
                { "frames", required_argument, NULL, O_FRAMES },
                { "duration", required_argument, NULL, O_DURATION },
                { "connections", required_argument, NULL, O_CONNS },
                { "transport", required_argument, NULL, O_TRANSPORT },
                { "seed", required_argument, NULL, O_SEED },
                { "rss-slack", required_argument, NULL, O_SLACK },
                { "busd", required_argument, NULL, O_BUSD },
                { "busd-arg", required_argument, NULL, O_BUSD_ARG },
                { "address", required_argument, NULL, O_ADDRESS },
                { "dump-dir", required_argument, NULL, O_DUMP },
                { "silent", required_argument, NULL, O_SILENT },
                { "verbose", no_argument, NULL, 'v' },
                { "help", no_argument, NULL, 'h' },
                { NULL, 0, NULL, 0 },
        };
        double v;
        int c, r;

        memset(o, 0, sizeof(*o));
        o->busd = getenv("BUSD") && *getenv("BUSD") ? getenv("BUSD") : BUS_ABUSE_BUSD;
        o->frames = DEFAULT_FRAMES;
        o->connections = 4;
        o->stream = o->seqpacket = true;
        o->seed = now_us() ^ ((uint64_t)getpid() << 32);
        o->rss_slack_kib = DEFAULT_RSS_SLACK_KIB;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
                r = 0;
                switch (c) {
                case O_FRAMES:
                        r = number("--frames", optarg, 1e15, &v);
                        o->frames = (uint64_t)v;
                        o->frames_given = true;
                        break;
                case O_DURATION:
                        r = number("--duration", optarg, 1e7, &v);
                        o->duration_s = v;
                        if (!o->frames_given)
                                o->frames = 0; /* a duration alone means: until then */
                        break;
                case O_CONNS:
                        r = number("--connections", optarg, 100, &v);
                        o->connections = (unsigned)v;
                        if (r == 0 && v < 1)
                                r = number("--connections", "-1", 100, &v);
                        break;
                case O_TRANSPORT:
                        o->stream = strcmp(optarg, "stream") == 0 || strcmp(optarg, "both") == 0;
                        o->seqpacket = strcmp(optarg, "seqpacket") == 0 || strcmp(optarg, "both") == 0;
                        if (!o->stream && !o->seqpacket) {
                                fprintf(stderr, "bus-abuse: --transport is stream, seqpacket or both\n");
                                r = -EINVAL;
                        }
                        break;
                case O_SEED:
                        r = number("--seed", optarg, 1.8e19, &v);
                        o->seed = (uint64_t)v;
                        break;
                case O_SLACK:
                        r = number("--rss-slack", optarg, 1e9, &v);
                        o->rss_slack_kib = (long)v;
                        break;
                case O_BUSD:
                        o->busd = optarg;
                        break;
                case O_BUSD_ARG:
                        if (o->nbusd_args == MAX_BUSD_ARGS) {
                                fprintf(stderr, "bus-abuse: at most %d --busd-arg\n", MAX_BUSD_ARGS);
                                r = -EINVAL;
                        } else {
                                o->busd_args[o->nbusd_args++] = optarg;
                        }
                        break;
                case O_ADDRESS:
                        o->address = optarg;
                        break;
                case O_DUMP:
                        o->dump_dir = optarg;
                        break;
                case O_SILENT:
                        r = number("--silent", optarg, 100, &v);
                        o->silent = (unsigned)v;
                        break;
                case 'v':
                        o->verbose = true;
                        break;
                case 'h':
                        usage(stdout);
                        return 1;
                default:
                        fprintf(stderr, "bus-abuse: unknown or incomplete option '%s'\nTry 'bus-abuse --help'.\n",
                                argv[optind - 1]);
                        return -EINVAL;
                }
                if (r < 0)
                        return r;
        }
        if (optind < argc) {
                fprintf(stderr, "bus-abuse: unexpected argument '%s'\n", argv[optind]);
                return -EINVAL;
        }
        if (o->frames == 0 && o->duration_s <= 0) {
                fprintf(stderr, "bus-abuse: --frames 0 needs a --duration\n");
                return -EINVAL;
        }
        return 0;
}

/* A daemon built with AddressSanitizer (or BUS_SANITIZE_BUILD=1): fewer frames by default. */
static bool sanitized(const char *busd)
{
        const char *env = getenv("BUS_SANITIZE_BUILD");

        if (env && strcmp(env, "1") == 0)
                return true;
        FILE *f = busd ? fopen(busd, "rb") : NULL;
        if (!f)
                return false;
        static const char marker[] = "__asan_init";
        char buf[65536 + sizeof(marker)];
        size_t keep = 0, n;
        bool found = false;
        while (!found && (n = fread(buf + keep, 1, sizeof(buf) - keep, f)) > 0) {
                n += keep;
                found = memmem(buf, n, marker, sizeof(marker) - 1) != NULL;
                keep = n < sizeof(marker) ? n : sizeof(marker) - 1;
                memmove(buf, buf + n - keep, keep);
        }
        fclose(f);
        return found;
}

/* ---- the daemon's counters ------------------------------------------------------ */

struct snap {
        uint64_t connections, pending_calls, subscriptions, names, held_calls, errors, messages_in, drops;
        uint64_t queued_bytes; /* summed over peers */
        long rss_kib;
};

static int snap(struct client *c, pid_t pid, struct snap *ret)
{
        struct json_object *st = client_daemon_call(c, "stats", 30000), *peers;

        if (!st)
                return -EPROTO;
        memset(ret, 0, sizeof(*ret));
        ret->connections = json_u64(st, "connections");
        ret->pending_calls = json_u64(st, "pending_calls");
        ret->subscriptions = json_u64(st, "subscriptions");
        ret->names = json_u64(st, "names");
        ret->held_calls = json_u64(st, "held_calls");
        ret->errors = json_u64(st, "errors");
        ret->messages_in = json_u64(st, "messages_in");
        ret->drops = json_u64(st, "drops");
        if (json_object_object_get_ex(st, "peers", &peers))
                for (size_t i = 0; i < json_object_array_length(peers); i++)
                        ret->queued_bytes += json_u64(json_object_array_get_idx(peers, i), "queue_bytes");
        json_object_put(st);
        ret->rss_kib = pid > 0 ? rss_kib(pid) : -1;
        return 0;
}

/* ---- checks and report ------------------------------------------------------------ */

static unsigned failed_checks;

static void check(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void check(bool ok, const char *fmt, ...)
{
        va_list ap;

        printf("  [%s] ", ok ? "ok" : "FAILED");
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        printf("\n");
        failed_checks += !ok;
}

static void report_frames(const struct flood_stats *st)
{
        uint64_t tot[T_COUNT] = { 0 };

        printf("frames answered as the protocol says, by class:\n");
        printf("  %-20s %12s %12s\n", "class", "stream", "seqpacket");
        for (int k = 0; k < CL_COUNT; k++) {
                printf("  %-20s %12llu %12llu\n", cls_name((enum cls)k), (unsigned long long)st->frames[T_STREAM][k],
                       (unsigned long long)st->frames[T_SEQPACKET][k]);
                tot[T_STREAM] += st->frames[T_STREAM][k];
                tot[T_SEQPACKET] += st->frames[T_SEQPACKET][k];
        }
        printf("  %-20s %12llu %12llu\n", "all", (unsigned long long)tot[T_STREAM],
               (unsigned long long)tot[T_SEQPACKET]);
        printf("errors received, by code:");
        for (int k = 0; k < C_COUNT; k++)
                if (st->answers[k])
                        printf(" %s %llu", code_name((enum code)k), (unsigned long long)st->answers[k]);
        printf("\n");
        printf("malformed frames: %llu in %.1f s (%.0f/s), %.1f MB sent; replies %llu, frames never answered (blank lines, cancels) %llu\n",
               (unsigned long long)st->malformed, st->elapsed_s, st->elapsed_s > 0 ? st->malformed / st->elapsed_s : 0,
               st->bytes_sent / 1e6, (unsigned long long)st->replies, (unsigned long long)st->no_answer);
        printf("connections: %llu stream, %llu seqpacket opened; %llu closed by the daemon after too_large, "
               "%llu evicted or timed out before hello (of %llu silent ones), %llu closed by us; %llu batches; "
               "%llu unsolicited messages; %llu resets read past\n",
               (unsigned long long)st->connects[T_STREAM], (unsigned long long)st->connects[T_SEQPACKET],
               (unsigned long long)st->fatal_closes, (unsigned long long)st->evicted,
               (unsigned long long)st->silent_connects, (unsigned long long)st->churn_closes,
               (unsigned long long)st->batches, (unsigned long long)st->unsolicited, (unsigned long long)st->resets);
}

static bool log_has_sanitizer_report(const char *path)
{
        static const char *const markers[] = { "ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:" };
        char line[2048];
        bool found = false;
        FILE *f = path[0] ? fopen(path, "r") : NULL;

        if (!f)
                return false;
        while (fgets(line, sizeof(line), f))
                for (size_t i = 0; i < 3; i++)
                        found |= strstr(line, markers[i]) != NULL;
        fclose(f);
        return found;
}

static void print_log(const char *path)
{
        char line[2048];
        FILE *f = path[0] ? fopen(path, "r") : NULL;

        if (!f)
                return;
        while (fgets(line, sizeof(line), f))
                fprintf(stderr, "bus-abuse: daemon log: %s", line);
        fclose(f);
}

int main(int argc, char **argv)
{
        struct opts o;
        struct busdproc proc = { .pid = -1 };
        struct client stats;
        struct control ctl;
        struct control_result svc_res, call_res;
        struct flood_stats st;
        struct snap s0, s1;
        char stream_addr[320], seq_addr[320];
        pid_t pid = -1;
        int r = parse_opts(&o, argc, argv);

        if (r != 0)
                return r > 0 ? 0 : 64;
        setvbuf(stdout, NULL, _IOLBF, 0);
        if (o.address) {
                struct address a, s;
                if (address_parse(o.address, &a) < 0 || a.seqpacket || address_seqpacket_sibling(&a, &s) < 0) {
                        fprintf(stderr, "bus-abuse: --address needs a stream address (unix:/path)\n");
                        return 64;
                }
                address_format(&a, stream_addr, sizeof(stream_addr));
                address_format(&s, seq_addr, sizeof(seq_addr));
        } else {
                if (sanitized(o.busd)) {
                        /* a small quarantine, or RSS would measure ASan's, not busd's */
                        const char *old = getenv("ASAN_OPTIONS");
                        char asan[1024];
                        snprintf(asan, sizeof(asan), "%s%squarantine_size_mb=1", old ? old : "",
                                 old && *old ? ":" : "");
                        setenv("ASAN_OPTIONS", asan, 1);
                        if (!o.frames_given && o.duration_s <= 0) {
                                o.frames = SANITIZED_FRAMES;
                                printf("sanitizer build of busd: %llu frames by default\n",
                                       (unsigned long long)o.frames);
                        }
                }
                const char *wrapper = getenv("BUSD_WRAPPER");
                if (wrapper && *wrapper) {
                        /* busd runs under a wrapper (valgrind: scripts/valgrind.sh): far
                         * slower, and the RSS read is the wrapper's */
                        if (!o.frames_given && o.duration_s <= 0)
                                o.frames = WRAPPED_FRAMES;
                        o.rss_slack_kib = 0;
                        printf("busd runs under $BUSD_WRAPPER (%s): %llu frames by default, no RSS check\n", wrapper,
                               (unsigned long long)o.frames);
                }
                if (busdproc_start(&proc, o.busd, "bus-abuse", o.busd_args, true) < 0)
                        return 1;
                snprintf(stream_addr, sizeof(stream_addr), "%s", proc.stream_addr);
                snprintf(seq_addr, sizeof(seq_addr), "%s", proc.seq_addr);
        }
        printf("bus-abuse: seed %llu, %s%llu frames%s, %u connections per transport, bus %s\n",
               (unsigned long long)o.seed, o.frames ? "" : "no limit on ", (unsigned long long)o.frames,
               o.duration_s > 0 ? " or the duration" : "", o.connections, stream_addr);

        if (client_connect(&stats, stream_addr) < 0 || client_hello(&stats, "abuse stats", NULL, 30000) < 0) {
                fprintf(stderr, "bus-abuse: cannot connect to %s\n", stream_addr);
                busdproc_stop(&proc);
                return 1;
        }
        struct ucred cred;
        socklen_t clen = sizeof(cred);
        if (getsockopt(stats.fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0)
                pid = cred.pid;
        if (snap(&stats, pid, &s0) < 0 || control_start(&ctl, stream_addr, seq_addr, 30000) < 0) {
                fprintf(stderr, "bus-abuse: could not set up\n");
                busdproc_stop(&proc);
                return 1;
        }
        long rss_base = rss_kib(pid);

        struct flood_opts fo = {
                .connections = o.connections,
                .silent = o.silent,
                .frames = o.frames,
                .duration_s = o.duration_s,
                .seed = o.seed,
                .verbose = o.verbose,
                .daemon_pid = pid,
                .control = &ctl,
                .dump_dir = o.dump_dir
        };
        fo.addr[T_STREAM] = o.stream ? stream_addr : NULL;
        fo.addr[T_SEQPACKET] = o.seqpacket ? seq_addr : NULL;
        int fr = flood_run(&fo, &st);
        control_stop(&ctl, &svc_res, &call_res);

        /* the daemon sees our connections end a little later: wait for it */
        bool settled = false;
        uint64_t t_settle = now_us();
        while (!st.daemon_died && now_us() - t_settle < 20000000u) {
                if (snap(&stats, pid, &s1) < 0)
                        break;
                if (s1.connections == s0.connections && s1.pending_calls == 0 && s1.queued_bytes == 0) {
                        settled = true;
                        break;
                }
                usleep(50000);
        }

        report_frames(&st);
        printf("control: %llu calls answered (slowest %.1f ms), the service answered %llu\n",
               (unsigned long long)call_res.calls, call_res.max_lat_us / 1000.0, (unsigned long long)svc_res.calls);
        printf("daemon RSS: %ld KiB before, %llu KiB peak, %ld KiB after\n", rss_base,
               (unsigned long long)st.peak_rss_kib, settled ? s1.rss_kib : -1L);
        printf("checks:\n");
        check(fr == 0 && !st.daemon_died, "the daemon stayed up and the flood ran");
        check(st.failures == 0, "every frame got what the protocol says (%llu wrong or missing answers)",
              (unsigned long long)st.failures);
        check(call_res.ok && call_res.calls > 0, "the control caller never failed (%s)",
              call_res.ok ? "every call answered with its params" : call_res.why);
        check(svc_res.ok, "the control service kept its connection (%s)", svc_res.ok ? "yes" : svc_res.why);
        if (o.frames && !(o.duration_s > 0))
                check(st.malformed >= o.frames, "at least %llu malformed frames sent and answered (%llu)",
                      (unsigned long long)o.frames, (unsigned long long)st.malformed);
        check(settled,
              "connections back to %llu, no pending calls, empty queues (connections %llu, pending %llu, "
              "queued bytes %llu)",
              (unsigned long long)s0.connections, (unsigned long long)s1.connections,
              (unsigned long long)s1.pending_calls, (unsigned long long)s1.queued_bytes);
        if (settled) {
                check(s1.subscriptions == s0.subscriptions && s1.names == s0.names && s1.held_calls == 0,
                      "subscriptions %llu, names %llu, held calls %llu: as before",
                      (unsigned long long)s1.subscriptions, (unsigned long long)s1.names,
                      (unsigned long long)s1.held_calls);
                /* the stats call itself: one message in, no error */
                /* every error we read was counted; the only ones we may not read are
                 * the last words to silent connections (evicted or timed out) */
                uint64_t counted = s1.errors - s0.errors;
                check(counted >= st.router_errors && counted - st.router_errors <= st.silent_connects,
                      "stats counted %llu errors, we received %llu (at most %llu more may have gone to silent "
                      "connections)",
                      (unsigned long long)counted, (unsigned long long)st.router_errors,
                      (unsigned long long)st.silent_connects);
                check(s1.messages_in - s0.messages_in >= st.messages_read,
                      "stats counted %llu messages in, at least the %llu we know it read",
                      (unsigned long long)(s1.messages_in - s0.messages_in), (unsigned long long)st.messages_read);
                check(s1.drops == s0.drops, "no events dropped (%llu)", (unsigned long long)(s1.drops - s0.drops));
                if (o.rss_slack_kib > 0 && rss_base > 0)
                        check(s1.rss_kib - rss_base <= o.rss_slack_kib,
                              "RSS back near its baseline: %+ld KiB (allowed %ld)", s1.rss_kib - rss_base,
                              o.rss_slack_kib);
        }
        client_close(&stats);
        if (proc.pid > 0) {
                int ws = busdproc_stop(&proc);
                check(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "the daemon exited cleanly on SIGTERM (status %d)", ws);
                check(!log_has_sanitizer_report(proc.log_path), "no sanitizer report in the daemon's log");
                if (o.verbose || failed_checks)
                        print_log(proc.log_path);
                busdproc_cleanup(&proc);
        }
        printf("bus-abuse: %s\n", failed_checks ? "FAILED" : "passed");
        return failed_checks ? 1 : 0;
}
