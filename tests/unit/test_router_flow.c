/* test_router_flow.c: flow control instead of loss (busd/core/flow.c),
 * through router_handle() with in-memory peers (test_core_fake.c): a publish
 * to a full subscriber is held on the publisher, which is paused and resumed
 * once the subscriber drained; the bound (stall timeout); lossy
 * subscriptions; a connection never waits on itself; held calls; a receiver
 * leaving. docs/protocol.md §4.3 and docs/guarantees.md are the reference. */
#include <json-c/json.h>
#include <string.h>

#include "buf.h"
#include "router.h"
#include "test.h"
#include "test_core_fake.h"
#include "test_router_common.h"

#define QUEUE 2000
#define STALL 5000

static struct router *small_queue_router(void)
{
        struct router_limits lim;

        router_limits_default(&lim);
        lim.queue_bytes = QUEUE;
        lim.stall_timeout_ms = STALL;
        return fake_router(&lim);
}

static const char *filler(void)
{
        static char s[301];

        memset(s, 'x', 300);
        return s;
}

static bool write_all(struct router *r, struct fake *f)
{
        return fake_write(r, f, f->n - f->written);
}

/* f subscribes to pattern (lossy or not) and gets the reply; returns its
 * effective mode. */
static bool subscribe(struct router *r, struct fake *f, const char *pattern, bool lossy)
{
        fake_skip(f);
        fake_in(r, f, "{\"type\":\"subscribe\",\"id\":7,\"pattern\":\"%s\",\"lossy\":%s}", pattern,
                lossy ? "true" : "false");
        struct json_object *rep = fake_expect(f, "reply");
        CHECK_STREQ(jstr(rep, "result/pattern"), pattern);
        bool got = json_object_get_boolean(jget(rep, "result/lossy"));
        write_all(r, f);
        return got;
}

/* p publishes an event with sequence number seq; returns router_handle()'s answer. */
static int publish(struct router *r, struct fake *p, const char *topic, int seq)
{
        fake_skip(p);
        return fake_in(r, p, "{\"type\":\"publish\",\"id\":%d,\"topic\":\"%s\",\"data\":[%d,\"%s\"]}", seq, topic, seq,
                       filler());
}

/* The ack of publish seq: returns its dropped count, checks delivered. */
static int64_t ack(struct router *r, struct fake *p, int seq, int64_t delivered)
{
        struct json_object *a = fake_expect(p, "reply");
        CHECK_EQ_INT(jint(a, "id"), seq);
        CHECK_EQ_INT(jint(a, "result/delivered"), delivered);
        int64_t dropped = jint(a, "result/dropped");
        write_all(r, p);
        return dropped;
}

/* Publishes until one is held (ROUTER_PAUSE), `reader` (may be NULL)
 * reading all along; returns the held one's sequence number. */
static int fill(struct router *r, struct fake *p, const char *topic, int64_t delivered, struct fake *reader)
{
        for (int seq = 1; seq < 100; seq++) {
                int res = publish(r, p, topic, seq);
                if (reader)
                        fake_write(r, reader, reader->n - reader->written);
                if (res == ROUTER_PAUSE)
                        return seq;
                CHECK_EQ_INT(ack(r, p, seq, delivered), 0);
        }
        CHECK(!"never held");
        return 0;
}

/* The data sequence numbers s got, in order, must be 1..n. */
static void expect_in_order(struct fake *s, int n)
{
        int want = 1;
        struct json_object *m;

        while (fake_unread(s) && (m = fake_next(s))) {
                if (strcmp(jstr(m, "type"), "event") != 0)
                        continue;
                CHECK_EQ_INT(json_object_get_int(json_object_array_get_idx(jget(m, "data"), 0)), want);
                want++;
        }
        CHECK_EQ_INT(want - 1, n);
}

static void test_hold_and_resume(void)
{
        struct router *r = small_queue_router();
        struct fake p, s, other;

        fake_add_flow(r, &p);
        fake_add_flow(r, &s);
        fake_add_flow(r, &other);
        CHECK(!subscribe(r, &s, "t.>", false));
        CHECK(!subscribe(r, &other, "t.>", false));
        int held = fill(r, &p, "t.a", 2, &other);
        /* held: no ack yet, the other subscriber has it already, nothing dropped */
        fake_expect_none(&p, "held publish");
        CHECK_EQ_INT(s.peer.drops_total, 0);
        CHECK_EQ_INT(fake_unread(&other), (size_t)held);
        CHECK_EQ_INT(p.resumes, 0);
        /* the publisher stays paused while its own answers drain */
        CHECK(!fake_write(r, &p, 0));
        /* s drains to half: the event is queued, the publisher is answered and resumed */
        CHECK_EQ_INT(s.resumes, 0);
        write_all(r, &s);
        CHECK_EQ_INT(p.resumes, 1);
        CHECK_EQ_INT(ack(r, &p, held, 2), 0);
        /* it flows on: everything arrives, in order */
        for (int seq = held + 1; seq <= held + 20; seq++) {
                if (publish(r, &p, "t.a", seq) == ROUTER_PAUSE) {
                        write_all(r, &s);
                        write_all(r, &other);
                }
                CHECK_EQ_INT(ack(r, &p, seq, 2), 0);
                write_all(r, &other);
        }
        write_all(r, &s);
        expect_in_order(&s, held + 20);
        expect_in_order(&other, held + 20);
        CHECK_EQ_INT(s.peer.drops_total + other.peer.drops_total, 0);
        fake_remove(r, &p);
        fake_remove(r, &s);
        fake_remove(r, &other);
        router_free(r);
}

