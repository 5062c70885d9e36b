/* test_libbus_names.c: well-known names through a real busd, over stream and
 * seqpacket: request, queue, release, replacement, the name_acquired and
 * name_lost callbacks, the $bus.name.* events, and refusals. */
#include <errno.h>
#include <json-c/json.h>

#include "test_libbus_common.h"

#define NAME "org.example.Names"

struct log {
        char text[512];
};

static void add(struct log *l, const char *s)
{
        size_t n = strlen(l->text);
        snprintf(l->text + n, sizeof(l->text) - n, "%s ", s);
}

static void on_name(struct bus *bus, const char *name, bool acquired, void *userdata)
{
        char s[300];
        snprintf(s, sizeof(s), "%s:%s", acquired ? "acquired" : "lost", name);
        add(userdata, s);
}

static void on_owner_event(struct bus *bus, const struct bus_event *ev, void *userdata)
{
        struct json_object *o = json_object_object_get(bus_event_data(ev), "old_owner");
        struct json_object *n = json_object_object_get(bus_event_data(ev), "new_owner");
        char s[300];

        CHECK_STREQ(ev->sender, "org.busd");
        snprintf(s, sizeof(s), "%s:%s->%s", ev->topic, o ? json_object_get_string(o) : "null",
                 n ? json_object_get_string(n) : "null");
        add(userdata, s);
}

static const char *owner_of(struct bus *bus, const char *name)
{
        static char owner[64];
        struct json_object *p = json_object_new_object(), *res = NULL;

        json_object_object_add(p, "name", json_object_new_string(name));
        if (bus_call(bus, "org.busd", "owner", p, 10000, &res) < 0)
                snprintf(owner, sizeof(owner), "(%s)", bus_last_error_code(bus));
        else
                snprintf(owner, sizeof(owner), "%s", json_object_get_string(json_object_object_get(res, "owner")));
        json_object_put(p);
        json_object_put(res);
        return owner;
}

static void test_queue(const char *addr, bool seq)
{
        struct bus *a = open_bus(addr, "a"), *b = open_bus(addr, "b"), *c = open_bus(addr, "c"),
                   *w = open_bus(addr, "watcher");
        struct log lb = { "" }, ev = { "" };

        bus_on_name(b, on_name, &lb);
        CHECK_EQ_INT(bus_subscribe(w, "$bus.name.>", on_owner_event, &ev), 0);
        CHECK_EQ_INT(bus_request_name(a, NAME, 0), BUS_NAME_PRIMARY_OWNER);
        CHECK_EQ_INT(bus_request_name(a, NAME, 0), BUS_NAME_ALREADY_OWNER);
        CHECK_EQ_INT(bus_request_name(b, NAME, 0), BUS_NAME_IN_QUEUE);
        CHECK_EQ_INT(bus_request_name(c, NAME, BUS_NAME_NO_QUEUE), BUS_NAME_EXISTS);
        CHECK_STREQ(owner_of(c, NAME), bus_unique_id(a));
        CHECK_EQ_INT(bus_release_name(c, NAME), -ESRCH);

        /* a leaves: b, first in the queue, becomes owner and is told */
        CHECK_EQ_INT(bus_release_name(a, NAME), 0);
        CHECK_EQ_INT(bus_release_name(a, NAME), -ESRCH);
        sync_bus(b);
        CHECK_STREQ(lb.text, ""); /* queued, not dispatched by the blocking call */
        drain(b);
        CHECK_STREQ(lb.text, "acquired:" NAME " ");
        CHECK_STREQ(owner_of(c, NAME), bus_unique_id(b));

        /* b closes: the name is free, as the watcher learns from the daemon's events */
        char ub[32], want[512];
        snprintf(ub, sizeof(ub), "%s", bus_unique_id(b));
        bus_close(b);
        snprintf(want, sizeof(want), "$bus.name.%s:null->%s $bus.name.%s:%s->%s $bus.name.%s:%s->null ", NAME,
                 bus_unique_id(a), NAME, bus_unique_id(a), ub, NAME, ub);
        long long until = now_ms() + 10000;
        while (strcmp(ev.text, want) != 0 && now_ms() < until) {
                CHECK(bus_wait(w, 1000) >= 0);
                CHECK(bus_process(w) >= 0);
        }
        CHECK_STREQ(ev.text, want);
        CHECK_STREQ(owner_of(c, NAME), "(no_owner)");
        bus_close(a);
        bus_close(c);
        bus_close(w);
}

