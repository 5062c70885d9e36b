/* flow.c: the hold (flow.h): a relayed message that would overflow a
 * receiver's queue waits, held on the sending connection, which is read no
 * further until the receivers have room. Pure: no I/O.
 */
#include "flow.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>

#include "buf.h"
#include "calls.h"
#include "errcode.h"
#include "jsonnew.h"
#include "quota.h"
#include "send.h"
#include "state.h"
#include "wire.h"

/* One receiver a held message still has to reach. */
struct flow_wait {
        struct list rcv_link;  /* in rcv->waiters, oldest first */
        struct list hold_link; /* in hold->waits */
        struct flow_hold *hold;
        struct peer *rcv;
        struct buf *b; /* what rcv gets: the hold's message as rcv's kind of peer takes it */
};

/* The one message held on a sending connection. */
struct flow_hold {
        struct list link; /* in r->holds, oldest first */
        struct peer *sender;
        enum flow_kind kind;
        bool has_id;  /* the publish or call had an id: it is answered at the end */
        bool routing; /* still being fanned out: flow_sent() has not run yet */
        uint64_t id;
        uint64_t since_ms;
        uint64_t mark; /* flow_tick() tried it */
        uint64_t delivered, dropped;
        struct list waits;
};

bool flow_may_hold(const struct peer *sender, const struct peer *rcv)
{
        return sender && sender != rcv && sender->ops->resume && !sender->removed;
}

bool flow_must_wait(const struct peer *rcv)
{
        return !list_empty(&rcv->waiters);
}

bool flow_holding(const struct peer *sender)
{
        return sender->hold != NULL;
}

int flow_hold(struct router *r, struct peer *sender, struct peer *rcv, struct buf *b, enum flow_kind kind, bool has_id,
              uint64_t id)
{
        struct flow_hold *h = sender->hold;
        struct flow_wait *w = malloc(sizeof(*w));

        if (!w)
                return -ENOMEM;
        if (!h) {
                h = calloc(1, sizeof(*h));
                if (!h) {
                        free(w);
                        return -ENOMEM;
                }
                h->sender = sender;
                h->kind = kind;
                h->has_id = has_id;
                h->id = id;
                h->routing = true;
                h->since_ms = r->now_ms;
                list_init(&h->waits);
                list_append(&r->holds, &h->link);
                sender->hold = h;
        }
        w->hold = h;
        w->rcv = rcv;
        w->b = buf_ref(b);
        list_append(&rcv->waiters, &w->rcv_link);
        list_append(&h->waits, &w->hold_link);
        return 0;
}

static void hold_end(struct router *r, struct flow_hold *h);

/* Answers a publish that had an id: what it reached and what was lost. */
static void answer_publish(struct router *r, struct peer *sender, uint64_t id, uint64_t delivered, uint64_t dropped)
{
        struct json_object *o = jsonnew_object();

        json_object_object_add(o, "delivered", jsonnew_uint64(delivered));
        json_object_object_add(o, "dropped", jsonnew_uint64(dropped));
        send_own(r, sender, NULL, wire_reply_tree(id, o, BUS_DAEMON_NAME));
        json_object_put(o);
}

void flow_sent(struct router *r, struct peer *sender, bool has_id, uint64_t id, uint64_t delivered, uint64_t dropped)
{
        struct flow_hold *h = sender->hold;

        if (h && h->routing) {
                h->routing = false;
                if (h->kind == FLOW_EVENT) {
                        /* the fan-out did not know the publish's id */
                        h->has_id = has_id;
                        h->id = id;
                }
                h->delivered += delivered;
                h->dropped += dropped;
                if (list_empty(&h->waits)) /* served while it was being routed */
                        hold_end(r, h);
                return;
        }
        if (has_id)
                answer_publish(r, sender, id, delivered, dropped);
}

static void hold_free(struct flow_hold *h)
{
        list_unlink(&h->link);
        h->sender->hold = NULL;
        free(h);
}

/* Every receiver was reached (or given up on): the sender is answered and
 * read again. */
static void hold_end(struct router *r, struct flow_hold *h)
{
        struct peer *sender = h->sender;

        if (h->kind == FLOW_EVENT && h->has_id)
                answer_publish(r, sender, h->id, h->delivered, h->dropped);
        hold_free(h);
        if (send_may_resume(r, sender))
                sender->ops->resume(sender);
}

static void wait_free(struct flow_wait *w)
{
        list_unlink(&w->rcv_link);
        list_unlink(&w->hold_link);
        buf_unref(w->b);
        free(w);
}

/* Ends w; ends its hold if it was the last (unless it is still being routed). */
static void wait_done(struct router *r, struct flow_wait *w)
{
        struct flow_hold *h = w->hold;

        wait_free(w);
        if (list_empty(&h->waits) && !h->routing)
                hold_end(r, h);
}

