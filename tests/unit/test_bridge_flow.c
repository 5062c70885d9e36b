/* test_bridge_flow.c: flow control across bridge links (docs/bridge.md
 * "Flow control"), between routers joined by in-memory links
 * (test_bridge_common.h): a local publisher is held while a link's queue is
 * full and resumed once it drained, nothing lost and in order; a link whose
 * events reach a full subscriber is paused until it drains; a hold on a link
 * is given up after the stall timeout (counted); a link going down counts
 * what was held for it and what the other bus never acknowledged; an ack
 * claiming more than was sent breaks the protocol. No sockets, no time but
 * the router's clock. */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "bridge.h"
#include "buf.h"
#include "router.h"
#include "test.h"
#include "test_bridge_common.h"
#include "test_core_fake.h"

#define LINK_CAP 4 /* events a link's queue takes while the other end reads nothing */
#define QUEUE 1500 /* a subscriber's queue_bytes on the receiving bus: a few events */
#define STALL 5000 /* stall_timeout_ms */
#define EVENTS 40

static struct router_limits small_limits(void)
{
        struct router_limits lim;

        router_limits_default(&lim);
        lim.queue_bytes = QUEUE;
        lim.stall_timeout_ms = STALL;
        return lim;
}

static void subscribe(struct router *r, struct fake *f, const char *pattern)
{
        fake_in(r, f, "{\"type\":\"subscribe\",\"id\":1,\"pattern\":\"%s\"}", pattern);
        struct json_object *rep = fake_expect(f, "reply");
        CHECK(!json_object_get_boolean(jget(rep, "result/lossy")));
        fake_write(r, f, f->n - f->written);
}

/* p publishes event seq (with id seq): router_handle()'s answer. */
static int publish(struct router *r, struct fake *p, int seq)
{
        return fake_in(r, p, "{\"type\":\"publish\",\"id\":%d,\"topic\":\"t.x\",\"data\":[%d,\"%0200d\"]}", seq, seq,
                       0);
}

/* The acks p has: their dropped counts added up; checks the ids are in order from *next. */
static int64_t acks(struct router *r, struct fake *p, int *next)
{
        int64_t dropped = 0;
        struct json_object *m;

        while (fake_unread(p) && (m = fake_next(p))) {
                CHECK_STREQ(jstr(m, "type"), "reply");
                CHECK_EQ_INT(jint(m, "id"), *next);
                dropped += jint(m, "result/dropped");
                (*next)++;
        }
        fake_write(r, p, p->n - p->written);
        return dropped;
}

/* s read its events: their sequence numbers continue *next, in order. */
static void read_in_order(struct router *r, struct fake *s, int *next)
{
        struct json_object *m;

        while (fake_unread(s) && (m = fake_next(s))) {
                CHECK_STREQ(jstr(m, "type"), "event");
                CHECK_EQ_INT(json_object_get_int(json_object_array_get_idx(jget(m, "data"), 0)), *next);
                (*next)++;
        }
        fake_write(r, s, s->n - s->written);
}

static uint64_t drops(struct router *r)
{
        uint64_t in, d;

        router_counters(r, &in, &d);
        return d;
}

/* Publishes EVENTS events from a to b's subscriber through a link that takes
 * LINK_CAP at a time: the publisher is paused when the link is full (it
 * sends nothing more until resumed), resumed when the link drained to half.
 * With slow_sub, b's subscriber has a small queue and reads only between
 * pumps, so b pauses the link too. Everything arrives, in order, no drop. */
