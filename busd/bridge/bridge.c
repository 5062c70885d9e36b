/* bridge.c: what crosses a bridge link, and how (bridge.h, docs/bridge.md).
 *
 * Link messages are JSON lines (inside TLS):
 *   {"type":"link_hello","protocol":1,"bus":B,"epoch":E}
 *   {"type":"names","add":[{"name":N,"origin":B,"hops":H}],"remove":[N]}
 *   {"type":"event","origin":B,"epoch":E,"seq":S,"hops":H,"topic":T,"data":D,"sender":":5","creds":{...}}
 *   {"type":"call","id":I,"dest":D,"method":M,"params":P,"origin":B,"hops":H,"sender":":5","creds":{...}}
 *     ("oneway":true and no id for one-way calls)
 *   {"type":"reply","id":I,"result":R,"sender":S}, {"type":"error","id":I,"code":C,"message":M,"sender":S[,"data":D]}
 *   {"type":"cancel","id":I}, {"type":"ping"}, {"type":"pong"}
 *   {"type":"ack","events":N}: N event messages have come over this link since it came up
 * Each line goes through jsonscan (the one-pass validation client messages
 * get) and linkmsg.c (a table per type) before anything is done with it;
 * here, what they do. Payloads (data, params, result) are relayed as the
 * peer sent them, as spans of the line; events and calls going out are
 * written by linkwire.c. Pure: no I/O.
 */
#include "bridge.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridgededup.h"
#include "buf.h"
#include "errcode.h"
#include "flow.h"
#include "jsonnew.h"
#include "jsonscan.h"
#include "linkmsg.h"
#include "linkwire.h"
#include "router.h"
#include "send.h"
#include "strtable.h"
#include "syntax.h"
#include "wire.h"

#define LINK_TOPIC_PREFIX "$bus.link." /* the daemon's event when a link goes up or down */
/* Room for texts, each cut there: */
#define SPLICE_MAX 512    /* a remote sender's identity splice (remote_ident) */
#define TEXT_MAX 400      /* an error text: a name, a bus and a few words */
#define GONE_TEXT_MAX 300 /* why calls over a link failed: its bus and the carrier's reason */
#define PARSE_WHY_MAX 256 /* why a link message is not JSON */

/* What a link offers for one name. */
struct offer {
        char origin[BUS_MAX_BUS_NAME + 1];
        unsigned hops;
};

/* The splice of the last remote sender an event or call came from, and
 * what it was made of (take_ident()). */
struct ident_cache {
        const struct blink *l; /* NULL: nothing cached */
        char origin[BUS_MAX_BUS_NAME + 1];
        char sender[BUS_MAX_NAME + 1];
        struct linkmsg_creds creds;
        char splice[SPLICE_MAX];
        size_t len;
};

struct bridge {
        struct router *r;
        char self[BUS_MAX_BUS_NAME + 1];
        unsigned max_hops;
        uint64_t epoch;
        uint64_t seq;
        struct jsonscan *scan;     /* each line from a link */
        struct jsonscan *nested;   /* the objects nested in it (linkmsg_parse()) */
        struct bridge_dedup dedup; /* what came from each origin bus */
        struct ident_cache ident;  /* the last remote identity spliced (take_ident()) */
        struct list links;
        size_t nlinks;
};

/* ---- sending ------------------------------------------------------------------ */

static int send_obj(struct blink *l, struct json_object *o, bool droppable)
{
        struct buf *b = wire_object(o);
        int r;

        json_object_put(o);
        if (!b)
                return -ENOMEM;
        r = l->ops->send(l, b, droppable);
        buf_unref(b);
        return r;
}

/* ---- names ---------------------------------------------------------------------- */

/* The link whose offer of name has the fewest hops (the first of equals),
 * leaving out link `except` and, if origin is not NULL, the offers of any bus
 * but the origin_len bytes at origin. NULL if none. */
static struct blink *best_offer(struct bridge *b, const char *name, const struct blink *except, const char *origin,
                                size_t origin_len, struct offer **ret)
{
        struct blink *best = NULL;

        list_for_each(i, &b->links)
        {
                struct blink *l = list_entry(i, struct blink, link);
                struct offer *o;
                if (l == except || !lh_table_lookup_ex(l->offers, name, (void **)&o) ||
                    (origin && (strlen(o->origin) != origin_len || strncmp(o->origin, origin, origin_len) != 0)))
                        continue;
                if (!best || o->hops < (*ret)->hops) {
                        best = l;
                        *ret = o;
                }
        }
        return best;
}

