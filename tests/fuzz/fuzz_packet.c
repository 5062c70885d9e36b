/* fuzz_packet.c: the seqpacket transport's input path as busd/io/conn.c runs it
 * (seq_read): each packet goes through frame_packet() (proto/frame.c) with
 * the connection's current limit, then, if accepted, to router_handle() and
 * the whole routing core. Four fake seqpacket peers with real busd/core/outq.c
 * rings, as in fuzz_router.c.
 *
 * Input: records of a 3-byte header and a packet:
 *   byte 0  bits 0-1  the peer (0-3) the packet comes from
 *           bit 2     the kernel reported MSG_TRUNC for it
 *           bit 3     afterwards the carrier writes that peer's whole queue
 *           bits 4-5  before it: 0 nothing, 1 the peer reconnects,
 *                     2 it reconnects with small limits (max_message 200),
 *                     3 one second passes and router_tick() runs
 *   bytes 1-2 packet length, little-endian (cut to what is left)
 * The packet is handed over in a buffer of exactly its length, so that
 * reading past it is caught. A zero-length packet is the end of the
 * connection, as for the daemon.
 *
 * Invariants: frame_packet() accepts exactly what docs/protocol.md §1 says
 * (not truncated, at most max bytes once one trailing line feed is removed;
 * max is 64 KiB before hello), gives that length and leaves *ret_len alone
 * otherwise; what the daemon sends (answers, relays, the too_large error) is
 * one line of JSON its own strict rules accept, of a daemon-to-client type,
 * within the receiver's max_recv, even though a packet, unlike a stream line,
 * may hold raw line feeds; queue accounting equals the ring; router_handle()
 * pauses exactly when over the queue limit; pending calls agree; after
 * everyone left nothing is pending; LeakSanitizer checks the memory. */
#include <json-c/json.h>
#include <string.h>

#include "buf.h"
#include "buslimits.h"
#include "frame.h"
#include "fuzz.h"
#include "jsonparse.h"
#include "outq.h"
#include "router.h"

#define NPEERS 4
#define QUEUE_BYTES 4096
#define SMALL_MAX 200

struct fpeer {
        struct peer peer; /* first: the ops get a struct peer */
        struct outq q;
        bool live;
        bool killed;
};

struct world {
        struct router *r;
        struct fpeer peers[NPEERS];
        uint64_t now;
};

static struct jsonparse *checker;

static const char *const daemon_types[] = { "welcome", "reply",         "error",     "call",   "event",
                                            "dropped", "name_acquired", "name_lost", "monitor" };

/* What a seqpacket client receives: one packet (the queued line without its
 * line feed) that it must be able to parse. */
static void check_sent(const struct buf *b, size_t max_recv)
{
        struct json_object *o = NULL, *t;
        char err[256];

        FUZZ_CHECK(b->len >= 2 && b->data[b->len - 1] == '\n');
        FUZZ_CHECK(memchr(b->data, '\n', b->len - 1) == NULL);
        FUZZ_CHECK(b->len - 1 <= max_recv);
        if (jsonparse_parse(checker, b->data, b->len - 1, &o, err, sizeof(err)) < 0) {
                fprintf(stderr, "the daemon sent what a client must refuse: %s\n%.*s", err,
                        (int)(b->len < 2000 ? b->len : 2000), b->data);
                FUZZ_CHECK(!"daemon output passes the protocol's JSON rules");
        }
        FUZZ_CHECK(json_object_object_get_ex(o, "type", &t) && json_object_is_type(t, json_type_string));
        bool known = false;
        for (size_t i = 0; i < sizeof(daemon_types) / sizeof(daemon_types[0]); i++)
                known |= strcmp(json_object_get_string(t), daemon_types[i]) == 0;
        FUZZ_CHECK(known);
        json_object_put(o);
}

static int fp_send(struct peer *p, struct buf *b)
{
        struct fpeer *f = (struct fpeer *)p;

        FUZZ_CHECK(f->live);
        check_sent(b, p->max_recv);
        if (outq_push(&f->q, buf_ref(b)) < 0) {
                buf_unref(b);
                return -1;
        }
        return 0;
}

static void fp_kill(struct peer *p, const char *reason)
{
        struct fpeer *f = (struct fpeer *)p;

        FUZZ_CHECK(f->live && reason && reason[0]);
        f->killed = true;
}

static const struct peer_ops ops = { .send = fp_send, .kill = fp_kill };

static void add(struct world *w, int i, bool small)
{
        struct fpeer *f = &w->peers[i];
        size_t max = small ? SMALL_MAX : BUS_MAX_MESSAGE_SEQPACKET;

        outq_init(&f->q);
        f->killed = false;
        f->live = router_peer_add(w->r, &f->peer, &ops, "seqpacket", 1000 + (uid_t)i, 100, 4000 + i, max,
                                  max + BUS_RELAY_OVERHEAD) == 0;
}

/* The connection ends (the queue, drained or not, goes with it). */
static void close_peer(struct world *w, int i)
{
        struct fpeer *f = &w->peers[i];

        if (f->live) {
                router_peer_remove(w->r, &f->peer);
                outq_deinit(&f->q);
        }
        f->live = false;
}

static void write_all(struct world *w, int i)
{
        struct fpeer *f = &w->peers[i];
        size_t bytes = 0, n = f->q.count;

        if (!f->live)
                return;
        outq_consume_items(&f->q, n, &bytes);
        FUZZ_CHECK(router_peer_wrote(w->r, &f->peer, bytes, n));
}

