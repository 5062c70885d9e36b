/* test_activate.c: service activation in the routing core (busd/core/activate.c
 * and its use in router.c), through router_handle() with fake peers: calls to
 * an activatable name nobody owns are held, the service is started once, the
 * held calls reach the owner in order, and they fail at once when the start
 * fails or the deadline passes; a held call keeps its params as text, within
 * the bytes per name and the uid's held_bytes quota; a service that failed is
 * not started again at once (backoff). */
#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "activate.h"
#include "buf.h"
#include "policy.h"
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

        /* a start that fails at once: the caller hears it at once, and the
         * next call after the hold-off (activate.h) tries again */
        start_result = -ENOENT;
        router_set_time(r, 1000000 + BUS_ACTIVATION_RETRY_MS);
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

/* A call from f (id) to dest with params (JSON text, NULL: none). */
static void call(struct router *r, struct fake *f, int id, const char *dest, const char *params)
{
        fake_in(r, f, "{\"type\":\"call\",\"id\":%d,\"dest\":\"%s\",\"method\":\"m\"%s%s}", id, dest,
                params ? ",\"params\":" : "", params ? params : "");
}

/* What f's uid holds of quota kind `key` ("held_bytes"), from stats. */
static int64_t uid_used(struct router *r, struct fake *f, const char *key)
{
        struct fake w;
        int64_t v = -1;

        fake_hello(r, &w);
        fake_in(r, &w, "{\"type\":\"call\",\"id\":1,\"dest\":\"org.busd\",\"method\":\"stats\"}");
        struct json_object *uids = jget(fake_expect(&w, "reply"), "result/uids");
        for (size_t i = 0; i < json_object_array_length(uids); i++)
                if (jint(json_object_array_get_idx(uids, i), "uid") == (int64_t)f->peer.uid)
                        v = jint(json_object_array_get_idx(uids, i), key);
        fake_remove(r, &w);
        return v;
}

/* The params of a delivered call as the callee got them: the text between
 * "params": and the caller's identity. */
static void params_text(struct fake *f, size_t i, char *out, size_t len)
{
        struct buf *b = fake_buf(f, i);
        char *text = strndup(b->data, b->len);
        const char *start = strstr(text, "\"params\":"), *end = strstr(text, ",\"sender\":");

        CHECK(start && end && end > start);
        start += strlen("\"params\":");
        CHECK((size_t)(end - start) < len);
        snprintf(out, len, "%.*s", (int)(end - start), start);
        free(text);
}

/* A held call keeps its params as text, delivered exactly as a call that
 * was not held, and counted (text, method, name) in its uid's held_bytes. */
static void test_params_kept_as_text(void)
{
        static const char *const params[] = {
                "{\"a\":[0,0,[0,{\"s\":\"x\\/y\\u00e9\\n\\u0001\"}]],\"n\":-1.5e3,\"t\":true,\"z\":null}",
                "[0, 0, 0, [], {}]",
                "\"a string\"",
                "42",
                "null",
        };
        const size_t n = sizeof(params) / sizeof(params[0]);
        struct router *r = activation_router();
        struct fake a, b, svc;
        char held[256], direct[256];

        fake_hello(r, &a);
        for (size_t i = 0; i < n; i++)
                call(r, &a, (int)i + 1, "org.example.Clock", params[i]);
        call(r, &a, 99, "org.example.Clock", NULL);
        int64_t bytes = uid_used(r, &a, "held_bytes");

        fake_hello(r, &svc);
        fake_in(r, &svc, "{\"type\":\"request_name\",\"name\":\"org.example.Clock\"}");
        CHECK_EQ_INT(fake_unread(&svc), n + 1);
        int64_t want = 0;
        for (size_t i = 0; i < n; i++) {
                params_text(&svc, svc.read + i, held, sizeof(held));
                /* null is no params: no text */
                want += (int64_t)((strcmp(held, "null") ? strlen(held) : 0) + strlen("m") +
                                  strlen("org.example.Clock"));
        }
        params_text(&svc, svc.read + n, held, sizeof(held));
        CHECK_STREQ(held, "null");
        want += (int64_t)(strlen("m") + strlen("org.example.Clock")); /* no params: no text */
        CHECK_EQ_INT(bytes, want);
        CHECK_EQ_INT(uid_used(r, &a, "held_bytes"), 0);

        /* the same params, not held: the same text (from b: a has 6 calls pending) */
        fake_hello(r, &b);
        for (size_t i = 0; i < n; i++) {
                params_text(&svc, svc.read + i, held, sizeof(held));
                call(r, &b, 100 + (int)i, "org.example.Clock", params[i]);
                params_text(&svc, svc.n - 1, direct, sizeof(direct));
                CHECK_STREQ(held, direct);
        }
        fake_remove(r, &a);
        fake_remove(r, &b);
        fake_remove(r, &svc);
        router_free(r);
}