static void test_replace(const char *addr, bool seq)
{
        struct bus *a = open_bus(addr, "a"), *b = open_bus(addr, "b"), *c = open_bus(addr, "c");
        struct log la = { "" };

        bus_on_name(a, on_name, &la);
        CHECK_EQ_INT(bus_request_name(a, NAME, BUS_NAME_ALLOW_REPLACEMENT), BUS_NAME_PRIMARY_OWNER);
        CHECK_EQ_INT(bus_request_name(b, NAME, BUS_NAME_REPLACE), BUS_NAME_PRIMARY_OWNER);
        CHECK_STREQ(owner_of(c, NAME), bus_unique_id(b));
        sync_bus(a);
        drain(a);
        CHECK_STREQ(la.text, "lost:" NAME " ");
        /* a asked to queue (the default), so it is next: b leaves, a is back */
        CHECK_EQ_INT(bus_release_name(b, NAME), 0);
        sync_bus(a);
        drain(a);
        CHECK_STREQ(la.text, "lost:" NAME " acquired:" NAME " ");
        /* b did not allow replacement: c's replace only queues it */
        CHECK_EQ_INT(bus_request_name(b, "org.example.Firm", 0), BUS_NAME_PRIMARY_OWNER);
        CHECK_EQ_INT(bus_request_name(c, "org.example.Firm", BUS_NAME_REPLACE), BUS_NAME_IN_QUEUE);
        CHECK_EQ_INT(bus_request_name(c, "org.example.Firm", BUS_NAME_REPLACE | BUS_NAME_NO_QUEUE), BUS_NAME_EXISTS);
        /* names end with the connection, but the daemon sees a close later:
         * release them now so the next test starts clean */
        CHECK_EQ_INT(bus_release_name(a, NAME), 0);
        CHECK_EQ_INT(bus_release_name(c, "org.example.Firm"), -ESRCH); /* not queueing left the queue */
        CHECK_EQ_INT(bus_release_name(b, "org.example.Firm"), 0);
        bus_close(a);
        bus_close(b);
        bus_close(c);
}

static void test_refusals(const char *addr, bool seq)
{
        struct bus *a = open_bus(addr, "a");

        CHECK_EQ_INT(bus_request_name(a, "org.busd", 0), -EREMOTEIO);
        CHECK_STREQ(bus_last_error_code(a), "reserved");
        CHECK_EQ_INT(bus_request_name(a, "org.busd.Mine", 0), -EREMOTEIO);
        CHECK_STREQ(bus_last_error_code(a), "reserved");
        CHECK_EQ_INT(bus_request_name(a, "nodots", 0), -EINVAL);
        CHECK(bus_last_error_code(a) == NULL);
        CHECK_EQ_INT(bus_request_name(a, "org.9x", 0), -EINVAL);
        CHECK_EQ_INT(bus_release_name(a, "org.example.NeverHad"), -ESRCH);
        /* the connection is still fine */
        CHECK_EQ_INT(bus_request_name(a, NAME, 0), BUS_NAME_PRIMARY_OWNER);
        CHECK_EQ_INT(bus_release_name(a, NAME), 0);
        bus_close(a);
}

static void all(const char *addr, bool seq)
{
        test_queue(addr, seq);
        test_replace(addr, seq);
        test_refusals(addr, seq);
}

int main(void)
{
        run_both("names", all);
        return 0;
}
