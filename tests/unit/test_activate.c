/* test_activate.c: service activation in the routing core (busd/core/activate.c
 * and its use in router.c), through router_handle() with fake peers: calls to
 * an activatable name nobody owns are held, the service is started once, the
 * held calls reach the owner in order, and they fail at once when the start
 * fails or the deadline passes. */
#include <errno.h>
#include <json-c/json.h>
#include <string.h>

#include "activate.h"
#include "test.h"
#include "test_core_fake.h"

static int started;
static char started_name[256];
static int start_result;

static int on_activate(void *ud, const struct activatable *e)
{
        (void)ud;
        started++;
        snprintf(started_name, sizeof(started_name), "%s", e->name);
        return start_result;
}

static struct activatable table[] = {
        { .name = "org.example.Clock", .timeout_ms = 5000 },
        { .name = "org.example.Slow", .timeout_ms = 100 },
};

static struct router *activation_router(void)
{
        struct router_config cfg = { .pid = 1, .activate = on_activate };

        router_limits_default(&cfg.limits);
        cfg.limits.max_pending_calls = 8;
        struct router *r = router_new(&cfg);
        CHECK(r);
        router_set_time(r, 1000000);
        CHECK_EQ_INT(router_set_activatable(r, table, 2), 0);
        started = 0;
        start_result = 0;
        return r;
}

static void expect_error(struct fake *f, int64_t id, const char *code, const char *text)
{
        struct json_object *e = fake_expect(f, "error");
        CHECK_EQ_INT(jint(e, "id"), id);
        CHECK_STREQ(jstr(e, "code"), code);
        CHECK_CONTAINS(jstr(e, "message"), text);
}

/* Held calls reach the service in order once it owns the name; it is started once. */
static void test_held_until_owned(void)
{
        struct router *r = activation_router();
        struct fake a, b, svc, w;

        fake_hello(r, &a);
        fake_hello(r, &b);
        fake_hello(r, &w);
        fake_in(r, &w, "{\"type\":\"call\",\"id\":1,\"dest\":\"org.busd\",\"method\":\"list\"}");
        struct json_object *l = fake_expect(&w, "reply");
        CHECK_EQ_INT(json_object_array_length(jget(l, "result/activatable")), 2);

        fake_in(r, &a,
                "{\"type\":\"call\",\"id\":7,\"dest\":\"org.example.Clock\",\"method\":\"now\",\"params\":{\"n\":1}}");
        fake_in(r, &b,
                "{\"type\":\"call\",\"id\":8,\"dest\":\"org.example.Clock\",\"method\":\"now\",\"params\":{\"n\":2}}");
        fake_in(r, &a,
                "{\"type\":\"call\",\"oneway\":true,\"id\":9,\"dest\":\"org.example.Clock\",\"method\":\"tick\"}");
        CHECK_EQ_INT(started, 1);
        CHECK_STREQ(started_name, "org.example.Clock");
        fake_expect_none(&a, "held: no answer yet");
        fake_expect_none(&b, "held: no answer yet");

        /* the list says it is starting; stats count the held calls */
        fake_in(r, &w, "{\"type\":\"call\",\"id\":2,\"dest\":\"org.busd\",\"method\":\"stats\"}");
        CHECK_EQ_INT(jint(fake_expect(&w, "reply"), "result/held_calls"), 3);

        fake_hello(r, &svc);
        fake_in(r, &svc, "{\"type\":\"request_name\",\"id\":1,\"name\":\"org.example.Clock\"}");
        struct json_object *c1 = fake_expect(&svc, "call");
        CHECK_EQ_INT(jint(c1, "params/n"), 1);
        CHECK_EQ_INT(jint(c1, "creds/pid"), a.peer.pid);
        int64_t s1 = jint(c1, "id");
        struct json_object *c2 = fake_expect(&svc, "call");
        CHECK_EQ_INT(jint(c2, "params/n"), 2);
        int64_t s2 = jint(c2, "id");
        struct json_object *c3 = fake_expect(&svc, "call");
        CHECK(jhas(c3, "oneway") && !jhas(c3, "id"));
        CHECK_STREQ(jstr(fake_expect(&svc, "reply"), "result/status"), "primary_owner");

        fake_in(r, &svc, "{\"type\":\"reply\",\"id\":%lld,\"result\":\"b\"}", (long long)s2);
        fake_in(r, &svc, "{\"type\":\"reply\",\"id\":%lld,\"result\":\"a\"}", (long long)s1);
        CHECK_STREQ(jstr(fake_expect(&a, "reply"), "result"), "a");
        CHECK_STREQ(jstr(fake_expect(&b, "reply"), "result"), "b");
        CHECK_EQ_INT(started, 1);

        fake_remove(r, &a);
        fake_remove(r, &b);
        fake_remove(r, &svc);
        fake_remove(r, &w);
        router_free(r);
}