/* A fake of this uid, past hello. */
static void hello_as(struct router *r, struct fake *f, uid_t uid)
{
        fake_add_fds(r, f, uid);
        fake_in(r, f, "{\"type\":\"hello\"}");
        fake_expect(f, "welcome");
}

/* The calls held for one name hold at most ACTIVATE_MAX_HELD_BYTES; a uid's
 * at most its held_bytes quota. Either refusal is `limit`, saying which. */
static void test_held_bytes(void)
{
        struct router *r = activation_router();
        struct fake a, b, c;
        size_t big = ACTIVATE_MAX_HELD_BYTES / 4 - 1000; /* four fit, not five */
        char *s = malloc(big + 3);

        CHECK(s);
        memset(s, 'x', big + 2);
        s[0] = s[big + 1] = '"';
        s[big + 2] = 0;
        fake_hello(r, &a);
        for (int i = 1; i <= 4; i++)
                call(r, &a, i, "org.example.Clock", s);
        fake_expect_none(&a, "four are held");
        call(r, &a, 5, "org.example.Clock", s);
        expect_error(&a, 5, "limit", "bytes per name");
        /* another name has its own */
        call(r, &a, 6, "org.example.Slow", s);
        fake_expect_none(&a, "held for another name");
        /* a cancel makes room */
        fake_in(r, &a, "{\"type\":\"cancel\",\"id\":1}");
        call(r, &a, 7, "org.example.Clock", s);
        fake_expect_none(&a, "held again");
        fake_remove(r, &a);
        free(s);

        /* the uid's quota counts all its connections' held calls */
        struct policy *pol = fake_policy_with_quotas("\"held_bytes\": 1000");
        router_set_policy(r, pol);
        hello_as(r, &b, 7000);
        hello_as(r, &c, 7000);
        char p600[700];
        snprintf(p600, sizeof(p600), "\"%0600d\"", 0);
        call(r, &b, 1, "org.example.Clock", p600);
        fake_expect_none(&b, "within the quota");
        call(r, &c, 1, "org.example.Clock", p600);
        expect_error(&c, 1, "limit", "quota held_bytes");
        CHECK_EQ_INT(uid_used(r, &b, "held_bytes"), 602 + 1 + strlen("org.example.Clock"));
        fake_in(r, &b, "{\"type\":\"cancel\",\"id\":1}");
        CHECK_EQ_INT(uid_used(r, &b, "held_bytes"), 0);
        call(r, &c, 2, "org.example.Clock", p600);
        fake_expect_none(&c, "room again");
        fake_remove(r, &b);
        fake_remove(r, &c);
        router_free(r);
        policy_free(pol);
}

/* A service that failed to start is not started again at once: calls to it
 * fail at once (activation_failed, saying why and for how long), for
 * BUS_ACTIVATION_RETRY_MS after a failure, doubled for each failure in a row.
 * A start that succeeds, or a new table of activatable names, forgets them. */
