/* test_libbus_batch.c: output batching and the bounds of both queues, over a
 * socketpair with a fake daemon.
 * - bus_publish() writes nothing until 64 KiB are buffered (the peer sees no
 *   byte), then one write;
 * - 100k events cost a few hundred write syscalls, not 100k, and arrive
 *   complete and in order ($BUS_TEST_BATCH_EVENTS sets another count);
 * - the output buffer stays near its 8 MiB bound while the peer is slow;
 * - while a blocking call waits, incoming events beyond the incoming queue's
 *   bound are dropped and reported through bus_on_dropped, in order. */
#include <errno.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bus-internal.h"
#include "test.h"
#include "test_libbus_fake.h"

/* Events per burst: 100,000, or $BUS_TEST_BATCH_EVENTS (scripts/valgrind.sh
 * --ci takes 20,000: the same paths, a fifth of the time under memcheck). */
#define EVENTS_DEFAULT 100000
static int EVENTS = EVENTS_DEFAULT;

static void test_nothing_before_64k(bool seq)
{
        struct json_object *data = json_object_new_string("0123456789abcdef0123456789abcdef");
        struct bus *bus;
        struct fake f;
        int n = 0;

        fake_open(&f, seq, NULL, &bus);
        uint64_t writes = bus->t.writes;
        while (transport_queued(&bus->t) + 100 < BUS_OUT_FLUSH_BYTES) {
                CHECK_EQ_INT(bus_publish(bus, "sensors.kitchen.temp", data), 0);
                n++;
        }
        CHECK(n > 500);
        CHECK(fake_idle(&f)); /* not one byte written */
        CHECK_EQ_INT(bus->t.writes, writes);
        while (bus->t.writes == writes) {
                CHECK_EQ_INT(bus_publish(bus, "sensors.kitchen.temp", data), 0);
                n++;
        }
        /* the publish that passed 64 KiB wrote: one send() on stream, sendmmsg()
         * batches of 256 packets on seqpacket (as many as the socket takes) */
        if (!seq) {
                CHECK_EQ_INT(bus->t.writes, writes + 1);
                CHECK_EQ_INT(transport_queued(&bus->t), 0);
        } else {
                CHECK(bus->t.writes - writes <= (uint64_t)n / BUS_SENDMMSG_BATCH + 1);
        }
        CHECK(!fake_idle(&f));
        for (int i = 0; i < n;) {
                struct json_object *m = fake_recv(&f, 0);
                if (!m) {
                        CHECK(bus_process(bus) >= 0); /* writes what the socket did not take */
                        continue;
                }
                CHECK_STREQ(fake_str(m, "type"), "publish");
                json_object_put(m);
                i++;
        }
        CHECK_EQ_INT(transport_queued(&bus->t), 0);
        CHECK(fake_idle(&f));
        json_object_put(data);
        bus_close(bus);
        fake_close(&f);
}

struct reader {
        struct fake *f;
        long count;
        bool in_order;
};

/* Drains the daemon's end until EOF, checking that integer data counts 0,
 * 1, 2, ... */
static void *reader_main(void *userdata)
{
        struct reader *rd = userdata;
        struct json_object *m;

        rd->in_order = true;
        while ((m = fake_recv(rd->f, 10000))) {
                if (json_object_is_type(json_object_object_get(m, "data"), json_type_int) &&
                    fake_int(m, "data") != rd->count)
                        rd->in_order = false;
                rd->count++;
                json_object_put(m);
        }
        return NULL;
}

static void test_100k(bool seq)
{
        struct reader rd = { 0 };
        struct bus *bus;
        struct fake f;
        pthread_t th;
        size_t most = 0, total = 0;

        fake_open(&f, seq, NULL, &bus);
        rd.f = &f;
        uint64_t writes = bus->t.writes;
        CHECK(pthread_create(&th, NULL, reader_main, &rd) == 0);
        for (int i = 0; i < EVENTS; i++) {
                struct json_object *d = json_object_new_int(i);
                size_t before = transport_queued(&bus->t);
                CHECK_EQ_INT(bus_publish(bus, "bench.events", d), 0);
                json_object_put(d);
                if (transport_queued(&bus->t) > before)
                        total += transport_queued(&bus->t) - before;
                if (transport_queued(&bus->t) > most)
                        most = transport_queued(&bus->t);
        }
        CHECK_EQ_INT(bus_flush(bus), 0);
        uint64_t used = bus->t.writes - writes;
        bus_close(bus);
        CHECK(pthread_join(th, NULL) == 0);
        CHECK_EQ_INT(rd.count, EVENTS);
        CHECK(rd.in_order);
        fprintf(stderr, "%s: %d events, about %zu bytes, %llu write syscalls, at most %zu bytes buffered\n",
                seq ? "seqpacket" : "stream", EVENTS, total, (unsigned long long)used, most);
        /* far from one per event: a few send() per 64 KiB of output on stream; on
         * seqpacket a few sendmmsg() per batch of 256 packets */
        if (!seq)
                CHECK(used <= 4 * (total / BUS_OUT_FLUSH_BYTES) + 64);
        else
                CHECK(used <= 4 * (EVENTS / BUS_SENDMMSG_BATCH) + 64);
        CHECK(most <= BUS_OUT_MAX_BYTES + 100);
        fake_close(&f);
}

