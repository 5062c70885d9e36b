/* fuzz_router.c: the whole routing core (busd/core/router.c and everything under
 * it) driven by a script of lines, with four fake peers whose output queues
 * are real busd/core/outq.c rings, as in busd/io/conn.c.
 *
 * Input: lines separated by '\n'. A line starting with a digit 0-3 is a
 * message from that peer (the rest of the line). Capital letters act on the
 * peer named by the next digit:
 *   R<p>      the peer disconnects (router_peer_remove) and a new one takes its slot
 *   S<p>      the same, the new one with small transport limits (max_recv 2048)
 *   D<p>      the carrier drops its queue (router_peer_discard_queue) and removes it
 *   X<p>      drain: removed from the router, its queue still being written
 *   W<p>[n]   the carrier writes n (1-9) queued messages, or all without n
 *   T<ms>     time passes (decimal ms, at most 99999) and router_tick() runs;
 *             peers it kills are then removed, as the carrier does
 * Any other line is a message from peer 0.
 *
 * Invariants, checked after every line: every message sent is one line of
 * JSON that the daemon's own strict rules accept (so clients can parse it),
 * of a daemon-to-client type, within the receiver's max_recv; each peer's
 * queue accounting equals what its ring holds; router_handle() pauses
 * exactly when the queue is over its limit; pending calls agree between
 * router, callers and callees. At the end every peer leaves and an observer
 * checks through org.busd stats that nothing is left (calls, subscriptions,
 * names); LeakSanitizer checks the memory. */
#include <json-c/json.h>
#include <string.h>

#include "buf.h"
#include "buslimits.h"
#include "calls.h"
#include "fuzz.h"
#include "jsonparse.h"
#include "outq.h"
#include "router.h"

#define NPEERS 4
#define QUEUE_BYTES 2048

struct fpeer {
        struct peer peer; /* first: the ops get a struct peer */
        struct outq q;
        bool live;     /* added and not removed */
        bool draining; /* removed, queue still being written */
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

static int fp_send(struct peer *p, struct buf *b)
{
        struct fpeer *f = (struct fpeer *)p;
        struct json_object *o = NULL, *t;
        char err[256];

        FUZZ_CHECK(f->live);
        FUZZ_CHECK(b->len >= 2 && b->data[b->len - 1] == '\n');
        FUZZ_CHECK(memchr(b->data, '\n', b->len - 1) == NULL);
        FUZZ_CHECK(b->len - 1 <= p->max_recv);
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

        outq_init(&f->q);
        f->killed = f->draining = false;
        if (router_peer_add(w->r, &f->peer, &ops, small ? "seqpacket" : "stream", 1000 + (uid_t)i, 100, 4000 + i,
                            small ? 1024 : BUS_MAX_MESSAGE_STREAM,
                            small ? 2048 : BUS_MAX_MESSAGE_STREAM + BUS_RELAY_OVERHEAD) < 0) {
                f->live = false;
                return;
        }
        f->live = true;
}

/* The carrier closes a connection: it leaves the router and its queue goes. */
static void close_peer(struct world *w, int i)
{
        struct fpeer *f = &w->peers[i];

        if (f->live)
                router_peer_remove(w->r, &f->peer);
        if (f->live || f->draining)
                outq_deinit(&f->q);
        f->live = f->draining = false;
}

static void write_some(struct world *w, int i, size_t n)
{
        struct fpeer *f = &w->peers[i];
        size_t bytes = 0;

        if (!f->live && !f->draining)
                return;
        if (n > f->q.count)
                n = f->q.count;
        outq_consume_items(&f->q, n, &bytes);
        bool resume = router_peer_wrote(w->r, &f->peer, bytes, n);
        if (f->live)
                FUZZ_CHECK(resume == (f->peer.queued_bytes <= QUEUE_BYTES / 2));
        else
                FUZZ_CHECK(!resume);
        if (f->draining && f->q.count == 0)
                close_peer(w, i);
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
                FUZZ_CHECK(f->peer.n_subs == list_len(&f->peer.subs));
                FUZZ_CHECK(f->peer.n_owners == list_len(&f->peer.owners));
                out += f->peer.n_calls_out;
                in += list_len(&f->peer.calls_in);
                list_for_each(l, &f->peer.calls_out)
                {
                        struct pcall *pc = list_entry(l, struct pcall, caller_link);
                        FUZZ_CHECK(pc->caller == &f->peer && !pc->callee->removed);
                }
        }
        FUZZ_CHECK(router_peer_count(w->r) == live);
        FUZZ_CHECK(router_pending_calls(w->r) == out);
        FUZZ_CHECK(out == in);
}

