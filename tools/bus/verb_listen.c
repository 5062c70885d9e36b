/* verb_listen.c: `bus listen`: subscribe to patterns and print one JSON line
 * per event, flushed at once, for scripts and jq. */
#include "cli.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "jsonnew.h"
#include "syntax.h"

enum {
        OPT_READY = 0x2000,
        OPT_LOSSY,
};

struct listen {
        struct cli *cli;
        char **patterns;
        int npatterns;
        long count; /* 0: forever */
        long seen;
        bool done;
        int status;
};

/* One per pattern: the handler's userdata. */
struct listen_sub {
        struct listen *l;
        int index;
};

/* libbus runs the handler of every matching pattern; the daemon sends each
 * event once. Print it once: from the first of our patterns that matches. */
static bool first_match(const struct listen *l, int index, const char *topic)
{
        for (int i = 0; i < index; i++)
                if (syntax_pattern_matches(l->patterns[i], topic))
                        return false;
        return true;
}

int cli_print_event(struct cli *cli, const struct bus_event *ev)
{
        struct json_object *o, *data;

        data = bus_event_data(ev); /* borrowed; NULL for null, or with errno ENOMEM */
        o = data || errno != ENOMEM ? jsonnew_object() : NULL;
        if (!o)
                return CLI_EXIT_INTERNAL;
        /* json_object_object_add() takes the new values' references */
        json_object_object_add(o, "topic", jsonnew_string(ev->topic));
        json_object_object_add(o, "sender", jsonnew_string(ev->sender ? ev->sender : ""));
        if (ev->remote) {
                /* a sender on another bus: its credentials as that bus stamped them */
                struct json_object *r = jsonnew_object();
                json_object_object_add(r, "bus", jsonnew_string(ev->remote));
                json_object_object_add(r, "uid", jsonnew_int64(ev->remote_uid));
                json_object_object_add(r, "gid", jsonnew_int64(ev->remote_gid));
                json_object_object_add(r, "pid", jsonnew_int64(ev->remote_pid));
                json_object_object_add(o, "remote", r);
        } else {
                json_object_object_add(o, "uid", jsonnew_int64(ev->uid));
                json_object_object_add(o, "gid", jsonnew_int64(ev->gid));
                json_object_object_add(o, "pid", jsonnew_int64(ev->pid));
        }
        json_object_object_add(o, "data", json_object_get(data));
        output_json(stdout, &cli->out, o);
        json_object_put(o);
        if (fflush(stdout) != 0) {
                fprintf(stderr, "bus %s: cannot write the output: %s\n", cli->verb ? cli->verb->name : "",
                        strerror(errno));
                return CLI_EXIT_INTERNAL;
        }
        return 0;
}

static void on_event(struct bus *bus, const struct bus_event *ev, void *userdata)
{
        struct listen_sub *sub = userdata;
        struct listen *l = sub->l;

        if (l->done || !first_match(l, sub->index, ev->topic))
                return;
        l->status = cli_print_event(l->cli, ev);
        if (l->status)
                l->done = true;
        else if (l->count && ++l->seen >= l->count)
                l->done = true;
}

static void on_dropped(struct bus *bus, uint64_t count, uint64_t total, void *userdata)
{
        fprintf(stderr, "bus listen: the bus dropped %llu events (%llu in all): this listener reads too slowly\n",
                (unsigned long long)count, (unsigned long long)total);
}

/* Dispatches events until --count, --timeout or the end of the connection. */
static int loop(struct listen *l, struct bus *bus)
{
        long long deadline = l->cli->timeout_ms > 0 ? l->cli->start_ms + l->cli->timeout_ms : 0;
        int r;

        for (;;) {
                r = bus_process(bus);
                if (l->done)
                        return l->status;
                if (r < 0)
                        return cli_fail(l->cli, bus, "listening", r);
                if (r > 0)
                        continue;
                int wait = -1;
                if (deadline) {
                        long long left = deadline - cli_now_ms();
                        if (left <= 0 && !l->count)
                                return CLI_EXIT_OK; /* listened for --timeout, as asked */
                        if (left <= 0) {
                                fprintf(stderr, "bus listen: %ld of %ld events within %d ms\n", l->seen, l->count,
                                        l->cli->timeout_ms);
                                return CLI_EXIT_TIMEOUT;
                        }
                        wait = (int)left;
                }
                r = bus_wait(bus, wait);
                if (r < 0)
                        return cli_fail(l->cli, bus, "listening", r);
        }
}

