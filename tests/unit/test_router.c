/* test_router.c: the routing core (busd/core/router.c and what it drives) through
 * router_handle() only, with in-memory peers (test_core_fake.c): the
 * handshake, calls and their failures, cancel and limits, and the org.busd
 * methods. Names and events are tested in test_router_events.c; queues,
 * back-pressure, stalls, size limits and the counters in test_router_queues.c.
 * docs/protocol.md is the reference for every expectation here. */
#include <json-c/json.h>
#include <string.h>

#include "test.h"
#include "test_core_fake.h"
#include "test_router_common.h"

/* ---- handshake ----------------------------------------------------------- */

static void test_hello(void)
{
        struct router_limits lim;
        router_limits_default(&lim);
        lim.max_names = 2;
        lim.max_pending_calls = 7;
        lim.queue_bytes = 123456;
        lim.max_subscriptions = 9;
        lim.stall_timeout_ms = 4321;
        struct router *r = fake_router(&lim);
        struct fake a, b, c;
        struct json_object *m;

        fake_add(r, &a);
        /* anything before hello: hello_required, connection open */
        CHECK_EQ_INT(fake_in(r, &a, "{\"type\":\"publish\",\"topic\":\"t\",\"id\":3}"), ROUTER_OK);
        m = expect_error(&a, "hello_required");
        CHECK_EQ_INT(jint(m, "id"), 3);
        fake_in(r, &a, "{\"type\":\"subscribe\",\"pattern\":\"t\"}");
        m = expect_error(&a, "hello_required");
        CHECK(jnull(m, "id"));
        /* invalid hellos leave the connection before hello */
        fake_in(r, &a, "{\"type\":\"hello\",\"id\":1,\"protocol\":2}");
        m = expect_error(&a, "unsupported_version");
        CHECK_EQ_INT(jint(m, "id"), 1);
        fake_in(r, &a, "{\"type\":\"hello\",\"id\":1,\"names\":[\"org.busd.x\"]}");
        CHECK_EQ_INT(jint(expect_error(&a, "reserved"), "id"), 1);
        fake_in(r, &a, "{\"type\":\"hello\",\"id\":1,\"names\":[\"a.a\",\"a.b\",\"a.c\"]}");
        CHECK_EQ_INT(jint(expect_error(&a, "limit"), "id"), 1);
        fake_in(r, &a, "{\"type\":\"hello\",\"id\":1,\"sender\":\":9\"}");
        expect_error(&a, "forged_identity");
        fake_in(r, &a, "{\"type\":\"subscribe\",\"pattern\":\"t\"}");
        expect_error(&a, "hello_required");
        fake_expect_none(&a, "before hello");

        /* a valid hello */
        fake_in(r, &a,
                "{\"type\":\"hello\",\"id\":1,\"protocol\":1,\"name\":\"clock service\","
                "\"names\":[\"org.example.Clock\",\"org.example.B\"],\"methods\":[{\"name\":\"get\"}]}");
        m = fake_expect(&a, "welcome");
        CHECK_EQ_INT(json_object_object_length(m), 7);
        CHECK_EQ_INT(jint(m, "id"), 1);
        CHECK_STREQ(jstr(m, "unique"), a.peer.unique);
        CHECK_STREQ(jstr(m, "unique"), ":1");
        CHECK_EQ_INT(jint(m, "protocol"), 1);
        CHECK_STREQ(jstr(m, "server"), "busd 1.0.0");
        CHECK_EQ_INT(json_object_object_length(jget(m, "limits")), 10);
        CHECK_EQ_INT(jint(m, "limits/max_message"), 1048576);
        CHECK_EQ_INT(jint(m, "limits/max_recv"), 1048576 + 1024);
        CHECK_EQ_INT(jint(m, "limits/max_depth"), 32);
        CHECK_EQ_INT(jint(m, "limits/max_pending_calls"), 7);
        CHECK_EQ_INT(jint(m, "limits/queue_bytes"), 123456);
        CHECK_EQ_INT(jint(m, "limits/max_names"), 2);
        CHECK_EQ_INT(jint(m, "limits/max_subscriptions"), 9);
        CHECK_EQ_INT(jint(m, "limits/max_methods"), 256);
        CHECK_EQ_INT(jint(m, "limits/max_queued_fds"), 64);
        CHECK_EQ_INT(jint(m, "limits/stall_timeout_ms"), 4321);
        CHECK_EQ_INT(json_object_object_length(jget(m, "names")), 2);
        CHECK_STREQ(jstr(m, "names/org.example.Clock"), "primary_owner");
        CHECK_STREQ(jstr(m, "names/org.example.B"), "primary_owner");
        fake_expect_none(&a, "after welcome"); /* no name_acquired for its own request */

        /* a second hello */
        fake_in(r, &a, "{\"type\":\"hello\",\"id\":2}");
        CHECK_EQ_INT(jint(expect_error(&a, "invalid_message"), "id"), 2);

        /* without an id the welcome has none; a taken name is queued; seqpacket limits */
        fake_add_ex(r, &b, 65536, 65536 + 1024);
        fake_in(r, &b, "{\"type\":\"hello\",\"names\":[\"org.example.Clock\"]}");
        m = fake_expect(&b, "welcome");
        CHECK(!jhas(m, "id"));
        CHECK_STREQ(jstr(m, "unique"), ":2");
        CHECK_EQ_INT(jint(m, "limits/max_message"), 65536);
        CHECK_EQ_INT(jint(m, "limits/max_recv"), 66560);
        CHECK_STREQ(jstr(m, "names/org.example.Clock"), "in_queue");

        /* the per-connection name limit applies to hello's names as a whole */
        fake_add(r, &c);
        fake_in(r, &c, "{\"type\":\"hello\",\"names\":[\"org.c.a\",\"org.c.b\"]}");
        m = fake_expect(&c, "welcome");
        CHECK_STREQ(jstr(m, "names/org.c.b"), "primary_owner");
        fake_in(r, &c, "{\"type\":\"request_name\",\"id\":4,\"name\":\"org.c.c\"}");
        CHECK_EQ_INT(jint(expect_error(&c, "limit"), "id"), 4);

        fake_remove(r, &a);
        fake_remove(r, &b);
        fake_remove(r, &c);
        router_free(r);
}

