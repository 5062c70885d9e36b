/* monitor.c: connections that watch the bus's traffic (monitor.h). Records
 * are built from spans of the message's text and the identities the router
 * keeps, never from json-c trees; only the start and `stats`, which are no
 * hot path, use json-c. Pure: no I/O.
 */
#include "monitor.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "access.h"
#include "buf.h"
#include "buslimits.h"
#include "corelog.h"
#include "errcode.h"
#include "jsonnew.h"
#include "jsonscan.h"
#include "msg.h"
#include "send.h"
#include "state.h"
#include "syntax.h"
#include "wire.h"

/* Starting size of a record besides the message it carries. */
#define RECORD_HEAD 256

struct monitor {
        struct list link; /* in r->monitors */
        struct peer *p;
        bool all; /* may see all traffic (root, or the policy's `monitor` verb) */
        /* filters: NULL / 0 for none */
        char *name;
        char *from;
        char *topic;
        uint32_t types;
        struct json_object *filter; /* as given, for stats and the log */
        uint64_t seq;               /* records that matched, delivered or dropped */
        uint64_t records, drops;
};

/* What one record is about, as the hooks found it. */
struct about {
        bool out;                    /* queued for dest; else taken from sender */
        int type;                    /* msg_wire_type() */
        const char *topic;           /* an event's or publish's, else NULL */
        const char *dest_name;       /* a call's dest, else NULL */
        const char *sender;          /* as stamped: ":5", "org.busd", "BUS/:5" */
        struct peer *from;           /* the local connection that sent it, or NULL */
        struct peer *to;             /* the connection it was queued for, or NULL (the daemon) */
        struct jsonscan_span remote; /* a remote sender's "remote" member, if any */
        struct jsonscan_span text;   /* the message, without its line feed */
        int depth;                   /* how deeply the message nests (jsonscan_depth()) */
        uint64_t time_us;
};

/* What monitor_out() read of the last message queued: an event fanned out to
 * many subscribers is one buf, read once. It holds a reference to that buf,
 * so that its address cannot come back as another message. */
struct monitor_scan {
        struct jsonscan *scan;
        struct buf *last;   /* NULL: none */
        struct about about; /* of last: its strings point into scan and last */
};

static void scan_free(struct monitor_scan *ms)
{
        if (!ms)
                return;
        buf_unref(ms->last);
        jsonscan_free(ms->scan);
        free(ms);
}

static void monitor_free(struct monitor *mon)
{
        if (!mon)
                return;
        free(mon->name);
        free(mon->from);
        free(mon->topic);
        json_object_put(mon->filter);
        free(mon);
}

static char *dup_str(const struct msg_str *s)
{
        return s->s ? strdup(s->s) : NULL;
}

/* The filter as given, as an object (for stats and the log). */
static struct json_object *filter_of(const struct msg *m)
{
        struct json_object *o = jsonnew_object();

        if (m->name.s)
                json_object_object_add(o, "name", jsonnew_string(m->name.s));
        if (m->from.s)
                json_object_object_add(o, "from", jsonnew_string(m->from.s));
        if (m->pattern.s)
                json_object_object_add(o, "topic", jsonnew_string(m->pattern.s));
        if (m->types) {
                struct json_object *a = jsonnew_array();
                for (int i = 0; i < MSG_WIRE_TYPES; i++)
                        if (m->types & (1u << i))
                                json_object_array_add(a, jsonnew_string(msg_wire_type_name(i)));
                json_object_object_add(o, "types", a);
        }
        return o;
}

static void monitor_out(struct router *r, struct peer *p, struct buf *b);

