/* test_router_queues.c: the routing core (busd/core/router.c and what it
 * drives) through router_handle() only, with in-memory peers
 * (test_core_fake.c): bounded queues (events dropped and the dropped notice,
 * calls and replies to a full queue), back-pressure, stalled peers, size
 * limits, and counters exact and back to zero once every peer is gone.
 * docs/protocol.md is the reference for every expectation here. */
#include <json-c/json.h>
#include <string.h>

#include "buf.h"
#include "test.h"
#include "test_core_fake.h"
#include "test_router_common.h"

/* Writes everything f was sent (the carrier flushed its queue). */
static bool write_all(struct router *r, struct fake *f)
{
        return fake_write(r, f, f->n - f->written);
}

/* A string of n 'x' (static, up to 4000). */
static const char *filler(size_t n)
{
        static char s[4001];
        CHECK(n < sizeof(s));
        memset(s, 'x', n);
        s[n] = 0;
        return s;
}

/* Calls org.busd stats from f and returns the result (lives until f's next read). */
static struct json_object *stats(struct router *r, struct fake *f)
{
        fake_skip(f);
        fake_in(r, f, "{\"type\":\"call\",\"id\":999,\"dest\":\"org.busd\",\"method\":\"stats\"}");
        struct json_object *rep = fake_expect(f, "reply");
        CHECK_EQ_INT(jint(rep, "id"), 999);
        return jget(rep, "result");
}

/* ---- queues ------------------------------------------------------------------ */

#define QUEUE 2000

static struct router *small_queue_router(void)
{
        struct router_limits lim;
        router_limits_default(&lim);
        lim.queue_bytes = QUEUE;
        lim.stall_timeout_ms = 15000;
        return fake_router(&lim);
}

/* p publishes one event with 300 bytes of data; returns how many
 * subscribers dropped it (from the acknowledgement). */
static int64_t publish(struct router *r, struct fake *p, const char *topic)
{
        fake_skip(p);
        fake_in(r, p, "{\"type\":\"publish\",\"id\":1,\"topic\":\"%s\",\"data\":\"%s\"}", topic, filler(300));
        struct json_object *ack = fake_expect(p, "reply");
        int64_t dropped = jint(ack, "result/dropped");
        write_all(r, p); /* the publisher reads its acks */
        return dropped;
}

/* Publishes until s's queue refuses an event; returns how many s got. */
static size_t fill(struct router *r, struct fake *p, struct fake *s, const char *topic)
{
        size_t before = s->n;
        for (int i = 0; i < 100; i++)
                if (publish(r, p, topic) > 0)
                        return s->n - before;
        CHECK(!"queue never filled");
        return 0;
}