/* The best way to reach name for link `to` (split horizon: never a route
 * learned from `to` itself): local (hops 0) or the link with the fewest hops.
 * Returns false if there is none. */
static bool best_route(struct bridge *b, const char *name, const struct blink *to, struct blink **ret_link,
                       struct offer *ret)
{
        struct offer *bo = NULL;
        struct blink *best;

        if (router_local_owner(b->r, name)) {
                snprintf(ret->origin, sizeof(ret->origin), "%s", b->self);
                ret->hops = 0;
                if (ret_link)
                        *ret_link = NULL;
                return true;
        }
        if (!(best = best_offer(b, name, to, NULL, 0, &bo)))
                return false;
        *ret = *bo;
        if (ret_link)
                *ret_link = best;
        return true;
}

/* Brings what `to` was told about name up to date: add with the current hop
 * count, or remove. */
static void advertise_to(struct bridge *b, struct blink *to, const char *name)
{
        struct offer o;
        uintptr_t *sent = NULL;
        bool have = bridge_filter_name(to->exp, name) && best_route(b, name, to, NULL, &o) &&
                    o.hops + 1 <= b->max_hops && strcmp(o.origin, to->remote) != 0;
        bool told = lh_table_lookup_ex(to->sent, name, (void **)&sent);

        if (have && told && *sent == o.hops + 1)
                return;
        if (!have && !told)
                return;
        struct json_object *m = jsonnew_object(), *arr = jsonnew_array();
        json_object_object_add(m, "type", jsonnew_string("names"));
        if (have) {
                struct json_object *e = jsonnew_object();
                json_object_object_add(e, "name", jsonnew_string(name));
                json_object_object_add(e, "origin", jsonnew_string(o.origin));
                json_object_object_add(e, "hops", jsonnew_uint64(o.hops + 1));
                json_object_array_add(arr, e);
                json_object_object_add(m, "add", arr);
                if (told) {
                        *sent = o.hops + 1;
                } else {
                        uintptr_t *v = malloc(sizeof(*v));
                        if (v) {
                                *v = o.hops + 1;
                                strtable_put(to->sent, name, v);
                        }
                }
        } else {
                json_object_array_add(arr, jsonnew_string(name));
                json_object_object_add(m, "remove", arr);
                lh_table_delete(to->sent, name);
        }
        send_obj(to, m, false);
}

static void advertise(struct bridge *b, const char *name)
{
        list_for_each(i, &b->links) advertise_to(b, list_entry(i, struct blink, link), name);
}

static void on_name_changed(void *ud, const char *name, bool owned)
{
        advertise(ud, name);
}

struct adv_all {
        struct bridge *b;
        struct blink *to;
};

static void adv_local(const char *name, void *ud)
{
        struct adv_all *a = ud;
        advertise_to(a->b, a->to, name);
}

/* Everything `to` may learn: local names and those learned over other links. */
static void advertise_all(struct bridge *b, struct blink *to)
{
        struct adv_all a = { b, to };

        router_foreach_name(b->r, adv_local, &a);
        list_for_each(i, &b->links)
        {
                struct blink *l = list_entry(i, struct blink, link);
                struct lh_entry *e;
                if (l == to)
                        continue;
                lh_foreach(l->offers, e) advertise_to(b, to, (const char *)lh_entry_k(e));
        }
}

/* ---- the router's side ---------------------------------------------------------- */

static struct peer *route(void *ud, const char *dest)
{
        struct bridge *b = ud;
        const char *slash = strchr(dest, '/'), *name = slash ? slash + 1 : dest;
        struct blink *via = NULL;
        struct offer o, *of;

        if (slash) {
                size_t blen = (size_t)(slash - dest);
                if (blen == strlen(b->self) && strncmp(dest, b->self, blen) == 0)
                        return router_local_owner(b->r, name); /* this bus, by its name */
                /* the link on the shortest way to that bus's owner of the name */
                via = best_offer(b, name, NULL, dest, blen, &of);
                return via ? &via->peer : NULL;
        }
        if (!best_route(b, name, NULL, &via, &o) || !via)
                return NULL;
        return &via->peer;
}

/* One event on its way to the links: published here (stamped with the next
 * sequence number for the first link that takes it), or forwarded from link
 * `from` (as its origin stamped it, one hop further). */