static int run_listen(struct cli *cli, int argc, char **argv)
{
        static const struct option opts[] = {
                { "count", required_argument, NULL, 'n' },
                { "ready", no_argument, NULL, OPT_READY },
                { "lossy", no_argument, NULL, OPT_LOSSY },
                { NULL, 0, NULL, 0 },
        };
        struct listen l = { .cli = cli };
        struct listen_sub *subs = NULL;
        struct bus *bus = NULL;
        bool ready = false;
        unsigned flags = 0;
        int c, r;

        while ((c = cli_getopt(cli, argc, argv, "n:", opts, false)) != -1) {
                switch (c) {
                case 'n':
                        if (cli_parse_long(cli, "--count", optarg, 1, INT32_MAX, &l.count))
                                return CLI_EXIT_USAGE;
                        break;
                case OPT_READY:
                        ready = true;
                        break;
                case OPT_LOSSY:
                        flags |= BUS_SUBSCRIBE_LOSSY;
                        break;
                default:
                        return cli_getopt_exit(c);
                }
        }
        if (optind >= argc)
                return cli_usage_error(cli, "expected at least one PATTERN (e.g. 'sensors.>' or '>' for all)");
        l.patterns = argv + optind;
        l.npatterns = argc - optind;
        for (int i = 0; i < l.npatterns; i++)
                if ((r = cli_check_pattern(cli, l.patterns[i])))
                        return r;
        output_resolve(&cli->out, cli->format, cli->layout, cli->color, false, true);
        subs = calloc((size_t)l.npatterns, sizeof(*subs));
        if (!subs)
                return CLI_EXIT_INTERNAL;
        r = cli_connect(cli, "bus listen", &bus);
        if (r)
                goto out;
        bus_on_dropped(bus, on_dropped, &l);
        for (int i = 0; i < l.npatterns; i++) {
                subs[i] = (struct listen_sub){ .l = &l, .index = i };
                r = bus_subscribe_flags(bus, l.patterns[i], flags, on_event, &subs[i]);
                if (r == -EEXIST) /* the same pattern twice */
                        continue;
                if (r < 0) {
                        r = cli_fail(cli, bus, l.patterns[i], r);
                        goto out;
                }
        }
        /* Subscriptions are confirmed: events published from now on arrive. */
        if (ready) {
                fputs("ready\n", stderr);
                fflush(stderr);
        }
        r = loop(&l, bus);
out:
        bus_close(bus);
        free(subs);
        return r;
}

const struct cli_verb cli_verb_listen = {
        .name = "listen",
        .args = "PATTERN...",
        .summary = "print events matching the patterns, one JSON line each",
        .help = "Subscribes to each PATTERN and prints every matching event as one line of JSON,\n"
                "flushed at once:\n"
                "  {\"topic\":\"a.b\",\"sender\":\":3\",\"uid\":1000,\"gid\":1000,\"pid\":42,\"data\":...}\n"
                "A pattern is a topic whose segments may be `*` (any one segment) or, last,\n"
                "`>` (one or more). `>` matches every topic except the daemon's `$` topics,\n"
                "which need an explicit pattern such as '$bus.>'. Quote patterns for the shell.\n"
                "Runs until interrupted, until --count events, or for --timeout.\n"
                "\n"
                "Listen options:\n"
                "  -n, --count N       exit after N events\n"
                "      --ready         print `ready` on stderr once all subscriptions are\n"
                "                      confirmed: events published after that are received\n"
                "      --lossy         let the bus drop events when this listener reads too\n"
                "                      slowly (a warning counts them) instead of holding\n"
                "                      the publishers back\n"
                "  -t, --timeout TIME  listen for TIME (500ms, 5s, 1min; a bare number is\n"
                "                      milliseconds), then exit 0; with --count: exit 75\n"
                "                      if fewer than N events came within TIME\n"
                "  -p, --pretty        indented JSON instead of one line per event\n",
        .run = run_listen,
};
