/* name.c: well-known names: request and release (blocking requests to the
 * daemon), the name_acquired / name_lost notifications, and the names this
 * bus holds — owns or waits for — with the flags it asked with, so that a new
 * connection can request them again. That record follows the daemon's
 * messages in their order of arrival (name_note()), not of dispatch.
 */
#include "bus-internal.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "syntax.h"

struct name_entry {
        struct list link;
        char *name;
        unsigned flags; /* as last requested */
        bool owner;     /* primary owner (else waiting in the queue) */
};

static struct name_entry *held(struct bus *bus, const char *name)
{
        list_for_each(l, &bus->names)
        {
                struct name_entry *e = list_entry(l, struct name_entry, link);
                if (strcmp(e->name, name) == 0)
                        return e;
        }
        return NULL;
}

static void forget(struct name_entry *e)
{
        if (!e)
                return;
        list_unlink(&e->link);
        free(e->name);
        free(e);
}

/* Records name as owned or queued. Out of memory, it is not recorded (and so
 * not requested again after a reconnection): nothing else depends on it. */
static void hold(struct bus *bus, const char *name, unsigned flags, bool owner)
{
        struct name_entry *e = held(bus, name);

        if (!e) {
                e = calloc(1, sizeof(*e));
                if (!e || !(e->name = strdup(name))) {
                        free(e);
                        return;
                }
                list_append(&bus->names, &e->link);
        }
        e->flags = flags;
        e->owner = owner;
}

void name_note(struct bus *bus, struct inmsg *m)
{
        struct name_entry *e;

        switch (m->type) {
        case INMSG_NAME_ACQUIRED:
                if ((e = held(bus, m->name)))
                        e->owner = true;
                return;
        case INMSG_NAME_LOST:
                /* the daemon queues a replaced owner unless it asked not to be */
                if ((e = held(bus, m->name)) && (e->flags & BUS_NAME_NO_QUEUE))
                        forget(e);
                else if (e)
                        e->owner = false;
                return;
        case INMSG_REPLY:
                break;
        default:
                return;
        }
        if (!bus->name_req_id || !inmsg_answers(m, bus->name_req_id))
                return;
        struct json_object *st = inmsg_member(m, "status");
        const char *status = json_object_is_type(st, json_type_string) ? json_object_get_string(st) : "";
        if (bus->name_req_release)
                forget(held(bus, bus->name_req));
        else if (strcmp(status, "primary_owner") == 0 || strcmp(status, "already_owner") == 0)
                hold(bus, bus->name_req, bus->name_req_flags, true);
        else if (strcmp(status, "in_queue") == 0)
                hold(bus, bus->name_req, bus->name_req_flags, false);
        else if (strcmp(status, "exists") == 0)
                forget(held(bus, bus->name_req)); /* a queued connection asking with NO_QUEUE left the queue */
}

int name_for_each(struct bus *bus, int (*fn)(struct bus *bus, const char *name, unsigned flags, void *ud), void *ud)
{
        list_for_each(l, &bus->names)
        {
                struct name_entry *e = list_entry(l, struct name_entry, link);
                int r = fn(bus, e->name, e->flags, ud);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Writes the members of a request_name after type and id. */
static void request_members(struct outmsg *m, const char *name, unsigned flags)
{
        outmsg_string(m, "name", name);
        if (flags & BUS_NAME_ALLOW_REPLACEMENT)
                outmsg_bool(m, "allow_replacement", true);
        if (flags & BUS_NAME_REPLACE)
                outmsg_bool(m, "replace", true);
        if (flags & BUS_NAME_NO_QUEUE)
                outmsg_bool(m, "queue", false);
}

int name_send_request(struct bus *bus, uint64_t id, const char *name, unsigned flags)
{
        struct outmsg m;

        outmsg_begin(&m, &bus->t, (int)bus->limits.max_depth, "request_name");
        outmsg_uint(&m, "id", id);
        request_members(&m, name, flags);
        return outmsg_end(&m, bus->limits.max_message);
}

int name_restored(struct bus *bus, const char *name, const char *status)
{
        struct name_entry *e = held(bus, name);

        if (!e)
                return 0; /* released meanwhile */
        if (status && (strcmp(status, "primary_owner") == 0 || strcmp(status, "already_owner") == 0)) {
                if (e->owner)
                        return 0;
                e->owner = true;
                return 1;
        }
        bool was_owner = e->owner;
        if (status && strcmp(status, "in_queue") == 0)
                e->owner = false;
        else
                forget(e); /* not queued ("exists"), or refused */
        return was_owner ? -1 : 0;
}

int name_forget(struct bus *bus, const char *name)
{
        struct name_entry *e = held(bus, name);

        if (!e)
                return -ESRCH;
        forget(e);
        return 0;
}

void name_free_all(struct bus *bus)
{
        struct list *l;

        while ((l = list_first(&bus->names)))
                forget(list_entry(l, struct name_entry, link));
}

/* Sends request_name/release_name and returns the answer's status string
 * through *ret_status (borrowed from *ret, which the caller frees). */
static int request(struct bus *bus, struct outmsg *m, uint64_t id, const char *name, struct inmsg **ret,
                   const char **ret_status)
{
        struct json_object *st;
        struct inmsg *a;
        int r;

        bus->name_req_id = id;
        r = bus__request(bus, m, id, BUS_TIMEOUT_DEFAULT, &a);
        bus->name_req_id = 0;
        if (r < 0)
                return r;
        st = inmsg_member(a, "status");
        if (!json_object_is_type(st, json_type_string)) {
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
        const char *status = NULL; /* set when request() succeeds (gcc -O3 cannot tell) */
        struct inmsg *a = NULL;
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
        request_members(&m, name, flags);
        bus->name_req = name;
        bus->name_req_flags = flags;
        bus->name_req_release = false;
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
        const char *status = NULL; /* set when request() succeeds (gcc -O3 cannot tell) */
        struct inmsg *a = NULL;
        struct outmsg m;
        int r = check_name(bus, name);

        if (r < 0)
                return r;
        if (!bus__connected(bus) && bus->reconnect && bus->connect_fn) {
                reconnect_step(bus, true);
                if (!bus__connected(bus)) {
                        /* between connections: the next one will not request it */
                        if (name_forget(bus, name) < 0)
                                return bus__fail(bus, -ESRCH, NULL, "this connection neither owns nor waits for '%s'",
                                                 name);
                        return 0;
                }
        }
        r = bus__send_begin(bus, &m, "release_name");
        if (r < 0)
                return r;
        uint64_t id = bus__id(bus);
        outmsg_uint(&m, "id", id);
        outmsg_string(&m, "name", name);
        bus->name_req = name;
        bus->name_req_release = true;
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
