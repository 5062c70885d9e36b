/* sc_events.c: event throughput, 1:1 (pubsub) and 1:N (fanout). A publisher
 * process publishes N events with libbus (buffered, written in batches) as
 * fast as it can; each subscriber process counts what it receives plus what
 * the daemon reports dropped (`dropped` notices), until every event is
 * accounted for. The publisher serialises the payload once and publishes the
 * text (bus_publish_json()); the subscriber never asks for the data
 * (bus_event_data()), so libbus builds no json-c tree: the floor of what a
 * libbus subscriber costs. The rate is events received over the time from the first
 * publish to the last subscriber's last event. The counts are checked
 * against the daemon's own counters: an event neither received nor reported
 * dropped is a bug, and so is a subscriber that never accounts for all.
 *
 * Across a bridge (--remote-address) the publisher is on one bus and the
 * subscribers on the other. An event the link drops (its queue full) reaches
 * no subscriber and no `dropped` notice says so: once the publisher's bus has
 * handled every publish, the main process reads the link's `dropped` counter
 * there and sends it down each subscriber's pipe, which then accounts for
 * those too. The cross-check against the delivery counters is skipped (two
 * external daemons). */
#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bus.h>

#include "address.h"
#include "bench.h"

#define TOPIC "bench.ev"
#define SUBSCRIBER_GRACE_MS 60000 /* after the publisher is done; catches hangs only */

struct ev_role {
        const char *address;     /* the subscribers' bus */
        const char *pub_address; /* the publisher's: the other bus with --remote-address */
        size_t payload;
        uint64_t n;
        bool remote; /* the subscribers read the link's drops from their pipe */
};

struct sub_state {
        uint64_t n, received, dropped, t_end;
        uint64_t t_last; /* remote: when the last event or notice came */
        bool done, remote;
};

static void check_done(struct sub_state *st)
{
        if (!st->done && st->received + st->dropped >= st->n) {
                st->done = true;
                st->t_end = now_ns();
        }
}

static void on_event(struct bus *bus, const struct bus_event *ev, void *userdata)
{
        struct sub_state *st = userdata;

        st->received++;
        if (st->remote)
                st->t_last = now_ns();
        check_done(st);
}

static void on_dropped(struct bus *bus, uint64_t count, uint64_t total, void *userdata)
{
        struct sub_state *st = userdata;

        st->dropped += count;
        if (st->remote)
                st->t_last = now_ns();
        check_done(st);
}

/* Remote: the main process sent the number of events the link dropped; they
 * count as dropped, and the end is the last event's time, not now. Returns 0,
 * or a negative errno (EOF: the main process gave up). */
static int link_drops(const struct kid_io *io, struct sub_state *st)
{
        uint64_t lost;
        int e = read_all(io->down, &lost, sizeof(lost));

        if (e < 0)
                return e;
        st->dropped += lost;
        if (!st->done && st->received + st->dropped >= st->n) {
                st->done = true;
                st->t_end = st->t_last ? st->t_last : now_ns();
        }
        return 0;
}

/* Remote: waits for the bus (fd, events) or the pipe. Returns 1 when the pipe
 * is readable, 0 for the bus, or a negative errno. */
static int wait_bus_or_pipe(const struct kid_io *io, int fd, short events, int timeout_ms)
{
        struct pollfd p[2] = { { .fd = fd, .events = events }, { .fd = io->down, .events = POLLIN } };

        if (poll(p, 2, timeout_ms) < 0)
                return errno == EINTR ? 0 : -errno;
        return p[1].revents ? 1 : 0;
}

static int kid_subscriber(const struct kid_io *io, void *arg)
{
        struct ev_role *r = arg;
        struct sub_state st = { .n = r->n, .remote = r->remote };
        struct result res = { .kind = KID_RESULT };
        struct bus *bus;
        int e = bus_open(r->address, "bench-subscriber", &bus);

        if (e < 0)
                return io_fail(io, e, "subscriber: bus_open %s: %s", r->address, bus_open_error());
        bus_on_dropped(bus, on_dropped, &st);
        if ((e = bus_subscribe(bus, TOPIC, on_event, &st)) < 0)
                return io_fail(io, e, "subscriber: subscribe: %s", bus_last_error(bus));
        io_ready(io);
        while (!st.done) {
                e = bus_process(bus);
                if (e < 0)
                        return io_fail(io, e, "subscriber: connection failed after %llu events: %s",
                                       (unsigned long long)st.received, bus_last_error(bus));
                if (e == 0 && r->remote) {
                        e = wait_bus_or_pipe(io, bus_get_fd(bus), (short)bus_get_events(bus), bus_get_timeout(bus));
                        if (e > 0)
                                e = link_drops(io, &st);
                        if (e < 0)
                                return io_fail(io, e, "subscriber: wait: %s", strerror(-e));
                        continue;
                }
                if (e == 0 && (e = bus_wait(bus, -1)) < 0 && e != -EINTR)
                        return io_fail(io, e, "subscriber: wait: %s", strerror(-e));
        }
        res.count = st.received;
        res.dropped = st.dropped;
        res.t_end = st.t_end;
        io_send(io, &res);
        bus_close(bus);
        return 0;
}