struct fanout {
        const char *topic;                /* as this bus knows it */
        const struct jsonscan_span *data; /* the payload as sent */
        struct linkwire_ident id;         /* its origin, hops as the links get it, sender */
        uint64_t epoch, seq;              /* seq 0: published here, not stamped yet */
        const struct blink *from;         /* forwarded: the link it came over ... */
        const char *origin;               /* ... and its origin bus, where it never goes back */
        /* who waits (flow.h) for a link whose queue is full: the publisher,
         * or the link it came over; NULL: links that are full drop it */
        struct peer *holder;
};

/* Queues bb for l, or holds it on f->holder while l's queue is full (behind
 * those already waiting for l). Returns false if it is dropped. */
static bool send_event(struct bridge *b, struct blink *l, struct fanout *f, struct buf *bb)
{
        bool may_hold = f->holder && flow_may_hold(f->holder, &l->peer);

        if (!may_hold || !flow_must_wait(&l->peer)) {
                int r = l->ops->send(l, bb, true);
                if (r == 0) {
                        l->st.events_out++;
                        return true;
                }
                if (r != -ENOBUFS || !may_hold)
                        return false;
        }
        /* counted in events_out when the link takes it (link_peer_send()) */
        return flow_hold(b->r, f->holder, &l->peer, bb, FLOW_EVENT, false, 0) == 0;
}

/* Sends an event to every link that said hello and whose export filter lets
 * it through (never back where it came from): serialised once for the links
 * that keep the topic and once per link that renames it (export prefix).
 * Returns how many links dropped it (their queue was full). */
static size_t fan_out(struct bridge *b, struct fanout *f)
{
        struct buf *same = NULL;
        size_t lost = 0;

        list_for_each(i, &b->links)
        {
                struct blink *l = list_entry(i, struct blink, link);
                char out[BUS_MAX_TOPIC + 1];
                if (l == f->from || !l->hello_seen || !bridge_filter_topic(l->exp, f->topic) ||
                    (f->origin && strcmp(l->remote, f->origin) == 0))
                        continue;
                if (!bridge_map_topic(l->exp, f->topic, out, sizeof(out))) {
                        l->st.filtered++; /* the prefix would make it too long */
                        continue;
                }
                if (!f->seq)
                        f->seq = ++b->seq; /* published here: the next sequence number */
                struct buf *bb;
                if (l->exp->prefix) {
                        /* this link renames the topic: a message of its own */
                        bb = linkwire_event(out, f->epoch, f->seq, f->data, &f->id);
                } else {
                        /* serialised once for all the links that keep the topic */
                        if (!same)
                                same = linkwire_event(f->topic, f->epoch, f->seq, f->data, &f->id);
                        bb = same ? buf_ref(same) : NULL;
                }
                if (!bb || !send_event(b, l, f, bb)) {
                        l->st.dropped++;
                        lost++;
                }
                buf_unref(bb);
        }
        buf_unref(same);
        return lost;
}

/* A local publish goes to every link whose export filter lets it through. */
static size_t on_publish(void *ud, struct peer *from, const char *topic, size_t topic_len,
                         const struct jsonscan_span *data)
{
        struct bridge *b = ud;
        struct fanout f = {
                .topic = topic,
                .data = data,
                .id = { .origin = b->self,
                        .hops = 1,
                        .sender = from->unique,
                        .uid = from->uid,
                        .gid = from->gid,
                        .pid = from->pid },
                .epoch = b->epoch,
                .holder = from,
        };

        return fan_out(b, &f);
}

static int send_call(void *ud, struct peer *link, uint64_t serial, bool oneway, const char *dest, const char *method,
                     const struct jsonscan_span *params, const struct peer *caller, const struct remote_ident *rid)
{
        struct bridge *b = ud;
        struct blink *l = (struct blink *)link;
        /* a remote caller's call goes on one hop further */
        const struct linkwire_ident id =
                rid ? (struct linkwire_ident){ .origin = rid->bus,
                                               .hops = (uint64_t)rid->hops + 1,
                                               .sender = rid->sender,
                                               .uid = rid->uid,
                                               .gid = rid->gid,
                                               .pid = rid->pid }
                    : (struct linkwire_ident){ .origin = b->self,
                                               .hops = 1,
                                               .sender = caller->unique,
                                               .uid = caller->uid,
                                               .gid = caller->gid,
                                               .pid = caller->pid };
        struct buf *m = linkwire_call(oneway, serial, dest, method, params, &id);

        if (!m)
                return -ENOMEM;
        int r = l->ops->send(l, m, false);
        buf_unref(m);
        if (r == 0)
                l->st.calls_out++;
        return r;
}