void monitor_start(struct router *r, struct peer *p, const struct msg *m)
{
        struct policy_verdict v;

        if (p->n_owners || p->n_subs || p->n_calls_out || p->n_held || !list_empty(&p->calls_in) || p->hold) {
                send_error(r, p, m, ERRCODE_INVALID_MESSAGE,
                           "a monitoring connection does nothing else: monitor from a connection that owns no "
                           "names, has no subscriptions and no calls waiting");
                return;
        }
        if (r->n_monitors >= BUS_MAX_MONITORS) {
                send_error(r, p, m, ERRCODE_LIMIT, "the daemon already has %zu monitors (its limit)", r->n_monitors);
                return;
        }
        if (!r->mon_scan) {
                struct monitor_scan *ms = calloc(1, sizeof(*ms));
                if (ms && !(ms->scan = jsonscan_new(BUS_MAX_DEPTH))) {
                        free(ms);
                        ms = NULL;
                }
                if (!ms) {
                        send_error(r, p, m, ERRCODE_INTERNAL, "out of memory");
                        return;
                }
                r->mon_scan = ms;
        }
        struct monitor *mon = calloc(1, sizeof(*mon));
        if (mon) {
                mon->p = p;
                mon->all = access_check(r, p, POLICY_MONITOR, NULL, NULL, true, &v);
                mon->name = dup_str(&m->name);
                mon->from = dup_str(&m->from);
                mon->topic = dup_str(&m->pattern);
                mon->types = m->types;
                mon->filter = filter_of(m);
        }
        if (!mon || (m->name.s && !mon->name) || (m->from.s && !mon->from) || (m->pattern.s && !mon->topic) ||
            !mon->filter) {
                monitor_free(mon);
                send_error(r, p, m, ERRCODE_INTERNAL, "out of memory");
                return;
        }
        p->monitor = mon;
        list_append(&r->monitors, &mon->link);
        r->n_monitors++;
        r->monitor_out = monitor_out;
        corelog(r, "monitor %s (uid %u, pid %d) started: %s, filter %s", p->unique, (unsigned)p->uid, (int)p->pid,
                mon->all ? "all traffic" : "its uid's traffic",
                json_object_to_json_string_ext(mon->filter, WIRE_JSON_FLAGS));
        struct json_object *o = jsonnew_object();
        json_object_object_add(o, "scope", jsonnew_string(mon->all ? "all" : "uid"));
        json_object_object_add(o, "uid", jsonnew_uint64(p->uid));
        json_object_object_add(o, "queue_bytes", jsonnew_uint64(r->cfg.limits.queue_bytes));
        send_reply(r, p, m, o);
        json_object_put(o);
}

void monitor_peer_gone(struct router *r, struct peer *p)
{
        struct monitor *mon = p->monitor;

        if (!mon)
                return;
        corelog(r, "monitor %s (uid %u, pid %d) ended: %" PRIu64 " records, %" PRIu64 " dropped", p->unique,
                (unsigned)p->uid, (int)p->pid, mon->records, mon->drops);
        list_unlink(&mon->link);
        r->n_monitors--;
        p->monitor = NULL;
        monitor_free(mon);
        if (!r->n_monitors) {
                r->monitor_out = NULL;
                scan_free(r->mon_scan);
                r->mon_scan = NULL;
        }
}

void monitor_deinit(struct router *r)
{
        list_for_each_safe(l, tmp, &r->monitors)
        {
                /* its peer may be gone already: not touched */
                struct monitor *mon = list_entry(l, struct monitor, link);
                list_unlink(l);
                monitor_free(mon);
        }
        r->n_monitors = 0;
        r->monitor_out = NULL;
        scan_free(r->mon_scan);
        r->mon_scan = NULL;
}

/* ---- records ------------------------------------------------------------------ */