static void test_event_drops(void)
{
        struct router *r = small_queue_router();
        struct fake p, s;
        struct json_object *m;

        fake_hello(r, &p);
        fake_hello(r, &s);
        fake_in(r, &s, "{\"type\":\"subscribe\",\"pattern\":\"t.>\"}");
        write_all(r, &s);
        CHECK_EQ_INT(s.peer.queued_bytes, 0);

        size_t got = fill(r, &p, &s, "t.a");
        size_t ev = fake_buf(&s, s.n - 1)->len;
        CHECK(got >= 3);
        CHECK_EQ_INT(got, QUEUE / ev); /* exactly as many as fit */
        CHECK_EQ_INT(s.peer.queued_bytes, got * ev);
        /* more events are dropped and counted */
        CHECK_EQ_INT(publish(r, &p, "t.b"), 1);
        CHECK_EQ_INT(publish(r, &p, "t.c"), 1);
        CHECK_EQ_INT(s.n, 1 + got); /* the welcome and the events that fit */
        /* draining, but not to half: no notice yet, and the next event is still dropped */
        size_t keep = (QUEUE / 2) / ev + 1; /* the fewest events that are more than half */
        CHECK(keep <= got);
        CHECK(!fake_write(r, &s, got - keep));
        CHECK(s.peer.queued_bytes > QUEUE / 2);
        CHECK_EQ_INT(s.n, 1 + got);
        CHECK_EQ_INT(publish(r, &p, "t.d"), 1);
        CHECK_EQ_INT(s.n, 1 + got);
        /* drained to half: the notice comes at once, with the right counts */
        CHECK(fake_write(r, &s, 1));
        CHECK_EQ_INT(s.n, 2 + got);
        s.read = s.n - 1;
        m = fake_expect(&s, "dropped");
        CHECK_EQ_INT(json_object_object_length(m), 3);
        CHECK_EQ_INT(jint(m, "count"), 4);
        CHECK_EQ_INT(jint(m, "total"), 4);
        /* and the next event follows it */
        CHECK_EQ_INT(publish(r, &p, "t.e"), 0);
        CHECK_STREQ(jstr(fake_expect(&s, "event"), "topic"), "t.e");

        /* a second round: count restarts, total goes on */
        write_all(r, &s);
        fill(r, &p, &s, "t.f");
        CHECK_EQ_INT(publish(r, &p, "t.g"), 1);
        fake_skip(&s);
        CHECK(write_all(r, &s));
        m = fake_expect(&s, "dropped");
        CHECK_EQ_INT(jint(m, "count"), 2);
        CHECK_EQ_INT(jint(m, "total"), 6);
        fake_expect_none(&s, "one notice");
        /* a drop notice is not repeated without new drops */
        CHECK(write_all(r, &s));
        fake_expect_none(&s, "no new drops");

        m = stats(r, &p);
        CHECK_EQ_INT(jint(m, "drops"), 6);
        struct json_object *peers = jget(m, "peers");
        int64_t s_drops = -1;
        for (size_t i = 0; i < json_object_array_length(peers); i++)
                if (strcmp(jstr(json_object_array_get_idx(peers, i), "unique"), s.peer.unique) == 0)
                        s_drops = jint(json_object_array_get_idx(peers, i), "drops");
        CHECK_EQ_INT(s_drops, 6);

        fake_remove(r, &p);
        fake_remove(r, &s);
        router_free(r);
}

/* A call to a full queue fails with queue_full and is not delivered. */
static void test_call_to_full_queue(void)
{
        struct router *r = small_queue_router();
        struct fake p, b, a;

        fake_hello(r, &p);
        fake_hello(r, &b);
        fake_hello(r, &a);
        fake_in(r, &b, "{\"type\":\"subscribe\",\"pattern\":\"t\"}");
        write_all(r, &b);
        fill(r, &p, &b, "t");
        size_t before = b.n;
        fake_in(r, &a, "{\"type\":\"call\",\"id\":31,\"dest\":\"%s\",\"method\":\"m\",\"params\":\"%s\"}",
                b.peer.unique, filler(600));
        struct json_object *m = expect_error(&a, "queue_full");
        CHECK_EQ_INT(jint(m, "id"), 31);
        CHECK_EQ_INT(b.n, before);
        CHECK_EQ_INT(router_pending_calls(r), 0);
        /* once it drains, calls go through */
        write_all(r, &b);
        fake_in(r, &a, "{\"type\":\"call\",\"id\":32,\"dest\":\"%s\",\"method\":\"m\"}", b.peer.unique);
        fake_skip(&b);
        b.read = b.n - 1;
        fake_expect(&b, "call");
        fake_expect_none(&a, "delivered");
        fake_remove(r, &p);
        fake_remove(r, &b);
        fake_remove(r, &a);
        router_free(r);
}

/* A reply to a caller whose queue is full: the caller gets queue_full in its
 * place, the callee is told. */