/* Garbage and protocol errors are answered; the connection stays usable. */
static void test_bad_input(void)
{
        struct router *r = fake_router(NULL);
        struct fake a;
        struct json_object *m;

        fake_hello(r, &a);
        fake_in(r, &a, "{\"type\":'x'}");
        m = expect_error(&a, "parse_error");
        CHECK(jnull(m, "id"));
        CHECK_CONTAINS(jstr(m, "message"), "at byte 8");
        fake_in(r, &a, "not json");
        expect_error(&a, "parse_error");
        fake_in(r, &a, "[1,2]");
        expect_error(&a, "invalid_message");
        fake_in(r, &a, "{\"type\":\"welcome\",\"id\":5}");
        CHECK_EQ_INT(jint(expect_error(&a, "unknown_type"), "id"), 5);
        fake_in(r, &a, "{\"type\":\"publish\",\"topic\":\"a\",\"creds\":{},\"id\":6}");
        CHECK_EQ_INT(jint(expect_error(&a, "forged_identity"), "id"), 6);
        fake_in(r, &a, "{\"type\":\"publish\",\"topic\":\"a\",\"bogus\":1}");
        expect_error(&a, "invalid_message");
        CHECK(router_handle(r, &a.peer, "", 0) == ROUTER_OK);
        expect_error(&a, "parse_error");
        /* still serves */
        fake_in(r, &a, "{\"type\":\"subscribe\",\"id\":7,\"pattern\":\"a\"}");
        CHECK_EQ_INT(jint(fake_expect(&a, "reply"), "id"), 7);
        fake_expect_none(&a, "end");
        fake_remove(r, &a);
        router_free(r);
}

/* ---- calls ------------------------------------------------------------------ */