/* Gives up on w: the receiver loses the message as if it were lossy. */
static void wait_lost(struct router *r, struct flow_wait *w)
{
        struct flow_hold *h = w->hold;

        if (h->kind == FLOW_EVENT) {
                send_drop(r, w->rcv);
                h->dropped++;
        } else if (h->has_id) {
                /* a call was recorded as pending, a one-way call was not:
                 * either fails to its caller, with its id */
                struct pcall *pc = h->kind == FLOW_CALL ? calls_find_by_caller(h->sender, h->id) : NULL;
                if (h->kind == FLOW_ONEWAY || (pc && pc->callee == w->rcv)) {
                        if (pc)
                                calls_remove(r->calls, pc);
                        char text[SEND_TEXT_MAX];
                        snprintf(text, sizeof(text),
                                 "the queue of %s stayed full for %u ms (stall_timeout): call not delivered",
                                 w->rcv->unique, r->cfg.limits.stall_timeout_ms);
                        send_error_id(r, h->sender, true, h->id, ERRCODE_QUEUE_FULL, text);
                }
        }
        wait_done(r, w);
}

/* Has rcv room for what waits (its queue and its uid's drained to half)? */
static bool has_room(struct router *r, struct peer *rcv)
{
        if (rcv->ops->room && !rcv->ops->room(rcv))
                return false;
        if (!send_drained(rcv->queued_bytes, r->cfg.limits.queue_bytes))
                return false;
        return !rcv->acct || send_drained(rcv->acct->used[QUOTA_QUEUE_BYTES], rcv->acct->limit[QUOTA_QUEUE_BYTES]);
}

void flow_drained(struct router *r, struct peer *rcv)
{
        /* queuing may flush rcv, which reports back here: serve once */
        if (r->flow_busy || list_empty(&rcv->waiters) || rcv->removed || !has_room(r, rcv))
                return;
        r->flow_busy = true;
        list_for_each_safe(l, tmp, &rcv->waiters)
        {
                struct flow_wait *w = list_entry(l, struct flow_wait, rcv_link);
                int err = send_enqueue(r, rcv, w->b, SEND_RELAY);
                if (err == -ENOBUFS)
                        break; /* full again: the rest waits, in order */
                if (err == 0) {
                        w->hold->delivered++;
                        /* a held call was counted when it was accepted */
                        r->stats.deliveries += w->hold->kind == FLOW_EVENT;
                        wait_done(r, w);
                } else {
                        wait_lost(r, w);
                }
        }
        r->flow_busy = false;
}

void flow_tick(struct router *r)
{
        list_for_each_safe(l, tmp, &r->holds)
        {
                struct flow_hold *h = list_entry(l, struct flow_hold, link);
                if (h->routing || r->now_ms < h->since_ms || r->now_ms - h->since_ms < r->cfg.limits.stall_timeout_ms)
                        continue;
                /* its last wait ends the hold: stop before touching it */
                while (!list_empty(&h->waits) && !r->flow_busy) {
                        struct flow_wait *w = list_entry(h->waits.next, struct flow_wait, hold_link);
                        bool last = w->hold_link.next == &h->waits;
                        wait_lost(r, w);
                        if (last)
                                break;
                }
        }
        /* receivers held up by their uid's quota, which others may have
         * freed; serving one may end other holds: start over after each,
         * skipping those already tried */
        r->flow_mark++;
again:
        list_for_each(l, &r->holds)
        {
                struct flow_hold *h = list_entry(l, struct flow_hold, link);
                if (h->routing || list_empty(&h->waits) || h->mark == r->flow_mark)
                        continue;
                h->mark = r->flow_mark;
                struct flow_wait *w = list_entry(h->waits.next, struct flow_wait, hold_link);
                if (!has_room(r, w->rcv))
                        continue;
                flow_drained(r, w->rcv);
                goto again;
        }
}

void flow_peer_gone(struct router *r, struct peer *p)
{
        /* as a receiver: a client is gone, so not delivered and not dropped;
         * a link going down loses what waited for it (counted) */
        while (!list_empty(&p->waiters)) {
                struct flow_wait *w = list_entry(p->waiters.next, struct flow_wait, rcv_link);
                if (p->link)
                        wait_lost(r, w);
                else
                        wait_done(r, w);
        }
        /* as a sender: nobody is left to answer or resume */
        struct flow_hold *h = p->hold;
        if (h) {
                while (!list_empty(&h->waits))
                        wait_free(list_entry(h->waits.next, struct flow_wait, hold_link));
                hold_free(h);
        }
}

size_t flow_held_count(const struct router *r)
{
        size_t n = 0;

        list_for_each(l, &r->holds) n++;
        return n;
}
