/* verb_metrics.c: `bus metrics`: the daemon's counters (org.busd stats) as
 * OpenMetrics text, rendered by proto/openmetrics.c, the renderer busd's
 * GET /metrics uses too. */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "cli.h"
#include "openmetrics.h"

enum { OPT_PROMETHEUS = 0x2000 };

static int run_metrics(struct cli *cli, int argc, char **argv)
{
        static const struct option opts[] = {
                { "prometheus", no_argument, NULL, OPT_PROMETHEUS },
                { NULL, 0, NULL, 0 },
        };
        enum openmetrics_format f = OPENMETRICS_TEXT;
        struct json_object *res = NULL;
        struct bus *bus = NULL;
        char *text;
        size_t len;
        int c, r;

        while ((c = cli_getopt(cli, argc, argv, NULL, opts, false)) != -1) {
                if (c != OPT_PROMETHEUS)
                        return cli_getopt_exit(c);
                f = OPENMETRICS_PROMETHEUS;
        }
        if (optind != argc)
                return cli_usage_error(cli, "expected no arguments");
        cli_output_setup(cli, false);
        if ((r = cli_connect(cli, "bus metrics", &bus)))
                return r;
        r = cli_daemon_call(cli, bus, "stats", NULL, &res);
        if (r == 0) {
                if (openmetrics_render(res, f, &text, &len) < 0) {
                        fprintf(stderr, "bus metrics: the daemon's stats could not be rendered (out of memory?)\n");
                        r = CLI_EXIT_INTERNAL;
                } else {
                        if (fwrite(text, 1, len, stdout) != len || fflush(stdout) != 0) {
                                fprintf(stderr, "bus metrics: cannot write the output: %s\n", strerror(errno));
                                r = CLI_EXIT_INTERNAL;
                        }
                        free(text);
                }
        }
        json_object_put(res);
        bus_close(bus);
        return r;
}

const struct cli_verb cli_verb_metrics = {
        .name = "metrics",
        .args = "",
        .summary = "print the daemon's counters in the OpenMetrics text format",
        .help = "Calls org.busd stats and prints the counters as OpenMetrics text (the format\n"
                "Prometheus scrapes; the same text busd serves on --metrics-listen, except that\n"
                "here the daemon shows what this connection may see): the daemon's counters,\n"
                "each uid's use and quota, each bridge link's counters.\n"
                "  --prometheus   Prometheus' older text format 0.0.4 instead (what\n"
                "                 `promtool check metrics` reads)\n",
        .run = run_metrics,
};