static void foreach_remote(void *ud,
                           void (*fn)(void *arg, const char *name, const char *bus, unsigned hops, const char *via),
                           void *arg)
{
        struct bridge *b = ud;
        struct lh_entry *e;

        list_for_each(i, &b->links)
        {
                struct blink *l = list_entry(i, struct blink, link);
                lh_foreach(l->offers, e)
                {
                        const char *name = (const char *)lh_entry_k(e);
                        struct blink *best = NULL;
                        struct offer o;
                        /* once per name: from the link that is its best way, and
                         * not at all when a local connection owns it */
                        if (best_route(b, name, NULL, &best, &o) && best == l)
                                fn(arg, name, o.origin, o.hops, l->remote);
                }
        }
}

/* ---- lifetime ----------------------------------------------------------------- */

struct bridge *bridge_new(struct router *r, const char *self, unsigned max_hops, uint64_t epoch)
{
        struct bridge *b = calloc(1, sizeof(*b));

        if (!b)
                return NULL;
        b->r = r;
        snprintf(b->self, sizeof(b->self), "%s", self);
        b->max_hops = max_hops ? max_hops : BRIDGE_DEFAULT_MAX_HOPS;
        b->epoch = epoch;
        list_init(&b->links);
        /* a link message nests what a client sent as deep as the client's own
         * message does (payloads are members of the message object) */
        b->scan = jsonscan_new(BUS_MAX_DEPTH);
        b->nested = jsonscan_new(BUS_MAX_DEPTH);
        if (!b->scan || !b->nested || bridge_dedup_init(&b->dedup) < 0) {
                bridge_free(b);
                return NULL;
        }
        const struct router_bridge hooks = {
                .userdata = b,
                .publish = on_publish,
                .route = route,
                .call = send_call,
                .name_changed = on_name_changed,
                .foreach_remote = foreach_remote,
        };
        router_set_bridge(r, &hooks);
        return b;
}

void bridge_free(struct bridge *b)
{
        if (!b)
                return;
        if (b->r)
                router_set_bridge(b->r, NULL);
        jsonscan_free(b->scan);
        jsonscan_free(b->nested);
        bridge_dedup_deinit(&b->dedup);
        free(b);
}

const char *bridge_self(const struct bridge *b)
{
        return b->self;
}

static void link_event(struct bridge *b, struct blink *l, const char *state, const char *why, uint64_t lost)
{
        char topic[sizeof(LINK_TOPIC_PREFIX) + BUS_MAX_BUS_NAME];
        struct json_object *d = jsonnew_object();

        snprintf(topic, sizeof(topic), LINK_TOPIC_PREFIX "%s", l->remote);
        json_object_object_add(d, "bus", jsonnew_string(l->remote));
        json_object_object_add(d, "link", jsonnew_string(l->label ? l->label : ""));
        json_object_object_add(d, "state", jsonnew_string(state));
        if (why)
                json_object_object_add(d, "reason", jsonnew_string(why));
        if (strcmp(state, "down") == 0)
                json_object_object_add(d, "lost", jsonnew_uint64(lost));
        router_publish_daemon(b->r, topic, d);
        json_object_put(d);
}

/* An event in the link protocol's form (as fan_out() builds them), as
 * opposed to the router's answers to calls that came over the link. */
static bool is_link_event(const struct buf *b)
{
        static const char head[] = "{\"type\":\"event\"";
        return b->len > sizeof(head) - 1 && memcmp(b->data, head, sizeof(head) - 1) == 0;
}

/* What the router queues for the link: its answers to calls that came over
 * it, and the events held for it (flow.c) once it has room. */
static int link_peer_send(struct peer *p, struct buf *b)
{
        struct blink *l = (struct blink *)p;
        int r = l->ops->send(l, b, false);

        if (r == 0) {
                /* counted by the router after this returns: settled by the
                 * carrier's next bridge_link_wrote() */
                l->unreported += b->len;
                l->unreported_msgs++;
                l->st.events_out += is_link_event(b);
        }
        return r;
}

static void link_peer_kill(struct peer *p, const char *reason)
{
        struct blink *l = (struct blink *)p;
        l->ops->close(l, reason);
}

static bool link_peer_room(struct peer *p)
{
        struct blink *l = (struct blink *)p;
        return !l->ops->room || l->ops->room(l);
}

static void link_peer_resume(struct peer *p)
{
        struct blink *l = (struct blink *)p;
        l->ops->resume(l);
}

static const struct peer_ops link_peer_ops = {
        .send = link_peer_send, .kill = link_peer_kill, .room = link_peer_room, .resume = link_peer_resume
};
/* for a carrier that cannot stop reading a link: what comes over it is never held */
static const struct peer_ops link_peer_ops_unpaused = {
        .send = link_peer_send, .kill = link_peer_kill, .room = link_peer_room
};

