/* test_libbus_events.c: events through a real busd, over stream and
 * seqpacket: wildcard patterns and fan-out, the publisher's identity as the
 * daemon stamps it (checked against a forked publisher's pid), unsubscribe,
 * payloads as text from bus_publish_json() to bus_event_json(), and 100k
 * events through the output batching with every one accounted for
 * (received, or dropped and counted by the daemon). */
#include <errno.h>
#include <json-c/json.h>
#include <poll.h>
#include <unistd.h>

#include "test_libbus_common.h"

struct got {
        char text[1024];
        int n;
};

static void on_event(struct bus *bus, const struct bus_event *ev, void *userdata)
{
        struct got *g = userdata;
        size_t len = strlen(g->text);

        g->n++;
        snprintf(g->text + len, sizeof(g->text) - len, "%s=%s ", ev->topic,
                 bus_event_data(ev) ? json_object_to_json_string_ext(bus_event_data(ev), JSON_C_TO_STRING_PLAIN)
                                    : "null");
}

static void test_fanout(const char *addr, bool seq)
{
        struct bus *pub = open_bus(addr, "publisher");
        struct bus *s1 = open_bus(addr, "s1"), *s2 = open_bus(addr, "s2");
        struct got one = { .n = 0 }, gt = { .n = 0 }, all = { .n = 0 }, other = { .n = 0 }, mine = { .n = 0 };

        CHECK_EQ_INT(bus_subscribe(s1, "sensors.*.temp", on_event, &one), 0);
        CHECK_EQ_INT(bus_subscribe(s1, "sensors.>", on_event, &gt), 0);
        CHECK_EQ_INT(bus_subscribe(s2, ">", on_event, &all), 0);
        CHECK_EQ_INT(bus_subscribe(s2, "other.*", on_event, &other), 0);
        CHECK_EQ_INT(bus_subscribe(pub, "plain", on_event, &mine), 0);
        CHECK_EQ_INT(bus_subscribe(s1, "sensors.>", on_event, &gt), -EEXIST);

        struct json_object *d = json_tokener_parse("{\"t\":21.5,\"where\":\"kitchen\"}");
        CHECK_EQ_INT(bus_publish(pub, "sensors.kitchen.temp", d), 0);
        json_object_put(d);
        CHECK_EQ_INT(bus_publish(pub, "sensors.kitchen.hum", NULL), 0);
        d = json_object_new_int(3);
        CHECK_EQ_INT(bus_publish(pub, "sensors.a.b.c", d), 0);
        json_object_put(d);
        CHECK_EQ_INT(bus_publish(pub, "other.x", NULL), 0);
        CHECK_EQ_INT(bus_publish(pub, "plain", NULL), 0);
        CHECK_EQ_INT(bus_publish(pub, "sensors", NULL), 0); /* matches none of the sensors.* patterns */
        /* the daemon has fanned all of it out before answering the publisher;
         * each subscriber's own round trip then has its events queued */
        sync_bus(pub);
        sync_bus(s1);
        sync_bus(s2);
        drain(pub);
        drain(s1);
        drain(s2);
        CHECK_STREQ(one.text, "sensors.kitchen.temp={\"t\":21.5,\"where\":\"kitchen\"} ");
        CHECK_STREQ(gt.text, "sensors.kitchen.temp={\"t\":21.5,\"where\":\"kitchen\"} sensors.kitchen.hum=null "
                             "sensors.a.b.c=3 ");
        CHECK_STREQ(all.text, "sensors.kitchen.temp={\"t\":21.5,\"where\":\"kitchen\"} sensors.kitchen.hum=null "
                              "sensors.a.b.c=3 other.x=null plain=null sensors=null ");
        CHECK_STREQ(other.text, "other.x=null ");
        CHECK_STREQ(mine.text, "plain=null "); /* the publisher gets its own event */

        /* unsubscribe: the other pattern of s1 still matches */
        CHECK_EQ_INT(bus_unsubscribe(s1, "sensors.*.temp"), 0);
        CHECK_EQ_INT(bus_unsubscribe(s1, "sensors.*.temp"), -ENOENT);
        CHECK_EQ_INT(bus_publish(pub, "sensors.hall.temp", NULL), 0);
        sync_bus(pub);
        sync_bus(s1);
        drain(s1);
        CHECK_EQ_INT(one.n, 1);
        CHECK_EQ_INT(gt.n, 4);

        /* local refusals */
        CHECK_EQ_INT(bus_publish(pub, "$bus.fake", NULL), -EINVAL);
        CHECK_EQ_INT(bus_publish(pub, "a..b", NULL), -EINVAL);
        CHECK_EQ_INT(bus_subscribe(s1, "a.>.b", on_event, &one), -EINVAL);
        bus_close(pub);
        bus_close(s1);
        bus_close(s2);
}