static void test_stall_bound(void)
{
        struct router *r = small_queue_router();
        struct fake p, stuck, q, good;

        fake_add_flow(r, &p);
        fake_add_flow(r, &stuck);
        fake_add_flow(r, &q);
        fake_add_flow(r, &good);
        subscribe(r, &stuck, "t.>", false);
        subscribe(r, &good, "u.>", false);
        int held = fill(r, &p, "t.a", 1, NULL);
        /* other publishers, to others, never notice */
        CHECK_EQ_INT(publish(r, &q, "u.a", 1), ROUTER_OK);
        CHECK_EQ_INT(ack(r, &q, 1, 1), 0);
        router_set_time(r, 1000000 + STALL - 1);
        router_tick(r);
        CHECK_EQ_INT(p.resumes, 0);
        fake_expect_none(&p, "still held");
        router_set_time(r, 1000000 + STALL);
        router_tick(r);
        /* given up on: the stuck subscriber loses it (and is cut), the publisher goes on */
        CHECK_EQ_INT(p.resumes, 1);
        CHECK_EQ_INT(ack(r, &p, held, 0), 1);
        CHECK_EQ_INT(stuck.kills, 1);
        CHECK_EQ_INT(stuck.peer.drops_total, 1);
        fake_remove(r, &stuck);
        CHECK_EQ_INT(publish(r, &p, "t.a", held + 1), ROUTER_OK);
        CHECK_EQ_INT(ack(r, &p, held + 1, 0), 0);
        fake_remove(r, &p);
        fake_remove(r, &q);
        fake_remove(r, &good);
        router_free(r);
}

static void test_receiver_leaves(void)
{
        struct router *r = small_queue_router();
        struct fake p, s;

        fake_add_flow(r, &p);
        fake_add_flow(r, &s);
        subscribe(r, &s, "t.>", false);
        int held = fill(r, &p, "t.a", 1, NULL);
        fake_remove(r, &s);
        CHECK_EQ_INT(p.resumes, 1);
        CHECK_EQ_INT(ack(r, &p, held, 0), 0); /* gone: neither delivered nor dropped */
        fake_remove(r, &p);
        router_free(r);
}

static void test_lossy(void)
{
        struct router *r = small_queue_router();
        struct fake p, s;

        fake_add_flow(r, &p);
        fake_add_flow(r, &s);
        CHECK(subscribe(r, &s, "t.>", true));
        int64_t dropped = 0;
        for (int seq = 1; seq < 40; seq++) {
                CHECK_EQ_INT(publish(r, &p, "t.a", seq), ROUTER_OK); /* never slowed down */
                struct json_object *a = fake_expect(&p, "reply");
                dropped += jint(a, "result/dropped");
                write_all(r, &p);
        }
        CHECK(dropped > 0);
        CHECK_EQ_INT(s.peer.drops_total, (uint64_t)dropped);
        /* subscribing again switches the mode */
        CHECK(!subscribe(r, &s, "t.>", false));
        fake_remove(r, &p);
        fake_remove(r, &s);
        router_free(r);
}

static void test_self_publish(void)
{
        struct router *r = small_queue_router();
        struct fake p;

        fake_add_flow(r, &p);
        CHECK(!subscribe(r, &p, "t.>", false));
        /* it does not read its own events: its own delivery is lossy, it never waits on itself */
        for (int seq = 1; seq < 20; seq++)
                fake_in(r, &p, "{\"type\":\"publish\",\"topic\":\"t.a\",\"data\":\"%s\"}", filler());
        CHECK(p.peer.drops_total > 0);
        CHECK(!p.peer.hold);
        write_all(r, &p);
        fake_remove(r, &p);
        router_free(r);
}

static void test_call_held(void)
{
        struct router *r = small_queue_router();
        struct fake p, callee, caller;

        fake_add_flow(r, &p);
        fake_add_flow(r, &callee);
        fake_add_flow(r, &caller);
        subscribe(r, &callee, "t.>", false);
        int held = fill(r, &p, "t.a", 1, NULL);
        /* a call to the full callee waits too, on its caller */
        fake_skip(&caller);
        CHECK_EQ_INT(fake_in(r, &caller, "{\"type\":\"call\",\"id\":5,\"dest\":\"%s\",\"method\":\"m\"}",
                             callee.peer.unique),
                     ROUTER_PAUSE);
        fake_expect_none(&caller, "held call");
        write_all(r, &callee);
        CHECK_EQ_INT(caller.resumes, 1);
        CHECK_EQ_INT(p.resumes, 1);
        ack(r, &p, held, 1);
        /* the callee got the event, then the call */
        struct json_object *m;
        while ((m = fake_next(&callee)) && strcmp(jstr(m, "type"), "call") != 0)
                ;
        CHECK(m);
        int64_t serial = jint(m, "id");
        fake_in(r, &callee, "{\"type\":\"reply\",\"id\":%lld,\"result\":1}", (long long)serial);
        CHECK_EQ_INT(jint(fake_expect(&caller, "reply"), "id"), 5);
        fake_remove(r, &p);
        fake_remove(r, &callee);
        fake_remove(r, &caller);
        router_free(r);
}

int main(void)
{
        test_hold_and_resume();
        test_stall_bound();
        test_receiver_leaves();
        test_lossy();
        test_self_publish();
        test_call_held();
        printf("test_router_flow: ok\n");
        return 0;
}
