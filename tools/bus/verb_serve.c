/* verb_serve.c: `bus serve NAME METHOD -- COMMAND...`: options and setup.
 * Owns NAME and answers each call of METHOD by running COMMAND: the loop is
 * serve_loop.c, one command run is serve_job.c. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "bus.h"
#include "buslimits.h"
#include "jsonparse.h"
#include "serve.h"
#include "serve_job.h"

enum {
        OPT_DECLARE = 0x2000,
        OPT_PARAMS_SHAPE,
        OPT_RESULT_SHAPE,
        OPT_JOBS,
        OPT_REPLACE,
        OPT_ALLOW_REPLACEMENT,
        OPT_QUEUE,
        OPT_READY,
};

/* True if cmd names an executable file, directly or through $PATH. */
static bool command_exists(const char *cmd)
{
        const char *path = getenv("PATH");
        char buf[4200];

        if (strchr(cmd, '/'))
                return access(cmd, X_OK) == 0;
        if (!path || !*path)
                path = "/usr/local/bin:/usr/bin:/bin";
        for (const char *p = path;;) {
                const char *end = strchrnul(p, ':');
                int n = (int)(end - p);
                snprintf(buf, sizeof(buf), "%.*s/%s", n ? n : 1, n ? p : ".", cmd);
                if (access(buf, X_OK) == 0)
                        return true;
                if (!*end)
                        return false;
                p = end + 1;
        }
}

/* Signals arrive through a signalfd; fds 0-2 are kept open so that the pipes
 * of the commands never take their numbers. Returns 0 or an exit code. */
static int setup_process(struct serve *s)
{
        sigset_t mask;
        int fd;

        while ((fd = open("/dev/null", O_RDWR | O_CLOEXEC)) >= 0 && fd <= 2)
                fcntl(fd, F_SETFD, 0);
        if (fd > 2)
                close(fd);
        signal(SIGPIPE, SIG_IGN);
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGHUP);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        s->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
        if (s->sigfd < 0) {
                fprintf(stderr, "bus serve: signalfd: %s\n", strerror(errno));
                return CLI_EXIT_INTERNAL;
        }
        return 0;
}

/* Requests the name; returns 0 or an exit code. */
static int own_name(struct serve *s, unsigned flags)
{
        int r = bus_request_name(s->bus, s->name, flags);

        switch (r) {
        case BUS_NAME_PRIMARY_OWNER:
        case BUS_NAME_ALREADY_OWNER:
                return 0;
        case BUS_NAME_IN_QUEUE:
                fprintf(stderr, "bus serve: %s is owned by another connection; waiting in its queue\n", s->name);
                return 0;
        case BUS_NAME_EXISTS:
                fprintf(stderr,
                        "bus serve: %s is owned by another connection (`bus list` shows which; "
                        "--replace takes it over if its owner allows replacement, --queue waits "
                        "for it)\n",
                        s->name);
                return CLI_EXIT_REMOTE;
        default:
                return cli_fail(s->cli, s->bus, s->name, r);
        }
}

struct serve_opts {
        const char *description, *params_shape, *result_shape;
        unsigned flags;
        bool ready;
};

/* Returns 0, -1 after --help (exit 0), or an exit code. */
static int parse_options(struct serve *s, struct serve_opts *o, int argc, char **argv)
{
        static const struct option opts[] = {
                { "declare", required_argument, NULL, OPT_DECLARE },
                { "params-shape", required_argument, NULL, OPT_PARAMS_SHAPE },
                { "result-shape", required_argument, NULL, OPT_RESULT_SHAPE },
                { "jobs", required_argument, NULL, OPT_JOBS },
                { "replace", no_argument, NULL, OPT_REPLACE },
                { "allow-replacement", no_argument, NULL, OPT_ALLOW_REPLACEMENT },
                { "queue", no_argument, NULL, OPT_QUEUE },
                { "ready", no_argument, NULL, OPT_READY },
                { NULL, 0, NULL, 0 },
        };
        struct json_object *shape;
        long v;
        int c, r;

        /* options end at the first operand: the command's own follow it */
        while ((c = cli_getopt(s->cli, argc, argv, NULL, opts, true)) != -1) {
                switch (c) {
                case OPT_DECLARE:
                        o->description = optarg;
                        break;
                case OPT_PARAMS_SHAPE:
                case OPT_RESULT_SHAPE:
                        if ((r = cli_parse_json(s->cli, c == OPT_PARAMS_SHAPE ? "--params-shape" : "--result-shape",
                                                optarg, &shape)))
                                return r;
                        json_object_put(shape);
                        *(c == OPT_PARAMS_SHAPE ? &o->params_shape : &o->result_shape) = optarg;
                        break;
                case OPT_JOBS:
                        if (cli_parse_long(s->cli, "--jobs", optarg, 1, 1024, &v))
                                return CLI_EXIT_USAGE;
                        s->max_jobs = (unsigned)v;
                        break;
                case OPT_REPLACE:
                        o->flags |= BUS_NAME_REPLACE;
                        break;
                case OPT_ALLOW_REPLACEMENT:
                        o->flags |= BUS_NAME_ALLOW_REPLACEMENT;
                        break;
                case OPT_QUEUE:
                        s->queue = true;
                        break;
                case OPT_READY:
                        o->ready = true;
                        break;
                default:
                        return c == CLI_GETOPT_HELP ? -1 : CLI_EXIT_USAGE;
                }
        }
        if (!s->queue)
                o->flags |= BUS_NAME_NO_QUEUE;
        if (o->description && strlen(o->description) > BUS_MAX_DESCRIPTION)
                return cli_usage_error(s->cli, "--declare: at most %d bytes", BUS_MAX_DESCRIPTION);
        /* operands: NAME METHOD [--] COMMAND... */
        if (argc - optind >= 2 && strcmp(argv[optind + 1], "--") == 0)
                return cli_usage_error(s->cli,
                                       "expected NAME METHOD -- COMMAND [ARGS...]: the METHOD that runs COMMAND "
                                       "is missing before '--' (e.g. bus serve %s run -- %s)",
                                       argv[optind], argc - optind >= 3 ? argv[optind + 2] : "COMMAND");
        if (argc - optind < 3 || (strcmp(argv[optind + 2], "--") == 0 && argc - optind < 4))
                return cli_usage_error(s->cli, "expected NAME METHOD -- COMMAND [ARGS...]");
        s->name = argv[optind];
        s->argv = argv + optind + 2;
        if (strcmp(s->argv[0], "--") == 0)
                s->argv++;
        if ((r = cli_check_name(s->cli, s->name)) || (r = cli_check_method(s->cli, argv[optind + 1])))
                return r;
        if (!command_exists(s->argv[0]))
                return cli_usage_error(s->cli, "command '%s' not found%s", s->argv[0],
                                       strchr(s->argv[0], '/') ? " or not executable" : " in PATH");
        return 0;
}