struct ident {
        char sender[32];
        uid_t uid;
        gid_t gid;
        pid_t pid;
        long long data_pid;
        int n;
};

static void on_ident(struct bus *bus, const struct bus_event *ev, void *userdata)
{
        struct ident *id = userdata;

        id->n++;
        snprintf(id->sender, sizeof(id->sender), "%s", ev->sender);
        id->uid = ev->uid;
        id->gid = ev->gid;
        id->pid = ev->pid;
        id->data_pid = json_object_get_int64(json_object_object_get(bus_event_data(ev), "pid"));
}

static void publisher_child(const char *addr, int ready_fd, void *userdata)
{
        struct bus *bus = open_bus(addr, "forked publisher");
        struct json_object *d = json_object_new_object();

        json_object_object_add(d, "pid", json_object_new_int64(getpid()));
        CHECK_EQ_INT(bus_publish(bus, "creds.test", d), 0);
        json_object_put(d);
        sync_bus(bus); /* the event is fanned out */
        child_ready(ready_fd, bus_unique_id(bus));
        bus_close(bus);
}

static void test_identity(const char *addr, bool seq)
{
        struct bus *sub = open_bus(addr, "identity checker");
        struct ident id = { .n = 0 };
        char unique[64];

        CHECK_EQ_INT(bus_subscribe(sub, "creds.*", on_ident, &id), 0);
        pid_t pid = child_start(addr, publisher_child, NULL, unique, sizeof(unique));
        CHECK_EQ_INT(child_wait(pid), 0);
        sync_bus(sub);
        drain(sub);
        CHECK_EQ_INT(id.n, 1);
        CHECK_STREQ(id.sender, unique);
        CHECK(pid != getpid());
        CHECK_EQ_INT(id.pid, pid);
        CHECK_EQ_INT(id.data_pid, pid);
        CHECK_EQ_INT(id.uid, getuid());
        CHECK_EQ_INT(id.gid, getgid());
        bus_close(sub);
}

#define EVENTS 100000

struct flood {
        const char *addr;
        int done_fd;
};

/* Publishes EVENTS events, flushes, waits until the daemon has them all, then
 * tells the subscriber through the pipe. */
static void *flood_main(void *userdata)
{
        struct flood *f = userdata;
        struct bus *bus = open_bus(f->addr, "flood");
        long long t0 = now_ms();

        for (int i = 0; i < EVENTS; i++) {
                struct json_object *d = json_object_new_int(i);
                CHECK_EQ_INT(bus_publish(bus, "bench.n", d), 0);
                json_object_put(d);
        }
        CHECK_EQ_INT(bus_flush(bus), 0);
        sync_bus(bus);
        fprintf(stderr, "published %d events in %lld ms\n", EVENTS, now_ms() - t0);
        bus_close(bus);
        CHECK(write(f->done_fd, "x", 1) == 1);
        return NULL;
}

struct count {
        int n;
        int next;
        bool in_order;
        uint64_t dropped;
};

static void on_count(struct bus *bus, const struct bus_event *ev, void *userdata)
{
        struct count *c = userdata;
        int i = json_object_get_int(bus_event_data(ev));

        if (i < c->next)
                c->in_order = false;
        c->next = i + 1;
        c->n++;
}

static void on_dropped(struct bus *bus, uint64_t count, uint64_t total, void *userdata)
{
        struct count *c = userdata;

        c->dropped += count;
        CHECK_EQ_INT(total, c->dropped);
}