static void test_call_routing(void)
{
        struct router *r = fake_router(NULL);
        struct fake a, b, c;
        struct json_object *m;

        fake_hello(r, &a);
        fake_add(r, &b);
        fake_in(r, &b, "{\"type\":\"hello\",\"names\":[\"org.example.Echo\"]}");
        fake_skip(&b);
        fake_hello(r, &c);

        /* the callee gets the call with a daemon-chosen id and the caller's identity */
        fake_in(r, &a,
                "{\"type\":\"call\",\"id\":42,\"dest\":\"org.example.Echo\",\"method\":\"echo\","
                "\"params\":{\"x\":[1,\"two\"]}}");
        fake_expect_none(&a, "call delivered");
        m = fake_expect(&b, "call");
        CHECK_EQ_INT(json_object_object_length(m), 7);
        int64_t n1 = jint(m, "id");
        CHECK(n1 != 42);
        CHECK_STREQ(jstr(m, "dest"), "org.example.Echo");
        CHECK_STREQ(jstr(m, "method"), "echo");
        CHECK_EQ_INT(json_object_array_length(jget(m, "params/x")), 2);
        CHECK_STREQ(jstr(m, "sender"), a.peer.unique);
        CHECK_EQ_INT(jint(m, "creds/uid"), a.peer.uid);
        CHECK_EQ_INT(jint(m, "creds/gid"), a.peer.gid);
        CHECK_EQ_INT(jint(m, "creds/pid"), a.peer.pid);
        CHECK(!jhas(m, "oneway"));
        CHECK_EQ_INT(router_pending_calls(r), 1);

        /* c uses the same id for its own call: the callee sees another id */
        fake_in(r, &c, "{\"type\":\"call\",\"id\":42,\"dest\":\"%s\",\"method\":\"m2\"}", b.peer.unique);
        m = fake_expect(&b, "call");
        int64_t n2 = jint(m, "id");
        CHECK(n2 != n1);
        CHECK_STREQ(jstr(m, "dest"), b.peer.unique);
        CHECK(jnull(m, "params"));
        CHECK_STREQ(jstr(m, "sender"), c.peer.unique);
        CHECK_EQ_INT(jint(m, "creds/uid"), c.peer.uid);
        CHECK_EQ_INT(router_pending_calls(r), 2);

        /* answers in the other order go back to the right caller with its own id */
        fake_in(r, &b,
                "{\"type\":\"error\",\"id\":%lld,\"code\":\"my.failure\",\"message\":\"no \\\"luck\\\"\","
                "\"data\":{\"k\":[1]}}",
                (long long)n2);
        m = fake_expect(&c, "error");
        CHECK_EQ_INT(json_object_object_length(m), 6);
        CHECK_EQ_INT(jint(m, "id"), 42);
        CHECK_STREQ(jstr(m, "code"), "my.failure");
        CHECK_STREQ(jstr(m, "message"), "no \"luck\"");
        CHECK_EQ_INT(json_object_array_length(jget(m, "data/k")), 1);
        CHECK_STREQ(jstr(m, "sender"), b.peer.unique);
        CHECK(!jhas(m, "call"));
        fake_expect_none(&a, "not a's answer");
        fake_in(r, &b, "{\"type\":\"reply\",\"id\":%lld,\"result\":{\"x\":1}}", (long long)n1);
        m = fake_expect(&a, "reply");
        CHECK_EQ_INT(json_object_object_length(m), 4);
        CHECK_EQ_INT(jint(m, "id"), 42);
        CHECK_EQ_INT(jint(m, "result/x"), 1);
        CHECK_STREQ(jstr(m, "sender"), b.peer.unique);
        fake_expect_none(&b, "nothing back to the callee");
        CHECK_EQ_INT(router_pending_calls(r), 0);

        /* a second answer to the same call: no_such_call, id null, call N */
        fake_in(r, &b, "{\"type\":\"reply\",\"id\":%lld}", (long long)n1);
        m = expect_error(&b, "no_such_call");
        CHECK(jnull(m, "id"));
        CHECK_EQ_INT(jint(m, "call"), n1);
        fake_expect_none(&a, "no second answer");
        /* an id that never was a call */
        fake_in(r, &b, "{\"type\":\"error\",\"id\":777,\"code\":\"x\",\"message\":\"\"}");
        CHECK_EQ_INT(jint(expect_error(&b, "no_such_call"), "call"), 777);

        /* only the callee may answer */
        fake_in(r, &a, "{\"type\":\"call\",\"id\":1,\"dest\":\"org.example.Echo\",\"method\":\"m\"}");
        int64_t n3 = jint(fake_expect(&b, "call"), "id");
        fake_in(r, &c, "{\"type\":\"reply\",\"id\":%lld}", (long long)n3);
        CHECK_EQ_INT(jint(expect_error(&c, "no_such_call"), "call"), n3);
        fake_expect_none(&a, "answer from a stranger");
        CHECK_EQ_INT(router_pending_calls(r), 1);
        /* the same id again while pending */
        fake_in(r, &a, "{\"type\":\"call\",\"id\":1,\"dest\":\"org.example.Echo\",\"method\":\"m\"}");
        CHECK_EQ_INT(jint(expect_error(&a, "invalid_message"), "id"), 1);
        fake_expect_none(&b, "refused duplicate");
        fake_in(r, &b, "{\"type\":\"reply\",\"id\":%lld}", (long long)n3);
        CHECK(jnull(fake_expect(&a, "reply"), "result"));

        /* no owner */
        fake_in(r, &a, "{\"type\":\"call\",\"id\":5,\"dest\":\"org.example.Nope\",\"method\":\"m\"}");
        CHECK_EQ_INT(jint(expect_error(&a, "no_owner"), "id"), 5);
        fake_in(r, &a, "{\"type\":\"call\",\"id\":6,\"dest\":\":99\",\"method\":\"m\"}");
        CHECK_EQ_INT(jint(expect_error(&a, "no_owner"), "id"), 6);
        /* a connection that did not say hello is not callable */
        struct fake d;
        fake_add(r, &d);
        fake_in(r, &a, "{\"type\":\"call\",\"id\":7,\"dest\":\"%s\",\"method\":\"m\"}", d.peer.unique);
        expect_error(&a, "no_owner");
        fake_expect_none(&d, "not callable before hello");

        /* a call to oneself works like any other */
        fake_in(r, &a, "{\"type\":\"call\",\"id\":8,\"dest\":\"%s\",\"method\":\"self\"}", a.peer.unique);
        m = fake_expect(&a, "call");
        CHECK_STREQ(jstr(m, "sender"), a.peer.unique);
        fake_in(r, &a, "{\"type\":\"reply\",\"id\":%lld,\"result\":8}", (long long)jint(m, "id"));
        CHECK_EQ_INT(jint(fake_expect(&a, "reply"), "result"), 8);
        CHECK_EQ_INT(router_pending_calls(r), 0);

        fake_remove(r, &a);
        fake_remove(r, &b);
        fake_remove(r, &c);
        fake_remove(r, &d);
        router_free(r);
}

