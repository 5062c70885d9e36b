/* verb_call.c: `bus call` (call a method, print its result) and `bus publish`
 * (publish an event and confirm the daemon took it). */
#include "cli.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus.h"
#include "jsonnew.h"

enum {
        OPT_ONEWAY = 0x2000,
};

/* Errors that answer no call of ours: a refused publish or one-way call. */
struct refusal {
        char *code;
        char *message;
};

static void on_error(struct bus *bus, const char *code, const char *message, void *userdata)
{
        struct refusal *st = userdata;

        if (st->code)
                return; /* report the first */
        st->code = strdup(code ? code : "error");
        st->message = strdup(message ? message : "");
}

/* After a one-way message: a ping proves the daemon has handled it, since it
 * handles a connection's messages in order; bus_process() then dispatches any
 * refusal that came before the ping's answer. Returns the exit code. */
static int confirm(struct cli *cli, struct bus *bus, const char *what, struct refusal *st)
{
        struct json_object *pong = NULL;
        int r;

        r = cli_daemon_call(cli, bus, "ping", NULL, &pong);
        json_object_put(pong);
        if (!r)
                bus_process(bus);
        if (!r && st->code)
                r = cli_error_fail(cli, what, st->code, st->message);
        free(st->code);
        free(st->message);
        return r;
}

static int run_call(struct cli *cli, int argc, char **argv)
{
        static const struct option opts[] = {
                { "oneway", no_argument, NULL, OPT_ONEWAY },
                { "raw", no_argument, NULL, 'r' },
                { NULL, 0, NULL, 0 },
        };
        bool oneway = false, raw = false;
        struct json_object *params = NULL;
        struct bus *bus = NULL;
        int c, r;

        while ((c = cli_getopt(cli, argc, argv, "r", opts, false)) != -1) {
                switch (c) {
                case OPT_ONEWAY:
                        oneway = true;
                        break;
                case 'r':
                        raw = true;
                        break;
                default:
                        return cli_getopt_exit(c);
                }
        }
        int n = argc - optind;
        if (n < 2 || n > 3)
                return cli_usage_error(cli, "expected DEST METHOD [JSON], got %d argument%s", n, n == 1 ? "" : "s");
        const char *dest = argv[optind], *method = argv[optind + 1];
        if ((r = cli_check_dest(cli, dest)) || (r = cli_check_method(cli, method)))
                return r;
        if (n == 3 && (r = cli_parse_json(cli, "params", argv[optind + 2], &params)))
                return r;
        cli_output_setup(cli, false);
        r = cli_connect(cli, "bus call", &bus);
        if (r)
                goto out;

        if (oneway) {
                struct refusal st = { 0 };
                char what[600];
                snprintf(what, sizeof(what), "%s.%s", dest, method);
                bus_on_error(bus, on_error, &st);
                r = bus_call_oneway(bus, dest, method, params);
                r = r < 0 ? cli_fail(cli, bus, what, r) : confirm(cli, bus, what, &st);
                goto out;
        }

        struct cli_reply reply;
        r = cli_call(cli, bus, dest, method, params, &reply);
        if (r)
                goto out;
        if (reply.error) {
                r = cli_reply_fail(cli, &reply, dest, method);
        } else if (raw && json_object_is_type(reply.result, json_type_string)) {
                fwrite(json_object_get_string(reply.result), 1, (size_t)json_object_get_string_len(reply.result),
                       stdout);
                fputc('\n', stdout);
        } else {
                output_json(stdout, &cli->out, reply.result);
        }
        cli_reply_deinit(&reply);
out:
        bus_close(bus);
        json_object_put(params);
        return r;
}

const struct cli_verb cli_verb_call = {
        .name = "call",
        .args = "DEST METHOD [JSON]",
        .summary = "call a method and print its result",
        .help = "Calls METHOD of DEST (a well-known name such as org.example.Clock, a unique id\n"
                "such as :42, or BUS/NAME: NAME on the bus BUS of the bridge, such as\n"
                "busd-b/org.example.Clock) with JSON as params (default null; `-` reads standard\n"
                "input) and prints the result as JSON. An error answer is printed on stderr with\n"
                "its code and message, and the exit status says what kind of failure it was.\n"
                "Put `--` before a JSON argument that starts with '-' (a negative number).\n"
                "\n"
                "Call options:\n"
                "      --oneway        send a one-way call: no answer, print nothing\n"
                "  -r, --raw           print a string result without JSON quotes\n",
        .run = run_call,
};

static int run_publish(struct cli *cli, int argc, char **argv)
{
        struct json_object *data = NULL;
        struct bus *bus = NULL;
        uint64_t delivered = 0, dropped = 0;
        int c, r;

        while ((c = cli_getopt(cli, argc, argv, NULL, NULL, false)) != -1)
                return cli_getopt_exit(c);
        int n = argc - optind;
        if (n < 1 || n > 2)
                return cli_usage_error(cli, "expected TOPIC [JSON], got %d arguments", n);
        const char *topic = argv[optind];
        if ((r = cli_check_topic(cli, topic)))
                return r;
        if (n == 2 && (r = cli_parse_json(cli, "data", argv[optind + 1], &data)))
                return r;
        cli_output_setup(cli, false);
        r = cli_connect(cli, "bus publish", &bus);
        if (r)
                goto out;
        /* the daemon's acknowledgement: a refusal comes back as an error */
        r = bus_publish_acked(bus, topic, data, cli->timeout_ms > 0 ? cli->timeout_ms : BUS_TIMEOUT_DEFAULT, &delivered,
                              &dropped);
        if (r < 0) {
                r = cli_fail(cli, bus, topic, r);
                goto out;
        }
        if (cli->format == OUTPUT_FORMAT_JSON) {
                struct json_object *o = jsonnew_object();
                json_object_object_add(o, "delivered", jsonnew_int64((int64_t)delivered));
                json_object_object_add(o, "dropped", jsonnew_int64((int64_t)dropped));
                output_json(stdout, &cli->out, o);
                json_object_put(o);
        }
        if (isatty(STDERR_FILENO) && delivered == 0 && dropped == 0)
                fprintf(stderr,
                        "bus publish: nobody is subscribed to %s: the event reached no one (a typo in the "
                        "topic? `bus listen '>'` shows what is published)\n",
                        topic);
        else if (isatty(STDERR_FILENO) && dropped > 0)
                fprintf(stderr, "bus publish: %llu of %llu subscribers did not get the event (their queues are full)\n",
                        (unsigned long long)dropped, (unsigned long long)(delivered + dropped));
out:
        bus_close(bus);
        json_object_put(data);
        return r;
}

const struct cli_verb cli_verb_publish = {
        .name = "publish",
        .args = "TOPIC [JSON]",
        .summary = "publish an event",
        .help = "Publishes JSON (default null; `-` reads standard input) as the data of an event\n"
                "on TOPIC (dot-separated segments, e.g. sensors.kitchen.temp). Every connection\n"
                "subscribed to a matching pattern receives it. Exits once the daemon has\n"
                "acknowledged the event. Prints nothing, or with --json the daemon's\n"
                "acknowledgement {\"delivered\": N, \"dropped\": M}: N subscribers got it, M did\n"
                "not (full queues). On a terminal, warns when nobody received it.\n",
        .run = run_publish,
};