/* The service fails: every waiting caller gets activation_failed at once. */
static void test_start_failure(void)
{
        struct router *r = activation_router();
        struct fake a, b;

        fake_hello(r, &a);
        fake_hello(r, &b);
        fake_in(r, &a, "{\"type\":\"call\",\"id\":1,\"dest\":\"org.example.Clock\",\"method\":\"now\"}");
        fake_in(r, &b, "{\"type\":\"call\",\"id\":2,\"dest\":\"org.example.Clock\",\"method\":\"now\"}");
        router_activation_failed(r, "org.example.Clock", "exited with status 3 before taking the name");
        expect_error(&a, 1, "activation_failed", "exited with status 3");
        expect_error(&b, 2, "activation_failed", "org.example.Clock");
        /* a later failure report for it is harmless */
        router_activation_failed(r, "org.example.Clock", "late");
        fake_expect_none(&a, "nothing more");

        /* a start that fails at once: the caller hears it at once, and the next call tries again */
        start_result = -ENOENT;
        fake_in(r, &a, "{\"type\":\"call\",\"id\":3,\"dest\":\"org.example.Clock\",\"method\":\"now\"}");
        expect_error(&a, 3, "activation_failed", "could not be started");
        CHECK_EQ_INT(started, 2);

        fake_remove(r, &a);
        fake_remove(r, &b);
        router_free(r);
}

/* The deadline passes: waiting callers fail from router_tick(), not before. */
static void test_deadline(void)
{
        struct router *r = activation_router();
        struct fake a;

        fake_hello(r, &a);
        fake_in(r, &a, "{\"type\":\"call\",\"id\":1,\"dest\":\"org.example.Slow\",\"method\":\"x\"}");
        router_set_time(r, 1000000 + 99);
        router_tick(r);
        fake_expect_none(&a, "before the deadline");
        router_set_time(r, 1000000 + 100);
        router_tick(r);
        expect_error(&a, 1, "activation_failed", "did not take the name within 100 ms");
        fake_remove(r, &a);
        router_free(r);
}

/* Limits, cancel, callers that leave, names that are not activatable. */
static void test_limits_and_cleanup(void)
{
        struct router *r = activation_router();
        struct fake a, svc;

        fake_hello(r, &a);
        fake_in(r, &a, "{\"type\":\"call\",\"id\":1,\"dest\":\"org.example.Other\",\"method\":\"x\"}");
        expect_error(&a, 1, "no_owner", "org.example.Other");
        CHECK_EQ_INT(started, 0);

        /* held calls count against max_pending_calls (8 here) */
        for (int i = 0; i < 8; i++)
                fake_in(r, &a, "{\"type\":\"call\",\"id\":%d,\"dest\":\"org.example.Clock\",\"method\":\"x\"}", 10 + i);
        fake_in(r, &a, "{\"type\":\"call\",\"id\":30,\"dest\":\"org.example.Clock\",\"method\":\"x\"}");
        expect_error(&a, 30, "limit", "max_pending_calls");
        /* a held id cannot be reused */
        fake_in(r, &a, "{\"type\":\"call\",\"id\":10,\"dest\":\"org.busd\",\"method\":\"ping\"}");
        expect_error(&a, 10, "invalid_message", "already used");
        /* cancel frees a held call: it never reaches the service */
        fake_in(r, &a, "{\"type\":\"cancel\",\"id\":10}");
        fake_in(r, &a, "{\"type\":\"call\",\"id\":31,\"dest\":\"org.busd\",\"method\":\"stats\"}");
        CHECK_EQ_INT(jint(fake_expect(&a, "reply"), "result/held_calls"), 7);
        fake_hello(r, &svc);
        fake_in(r, &svc, "{\"type\":\"request_name\",\"name\":\"org.example.Clock\"}");
        for (int i = 1; i < 8; i++)
                CHECK(jnull(fake_expect(&svc, "call"), "params"));
        fake_expect_none(&svc, "the cancelled call is not delivered");
        fake_remove(r, &svc);

        /* a caller that leaves takes its held calls with it */
        fake_in(r, &a, "{\"type\":\"call\",\"id\":40,\"dest\":\"org.example.Slow\",\"method\":\"x\"}");
        fake_remove(r, &a);
        struct fake w;
        fake_hello(r, &w);
        fake_in(r, &w, "{\"type\":\"call\",\"id\":1,\"dest\":\"org.busd\",\"method\":\"stats\"}");
        CHECK_EQ_INT(jint(fake_expect(&w, "reply"), "result/held_calls"), 0);
        fake_remove(r, &w);
        router_free(r);
}

int main(void)
{
        test_held_until_owned();
        test_start_failure();
        test_deadline();
        test_limits_and_cleanup();
        return 0;
}