static void test_restart_backoff(void)
{
        struct router *r = activation_router();
        struct fake a, svc;
        uint64_t t = 1000000;

        fake_hello(r, &a);
        call(r, &a, 1, "org.example.Clock", NULL);
        router_activation_failed(r, "org.example.Clock", "exited with status 3 before taking the name");
        expect_error(&a, 1, "activation_failed", "exited with status 3");
        router_set_time(r, t + BUS_ACTIVATION_RETRY_MS - 1);
        call(r, &a, 2, "org.example.Clock", NULL);
        expect_error(&a, 2, "activation_failed",
                     "the service for 'org.example.Clock' failed to start 999 ms ago (it exited with status 3 "
                     "before taking the name; 1 failure in a row) and is not started again for another 1 ms");
        CHECK_EQ_INT(started, 1);
        /* another name is not held off */
        call(r, &a, 3, "org.example.Slow", NULL);
        CHECK_EQ_INT(started, 2);
        fake_in(r, &a, "{\"type\":\"cancel\",\"id\":3}");

        /* after it: started again; a second failure in a row waits twice as long */
        t += BUS_ACTIVATION_RETRY_MS;
        router_set_time(r, t);
        call(r, &a, 4, "org.example.Clock", NULL);
        CHECK_EQ_INT(started, 3);
        router_activation_failed(r, "org.example.Clock", "was killed by signal 9 before taking the name");
        expect_error(&a, 4, "activation_failed", "signal 9");
        router_set_time(r, t + 2 * BUS_ACTIVATION_RETRY_MS - 1);
        call(r, &a, 5, "org.example.Clock", NULL);
        expect_error(&a, 5, "activation_failed", "2 failures in a row");
        /* a missed deadline is a failure too */
        t += 2 * BUS_ACTIVATION_RETRY_MS;
        router_set_time(r, t);
        call(r, &a, 6, "org.example.Clock", NULL);
        CHECK_EQ_INT(started, 4);
        t += 5000;
        router_set_time(r, t);
        router_tick(r);
        expect_error(&a, 6, "activation_failed", "did not take the name within 5000 ms");
        router_set_time(r, t + 4 * BUS_ACTIVATION_RETRY_MS - 1);
        call(r, &a, 7, "org.example.Clock", NULL);
        expect_error(&a, 7, "activation_failed", "3 failures in a row");
        /* a report after the activation ended changes nothing */
        router_activation_failed(r, "org.example.Clock", "late");
        call(r, &a, 8, "org.example.Clock", NULL);
        expect_error(&a, 8, "activation_failed", "3 failures in a row");

        /* the table read again (the files may have been fixed): no hold-off */
        CHECK_EQ_INT(router_set_activatable(r, table, 2), 0);
        call(r, &a, 9, "org.example.Clock", NULL);
        CHECK_EQ_INT(started, 5);
        router_activation_failed(r, "org.example.Clock", "exited with status 1 before taking the name");
        expect_error(&a, 9, "activation_failed", "status 1");
        call(r, &a, 10, "org.example.Clock", NULL);
        expect_error(&a, 10, "activation_failed", "1 failure in a row");

        /* a start that succeeds forgets the failures */
        t += 10 * BUS_ACTIVATION_RETRY_MS;
        router_set_time(r, t);
        call(r, &a, 11, "org.example.Clock", NULL);
        CHECK_EQ_INT(started, 6);
        fake_hello(r, &svc);
        fake_in(r, &svc, "{\"type\":\"request_name\",\"name\":\"org.example.Clock\"}");
        fake_expect(&svc, "call");
        fake_remove(r, &svc); /* a's call fails: callee_gone */
        fake_skip(&a);
        call(r, &a, 12, "org.example.Clock", NULL);
        CHECK_EQ_INT(started, 7);
        router_activation_failed(r, "org.example.Clock", "exited with status 1 before taking the name");
        expect_error(&a, 12, "activation_failed", "status 1");
        call(r, &a, 13, "org.example.Clock", NULL);
        expect_error(&a, 13, "activation_failed", "1 failure in a row");

        fake_remove(r, &a);
        router_free(r);
}

int main(void)
{
        test_held_until_owned();
        test_start_failure();
        test_deadline();
        test_limits_and_cleanup();
        test_params_kept_as_text();
        test_held_bytes();
        test_restart_backoff();
        return 0;
}
