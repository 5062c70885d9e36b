/* verb_query.c: the verbs that ask the daemon (org.busd) about the bus:
 * `bus ping`, `bus introspect` and `bus status`, each with a text form for
 * terminals and the daemon's JSON otherwise. `bus list` is in verb_list.c. */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "jsonget.h"
#include "jsonnew.h"
#include "table.h"

/* Parses no options but the global ones and checks the operand count.
 * Returns 0, -1 after --help (exit 0), or an exit code. */
static int parse_plain(struct cli *cli, int argc, char **argv, int operands, const char *expected)
{
        int c = cli_getopt(cli, argc, argv, NULL, NULL, false);

        if (c != -1)
                return c == CLI_GETOPT_HELP ? -1 : CLI_EXIT_USAGE;
        if (argc - optind != operands)
                return cli_usage_error(cli, "expected %s", expected);
        return 0;
}

static int run_ping(struct cli *cli, int argc, char **argv)
{
        struct json_object *res = NULL;
        struct bus *bus = NULL;
        char rtt[32];
        int r;

        if ((r = parse_plain(cli, argc, argv, 0, "no arguments")))
                return r < 0 ? CLI_EXIT_OK : r;
        cli_output_setup(cli, true);
        if ((r = cli_connect(cli, "bus ping", &bus)))
                return r;
        long long t0 = cli_now_us();
        r = cli_daemon_call(cli, bus, "ping", NULL, &res);
        snprintf(rtt, sizeof(rtt), "%.3f", (double)(cli_now_us() - t0) / 1000);
        if (r)
                goto out;
        const char *server = jsonget_string_or_null(res, "server");
        if (cli->out.json) {
                struct json_object *o = jsonnew_object();
                json_object_object_add(o, "server", jsonnew_string(server ? server : ""));
                json_object_object_add(o, "address", jsonnew_string(cli->address));
                json_object_object_add(o, "unique", jsonnew_string(bus_unique_id(bus)));
                json_object_object_add(o, "rtt_ms", jsonnew_double_s(atof(rtt), rtt));
                output_json(stdout, &cli->out, o);
                json_object_put(o);
        } else {
                printf("pong from %s at %s in %s ms\n", server ? server : "the daemon", cli->address, rtt);
        }
out:
        json_object_put(res);
        bus_close(bus);
        return r;
}

const struct cli_verb cli_verb_ping = {
        .name = "ping",
        .args = "",
        .summary = "check that the daemon answers",
        .help = "Calls org.busd ping and prints the server version and the round-trip time\n"
                "(as JSON when not on a terminal: server, address, unique, rtt_ms).\n"
                "Exit status 0 means the bus is up.\n",
        .run = run_ping,
};

static void print_method(const struct output *o, struct json_object *m)
{
        const char *name = jsonget_string_or_null(m, "name"), *desc = jsonget_string_or_null(m, "description");
        struct json_object *shape;

        printf("  %s%s%s", output_bold(o), name ? name : "?", output_reset(o));
        if (desc && *desc)
                printf("  %s", desc);
        putchar('\n');
        if (jsonget_member(m, "params", &shape) == JSONGET_OK) {
                char *s = output_json_string(shape);
                printf("      params: %s\n", s ? s : "?");
                free(s);
        }
        if (jsonget_member(m, "result", &shape) == JSONGET_OK) {
                char *s = output_json_string(shape);
                printf("      result: %s\n", s ? s : "?");
                free(s);
        }
}

static int run_introspect(struct cli *cli, int argc, char **argv)
{
        struct json_object *res = NULL, *params, *methods;
        struct bus *bus = NULL;
        int r;

        if ((r = parse_plain(cli, argc, argv, 1, "one NAME (a bus name or unique id)")))
                return r < 0 ? CLI_EXIT_OK : r;
        const char *name = argv[optind];
        if ((r = cli_check_dest(cli, name)))
                return r < 0 ? CLI_EXIT_OK : r;
        cli_output_setup(cli, true);
        if ((r = cli_connect(cli, "bus introspect", &bus)))
                return r;
        params = jsonnew_object();
        json_object_object_add(params, "name", jsonnew_string(name));
        r = cli_daemon_call(cli, bus, "introspect", params, &res);
        json_object_put(params);
        if (r)
                goto out;
        if (cli->out.json) {
                output_json(stdout, &cli->out, res);
                goto out;
        }
        const char *owner = jsonget_string_or_null(res, "owner");
        printf("%s%s%s (owner %s)\n", output_bold(&cli->out), name, output_reset(&cli->out), owner ? owner : "?");
        size_t n = jsonget_array(res, "methods", &methods) == JSONGET_OK ? json_object_array_length(methods) : 0;
        if (n == 0)
                printf("  (no methods declared)\n");
        for (size_t i = 0; i < n; i++)
                print_method(&cli->out, json_object_array_get_idx(methods, i));
out:
        json_object_put(res);
        bus_close(bus);
        return r;
}