int bridge_link_up(struct bridge *b, struct blink *l, const char *remote, const char *label,
                   const struct bridge_filter *exp, const struct bridge_filter *imp, const struct blink_ops *ops,
                   void *carrier)
{
        if (strcmp(remote, b->self) == 0)
                return -EEXIST;
        list_for_each(i, &b->links)
        {
                if (strcmp(list_entry(i, struct blink, link)->remote, remote) == 0)
                        return -EEXIST;
        }
        memset(l, 0, sizeof(*l));
        l->b = b;
        l->ops = ops;
        l->carrier = carrier;
        l->label = label;
        l->exp = exp;
        l->imp = imp;
        snprintf(l->remote, sizeof(l->remote), "%s", remote);
        l->offers = strtable_new();
        l->sent = strtable_new();
        if (!l->offers || !l->sent)
                goto nomem;
        if (router_link_add(b->r, &l->peer, ops->resume ? &link_peer_ops : &link_peer_ops_unpaused, remote,
                            BUS_MAX_MESSAGE_STREAM + BUS_RELAY_OVERHEAD) < 0)
                goto nomem;
        l->peer.gone_code = ERRCODE_LINK_DOWN;
        list_append(&b->links, &l->link);
        b->nlinks++;
        struct json_object *h = jsonnew_object();
        json_object_object_add(h, "type", jsonnew_string("link_hello"));
        json_object_object_add(h, "protocol", jsonnew_int(LINKMSG_PROTOCOL));
        json_object_object_add(h, "bus", jsonnew_string(b->self));
        json_object_object_add(h, "epoch", jsonnew_uint64(b->epoch));
        send_obj(l, h, false);
        advertise_all(b, l);
        link_event(b, l, "up", NULL, 0);
        return 0;
nomem:
        if (l->offers)
                lh_table_free(l->offers);
        if (l->sent)
                lh_table_free(l->sent);
        l->offers = l->sent = NULL;
        return -ENOMEM;
}

uint64_t bridge_link_down(struct bridge *b, struct blink *l, const char *why)
{
        char text[GONE_TEXT_MAX];
        struct lh_entry *e, *tmp;

        if (!l->offers)
                return 0; /* never up, or already down */
        list_unlink(&l->link);
        b->nlinks--;
        if (b->ident.l == l)
                b->ident.l = NULL; /* its memory may be another link's next */
        snprintf(text, sizeof(text), "the link to %s went down before the answer came%s%s", l->remote, why ? ": " : "",
                 why ? why : "");
        l->peer.gone_text = text;
        router_peer_remove(b->r, &l->peer);
        l->peer.gone_text = NULL;
        /* what it offered is gone: tell the other links */
        struct lh_table *offers = l->offers;
        l->offers = NULL;
        lh_foreach_safe(offers, e, tmp)
        {
                char name[BUS_MAX_NAME + 1];
                snprintf(name, sizeof(name), "%s", (const char *)lh_entry_k(e));
                lh_table_delete(offers, name);
                advertise(b, name);
        }
        lh_table_free(offers);
        lh_table_free(l->sent);
        l->sent = NULL;
        /* sent, but the other bus never said it got them: lost, or at most
         * delivered after its last acknowledgement */
        uint64_t lost = l->st.events_out - l->acked;
        send_lost(b->r, lost);
        link_event(b, l, "down", why, lost);
        return lost;
}

void bridge_link_wrote(struct bridge *b, struct blink *l)
{
        size_t bytes = l->unreported, msgs = l->unreported_msgs;

        l->unreported = l->unreported_msgs = 0;
        /* progress even when none of it was the router's: its stall clock
         * stops, and what is held for it goes once it has room (flow.c) */
        router_peer_wrote(b->r, &l->peer, bytes, msgs);
}

void bridge_link_read(struct bridge *b, struct blink *l)
{
        if (l->rx_events == l->rx_acked || !l->offers)
                return;
        struct json_object *a = jsonnew_object();
        json_object_object_add(a, "type", jsonnew_string("ack"));
        json_object_object_add(a, "events", jsonnew_uint64(l->rx_events));
        if (send_obj(l, a, false) == 0)
                l->rx_acked = l->rx_events;
}