static uint64_t now_us(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static bool may_see(struct router *r, struct peer *viewer, const struct peer *q)
{
        struct policy_verdict v;

        return q == viewer || q->uid == viewer->uid || access_check_peer(r, viewer, POLICY_SEE, q, NULL, true, &v);
}

/* Does the filter keep the record? */
static bool keeps(struct router *r, const struct monitor *mon, const struct about *a)
{
        if (mon->types && (a->type < 0 || !(mon->types & (1u << a->type))))
                return false;
        if (mon->topic && (!a->topic || !syntax_pattern_matches(mon->topic, a->topic)))
                return false;
        if (mon->from && (!a->sender || strcmp(mon->from, a->sender) != 0))
                return false;
        if (mon->name) {
                struct peer *owner = registry_owner(r->registry, mon->name);
                bool dest_is = a->dest_name && strcmp(a->dest_name, mon->name) == 0;
                if (!dest_is && (!owner || (owner != a->from && owner != a->to)))
                        return false;
        }
        return true;
}

static int put_creds(struct buf **b, unsigned uid, unsigned gid, int pid)
{
        int e = buf_append_str(b, ",\"uid\":");
        e |= buf_append_u64(b, uid);
        e |= buf_append_str(b, ",\"gid\":");
        e |= buf_append_u64(b, gid);
        e |= buf_append_str(b, ",\"pid\":");
        e |= buf_append_i64(b, pid);
        return e;
}

/* {"unique":U[,"uid","gid","pid" | ,"link":BUS]} of a local connection;
 * without its credentials when the viewer may not see it. */
static int put_peer(struct buf **b, const struct peer *q, bool full)
{
        int e = buf_append_str(b, "{\"unique\":\"");

        e |= buf_append_str(b, q->unique);
        e |= buf_append_str(b, "\"");
        if (full && q->link) {
                e |= buf_append_str(b, ",\"link\":\"");
                e |= buf_append_str(b, q->display ? q->display : "");
                e |= buf_append_str(b, "\"");
        } else if (full) {
                e |= put_creds(b, (unsigned)q->uid, (unsigned)q->gid, (int)q->pid);
        }
        return e | buf_append_str(b, "}");
}

static int put_daemon(struct router *r, struct buf **b)
{
        int e = buf_append_str(b, "{\"unique\":\"" BUS_DAEMON_NAME "\"");

        e |= put_creds(b, (unsigned)r->cfg.uid, (unsigned)r->cfg.gid, (int)r->cfg.pid);
        return e | buf_append_str(b, "}");
}

/* The sender's identity: a local connection's, the daemon's, or a remote
 * sender's as its bus stamped it. */
static int put_sender(struct router *r, struct buf **b, const struct about *a, bool full)
{
        if (a->from)
                return put_peer(b, a->from, full);
        if (!a->sender || strcmp(a->sender, BUS_DAEMON_NAME) == 0)
                return put_daemon(r, b);
        /* a sender of another bus (the daemon stamped "BUS/:5"), or one gone */
        int e = buf_append_str(b, "{\"unique\":\"");
        e |= buf_append_str(b, a->sender);
        e |= buf_append_str(b, "\"");
        if (a->remote.s) {
                e |= buf_append_str(b, ",\"remote\":");
                e |= buf_append(b, a->remote.s, a->remote.len);
        }
        return e | buf_append_str(b, "}");
}

/* One record for mon, or NULL (out of memory). */
static struct buf *record(struct router *r, struct monitor *mon, const struct about *a, bool sender_full,
                          bool dest_full)
{
        struct buf *b = buf_new(RECORD_HEAD + a->text.len);
        int e = 0;

        if (!b)
                return NULL;
        e |= buf_append_str(&b, "{\"type\":\"monitor\",\"seq\":");
        e |= buf_append_u64(&b, mon->seq);
        e |= buf_append_str(&b, ",\"time_us\":");
        e |= buf_append_u64(&b, a->time_us);
        e |= buf_append_str(&b, a->out ? ",\"dir\":\"out\",\"sender\":" : ",\"dir\":\"in\",\"sender\":");
        e |= put_sender(r, &b, a, sender_full);
        e |= buf_append_str(&b, ",\"dest\":");
        e |= a->to ? put_peer(&b, a->to, dest_full) : put_daemon(r, &b);
        e |= buf_append_str(&b, ",\"message\":");
        size_t at = b->len;
        e |= buf_append(&b, a->text.s, a->text.len);
        if (!e && a->text.spaced)
                b->len = at + jsonscan_compact(a->text.s, a->text.len, b->data + at);
        e |= buf_append_str(&b, "}\n");
        if (e) {
                buf_unref(b);
                return NULL;
        }
        return b;
}

/* Queues a record for mon, or drops it and counts: never held, never more
 * than the monitor's queue bound. */
static void deliver(struct router *r, struct monitor *mon, const struct about *a, bool sender_full, bool dest_full)
{
        struct peer *p = mon->p;

        mon->seq++;
        if (p->drops_pending)
                send_drops_notice(r, p); /* it learns of its losses before the next record */
        /* a message nesting the full max_depth would nest one more level
         * inside its record than a client may accept: dropped as too large */
        bool fits = a->depth < BUS_MAX_DEPTH;
        struct buf *b = p->drops_pending || !fits ? NULL : record(r, mon, a, sender_full, dest_full);
        int err = b ? send_enqueue(r, p, b, SEND_RELAY) : -ENOBUFS;
        buf_unref(b);
        if (err == 0) {
                mon->records++;
                return;
        }
        mon->drops++;
        p->drops_pending++;
        p->drops_total++;
}

/* Gives a record to every monitor whose uid may see it and whose filter keeps
 * it. A monitor that may not see everything sees traffic from and to its
 * uid's connections: records to another connection only if it may see that
 * one, and a sender's credentials only if it may see the sender. */
static void dispatch(struct router *r, const struct about *a)
{
        list_for_each_safe(l, tmp, &r->monitors)
        {
                struct monitor *mon = list_entry(l, struct monitor, link);
                struct peer *v = mon->p;
                bool sender_full = true, dest_full = true;
                if (v->removed || !keeps(r, mon, a))
                        continue;
                if (!mon->all) {
                        bool own_from = a->from && !a->from->link && a->from->uid == v->uid;
                        bool own_to = a->to && !a->to->link && a->to->uid == v->uid;
                        if (!own_from && !own_to)
                                continue;
                        if (a->to && !own_to && !may_see(r, v, a->to))
                                continue;
                        sender_full = own_from || (a->from && may_see(r, v, a->from));
                        dest_full = true;
                }
                deliver(r, mon, a, sender_full, dest_full);
        }
}

bool monitor_in(struct router *r, struct peer *p, const struct msg *m, const struct jsonscan_span *text)
{
        if (p->monitor) {
                send_error(r, p, m, ERRCODE_INVALID_MESSAGE,
                           "this connection monitors: it only receives records (close it to stop monitoring)");
                return true;
        }
        struct about a = { .out = false,
                           .type = msg_wire_type(msg_type_name(m->type), strlen(msg_type_name(m->type))),
                           .topic = m->type == MSG_PUBLISH ? m->topic.s : NULL,
                           .dest_name = m->type == MSG_CALL ? m->dest.s : NULL,
                           .sender = p->unique,
                           .from = p->link ? NULL : p,
                           .to = NULL,
                           .text = *text,
                           .depth = jsonscan_depth(r->scan), /* the message router_handle() just scanned */
                           .time_us = now_us() };

        dispatch(r, &a);
        return false;
}

static const char *str_member(const struct jsonscan_member *ms, size_t n, const char *key)
{
        const struct jsonscan_member *x = jsonscan_find(ms, n, key);

        return x && x->value.type == JSONSCAN_STRING ? x->value.str : NULL;
}

/* Reads what monitor_out() needs of b into ms->about, unless b is the message
 * read last. Returns false if b is not an object (it always is). */
static bool scan(struct monitor_scan *ms, struct buf *b)
{
        const struct jsonscan_member *mm;
        struct jsonscan_value root;
        size_t n;

        if (b == ms->last)
                return true;
        buf_unref(ms->last);
        ms->last = NULL;
        /* what the daemon queues is its own valid JSON, a line feed after it */
        if (b->len < 2 || jsonscan_parse(ms->scan, b->data, b->len - 1, &root, &mm, &n, NULL, 0) < 0 ||
            root.type != JSONSCAN_OBJECT)
                return false;
        const char *type = str_member(mm, n, "type");
        const struct jsonscan_member *remote = jsonscan_find(mm, n, "remote");
        ms->about = (struct about){ .out = true,
                                    .type = type ? msg_wire_type(type, strlen(type)) : -1,
                                    .topic = str_member(mm, n, "topic"),
                                    .sender = str_member(mm, n, "sender"),
                                    .text = { b->data, b->len - 1, false },
                                    .depth = jsonscan_depth(ms->scan) };
        if (type && strcmp(type, "call") == 0)
                ms->about.dest_name = str_member(mm, n, "dest");
        if (remote)
                ms->about.remote = remote->value.raw;
        ms->last = buf_ref(b);
        return true;
}

/* router->monitor_out while there are monitors (monitor.h). */
static void monitor_out(struct router *r, struct peer *p, struct buf *b)
{
        if (!scan(r->mon_scan, b))
                return;
        struct about a = r->mon_scan->about;
        a.to = p;
        a.time_us = now_us();
        if (a.sender && a.sender[0] == ':') {
                struct peer *q = state_peer_by_unique(r, a.sender, strlen(a.sender));
                a.from = q && !q->link ? q : NULL;
        }
        dispatch(r, &a);
}

/* ---- stats ------------------------------------------------------------------- */

struct json_object *monitor_stats(struct router *r, struct peer *asker)
{
        struct json_object *arr = jsonnew_array();

        list_for_each(l, &r->monitors)
        {
                struct monitor *mon = list_entry(l, struct monitor, link);
                struct peer *q = mon->p;
                if (!may_see(r, asker, q))
                        continue;
                struct json_object *o = jsonnew_object();
                json_object_object_add(o, "unique", jsonnew_string(q->unique));
                json_object_object_add(o, "uid", jsonnew_uint64(q->uid));
                json_object_object_add(o, "pid", jsonnew_uint64((uint64_t)q->pid));
                json_object_object_add(o, "scope", jsonnew_string(mon->all ? "all" : "uid"));
                json_object_object_add(o, "filter", json_object_get(mon->filter));
                json_object_object_add(o, "records", jsonnew_uint64(mon->records));
                json_object_object_add(o, "drops", jsonnew_uint64(mon->drops));
                json_object_object_add(o, "queue_bytes", jsonnew_uint64(q->queued_bytes));
                json_object_array_add(arr, o);
        }
        return arr;
}
