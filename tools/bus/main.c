/* main.c: the `bus` command-line tool: global options, the verb table, help
 * and dispatch. Each verb lives in verb_*.c; nothing here talks to the bus. */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buslimits.h"

static const struct cli_verb *const verbs[] = {
        &cli_verb_call,       &cli_verb_publish, &cli_verb_listen,  &cli_verb_wait, &cli_verb_serve,  &cli_verb_list,
        &cli_verb_introspect, &cli_verb_status,  &cli_verb_metrics, &cli_verb_ping, &cli_verb_policy, &cli_verb_monitor,
};
#define NVERBS (sizeof(verbs) / sizeof(verbs[0]))

enum {
        OPT_SYSTEM = 0x1000,
        OPT_TEXT,
        OPT_COLOR,
        OPT_FULL,
};

static const struct option global_longopts[] = {
        { "address", required_argument, NULL, 'a' },
        { "system", no_argument, NULL, OPT_SYSTEM },
        { "seqpacket", no_argument, NULL, 'S' },
        { "timeout", /* vocab: an option */ required_argument, NULL, 't' },
        { "json", no_argument, NULL, 'j' },
        { "text", no_argument, NULL, OPT_TEXT },
        { "pretty", no_argument, NULL, 'p' },
        { "compact", no_argument, NULL, 'c' },
        { "color", required_argument, NULL, OPT_COLOR },
        { "colour", required_argument, NULL, OPT_COLOR },
        { "full", no_argument, NULL, OPT_FULL },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
};
static const char global_shortopts[] = "a:St:jpchV";

static const char global_options_help[] =
        "Options (before or after the verb):\n"
        "  -a, --address ADDR  the bus: unix:/path, seqpacket:/path or /path\n"
        "                      (default: $BUS_ADDRESS, else the user bus)\n"
        "      --system        the system bus, unix:/run/busd/bus\n"
        "  -S, --seqpacket     use the bus's seqpacket socket (PATH.seq)\n"
        "  -t, --timeout TIME  how long to wait: milliseconds, or 500ms, 5s, 1min\n"
        "                      (call, queries: for the connection and the answer,\n"
        "                      default 25s; listen: how long to listen; wait: for\n"
        "                      the names or the event; serve: command time limit)\n"
        "  -j, --json          JSON output, also on a terminal\n"
        "      --text          text output (tables), also when piped\n"
        "  -p, --pretty        indented JSON\n"
        "  -c, --compact       one-line JSON\n"
        "      --color WHEN    auto (default), always or never; NO_COLOR is honoured\n"
        "      --full          tables as wide as their cells (on a terminal they are\n"
        "                      fitted to its width, $COLUMNS, and long cells cut)\n"
        "  -h, --help          this help; `bus VERB --help` for a verb\n"
        "  -V, --version       print the version\n";

static const char exit_help[] =
        "Exit status:\n"
        "   0  success                      68  cannot connect (is busd running?)\n"
        "   1  the remote side answered     69  no connection owns the name\n"
        "      with an error                70  internal error\n"
        "  64  usage error                  74  connection to the bus lost\n"
        "  65  invalid JSON argument        75  timeout\n"
        "  76  the address is not a busd    77  permission denied\n";

static void print_help(void)
{
        printf("Usage: bus [OPTIONS] VERB [ARGS...]\n\nTalk to a busd message bus.\n\nVerbs:\n");
        for (size_t i = 0; i < NVERBS; i++) {
                char head[64];
                snprintf(head, sizeof(head), "%s %s", verbs[i]->name, verbs[i]->args);
                if (strlen(head) >= 30)
                        printf("  %s\n  %-30s %s\n", head, "", verbs[i]->summary);
                else
                        printf("  %-30s %s\n", head, verbs[i]->summary);
        }
        printf("\n%s\n%s\nSee bus(1) (docs/bus.md) for details.\n", global_options_help, exit_help);
}

static void print_verb_help(const struct cli_verb *v)
{
        printf("Usage: bus %s [OPTIONS] %s\n\n%c%s.\n\n%s\n%s", v->name, v->args, toupper(v->summary[0]),
               v->summary + 1, v->help, global_options_help);
}

