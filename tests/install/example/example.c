/* example.c: a program outside the busd tree, built against the installed
 * libbus (tests/install: once with pkg-config, once with find_package).
 *
 *   example ADDRESS
 *
 * Owns a name, checks with the daemon that it owns it, publishes an event to
 * itself and leaves when it arrives. Prints "example: ok" and exits 0, or
 * says what failed and exits 1.
 */
#include <bus.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#define NAME "org.example.InstallTest"

static void on_event(struct bus *bus, const struct bus_event *ev, void *userdata)
{
        int *got = userdata;

        *got = json_object_get_int(bus_event_data(ev));
        bus_quit(bus, 0);
}

static int fail(struct bus *bus, const char *what, int r)
{
        fprintf(stderr, "example: %s failed (%d): %s\n", what, r, bus_last_error(bus) ? bus_last_error(bus) : "");
        bus_close(bus);
        return 1;
}

int main(int argc, char **argv)
{
        struct json_object *params, *res = NULL, *owner = NULL, *data;
        struct bus *bus;
        int got = 0, r;

        if (argc != 2) {
                fprintf(stderr, "usage: example ADDRESS\n");
                return 2;
        }
        if (bus_open(argv[1], "install example", &bus) < 0) {
                fprintf(stderr, "example: %s\n", bus_open_error());
                return 1;
        }
        if ((r = bus_request_name(bus, NAME, 0)) < 0)
                return fail(bus, "bus_request_name", r);

        params = json_object_new_object();
        json_object_object_add(params, "name", json_object_new_string(NAME)); /* steals the string */
        r = bus_call(bus, "org.busd", "owner", params, 5000, &res);
        json_object_put(params);
        if (r < 0)
                return fail(bus, "org.busd owner", r);
        if (!json_object_object_get_ex(res, "owner", &owner) ||
            strcmp(json_object_get_string(owner), bus_unique_id(bus)) != 0) {
                fprintf(stderr, "example: the daemon says %s is owned by %s, not by us (%s)\n", NAME,
                        json_object_to_json_string(res), bus_unique_id(bus));
                json_object_put(res);
                bus_close(bus);
                return 1;
        }
        json_object_put(res);

        if ((r = bus_subscribe(bus, "install.>", on_event, &got)) < 0)
                return fail(bus, "bus_subscribe", r);
        data = json_object_new_int(42);
        r = bus_publish(bus, "install.example", data);
        json_object_put(data);
        if (r < 0)
                return fail(bus, "bus_publish", r);
        if ((r = bus_run(bus)) != 0 || got != 42)
                return fail(bus, "waiting for the event", r);

        printf("example: ok, %s owned by %s, event received\n", NAME, bus_unique_id(bus));
        bus_close(bus);
        return 0;
}