/* The subscriber runs a plain poll() loop on its bus and the publisher's pipe. */
static void test_100k(const char *addr, bool seq)
{
        struct bus *sub = open_bus(addr, "counter");
        struct count c = { .in_order = true };
        struct flood f = { .addr = addr };
        int p[2];
        pthread_t th;

        bus_on_dropped(sub, on_dropped, &c);
        CHECK_EQ_INT(bus_subscribe(sub, "bench.*", on_count, &c), 0);
        CHECK(pipe(p) == 0);
        f.done_fd = p[1];
        CHECK_EQ_INT(pthread_create(&th, NULL, flood_main, &f), 0);
        bool done = false;
        while (!done) {
                struct pollfd fds[2] = {
                        { .fd = bus_get_fd(sub), .events = (short)bus_get_events(sub) },
                        { .fd = p[0], .events = POLLIN },
                };
                CHECK(poll(fds, 2, bus_get_timeout(sub) < 0 ? 20000 : bus_get_timeout(sub)) > 0);
                CHECK(bus_process(sub) >= 0);
                done = fds[1].revents & POLLIN;
        }
        CHECK_EQ_INT(pthread_join(th, NULL), 0);
        /* every event is now queued for us or was dropped: the stats answer
         * comes after all of them */
        long long drops = drops_in_daemon(sub);
        drain(sub);
        fprintf(stderr, "received %d, dropped %lld by the daemon (%llu reported so far)\n", c.n, drops,
                (unsigned long long)c.dropped);
        CHECK(drops >= 0);
        CHECK_EQ_INT(c.n + drops, EVENTS);
        CHECK(c.dropped <= (uint64_t)drops);
        CHECK(c.in_order);
        close(p[0]);
        close(p[1]);
        bus_close(sub);
}

struct raw {
        char json[256];
        struct json_object *tree; /* a reference of our own, when asked for */
        bool ask, same;
        int n;
};

static void on_raw(struct bus *bus, const struct bus_event *ev, void *userdata)
{
        struct raw *r = userdata;
        size_t len;
        const char *j = bus_event_json(ev, &len);

        CHECK_EQ_INT(strlen(j), len);
        snprintf(r->json, sizeof(r->json), "%s", j);
        if (r->ask) {
                struct json_object *a = bus_event_data(ev);
                r->same = a == bus_event_data(ev);
                json_object_put(r->tree);
                r->tree = json_object_get(a);
        }
        r->n++;
}

/* The payload's bytes from bus_publish_json() to bus_event_json() through the
 * daemon: numbers and escapes as written, whitespace outside strings gone. */
static void test_raw(const char *addr, bool seq)
{
        static const char payload[] = "{\"z\":-0,\"f\":1.50e3,\"s\":\"\\u00e9 \\/\",\"big\":18446744073709551615}";
        static const char spaced[] = "[ 1 ,\n\t{\"a b\" : \"c d\"} ]";
        struct bus *pub = open_bus(addr, "raw publisher"), *sub = open_bus(addr, "raw subscriber");
        struct raw r = { .n = 0 }, t = { .ask = true };

        CHECK_EQ_INT(bus_subscribe(sub, "raw.>", on_raw, &r), 0);
        CHECK_EQ_INT(bus_subscribe(sub, "raw.tree", on_raw, &t), 0);
        CHECK_EQ_INT(bus_publish_json(pub, "raw.text", payload, strlen(payload)), 0);
        sync_bus(pub);
        sync_bus(sub);
        drain(sub);
        CHECK_EQ_INT(r.n, 1);
        CHECK_STREQ(r.json, payload);

        CHECK_EQ_INT(bus_publish_json(pub, "raw.tree", spaced, strlen(spaced)), 0);
        sync_bus(pub);
        sync_bus(sub);
        drain(sub);
        CHECK_EQ_INT(r.n, 2);
        CHECK_STREQ(r.json, "[1,{\"a b\":\"c d\"}]");
        CHECK_EQ_INT(t.n, 1);
        CHECK(t.same);
        struct json_object *want = json_tokener_parse(spaced);
        CHECK(json_object_equal(t.tree, want));
        json_object_put(want);
        json_object_put(t.tree);

        /* refused locally, nothing reaches the subscriber */
        CHECK_EQ_INT(bus_publish_json(pub, "raw.bad", "NaN", 3), -EINVAL);
        CHECK_EQ_INT(bus_publish_json(pub, "raw.bad", "\"\\ud800\"", 8), -EINVAL);
        CHECK_EQ_INT(bus_publish_json(pub, "raw.bad", "1 2", 3), -EINVAL);
        CHECK_EQ_INT(bus_publish(pub, "raw.last", NULL), 0);
        sync_bus(pub);
        sync_bus(sub);
        drain(sub);
        CHECK_EQ_INT(r.n, 3);
        CHECK_STREQ(r.json, "null");
        bus_close(pub);
        bus_close(sub);
}

static void all(const char *addr, bool seq)
{
        test_fanout(addr, seq);
        test_raw(addr, seq);
        test_identity(addr, seq);
        test_100k(addr, seq);
}

int main(void)
{
        run_both("events", all);
        return 0;
}
