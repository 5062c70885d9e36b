/* test_libbus_flow.c: flow control through a real busd, over stream and
 * seqpacket: a million events from a publisher as fast as bus_publish()
 * takes them reach a flow-controlled subscriber, all and in order, and so
 * do a million events 1:8 (to 8 subscribers; 125,000 under ASan); a burst
 * to a subscriber that makes a blocking call to the publisher meanwhile
 * finishes (libbus reads while it waits to write, and while it waits for an
 * answer); a lossy subscriber that never reads does not slow the publisher;
 * a non-blocking publisher gets -EAGAIN and loses nothing.
 * The first and the last need the daemon's flow control (docs/protocol.md
 * §4.4): a daemon that drops instead fails them. */
#include <errno.h>
#include <json-c/json.h>
#include <poll.h>
#include <unistd.h>

#include "test_libbus_common.h"

#define MILLION 1000000
#define BURST 100000
#define LOSSY_EVENTS 300000
#define NB_EVENTS 500000
/* 1:8: a million events to each of 8 subscribers (8 million deliveries); in
 * the sanitizer build, where that would take minutes, a million deliveries */
#define FAN_SUBSCRIBERS 8
#if defined(__SANITIZE_ADDRESS__)
#define FAN_EVENTS (MILLION / FAN_SUBSCRIBERS)
#else
#define FAN_EVENTS MILLION
#endif

struct count {
        int n;
        int next;
        bool in_order;
        uint64_t dropped;
};

static void count_event(struct count *c, const struct bus_event *ev)
{
        struct json_object *i = NULL;
        int v = json_object_object_get_ex(bus_event_data(ev), "i", &i) ? json_object_get_int(i) : -1;

        if (v != c->next)
                c->in_order = false;
        c->next = v + 1;
        c->n++;
}

static void on_count(struct bus *bus, const struct bus_event *ev, void *userdata)
{
        count_event(userdata, ev);
}

static void on_dropped(struct bus *bus, uint64_t count, uint64_t total, void *userdata)
{
        struct count *c = userdata;

        c->dropped += count;
}

/* Publishes n events {"i": 0..n-1} on topic as fast as bus_publish() takes
 * them; returns the milliseconds it took until the daemon had them all. */
static long long publish_n(struct bus *bus, const char *topic, int n)
{
        long long t0 = now_ms();

        for (int i = 0; i < n; i++) {
                struct json_object *d = json_object_new_object();
                CHECK(d);
                json_object_object_add(d, "i", json_object_new_int(i));
                int r = bus_publish(bus, topic, d);
                if (r != 0)
                        fprintf(stderr, "bus_publish #%d: %s\n", i, bus_last_error(bus));
                CHECK_EQ_INT(r, 0);
                json_object_put(d);
        }
        CHECK_EQ_INT(bus_flush(bus), 0);
        sync_bus(bus);
        return now_ms() - t0;
}

/* ---- a million events, all in order ------------------------------------- */

struct flood {
        const char *addr;
        int done_fd;
};

static void *million_main(void *userdata)
{
        struct flood *f = userdata;
        struct bus *bus = open_bus(f->addr, "million");

        fprintf(stderr, "published %d events in %lld ms\n", MILLION, publish_n(bus, "flow.n", MILLION));
        bus_close(bus);
        CHECK(write(f->done_fd, "x", 1) == 1);
        return NULL;
}

/* The subscriber runs a plain poll() loop; it is slower than the publisher,
 * which the daemon must hold back instead of dropping. */
