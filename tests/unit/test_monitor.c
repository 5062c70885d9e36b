/* test_monitor.c: monitoring connections (busd/core/monitor.c) through
 * router_handle() with in-memory peers (test_core_fake.c): the records of a
 * call, its answers and an event, in and out, with the identities stamped;
 * the filters; the bounded queue whose drops are counted and told, never a
 * hold; what a monitor may not do; the scope of a uid without the policy verb
 * `monitor` (its own uid's traffic, within `see`). docs/protocol.md §4.10 is
 * the reference. */
#include <json-c/json.h>
#include <stdarg.h>
#include <string.h>

#include "buf.h"
#include "policy.h"
#include "test.h"
#include "test_core_fake.h"
#include "test_router_common.h"

/* The next record of mon, checked: type monitor, seq as expected, dir. */
static struct json_object *expect_record(struct fake *mon, uint64_t seq, const char *dir, const char *type)
{
        struct json_object *m = fake_expect(mon, "monitor");
        CHECK_EQ_INT(jint(m, "seq"), (int64_t)seq);
        CHECK(jint(m, "time_us") > 0);
        CHECK_STREQ(jstr(m, "dir"), dir);
        CHECK_STREQ(jstr(m, "message/type"), type);
        return m;
}

static void expect_ident(struct json_object *m, const char *which, const struct fake *f)
{
        char path[64];

        snprintf(path, sizeof(path), "%s/unique", which);
        CHECK_STREQ(jstr(m, path), f->peer.unique);
        snprintf(path, sizeof(path), "%s/uid", which);
        CHECK_EQ_INT(jint(m, path), (int64_t)f->peer.uid);
        snprintf(path, sizeof(path), "%s/gid", which);
        CHECK_EQ_INT(jint(m, path), (int64_t)f->peer.gid);
        snprintf(path, sizeof(path), "%s/pid", which);
        CHECK_EQ_INT(jint(m, path), (int64_t)f->peer.pid);
}

static void start(struct router *r, struct fake *mon, const char *filters, const char *scope)
{
        fake_in(r, mon, "{\"type\":\"monitor\",\"id\":1%s}", filters);
        struct json_object *m = fake_expect(mon, "reply");
        CHECK_STREQ(jstr(m, "result/scope"), scope);
        CHECK_EQ_INT(jint(m, "result/uid"), (int64_t)mon->peer.uid);
}

static void test_records(void)
{
        struct router *r = fake_router(NULL);
        struct fake mon, svc, cl, sub;
        struct json_object *m;

        fake_hello(r, &mon);
        start(r, &mon, "", "all");
        fake_add(r, &svc);
        fake_in(r, &svc, "{\"type\":\"hello\",\"names\":[\"org.x.Svc\"]}");
        fake_expect(&svc, "welcome");
        m = expect_record(&mon, 1, "in", "hello");
        expect_ident(m, "sender", &svc);
        CHECK_STREQ(jstr(m, "dest/unique"), "org.busd");
        CHECK_EQ_INT(jint(m, "dest/pid"), 1);
        m = expect_record(&mon, 2, "out", "welcome");
        CHECK_STREQ(jstr(m, "sender/unique"), "org.busd");
        expect_ident(m, "dest", &svc);
        fake_hello(r, &cl);
        fake_hello(r, &sub);
        fake_skip(&mon);

        /* a call: in as sent (whitespace removed, payload as written), out as delivered */
        fake_in(r, &cl,
                "{\"type\":\"call\", \"id\":5,\"dest\":\"org.x.Svc\",\"method\":\"m\",\"params\":{\"n\": 1.50e3}}");
        m = expect_record(&mon, 7, "in", "call");
        expect_ident(m, "sender", &cl);
        struct buf *raw = fake_buf(&mon, mon.read - 1);
        CHECK(strstr(
                raw->data,
                "\"message\":{\"type\":\"call\",\"id\":5,\"dest\":\"org.x.Svc\",\"method\":\"m\",\"params\":{\"n\":"
                "1.50e3}}}\n"));
        m = expect_record(&mon, 8, "out", "call");
        expect_ident(m, "sender", &cl);
        expect_ident(m, "dest", &svc);
        CHECK_STREQ(jstr(m, "message/sender"), cl.peer.unique);
        int64_t serial = jint(fake_expect(&svc, "call"), "id");
        fake_in(r, &svc, "{\"type\":\"reply\",\"id\":%lld,\"result\":[1]}", (long long)serial);
        expect_record(&mon, 9, "in", "reply");
        m = expect_record(&mon, 10, "out", "reply");
        expect_ident(m, "sender", &svc);
        expect_ident(m, "dest", &cl);
        CHECK_EQ_INT(jint(m, "message/id"), 5);
        fake_expect(&cl, "reply");
        /* a callee's error */
        fake_in(r, &cl, "{\"type\":\"call\",\"id\":6,\"dest\":\"org.x.Svc\",\"method\":\"m\"}");
        serial = jint(fake_expect(&svc, "call"), "id");
        fake_in(r, &svc, "{\"type\":\"error\",\"id\":%lld,\"code\":\"x.y\",\"message\":\"no\"}", (long long)serial);
        fake_expect(&cl, "error");
        expect_record(&mon, 11, "in", "call");
        expect_record(&mon, 12, "out", "call");
        expect_record(&mon, 13, "in", "error");
        m = expect_record(&mon, 14, "out", "error");
        CHECK_STREQ(jstr(m, "message/code"), "x.y");
        /* an event */
        fake_in(r, &sub, "{\"type\":\"subscribe\",\"pattern\":\"a.>\"}");
        expect_record(&mon, 15, "in", "subscribe");
        fake_in(r, &cl, "{\"type\":\"publish\",\"topic\":\"a.b\",\"data\":true}");
        expect_record(&mon, 16, "in", "publish");
        m = expect_record(&mon, 17, "out", "event");
        expect_ident(m, "sender", &cl);
        expect_ident(m, "dest", &sub);
        fake_expect_none(&mon, "one record per message and direction");

        /* it does nothing else, and nobody can call it */
        fake_in(r, &mon, "{\"type\":\"subscribe\",\"id\":2,\"pattern\":\"a.>\"}");
        CHECK_EQ_INT(jint(expect_error(&mon, "invalid_message"), "id"), 2);
        fake_in(r, &cl, "{\"type\":\"call\",\"id\":7,\"dest\":\"%s\",\"method\":\"m\"}", mon.peer.unique);
        expect_error(&cl, "no_owner");
        fake_skip(&mon);

        /* stats list it */
        fake_in(r, &cl, "{\"type\":\"call\",\"id\":8,\"dest\":\"org.busd\",\"method\":\"stats\"}");
        m = json_object_array_get_idx(jget(fake_expect(&cl, "reply"), "result/monitors"), 0);
        CHECK_STREQ(jstr(m, "unique"), mon.peer.unique);
        CHECK_STREQ(jstr(m, "scope"), "all");
        CHECK_EQ_INT(jint(m, "drops"), 0);

        fake_remove(r, &mon);
        fake_remove(r, &svc);
        fake_remove(r, &cl);
        fake_remove(r, &sub);
        router_free(r);
}

