/* libbus_call.c: a test helper, `libbus_call ADDRESS DEST METHOD [JSON]`:
 * calls DEST.METHOD through libbus, once with bus_call() and once with
 * bus_call_async(), and prints each outcome on a line of its own: the result
 * as compact JSON, or "error CODE". Exit 0 when both came and agree, 1
 * otherwise. For tests in Python that need libbus itself on the calling side
 * (test_bridge_cli.py: BUS/NAME across a real bridge). */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"

struct outcome {
        bool done;
        char line[4096];
};

static void describe(struct outcome *o, int error, const char *code, struct json_object *result)
{
        if (error)
                snprintf(o->line, sizeof(o->line), "error %s", code ? code : strerror(-error));
        else
                snprintf(o->line, sizeof(o->line), "%s",
                         result ? json_object_to_json_string_ext(result, JSON_C_TO_STRING_PLAIN) : "null");
        o->done = true;
}

static void on_reply(struct bus *bus, const struct bus_reply *reply, void *userdata)
{
        describe(userdata, reply->error, reply->code, reply->result);
}

int main(int argc, char **argv)
{
        struct outcome sync = { 0 }, async = { 0 };
        struct json_object *params = NULL, *result = NULL;
        struct bus *bus;
        int r;

        if (argc < 4 || argc > 5) {
                fprintf(stderr, "usage: libbus_call ADDRESS DEST METHOD [JSON]\n");
                return 2;
        }
        if (argc == 5 && !(params = json_tokener_parse(argv[4])) && strcmp(argv[4], "null") != 0) {
                fprintf(stderr, "libbus_call: invalid JSON\n");
                return 2;
        }
        if (bus_open(argv[1], "libbus_call", &bus) < 0) {
                fprintf(stderr, "libbus_call: %s\n", bus_open_error());
                return 2;
        }
        r = bus_call(bus, argv[2], argv[3], params, 10000, &result);
        describe(&sync, r, r ? bus_last_error_code(bus) : NULL, result);
        json_object_put(result);
        r = bus_call_async(bus, argv[2], argv[3], params, 10000, on_reply, &async, NULL);
        if (r < 0)
                describe(&async, r, bus_last_error_code(bus), NULL);
        while (!async.done && r >= 0) {
                r = bus_process(bus);
                if (r == 0)
                        r = bus_wait(bus, -1);
        }
        printf("%s\n%s\n", sync.line, async.line);
        bus_close(bus);
        json_object_put(params);
        return async.done && strcmp(sync.line, async.line) == 0 ? 0 : 1;
}
