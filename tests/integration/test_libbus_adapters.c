/* test_libbus_adapters.c: see test_libbus_adapters.h. */
#include "test_libbus_adapters.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "test_libbus_common.h"

#define CALLS 50
#define EVENTS 10
#define DEADLINE_MS 20000 /* a guard against a loop that never delivers, not a measure */

struct state {
        int answers, no_owner, timeouts, events, reconnects;
        int64_t sum;
};

static void on_square(struct bus *bus, const struct bus_reply *r, void *userdata)
{
        struct state *st = userdata;

        if (r->error == 0) {
                st->answers++;
                st->sum += json_object_get_int64(r->result);
        } else {
                CHECK_STREQ(r->code, "no_owner"); /* only while the service comes back */
                st->no_owner++;
        }
}

static void on_timeout(struct bus *bus, const struct bus_reply *r, void *userdata)
{
        CHECK_EQ_INT(r->error, -ETIMEDOUT);
        ((struct state *)userdata)->timeouts++;
}

static void on_event(struct bus *bus, const struct bus_event *ev, void *userdata)
{
        ((struct state *)userdata)->events++;
}

static void on_reconnect(struct bus *bus, unsigned attempts, unsigned not_restored, void *userdata)
{
        CHECK_EQ_INT(not_restored, 0); /* its name, methods and subscription came back */
        ((struct state *)userdata)->reconnects++;
}

/* Iterates ops's loop until *count reaches want; fails after DEADLINE_MS. */
static void run_until(const struct loop_ops *ops, const int *count, int want, const char *what)
{
        long long until = now_ms() + DEADLINE_MS;

        while (*count < want && now_ms() < until)
                ops->iterate(200);
        if (*count < want)
                fprintf(stderr, "%s: %s: %d of %d\n", ops->name, what, *count, want);
        CHECK(*count >= want);
}

static void call_squares(struct bus *cli, struct state *st)
{
        for (int i = 1; i <= CALLS; i++) {
                struct json_object *p = json_object_new_int(i);
                CHECK_EQ_INT(bus_call_async(cli, "org.example.Adapter", "square", p, 10000, on_square, st, NULL), 0);
                json_object_put(p);
        }
}

static void scenario(const struct loop_ops *ops, struct busdproc *d, bool seq)
{
        const char *addr = harness_addr(d, seq);
        struct bus *svc = open_bus(addr, "adapter service"), *cli = open_bus(addr, "adapter client");
        struct state sst = { 0 }, cst = { 0 };

        fprintf(stderr, "%s over %s\n", ops->name, seq ? "seqpacket" : "stream");
        CHECK_EQ_INT(bus_request_name(svc, "org.example.Adapter", 0), BUS_NAME_PRIMARY_OWNER);
        CHECK_EQ_INT(bus_add_method(svc, "square", NULL, "\"int\"", "\"int\"", method_square, NULL), 0);
        CHECK_EQ_INT(bus_add_method(svc, "never", NULL, NULL, NULL, method_never, NULL), 0);
        CHECK_EQ_INT(bus_subscribe(cli, "adapter.>", on_event, &cst), 0);
        bus_on_reconnect(svc, on_reconnect, &sst);
        bus_on_reconnect(cli, on_reconnect, &cst);
        void *as = ops->attach(svc), *ac = ops->attach(cli);

        /* calls answered by the service in the same loop */
        call_squares(cli, &cst);
        run_until(ops, &cst.answers, CALLS, "answers");
        CHECK_EQ_INT(cst.sum, (int64_t)CALLS * (CALLS + 1) * (2 * CALLS + 1) / 6);
        CHECK_EQ_INT(cst.no_owner, 0);

        /* published outside any callback: only the adapter writes them */
        for (int i = 0; i < EVENTS; i++) {
                struct json_object *data = json_object_new_int(i);
                CHECK_EQ_INT(bus_publish(svc, "adapter.tick", data), 0);
                json_object_put(data);
        }
        run_until(ops, &cst.events, EVENTS, "events");

        /* a timeout fires from the loop's timer */
        CHECK_EQ_INT(bus_call_async(cli, "org.example.Adapter", "never", NULL, 100, on_timeout, &cst, NULL), 0);
        run_until(ops, &cst.timeouts, 1, "timeouts");

        /* the daemon goes away and comes back: both reconnect through the loop */
        harness_kill(d);
        CHECK_EQ_INT(harness_restart(d, NULL), 0);
        run_until(ops, &sst.reconnects, 1, "service reconnects");
        run_until(ops, &cst.reconnects, 1, "client reconnects");
        /* the service asks for its name again on reconnection: calls work
         * again (a call may still find no owner in between: then again) */
        long long until = now_ms() + DEADLINE_MS;
        int before = cst.answers;
        while (cst.answers == before && now_ms() < until) {
                int no_owner = cst.no_owner;
                struct json_object *p = json_object_new_int(3);
                CHECK_EQ_INT(bus_call_async(cli, "org.example.Adapter", "square", p, 10000, on_square, &cst, NULL), 0);
                json_object_put(p);
                while (cst.answers == before && cst.no_owner == no_owner && now_ms() < until)
                        ops->iterate(200);
        }
        CHECK(cst.answers == before + 1);

        ops->detach(ac);
        ops->detach(as);
        ops->iterate(0); /* what a detach leaves to the loop (libuv: close callbacks) */
        CHECK_EQ_INT(bus_release_name(svc, "org.example.Adapter"), 0);
        bus_close(cli);
        bus_close(svc);
}

int adapters_scenario(const struct loop_ops *ops)
{
        struct busdproc d;

        CHECK_EQ_INT(harness_start(&d, NULL), 0);
        scenario(ops, &d, false);
        scenario(ops, &d, true);
        harness_stop(&d);
        fprintf(stderr, "%s: ok\n", ops->name);
        return 0;
}