static void test_filters(void)
{
        struct router *r = fake_router(NULL);
        struct fake by_type, by_from, by_topic, by_name, svc, cl;

        fake_hello(r, &by_type);
        fake_hello(r, &by_from);
        fake_hello(r, &by_topic);
        fake_hello(r, &by_name);
        fake_add(r, &svc);
        fake_in(r, &svc, "{\"type\":\"hello\",\"names\":[\"org.x.Svc\"]}");
        fake_hello(r, &cl);
        start(r, &by_type, ",\"types\":[\"reply\",\"event\"]", "all");
        char from[64];
        snprintf(from, sizeof(from), ",\"from\":\"%s\"", cl.peer.unique);
        start(r, &by_from, from, "all");
        start(r, &by_topic, ",\"topic\":\"a.*\"", "all");
        start(r, &by_name, ",\"name\":\"org.x.Svc\"", "all");
        fake_skip(&svc);

        fake_in(r, &cl, "{\"type\":\"call\",\"id\":1,\"dest\":\"org.x.Svc\",\"method\":\"m\"}");
        int64_t serial = jint(fake_expect(&svc, "call"), "id");
        fake_in(r, &svc, "{\"type\":\"reply\",\"id\":%lld}", (long long)serial);
        fake_in(r, &cl, "{\"type\":\"publish\",\"topic\":\"a.b\"}");
        fake_in(r, &cl, "{\"type\":\"publish\",\"topic\":\"c.d\"}");

        /* types: the reply in and out */
        expect_record(&by_type, 1, "in", "reply");
        expect_record(&by_type, 2, "out", "reply");
        fake_expect_none(&by_type, "types");
        /* from: what cl sent, and what the daemon relayed for it */
        expect_record(&by_from, 1, "in", "call");
        expect_record(&by_from, 2, "out", "call");
        expect_record(&by_from, 3, "in", "publish");
        expect_record(&by_from, 4, "in", "publish");
        fake_expect_none(&by_from, "from");
        /* topic: the publish of a.b only */
        CHECK_STREQ(jstr(expect_record(&by_topic, 1, "in", "publish"), "message/topic"), "a.b");
        fake_expect_none(&by_topic, "topic");
        /* name: the call to the name, and to and from its owner */
        expect_record(&by_name, 1, "in", "call");
        expect_record(&by_name, 2, "out", "call");
        expect_record(&by_name, 3, "in", "reply");
        expect_record(&by_name, 4, "out", "reply");
        fake_expect_none(&by_name, "name");

        /* bad requests, and a connection that subscribes */
        struct fake x;
        fake_hello(r, &x);
        fake_in(r, &x, "{\"type\":\"monitor\",\"id\":1,\"types\":[]}");
        expect_error(&x, "invalid_message");
        fake_in(r, &x, "{\"type\":\"monitor\",\"id\":2,\"from\":\"org.x.Svc\"}");
        expect_error(&x, "invalid_message");
        fake_in(r, &x, "{\"type\":\"subscribe\",\"pattern\":\"a.>\"}");
        fake_in(r, &x, "{\"type\":\"monitor\",\"id\":3}");
        CHECK(strstr(jstr(expect_error(&x, "invalid_message"), "message"), "does nothing else"));

        fake_remove(r, &x);
        fake_remove(r, &by_type);
        fake_remove(r, &by_from);
        fake_remove(r, &by_topic);
        fake_remove(r, &by_name);
        fake_remove(r, &svc);
        fake_remove(r, &cl);
        router_free(r);
}

