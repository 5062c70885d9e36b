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
 * Pure: no I/O.
 */
#include "bridge.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "jsonparse.h"
#include "router.h"
#include "syntax.h"
#include "wire.h"

#define BRIDGE_PROTOCOL 1
#define CREDS_MAX_ID 4294967294u

/* What a link offers for one name. */
struct offer {
        char origin[BUS_MAX_BUS_NAME + 1];
        unsigned hops;
};

/* Duplicate detection for one origin: the highest sequence number seen and a
 * window of the 1024 before it. A new epoch (the origin restarted) starts
 * over. */
#define WINDOW 1024
struct origin_win {
        uint64_t epoch;
        uint64_t max;
        uint64_t bits[WINDOW / 64];
};

struct bridge {
        struct router *r;
        char self[BUS_MAX_BUS_NAME + 1];
        unsigned max_hops;
        uint64_t epoch;
        uint64_t seq;
        struct jsonparse *parser;
        struct lh_table *origins; /* origin bus -> struct origin_win */
        size_t norigins;
        uint64_t origins_refused; /* events from origins beyond BRIDGE_MAX_ORIGINS */
        struct list links;
        size_t nlinks;
};

static void free_entry(struct lh_entry *e)
{
        free((void *)lh_entry_k(e));
        free(lh_entry_v(e));
}

static struct lh_table *str_table(void)
{
        return lh_kchar_table_new(64, free_entry);
}

static int table_put(struct lh_table *t, const char *key, void *v)
{
        char *k = strdup(key);

        if (!k || lh_table_insert(t, k, v) < 0) {
                free(k);
                free(v);
                return -ENOMEM;
        }
        return 0;
}

/* ---- filters ---------------------------------------------------------------- */

static bool name_form_matches(const char *form, const char *name)
{
        size_t n = strlen(form);

        if (strcmp(form, "*") == 0)
                return true;
        if (n >= 2 && form[n - 1] == '*' && form[n - 2] == '.')
                return strncmp(form, name, n - 1) == 0 && name[n - 1] != '\0';
        return strcmp(form, name) == 0;
}

bool bridge_filter_topic(const struct bridge_filter *f, const char *topic)
{
        if (!f || topic[0] == '$')
                return false; /* a bus's own $bus events stay on it */
        for (size_t i = 0; i < f->ntopics; i++)
                if (syntax_pattern_matches(f->topics[i], topic))
                        return true;
        return false;
}

bool bridge_map_topic(const struct bridge_filter *f, const char *topic, char *buf, size_t len)
{
        int n = snprintf(buf, len, "%s%s", f && f->prefix ? f->prefix : "", topic);

        return n > 0 && (size_t)n < len && syntax_is_topic(buf, (size_t)n);
}

bool bridge_filter_name(const struct bridge_filter *f, const char *name)
{
        if (!f)
                return false;
        for (size_t i = 0; i < f->nnames; i++)
                if (name_form_matches(f->names[i], name))
                        return true;
        return false;
}

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

static struct json_object *creds_obj(uid_t uid, gid_t gid, pid_t pid)
{
        struct json_object *c = json_object_new_object();

        json_object_object_add(c, "uid", json_object_new_uint64(uid));
        json_object_object_add(c, "gid", json_object_new_uint64(gid));
        json_object_object_add(c, "pid", json_object_new_int64(pid));
        return c;
}

/* ---- names ---------------------------------------------------------------------- */

/* The best way to reach name for link `to` (split horizon: never a route
 * learned from `to` itself): local (hops 0) or the link with the fewest hops.
 * Returns false if there is none. */
static bool best_route(struct bridge *b, const char *name, const struct blink *to, struct blink **ret_link,
                       struct offer *ret)
{
        struct blink *best = NULL;
        struct offer *bo = NULL;

