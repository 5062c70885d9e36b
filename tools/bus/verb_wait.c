/* verb_wait.c: `bus wait`: until each NAME has an owner, or until one event
 * matching a pattern arrives (--event), within --timeout.
 *
 * Names, race-free: subscribe to `$bus.name.NAME` (the daemon's event for
 * every change of NAME's owner, docs/protocol.md §4.1) first, then ask the
 * daemon for the owner (`org.busd owner`, sent asynchronously). Answers and
 * events are dispatched in the order they arrived, and each says who owns
 * the name at that moment, so the last one seen is the state now: an owner
 * that appears between the subscription and the answer is not missed. After a
 * reconnection (busd restarted), the owners are asked again. */
#include "cli.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "buslimits.h"
#include "errcode.h"
#include "jsonget.h"
#include "jsonnew.h"
#include "syntax.h"

enum {
        OPT_EVENT = 0x2000,
        OPT_READY,
};

struct wait_name {
        struct wait *w;
        const char *name;
        bool known; /* an answer or an event said whether it is owned */
        bool owned;
};

struct wait {
        struct cli *cli;
        struct wait_name *names;
        int nnames;
        char **patterns; /* --event */
        int npatterns;
        bool done;
        int status;
};

static bool all_owned(const struct wait *w)
{
        for (int i = 0; i < w->nnames; i++)
                if (!w->names[i].known || !w->names[i].owned)
                        return false;
        return true;
}

static void check_done(struct wait *w)
{
        if (!w->done && all_owned(w))
                w->done = true;
}

/* `$bus.name.NAME`: {"name", "old_owner", "new_owner": ":5" | null} */
static void on_name_event(struct bus *bus, const struct bus_event *ev, void *userdata)
{
        struct wait_name *n = userdata;
        struct json_object *data = bus_event_data(ev);
        struct json_object *owner = NULL;

        if (!data || jsonget_member(data, "new_owner", &owner) < 0)
                return; /* not the shape documented: ignore, the owner answer decides */
        n->known = true;
        n->owned = json_object_is_type(owner, json_type_string);
        check_done(n->w);
}

/* The answer to `org.busd owner`: {"name", "owner", "queue"} or no_owner. */
static void on_owner(struct bus *bus, const struct bus_reply *reply, void *userdata)
{
        struct wait_name *n = userdata;
        struct wait *w = n->w;
        char what[600];

        if (w->done)
                return;
        if (reply->error == 0) {
                n->known = true;
                n->owned = jsonget_string_or_null(reply->result, "owner") != NULL;
        } else if (reply->error == -EREMOTEIO && reply->code && strcmp(reply->code, ERRCODE_NO_OWNER) == 0) {
                n->known = true;
                n->owned = false;
        } else if (reply->error == -ECONNRESET) {
                return; /* the connection ended: asked again once reconnected */
        } else {
                snprintf(what, sizeof(what), "%s.owner(%s)", BUS_DAEMON_NAME, n->name);
                w->status = reply->error == -EREMOTEIO ? cli_error_fail(w->cli, what, reply->code, reply->message)
                                                       : cli_fail(w->cli, NULL, what, reply->error);
                w->done = true;
                return;
        }
        check_done(w);
}

/* Asks the daemon who owns each name. Returns 0 or an exit code. */
static int ask_owners(struct wait *w, struct bus *bus)
{
        for (int i = 0; i < w->nnames; i++) {
                struct wait_name *n = &w->names[i];
                struct json_object *params = jsonnew_object();
                json_object_object_add(params, "name", jsonnew_string(n->name));
                int r = bus_call_async(bus, BUS_DAEMON_NAME, "owner", params, BUS_TIMEOUT_DEFAULT, on_owner, n, NULL);
                json_object_put(params);
                if (r < 0)
                        return cli_fail(w->cli, bus, "asking for the owners", r);
        }
        return 0;
}

static void on_reconnect(struct bus *bus, unsigned attempts, unsigned not_restored, void *userdata)
{
        struct wait *w = userdata;
        int r;

        /* the subscriptions are back: ask again, the old answers may be stale */
        for (int i = 0; i < w->nnames; i++)
                w->names[i].known = false;
        if ((r = ask_owners(w, bus))) {
                w->status = r;
                w->done = true;
        }
}

static void on_event(struct bus *bus, const struct bus_event *ev, void *userdata)
{
        struct wait *w = userdata;

        if (w->done)
                return;
        w->status = cli_print_event(w->cli, ev);
        w->done = true;
}

/* Prints what did not happen in time. */
static void report_timeout(const struct wait *w)
{
        if (w->npatterns) {
                fprintf(stderr, "bus wait: no event matching %s%s within %d ms\n", w->patterns[0],
                        w->npatterns > 1 ? " (or the other patterns)" : "", w->cli->timeout_ms);
                return;
        }
        fprintf(stderr, "bus wait: no owner within %d ms for", w->cli->timeout_ms);
        for (int i = 0; i < w->nnames; i++)
                if (!w->names[i].owned)
                        fprintf(stderr, " %s", w->names[i].name);
        fputs(" (is the service started? `bus list` shows the names on the bus)\n", stderr);
}

