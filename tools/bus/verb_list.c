/* verb_list.c: `bus list`: the names on the bus with their owners (or, with
 * --peers, the connections), as a table on a terminal and as the daemon's
 * JSON otherwise. */
#include "cli.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "jsonget.h"
#include "jsonnew.h"
#include "table.h"

enum {
        OPT_PEERS = 0x2000,
};

/* A member of o for display: NULL when it is missing (or JSON null). */
static struct json_object *member(struct json_object *o, const char *key)
{
        struct json_object *v = NULL;

        jsonget_member(o, key, &v);
        return v;
}

/* An array member, or NULL. */
static struct json_object *array_member(struct json_object *o, const char *key)
{
        struct json_object *v = NULL;

        jsonget_array(o, key, &v);
        return v;
}

/* The peer entry with the given unique id, or NULL. */
static struct json_object *find_peer(struct json_object *peers, const char *unique)
{
        for (size_t i = 0; peers && unique && i < json_object_array_length(peers); i++) {
                struct json_object *p = json_object_array_get_idx(peers, i);
                const char *u = jsonget_string_or_null(p, "unique");
                if (u && strcmp(u, unique) == 0)
                        return p;
        }
        return NULL;
}

/* Adds one row; the values are formatted with output_cell(). */
static int add_row(struct table *t, struct json_object *const *values, size_t n)
{
        char *cells[8] = { NULL };
        int r = 0;

        for (size_t i = 0; i < n && i < 8; i++)
                if (!(cells[i] = output_cell(values[i])))
                        r = -ENOMEM;
        if (r == 0)
                r = table_add(t, (const char *const *)cells);
        for (size_t i = 0; i < n && i < 8; i++)
                free(cells[i]);
        return r;
}

static int print_names(const struct output *o, struct json_object *res)
{
        static const char *const headers[] = { "NAME", "OWNER", "PID", "UID", "CONNECTION", "METHODS" };
        struct json_object *names = array_member(res, "names"), *peers = array_member(res, "peers");
        struct table t;
        int r;

        if ((r = table_init(&t, 6, headers)) < 0)
                return r;
        for (size_t i = 0; names && i < json_object_array_length(names) && r == 0; i++) {
                struct json_object *n = json_object_array_get_idx(names, i);
                struct json_object *owner = member(n, "owner");
                struct json_object *peer = find_peer(peers, json_object_get_string(owner));
                struct json_object *row[] = { member(n, "name"),    owner,
                                              member(n, "pid"),     member(n, "uid"),
                                              member(peer, "name"), member(n, "methods") };
                r = add_row(&t, row, 6);
        }
        /* names the daemon can start on demand, while nobody owns them */
        struct json_object *act = array_member(res, "activatable");
        for (size_t i = 0; act && i < json_object_array_length(act) && r == 0; i++) {
                struct json_object *a = json_object_array_get_idx(act, i), *owned = NULL;
                const char *name = jsonget_string_or_null(a, "name");
                for (size_t k = 0; name && names && k < json_object_array_length(names) && !owned; k++) {
                        const char *taken = jsonget_string_or_null(json_object_array_get_idx(names, k), "name");
                        if (taken && strcmp(taken, name) == 0)
                                owned = names;
                }
                if (owned)
                        continue;
                struct json_object *state = jsonnew_string(
                        json_object_get_boolean(member(a, "starting")) ? "(starting)" : "(activatable)");
                struct json_object *row[] = { member(a, "name"), state, NULL, NULL, NULL, NULL };
                r = add_row(&t, row, 6);
                json_object_put(state);
        }
        /* names on other hosts' buses (docs/bridge.md): OWNER is BUS/ */
        struct json_object *remote = array_member(res, "remote");
        for (size_t i = 0; remote && i < json_object_array_length(remote) && r == 0; i++) {
                struct json_object *e = json_object_array_get_idx(remote, i);
                char where[160];
                snprintf(where, sizeof(where), "%s/ (%s hop%s via %s)", json_object_get_string(member(e, "bus")),
                         json_object_get_string(member(e, "hops")),
                         json_object_get_int(member(e, "hops")) == 1 ? "" : "s",
                         json_object_get_string(member(e, "via")));
                struct json_object *owner = jsonnew_string(where);
                struct json_object *row[] = { member(e, "name"), owner, NULL, NULL, NULL, NULL };
                r = add_row(&t, row, 6);
                json_object_put(owner);
        }
        if (r == 0)
                r = table_print(stdout, o, &t);
        if (r == 0 && t.nrows == 1)
                printf("(no well-known names; `bus list --peers` shows the connections)\n");
        table_deinit(&t);
        return r;
}

static int print_peers(const struct output *o, struct json_object *res)
{
        static const char *const headers[] = { "UNIQUE", "PID", "UID", "TRANSPORT", "CONNECTION", "NAMES" };
        struct json_object *peers = array_member(res, "peers");
        struct table t;
        int r;

        if ((r = table_init(&t, 6, headers)) < 0)
                return r;
        for (size_t i = 0; peers && i < json_object_array_length(peers) && r == 0; i++) {
                struct json_object *p = json_object_array_get_idx(peers, i);
                struct json_object *row[] = { member(p, "unique"),    member(p, "pid"),  member(p, "uid"),
                                              member(p, "transport"), member(p, "name"), member(p, "names") };
                r = add_row(&t, row, 6);
        }
        if (r == 0)
                r = table_print(stdout, o, &t);
        table_deinit(&t);
        return r;
}

static int run_list(struct cli *cli, int argc, char **argv)
{
        static const struct option opts[] = {
                { "peers", no_argument, NULL, OPT_PEERS },
                { NULL, 0, NULL, 0 },
        };
        struct json_object *res = NULL;
        struct bus *bus = NULL;
        bool peers = false;
        int c, r;

        while ((c = cli_getopt(cli, argc, argv, NULL, opts, false)) != -1) {
                if (c != OPT_PEERS)
                        return cli_getopt_exit(c);
                peers = true;
        }
        if (optind != argc)
                return cli_usage_error(cli, "expected no arguments");
        cli_output_setup(cli, true);
        if ((r = cli_connect(cli, "bus list", &bus)))
                return r;
        r = cli_daemon_call(cli, bus, "list", NULL, &res);
        if (r == 0) {
                if (cli->out.json)
                        output_json(stdout, &cli->out, res);
                else if ((peers ? print_peers : print_names)(&cli->out, res) < 0)
                        r = CLI_EXIT_INTERNAL;
        }
        json_object_put(res);
        bus_close(bus);
        return r;
}

const struct cli_verb cli_verb_list = {
        .name = "list",
        .args = "",
        .summary = "list the names on the bus and their owners",
        .help = "On a terminal, prints a table of the well-known names with the unique id, pid,\n"
                "uid and display name of each owner and the methods it declared; with --peers,\n"
                "a table of all connections instead. Otherwise (piped, or --json) prints the\n"
                "daemon's answer as JSON: {\"names\": [...], \"peers\": [...], \"activatable\": [...],\n"
                "\"remote\": [...] (names on other hosts' buses, with the bridge)}.\n"
                "Names the daemon can start on demand are listed with the owner\n"
                "(activatable), or (starting) while their service starts.\n"
                "\n"
                "List options:\n"
                "      --peers         list the connections rather than the names\n",
        .run = run_list,
};