static void burst(bool slow_sub)
{
        struct router_limits lim = small_limits();
        struct host a, b;
        struct mlink ab, ba;
        struct fake pub = { 0 }, sub = { 0 };

        pair_up(&a, &b, &ab, &ba, slow_sub ? &lim : NULL);
        struct mlink *all[] = { &ab, &ba };
        fake_add_flow(a.r, &pub);
        fake_add_flow(b.r, &sub);
        subscribe(b.r, &sub, "t.>");
        ab.event_cap = LINK_CAP;

        int seq = 1, acked = 1, got = 1, rounds = 0;
        unsigned pauses = 0;
        while (got <= EVENTS && rounds++ < 10 * EVENTS) {
                /* the publisher's carrier reads it while it is not paused */
                unsigned resumed = pub.resumes;
                while (seq <= EVENTS) {
                        int res = publish(a.r, &pub, seq++);
                        if (res == ROUTER_PAUSE) {
                                pauses++;
                                break;
                        }
                }
                CHECK_EQ_INT(acks(a.r, &pub, &acked), 0);
                pump(all, 2);
                if (slow_sub)
                        read_in_order(b.r, &sub, &got); /* after the pump: b held the link meanwhile */
                pump(all, 2);
                read_in_order(b.r, &sub, &got);
                pump(all, 2);
                CHECK(seq > EVENTS || pub.resumes > resumed || acked == seq);
        }
        CHECK_EQ_INT(acks(a.r, &pub, &acked), 0);
        CHECK_EQ_INT(got - 1, EVENTS);
        CHECK_EQ_INT(acked - 1, EVENTS);
        CHECK(pauses > 0); /* the link was full: the publisher did wait */
        if (slow_sub)
                CHECK(ba.pauses > 0 && ba.resumes > 0); /* and so did the link, at b */
        CHECK_EQ_INT(ab.bl.st.events_out, EVENTS);
        CHECK_EQ_INT(ab.bl.st.dropped + ab.bl.peer.drops_total, 0);
        CHECK_EQ_INT(sub.peer.drops_total, 0);
        CHECK_EQ_INT(drops(a.r), 0);
        CHECK_EQ_INT(drops(b.r), 0);
        /* b acknowledged every event a sent */
        CHECK_EQ_INT(ab.bl.acked, EVENTS);
        fake_remove(a.r, &pub);
        fake_remove(b.r, &sub);
        pair_down(&a, &b, &ab, &ba);
}

static void test_a_full_link_holds_the_publisher_and_loses_nothing(void)
{
        burst(false);
}

static void test_a_full_subscriber_pauses_the_link_and_loses_nothing(void)
{
        burst(true);
}

/* Publishes until one is held on the full link; returns its sequence number. */
static int fill_link(struct host *a, struct fake *pub, struct mlink *ab)
{
        for (int seq = 1; seq <= LINK_CAP + 1; seq++)
                if (publish(a->r, pub, seq) == ROUTER_PAUSE)
                        return seq;
        CHECK(!"never held");
        return 0;
}

static void test_a_hold_on_a_stuck_link_ends_at_the_stall_timeout(void)
{
        struct router_limits lim = small_limits();
        struct host a, b;
        struct mlink ab, ba;
        struct fake pub = { 0 };

        host_init_ex(&a, "busd-a", &lim);
        host_init(&b, "busd-b");
        connect_pair(&ab, &ba, &a, &b, &everything, &everything);
        struct mlink *all[] = { &ab, &ba };
        pump(all, 2);
        fake_add_flow(a.r, &pub);
        ab.event_cap = LINK_CAP;
        router_set_time(a.r, 1000);
        int held = fill_link(&a, &pub, &ab);
        CHECK_EQ_INT(held, LINK_CAP + 1);
        int next = 1;
        CHECK_EQ_INT(acks(a.r, &pub, &next), 0);
        CHECK_EQ_INT(next, held); /* the held one is not answered yet */
        router_set_time(a.r, 1000 + STALL - 1);
        router_tick(a.r);
        fake_expect_none(&pub, "still held just before the stall timeout");
        router_set_time(a.r, 1000 + STALL);
        router_tick(a.r);
        /* given up: the publisher learns it was dropped, and is read again */
        struct json_object *rep = fake_expect(&pub, "reply");
        CHECK_EQ_INT(jint(rep, "id"), held);
        CHECK_EQ_INT(jint(rep, "result/dropped"), 1);
        CHECK(pub.resumes > 0);
        CHECK_EQ_INT(ab.bl.peer.drops_total, 1);
        CHECK_EQ_INT(drops(a.r), 1);
        struct json_object *st = bridge_link_json(&ab.bl);
        CHECK_EQ_INT(jint(st, "dropped"), 1);
        json_object_put(st);
        fake_remove(a.r, &pub);
        pair_down(&a, &b, &ab, &ba);
}

