/* send.c: the router's output side (send.h): the queue limit on every
 * message the daemon sends, the answers and notices it makes itself, and the
 * accounting of dropped events. Pure C: no I/O, no libuv; a peer's carrier
 * does the sending through its ops.
 */
#include "send.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "buslimits.h"
#include "errcode.h"
#include "jsonnew.h"
#include "msg.h"
#include "quota.h"
#include "state.h"
#include "wire.h"

/* Starts p's stall clock: its queue is full (router_tick() disconnects it if
 * it stays so without writing). */
static void mark_full(struct router *r, struct peer *p)
{
        /* a peer being removed is never stalled: it would stay linked in
         * r->stalled after its memory is reused (router_peer_remove unlinks
         * it before its names go, which may still publish to it) */
        if (p->full_since_ms || p->removed)
                return;
        /* 0 means "not full": a clock that has not started yet counts from 1 ms */
        p->full_since_ms = r->now_ms ? r->now_ms : 1;
        list_append(&r->stalled, &p->stalled_link);
}

bool send_fd_room(struct router *r, struct peer *p, char *why, size_t whylen)
{
        if (p->queued_fds >= BUS_MAX_QUEUED_FDS) {
                if (why)
                        snprintf(why, whylen,
                                 "%zu descriptors are already waiting for you to read them (max_queued_fds)",
                                 p->queued_fds);
                return false;
        }
        if (quota_over(p->acct, QUOTA_QUEUED_FDS, 1)) {
                r->stats.quota_refusals++;
                if (why)
                        snprintf(why, whylen,
                                 "uid %u already has %" PRIu64 " descriptors waiting in its connections' queues "
                                 "(quota queued_fds)",
                                 (unsigned)p->uid, p->acct->used[QUOTA_QUEUED_FDS]);
                return false;
        }
        if (r->queued_fds >= r->cfg.max_queued_fds) {
                if (why)
                        snprintf(why, whylen,
                                 "the daemon already holds %zu descriptors waiting for their clients to read them "
                                 "(its limit); try again later",
                                 r->queued_fds);
                return false;
        }
        return true;
}

static void flush_notices(struct router *r, struct peer *p);

int send_enqueue_fd(struct router *r, struct peer *p, struct buf *b, enum send_kind kind, int fd, struct buf *fallback)
{
        size_t limit = r->cfg.limits.queue_bytes;
        /* a queued descriptor costs the daemon more than its message's text */
        size_t cost = b->len + (fd >= 0 ? BUS_QUEUED_FD_COST : 0);
        int err = 0;

        if (p->removed)
                err = -ENOTCONN;
        else if (b->len - 1 > p->max_recv)
                err = -EMSGSIZE;
        else if (fd >= 0 && !p->ops->send_fd)
                err = -EOPNOTSUPP;
        else if (fd >= 0 && !send_fd_room(r, p, NULL, 0))
                err = -EMFILE;
        if (!err && kind == SEND_RELAY && p->queued_bytes + cost > limit && p->ops->flush) {
                /* it may simply not have been written to yet in this loop iteration */
                p->ops->flush(p);
        }
        if (!err && kind == SEND_RELAY && p->queued_bytes + cost > limit) {
                mark_full(r, p);
                err = -ENOBUFS;
        }
        if (!err && kind == SEND_RELAY && quota_over(p->acct, QUOTA_QUEUE_BYTES, cost)) {
                /* its uid's connections together hold as much as it may */
                r->stats.quota_refusals++;
                err = -ENOBUFS;
        }
        if (err) {
                if (fd >= 0)
                        close(fd);
                return err;
        }
        if (!list_empty(&p->notices))
                flush_notices(r, p); /* held back earlier: they come first */
        if ((fd >= 0 ? p->ops->send_fd(p, b, fd, fallback) : p->ops->send(p, b)) < 0)
                return -ENOMEM;
        if (fd >= 0) {
                p->fds_sent++;
                p->queued_fds++;
                r->queued_fds++;
                quota_add(p->acct, QUOTA_QUEUED_FDS, 1);
        }
        p->queued_bytes += cost;
        quota_add(p->acct, QUOTA_QUEUE_BYTES, cost);
        p->queued_msgs++;
        p->msgs_out++;
        r->stats.messages_out++;
        r->stats.bytes_out += b->len;
        if (p->queued_bytes > limit)
                mark_full(r, p);
        if (r->monitor_out && !p->monitor)
                r->monitor_out(r, p, b); /* a copy for the monitors (monitor.h) */
        return 0;
}