/* Accounts for one message a raw subscriber received. */
static void raw_message(struct sub_state *st, const char *s, size_t len)
{
        /* the daemon writes "type" first (wire.c, and json-c keeps insertion order) */
        static const char event[] = "{\"type\":\"event\"", dropped[] = "{\"type\":\"dropped\"";

        if (len >= sizeof(event) - 1 && memcmp(s, event, sizeof(event) - 1) == 0) {
                st->received++;
                if (st->remote)
                        st->t_last = now_ns();
        } else if (len >= sizeof(dropped) - 1 && memcmp(s, dropped, sizeof(dropped) - 1) == 0) {
                const char *c = memmem(s, len, "\"count\":", 8);
                if (c)
                        st->dropped += strtoull(c + 8, NULL, 10);
                if (st->remote)
                        st->t_last = now_ns();
        }
        check_done(st);
}

/* A subscriber without libbus: hello, subscribe, then only count lines or
 * packets. It shows what the daemon can deliver when the receiver's JSON
 * parsing is not the limit. */
static int kid_raw_subscriber(const struct kid_io *io, void *arg)
{
        static const char hello[] = "{\"type\":\"hello\",\"name\":\"bench-raw-subscriber\"}\n";
        static const char sub[] = "{\"type\":\"subscribe\",\"id\":1,\"pattern\":\"" TOPIC "\"}\n";
        struct ev_role *r = arg;
        struct sub_state st = { .n = r->n, .remote = r->remote };
        struct result res = { .kind = KID_RESULT };
        size_t cap = 256 * 1024, have = 0;
        char *buf = malloc(cap);
        struct address parsed;
        bool seq = address_parse(r->address, &parsed) == 0 && parsed.seqpacket;
        int fd = raw_connect(r->address), answers = 0;

        if (fd < 0 || !buf)
                return io_fail(io, fd < 0 ? fd : -ENOMEM, "raw subscriber: cannot connect to %s", r->address);
        if (write_all(fd, hello, sizeof(hello) - (seq ? 2 : 1)) < 0 ||
            write_all(fd, sub, sizeof(sub) - (seq ? 2 : 1)) < 0)
                return io_fail(io, -EPIPE, "raw subscriber: write failed");
        while (!st.done) {
                /* remote: the link's drops may arrive on the pipe meanwhile */
                if (r->remote && answers == 2) {
                        int w = wait_bus_or_pipe(io, fd, POLLIN, -1);
                        if (w > 0)
                                w = link_drops(io, &st);
                        if (w < 0)
                                return io_fail(io, w, "raw subscriber: wait: %s", strerror(-w));
                        struct pollfd p = { .fd = fd, .events = POLLIN };
                        if (st.done || poll(&p, 1, 0) <= 0)
                                continue;
                }
                ssize_t got = read(fd, buf + have, cap - have);
                if (got < 0 && errno == EINTR)
                        continue;
                if (got <= 0)
                        return io_fail(io, -EPIPE, "raw subscriber: the daemon closed after %llu events",
                                       (unsigned long long)st.received);
                /* one message per packet, or every complete line */
                char *p = buf, *end = buf + have + got, *eol;
                while (p < end && (eol = seq ? end : memchr(p, '\n', (size_t)(end - p)))) {
                        size_t len = (size_t)(eol - p);
                        if (answers == 0) {
                                answers++; /* the welcome */
                        } else if (answers == 1) {
                                /* the subscription is in effect: the publisher may start */
                                if (!memmem(p, len, "\"reply\"", 7))
                                        return io_fail(io, -EPROTO, "raw subscriber: subscribe refused: %.*s",
                                                       (int)(len < 150 ? len : 150), p);
                                answers++;
                                io_ready(io);
                        } else {
                                raw_message(&st, p, len);
                        }
                        p = eol + (seq ? 0 : 1);
                }
                have = (size_t)(end - p);
                memmove(buf, p, have);
                if (have == cap)
                        return io_fail(io, -EMSGSIZE, "raw subscriber: a line over %zu bytes", cap);
        }
        res.count = st.received;
        res.dropped = st.dropped;
        res.t_end = st.t_end;
        io_send(io, &res);
        close(fd);
        free(buf);
        return 0;
}