static int run_serve(struct cli *cli, int argc, char **argv)
{
        struct serve s = { .cli = cli, .max_jobs = 16, .sigfd = -1 };
        struct serve_opts o = { 0 };
        struct json_object *pong = NULL;
        struct pollfd *pfd = NULL;
        struct serve_job **owner = NULL;
        char display[BUS_MAX_DISPLAY_NAME + 1];
        int r;

        list_init(&s.waiting);
        list_init(&s.running);
        if ((r = parse_options(&s, &o, argc, argv)))
                return r < 0 ? CLI_EXIT_OK : r;
        const char *method = argv[optind + 1];
        s.parser = jsonparse_new(BUS_MAX_DEPTH - 1);
        pfd = calloc(2 + 3 * (size_t)s.max_jobs, sizeof(*pfd));
        owner = calloc(2 + 3 * (size_t)s.max_jobs, sizeof(*owner));
        if (!s.parser || !pfd || !owner) {
                r = CLI_EXIT_INTERNAL;
                goto out;
        }
        if ((r = setup_process(&s)))
                goto out;
        snprintf(display, sizeof(display), "bus serve %s", s.name);
        if ((r = cli_connect(cli, display, &s.bus)))
                goto out;
        s.max_message = bus_max_message(s.bus);
        r = bus_add_method(s.bus, method, o.description, o.params_shape, o.result_shape, serve_on_call, &s);
        if (r < 0) {
                r = cli_fail(cli, s.bus, method, r);
                goto out;
        }
        bus_on_name(s.bus, serve_on_name, &s);
        if ((r = own_name(&s, o.flags)))
                goto out;
        /* a round trip: the daemon has now handled the declaration too */
        if ((r = cli_daemon_call(cli, s.bus, "ping", NULL, &pong)))
                goto out;
        if (o.ready) {
                fputs("ready\n", stderr);
                fflush(stderr);
        }
        r = serve_loop(&s, pfd, owner);
        serve_stop_all(&s);
out:
        json_object_put(pong);
        bus_close(s.bus);
        if (s.sigfd >= 0)
                close(s.sigfd);
        jsonparse_free(s.parser);
        free(pfd);
        free(owner);
        return r;
}

const struct cli_verb cli_verb_serve = {
        .name = "serve",
        .args = "NAME METHOD -- COMMAND [ARGS...]",
        .summary = "answer calls of NAME.METHOD by running COMMAND",
        .help = "Owns the well-known NAME and answers each call of METHOD by running COMMAND\n"
                "with the call's params (JSON, one line) on its standard input. Its standard\n"
                "output is the result: parsed as JSON when it is JSON, otherwise sent as a JSON\n"
                "string without trailing newlines; no output is null. A non-zero exit status\n"
                "answers the error `command_failed` with the status and the last line of its\n"
                "standard error. Calls run concurrently (see --jobs); the command gets\n"
                "BUS_METHOD, BUS_DEST, BUS_SENDER, BUS_SENDER_UID, BUS_SENDER_GID,\n"
                "BUS_SENDER_PID, BUS_ONEWAY (one-way calls) and BUS_ADDRESS in its environment.\n"
                "Runs until SIGINT/SIGTERM/SIGHUP; commands still running then get SIGTERM.\n"
                "\n"
                "Serve options:\n"
                "      --declare TEXT  description of METHOD for `bus introspect`\n"
                "      --params-shape JSON, --result-shape JSON\n"
                "                      shapes of params and result for `bus introspect`\n"
                "      --jobs N        commands running at once (default 16); more calls wait\n"
                "  -t, --timeout MS    kill a command (its process group) after MS and answer\n"
                "                      command_failed (default: no limit)\n"
                "      --allow-replacement  let another `bus serve --replace` take NAME over\n"
                "      --replace       take NAME over if its owner allows replacement\n"
                "      --queue         wait in NAME's queue if it is owned (else exit 1)\n"
                "      --ready         print `ready` on stderr once NAME is owned and METHOD\n"
                "                      declared\n",
        .run = run_serve,
};
