/* test_router_events.c: the routing core (busd/core/router.c and what it
 * drives) through router_handle() only, with in-memory peers
 * (test_core_fake.c): name ownership and its $bus.name events, publish and
 * subscribe, fan-out of one serialised event, the subscription limit.
 * docs/protocol.md is the reference for every expectation here. */
#include <json-c/json.h>
#include <string.h>

#include "buf.h"
#include "test.h"
#include "test_core_fake.h"
#include "test_router_common.h"

/* ---- names and events ---------------------------------------------------------- */

static void expect_name_event(struct fake *w, const char *name, const char *old_owner, const char *new_owner)
{
        struct json_object *m = fake_expect(w, "event");
        char topic[300];
        snprintf(topic, sizeof(topic), "$bus.name.%s", name);
        CHECK_STREQ(jstr(m, "topic"), topic);
        CHECK_STREQ(jstr(m, "sender"), "org.busd");
        CHECK_EQ_INT(jint(m, "creds/uid"), 0);
        CHECK_EQ_INT(jint(m, "creds/pid"), 1);
        CHECK_EQ_INT(json_object_object_length(jget(m, "data")), 3);
        CHECK_STREQ(jstr(m, "data/name"), name);
        if (old_owner)
                CHECK_STREQ(jstr(m, "data/old_owner"), old_owner);
        else
                CHECK(jnull(m, "data/old_owner"));
        if (new_owner)
                CHECK_STREQ(jstr(m, "data/new_owner"), new_owner);
        else
                CHECK(jnull(m, "data/new_owner"));
}