static int kid_publisher(const struct kid_io *io, void *arg)
{
        struct ev_role *r = arg;
        struct result res = { .kind = KID_RESULT };
        struct json_object *data = payload_json(r->payload);
        struct bus *bus;
        size_t len = 0;
        /* serialised once: each publish copies the text (after libbus's check) */
        const char *text = data ? json_object_to_json_string_length(data, JSON_C_TO_STRING_PLAIN, &len) : NULL;
        int e = bus_open(r->pub_address, "bench-publisher", &bus);

        if (e < 0)
                return io_fail(io, e, "publisher: bus_open %s: %s", r->pub_address, bus_open_error());
        if (!text)
                return io_fail(io, -ENOMEM, "publisher: out of memory");
        io_ready(io);
        if (io_wait(io) <= 0)
                return 1;
        res.t_start = now_ns();
        for (uint64_t i = 0; i < r->n; i++)
                if ((e = bus_publish_json(bus, TOPIC, text, len)) < 0)
                        return io_fail(io, e, "publisher: publish %llu: %s", (unsigned long long)i,
                                       bus_last_error(bus));
        /* a round trip to the daemon: it has handled every publish before it answers */
        if ((e = bus_call(bus, "org.busd", "ping", NULL, BUS_TIMEOUT_DEFAULT, NULL)) < 0)
                return io_fail(io, e, "publisher: ping: %s", bus_last_error(bus));
        res.t_end = now_ns();
        res.count = r->n;
        io_send(io, &res);
        bus_close(bus);
        json_object_put(data);
        return 0;
}

/* Checks the subscribers' accounts against the daemon's counters. dropped
 * includes, across a bridge, the events the link dropped (once per
 * subscriber). */
static void check_counts(struct bench *b, struct row *row, uint64_t received, uint64_t dropped, uint64_t expected,
                         const struct snap *s0, const struct snap *s1)
{
        uint64_t deliveries = s1->deliveries - s0->deliveries, drops = s1->drops - s0->drops;

        if (received + dropped > expected && b->rctl) {
                /* a subscriber stops once it has accounted for every event */
                row->failed = true;
                snprintf(row->note, sizeof(row->note), "BUG: received %llu + dropped %llu (link drops included) > %llu",
                         (unsigned long long)received, (unsigned long long)dropped, (unsigned long long)expected);
        } else if (received + dropped != expected) {
                row->failed = true;
                snprintf(row->note, sizeof(row->note), "BUG: received %llu + dropped %llu != %llu",
                         (unsigned long long)received, (unsigned long long)dropped, (unsigned long long)expected);
        } else if (b->d.child > 0 && (deliveries != received || drops != dropped)) {
                /* only on our own daemon: another bus may carry other traffic */
                row->failed = true;
                snprintf(row->note, sizeof(row->note),
                         "BUG: daemon counted %llu deliveries/%llu drops, subscribers %llu/%llu",
                         (unsigned long long)deliveries, (unsigned long long)drops, (unsigned long long)received,
                         (unsigned long long)dropped);
        }
}

