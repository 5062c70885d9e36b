/* events.c: events and subscriptions (events.h). An event is matched against
 * the subscription trie (subs.c), serialised on its first match and queued
 * for every subscriber through the output side (send.c). For a full queue a
 * lossless subscription holds the publish on the publisher's connection
 * (flow.c); a lossy one, or one the policy does not let exert back-pressure,
 * drops it (counted and told). Pure: no I/O.
 */
#include "events.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "access.h"
#include "buf.h"
#include "buslimits.h"
#include "errcode.h"
#include "flow.h"
#include "jsonnew.h"
#include "msg.h"
#include "quota.h"
#include "send.h"
#include "state.h"
#include "syntax.h"
#include "wire.h"

/* Room for what a denial names: a topic or pattern and the words around it. */
#define WHAT_MAX (BUS_MAX_TOPIC + 32)

/* One event on its way to the subscribers. */
struct fanout {
        struct router *r;
        const char *topic;
        size_t topic_len;
        const struct jsonscan_span *data;
        const char *ident;
        size_t ident_len;
        const char *see;     /* a well-known name: only subscribers that may see it get the event */
        struct buf *b;       /* serialised once, on the first match */
        struct peer *sender; /* a client's publish, or the link an event came over: may be held on it (flow.c) */
        size_t delivered, dropped;
};

static void drop_event(struct router *r, struct peer *p, struct fanout *f)
{
        send_drop(r, p);
        f->dropped++;
}

static void deliver(struct peer *p, bool lossy, void *userdata)
{
        struct fanout *f = userdata;
        struct router *r = f->r;

        if (p->removed)
                return; /* leaving: its subscriptions go in a moment; not a drop */
        struct policy_verdict v;
        if (f->see && !access_check(r, p, POLICY_SEE, f->see, NULL, true, &v))
                return; /* about a name it may not see: as if there were no such name; not a drop */

        if (!f->b && !(f->b = wire_event(f->topic, f->topic_len, f->data, f->ident, f->ident_len))) {
                drop_event(r, p, f);
                return;
        }
        /* lossless: wait for room rather than lose it, unless it would wait
         * on itself (a connection never waits on its own queue) */
        bool hold = !lossy && flow_may_hold(f->sender, p);
        if (hold && flow_must_wait(p)) {
                /* others wait for it already: in line behind them */
                if (flow_hold(r, f->sender, p, f->b, FLOW_EVENT, false, 0) < 0)
                        drop_event(r, p, f);
                return;
        }
        if (p->drops_pending) {
                /* it must learn about its losses before it sees the next event */
                send_drops_notice(r, p);
                if (p->drops_pending && !hold) {
                        drop_event(r, p, f);
                        return;
                }
        }
        int err = p->drops_pending ? -ENOBUFS : send_enqueue(r, p, f->b, SEND_RELAY);
        if (err == 0)
                f->delivered++;
        else if (err == -ENOBUFS && hold && flow_hold(r, f->sender, p, f->b, FLOW_EVENT, false, 0) == 0)
                return; /* held: counted when it is queued */
        else
                drop_event(r, p, f);
}

static void fan_out(struct router *r, struct fanout *f)
{
        subs_match(r->subs, f->topic, f->topic_len, deliver, f);
        buf_unref(f->b);
        r->stats.events++;
        r->stats.deliveries += f->delivered;
}

void events_deliver(struct router *r, struct peer *link, const char *topic, size_t topic_len,
                    const struct jsonscan_span *data, const char *ident, size_t ident_len)
{
        struct fanout f = { .r = r,
                            .topic = topic,
                            .topic_len = topic_len,
                            .data = data,
                            .ident = ident,
                            .ident_len = ident_len,
                            .sender = link };

        fan_out(r, &f);
}

