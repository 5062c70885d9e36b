/* clock-client.c: a small libbus client, as an example.
 *
 * Calls org.example.Clock.get (blocking), starts an asynchronous "sleep"
 * call, listens to clock.tick, and leaves after COUNT ticks through
 * bus_run()/bus_quit().
 *
 *   clock-client [COUNT [ADDRESS]]   (default: 3 ticks; $BUS_ADDRESS, then the user bus)
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"

struct client {
        int ticks, want;
};

static void on_tick(struct bus *bus, const struct bus_event *ev, void *userdata)
{
        struct client *c = userdata;
        struct json_object *iso = NULL;

        json_object_object_get_ex(bus_event_data(ev), "iso", &iso);
        printf("tick %s from %s (pid %d)\n", iso ? json_object_get_string(iso) : "?", ev->sender, (int)ev->pid);
        if (++c->ticks >= c->want)
                bus_quit(bus, 0);
}

static void on_slept(struct bus *bus, const struct bus_reply *reply, void *userdata)
{
        if (reply->error)
                printf("sleep failed: %s: %s\n", reply->code, reply->message);
        else
                printf("sleep answered by %s: %s\n", reply->sender,
                       json_object_to_json_string_ext(reply->result, JSON_C_TO_STRING_PLAIN));
}

int main(int argc, char **argv)
{
        struct client c = { .want = argc > 1 ? atoi(argv[1]) : 3 };
        struct json_object *res = NULL, *params;
        struct bus *bus;
        int r;

        if (bus_open(argc > 2 ? argv[2] : NULL, "clock client", &bus) < 0) {
                fprintf(stderr, "clock-client: %s\n", bus_open_error());
                return 1;
        }
        r = bus_call(bus, "org.example.Clock", "get", NULL, 5000, &res);
        if (r < 0) {
                fprintf(stderr, "clock-client: get: %s (%s)\n", bus_last_error(bus),
                        bus_last_error_code(bus) ? bus_last_error_code(bus) : strerror(-r));
                bus_close(bus);
                return 1;
        }
        printf("get: %s\n", json_object_to_json_string_ext(res, JSON_C_TO_STRING_PLAIN));
        json_object_put(res);

        params = json_tokener_parse("{\"ms\":1500}");
        r = bus_call_async(bus, "org.example.Clock", "sleep", params, BUS_TIMEOUT_DEFAULT, on_slept, NULL, NULL);
        json_object_put(params);
        if (r == 0)
                r = bus_subscribe(bus, "clock.*", on_tick, &c);
        if (r < 0) {
                fprintf(stderr, "clock-client: %s\n", bus_last_error(bus));
                bus_close(bus);
                return 1;
        }
        r = c.want > 0 ? bus_run(bus) : 0;
        if (r < 0)
                fprintf(stderr, "clock-client: %s\n", bus_last_error(bus));
        bus_close(bus); /* a sleep still pending gets its callback with "disconnected" */
        return r < 0 ? 1 : 0;
}