int cli_usage_error(const struct cli *cli, const char *fmt, ...)
{
        va_list ap;

        fprintf(stderr, "bus%s%s: ", cli->verb ? " " : "", cli->verb ? cli->verb->name : "");
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, "\nTry 'bus %s%s--help'.\n", cli->verb ? cli->verb->name : "", cli->verb ? " " : "");
        return CLI_EXIT_USAGE;
}

int cli_parse_long(const struct cli *cli, const char *opt, const char *arg, long min, long max, long *ret)
{
        char *end;
        long v;

        errno = 0;
        v = strtol(arg, &end, 10);
        if (errno || end == arg || *end || v < min || v > max)
                return cli_usage_error(cli, "%s wants a number from %ld to %ld, not '%s'", opt, min, max, arg);
        *ret = v;
        return 0;
}

int cli_parse_duration(const struct cli *cli, const char *opt, const char *arg, int *ret_ms)
{
        static const struct {
                const char *unit;
                double ms;
        } units[] = { { "", 1 }, { "ms", 1 }, { "s", 1000 }, { "sec", 1000 }, { "min", 60000 }, { "h", 3600000 } };
        const double max = 24.0 * 3600 * 1000;
        char *end;
        double v;

        errno = 0;
        v = strtod(arg, &end);
        if (errno == 0 && end != arg && isdigit((unsigned char)arg[0]))
                for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
                        if (strcmp(end, units[i].unit) != 0)
                                continue;
                        double ms = v * units[i].ms;
                        if (ms < 0.5 || ms > max)
                                break;
                        *ret_ms = (int)(ms + 0.5);
                        return 0;
                }
        return cli_usage_error(cli,
                               "%s wants a time from 1 ms to 24 h: a number of milliseconds or a number with a "
                               "unit (500ms, 5s, 1.5min, 2h), not '%s'",
                               opt, arg);
}

int cli_timeout_left(const struct cli *cli)
{
        if (cli->timeout_ms <= 0)
                return -1;
        long long left = cli->start_ms + cli->timeout_ms - cli_now_ms();
        return left > 1 ? (int)left : 1;
}