/* The output buffer is bounded: once 8 MiB are buffered (the peer does not
 * read), the next publish blocks to flush down to half the bound instead of
 * growing the buffer. */
static void test_out_bound(bool seq)
{
        struct reader rd = { 0 };
        struct bus *bus;
        struct fake f;
        pthread_t th;
        char text[800];
        int n = 0;

        fake_open(&f, seq, NULL, &bus);
        rd.f = &f;
        memset(text, 'x', sizeof(text) - 1);
        text[sizeof(text) - 1] = 0;
        struct json_object *big = json_object_new_string(text);
        while (transport_queued(&bus->t) < BUS_OUT_MAX_BYTES) {
                CHECK_EQ_INT(bus_publish(bus, "bench.big", big), 0);
                n++;
        }
        CHECK(transport_queued(&bus->t) <= BUS_OUT_MAX_BYTES + sizeof(text) + 100);
        /* the peer starts reading only now; this publish waits for it */
        CHECK(pthread_create(&th, NULL, reader_main, &rd) == 0);
        CHECK_EQ_INT(bus_publish(bus, "bench.big", big), 0);
        n++;
        CHECK(transport_queued(&bus->t) <= BUS_OUT_MAX_BYTES / 2 + sizeof(text) + 100);
        CHECK_EQ_INT(bus_flush(bus), 0);
        json_object_put(big);
        bus_close(bus); /* the reader stops at EOF */
        pthread_join(th, NULL);
        CHECK_EQ_INT(rd.count, n);
        fake_close(&f);
}

struct flood {
        struct fake *f;
        int events;
};

/* Sends events of ~1 KiB, then the answer to the blocking call (id 3). */
static void *flood_main(void *userdata)
{
        struct flood *fl = userdata;
        char pad[1001];

        memset(pad, 'p', 1000);
        pad[1000] = 0;
        for (int i = 0; i < fl->events; i++)
                fake_send(fl->f,
                          "{\"type\":\"event\",\"topic\":\"a.b\",\"data\":{\"i\":%d,\"pad\":\"%s\"},\"sender\":\":2\","
                          "\"creds\":{\"uid\":1,\"gid\":1,\"pid\":1}}",
                          i, pad);
        fake_send(fl->f, "{\"type\":\"reply\",\"id\":3,\"result\":\"done\",\"sender\":\":2\"}");
        return NULL;
}

struct tally {
        int delivered;
        int next;
        bool in_order;
        uint64_t dropped;
        int dropped_reports;
        bool drop_after_events;
};

static void on_event(struct bus *bus, const struct bus_event *ev, void *userdata)
{
        struct tally *t = userdata;
        int i = (int)json_object_get_int(json_object_object_get(bus_event_data(ev), "i"));

        if (i != t->next || t->dropped)
                t->in_order = false;
        t->next = i + 1;
        t->delivered++;
}

static void on_dropped(struct bus *bus, uint64_t count, uint64_t total, void *userdata)
{
        struct tally *t = userdata;

        t->dropped += count;
        t->dropped_reports++;
        CHECK_EQ_INT(total, t->dropped);
}

static void test_in_bound(bool seq)
{
        struct tally t = { .in_order = true };
        struct flood fl;
        struct bus *bus;
        struct fake f;
        pthread_t th;

        fake_open(&f, seq, NULL, &bus);
        bus_on_dropped(bus, on_dropped, &t);
        fake_send(&f, "{\"type\":\"reply\",\"id\":2,\"result\":{\"pattern\":\"a.b\"},\"sender\":\"org.busd\"}");
        CHECK_EQ_INT(bus_subscribe(bus, "a.b", on_event, &t), 0);
        fl.f = &f;
        fl.events = (int)(BUS_IN_QUEUE_MAX_BYTES / 1000) + 2000; /* well over the bound */
        CHECK(pthread_create(&th, NULL, flood_main, &fl) == 0);
        struct json_object *res = NULL;
        CHECK_EQ_INT(bus_call(bus, ":2", "m", NULL, 20000, &res), 0);
        CHECK_STREQ(json_object_get_string(res), "done");
        json_object_put(res);
        CHECK(pthread_join(th, NULL) == 0);
        CHECK_EQ_INT(t.delivered, 0); /* nothing ran inside the blocking call */
        CHECK(bus->inq_bytes <= BUS_IN_QUEUE_MAX_BYTES + 1200);
        while (bus_process(bus) > 0)
                ;
        fprintf(stderr, "%s: %d events while blocked: %d queued and delivered, %llu dropped (%d report)\n",
                seq ? "seqpacket" : "stream", fl.events, t.delivered, (unsigned long long)t.dropped, t.dropped_reports);
        CHECK(t.dropped > 0);
        CHECK_EQ_INT(t.delivered + (int)t.dropped, fl.events);
        CHECK_EQ_INT(t.dropped_reports, 1);
        CHECK(t.in_order); /* the first events kept, in order, then the report */
        bus_close(bus);
        fake_close(&f);
}

int main(void)
{
        const char *n = getenv("BUS_TEST_BATCH_EVENTS");

        if (n && atoi(n) > 0)
                EVENTS = atoi(n);
        for (int seq = 0; seq < 2; seq++) {
                test_nothing_before_64k(seq);
                test_100k(seq);
                test_out_bound(seq);
                test_in_bound(seq);
        }
        return 0;
}