/* Answers the daemon cannot accept are refused about the call they answer:
 * id null, `call` N (protocol §4.2), and the call stays the callee's to
 * answer; an error's "data" reaches the caller as given, null included. */
static void test_answers(void)
{
        struct router *r = fake_router(NULL);
        struct fake a, b, pre;
        struct json_object *m;
        /* the members besides the id of each (a code missing, a code or message that is not valid, ...) */
        static const char *const bad[] = {
                "\"type\":\"reply\",\"result\":1,\"extra\":2",
                "\"type\":\"error\",\"code\":\"no spaces\",\"message\":\"m\"",
                "\"type\":\"error\",\"message\":\"m\"",
                "\"type\":\"error\",\"code\":\"x.y\",\"message\":\"a\\u0000b\"",
                "\"type\":\"reply\",\"sender\":\"org.busd\"",
        };
        static const char *const codes[] = { "invalid_message", "invalid_message", "invalid_message", "invalid_message",
                                             "forged_identity" };

        fake_hello(r, &a);
        fake_hello(r, &b);
        fake_in(r, &a, "{\"type\":\"call\",\"id\":1,\"dest\":\"%s\",\"method\":\"m\"}", b.peer.unique);
        long long n = (long long)jint(fake_expect(&b, "call"), "id");
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                fake_in(r, &b, "{\"id\":%lld,%s}", n, bad[i]);
                m = expect_error(&b, codes[i]);
                CHECK(jnull(m, "id"));
                CHECK_EQ_INT(jint(m, "call"), n);
        }
        /* an answer without a valid id answers nothing: id null, no call */
        fake_in(r, &b, "{\"type\":\"reply\",\"id\":-1}");
        m = expect_error(&b, "invalid_message");
        CHECK(jnull(m, "id"));
        CHECK(!jhas(m, "call"));
        fake_expect_none(&a, "no answer yet");
        /* still pending: the callee answers, with "data": null */
        fake_in(r, &b, "{\"type\":\"error\",\"id\":%lld,\"code\":\"x.none\",\"message\":\"\",\"data\":null}", n);
        m = fake_expect(&a, "error");
        CHECK_STREQ(jstr(m, "code"), "x.none");
        CHECK_STREQ(jstr(m, "sender"), b.peer.unique);
        CHECK(jhas(m, "data") && jnull(m, "data"));
        CHECK_EQ_INT(jint(m, "id"), 1);
        /* without data: no member */
        fake_in(r, &a, "{\"type\":\"call\",\"id\":2,\"dest\":\"%s\",\"method\":\"m\"}", b.peer.unique);
        n = (long long)jint(fake_expect(&b, "call"), "id");
        fake_in(r, &b, "{\"type\":\"error\",\"id\":%lld,\"code\":\"x.none\",\"message\":\"\"}", n);
        CHECK(!jhas(fake_expect(&a, "error"), "data"));
        fake_expect_none(&b, "accepted");

        /* before hello, a reply answers no call of its: also id null, call N */
        fake_add(r, &pre);
        fake_in(r, &pre, "{\"type\":\"reply\",\"id\":5}");
        m = fake_expect(&pre, "error");
        CHECK_STREQ(jstr(m, "code"), "hello_required");
        CHECK(jnull(m, "id"));
        CHECK_EQ_INT(jint(m, "call"), 5);

        fake_remove(r, &a);
        fake_remove(r, &b);
        fake_remove(r, &pre);
        router_free(r);
}

