/* name.c: well-known names: request and release (blocking requests to the
 * daemon) and the name_acquired / name_lost notifications. */
#include "bus-internal.h"

#include <errno.h>
#include <json-c/json.h>
#include <string.h>

#include "syntax.h"

/* Sends request_name/release_name and returns the answer's status string
 * through *ret_status (borrowed from *ret, which the caller frees). */
static int request(struct bus *bus, struct outmsg *m, uint64_t id, const char *name, struct inmsg **ret,
                   const char **ret_status)
{
        struct json_object *st;
        struct inmsg *a;
        int r = bus__request(bus, m, id, BUS_TIMEOUT_DEFAULT, &a);

        if (r < 0)
                return r;
        if (!json_object_object_get_ex(a->result, "status", &st) || !json_object_is_type(st, json_type_string)) {
                inmsg_free(a);
                return bus__fail(bus, -EPROTO, NULL, "the daemon's answer about '%s' has no status", name);
        }
        *ret = a;
        *ret_status = json_object_get_string(st);
        return 0;
}

static int check_name(struct bus *bus, const char *name)
{
        if (!name || !syntax_is_name(name, strlen(name)))
                return bus__fail(bus, -EINVAL, NULL, "'%s' is not a valid well-known name", name ? name : "(null)");
        return 0;
}

int bus_request_name(struct bus *bus, const char *name, unsigned flags)
{
        static const struct {
                const char *status;
                enum bus_name_status value;
        } map[] = {
                { "primary_owner", BUS_NAME_PRIMARY_OWNER },
                { "in_queue", BUS_NAME_IN_QUEUE },
                { "exists", BUS_NAME_EXISTS },
                { "already_owner", BUS_NAME_ALREADY_OWNER },
        };
        const unsigned known = BUS_NAME_ALLOW_REPLACEMENT | BUS_NAME_REPLACE | BUS_NAME_NO_QUEUE;
        const char *status;
        struct inmsg *a;
        struct outmsg m;
        int r = check_name(bus, name);

        if (r < 0)
                return r;
        if (flags & ~known)
                return bus__fail(bus, -EINVAL, NULL, "unknown name flags 0x%x", flags & ~known);
        r = bus__send_begin(bus, &m, "request_name");
        if (r < 0)
                return r;
        uint64_t id = bus__id(bus);
        outmsg_uint(&m, "id", id);
        outmsg_string(&m, "name", name);
        if (flags & BUS_NAME_ALLOW_REPLACEMENT)
                outmsg_bool(&m, "allow_replacement", true);
        if (flags & BUS_NAME_REPLACE)
                outmsg_bool(&m, "replace", true);
        if (flags & BUS_NAME_NO_QUEUE)
                outmsg_bool(&m, "queue", false);
        r = request(bus, &m, id, name, &a, &status);
        if (r < 0)
                return r;
        r = 0;
        for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
                if (strcmp(status, map[i].status) == 0)
                        r = (int)map[i].value;
        if (r == 0)
                r = bus__fail(bus, -EPROTO, NULL, "the daemon answered '%.32s' for '%s'", status, name);
        inmsg_free(a);
        return r;
}

int bus_release_name(struct bus *bus, const char *name)
{
        const char *status;
        struct inmsg *a;
        struct outmsg m;
        int r = check_name(bus, name);

        if (r < 0)
                return r;
        r = bus__send_begin(bus, &m, "release_name");
        if (r < 0)
                return r;
        uint64_t id = bus__id(bus);
        outmsg_uint(&m, "id", id);
        outmsg_string(&m, "name", name);
        r = request(bus, &m, id, name, &a, &status);
        if (r < 0)
                return r;
        if (strcmp(status, "released") == 0)
                r = 0;
        else if (strcmp(status, "not_owner") == 0)
                r = bus__fail(bus, -ESRCH, NULL, "this connection neither owns nor waits for '%s'", name);
        else
                r = bus__fail(bus, -EPROTO, NULL, "the daemon answered '%.32s' for '%s'", status, name);
        inmsg_free(a);
        return r;
}

void bus_on_name(struct bus *bus, bus_name_fn fn, void *userdata)
{
        bus->name_fn = fn;
        bus->name_ud = userdata;
}

void name_dispatch(struct bus *bus, const struct inmsg *m)
{
        if (bus->name_fn)
                bus->name_fn(bus, m->name, m->type == INMSG_NAME_ACQUIRED, bus->name_ud);
}
