/* send.c: the router's output side (send.h): the queue limit on every
 * message the daemon sends, the answers and notices it makes itself, and the
 * accounting of dropped events. Pure C: no I/O, no libuv; a peer's carrier
 * does the sending through its ops.
 */
#include "send.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
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

int send_enqueue_fd(struct router *r, struct peer *p, struct buf *b, enum send_kind kind, int fd)
{
        size_t limit = r->cfg.limits.queue_bytes;
        int err = 0;

        if (p->removed)
                err = -ENOTCONN;
        else if (b->len - 1 > p->max_recv)
                err = -EMSGSIZE;
        else if (fd >= 0 && !p->ops->send_fd)
                err = -EOPNOTSUPP;
        if (!err && kind == SEND_RELAY && p->queued_bytes + b->len > limit && p->ops->flush) {
                /* it may simply not have been written to yet in this loop iteration */
                p->ops->flush(p);
        }
        if (!err && kind == SEND_RELAY && p->queued_bytes + b->len > limit) {
                mark_full(r, p);
                err = -ENOBUFS;
        }
        if (!err && kind == SEND_RELAY && quota_over(p->acct, QUOTA_QUEUE_BYTES, b->len)) {
                /* its uid's connections together hold as much as it may */
                r->stats.quota_refusals++;
                err = -ENOBUFS;
        }
        if (err) {
                if (fd >= 0)
                        close(fd);
                return err;
        }
        if ((fd >= 0 ? p->ops->send_fd(p, b, fd) : p->ops->send(p, b)) < 0)
                return -ENOMEM;
        if (fd >= 0)
                p->fds_sent++;
        p->queued_bytes += b->len;
        quota_add(p->acct, QUOTA_QUEUE_BYTES, b->len);
        p->queued_msgs++;
        p->msgs_out++;
        r->stats.messages_out++;
        r->stats.bytes_out += b->len;
        if (p->queued_bytes > limit)
                mark_full(r, p);
        return 0;
}

int send_enqueue(struct router *r, struct peer *p, struct buf *b, enum send_kind kind)
{
        return send_enqueue_fd(r, p, b, kind, -1);
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
        send_own(r, p, m, wire_reply(m->id, result, BUS_DAEMON_NAME));
}

int send_reply_fd(struct router *r, struct peer *p, const struct msg *m, struct json_object *result, int fd)
{
        struct buf *b = wire_reply(m->id, result, BUS_DAEMON_NAME);
        int err;

        if (!b) {
                close(fd);
                return -ENOMEM;
        }
        err = send_enqueue_fd(r, p, b, SEND_OWN, fd);
        buf_unref(b);
        return err;
}

void send_notice(struct router *r, struct peer *p, const char *type, const char *name)
{
        struct json_object *o = jsonnew_object();

        json_object_object_add(o, "type", jsonnew_string(type));
        json_object_object_add(o, "name", jsonnew_string(name));
        send_own(r, p, NULL, wire_object(o));
        json_object_put(o);
}

/* ---- dropped events ------------------------------------------------------------ */

void send_drop(struct router *r, struct peer *p)
{
        /* losing events means it is not keeping up: the stall clock runs
         * until it writes again */
        mark_full(r, p);
        p->drops_pending++;
        p->drops_total++;
        r->stats.drops++;
}

void send_drops_notice(struct router *r, struct peer *p)
{
        if (!p->drops_pending || !send_drained(p->queued_bytes, r->cfg.limits.queue_bytes))
                return;
        /* nor while its uid's queues are still over half their quota: the
         * notice would be followed by another drop at once */
        if (p->acct && !send_drained(p->acct->used[QUOTA_QUEUE_BYTES], p->acct->limit[QUOTA_QUEUE_BYTES]))
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