static void test_million(const char *addr, bool seq)
{
        struct bus *sub = open_bus(addr, "million-sub");
        struct count c = { .in_order = true };
        struct flood f = { .addr = addr };
        int p[2];
        pthread_t th;

        bus_on_dropped(sub, on_dropped, &c);
        CHECK_EQ_INT(bus_subscribe_flags(sub, "flow.*", 0, on_count, &c), 0); /* flow-controlled in effect */
        CHECK_EQ_INT(bus_subscription_flags(sub, "flow.*"), 0);
        CHECK(pipe(p) == 0);
        f.done_fd = p[1];
        CHECK_EQ_INT(pthread_create(&th, NULL, million_main, &f), 0);
        bool done = false;
        while (!done) {
                struct pollfd fds[2] = {
                        { .fd = bus_get_fd(sub), .events = (short)bus_get_events(sub) },
                        { .fd = p[0], .events = POLLIN },
                };
                CHECK(poll(fds, 2, bus_get_timeout(sub) < 0 ? 60000 : bus_get_timeout(sub)) > 0);
                CHECK(bus_process(sub) >= 0);
                done = fds[1].revents & POLLIN;
        }
        CHECK_EQ_INT(pthread_join(th, NULL), 0);
        sync_bus(sub); /* the daemon queued every event for us before this answer */
        drain(sub);
        long long drops = drops_in_daemon(sub);
        fprintf(stderr, "received %d of %d (%s), dropped %llu (daemon: %lld)\n", c.n, MILLION,
                c.in_order ? "in order" : "NOT in order", (unsigned long long)c.dropped, drops);
        CHECK_EQ_INT(c.n, MILLION);
        CHECK(c.in_order);
        CHECK_EQ_INT(c.dropped, 0);
        CHECK_EQ_INT(drops, 0);
        close(p[0]);
        close(p[1]);
        bus_close(sub);
}

/* ---- 1:8, a million deliveries, all in order ------------------------------ */

struct fan_sub {
        const char *addr;
        int ready_fd; /* written once subscribed */
        struct count c;
        long long daemon_drops;
};

/* One of eight subscribers, each on its own connection and thread, reading
 * with a plain poll() loop until it has every event. */
static void *fan_sub_main(void *userdata)
{
        struct fan_sub *f = userdata;
        struct bus *bus = open_bus(f->addr, "fan-sub");

        f->c.in_order = true;
        bus_on_dropped(bus, on_dropped, &f->c);
        CHECK_EQ_INT(bus_subscribe(bus, "fan8.*", on_count, &f->c), 0);
        CHECK(write(f->ready_fd, "x", 1) == 1);
        while (f->c.n < FAN_EVENTS && f->c.dropped == 0) {
                struct pollfd p = { .fd = bus_get_fd(bus), .events = (short)bus_get_events(bus) };
                /* no event for a minute: the test fails rather than hangs */
                CHECK(poll(&p, 1, 60000) > 0);
                CHECK(bus_process(bus) >= 0);
        }
        f->daemon_drops = drops_in_daemon(bus);
        bus_close(bus);
        return NULL;
}

/* FAN_EVENTS events to 8 flow-controlled subscribers: none lost, each
 * subscriber's in order. */
static void test_fanout_million(const char *addr, bool seq)
{
        struct fan_sub subs[FAN_SUBSCRIBERS];
        pthread_t th[FAN_SUBSCRIBERS];
        int p[2];
        char x;

        CHECK(pipe(p) == 0);
        for (int i = 0; i < FAN_SUBSCRIBERS; i++) {
                subs[i] = (struct fan_sub){ .addr = addr, .ready_fd = p[1] };
                CHECK_EQ_INT(pthread_create(&th[i], NULL, fan_sub_main, &subs[i]), 0);
        }
        for (int i = 0; i < FAN_SUBSCRIBERS; i++)
                CHECK(read(p[0], &x, 1) == 1);
        struct bus *pub = open_bus(addr, "fan-pub");
        fprintf(stderr, "1:%d: published %d events in %lld ms\n", FAN_SUBSCRIBERS, FAN_EVENTS,
                publish_n(pub, "fan8.n", FAN_EVENTS));
        long long received = 0;
        for (int i = 0; i < FAN_SUBSCRIBERS; i++) {
                CHECK_EQ_INT(pthread_join(th[i], NULL), 0);
                received += subs[i].c.n;
                CHECK_EQ_INT(subs[i].c.n, FAN_EVENTS);
                CHECK(subs[i].c.in_order);
                CHECK_EQ_INT(subs[i].c.dropped, 0);
                CHECK_EQ_INT(subs[i].daemon_drops, 0);
        }
        fprintf(stderr, "1:%d: received %lld of %d deliveries, all in order, dropped 0\n", FAN_SUBSCRIBERS, received,
                FAN_SUBSCRIBERS * FAN_EVENTS);
        bus_close(pub);
        close(p[0]);
        close(p[1]);
}