/* Dispatches until done or --timeout. */
static int loop(struct wait *w, struct bus *bus)
{
        long long deadline = w->cli->timeout_ms > 0 ? w->cli->start_ms + w->cli->timeout_ms : 0;
        int r;

        for (;;) {
                if (w->done)
                        return w->status;
                r = bus_process(bus);
                if (w->done)
                        return w->status;
                if (r < 0)
                        return cli_fail(w->cli, bus, "waiting", r);
                if (r > 0)
                        continue;
                int ms = -1;
                if (deadline) {
                        long long left = deadline - cli_now_ms();
                        if (left <= 0) {
                                report_timeout(w);
                                return CLI_EXIT_TIMEOUT;
                        }
                        ms = (int)left;
                }
                r = bus_wait(bus, ms);
                if (r < 0)
                        return cli_fail(w->cli, bus, "waiting", r);
        }
}

/* Subscribes to each name's owner changes, then asks for the owners. */
static int start_names(struct wait *w, struct bus *bus)
{
        char topic[BUS_MAX_NAME + 16];
        int r;

        for (int i = 0; i < w->nnames; i++) {
                snprintf(topic, sizeof(topic), "$bus.name.%s", w->names[i].name);
                r = bus_subscribe(bus, topic, on_name_event, &w->names[i]);
                if (r == -EEXIST) /* the same name twice: one subscription serves both */
                        continue;
                if (r < 0)
                        return cli_fail(w->cli, bus, topic, r);
        }
        bus_on_reconnect(bus, on_reconnect, w);
        return ask_owners(w, bus);
}

static int start_events(struct wait *w, struct bus *bus, bool ready)
{
        for (int i = 0; i < w->npatterns; i++) {
                int r = bus_subscribe(bus, w->patterns[i], on_event, w);
                if (r == -EEXIST)
                        continue;
                if (r < 0)
                        return cli_fail(w->cli, bus, w->patterns[i], r);
        }
        if (ready) {
                fputs("ready\n", stderr);
                fflush(stderr);
        }
        return 0;
}

static int run_wait(struct cli *cli, int argc, char **argv)
{
        static const struct option opts[] = {
                { "event", required_argument, NULL, OPT_EVENT },
                { "ready", no_argument, NULL, OPT_READY },
                { NULL, 0, NULL, 0 },
        };
        struct wait w = { .cli = cli };
        struct bus *bus = NULL;
        bool ready = false;
        int c, r;

        w.patterns = calloc((size_t)argc, sizeof(*w.patterns));
        w.names = calloc((size_t)argc, sizeof(*w.names));
        if (!w.patterns || !w.names) {
                r = CLI_EXIT_INTERNAL;
                goto out;
        }
        while ((c = cli_getopt(cli, argc, argv, NULL, opts, false)) != -1) {
                switch (c) {
                case OPT_EVENT:
                        if ((r = cli_check_pattern(cli, optarg)))
                                goto out;
                        w.patterns[w.npatterns++] = optarg;
                        break;
                case OPT_READY:
                        ready = true;
                        break;
                default:
                        r = cli_getopt_exit(c);
                        goto out;
                }
        }
        for (int i = optind; i < argc; i++) {
                if ((r = cli_check_name(cli, argv[i])))
                        goto out;
                w.names[w.nnames++] = (struct wait_name){ .w = &w, .name = argv[i] };
        }
        if (!w.nnames == !w.npatterns) {
                r = cli_usage_error(cli, w.nnames ? "give either NAMEs or --event PATTERN, not both"
                                                  : "expected NAME... or --event PATTERN");
                goto out;
        }
        if (ready && !w.npatterns) {
                r = cli_usage_error(cli, "--ready goes with --event (names are waited for without a race)");
                goto out;
        }
        output_resolve(&cli->out, cli->format, cli->layout, cli->color, false, true);
        if ((r = cli_connect(cli, "bus wait", &bus)))
                goto out;
        r = w.nnames ? start_names(&w, bus) : start_events(&w, bus, ready);
        if (r == 0)
                r = loop(&w, bus);
out:
        bus_close(bus);
        free(w.patterns);
        free(w.names);
        return r;
}

const struct cli_verb cli_verb_wait = {
        .name = "wait",
        .args = "NAME... | --event PATTERN",
        .summary = "wait until the names have owners, or for one event",
        .help = "With NAMEs: returns (exit 0, printing nothing) as soon as every NAME has an\n"
                "owner on this bus, at once if they have. Race-free: it subscribes to the\n"
                "daemon's `$bus.name.NAME` events before it asks who owns each name. For\n"
                "ExecStartPre=, health checks and tests: bus wait -t 10s org.example.Clock\n"
                "\n"
                "With --event: returns once one event matching PATTERN arrives, printed as\n"
                "`bus listen` prints it.\n"
                "\n"
                "Wait options:\n"
                "      --event PATTERN wait for one event matching PATTERN (may be repeated:\n"
                "                      any of them)\n"
                "      --ready         with --event: print `ready` on stderr once subscribed\n"
                "  -t, --timeout TIME  give up after TIME (500ms, 5s, 1min; a bare number is\n"
                "                      milliseconds) with exit status 75; default: no limit\n",
        .run = run_wait,
};