/* A pending call fails at once when its callee goes or loses the name. */
static void test_call_failures(void)
{
        struct router *r = fake_router(NULL);
        struct fake a, b, c, e;
        struct json_object *m;

        fake_hello(r, &a);
        fake_hello(r, &b);
        fake_hello(r, &c);

        /* callee_gone: immediately on removal */
        fake_in(r, &a, "{\"type\":\"call\",\"id\":10,\"dest\":\"%s\",\"method\":\"m\"}", b.peer.unique);
        fake_in(r, &a, "{\"type\":\"call\",\"id\":11,\"dest\":\"%s\",\"method\":\"m\"}", b.peer.unique);
        fake_skip(&b);
        CHECK_EQ_INT(router_pending_calls(r), 2);
        fake_remove(r, &b);
        m = expect_error(&a, "callee_gone");
        CHECK_EQ_INT(jint(m, "id"), 10);
        CHECK_EQ_INT(jint(expect_error(&a, "callee_gone"), "id"), 11);
        fake_expect_none(&a, "callee gone");
        CHECK_EQ_INT(router_pending_calls(r), 0);

        /* name_lost: the callee is replaced as owner of the name the call used */
        fake_hello(r, &b);
        fake_in(r, &b, "{\"type\":\"request_name\",\"name\":\"org.x\",\"allow_replacement\":true}");
        fake_expect_none(&b, "request_name without id: no answer");
        fake_in(r, &a, "{\"type\":\"call\",\"id\":20,\"dest\":\"org.x\",\"method\":\"m\"}");
        int64_t by_name = jint(fake_expect(&b, "call"), "id");
        fake_in(r, &c, "{\"type\":\"call\",\"id\":21,\"dest\":\"%s\",\"method\":\"m\"}", b.peer.unique);
        int64_t by_unique = jint(fake_expect(&b, "call"), "id");
        fake_in(r, &c, "{\"type\":\"request_name\",\"id\":1,\"name\":\"org.x\",\"replace\":true}");
        CHECK_STREQ(jstr(fake_expect(&c, "reply"), "result/status"), "primary_owner");
        CHECK_STREQ(jstr(fake_expect(&b, "name_lost"), "name"), "org.x");
        m = expect_error(&a, "name_lost");
        CHECK_EQ_INT(jint(m, "id"), 20);
        /* the call by unique id is still pending and can be answered */
        CHECK_EQ_INT(router_pending_calls(r), 1);
        fake_in(r, &b, "{\"type\":\"reply\",\"id\":%lld,\"result\":1}", (long long)by_unique);
        CHECK_EQ_INT(jint(fake_expect(&c, "reply"), "id"), 21);
        /* the failed one cannot */
        fake_in(r, &b, "{\"type\":\"reply\",\"id\":%lld}", (long long)by_name);
        CHECK_EQ_INT(jint(expect_error(&b, "no_such_call"), "call"), by_name);
        fake_expect_none(&a, "answer after name_lost");

        /* name_lost also when the owner releases the name */
        fake_in(r, &a, "{\"type\":\"call\",\"id\":22,\"dest\":\"org.x\",\"method\":\"m\"}");
        fake_skip(&c);
        fake_in(r, &c, "{\"type\":\"release_name\",\"id\":2,\"name\":\"org.x\"}");
        CHECK_EQ_INT(jint(expect_error(&a, "name_lost"), "id"), 22);
        CHECK_STREQ(jstr(fake_expect(&c, "reply"), "result/status"), "released");
        CHECK_EQ_INT(router_pending_calls(r), 0);

        /* caller removed: the late answer gets no_such_call with id null and call N */
        fake_skip(&b);
        fake_hello(r, &e);
        fake_in(r, &e, "{\"type\":\"call\",\"id\":30,\"dest\":\"%s\",\"method\":\"m\"}", b.peer.unique);
        int64_t orphan = jint(fake_expect(&b, "call"), "id");
        fake_remove(r, &e);
        CHECK_EQ_INT(router_pending_calls(r), 0);
        fake_in(r, &b, "{\"type\":\"reply\",\"id\":%lld,\"result\":\"late\"}", (long long)orphan);
        m = expect_error(&b, "no_such_call");
        CHECK(jnull(m, "id"));
        CHECK_EQ_INT(jint(m, "call"), orphan);
        fake_expect_none(&b, "one error only");

        /* a removed peer is sent nothing more and its input is ignored */
        CHECK_EQ_INT(router_handle(r, &e.peer, "{\"type\":\"hello\"}", 16), ROUTER_OK);
        CHECK_EQ_INT(e.n, 0);

        fake_remove(r, &a);
        fake_remove(r, &b);
        fake_remove(r, &c);
        router_free(r);
}