void events_publish_daemon(struct router *r, const char *topic, struct json_object *data, const char *see)
{
        struct jsonscan_span text = wire_span_of(data);
        struct fanout f = { .r = r,
                            .topic = topic,
                            .topic_len = strlen(topic),
                            .data = &text,
                            .ident = r->ident,
                            .ident_len = r->ident_len,
                            .see = see };

        fan_out(r, &f);
}

void events_publish(struct router *r, struct peer *p, const struct msg *m)
{
        if (syntax_topic_is_reserved(m->topic.s, m->topic.len)) {
                send_error(r, p, m, ERRCODE_RESERVED, "topics starting with '$' are published by the daemon only");
                return;
        }
        struct policy_verdict v;
        if (!access_check(r, p, POLICY_PUBLISH, m->topic.s, NULL, false, &v)) {
                char what[WHAT_MAX];
                snprintf(what, sizeof(what), "publishing to '%s'", m->topic.s);
                access_denied(r, p, m, what, &v);
                return;
        }
        struct fanout f = { .r = r,
                            .topic = m->topic.s,
                            .topic_len = m->topic.len,
                            .data = &m->data,
                            .ident = p->ident,
                            .ident_len = p->ident_len,
                            .sender = p };
        fan_out(r, &f);
        if (r->bridge.publish) {
                size_t lost = r->bridge.publish(r->bridge.userdata, p, m->topic.s, m->topic.len, &m->data);
                f.dropped += lost;
                r->stats.drops += lost;
        }
        /* answered now, or when the hold ends (flow.c) */
        flow_sent(r, p, m->has_id, m->id, f.delivered, f.dropped);
}

void events_subscribe(struct router *r, struct peer *p, const struct msg *m)
{
        /* subscribing again to a pattern it has is a no-op, even at the limit */
        struct policy_verdict v;
        if (!access_check(r, p, POLICY_SUBSCRIBE, m->pattern.s, NULL, false, &v)) {
                char what[WHAT_MAX];
                snprintf(what, sizeof(what), "subscribing to '%s'", m->pattern.s);
                access_denied(r, p, m, what, &v);
                return;
        }
        bool has = subs_has(p, m->pattern.s);
        if (p->n_subs >= r->cfg.limits.max_subscriptions && !has) {
                send_error(r, p, m, ERRCODE_LIMIT, "you already have %u subscriptions (max_subscriptions)", p->n_subs);
                return;
        }
        if (!has && quota_over(p->acct, QUOTA_SUBSCRIPTIONS, 1)) {
                r->stats.quota_refusals++;
                send_error(r, p, m, ERRCODE_LIMIT,
                           "the connections of uid %u already have %" PRIu64 " subscriptions (quota subscriptions)",
                           (unsigned)p->uid, p->acct->used[QUOTA_SUBSCRIPTIONS]);
                return;
        }
        /* lossless only where the policy lets this uid slow publishers down */
        bool lossy = m->lossy || !access_check(r, p, POLICY_BACKPRESSURE, m->pattern.s, NULL, true, &v);
        int err = subs_add(r->subs, p, m->pattern.s, lossy);
        if (err < 0 && err != -EEXIST) {
                send_error(r, p, m, ERRCODE_INTERNAL, "out of memory");
                return;
        }
        struct json_object *o = jsonnew_object();
        json_object_object_add(o, "pattern", jsonnew_string(m->pattern.s));
        json_object_object_add(o, "lossy", jsonnew_boolean(lossy));
        send_reply(r, p, m, o);
        json_object_put(o);
}

void events_unsubscribe(struct router *r, struct peer *p, const struct msg *m)
{
        if (subs_remove(r->subs, p, m->pattern.s) < 0) {
                send_error(r, p, m, ERRCODE_NOT_SUBSCRIBED, "you have no subscription '%s'", m->pattern.s);
                return;
        }
        struct json_object *o = jsonnew_object();
        json_object_object_add(o, "pattern", jsonnew_string(m->pattern.s));
        send_reply(r, p, m, o);
        json_object_put(o);
}