int send_enqueue(struct router *r, struct peer *p, struct buf *b, enum send_kind kind)
{
        return send_enqueue_fd(r, p, b, kind, -1, NULL);
}

void send_own(struct router *r, struct peer *p, const struct msg *m, struct buf *b)
{
        if (!b)
                return;
        int err = send_enqueue(r, p, b, SEND_OWN);
        if (err == -EMSGSIZE) {
                /* e.g. a `list` result larger than a seqpacket peer may receive */
                struct buf *e = wire_error(m && m->has_id, m ? m->id : 0, -1, ERRCODE_TOO_LARGE,
                                           "the answer is larger than your transport accepts (max_recv)",
                                           BUS_DAEMON_NAME, NULL);
                if (e)
                        send_enqueue(r, p, e, SEND_OWN);
                buf_unref(e);
        }
        buf_unref(b);
}

void send_error_id(struct router *r, struct peer *p, bool has_id, uint64_t id, const char *code, const char *message)
{
        r->stats.errors++;
        send_own(r, p, NULL, wire_error(has_id, id, -1, code, message, BUS_DAEMON_NAME, NULL));
}

void send_error(struct router *r, struct peer *p, const struct msg *m, const char *code, const char *fmt, ...)
{
        char text[SEND_TEXT_MAX];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(text, sizeof(text), fmt, ap);
        va_end(ap);
        send_error_id(r, p, m && m->has_id, m ? m->id : 0, code, text);
}

void send_reply(struct router *r, struct peer *p, const struct msg *m, struct json_object *result)
{
        if (!m->has_id)
                return;
        send_own(r, p, m, wire_reply_tree(m->id, result, BUS_DAEMON_NAME));
}

int send_reply_fd(struct router *r, struct peer *p, const struct msg *m, struct json_object *result, int fd)
{
        struct buf *b = wire_reply_tree(m->id, result, BUS_DAEMON_NAME), *fallback;
        char text[SEND_TEXT_MAX];
        int err;

        /* sent in the reply's place if the kernel will not pass fd: the
         * request is still answered, and the connection stays */
        snprintf(text, sizeof(text),
                 "the kernel refused to pass descriptor %" PRIu64 " (ETOOMANYREFS: too many descriptors the daemon "
                 "sent are not yet received by their clients); ask again later",
                 p->fds_sent + 1);
        fallback = wire_error(true, m->id, -1, ERRCODE_LIMIT, text, BUS_DAEMON_NAME, NULL);
        if (!b || !fallback) {
                buf_unref(b);
                buf_unref(fallback);
                close(fd);
                return -ENOMEM;
        }
        err = send_enqueue_fd(r, p, b, SEND_OWN, fd, fallback);
        buf_unref(b);
        buf_unref(fallback);
        return err;
}

/* ---- name notices ------------------------------------------------------------- */

/* The name notices for one name held back for a peer whose queue was full,
 * merged. With nothing queued for the peer between them they alternate
 * (name_lost, name_acquired, name_lost, ...): what it must learn is the
 * first and, after an even number of them, the last, which brings it back
 * to where it was. */
struct held_notice {
        struct list link; /* in peer->notices */
        bool lost_first;  /* the first was name_lost, else name_acquired */
        uint64_t count;
        char name[];
};

static struct buf *notice_buf(bool lost, const char *name)
{
        struct json_object *o = jsonnew_object();

        json_object_object_add(o, "type", jsonnew_string(lost ? NOTICE_NAME_LOST : "name_acquired"));
        json_object_object_add(o, "name", jsonnew_string(name));
        struct buf *b = wire_object(o);
        json_object_put(o);
        return b;
}

/* Queues the notices held for p, merged, in the order of their names' first
 * notice. Called before anything else is queued for p, and once it drained. */
static void flush_notices(struct router *r, struct peer *p)
{
        struct list held;

        /* detached first: queueing them comes back through send_enqueue_fd() */
        list_init(&held);
        list_for_each_safe(l, tmp, &p->notices)
        {
                list_unlink(l);
                list_append(&held, l);
        }
        list_for_each_safe(l, tmp, &held)
        {
                struct held_notice *h = list_entry(l, struct held_notice, link);
                send_own(r, p, NULL, notice_buf(h->lost_first, h->name));
                if (h->count % 2 == 0)
                        send_own(r, p, NULL, notice_buf(!h->lost_first, h->name));
                list_unlink(l);
                free(h);
        }
}