        if (router_local_owner(b->r, name)) {
                snprintf(ret->origin, sizeof(ret->origin), "%s", b->self);
                ret->hops = 0;
                if (ret_link)
                        *ret_link = NULL;
                return true;
        }
        list_for_each(i, &b->links)
        {
                struct blink *l = list_entry(i, struct blink, link);
                struct offer *o;
                if (l == to || !lh_table_lookup_ex(l->offers, name, (void **)&o))
                        continue;
                if (!bo || o->hops < bo->hops) {
                        best = l;
                        bo = o;
                }
        }
        if (!bo)
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
        struct json_object *m = json_object_new_object(), *arr = json_object_new_array();
        json_object_object_add(m, "type", json_object_new_string("names"));
        if (have) {
                struct json_object *e = json_object_new_object();
                json_object_object_add(e, "name", json_object_new_string(name));
                json_object_object_add(e, "origin", json_object_new_string(o.origin));
                json_object_object_add(e, "hops", json_object_new_uint64(o.hops + 1));
                json_object_array_add(arr, e);
                json_object_object_add(m, "add", arr);
                if (told) {
                        *sent = o.hops + 1;
                } else {
                        uintptr_t *v = malloc(sizeof(*v));
                        if (v) {
                                *v = o.hops + 1;
                                table_put(to->sent, name, v);
                        }
                }
        } else {
                json_object_array_add(arr, json_object_new_string(name));
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
        (void)owned;
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
        struct offer o;

        if (slash) {
                size_t blen = (size_t)(slash - dest);
                if (blen == strlen(b->self) && strncmp(dest, b->self, blen) == 0)
                        return router_local_owner(b->r, name); /* this bus, by its name */
                /* the link on the shortest way to that bus's owner of the name */
                struct blink *best = NULL;
                unsigned hops = UINT32_MAX;
                list_for_each(i, &b->links)
                {
                        struct blink *l = list_entry(i, struct blink, link);
                        struct offer *of;
                        if (lh_table_lookup_ex(l->offers, name, (void **)&of) && strlen(of->origin) == blen &&
                            strncmp(of->origin, dest, blen) == 0 && of->hops < hops) {
                                best = l;
                                hops = of->hops;
                        }
                }
                return best ? &best->peer : NULL;
        }
        if (!best_route(b, name, NULL, &via, &o) || !via)
                return NULL;
        return &via->peer;
}

/* A local publish goes to every link whose export filter lets it through:
 * one message object, serialised once for the links that keep the topic and
 * once per link that renames it (export prefix), as in in_event(). */
static size_t on_publish(void *ud, const struct peer *from, const char *topic, size_t topic_len,
                         struct json_object *data)
{
        struct bridge *b = ud;
        struct json_object *m = NULL;
        struct buf *same = NULL;
        size_t lost = 0;

        (void)topic_len;
        list_for_each(i, &b->links)
        {
                struct blink *l = list_entry(i, struct blink, link);
                char out[BUS_MAX_TOPIC + 1];
                if (!l->hello_seen || !bridge_filter_topic(l->exp, topic))
                        continue;
                if (!bridge_map_topic(l->exp, topic, out, sizeof(out))) {
                        l->st.filtered++; /* the prefix would make it too long */
                        continue;
                }
                if (!m) {
                        m = json_object_new_object();
                        json_object_object_add(m, "type", json_object_new_string("event"));
                        json_object_object_add(m, "origin", json_object_new_string(b->self));
                        json_object_object_add(m, "epoch", json_object_new_uint64(b->epoch));
                        json_object_object_add(m, "seq", json_object_new_uint64(++b->seq));
                        json_object_object_add(m, "hops", json_object_new_int(1));
                        json_object_object_add(m, "topic", json_object_new_string(topic));
                        json_object_object_add(m, "data", json_object_get(data));
                        json_object_object_add(m, "sender", json_object_new_string(from->unique));
                        json_object_object_add(m, "creds", creds_obj(from->uid, from->gid, from->pid));
                }
                struct buf *bb;
                if (l->exp->prefix) {
                        json_object_object_add(m, "topic", json_object_new_string(out));
                        bb = wire_object(m);
                        json_object_object_add(m, "topic", json_object_new_string(topic));
                } else {
                        if (!same)
                                same = wire_object(m);
                        bb = same ? buf_ref(same) : NULL;
                }
                if (bb && l->ops->send(l, bb, true) == 0) {
                        l->st.events_out++;
                } else {
                        l->st.dropped++;
                        lost++;
                }
                buf_unref(bb);
        }
        buf_unref(same);
        json_object_put(m);
        return lost;
}

static int send_call(void *ud, struct peer *link, uint64_t serial, bool oneway, const char *dest, const char *method,
                     struct json_object *params, const struct peer *caller, const struct remote_ident *rid)
{
        struct bridge *b = ud;
        struct blink *l = (struct blink *)link;
        struct json_object *m = json_object_new_object();