/* ---- a burst while the subscriber calls the publisher -------------------- */

struct burst {
        const char *dest; /* the publisher's unique id */
        struct count c;
        int ping; /* result of the blocking call: 1 ok, else the error */
        bool done;
};

/* The publisher: "burst" publishes BURST events (its handler blocks in
 * bus_publish() while the daemon holds it back), "ping" answers. */
static int on_burst(struct bus *bus, struct bus_call *call, void *userdata)
{
        long long ms = publish_n(bus, "burst.n", BURST);

        fprintf(stderr, "burst of %d published in %lld ms\n", BURST, ms);
        return 0; /* libbus answers null */
}

static int on_ping(struct bus *bus, struct bus_call *call, void *userdata)
{
        struct json_object *r = json_object_new_string("pong");
        int e = bus_reply(call, r);

        json_object_put(r);
        return e;
}

static void setup_ping(struct bus *bus, void *userdata)
{
        CHECK_EQ_INT(bus_add_method(bus, "burst", NULL, NULL, NULL, on_burst, NULL), 0);
        CHECK_EQ_INT(bus_add_method(bus, "ping", NULL, NULL, NULL, on_ping, NULL), 0);
}

/* On the first event of the burst, a blocking call to its publisher, which is
 * busy publishing: the call's answer comes after the rest of the burst. */
static void on_burst_event(struct bus *bus, const struct bus_event *ev, void *userdata)
{
        struct burst *b = userdata;
        struct json_object *res = NULL;

        count_event(&b->c, ev);
        if (b->c.n != 1)
                return;
        int r = bus_call(bus, b->dest, "ping", NULL, 120000, &res);
        if (r < 0)
                fprintf(stderr, "ping: %s\n", bus_last_error(bus));
        b->ping = r == 0 && res && strcmp(json_object_get_string(res), "pong") == 0 ? 1 : r;
        json_object_put(res);
}

static void on_burst_done(struct bus *bus, const struct bus_reply *reply, void *userdata)
{
        struct burst *b = userdata;

        CHECK_EQ_INT(reply->error, 0);
        b->done = true;
}

static void test_burst_call(const char *addr, bool seq)
{
        struct service a;
        struct bus *b = open_bus(addr, "burst-sub");
        struct burst st = { .c = { .in_order = true } };

        service_start(&a, addr, NULL, setup_ping, NULL);
        st.dest = bus_unique_id(a.bus);
        bus_on_dropped(b, on_dropped, &st.c);
        CHECK(bus_subscribe(b, "burst.*", on_burst_event, &st) == 0);
        long long t0 = now_ms();
        CHECK_EQ_INT(bus_call_async(b, st.dest, "burst", NULL, 120000, on_burst_done, &st, NULL), 0);
        while (!st.done || st.c.n + (long long)st.c.dropped < BURST) {
                int r = bus_process(b);
                CHECK(r >= 0);
                if (r == 0)
                        CHECK(bus_wait(b, 60000) > 0);
        }
        long long drops = drops_in_daemon(b);
        fprintf(stderr, "burst: %lld ms, ping %d, received %d, dropped %llu while blocked (daemon: %lld)\n",
                now_ms() - t0, st.ping, st.c.n, (unsigned long long)st.c.dropped, drops);
        CHECK_EQ_INT(st.ping, 1);
        /* libbus keeps reading while the call waits: past its 8 MiB queue it
         * drops (and reports) events, the daemon drops none */
        CHECK_EQ_INT(st.c.n + (long long)st.c.dropped, BURST);
        CHECK_EQ_INT(drops, 0);
        service_stop(&a, b);
        bus_close(b);
}

/* ---- a lossy subscriber does not slow the publisher ---------------------- */