static void message(struct world *w, int i, const char *s, size_t len)
{
        struct fpeer *f = &w->peers[i];

        if (!f->live)
                return;
        int res = router_handle(w->r, &f->peer, s, len);
        FUZZ_CHECK(res == (f->peer.queued_bytes > QUEUE_BYTES ? ROUTER_PAUSE : ROUTER_OK));
}

static void line(struct world *w, const char *s, size_t len)
{
        int p = len >= 2 && s[1] >= '0' && s[1] <= '9' ? (s[1] - '0') % NPEERS : -1;

        if (len >= 1 && s[0] >= '0' && s[0] <= '3') {
                message(w, s[0] - '0', s + 1, len - 1);
                return;
        }
        switch (len ? s[0] : 0) {
        case 'R':
        case 'S':
                if (p < 0)
                        break;
                close_peer(w, p);
                add(w, p, s[0] == 'S');
                return;
        case 'D':
                if (p < 0)
                        break;
                if (w->peers[p].live)
                        router_peer_discard_queue(w->r, &w->peers[p].peer);
                close_peer(w, p);
                add(w, p, false);
                return;
        case 'X':
                if (p < 0 || !w->peers[p].live)
                        break;
                router_peer_remove(w->r, &w->peers[p].peer);
                w->peers[p].live = false;
                w->peers[p].draining = true;
                if (w->peers[p].q.count == 0)
                        close_peer(w, p);
                return;
        case 'W':
                if (p < 0)
                        break;
                write_some(w, p, len >= 3 && s[2] >= '1' && s[2] <= '9' ? (size_t)(s[2] - '0') : (size_t)-1);
                return;
        case 'T': {
                uint64_t ms = 0;
                for (size_t k = 1; k < len && k < 6 && s[k] >= '0' && s[k] <= '9'; k++)
                        ms = ms * 10 + (uint64_t)(s[k] - '0');
                w->now += ms;
                router_set_time(w->r, w->now);
                router_tick(w->r);
                for (int k = 0; k < NPEERS; k++) {
                        if (w->peers[k].killed) {
                                FUZZ_CHECK(w->peers[k].live);
                                close_peer(w, k);
                                add(w, k, false);
                        }
                }
                return;
        }
        default:
                break;
        }
        message(w, 0, s, len);
}

/* The end: everyone leaves; a newcomer asks org.busd for the counters. */
static void finish(struct world *w)
{
        for (int i = 0; i < NPEERS; i++)
                close_peer(w, i);
        FUZZ_CHECK(router_peer_count(w->r) == 0);
        FUZZ_CHECK(router_pending_calls(w->r) == 0);

        struct fpeer *o = &w->peers[0];
        add(w, 0, false);
        FUZZ_CHECK(o->live);
        static const char hello[] = "{\"type\":\"hello\"}";
        static const char call[] = "{\"type\":\"call\",\"id\":1,\"dest\":\"org.busd\",\"method\":\"stats\"}";
        router_handle(w->r, &o->peer, hello, sizeof(hello) - 1);
        router_handle(w->r, &o->peer, call, sizeof(call) - 1);
        FUZZ_CHECK(o->q.count == 2);
        struct buf *b = outq_at(&o->q, 1);
        struct json_object *rep = NULL, *res, *v;
        char err[256];
        FUZZ_CHECK(jsonparse_parse(checker, b->data, b->len - 1, &rep, err, sizeof(err)) == 0);
        FUZZ_CHECK(json_object_object_get_ex(rep, "result", &res));
        static const char *const zero[] = { "pending_calls", "subscriptions", "names" };
        for (size_t i = 0; i < 3; i++) {
                FUZZ_CHECK(json_object_object_get_ex(res, zero[i], &v));
                if (json_object_get_int64(v) != 0) {
                        fprintf(stderr, "after everyone left, %s = %lld\n", zero[i],
                                (long long)json_object_get_int64(v));
                        FUZZ_CHECK(!"nothing left after everyone left");
                }
        }
        FUZZ_CHECK(json_object_object_get_ex(res, "connections", &v) && json_object_get_int64(v) == 1);
        json_object_put(rep);
        close_peer(w, 0);
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
        cfg.limits.stall_timeout_ms = 1000;
        memset(&w, 0, sizeof(w));
        w.r = router_new(&cfg);
        FUZZ_CHECK(w.r);
        w.now = 1000000;
        router_set_time(w.r, w.now);
        for (int i = 0; i < NPEERS; i++)
                add(&w, i, false);

        const char *s = (const char *)data, *end = s + size;
        while (s < end) {
                const char *nl = memchr(s, '\n', (size_t)(end - s));
                size_t len = nl ? (size_t)(nl - s) : (size_t)(end - s);
                line(&w, s, len);
                check(&w);
                s += len + 1;
        }
        finish(&w);
        router_free(w.r);
        return 0;
}