long long cli_now_us(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

long long cli_now_ms(void)
{
        return cli_now_us() / 1000;
}

void cli_output_setup(struct cli *cli, bool text_form)
{
        output_resolve(&cli->out, cli->format, cli->layout, cli->color, text_form, false);
        output_fit(&cli->out, cli->full);
}

/* Applies a global option. Returns 0, CLI_GETOPT_HELP or CLI_GETOPT_ERROR. */
static int global_option(struct cli *cli, int c, const char *arg)
{
        switch (c) {
        case 'a':
                cli->address_opt = arg;
                return 0;
        case OPT_SYSTEM:
                cli->system = true;
                return 0;
        case 'S':
                cli->seqpacket = true;
                return 0;
        case 't':
                if (cli_parse_duration(cli, "--timeout", arg, &cli->timeout_ms))
                        return CLI_GETOPT_ERROR;
                return 0;
        case 'j':
                cli->format = OUTPUT_FORMAT_JSON;
                return 0;
        case OPT_TEXT:
                cli->format = OUTPUT_FORMAT_TEXT;
                return 0;
        case 'p':
                cli->layout = OUTPUT_LAYOUT_PRETTY;
                return 0;
        case 'c':
                cli->layout = OUTPUT_LAYOUT_COMPACT;
                return 0;
        case OPT_COLOR:
                if (strcmp(arg, "auto") == 0)
                        cli->color = OUTPUT_COLOR_AUTO;
                else if (strcmp(arg, "always") == 0)
                        cli->color = OUTPUT_COLOR_ALWAYS;
                else if (strcmp(arg, "never") == 0)
                        cli->color = OUTPUT_COLOR_NEVER;
                else {
                        cli_usage_error(cli, "--color wants auto, always or never, not '%s'", arg);
                        return CLI_GETOPT_ERROR;
                }
                return 0;
        case OPT_FULL:
                cli->full = true;
                return 0;
        case 'h':
                if (cli->verb)
                        print_verb_help(cli->verb);
                else
                        print_help();
                return CLI_GETOPT_HELP;
        case 'V':
                printf("bus (busd) %s, protocol %d\n", BUS_VERSION, BUS_PROTOCOL_VERSION);
                return CLI_GETOPT_HELP;
        }
        return 1; /* not a global option */
}

static bool is_global(int c)
{
        for (const struct option *o = global_longopts; o->name; o++)
                if (o->val == c)
                        return true;
        return false;
}

int cli_getopt(struct cli *cli, int argc, char **argv, const char *shortopts, const struct option *longopts,
               bool stop_at_operand)
{
        size_t n = 0;

        /* merge; verbs use letters and values that no global option uses */
        for (const struct option *o = longopts; o && o->name && n < 20; o++)
                cli->longopts[n++] = *o;
        for (const struct option *o = global_longopts; o->name; o++)
                cli->longopts[n++] = *o;
        memset(&cli->longopts[n], 0, sizeof(cli->longopts[n]));
        snprintf(cli->shortopts, sizeof(cli->shortopts), "%s:%s%s", stop_at_operand ? "+" : "",
                 shortopts ? shortopts : "", global_shortopts);
        opterr = 0;

        for (;;) {
                int c = getopt_long(argc, argv, cli->shortopts, cli->longopts, NULL);

                if (c == '?' || c == ':') {
                        const char *arg = optind > 0 && optind <= argc ? argv[optind - 1] : "";
                        char shortname[3] = { '-', (char)optopt, 0 };
                        if (strncmp(arg, "--", 2) != 0 && optopt > 0 && optopt < 0x100)
                                arg = shortname;
                        if (c == '?' && arg[0] == '-' && isdigit((unsigned char)arg[1]))
                                cli_usage_error(cli,
                                                "unknown option '%s' (put `--` before a JSON argument "
                                                "that starts with '-')",
                                                arg);
                        else if (c == '?')
                                cli_usage_error(cli, "unknown option '%s'", arg);
                        else
                                cli_usage_error(cli, "option '%s' needs an argument", arg);
                        return CLI_GETOPT_ERROR;
                }
                if (c == -1 || !is_global(c))
                        return c;
                int r = global_option(cli, c, optarg);
                if (r)
                        return r;
        }
}

int cli_getopt_exit(int c)
{
        return c == CLI_GETOPT_HELP ? CLI_EXIT_OK : CLI_EXIT_USAGE;
}

static const struct cli_verb *find_verb(const char *name)
{
        for (size_t i = 0; i < NVERBS; i++)
                if (strcmp(verbs[i]->name, name) == 0)
                        return verbs[i];
        return NULL;
}

int main(int argc, char **argv)
{
        struct cli cli = { .timeout_ms = -1, .start_ms = cli_now_ms() };
        int c;

        optind = 0;
        c = cli_getopt(&cli, argc, argv, NULL, NULL, true);
        if (c != -1)
                return cli_getopt_exit(c);
        if (optind >= argc) {
                fprintf(stderr, "bus: missing verb:");
                for (size_t i = 0; i < NVERBS; i++)
                        fprintf(stderr, " %s", verbs[i]->name);
                fprintf(stderr, ".\nTry 'bus --help'.\n");
                return CLI_EXIT_USAGE;
        }
        const char *name = argv[optind];
        if (strcmp(name, "help") == 0) {
                const struct cli_verb *v = optind + 1 < argc ? find_verb(argv[optind + 1]) : NULL;
                if (optind + 1 < argc && !v)
                        return cli_usage_error(&cli, "no verb '%s'", argv[optind + 1]);
                if (v)
                        print_verb_help(v);
                else
                        print_help();
                return CLI_EXIT_OK;
        }
        cli.verb = find_verb(name);
        if (!cli.verb) {
                fprintf(stderr, "bus: no verb '%s'. Verbs:", name);
                for (size_t i = 0; i < NVERBS; i++)
                        fprintf(stderr, " %s", verbs[i]->name);
                fprintf(stderr, ".\nTry 'bus --help'.\n");
                return CLI_EXIT_USAGE;
        }
        int vargc = argc - optind;
        char **vargv = argv + optind;
        optind = 0;
        int r = cli.verb->run(&cli, vargc, vargv);
        if (fflush(stdout) != 0 && r == CLI_EXIT_OK) {
                fprintf(stderr, "bus: cannot write the output: %s\n", strerror(errno));
                r = CLI_EXIT_INTERNAL;
        }
        return r;
}