struct json_object *bridge_link_json(const struct blink *l)
{
        struct json_object *o = jsonnew_object();

#define U64(k, v) json_object_object_add(o, k, jsonnew_uint64(v))
        U64("events_in", l->st.events_in);
        U64("events_out", l->st.events_out);
        U64("calls_in", l->st.calls_in);
        U64("calls_out", l->st.calls_out);
        U64("dropped", l->st.dropped + l->peer.drops_total);
        U64("acked", l->acked);
        size_t held = 0;
        list_for_each(i, &l->peer.waiters) held++;
        U64("held", held);
        U64("duplicates", l->st.duplicates);
        U64("filtered", l->st.filtered);
        U64("too_far", l->st.too_far);
        U64("names", l->offers ? (uint64_t)lh_table_length(l->offers) : 0);
#undef U64
        return o;
}

void bridge_foreach_link(struct bridge *b, void (*fn)(const struct blink *l, void *ud), void *ud)
{
        list_for_each(i, &b->links) fn(list_entry(i, struct blink, link), ud);
}

size_t bridge_link_count(const struct bridge *b)
{
        return b->nlinks;
}

uint64_t bridge_duplicates(const struct bridge *b)
{
        uint64_t n = 0;

        list_for_each(i, &b->links)
        {
                const struct blink *l = list_entry(i, const struct blink, link);
                n += l->st.duplicates + l->st.too_far;
        }
        return n;
}

/* ---- input ---------------------------------------------------------------------- */

struct in {
        char *why;
        size_t whylen;
};

__attribute__((format(printf, 2, 3))) static int bad(struct in *in, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(in->why, in->whylen, fmt, ap);
        va_end(ap);
        return -EPROTO;
}

/* What linkmsg checks a message from l against. */
static struct linkmsg_link link_ends(const struct bridge *b, const struct blink *l)
{
        return (struct linkmsg_link){
                .self = b->self, .remote = l->remote, .max_hops = b->max_hops, .hello_seen = l->hello_seen
        };
}

/* The identity of an event or call from l (checked by linkmsg_parse()) for
 * local delivery, borrowing from m: builds the splice into buf. Returns 0 or
 * -EPROTO (the reason in in). */
static int take_ident(struct bridge *b, const struct blink *l, const struct linkmsg *m, struct remote_ident *rid,
                      struct in *in)
{
        struct ident_cache *c = &b->ident;

        rid->bus = m->origin;
        rid->via = l->remote;
        rid->sender = m->sender;
        rid->uid = (uid_t)m->creds.uid;
        rid->gid = (gid_t)m->creds.gid;
        rid->pid = (pid_t)m->creds.pid;
        rid->hops = (unsigned)m->hops;
        /* events of one sender come in runs: its splice is made once a run */
        if (c->l != l || c->creds.uid != m->creds.uid || c->creds.gid != m->creds.gid || c->creds.pid != m->creds.pid ||
            strcmp(c->origin, m->origin) != 0 || strcmp(c->sender, m->sender) != 0) {
                int n = snprintf(
                        c->splice, sizeof(c->splice),
                        ",\"sender\":\"%s/%s\",\"remote\":{\"bus\":\"%s\",\"via\":\"%s\",\"creds\":{\"uid\":%" PRIu64
                        ",\"gid\":%" PRIu64 ",\"pid\":%" PRIu64 "}}",
                        m->origin, m->sender, m->origin, l->remote, m->creds.uid, m->creds.gid, m->creds.pid);
                c->l = NULL;
                if (n < 0 || (size_t)n >= sizeof(c->splice))
                        return bad(in, "identity too long");
                c->len = (size_t)n;
                if (strlen(m->origin) < sizeof(c->origin) && strlen(m->sender) < sizeof(c->sender)) {
                        snprintf(c->origin, sizeof(c->origin), "%s", m->origin);
                        snprintf(c->sender, sizeof(c->sender), "%s", m->sender);
                        c->creds = m->creds;
                        c->l = l;
                }
        }
        rid->splice = c->splice;
        rid->splice_len = c->len;
        return 0;
}

/* An event (checked as m): delivered here and sent on to the other links,
 * one hop further. */