/* A monitor that does not read loses records, counted and told; the
 * publisher is never paused for it. */
static void test_drops(void)
{
        struct router_limits lim;
        router_limits_default(&lim);
        lim.queue_bytes = 4096;
        struct router *r = fake_router(&lim);
        struct fake mon, pub, admin;

        fake_hello(r, &mon);
        fake_hello(r, &pub);
        fake_hello(r, &admin);
        start(r, &mon, ",\"types\":[\"publish\"]", "all");
        for (int i = 0; i < 100; i++)
                CHECK_EQ_INT(fake_in(r, &pub, "{\"type\":\"publish\",\"topic\":\"a.b\",\"data\":\"%0100d\"}", i),
                             ROUTER_OK);
        CHECK(mon.peer.queued_bytes <= 4096);
        size_t got = fake_unread(&mon);
        CHECK(got > 3 && got < 100);
        fake_in(r, &admin, "{\"type\":\"call\",\"id\":1,\"dest\":\"org.busd\",\"method\":\"stats\"}");
        struct json_object *st = json_object_array_get_idx(jget(fake_expect(&admin, "reply"), "result/monitors"), 0);
        CHECK_EQ_INT(jint(st, "drops"), 100 - (int64_t)got);
        CHECK_EQ_INT(jint(st, "records"), (int64_t)got);
        /* it reads: told how many it missed, then records again, seq counting the lost ones */
        fake_skip(&mon);
        fake_write(r, &mon, mon.n - mon.written);
        fake_in(r, &pub, "{\"type\":\"publish\",\"topic\":\"a.b\"}");
        CHECK_EQ_INT(jint(fake_expect(&mon, "dropped"), "count"), 100 - (int64_t)got);
        expect_record(&mon, 101, "in", "publish");
        /* a message nesting the full 32 levels would nest 33 in its record: dropped too */
        char deep[80];
        snprintf(deep, sizeof(deep), "%.*s%.*s", 31, "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", 31,
                 "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]");
        fake_in(r, &pub, "{\"type\":\"publish\",\"topic\":\"a.b\",\"data\":%s}", deep);
        fake_in(r, &pub, "{\"type\":\"publish\",\"topic\":\"a.b\",\"data\":%.60s}", deep + 1); /* 30 levels */
        CHECK_EQ_INT(jint(fake_expect(&mon, "dropped"), "count"), 1);
        struct json_object *shallower = expect_record(&mon, 103, "in", "publish");
        CHECK(json_object_is_type(jget(shallower, "message/data"), json_type_array));
        fake_expect_none(&mon, "the record of the deepest message");
        fake_in(r, &admin, "{\"type\":\"call\",\"id\":2,\"dest\":\"org.busd\",\"method\":\"stats\"}");
        st = json_object_array_get_idx(jget(fake_expect(&admin, "reply"), "result/monitors"), 0);
        CHECK_EQ_INT(jint(st, "drops"), 101 - (int64_t)got);

        fake_remove(r, &mon);
        fake_remove(r, &pub);
        fake_remove(r, &admin);
        router_free(r);
}

__attribute__((format(printf, 1, 2))) static struct policy *policy_of(const char *fmt, ...)
{
        char text[2048], err[512];
        struct policy *pol = NULL;
        va_list ap;

        va_start(ap, fmt);
        int n = vsnprintf(text, sizeof(text), fmt, ap);
        va_end(ap);
        struct policy_source src = { "test.json", text, (size_t)n };
        if (policy_parse(&src, 1, fake_no_names, NULL, &pol, err, sizeof(err)) < 0) {
                fprintf(stderr, "policy: %s\n", err);
                CHECK(!"the test's policy parses");
        }
        return pol;
}