const struct cli_verb cli_verb_introspect = {
        .name = "introspect",
        .args = "NAME",
        .summary = "show the methods a name declares",
        .help = "Asks the daemon which methods the owner of NAME (a well-known name or a unique\n"
                "id) has declared, with their descriptions and the shapes of params and result.\n"
                "Declarations are informational: a service may answer other methods too.\n",
        .run = run_introspect,
};

/* Short headers for the status tables' columns, so that they fit a terminal
 * (docs/bus.md, status); other keys are shown upper-cased. */
static const char *const short_headers[][2] = {
        { "connections", "CONNS" },   { "handshakes", "HELLOS" },     { "pending_calls", "PENDING" },
        { "subscriptions", "SUBS" },  { "queue_bytes", "QUEUE" },     { "queue_messages", "QUEUED" },
        { "queued_fds", "FDS" },      { "declared_bytes", "DECL" },   { "held_bytes", "HELD" },
        { "messages_in", "MSGS_IN" }, { "messages_out", "MSGS_OUT" }, { "transport", "TRANSPORT" },
};

static void header_for(const char *key, char *buf, size_t len)
{
        size_t i = 0;

        for (size_t k = 0; k < sizeof(short_headers) / sizeof(short_headers[0]); k++)
                if (strcmp(key, short_headers[k][0]) == 0) {
                        snprintf(buf, len, "%s", short_headers[k][1]);
                        return;
                }
        for (; key[i] && i < len - 1; i++)
                buf[i] = (char)toupper((unsigned char)key[i]);
        buf[i] = 0;
}

static bool is_bytes(const char *key)
{
        size_t n = strlen(key);

        return (n >= 5 && strcmp(key + n - 5, "bytes") == 0) || strncmp(key, "bytes_", 6) == 0;
}

/* One number for people: bytes with units. */
static void format_number(const char *key, long long v, char *buf, size_t len)
{
        if (is_bytes(key) && v >= 0)
                output_bytes((unsigned long long)v, buf, len);
        else
                snprintf(buf, len, "%lld", v);
}

/* The cell of row[key]: bytes in units; "used/limit" when the row's quota
 * object has a limit for key. Caller frees; NULL when out of memory. */
static char *status_cell(struct json_object *row, const char *key)
{
        struct json_object *v, *quota, *limit;
        char used[32], max[32], buf[80];

        if (jsonget_member(row, key, &v) != JSONGET_OK)
                return strdup("-");
        if (!json_object_is_type(v, json_type_int))
                return output_cell(v);
        format_number(key, json_object_get_int64(v), used, sizeof(used));
        if (jsonget_member(row, "quota", &quota) == JSONGET_OK && json_object_is_type(quota, json_type_object) &&
            jsonget_member(quota, key, &limit) == JSONGET_OK && json_object_is_type(limit, json_type_int)) {
                format_number(key, json_object_get_int64(limit), max, sizeof(max));
                snprintf(buf, sizeof(buf), "%s/%s", used, max);
                return strdup(buf);
        }
        return strdup(used);
}

/* Prints an array of objects as a table, columns from the first object: a
 * "quota" object becomes the limits of the other cells (used/limit), a
 * "name" column (display names, long) comes last. */
static int print_object_table(const struct output *o, struct json_object *arr)
{
        struct json_object *first = json_object_array_get_idx(arr, 0);
        char headers[16][64];
        const char *hp[16];
        const char *keys[16];
        size_t ncols = 0;
        bool has_name = false;
        struct table t;
        int r;

        if (!json_object_is_type(first, json_type_object))
                return 0;
        json_object_object_foreach(first, key, val)
        {
                bool quota = strcmp(key, "quota") == 0 && json_object_is_type(val, json_type_object);
                if (strcmp(key, "name") == 0)
                        has_name = true;
                else if (!quota && ncols < 15)
                        keys[ncols++] = key;
        }
        if (has_name)
                keys[ncols++] = "name";
        for (size_t c = 0; c < ncols; c++) {
                header_for(keys[c], headers[c], sizeof(headers[c]));
                hp[c] = headers[c];
        }
        if ((r = table_init(&t, ncols, hp)) < 0)
                return r;
        for (size_t i = 0; i < json_object_array_length(arr) && r == 0; i++) {
                struct json_object *row = json_object_array_get_idx(arr, i);
                char *cells[16] = { NULL };
                for (size_t c = 0; c < ncols; c++)
                        cells[c] = status_cell(row, keys[c]);
                r = table_add(&t, (const char *const *)cells);
                for (size_t c = 0; c < ncols; c++)
                        free(cells[c]);
        }
        if (r == 0)
                r = table_print(stdout, o, &t);
        table_deinit(&t);
        return r;
}