static void test_a_link_down_counts_what_was_held_and_unacknowledged(void)
{
        struct host a, b;
        struct mlink ab, ba;
        struct fake pub = { 0 }, watch = { 0 };

        pair_up(&a, &b, &ab, &ba, NULL);
        struct mlink *all[] = { &ab, &ba };
        fake_add_flow(a.r, &pub);
        fake_hello(a.r, &watch);
        fake_in(a.r, &watch, "{\"type\":\"subscribe\",\"id\":1,\"pattern\":\"$bus.link.>\"}");
        fake_skip(&watch);
        ab.event_cap = LINK_CAP;
        /* two events cross and are acknowledged */
        publish(a.r, &pub, 1);
        publish(a.r, &pub, 2);
        pump(all, 2);
        CHECK_EQ_INT(ab.bl.acked, 2);
        /* then the link fills (not read) and one more is held */
        int next = 1;
        CHECK_EQ_INT(acks(a.r, &pub, &next), 0);
        int seq = 3;
        while (publish(a.r, &pub, seq) != ROUTER_PAUSE)
                seq++;
        CHECK_EQ_INT(acks(a.r, &pub, &next), 0);
        CHECK_EQ_INT(ab.bl.st.events_out, 2 + LINK_CAP);
        /* cut: the LINK_CAP sent but unacknowledged are lost, the held one dropped */
        ab.up = ba.up = false;
        uint64_t lost = bridge_link_down(a.b, &ab.bl, "cut");
        CHECK_EQ_INT(lost, LINK_CAP);
        struct json_object *rep = fake_expect(&pub, "reply");
        CHECK_EQ_INT(jint(rep, "id"), seq);
        CHECK_EQ_INT(jint(rep, "result/delivered"), 0);
        CHECK_EQ_INT(jint(rep, "result/dropped"), 1);
        CHECK_EQ_INT(drops(a.r), LINK_CAP + 1);
        /* and the link's down event says how many were lost */
        struct json_object *ev = fake_expect(&watch, "event");
        CHECK_STREQ(jstr(ev, "data/state"), "down");
        CHECK_EQ_INT(jint(ev, "data/lost"), LINK_CAP);
        bridge_link_down(b.b, &ba.bl, "cut");
        for (size_t i = 0; i < ab.n; i++)
                buf_unref(ab.q[i]);
        for (size_t i = 0; i < ba.n; i++)
                buf_unref(ba.q[i]);
        ab.n = ba.n = 0;
        fake_remove(a.r, &pub);
        fake_remove(a.r, &watch);
        host_deinit(&a);
        host_deinit(&b);
}

static void test_an_ack_for_more_than_was_sent_is_a_protocol_violation(void)
{
        struct host a, b;
        struct mlink ab, ba;
        char why[300];

        pair_up(&a, &b, &ab, &ba, NULL);
        static const char ack[] = "{\"type\":\"ack\",\"events\":1}";
        CHECK_EQ_INT(bridge_link_input(a.b, &ab.bl, ack, sizeof(ack) - 1, why, sizeof(why)), -EPROTO);
        CHECK(strstr(why, "ack: 1 events, but 0 were sent") != NULL);
        static const char bad[] = "{\"type\":\"ack\",\"events\":\"1\"}";
        CHECK_EQ_INT(bridge_link_input(a.b, &ab.bl, bad, sizeof(bad) - 1, why, sizeof(why)), -EPROTO);
        CHECK(strstr(why, "'events' must be a number") != NULL);
        pair_down(&a, &b, &ab, &ba);
}

int main(void)
{
        test_a_full_link_holds_the_publisher_and_loses_nothing();
        test_a_full_subscriber_pauses_the_link_and_loses_nothing();
        test_a_hold_on_a_stuck_link_ends_at_the_stall_timeout();
        test_a_link_down_counts_what_was_held_and_unacknowledged();
        test_an_ack_for_more_than_was_sent_is_a_protocol_violation();
        printf("test_bridge_flow: ok\n");
        return 0;
}