static int in_event(struct bridge *b, struct blink *l, const struct linkmsg *m, struct in *in)
{
        struct remote_ident rid;
        const char *topic = m->topic;
        int r;

        if ((r = take_ident(b, l, m, &rid, in)) < 0)
                return r;
        l->st.events_in++;
        char local[BUS_MAX_TOPIC + 1];
        if (!bridge_filter_topic(l->imp, topic) || !bridge_map_topic(l->imp, topic, local, sizeof(local))) {
                l->st.filtered++;
                return 0;
        }
        topic = local; /* from here on, the topic as this bus knows it */
        bool refused;
        if (bridge_dedup_seen(&b->dedup, rid.bus, m->epoch, m->seq, &refused)) {
                l->st.duplicates++;
                return 0;
        }
        router_remote_event(b->r, &l->peer, topic, strlen(topic), &m->data, &rid);
        /* on to the other links */
        if (rid.hops + 1 > b->max_hops) {
                l->st.too_far++;
        } else {
                struct fanout f = {
                        .topic = topic,
                        .data = &m->data,
                        .id = { .origin = rid.bus,
                                .hops = (uint64_t)rid.hops + 1,
                                .sender = rid.sender,
                                .uid = rid.uid,
                                .gid = rid.gid,
                                .pid = rid.pid },
                        .epoch = m->epoch,
                        .seq = m->seq,
                        .from = l,
                        .origin = rid.bus,
                        .holder = &l->peer,
                };
                fan_out(b, &f);
        }
        /* a full receiver holds it: the link is read no further until then */
        flow_sent(b->r, &l->peer, false, 0, 0, 0);
        return flow_holding(&l->peer) ? BRIDGE_INPUT_PAUSE : 0;
}

static int in_call(struct bridge *b, struct blink *l, const struct linkmsg *m, struct in *in)
{
        struct remote_ident rid;
        int r;

        if ((r = take_ident(b, l, m, &rid, in)) < 0)
                return r;
        l->st.calls_in++;
        const char *slash = strchr(m->dest, '/'), *name = slash ? slash + 1 : m->dest;
        if (!bridge_filter_name(l->exp, name)) {
                /* only what this side exports to the link may be called over it */
                l->st.filtered++;
                if (!m->oneway) {
                        char text[TEXT_MAX];
                        snprintf(text, sizeof(text), "'%s' is not exported to %s over this link", name, l->remote);
                        struct buf *e = wire_error(true, m->id, -1, ERRCODE_DENIED, text, BUS_DAEMON_NAME, NULL);
                        if (e)
                                l->ops->send(l, e, false);
                        buf_unref(e);
                }
                return 0;
        }
        router_remote_call(b->r, &l->peer, m->id, m->oneway, m->dest, m->method, &m->params, &rid);
        return 0;
}

/* A reply or an error: its sender as this bus shows it is BUS/ID. */
static int in_answer(struct bridge *b, struct blink *l, const struct linkmsg *m, struct in *in)
{
        char sender[BUS_MAX_BUS_NAME + BUS_MAX_NAME + 2];

        if (strchr(m->sender, '/'))
                snprintf(sender, sizeof(sender), "%s", m->sender); /* answered further away */
        else
                snprintf(sender, sizeof(sender), "%s/%s", l->remote, m->sender);
        /* an error's "data": null is relayed as null, as a local callee's is */
        static const struct jsonscan_span none = { NULL, 0, false }, null = { "null", 4, false };
        bool error = m->type == LINKMSG_ERROR;
        const struct jsonscan_span *data = !error || !m->has_data ? &none : m->data.s ? &m->data : &null;
        router_remote_answer(b->r, &l->peer, m->id, error, &m->result, m->code, m->message, data, sender);
        return 0;
}

static int in_cancel(struct bridge *b, struct blink *l, const struct linkmsg *m, struct in *in)
{
        router_remote_cancel(b->r, &l->peer, m->id);
        return 0;
}

/* Name is no longer reachable over l (if it was): the other links learn. */
static void withdraw(struct bridge *b, struct blink *l, const char *name)
{
        if (lh_table_lookup_entry(l->offers, name)) {
                lh_table_delete(l->offers, name);
                advertise(b, name);
        }
}

/* Names withdrawn and offered, acted on one element at a time (each checked
 * when its turn comes). */
static int in_names(struct bridge *b, struct blink *l, const struct linkmsg *m, struct in *in)
{
        const struct linkmsg_link ends = link_ends(b, l);
        const char *name;
        struct linkmsg_offer off;
        int r;

        for (size_t i = 0; i < m->nremove; i++) {
                if ((r = linkmsg_names_remove(m, i, &name, in->why, in->whylen)) < 0)
                        return r;
                withdraw(b, l, name);
        }
        for (size_t i = 0; i < m->nadd; i++) {
                if ((r = linkmsg_names_add(m, i, &ends, &off, in->why, in->whylen)) < 0)
                        return r;
                if (strcmp(off.origin, b->self) == 0 || off.hops > b->max_hops ||
                    !bridge_filter_name(l->imp, off.name)) {
                        /* ours come around, too far, or not imported: not reachable over l */
                        withdraw(b, l, off.name);
                        continue;
                }
                struct offer *of;
                if (!lh_table_lookup_ex(l->offers, off.name, (void **)&of)) {
                        if (lh_table_length(l->offers) >= BRIDGE_MAX_OFFERS)
                                return bad(in, "names: more than %d names offered", BRIDGE_MAX_OFFERS);
                        of = calloc(1, sizeof(*of));
                        if (!of || strtable_put(l->offers, off.name, of) < 0)
                                return -ENOMEM;
                }
                snprintf(of->origin, sizeof(of->origin), "%s", off.origin);
                of->hops = (unsigned)off.hops;
                advertise(b, off.name);
        }
        return 0;
}