static void hello_as(struct router *r, struct fake *f, uid_t uid, const char *names)
{
        fake_add_fds(r, f, uid);
        fake_in(r, f, "{\"type\":\"hello\"%s}", names);
        fake_expect(f, "welcome");
}

/* Without the verb monitor: its own uid's traffic, and the other side's
 * identity only where see allows. */
static void test_uid_scope(void)
{
        struct router *r = fake_router(NULL);
        struct policy *pol = policy_of(
                "{\"default\": {\"connect\": \"allow\", \"own\": \"allow\", \"call\": \"allow\", \"publish\": "
                "\"allow\", \"subscribe\": \"allow\", \"see\": \"allow\"}, \"rules\": ["
                "{\"for\": {\"uid\": 2000}, \"deny\": {\"see\": [\"org.x.Hidden\"]}},"
                "{\"for\": {\"uid\": 3000}, \"allow\": {\"monitor\": true}}]}");
        router_set_policy(r, pol);
        struct fake mon, mine, other, hidden, all;

        hello_as(r, &mon, 2000, "");
        hello_as(r, &mine, 2000, "");
        hello_as(r, &other, 2001, ",\"names\":[\"org.x.Svc\"]");
        hello_as(r, &hidden, 2002, ",\"names\":[\"org.x.Hidden\"]");
        hello_as(r, &all, 3000, "");
        start(r, &mon, "", "uid");
        start(r, &all, "", "all");

        /* another uid's call to another uid: none of its business */
        fake_in(r, &hidden, "{\"type\":\"call\",\"id\":1,\"dest\":\"org.x.Svc\",\"method\":\"m\",\"oneway\":true}");
        fake_expect_none(&mon, "others' traffic");
        CHECK(fake_unread(&all) == 2); /* in and out */
        fake_skip(&all);
        /* its own uid's call to a visible service: in, and out with the callee's identity */
        fake_in(r, &mine, "{\"type\":\"call\",\"id\":2,\"dest\":\"org.x.Svc\",\"method\":\"m\",\"oneway\":true}");
        expect_record(&mon, 1, "in", "call");
        expect_ident(expect_record(&mon, 2, "out", "call"), "dest", &other);
        /* to the hidden one: its own message in, nothing of it going there */
        fake_in(r, &mine, "{\"type\":\"call\",\"id\":3,\"dest\":\"org.x.Hidden\",\"method\":\"m\"}");
        expect_record(&mon, 3, "in", "call");
        fake_expect_none(&mon, "a call to what it may not see");
        int64_t serial = jint(fake_expect(&hidden, "call"), "id");
        fake_in(r, &hidden, "{\"type\":\"reply\",\"id\":%lld}", (long long)serial);
        /* the answer to its own connection: the sender without credentials */
        struct json_object *m = expect_record(&mon, 4, "out", "reply");
        CHECK_STREQ(jstr(m, "sender/unique"), hidden.peer.unique);
        CHECK_EQ_INT(json_object_object_length(jget(m, "sender")), 1); /* no credentials */
        expect_ident(m, "dest", &mine);
        fake_expect_none(&mon, "the hidden service's reply in");

        fake_remove(r, &mon);
        fake_remove(r, &mine);
        fake_remove(r, &other);
        fake_remove(r, &hidden);
        fake_remove(r, &all);
        router_free(r);
        policy_free(pol);
}

/* One event to several subscribers: a record per delivery, each with its
 * destination (the monitor reads the shared message once). */
static void test_fan_out(void)
{
        struct router *r = fake_router(NULL);
        struct fake mon, pub, s[3];

        fake_hello(r, &mon);
        fake_hello(r, &pub);
        for (int i = 0; i < 3; i++) {
                fake_hello(r, &s[i]);
                fake_in(r, &s[i], "{\"type\":\"subscribe\",\"pattern\":\"a.>\"}");
        }
        start(r, &mon, ",\"types\":[\"event\"]", "all");
        for (int round = 0; round < 2; round++) {
                fake_in(r, &pub, "{\"type\":\"publish\",\"topic\":\"a.b\",\"data\":%d}", round);
                for (int i = 0; i < 3; i++) {
                        struct json_object *m = expect_record(&mon, (uint64_t)(round * 3 + i + 1), "out", "event");
                        expect_ident(m, "sender", &pub);
                        expect_ident(m, "dest", &s[i]);
                        CHECK_EQ_INT(jint(m, "message/data"), round);
                }
        }
        fake_expect_none(&mon, "one record per delivery");
        fake_remove(r, &mon);
        fake_remove(r, &pub);
        for (int i = 0; i < 3; i++)
                fake_remove(r, &s[i]);
        router_free(r);
}

int main(void)
{
        test_records();
        test_fan_out();
        test_filters();
        test_drops();
        test_uid_scope();
        return 0;
}