/* The bridge's links (docs/bridge.md), one row each with the same columns
 * whatever their state. */
static void print_bridge(const struct output *o, struct json_object *res)
{
        static const char *const cols[] = { "link",     "peer",      "state",   "address",    "events_in", "events_out",
                                            "calls_in", "calls_out", "dropped", "duplicates", "last_error" };
        struct json_object *br, *links, *rows;

        if (jsonget_member(res, "bridge", &br) != JSONGET_OK || jsonget_array(br, "links", &links) != JSONGET_OK)
                return;
        const char *bus = jsonget_string_or_null(br, "bus");
        printf("\n%sbridge%s: this bus is %s\n", output_bold(o), output_reset(o), bus ? bus : "?");
        rows = jsonnew_array();
        for (size_t i = 0; i < json_object_array_length(links); i++) {
                struct json_object *l = json_object_array_get_idx(links, i), *row = jsonnew_object(), *v;
                for (size_t c = 0; c < sizeof(cols) / sizeof(cols[0]); c++) {
                        bool has = jsonget_member(l, cols[c], &v) == JSONGET_OK;
                        json_object_object_add(row, cols[c], has ? json_object_get(v) : NULL);
                }
                json_object_array_add(rows, row);
        }
        if (json_object_array_length(rows))
                print_object_table(o, rows);
        json_object_put(rows);
}

static void print_stats(const struct output *o, struct json_object *res)
{
        json_object_object_foreach(res, key, val)
        {
                if (json_object_is_type(val, json_type_array) || json_object_is_type(val, json_type_object))
                        continue;
                char *s = output_cell(val), line[160];
                if (is_bytes(key) && json_object_is_type(val, json_type_int) && json_object_get_int64(val) >= 1024) {
                        char human[32];
                        output_bytes((unsigned long long)json_object_get_int64(val), human, sizeof(human));
                        snprintf(line, sizeof(line), "%-18s %s (%s)", key, human, s ? s : "?");
                } else {
                        snprintf(line, sizeof(line), "%-18s %s%s", key, s ? s : "?",
                                 is_bytes(key) && json_object_is_type(val, json_type_int) ? " B" : "");
                }
                free(s);
                table_put_cell(stdout, o, line, o->width ? o->width : strlen(line), true);
                if (strcmp(key, "uptime_ms") == 0 && json_object_is_type(val, json_type_int)) {
                        long long sec = json_object_get_int64(val) / 1000;
                        if (sec >= 86400)
                                printf(" (%lldd %02lld:%02lld:%02lld)", sec / 86400, sec / 3600 % 24, sec / 60 % 60,
                                       sec % 60);
                        else
                                printf(" (%02lld:%02lld:%02lld)", sec / 3600, sec / 60 % 60, sec % 60);
                }
                putchar('\n');
        }
        json_object_object_foreach(res, k2, v2)
        {
                if (!json_object_is_type(v2, json_type_array) || json_object_array_length(v2) == 0)
                        continue;
                printf("\n%s%s%s:\n", output_bold(o), k2, output_reset(o));
                print_object_table(o, v2);
        }
        print_bridge(o, res);
}

static int run_status(struct cli *cli, int argc, char **argv)
{
        struct json_object *res = NULL;
        struct bus *bus = NULL;
        int r;

        if ((r = parse_plain(cli, argc, argv, 0, "no arguments")))
                return r < 0 ? CLI_EXIT_OK : r;
        cli_output_setup(cli, true);
        if ((r = cli_connect(cli, "bus status", &bus)))
                return r;
        r = cli_daemon_call(cli, bus, "stats", NULL, &res);
        if (r == 0) {
                if (cli->out.json)
                        output_json(stdout, &cli->out, res);
                else
                        print_stats(&cli->out, res);
        }
        json_object_put(res);
        bus_close(bus);
        return r;
}

const struct cli_verb cli_verb_status = {
        .name = "status",
        .args = "",
        .summary = "show the daemon's counters and connections",
        .help = "Calls org.busd stats and prints the counters (uptime, connections, messages,\n"
                "calls, events, drops, errors, ...) and a table of the connections with their\n"
                "queues, the per-uid accounts, the monitors (`bus monitor`: who, with what\n"
                "filter, records and drops), and the bridge's links to other hosts (state,\n"
                "counters, last error); the daemon's JSON when not on a terminal or with --json.\n"
                "This connection (`bus status` itself) is one of those listed.\n",
        .run = run_status,
};