static void test_oneway_cancel_limit(void)
{
        struct router_limits lim;
        router_limits_default(&lim);
        lim.max_pending_calls = 2;
        struct router *r = fake_router(&lim);
        struct fake a, b;
        struct json_object *m;

        fake_hello(r, &a);
        fake_hello(r, &b);

        /* one-way: no id at the callee, nothing pending, nothing back */
        fake_in(r, &a,
                "{\"type\":\"call\",\"id\":7,\"dest\":\"%s\",\"method\":\"notify\",\"oneway\":true,"
                "\"params\":[1]}",
                b.peer.unique);
        m = fake_expect(&b, "call");
        CHECK(!jhas(m, "id"));
        CHECK(json_object_get_boolean(jget(m, "oneway")));
        CHECK_STREQ(jstr(m, "sender"), a.peer.unique);
        CHECK_EQ_INT(router_pending_calls(r), 0);
        fake_expect_none(&a, "one-way");
        /* the daemon still reports its own failures with the caller's id */
        fake_in(r, &a, "{\"type\":\"call\",\"id\":8,\"dest\":\"org.none\",\"method\":\"m\",\"oneway\":true}");
        CHECK_EQ_INT(jint(expect_error(&a, "no_owner"), "id"), 8);
        fake_in(r, &a, "{\"type\":\"call\",\"id\":9,\"dest\":\"org.busd\",\"method\":\"ping\",\"oneway\":true}");
        CHECK_EQ_INT(jint(expect_error(&a, "invalid_message"), "id"), 9);

        /* max_pending_calls = 2 */
        fake_in(r, &a, "{\"type\":\"call\",\"id\":1,\"dest\":\"%s\",\"method\":\"m\"}", b.peer.unique);
        int64_t n1 = jint(fake_expect(&b, "call"), "id");
        fake_in(r, &a, "{\"type\":\"call\",\"id\":2,\"dest\":\"%s\",\"method\":\"m\"}", b.peer.unique);
        fake_skip(&b);
        fake_in(r, &a, "{\"type\":\"call\",\"id\":3,\"dest\":\"%s\",\"method\":\"m\"}", b.peer.unique);
        m = expect_error(&a, "limit");
        CHECK_EQ_INT(jint(m, "id"), 3);
        CHECK_CONTAINS(jstr(m, "message"), "max_pending_calls");
        fake_expect_none(&b, "over the limit");
        /* one-way calls do not count */
        fake_in(r, &a, "{\"type\":\"call\",\"id\":4,\"dest\":\"%s\",\"method\":\"m\",\"oneway\":true}", b.peer.unique);
        fake_expect(&b, "call");
        fake_expect_none(&a, "one-way at the limit");
        /* org.busd calls do not count either */
        fake_in(r, &a, "{\"type\":\"call\",\"id\":5,\"dest\":\"org.busd\",\"method\":\"ping\"}");
        CHECK_STREQ(jstr(fake_expect(&a, "reply"), "result/server"), "busd 1.0.0");

        /* cancel frees the slot, is never answered, and the late answer is refused */
        fake_in(r, &a, "{\"type\":\"cancel\",\"id\":1}");
        fake_expect_none(&a, "cancel");
        CHECK_EQ_INT(router_pending_calls(r), 1);
        fake_in(r, &b, "{\"type\":\"reply\",\"id\":%lld}", (long long)n1);
        CHECK_EQ_INT(jint(expect_error(&b, "no_such_call"), "call"), n1);
        fake_expect_none(&a, "answer after cancel");
        fake_in(r, &a, "{\"type\":\"call\",\"id\":1,\"dest\":\"%s\",\"method\":\"m\"}", b.peer.unique);
        fake_expect(&b, "call"); /* the id and the slot are free again */
        /* cancelling what is not pending: ignored, not answered */
        fake_in(r, &a, "{\"type\":\"cancel\",\"id\":12345}");
        fake_in(r, &b, "{\"type\":\"cancel\",\"id\":2}"); /* a's id, not b's */
        fake_expect_none(&a, "cancel unknown");
        fake_expect_none(&b, "cancel of another's call");
        CHECK_EQ_INT(router_pending_calls(r), 2);

        fake_remove(r, &a);
        CHECK_EQ_INT(router_pending_calls(r), 0);
        fake_remove(r, &b);
        router_free(r);
}