static void test_lossy(const char *addr, bool seq)
{
        struct bus *slow = open_bus(addr, "lossy-sub");
        struct bus *pub = open_bus(addr, "lossy-pub");
        struct count c = { .in_order = true };

        bus_on_dropped(slow, on_dropped, &c);
        CHECK_EQ_INT(bus_subscribe_flags(slow, "lossy.*", BUS_SUBSCRIBE_LOSSY, on_count, &c), BUS_SUBSCRIBE_LOSSY);
        CHECK_EQ_INT(bus_subscription_flags(slow, "lossy.*"), BUS_SUBSCRIBE_LOSSY);
        CHECK_EQ_INT(bus_subscribe_flags(slow, "lossy.x", 8, on_count, &c), -EINVAL);
        /* slow reads nothing meanwhile: a flow-controlled subscriber would hold
         * pub for the stall timeout (15 s), then be disconnected */
        long long ms = publish_n(pub, "lossy.n", LOSSY_EVENTS);
        fprintf(stderr, "published %d events past a lossy subscriber in %lld ms\n", LOSSY_EVENTS, ms);
        /* no wall-clock bound (a loaded or sanitizer run is slow): a
         * flow-controlled subscriber that never reads would have held pub and
         * been cut at the stall timeout; this one stays connected and the
         * daemon dropped for it instead */
        sync_bus(slow);
        drain(slow);
        CHECK(bus_is_connected(slow));
        long long drops = drops_in_daemon(slow);
        fprintf(stderr, "lossy: received %d, dropped %lld by the daemon\n", c.n, drops);
        CHECK(drops > 0);
        CHECK_EQ_INT(c.n + drops, LOSSY_EVENTS);
        bus_close(pub);
        bus_close(slow);
}

/* ---- a non-blocking publisher in an event loop --------------------------- */

/* One thread, two buses: pub is non-blocking, sub is flow-controlled and
 * reads only when pub is refused. pub keeps each refused event and publishes
 * it again once its fd says there is room and bus_process() wrote. */
static void test_nonblocking(const char *addr, bool seq)
{
        struct bus *sub = open_bus(addr, "nb-sub");
        struct bus *pub = open_bus(addr, "nb-pub");
        struct count c = { .in_order = true };
        int again = 0;

        bus_on_dropped(sub, on_dropped, &c);
        CHECK_EQ_INT(bus_subscribe(sub, "nb.*", on_count, &c), 0);
        bus_set_nonblocking(pub, true);
        for (int i = 0; i < NB_EVENTS;) {
                struct json_object *d = json_object_new_object();
                CHECK(d);
                json_object_object_add(d, "i", json_object_new_int(i));
                int r = bus_publish(pub, "nb.n", d);
                json_object_put(d);
                if (r == 0) {
                        i++;
                        continue;
                }
                CHECK_EQ_INT(r, -EAGAIN);
                again++;
                /* the subscriber catches up a little; then wait for room */
                for (int k = 0; k < 64 && bus_process(sub) > 0; k++)
                        ;
                struct pollfd p = { .fd = bus_get_fd(pub), .events = (short)bus_get_events(pub) };
                CHECK(poll(&p, 1, 10) >= 0);
                CHECK(bus_process(pub) >= 0);
        }
        bus_set_nonblocking(pub, false);
        /* the rest: sub dispatches while pub's output drains */
        while (c.n < NB_EVENTS) {
                CHECK(bus_process(pub) >= 0);
                if (bus_process(sub) == 0)
                        CHECK(bus_wait(sub, 10) >= 0);
        }
        fprintf(stderr, "non-blocking: %d events, -EAGAIN %d times, received %d (%s), dropped %llu\n", NB_EVENTS, again,
                c.n, c.in_order ? "in order" : "NOT in order", (unsigned long long)c.dropped);
        CHECK(again > 0);
        CHECK_EQ_INT(c.n, NB_EVENTS);
        CHECK(c.in_order);
        CHECK_EQ_INT(c.dropped, 0);
        bus_close(pub);
        bus_close(sub);
}

static void all(const char *addr, bool seq)
{
        test_nonblocking(addr, seq);
        test_lossy(addr, seq);
        test_burst_call(addr, seq);
        test_million(addr, seq);
        test_fanout_million(addr, seq);
}

int main(void)
{
        run_both("flow", all);
        return 0;
}