static size_t list_len(const struct list *l)
{
        size_t n = 0;
        list_for_each(pos, l) n++;
        return n;
}

static void check(struct world *w)
{
        size_t live = 0, out = 0, in = 0;

        for (int i = 0; i < NPEERS; i++) {
                struct fpeer *f = &w->peers[i];
                if (!f->live)
                        continue;
                live++;
                size_t bytes = 0;
                for (size_t k = 0; k < f->q.count; k++)
                        bytes += outq_at(&f->q, k)->len;
                FUZZ_CHECK(f->peer.queued_bytes == bytes);
                FUZZ_CHECK(f->peer.queued_msgs == f->q.count);
                FUZZ_CHECK(f->peer.n_calls_out == list_len(&f->peer.calls_out));
                out += f->peer.n_calls_out;
                in += list_len(&f->peer.calls_in);
        }
        FUZZ_CHECK(router_peer_count(w->r) == live);
        FUZZ_CHECK(router_pending_calls(w->r) == out);
        FUZZ_CHECK(out == in);
}

/* busd/io/conn.c conn_max_message(): the limit in force for the next packet. */
static size_t max_message(const struct peer *p)
{
        return p->hello_done || p->max_message < BUS_MAX_HELLO_MESSAGE ? p->max_message : BUS_MAX_HELLO_MESSAGE;
}

/* One packet from peer i, as seq_read() handles it. */
static void packet(struct world *w, int i, const uint8_t *data, size_t len, bool truncated)
{
        struct fpeer *f = &w->peers[i];

        if (!f->live)
                return;
        if (len == 0) { /* the end of the connection */
                close_peer(w, i);
                add(w, i, false);
                return;
        }
        /* exactly the packet, so that reading past it is caught */
        char *pkt = malloc(len);
        FUZZ_CHECK(pkt);
        memcpy(pkt, data, len);

        size_t max = max_message(&f->peer);
        size_t want = len - (pkt[len - 1] == '\n');
        size_t got = (size_t)-1;
        int r = frame_packet(max, pkt, len, truncated, &got);
        if (truncated || want > max) {
                FUZZ_CHECK(r == FRAME_TOO_LARGE);
                FUZZ_CHECK(got == (size_t)-1); /* out-parameters untouched on failure */
                /* the violation: an error, then the connection is drained */
                struct buf *b = router_error_buf(w->r, "too_large", "a packet is larger than max_message; closing");
                FUZZ_CHECK(b);
                check_sent(b, f->peer.max_recv);
                buf_unref(b);
                close_peer(w, i);
                add(w, i, false);
                free(pkt);
                return;
        }
        FUZZ_CHECK(r == FRAME_OK && got == want);
        /* the router must not look at the stripped line feed either */
        char *msg = malloc(got ? got : 1);
        FUZZ_CHECK(msg);
        memcpy(msg, pkt, got);
        free(pkt);
        int res = router_handle(w->r, &f->peer, msg, got);
        free(msg);
        FUZZ_CHECK(res == (f->peer.queued_bytes > QUEUE_BYTES ? ROUTER_PAUSE : ROUTER_OK));
}

static void tick(struct world *w)
{
        w->now += 1000;
        router_set_time(w->r, w->now);
        router_tick(w->r);
        for (int k = 0; k < NPEERS; k++) {
                if (w->peers[k].killed) {
                        FUZZ_CHECK(w->peers[k].live);
                        close_peer(w, k);
                        add(w, k, false);
                }
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct router_config cfg = { .uid = 0, .gid = 0, .pid = 1 };
        struct world w;

        if (!checker)
                checker = jsonparse_new(BUS_MAX_DEPTH);
        FUZZ_CHECK(checker);
        router_limits_default(&cfg.limits);
        cfg.limits.queue_bytes = QUEUE_BYTES;
        cfg.limits.max_pending_calls = 4;
        cfg.limits.max_names = 4;
        cfg.limits.max_subscriptions = 8;
        cfg.limits.stall_timeout_ms = 2000;
        memset(&w, 0, sizeof(w));
        w.r = router_new(&cfg);
        FUZZ_CHECK(w.r);
        w.now = 1000000;
        router_set_time(w.r, w.now);
        for (int i = 0; i < NPEERS; i++)
                add(&w, i, false);

        while (size >= 3) {
                uint8_t h = data[0];
                size_t len = (size_t)data[1] | (size_t)data[2] << 8;
                data += 3;
                size -= 3;
                if (len > size)
                        len = size;
                int p = h & 3;
                switch ((h >> 4) & 3) {
                case 1:
                case 2:
                        close_peer(&w, p);
                        add(&w, p, ((h >> 4) & 3) == 2);
                        break;
                case 3:
                        tick(&w);
                        break;
                default:
                        break;
                }
                packet(&w, p, data, len, h & 4);
                if (h & 8)
                        write_all(&w, p);
                check(&w);
                data += len;
                size -= len;
        }
        for (int i = 0; i < NPEERS; i++)
                close_peer(&w, i);
        FUZZ_CHECK(router_peer_count(w.r) == 0);
        FUZZ_CHECK(router_pending_calls(w.r) == 0);
        router_free(w.r);
        return 0;
}