        json_object_object_add(m, "type", json_object_new_string("call"));
        if (oneway)
                json_object_object_add(m, "oneway", json_object_new_boolean(true));
        else
                json_object_object_add(m, "id", json_object_new_uint64(serial));
        json_object_object_add(m, "dest", json_object_new_string(dest));
        json_object_object_add(m, "method", json_object_new_string(method));
        json_object_object_add(m, "params", json_object_get(params));
        json_object_object_add(m, "origin", json_object_new_string(rid ? rid->bus : b->self));
        json_object_object_add(m, "hops", json_object_new_int(rid ? (int)rid->hops + 1 : 1));
        json_object_object_add(m, "sender", json_object_new_string(rid ? rid->sender : caller->unique));
        json_object_object_add(m, "creds", rid ? creds_obj(rid->uid, rid->gid, rid->pid)
                                              : creds_obj(caller->uid, caller->gid, caller->pid));
        int r = send_obj(l, m, false);
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
        b->parser = jsonparse_new(BUS_MAX_DEPTH);
        b->origins = str_table();
        if (!b->parser || !b->origins) {
                bridge_free(b);
                return NULL;
        }
        const struct router_bridge hooks = {
                .userdata = b, .publish = on_publish, .route = route, .call = send_call,
                .name_changed = on_name_changed, .foreach_remote = foreach_remote,
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
        jsonparse_free(b->parser);
        if (b->origins)
                lh_table_free(b->origins);
        free(b);
}

const char *bridge_self(const struct bridge *b)
{
        return b->self;
}

static void link_event(struct bridge *b, struct blink *l, const char *state, const char *why)
{
        char topic[BUS_MAX_BUS_NAME + 32];
        struct json_object *d = json_object_new_object();

        snprintf(topic, sizeof(topic), "$bus.link.%s", l->remote);
        json_object_object_add(d, "bus", json_object_new_string(l->remote));
        json_object_object_add(d, "link", json_object_new_string(l->label ? l->label : ""));
        json_object_object_add(d, "state", json_object_new_string(state));
        if (why)
                json_object_object_add(d, "reason", json_object_new_string(why));
        router_publish_daemon(b->r, topic, d);
        json_object_put(d);
}

static int link_peer_send(struct peer *p, struct buf *b)
{
        struct blink *l = (struct blink *)p;
        int r = l->ops->send(l, b, false);

        if (r == 0) {
                /* counted by the router after this returns: settled by the
                 * carrier's next bridge_link_wrote() */
                l->unreported += b->len;
                l->unreported_msgs++;
        }
        return r;
}

static void link_peer_kill(struct peer *p, const char *reason)
{
        struct blink *l = (struct blink *)p;
        l->ops->close(l, reason);
}

static const struct peer_ops link_peer_ops = { .send = link_peer_send, .kill = link_peer_kill };

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
        l->offers = str_table();
        l->sent = str_table();
        if (!l->offers || !l->sent)
                goto nomem;
        if (router_link_add(b->r, &l->peer, &link_peer_ops, remote, BUS_MAX_MESSAGE_STREAM + BUS_RELAY_OVERHEAD) < 0)
                goto nomem;
        l->peer.gone_code = "link_down";
        list_append(&b->links, &l->link);
        b->nlinks++;
        struct json_object *h = json_object_new_object();
        json_object_object_add(h, "type", json_object_new_string("link_hello"));
        json_object_object_add(h, "protocol", json_object_new_int(BRIDGE_PROTOCOL));
        json_object_object_add(h, "bus", json_object_new_string(b->self));
        json_object_object_add(h, "epoch", json_object_new_uint64(b->epoch));
        send_obj(l, h, false);
        advertise_all(b, l);
        link_event(b, l, "up", NULL);
        return 0;
nomem:
        if (l->offers)
                lh_table_free(l->offers);
        if (l->sent)
                lh_table_free(l->sent);
        l->offers = l->sent = NULL;
        return -ENOMEM;
}

void bridge_link_down(struct bridge *b, struct blink *l, const char *why)
{
        char text[300];
        struct lh_entry *e, *tmp;

        if (!l->offers)
                return; /* never up, or already down */
        list_unlink(&l->link);
        b->nlinks--;
        snprintf(text, sizeof(text), "the link to %s went down before the answer came%s%s", l->remote,
                 why ? ": " : "", why ? why : "");
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
        link_event(b, l, "down", why);
}

void bridge_link_wrote(struct bridge *b, struct blink *l)
{
        if (!l->unreported_msgs)
                return;
        size_t bytes = l->unreported, msgs = l->unreported_msgs;
        l->unreported = l->unreported_msgs = 0;
        router_peer_wrote(b->r, &l->peer, bytes, msgs);
}

struct json_object *bridge_link_json(const struct blink *l)
{
        struct json_object *o = json_object_new_object();

#define U64(k, v) json_object_object_add(o, k, json_object_new_uint64(v))
        U64("events_in", l->st.events_in);
        U64("events_out", l->st.events_out);
        U64("calls_in", l->st.calls_in);
        U64("calls_out", l->st.calls_out);
        U64("dropped", l->st.dropped);
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

static const char *get_str(struct json_object *o, const char *key)
{
        struct json_object *v;

        return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
                       ? json_object_get_string(v)
                       : NULL;
}

static bool get_u64(struct json_object *o, const char *key, uint64_t max, uint64_t *ret)
{
        struct json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
                return false;
        int64_t i = json_object_get_int64(v);
        uint64_t u = json_object_get_uint64(v);
        if (i < 0 && u == 0)
                return false;
        if (u > max)
                return false;
        *ret = u;
        return true;
}

/* The identity of a message from l, checked: the origin bus and hops must be
 * plausible for this neighbour, the sender a unique id or org.busd, the
 * credentials numbers. Builds the splice for local delivery into buf. */
static int take_ident(struct bridge *b, struct blink *l, struct json_object *o, struct remote_ident *rid,
                      char *buf, size_t len, struct in *in)
{
        struct json_object *cr;
        uint64_t hops, uid, gid, pid, unused;
        const char *origin = get_str(o, "origin"), *sender = get_str(o, "sender");

        if (!origin || !syntax_is_bus(origin, strlen(origin)))
                return bad(in, "'origin' must be a bus name");
        if (!get_u64(o, "hops", b->max_hops + 1, &hops) || hops < 1)
                return bad(in, "'hops' must be a number from 1");
        if (strcmp(origin, b->self) == 0)
                return 1; /* our own, come around: not an error, dropped */
        if ((hops == 1) != (strcmp(origin, l->remote) == 0))
                return bad(in, "forged identity: %s cannot relay a message from '%s' at %" PRIu64 " hops", l->remote,
                           origin, hops);
        if (!sender || !(syntax_parse_unique(sender, strlen(sender), &unused) || strcmp(sender, "org.busd") == 0))
                return bad(in, "'sender' must be a unique id");
        if (!json_object_object_get_ex(o, "creds", &cr) || !json_object_is_type(cr, json_type_object) ||
            !get_u64(cr, "uid", CREDS_MAX_ID, &uid) || !get_u64(cr, "gid", CREDS_MAX_ID, &gid) ||
            !get_u64(cr, "pid", INT32_MAX, &pid) || json_object_object_length(cr) != 3)
                return bad(in, "'creds' must be {\"uid\", \"gid\", \"pid\"} numbers");
        rid->bus = origin;
        rid->via = l->remote;
        rid->sender = sender;
        rid->uid = (uid_t)uid;
        rid->gid = (gid_t)gid;
        rid->pid = (pid_t)pid;
        rid->hops = (unsigned)hops;
        int n = snprintf(buf, len,
                         ",\"sender\":\"%s/%s\",\"remote\":{\"bus\":\"%s\",\"via\":\"%s\",\"creds\":{\"uid\":%" PRIu64
                         ",\"gid\":%" PRIu64 ",\"pid\":%" PRIu64 "}}",
                         origin, sender, origin, l->remote, uid, gid, pid);
        if (n < 0 || (size_t)n >= len)
                return bad(in, "identity too long");
        rid->splice = buf;
        rid->splice_len = (size_t)n;
        return 0;
}

/* Seen before? Records it if not. */
static bool seen(struct bridge *b, const char *origin, uint64_t epoch, uint64_t seq, bool *refused)
{
        struct origin_win *w;

        *refused = false;
        if (!lh_table_lookup_ex(b->origins, origin, (void **)&w)) {
                if (b->norigins >= BRIDGE_MAX_ORIGINS) {
                        *refused = true;
                        return true;
                }
                w = calloc(1, sizeof(*w));
                if (!w || table_put(b->origins, origin, w) < 0) {
                        *refused = true;
                        return true;
                }
                b->norigins++;
                w->epoch = epoch;
        }
        if (w->epoch != epoch) {
                memset(w, 0, sizeof(*w));
                w->epoch = epoch;
        }
        if (seq > w->max) {
                uint64_t shift = seq - w->max;
                if (shift >= WINDOW) {
                        memset(w->bits, 0, sizeof(w->bits));
                } else {
                        for (uint64_t s = w->max + 1; s <= seq; s++)
                                w->bits[(s % WINDOW) / 64] &= ~(1ull << (s % 64));
                }
                w->max = seq;
                w->bits[(seq % WINDOW) / 64] |= 1ull << (seq % 64);
                return false;
        }
        if (w->max - seq >= WINDOW)
                return true; /* too old to tell: treat as seen */
        uint64_t bit = 1ull << (seq % 64), *word = &w->bits[(seq % WINDOW) / 64];
        if (*word & bit)
                return true;
        *word |= bit;
        return false;
}

static int in_event(struct bridge *b, struct blink *l, struct json_object *o, struct in *in)
{
        char splice[512];
        struct remote_ident rid;
        struct json_object *data = NULL;
        const char *topic = get_str(o, "topic");
        uint64_t epoch, seq;
        int r;

        if (!topic || !syntax_is_topic(topic, strlen(topic)) || syntax_topic_is_reserved(topic, strlen(topic)))
                return bad(in, "event: 'topic' must be a topic");
        if (!get_u64(o, "epoch", UINT64_MAX, &epoch) || !get_u64(o, "seq", UINT64_MAX, &seq) || seq == 0)
                return bad(in, "event: 'epoch' and 'seq' must be numbers");
        if ((r = take_ident(b, l, o, &rid, splice, sizeof(splice), in)) != 0) {
                if (r > 0)
                        l->st.duplicates++;
                return r < 0 ? r : 0;
        }
        l->st.events_in++;
        char local[BUS_MAX_TOPIC + 1];
        if (!bridge_filter_topic(l->imp, topic) || !bridge_map_topic(l->imp, topic, local, sizeof(local))) {
                l->st.filtered++;
                return 0;
        }
        topic = local; /* from here on, the topic as this bus knows it */
        bool refused;
        if (seen(b, rid.bus, epoch, seq, &refused)) {
                l->st.duplicates++;
                return 0;
        }
        json_object_object_get_ex(o, "data", &data);
        router_remote_event(b->r, topic, strlen(topic), data, &rid);
        /* on to the other links */
        if (rid.hops + 1 > b->max_hops) {
                l->st.too_far++;
                return 0;
        }
        struct buf *fwd = NULL;
        json_object_object_add(o, "hops", json_object_new_uint64(rid.hops + 1));
        json_object_object_add(o, "topic", json_object_new_string(topic));
        list_for_each(i, &b->links)
        {
                struct blink *m = list_entry(i, struct blink, link);
                char out[BUS_MAX_TOPIC + 1];
                if (m == l || !m->hello_seen || !bridge_filter_topic(m->exp, topic) || strcmp(m->remote, rid.bus) == 0)
                        continue;
                if (!bridge_map_topic(m->exp, topic, out, sizeof(out))) {
                        m->st.filtered++;
                        continue;
                }
                struct buf *bb;
                if (m->exp->prefix) {
                        /* this link renames the topic: a message of its own */
                        json_object_object_add(o, "topic", json_object_new_string(out));
                        bb = wire_object(o);
                        json_object_object_add(o, "topic", json_object_new_string(topic));
                } else {
                        /* serialised once for all the links that keep the topic */
                        if (!fwd)
                                fwd = wire_object(o);
                        bb = fwd ? buf_ref(fwd) : NULL;
                }
                if (bb && m->ops->send(m, bb, true) == 0)
                        m->st.events_out++;
                else
                        m->st.dropped++;
                buf_unref(bb);
        }
        buf_unref(fwd);
        return 0;
}

static int in_call(struct bridge *b, struct blink *l, struct json_object *o, struct in *in)
{
        char splice[512];
        struct remote_ident rid;
        struct json_object *v, *params = NULL;
        const char *dest = get_str(o, "dest"), *method = get_str(o, "method");
        bool oneway = json_object_object_get_ex(o, "oneway", &v) && json_object_get_boolean(v);
        uint64_t id = 0;
        int r;

        if (!dest || !(syntax_is_name(dest, strlen(dest)) || syntax_is_remote_dest(dest, strlen(dest))))
                return bad(in, "call: 'dest' must be a name or BUS/NAME");
        if (!method || !syntax_is_method(method, strlen(method)))
                return bad(in, "call: 'method' must be a method name");
        if (!oneway && !get_u64(o, "id", UINT64_MAX, &id))
                return bad(in, "call: 'id' must be a number");
        if ((r = take_ident(b, l, o, &rid, splice, sizeof(splice), in)) != 0)
                return r < 0 ? r : 0;
        json_object_object_get_ex(o, "params", &params);
        l->st.calls_in++;
        const char *slash = strchr(dest, '/'), *name = slash ? slash + 1 : dest;
        if (!bridge_filter_name(l->exp, name)) {
                /* only what this side exports to the link may be called over it */
                l->st.filtered++;
                if (!oneway) {
                        char text[400];
                        snprintf(text, sizeof(text), "'%s' is not exported to %s over this link", name, l->remote);
                        struct buf *e = wire_error(true, id, -1, "denied", text, "org.busd", NULL);
                        if (e)
                                l->ops->send(l, e, false);
                        buf_unref(e);
                }
                return 0;
        }
        router_remote_call(b->r, &l->peer, id, oneway, dest, method, params, &rid);
        return 0;
}

static int in_answer(struct bridge *b, struct blink *l, struct json_object *o, bool error, struct in *in)
{
        char sender[BUS_MAX_BUS_NAME + BUS_MAX_NAME + 2];
        const char *s = get_str(o, "sender"), *code = NULL, *message = NULL;
        struct json_object *result = NULL, *data = NULL;
        uint64_t id, unused;

        if (!get_u64(o, "id", UINT64_MAX, &id))
                return bad(in, "%s: 'id' must be a number", error ? "error" : "reply");
        if (!s)
                return bad(in, "%s: 'sender' missing", error ? "error" : "reply");
        const char *slash = strchr(s, '/');
        if (slash) {
                /* answered further away: BUS/SENDER, never claiming to be us */
                size_t blen = (size_t)(slash - s);
                if (!syntax_is_bus(s, blen) || (blen == strlen(b->self) && strncmp(s, b->self, blen) == 0) ||
                    !(syntax_parse_unique(slash + 1, strlen(slash + 1), &unused) || strcmp(slash + 1, "org.busd") == 0))
                        return bad(in, "forged identity: answer sender '%.80s'", s);
                snprintf(sender, sizeof(sender), "%s", s);
        } else {
                if (!(syntax_parse_unique(s, strlen(s), &unused) || strcmp(s, "org.busd") == 0))
                        return bad(in, "answer sender must be a unique id");
                snprintf(sender, sizeof(sender), "%s/%s", l->remote, s);
        }
        if (error) {
                code = get_str(o, "code");
                message = get_str(o, "message");
                if (!code || !syntax_is_code(code, strlen(code)) || !message)
                        return bad(in, "error: 'code' and 'message' must be strings");
                json_object_object_get_ex(o, "data", &data);
        } else {
                json_object_object_get_ex(o, "result", &result);
        }
        router_remote_answer(b->r, &l->peer, id, error, result, code, message, data, sender);
        return 0;
}

static int in_names(struct bridge *b, struct blink *l, struct json_object *o, struct in *in)
{
        struct json_object *add = NULL, *rem = NULL;

        json_object_object_get_ex(o, "add", &add);
        json_object_object_get_ex(o, "remove", &rem);
        if ((add && !json_object_is_type(add, json_type_array)) || (rem && !json_object_is_type(rem, json_type_array)))
                return bad(in, "names: 'add' and 'remove' must be arrays");
        for (size_t i = 0; rem && i < json_object_array_length(rem); i++) {
                struct json_object *e = json_object_array_get_idx(rem, i);
                const char *name = json_object_is_type(e, json_type_string) ? json_object_get_string(e) : NULL;
                if (!name || !syntax_is_name(name, strlen(name)))
                        return bad(in, "names: remove[%zu] must be a name", i);
                if (lh_table_lookup_entry(l->offers, name)) {
                        lh_table_delete(l->offers, name);
                        advertise(b, name);
                }
        }
        for (size_t i = 0; add && i < json_object_array_length(add); i++) {
                struct json_object *e = json_object_array_get_idx(add, i);
                const char *name = json_object_is_type(e, json_type_object) ? get_str(e, "name") : NULL;
                const char *origin = name ? get_str(e, "origin") : NULL;
                uint64_t hops;
                if (!name || !syntax_is_name(name, strlen(name)) || syntax_name_is_reserved(name, strlen(name)) ||
                    !origin || !syntax_is_bus(origin, strlen(origin)) || !get_u64(e, "hops", UINT32_MAX, &hops) ||
                    hops < 1)
                        return bad(in, "names: add[%zu] must be {\"name\", \"origin\", \"hops\"}", i);
                if ((hops == 1) != (strcmp(origin, l->remote) == 0))
                        return bad(in, "forged identity: %s offers '%s' of '%s' at %" PRIu64 " hops", l->remote, name,
                                   origin, hops);
                if (strcmp(origin, b->self) == 0 || hops > b->max_hops || !bridge_filter_name(l->imp, name)) {
                        /* ours come around, too far, or not imported: not reachable over l */
                        if (lh_table_lookup_entry(l->offers, name)) {
                                lh_table_delete(l->offers, name);
                                advertise(b, name);
                        }
                        continue;
                }
                struct offer *of;
                if (!lh_table_lookup_ex(l->offers, name, (void **)&of)) {
                        if (lh_table_length(l->offers) >= 65536)
                                return bad(in, "names: more than 65536 names offered");
                        of = calloc(1, sizeof(*of));
                        if (!of || table_put(l->offers, name, of) < 0)
                                return -ENOMEM;
                }
                snprintf(of->origin, sizeof(of->origin), "%s", origin);
                of->hops = (unsigned)hops;
                advertise(b, name);
        }
        return 0;
}

int bridge_link_input(struct bridge *b, struct blink *l, const char *data, size_t len, char *why, size_t whylen)
{
        struct json_object *o = NULL;
        struct in in = { why, whylen };
        char perr[256];
        int r;

        if (jsonparse_parse(b->parser, data, len, &o, perr, sizeof(perr)) < 0)
                return bad(&in, "not JSON: %s", perr);
        const char *type = json_object_is_type(o, json_type_object) ? get_str(o, "type") : NULL;
        if (!type) {
                r = bad(&in, "not an object with a string 'type'");
        } else if (!l->hello_seen) {
                const char *bus = get_str(o, "bus");
                uint64_t proto = 0, epoch = 0;
                if (strcmp(type, "link_hello") != 0)
                        r = bad(&in, "the first message must be link_hello, not '%.40s'", type);
                else if (!get_u64(o, "protocol", 1000, &proto) || proto != BRIDGE_PROTOCOL)
                        r = bad(&in, "link protocol %" PRIu64 " is not %d", proto, BRIDGE_PROTOCOL);
                else if (!bus || strcmp(bus, l->remote) != 0)
                        r = bad(&in, "forged identity: the link_hello says '%.80s', the certificate '%s'", bus ? bus : "",
                                l->remote);
                else if (!get_u64(o, "epoch", UINT64_MAX, &epoch))
                        r = bad(&in, "link_hello: 'epoch' must be a number");
                else {
                        l->hello_seen = true;
                        l->remote_epoch = epoch;
                        r = 0;
                }
        } else if (strcmp(type, "event") == 0) {
                r = in_event(b, l, o, &in);
        } else if (strcmp(type, "call") == 0) {
                r = in_call(b, l, o, &in);
        } else if (strcmp(type, "reply") == 0 || strcmp(type, "error") == 0) {
                r = in_answer(b, l, o, type[0] == 'e', &in);
        } else if (strcmp(type, "cancel") == 0) {
                uint64_t id;
                r = get_u64(o, "id", UINT64_MAX, &id) ? (router_remote_cancel(b->r, &l->peer, id), 0)
                                                      : bad(&in, "cancel: 'id' must be a number");
        } else if (strcmp(type, "names") == 0) {
                r = in_names(b, l, o, &in);
        } else if (strcmp(type, "ping") == 0) {
                struct json_object *p = json_object_new_object();
                json_object_object_add(p, "type", json_object_new_string("pong"));
                send_obj(l, p, false);
                r = 0;
        } else if (strcmp(type, "pong") == 0) {
                r = 0;
        } else {
                r = bad(&in, "unknown link message type '%.40s'", type);
        }
        json_object_put(o);
        return r;
}