static void test_reply_to_full_queue(void)
{
        struct router *r = small_queue_router();
        struct fake p, b, a;
        struct json_object *m;

        fake_hello(r, &p);
        fake_hello(r, &b);
        fake_hello(r, &a);
        fake_in(r, &a, "{\"type\":\"call\",\"id\":41,\"dest\":\"%s\",\"method\":\"m\"}", b.peer.unique);
        int64_t n = jint(fake_expect(&b, "call"), "id");
        fake_in(r, &a, "{\"type\":\"subscribe\",\"pattern\":\"t\"}");
        write_all(r, &a);
        fill(r, &p, &a, "t");
        fake_skip(&a);
        fake_in(r, &b, "{\"type\":\"reply\",\"id\":%lld,\"result\":\"%s\"}", (long long)n, filler(500));
        m = expect_error(&a, "queue_full"); /* queued although the queue is full */
        CHECK_EQ_INT(jint(m, "id"), 41);
        CHECK_CONTAINS(jstr(m, "message"), b.peer.unique);
        fake_expect_none(&a, "one answer");
        m = expect_error(&b, "queue_full");
        CHECK(jnull(m, "id"));
        CHECK_EQ_INT(jint(m, "call"), n);
        CHECK_EQ_INT(router_pending_calls(r), 0);
        fake_remove(r, &p);
        fake_remove(r, &b);
        fake_remove(r, &a);
        router_free(r);
}

/* Answers to a peer's own requests are always queued; over the limit the
 * router asks the carrier to stop reading (ROUTER_PAUSE) until it drains. */
static void test_backpressure(void)
{
        struct router *r = small_queue_router();
        struct fake a;
        int res = ROUTER_OK, sent = 0;

        fake_hello(r, &a);
        write_all(r, &a);
        while (res == ROUTER_OK) {
                CHECK(sent < 1000);
                res = fake_in(r, &a, "{\"type\":\"subscribe\",\"id\":%d,\"pattern\":\"p%d\"}", sent, sent);
                sent++;
        }
        CHECK_EQ_INT(res, ROUTER_PAUSE);
        CHECK(a.peer.queued_bytes > QUEUE);
        /* still answered, all of them, including errors without an id */
        for (int i = 0; i < 5; i++)
                CHECK_EQ_INT(fake_in(r, &a, "{\"type\":\"subscribe\",\"id\":%d,\"pattern\":\"q%d\"}", sent + i, i),
                             ROUTER_PAUSE);
        CHECK_EQ_INT(fake_in(r, &a, "{\"type\":\"unsubscribe\",\"pattern\":\"nope\"}"), ROUTER_PAUSE);
        for (int i = 0; i < sent + 5; i++)
                CHECK_EQ_INT(jint(fake_expect(&a, "reply"), "id"), i);
        expect_error(&a, "not_subscribed");
        fake_expect_none(&a, "all answered");
        CHECK_EQ_INT(a.peer.queued_bytes, fake_unwritten_bytes(&a));
        /* resume only when drained to half */
        while (fake_unwritten_bytes(&a) - fake_buf(&a, a.written)->len > QUEUE / 2)
                CHECK(!fake_write(r, &a, 1));
        CHECK(fake_write(r, &a, 1));
        CHECK(a.peer.queued_bytes <= QUEUE / 2);
        CHECK_EQ_INT(fake_in(r, &a, "{\"type\":\"subscribe\",\"pattern\":\"z\"}"), ROUTER_OK);
        fake_remove(r, &a);
        router_free(r);
}

/* router_tick() disconnects a peer whose queue stayed full past the stall
 * timeout, and not one that made progress. */