/* ---- org.busd ---------------------------------------------------------------- */

static void test_busmethods(void)
{
        struct router *r = fake_router(NULL);
        struct fake a, b;
        struct json_object *m;

        fake_hello(r, &a);
        fake_add(r, &b);
        fake_in(r, &b,
                "{\"type\":\"hello\",\"name\":\"svc\",\"names\":[\"org.svc\"],"
                "\"methods\":[{\"name\":\"get\",\"description\":\"d\"}]}");
        fake_skip(&b);

        fake_in(r, &a, "{\"type\":\"call\",\"id\":1,\"dest\":\"org.busd\",\"method\":\"ping\",\"params\":{}}");
        m = fake_expect(&a, "reply");
        CHECK_STREQ(jstr(m, "sender"), "org.busd");
        CHECK_STREQ(jstr(m, "result/server"), "busd 1.0.0");
        fake_in(r, &a, "{\"type\":\"call\",\"id\":2,\"dest\":\"org.busd\",\"method\":\"ping\",\"params\":[1]}");
        CHECK_EQ_INT(jint(expect_error(&a, "invalid_params"), "id"), 2);
        fake_in(r, &a, "{\"type\":\"call\",\"id\":3,\"dest\":\"org.busd\",\"method\":\"nope\"}");
        CHECK_EQ_INT(jint(expect_error(&a, "unknown_method"), "id"), 3);
        fake_in(r, &a, "{\"type\":\"call\",\"id\":4,\"dest\":\"org.busd\",\"method\":\"owner\",\"params\":{\"x\":1}}");
        expect_error(&a, "invalid_params");
        fake_in(r, &a,
                "{\"type\":\"call\",\"id\":5,\"dest\":\"org.busd\",\"method\":\"owner\",\"params\":{\"name\":\"org.no\"}}");
        expect_error(&a, "no_owner");
        /* a malformed name is a wrong parameter, for each method that takes one */
        static const char *const named[][2] = { { "owner", "name" }, { "introspect", "name" }, { "pidfd", "peer" } };
        static const char *const malformed[] = { "nodot", ":", ":01", "a..b", "busd-b/org.svc", "" };
        for (size_t i = 0; i < 3; i++)
                for (size_t k = 0; k < sizeof(malformed) / sizeof(malformed[0]); k++) {
                        fake_in(r, &a,
                                "{\"type\":\"call\",\"id\":9,\"dest\":\"org.busd\",\"method\":\"%s\","
                                "\"params\":{\"%s\":\"%s\"}}",
                                named[i][0], named[i][1], malformed[k]);
                        CHECK_EQ_INT(jint(expect_error(&a, "invalid_params"), "id"), 9);
                }
        /* org.busd itself: its owner is itself; no pidfd for it */
        fake_in(r, &a,
                "{\"type\":\"call\",\"id\":10,\"dest\":\"org.busd\",\"method\":\"owner\","
                "\"params\":{\"name\":\"org.busd\"}}");
        m = fake_expect(&a, "reply");
        CHECK_STREQ(jstr(m, "result/name"), "org.busd");
        CHECK_STREQ(jstr(m, "result/owner"), "org.busd");
        CHECK_EQ_INT(json_object_array_length(jget(m, "result/queue")), 0);
        fake_in(r, &a,
                "{\"type\":\"call\",\"id\":11,\"dest\":\"org.busd\",\"method\":\"introspect\","
                "\"params\":{\"name\":\"org.busd\"}}");
        CHECK_STREQ(jstr(fake_expect(&a, "reply"), "result/owner"), "org.busd");
        fake_in(r, &a,
                "{\"type\":\"call\",\"id\":12,\"dest\":\"org.busd\",\"method\":\"pidfd\","
                "\"params\":{\"peer\":\"org.busd\"}}");
        CHECK_EQ_INT(jint(expect_error(&a, "unsupported"), "id"), 12);

        fake_in(r, &a,
                "{\"type\":\"call\",\"id\":6,\"dest\":\"org.busd\",\"method\":\"introspect\","
                "\"params\":{\"name\":\"org.svc\"}}");
        m = fake_expect(&a, "reply");
        CHECK_STREQ(jstr(m, "result/owner"), b.peer.unique);
        CHECK_EQ_INT(json_object_array_length(jget(m, "result/methods")), 1);
        /* declare replaces the declarations */
        fake_in(r, &b, "{\"type\":\"declare\",\"id\":1,\"methods\":[{\"name\":\"x\"},{\"name\":\"y\"}]}");
        CHECK_EQ_INT(jint(fake_expect(&b, "reply"), "result/methods"), 2);
        fake_in(r, &a,
                "{\"type\":\"call\",\"id\":7,\"dest\":\"org.busd\",\"method\":\"introspect\","
                "\"params\":{\"name\":\"%s\"}}",
                b.peer.unique);
        m = fake_expect(&a, "reply");
        CHECK_EQ_INT(json_object_array_length(jget(m, "result/methods")), 2);

        fake_in(r, &a, "{\"type\":\"call\",\"id\":8,\"dest\":\"org.busd\",\"method\":\"list\"}");
        m = fake_expect(&a, "reply");
        CHECK_EQ_INT(json_object_array_length(jget(m, "result/names")), 1);
        CHECK_EQ_INT(json_object_array_length(jget(m, "result/peers")), 2);
        struct json_object *n0 = json_object_array_get_idx(jget(m, "result/names"), 0);
        CHECK_STREQ(jstr(n0, "name"), "org.svc");
        CHECK_STREQ(jstr(n0, "owner"), b.peer.unique);
        CHECK_EQ_INT(jint(n0, "pid"), b.peer.pid);

        fake_remove(r, &a);
        fake_remove(r, &b);
        router_free(r);
}

int main(void)
{
        test_hello();
        test_bad_input();
        test_call_routing();
        test_answers();
        test_call_failures();
        test_oneway_cancel_limit();
        test_busmethods();
        return 0;
}