static void test_names(void)
{
        struct router *r = fake_router(NULL);
        struct fake w, x, a, b, c;
        struct json_object *m;

        fake_hello(r, &w);
        fake_hello(r, &x);
        fake_in(r, &w, "{\"type\":\"subscribe\",\"pattern\":\"$bus.name.>\"}");
        fake_in(r, &x, "{\"type\":\"subscribe\",\"pattern\":\">\"}");
        fake_in(r, &x, "{\"type\":\"subscribe\",\"pattern\":\"*.name.>\"}");
        fake_hello(r, &a);
        fake_hello(r, &b);
        fake_hello(r, &c);

        fake_in(r, &a, "{\"type\":\"request_name\",\"id\":1,\"name\":\"org.a\"}");
        m = fake_expect(&a, "reply");
        CHECK_EQ_INT(jint(m, "id"), 1);
        CHECK_STREQ(jstr(m, "result/name"), "org.a");
        CHECK_STREQ(jstr(m, "result/status"), "primary_owner");
        fake_expect_none(&a, "no name_acquired for a direct request");
        expect_name_event(&w, "org.a", NULL, a.peer.unique);

        fake_in(r, &b, "{\"type\":\"request_name\",\"id\":2,\"name\":\"org.a\"}");
        CHECK_STREQ(jstr(fake_expect(&b, "reply"), "result/status"), "in_queue");
        fake_in(r, &c, "{\"type\":\"request_name\",\"id\":3,\"name\":\"org.a\",\"queue\":false}");
        CHECK_STREQ(jstr(fake_expect(&c, "reply"), "result/status"), "exists");
        fake_in(r, &a, "{\"type\":\"request_name\",\"id\":4,\"name\":\"org.a\"}");
        CHECK_STREQ(jstr(fake_expect(&a, "reply"), "result/status"), "already_owner");
        fake_expect_none(&w, "no owner change");

        /* release: the next in line is told and the change published */
        fake_in(r, &a, "{\"type\":\"release_name\",\"id\":5,\"name\":\"org.a\"}");
        m = fake_expect(&a, "reply");
        CHECK_STREQ(jstr(m, "result/status"), "released");
        CHECK_STREQ(jstr(fake_expect(&b, "name_acquired"), "name"), "org.a");
        expect_name_event(&w, "org.a", a.peer.unique, b.peer.unique);
        fake_in(r, &a, "{\"type\":\"release_name\",\"id\":6,\"name\":\"org.a\"}");
        CHECK_STREQ(jstr(fake_expect(&a, "reply"), "result/status"), "not_owner");
        fake_in(r, &a, "{\"type\":\"release_name\",\"name\":\"org.a\"}");
        fake_expect_none(&a, "release without id");

        /* replace, when allowed */
        fake_in(r, &b, "{\"type\":\"request_name\",\"id\":7,\"name\":\"org.a\",\"allow_replacement\":true}");
        CHECK_STREQ(jstr(fake_expect(&b, "reply"), "result/status"), "already_owner");
        fake_in(r, &c, "{\"type\":\"request_name\",\"id\":8,\"name\":\"org.a\",\"replace\":true}");
        CHECK_STREQ(jstr(fake_expect(&c, "reply"), "result/status"), "primary_owner");
        CHECK_STREQ(jstr(fake_expect(&b, "name_lost"), "name"), "org.a");
        expect_name_event(&w, "org.a", b.peer.unique, c.peer.unique);
        /* b had queue=true (default): it is next in line */
        fake_in(r, &w,
                "{\"type\":\"call\",\"id\":1,\"dest\":\"org.busd\",\"method\":\"owner\",\"params\":{\"name\":\"org.a\"}}");
        m = fake_expect(&w, "reply");
        CHECK_STREQ(jstr(m, "result/owner"), c.peer.unique);
        CHECK_EQ_INT(json_object_array_length(jget(m, "result/queue")), 1);
        CHECK_STREQ(json_object_get_string(json_object_array_get_idx(jget(m, "result/queue"), 0)), b.peer.unique);

        /* the owner disconnects: the name passes on, then vanishes */
        fake_remove(r, &c);
        CHECK_STREQ(jstr(fake_expect(&b, "name_acquired"), "name"), "org.a");
        expect_name_event(&w, "org.a", c.peer.unique, b.peer.unique);
        fake_remove(r, &b);
        expect_name_event(&w, "org.a", b.peer.unique, NULL);
        /* names from hello are published too */
        struct fake d;
        fake_add(r, &d);
        fake_in(r, &d, "{\"type\":\"hello\",\"names\":[\"org.d\"]}");
        expect_name_event(&w, "org.d", NULL, d.peer.unique);
        fake_expect_none(&w, "all name events");

        /* reserved names and topics */
        fake_in(r, &a, "{\"type\":\"request_name\",\"id\":9,\"name\":\"org.busd\"}");
        CHECK_EQ_INT(jint(expect_error(&a, "reserved"), "id"), 9);
        fake_in(r, &a, "{\"type\":\"request_name\",\"name\":\"org.busd.sub\"}");
        CHECK(jnull(expect_error(&a, "reserved"), "id"));
        fake_in(r, &a, "{\"type\":\"publish\",\"id\":10,\"topic\":\"$bus.name.org.a\",\"data\":1}");
        CHECK_EQ_INT(jint(expect_error(&a, "reserved"), "id"), 10);
        fake_expect_none(&w, "no forged $ event");
        /* first-segment wildcards never saw the $ topics */
        fake_expect_none(&x, "$ topics are not matched by > or *");

        fake_remove(r, &w);
        fake_remove(r, &x);
        fake_remove(r, &a);
        fake_remove(r, &d);
        router_free(r);
}

/* One event is serialised once and the same buffer goes to every subscriber,
 * once per subscriber. */