static void test_stall(void)
{
        struct router *r = small_queue_router();
        struct fake p, s1, s2;
        uint64_t t0 = 2000000;

        router_set_time(r, t0);
        fake_hello(r, &p);
        fake_hello(r, &s1);
        fake_hello(r, &s2);
        fake_in(r, &s1, "{\"type\":\"subscribe\",\"pattern\":\"t\"}");
        fake_in(r, &s2, "{\"type\":\"subscribe\",\"pattern\":\"t\"}");
        write_all(r, &s1);
        write_all(r, &s2);
        fill(r, &p, &s1, "t"); /* both full now */
        CHECK(s2.peer.queued_bytes + 300 > QUEUE);

        router_set_time(r, t0 + 5000);
        fake_write(r, &s2, 1); /* s2 reads a little: progress */
        router_set_time(r, t0 + 14999);
        router_tick(r);
        CHECK_EQ_INT(s1.kills + s2.kills + p.kills, 0);
        router_set_time(r, t0 + 15000);
        router_tick(r);
        CHECK_EQ_INT(s1.kills, 1);
        CHECK_CONTAINS(s1.kill_reason, "15000 ms");
        CHECK_EQ_INT(s2.kills, 0);
        CHECK_EQ_INT(p.kills, 0);
        router_set_time(r, t0 + 60000);
        router_tick(r);
        CHECK_EQ_INT(s1.kills, 1); /* told once; the carrier removes it */
        CHECK_EQ_INT(s2.kills, 0);
        fake_remove(r, &s1);

        /* s2 fills up again: its clock starts at that moment */
        uint64_t t1 = t0 + 60000;
        router_set_time(r, t1);
        write_all(r, &s2);
        fill(r, &p, &s2, "t");
        router_set_time(r, t1 + 14999);
        router_tick(r);
        CHECK_EQ_INT(s2.kills, 0);
        router_set_time(r, t1 + 15000);
        router_tick(r);
        CHECK_EQ_INT(s2.kills, 1);

        /* a peer over the limit with its own answers stalls too */
        struct fake q;
        uint64_t t2 = t1 + 20000;
        router_set_time(r, t2);
        fake_hello(r, &q);
        for (int i = 0; fake_in(r, &q, "{\"type\":\"subscribe\",\"id\":1,\"pattern\":\"q%d\"}", i) == ROUTER_OK; i++)
                ;
        router_set_time(r, t2 + 14999);
        router_tick(r);
        CHECK_EQ_INT(q.kills, 0);
        router_set_time(r, t2 + 15000);
        router_tick(r);
        CHECK_EQ_INT(q.kills, 1);
        CHECK_EQ_INT(p.kills, 0);

        fake_remove(r, &p);
        fake_remove(r, &s2);
        fake_remove(r, &q);
        router_free(r);
}

/* A relay bigger than the receiver's max_recv is refused with too_large. */
static void test_too_large(void)
{
        struct router *r = fake_router(NULL);
        struct fake a, small, b;
        struct json_object *m;

        fake_hello(r, &a);
        fake_add_ex(r, &small, 1000, 1100); /* room for a welcome, little more */
        fake_in(r, &small, "{\"type\":\"hello\"}");
        fake_skip(&small);
        fake_hello(r, &b);

        /* a call too big for the callee */
        fake_in(r, &a, "{\"type\":\"call\",\"id\":1,\"dest\":\"%s\",\"method\":\"m\",\"params\":\"%s\"}",
                small.peer.unique, filler(1200));
        m = expect_error(&a, "too_large");
        CHECK_EQ_INT(jint(m, "id"), 1);
        fake_expect_none(&small, "not delivered");
        CHECK_EQ_INT(router_pending_calls(r), 0);
        /* just small enough is delivered */
        fake_in(r, &a, "{\"type\":\"call\",\"id\":2,\"dest\":\"%s\",\"method\":\"m\",\"params\":\"%s\"}",
                small.peer.unique, filler(100));
        int64_t n = jint(fake_expect(&small, "call"), "id");
        CHECK(fake_buf(&small, small.n - 1)->len - 1 <= 1100);
        fake_in(r, &small, "{\"type\":\"reply\",\"id\":%lld}", (long long)n);
        fake_expect(&a, "reply");

        /* a reply too big for the caller: the caller gets too_large, the callee is told */
        fake_in(r, &small, "{\"type\":\"call\",\"id\":3,\"dest\":\"%s\",\"method\":\"m\"}", b.peer.unique);
        n = jint(fake_expect(&b, "call"), "id");
        fake_in(r, &b, "{\"type\":\"reply\",\"id\":%lld,\"result\":\"%s\"}", (long long)n, filler(1200));
        m = expect_error(&small, "too_large");
        CHECK_EQ_INT(jint(m, "id"), 3);
        m = expect_error(&b, "too_large");
        CHECK(jnull(m, "id"));
        CHECK_EQ_INT(jint(m, "call"), n);
        CHECK_EQ_INT(router_pending_calls(r), 0);

        /* an event too big for a subscriber is dropped for it alone */
        fake_in(r, &small, "{\"type\":\"subscribe\",\"pattern\":\"t\"}");
        fake_in(r, &b, "{\"type\":\"subscribe\",\"pattern\":\"t\"}");
        fake_in(r, &a, "{\"type\":\"publish\",\"id\":4,\"topic\":\"t\",\"data\":\"%s\"}", filler(1200));
        m = fake_expect(&a, "reply");
        CHECK_EQ_INT(jint(m, "result/delivered"), 1);
        CHECK_EQ_INT(jint(m, "result/dropped"), 1);
        fake_expect(&b, "event");
        fake_expect_none(&small, "event too large");
        /* its next event comes after a dropped notice */
        fake_in(r, &a, "{\"type\":\"publish\",\"topic\":\"t\",\"data\":1}");
        CHECK_EQ_INT(jint(fake_expect(&small, "dropped"), "count"), 1);
        fake_expect(&small, "event");

        fake_remove(r, &a);
        fake_remove(r, &small);
        fake_remove(r, &b);
        router_free(r);
}