void sc_events(struct bench *b, enum transport t, unsigned subscribers, bool raw)
{
        char name[24];
        snprintf(name, sizeof(name), "%s-1:%u%s", subscribers == 1 ? "pubsub" : "fanout", subscribers,
                 raw ? "-raw" : "");
        struct row *row = report_add(&b->rep, name, t);
        enum scenario sc = subscribers == 1 ? (raw ? SC_PUBSUB_RAW : SC_PUBSUB) : (raw ? SC_FANOUT_RAW : SC_FANOUT);
        uint64_t n = bench_count(b, sc);
        struct ev_role role = {
                .address = b->d.addr[t], .pub_address = b->d.addr[t], .payload = b->opt.payload, .n = n
        };
        struct result pub, res;
        struct snap s0, s1, r0 = { 0 }, r1 = { 0 }, mid;
        uint64_t link_dropped = 0;
        struct kids ks;
        char err[256];
        uint64_t received = 0, dropped = 0, t_end = 0;

        if (!row)
                return;
        if (b->rctl) {
                role.address = b->rd.addr[t];
                role.remote = true;
        }
        kids_init(&ks);
        for (unsigned i = 0; i < subscribers; i++) {
                int k = kids_spawn(&ks, "subscriber", raw ? kid_raw_subscriber : kid_subscriber, &role);
                if (k < 0 || kid_wait_ready(&ks.k[k], err, sizeof(err)) < 0)
                        goto fail;
        }
        int ip = kids_spawn(&ks, "publisher", kid_publisher, &role);
        if (ip < 0 || kid_wait_ready(&ks.k[ip], err, sizeof(err)) < 0)
                goto fail;
        if (bench_snap(b, &s0, &r0) < 0) {
                snprintf(err, sizeof(err), "cannot sample the daemon");
                goto fail;
        }
        kid_go(&ks.k[ip]);
        int e = kid_read(&ks.k[ip], &pub, 600000);
        if (e < 0 || pub.error) {
                snprintf(err, sizeof(err), "publisher: %s",
                         e == -ETIMEDOUT ? "no result after 600 s (hang)"
                         : e < 0         ? "died"
                                         : pub.what);
                goto fail;
        }
        if (b->rctl) {
                /* the publisher's bus has handled every publish (its ping
                 * came back): the link has queued or dropped each event */
                if (daemon_snap(&b->d, b->ctl, &mid) < 0) {
                        snprintf(err, sizeof(err), "cannot sample the daemon");
                        goto fail;
                }
                link_dropped = mid.link_dropped - s0.link_dropped;
                /* a subscriber that is done already has exited: EPIPE is fine */
                for (unsigned i = 0; i < subscribers; i++)
                        write_all(ks.k[i].down, &link_dropped, sizeof(link_dropped));
        }
        for (unsigned i = 0; i < subscribers; i++) {
                e = kid_read(&ks.k[i], &res, SUBSCRIBER_GRACE_MS);
                if (e == -ETIMEDOUT) {
                        struct snap s;
                        /* the subscribers' daemon */
                        daemon_snap(b->rctl ? &b->rd : &b->d, b->rctl ? b->rctl : b->ctl, &s);
                        if (b->rctl)
                                s0 = r0;
                        snprintf(err, sizeof(err),
                                 "BUG: subscriber %u never accounted for all %llu events (daemon: %llu deliveries, "
                                 "%llu drops since start)",
                                 i, (unsigned long long)n, (unsigned long long)(s.deliveries - s0.deliveries),
                                 (unsigned long long)(s.drops - s0.drops));
                        goto fail;
                }
                if (e < 0 || res.error) {
                        snprintf(err, sizeof(err), "subscriber %u: %s", i, e < 0 ? "died" : res.what);
                        goto fail;
                }
                received += res.count;
                dropped += res.dropped;
                if (res.t_end > t_end)
                        t_end = res.t_end;
        }
        if (bench_snap(b, &s1, &r1) < 0) {
                snprintf(err, sizeof(err), "cannot sample the daemon");
                goto fail;
        }
        kids_finish(&ks);
        double secs = (double)(t_end - pub.t_start) / 1e9, pub_secs = (double)(pub.t_end - pub.t_start) / 1e9;
        /* deliveries happen on the subscribers' bus, publishes on the publisher's */
        uint64_t deliveries = b->rctl ? r1.deliveries - r0.deliveries : s1.deliveries - s0.deliveries;
        uint64_t cpu = bench_cpu_ns(b, &s0, &s1, &r0, &r1);
        row->count = n;
        row->value = secs > 0 ? (double)received / secs : 0;
        row->unit = subscribers == 1 ? "events/s" : "deliveries/s";
        row->dropped = (int64_t)dropped;
        row->daemon_us = deliveries ? (double)cpu / 1e3 / (double)deliveries : NAN;
        uint64_t events = s1.events - s0.events;
        row->publish_rate = pub_secs > 0 ? (double)n / pub_secs : 0;
        row->daemon_us_publish = events ? (double)cpu / 1e3 / (double)events : NAN;
        if (b->rctl)
                snprintf(row->note, sizeof(row->note), "across the bridge: link dropped %llu",
                         (unsigned long long)link_dropped);
        check_counts(b, row, received, dropped, n * subscribers, &s0, &s1);
        return;
fail:
        row->failed = true;
        snprintf(row->note, sizeof(row->note), "%s", err);
        kids_kill(&ks);
}