/* Would a message of len bytes fit p's queue and its uid's quota? */
static bool fits(struct router *r, struct peer *p, size_t len)
{
        if (p->queued_bytes + len > r->cfg.limits.queue_bytes)
                return false;
        return !p->acct || (len <= p->acct->limit[QUOTA_QUEUE_BYTES] &&
                            p->acct->used[QUOTA_QUEUE_BYTES] <= p->acct->limit[QUOTA_QUEUE_BYTES] - len);
}

void send_notice(struct router *r, struct peer *p, const char *type, const char *name)
{
        bool lost = strcmp(type, NOTICE_NAME_LOST) == 0;
        struct buf *b;

        if (p->removed)
                return;
        b = notice_buf(lost, name);
        if (b && list_empty(&p->notices) && fits(r, p, b->len)) {
                send_own(r, p, NULL, b);
                return;
        }
        buf_unref(b);
        /* its queue is full: merged with the notices held for the same name */
        list_for_each(l, &p->notices)
        {
                struct held_notice *h = list_entry(l, struct held_notice, link);
                if (strcmp(h->name, name) == 0) {
                        h->count++;
                        return;
                }
        }
        struct held_notice *h = malloc(sizeof(*h) + strlen(name) + 1);
        if (!h) {
                send_own(r, p, NULL, notice_buf(lost, name)); /* never lost: queued after all */
                return;
        }
        h->lost_first = lost;
        h->count = 1;
        strcpy(h->name, name);
        list_append(&p->notices, &h->link);
        /* it is not keeping up: the stall clock runs until it writes again */
        mark_full(r, p);
}

void send_peer_gone(struct peer *p)
{
        list_for_each_safe(l, tmp, &p->notices)
        {
                list_unlink(l);
                free(list_entry(l, struct held_notice, link));
        }
}

/* ---- back-pressure ------------------------------------------------------------- */

bool send_must_pause(struct router *r, struct peer *p)
{
        /* a message of its own waits for a receiver's room (flow.c) */
        if (p->hold || p->queued_bytes > r->cfg.limits.queue_bytes)
                return true;
        /* its uid's queues together are over their quota: a connection that
         * holds some of it is read no further until that is written */
        return p->queued_bytes && p->acct && p->acct->used[QUOTA_QUEUE_BYTES] > p->acct->limit[QUOTA_QUEUE_BYTES];
}

bool send_may_resume(struct router *r, struct peer *p)
{
        if (p->hold || !send_drained(p->queued_bytes, r->cfg.limits.queue_bytes))
                return false;
        return !p->queued_bytes || !p->acct ||
               send_drained(p->acct->used[QUOTA_QUEUE_BYTES], p->acct->limit[QUOTA_QUEUE_BYTES]);
}

/* ---- dropped events ------------------------------------------------------------ */

void send_drop(struct router *r, struct peer *p)
{
        /* losing events means it is not keeping up: the stall clock runs
         * until it writes again */
        mark_full(r, p);
        /* a link is not told: its bridge counts it on the link (dropped) */
        p->drops_pending += !p->link;
        p->drops_total++;
        r->stats.drops++;
}

void send_lost(struct router *r, uint64_t n)
{
        r->stats.drops += n;
}

void send_drops_notice(struct router *r, struct peer *p)
{
        if ((!p->drops_pending && list_empty(&p->notices)) || !send_drained(p->queued_bytes, r->cfg.limits.queue_bytes))
                return;
        /* nor while its uid's queues are still over half their quota: the
         * notice would be followed by another drop at once */
        if (p->acct && !send_drained(p->acct->used[QUOTA_QUEUE_BYTES], p->acct->limit[QUOTA_QUEUE_BYTES]))
                return;
        flush_notices(r, p);
        if (!p->drops_pending)
                return;
        struct json_object *o = jsonnew_object();
        json_object_object_add(o, "type", jsonnew_string("dropped"));
        json_object_object_add(o, "count", jsonnew_uint64(p->drops_pending));
        json_object_object_add(o, "total", jsonnew_uint64(p->drops_total));
        struct buf *b = wire_object(o);
        json_object_put(o);
        if (b && send_enqueue(r, p, b, SEND_OWN) == 0)
                p->drops_pending = 0;
        buf_unref(b);
}