/* ---- counters after everyone has left ------------------------------------- */

static void test_counters_back_to_zero(void)
{
        struct router *r = small_queue_router();
        struct fake f[6], z;
        struct json_object *m;

        for (int i = 0; i < 6; i++)
                fake_hello(r, &f[i]);
        /* names, queues for names, subscriptions, calls pending both ways, drops */
        for (int i = 0; i < 6; i++) {
                fake_in(r, &f[i], "{\"type\":\"request_name\",\"name\":\"org.n%d\"}", i % 3);
                fake_in(r, &f[i], "{\"type\":\"request_name\",\"name\":\"org.own%d\"}", i);
                fake_in(r, &f[i], "{\"type\":\"subscribe\",\"pattern\":\"t.%d.>\"}", i % 2);
                fake_in(r, &f[i], "{\"type\":\"subscribe\",\"pattern\":\">\"}");
        }
        for (int i = 0; i < 6; i++) {
                fake_in(r, &f[i], "{\"type\":\"call\",\"id\":%d,\"dest\":\"org.n%d\",\"method\":\"m\"}", i,
                        (i + 1) % 3);
                fake_in(r, &f[i], "{\"type\":\"call\",\"id\":100,\"dest\":\"%s\",\"method\":\"self\"}",
                        f[i].peer.unique);
        }
        for (int k = 0; k < 10; k++)
                fake_in(r, &f[k % 6], "{\"type\":\"publish\",\"topic\":\"t.%d.x\",\"data\":\"%s\"}", k % 2,
                        filler(300));
        CHECK(router_pending_calls(r) > 0);
        m = stats(r, &f[0]);
        CHECK_EQ_INT(jint(m, "connections"), 6);
        CHECK_EQ_INT(jint(m, "subscriptions"), 12);
        CHECK_EQ_INT(jint(m, "names"), 9);
        CHECK_EQ_INT(jint(m, "pending_calls"), router_pending_calls(r));
        CHECK(jint(m, "drops") > 0);

        /* remove in an order that makes names move and calls fail */
        int order[6] = { 3, 0, 5, 1, 4, 2 };
        for (int i = 0; i < 6; i++) {
                fake_remove(r, &f[order[i]]);
                CHECK_EQ_INT(router_peer_count(r), 5 - i);
        }
        CHECK_EQ_INT(router_peer_count(r), 0);
        CHECK_EQ_INT(router_pending_calls(r), 0);

        fake_hello(r, &z);
        m = stats(r, &z);
        CHECK_EQ_INT(jint(m, "connections"), 1);
        CHECK_EQ_INT(jint(m, "connections_total"), 7);
        CHECK_EQ_INT(jint(m, "pending_calls"), 0);
        CHECK_EQ_INT(jint(m, "subscriptions"), 0);
        CHECK_EQ_INT(jint(m, "names"), 0);
        CHECK_EQ_INT(json_object_array_length(jget(m, "peers")), 1);
        CHECK(jint(m, "messages_in") > 40);
        CHECK(jint(m, "deliveries") + jint(m, "drops") > 0);
        fake_remove(r, &z);
        router_free(r);
}