void bridge_link_refilter(struct bridge *b, struct blink *l, const char *label, const struct bridge_filter *exp,
                          const struct bridge_filter *imp)
{
        struct lh_entry *e, *tmp;

        l->label = label;
        l->exp = exp;
        l->imp = imp;
        if (!l->offers)
                return; /* not up */
        lh_foreach_safe(l->offers, e, tmp)
        {
                char name[BUS_MAX_NAME + 1];
                snprintf(name, sizeof(name), "%s", (const char *)lh_entry_k(e));
                if (!bridge_filter_name(imp, name))
                        withdraw(b, l, name);
        }
        advertise_all(b, l); /* adds what exp now lets through, removes what it no longer does */
}

void bridge_set_max_hops(struct bridge *b, unsigned max_hops)
{
        b->max_hops = max_hops ? max_hops : BRIDGE_DEFAULT_MAX_HOPS;
}

static int in_hello(struct bridge *b, struct blink *l, const struct linkmsg *m, struct in *in)
{
        l->hello_seen = true;
        l->remote_epoch = m->epoch;
        return 0;
}

static int in_ack(struct bridge *b, struct blink *l, const struct linkmsg *m, struct in *in)
{
        if (m->count < l->acked || m->count > l->st.events_out)
                return bad(in, "ack: %" PRIu64 " events, but %" PRIu64 " were sent and %" PRIu64 " acknowledged",
                           m->count, l->st.events_out, l->acked);
        l->acked = m->count;
        return 0;
}

static int in_ping(struct bridge *b, struct blink *l, const struct linkmsg *m, struct in *in)
{
        struct json_object *p = jsonnew_object();

        json_object_object_add(p, "type", jsonnew_string("pong"));
        send_obj(l, p, false);
        return 0;
}

/* What each link message does, once linkmsg_parse() has checked it (pong: nothing). */
static int (*const handlers[LINKMSG_TYPE_COUNT])(struct bridge *b, struct blink *l, const struct linkmsg *m,
                                                 struct in *in) = {
        [LINKMSG_LINK_HELLO] = in_hello, [LINKMSG_NAMES] = in_names,  [LINKMSG_EVENT] = in_event,
        [LINKMSG_CALL] = in_call,        [LINKMSG_REPLY] = in_answer, [LINKMSG_ERROR] = in_answer,
        [LINKMSG_CANCEL] = in_cancel,    [LINKMSG_PING] = in_ping,    [LINKMSG_PONG] = NULL,
        [LINKMSG_ACK] = in_ack,
};

int bridge_link_input(struct bridge *b, struct blink *l, const char *data, size_t len, char *why, size_t whylen)
{
        const struct linkmsg_link ends = link_ends(b, l);
        const struct jsonscan_member *members;
        struct jsonscan_value root;
        struct in in = { why, whylen };
        char perr[PARSE_WHY_MAX];
        struct linkmsg m;
        size_t n;
        int r;

        /* what m borrows lives in b->scan until the next line */
        r = jsonscan_parse(b->scan, data, len, &root, &members, &n, perr, sizeof(perr));
        if (r == -ENOMEM) {
                snprintf(why, whylen, "out of memory");
                return r;
        }
        if (r < 0)
                return bad(&in, "not JSON: %s", perr);
        r = linkmsg_parse(&root, members, n, &ends, b->nested, &m, why, whylen);
        /* every event that came counts, also those dropped here: the other
         * bus compares it with what it sent (in_ack()) */
        l->rx_events += r >= 0 && m.type == LINKMSG_EVENT;
        if (r == LINKMSG_OURS) {
                /* our own, come around: dropped (an event counts as a duplicate) */
                if (m.type == LINKMSG_EVENT)
                        l->st.duplicates++;
                return 0;
        }
        if (r < 0)
                return r;
        if (handlers[m.type])
                r = handlers[m.type](b, l, &m, &in);
        linkmsg_release(&m);
        return r;
}