static void test_fanout(void)
{
        struct router *r = fake_router(NULL);
        struct fake p, s[3];
        struct json_object *m;

        fake_hello(r, &p);
        for (int i = 0; i < 3; i++) {
                fake_hello(r, &s[i]);
                fake_in(r, &s[i], "{\"type\":\"subscribe\",\"pattern\":\"a.*\"}");
        }
        fake_in(r, &s[2], "{\"type\":\"subscribe\",\"id\":1,\"pattern\":\"a.>\"}");
        fake_in(r, &s[2], "{\"type\":\"subscribe\",\"id\":2,\"pattern\":\"*.b\"}");
        fake_in(r, &s[2], "{\"type\":\"subscribe\",\"id\":3,\"pattern\":\"*.b\"}"); /* again: a no-op */
        CHECK_EQ_INT(jint(fake_expect(&s[2], "reply"), "id"), 1);
        CHECK_EQ_INT(jint(fake_expect(&s[2], "reply"), "id"), 2);
        m = fake_expect(&s[2], "reply");
        CHECK_EQ_INT(jint(m, "id"), 3);
        CHECK_STREQ(jstr(m, "result/pattern"), "*.b");
        fake_in(r, &p, "{\"type\":\"subscribe\",\"pattern\":\"a.b\"}"); /* the publisher hears itself */

        fake_in(r, &p, "{\"type\":\"publish\",\"id\":5,\"topic\":\"a.b\",\"data\":{\"v\":[1,2.50,\"s\"]}}");
        struct buf *shared = NULL;
        for (int i = 0; i < 3; i++) {
                m = fake_expect(&s[i], "event");
                CHECK_EQ_INT(json_object_object_length(m), 5);
                CHECK_STREQ(jstr(m, "topic"), "a.b");
                CHECK_STREQ(jstr(m, "sender"), p.peer.unique);
                CHECK_EQ_INT(jint(m, "creds/uid"), p.peer.uid);
                CHECK_EQ_INT(jint(m, "creds/pid"), p.peer.pid);
                CHECK_EQ_INT(json_object_array_length(jget(m, "data/v")), 3);
                struct buf *b = fake_buf(&s[i], s[i].n - 1);
                CHECK(memmem(b->data, b->len, "2.50", 4) != NULL); /* original number text */
                if (!shared)
                        shared = b;
                CHECK(b == shared);
                fake_expect_none(&s[i], "one delivery per subscriber");
        }
        m = fake_expect(&p, "event");
        CHECK(fake_buf(&p, p.n - 2) == shared);
        m = fake_expect(&p, "reply");
        CHECK_EQ_INT(jint(m, "id"), 5);
        CHECK_EQ_INT(jint(m, "result/delivered"), 4);
        CHECK_EQ_INT(jint(m, "result/dropped"), 0);
        /* held by the 4 receivers only: the router kept no reference */
        CHECK_EQ_INT(shared->refs, 4);

        /* unsubscribe exactly one pattern */
        fake_in(r, &s[2], "{\"type\":\"unsubscribe\",\"id\":6,\"pattern\":\"a.*\"}");
        CHECK_STREQ(jstr(fake_expect(&s[2], "reply"), "result/pattern"), "a.*");
        fake_in(r, &s[2], "{\"type\":\"unsubscribe\",\"id\":7,\"pattern\":\"a.*\"}");
        CHECK_EQ_INT(jint(expect_error(&s[2], "not_subscribed"), "id"), 7);
        fake_in(r, &p, "{\"type\":\"publish\",\"topic\":\"a.c\"}");
        fake_expect_none(&p, "publish without id: no ack");
        CHECK(jnull(fake_expect(&s[0], "event"), "data"));
        fake_expect(&s[1], "event");
        fake_expect(&s[2], "event"); /* still a.> */
        fake_in(r, &s[2], "{\"type\":\"unsubscribe\",\"pattern\":\"a.>\"}");
        fake_in(r, &p, "{\"type\":\"publish\",\"id\":8,\"topic\":\"a.c\"}");
        fake_expect_none(&s[2], "unsubscribed");
        CHECK_EQ_INT(jint(fake_expect(&p, "reply"), "result/delivered"), 2);

        for (int i = 0; i < 3; i++)
                fake_remove(r, &s[i]);
        fake_remove(r, &p);
        router_free(r);
}

static void test_subscription_limit(void)
{
        struct router_limits lim;
        router_limits_default(&lim);
        lim.max_subscriptions = 2;
        struct router *r = fake_router(&lim);
        struct fake a;

        fake_hello(r, &a);
        fake_in(r, &a, "{\"type\":\"subscribe\",\"pattern\":\"a\"}");
        fake_in(r, &a, "{\"type\":\"subscribe\",\"pattern\":\"b\"}");
        fake_expect_none(&a, "within the limit");
        fake_in(r, &a, "{\"type\":\"subscribe\",\"id\":3,\"pattern\":\"c\"}");
        CHECK_EQ_INT(jint(expect_error(&a, "limit"), "id"), 3);
        fake_in(r, &a, "{\"type\":\"unsubscribe\",\"pattern\":\"a\"}");
        fake_in(r, &a, "{\"type\":\"subscribe\",\"id\":4,\"pattern\":\"c\"}");
        CHECK_EQ_INT(jint(fake_expect(&a, "reply"), "id"), 4);
        fake_remove(r, &a);
        router_free(r);
}

int main(void)
{
        test_names();
        test_fanout();
        test_subscription_limit();
        return 0;
}