/* Exact counters in a small scenario. */
static void test_counters_exact(void)
{
        struct router *r = fake_router(NULL);
        struct fake a, b;
        struct json_object *m;

        router_set_time(r, 5000000);
        fake_hello(r, &a);                                                   /* 1 message in */
        fake_hello(r, &b);                                                   /* 1 */
        fake_in(r, &b, "{\"type\":\"subscribe\",\"pattern\":\"t\"}");        /* 1 */
        fake_in(r, &a, "{\"type\":\"publish\",\"topic\":\"t\",\"data\":1}"); /* 1: event, 1 delivery */
        fake_in(r, &a, "{\"type\":\"publish\",\"topic\":\"u\",\"data\":1}"); /* 1: event, 0 deliveries */
        fake_expect(&b, "event");
        fake_in(r, &a, "{\"type\":\"call\",\"id\":1,\"dest\":\"%s\",\"method\":\"m\"}", b.peer.unique); /* 1 call */
        int64_t n = jint(fake_expect(&b, "call"), "id");
        fake_in(r, &b, "{\"type\":\"reply\",\"id\":%lld}", (long long)n);                   /* 1 reply */
        fake_in(r, &a, "{\"type\":\"call\",\"id\":2,\"dest\":\"org.x\",\"method\":\"m\"}"); /* 1: error */
        router_set_time(r, 5000042);
        m = stats(r, &a); /* this call is counted before the answer is built */
        CHECK_EQ_INT(jint(m, "messages_in"), 9);
        CHECK_EQ_INT(jint(m, "calls"), 1);
        CHECK_EQ_INT(jint(m, "replies"), 1);
        CHECK_EQ_INT(jint(m, "events"), 2);
        CHECK_EQ_INT(jint(m, "deliveries"), 1);
        CHECK_EQ_INT(jint(m, "drops"), 0);
        CHECK_EQ_INT(jint(m, "errors"), 1);
        CHECK_EQ_INT(jint(m, "uptime_ms"), 42 + 5000000 - 1000000);
        CHECK_EQ_INT(jint(m, "messages_out"), a.n + b.n - 1); /* all but this reply */
        fake_remove(r, &a);
        fake_remove(r, &b);
        router_free(r);
}

/* A connection that owns a name and watches $bus.name.> leaves: the name's
 * event is published while it is being removed; it must not be taken for a
 * stalled subscriber (found by fuzz_router: it stayed linked in the stalled
 * list after its memory was reused, and router_tick looped or read freed
 * memory). */
static void test_leaving_watcher_is_not_stalled(void)
{
        struct router *r = fake_router(NULL);
        struct fake a = { 0 }, other = { 0 };

        fake_hello(r, &a);
        fake_hello(r, &other);
        fake_in(r, &a, "{\"type\":\"subscribe\",\"id\":1,\"pattern\":\"$bus.name.>\"}");
        fake_in(r, &a, "{\"type\":\"request_name\",\"id\":2,\"name\":\"org.example.W\"}");
        router_peer_remove(r, &a.peer);
        CHECK(list_empty(&a.peer.stalled_link) || a.peer.stalled_link.next == &a.peer.stalled_link);
        /* long past any stall deadline: nobody is killed, least of all the one that left */
        router_set_time(r, 1000000 + 3600 * 1000);
        router_tick(r);
        CHECK_EQ_INT(a.kills, 0);
        CHECK_EQ_INT(other.kills, 0);
        fake_remove(r, &a);
        fake_remove(r, &other);
        router_free(r);
}

int main(void)
{
        test_event_drops();
        test_call_to_full_queue();
        test_reply_to_full_queue();
        test_backpressure();
        test_stall();
        test_too_large();
        test_counters_back_to_zero();
        test_counters_exact();
        test_leaving_watcher_is_not_stalled();
        return 0;
}
