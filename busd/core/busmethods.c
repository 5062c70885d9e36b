/* busmethods.c: the daemon as a destination: methods of org.busd
 * (docs/protocol.md §4.6), dispatched through the `methods` table (name,
 * parameter, handler). Builds JSON answers from the router's state; no I/O. */
#include "busmethods.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "buslimits.h"
#include "decl.h"
#include "errcode.h"
#include "jsonnew.h"
#include "jsonparse.h"
#include "monitor.h"
#include "msg.h"
#include "peer.h"
#include "quota.h"
#include "send.h"
#include "state.h"
#include "syntax.h"

static struct json_object *str_or_null(const char *s)
{
        return s ? jsonnew_string(s) : NULL;
}

static struct json_object *method_names(const struct peer *p)
{
        return decl_names(p->decl);
}

static struct json_object *queue_of(struct name *n)
{
        struct json_object *a = jsonnew_array();
        bool first = true;

        list_for_each(l, &n->owners)
        {
                if (!first)
                        json_object_array_add(a, jsonnew_string(list_entry(l, struct owner, name_link)->peer->unique));
                first = false;
        }
        return a;
}

/* Who asks for a listing: it sees what the policy lets it see (POLICY_SEE). */
struct viewer {
        struct router *r;
        struct peer *asker;
        struct json_object *arr;
};

static bool may_see_name(struct viewer *v, const char *name)
{
        struct policy_verdict verdict;

        return !v->asker || access_check(v->r, v->asker, POLICY_SEE, name, NULL, true, &verdict);
}

static bool may_see_peer(struct viewer *v, const struct peer *q)
{
        struct policy_verdict verdict;

        return !v->asker || q == v->asker || access_check_peer(v->r, v->asker, POLICY_SEE, q, NULL, true, &verdict);
}

static int add_name(struct name *n, void *ud)
{
        struct viewer *v = ud;
        struct json_object *arr = v->arr, *o;
        struct peer *p = list_entry(list_first(&n->owners), struct owner, name_link)->peer;

        if (!may_see_name(v, n->str))
                return 0;
        o = jsonnew_object();

        json_object_object_add(o, "name", jsonnew_string(n->str));
        json_object_object_add(o, "owner", jsonnew_string(p->unique));
        json_object_object_add(o, "pid", jsonnew_int64(p->pid));
        json_object_object_add(o, "uid", jsonnew_uint64(p->uid));
        json_object_object_add(o, "gid", jsonnew_uint64(p->gid));
        json_object_object_add(o, "queue", queue_of(n));
        json_object_object_add(o, "methods", method_names(p));
        json_object_array_add(arr, o);
        return 0;
}

static struct json_object *peer_names(struct viewer *v, const struct peer *p)
{
        struct json_object *a = jsonnew_array();

        list_for_each(l, &p->owners)
        {
                struct owner *o = list_entry(l, struct owner, peer_link);
                if (list_first(&o->name->owners) == &o->name_link && may_see_name(v, o->name->str))
                        json_object_array_add(a, jsonnew_string(o->name->str));
        }
        return a;
}

/* An activatable name, if the asker may see it. */
static void add_activatable(const struct activatable *e, bool pending, void *ud)
{
        struct viewer *v = ud;

        if (!may_see_name(v, e->name))
                return;
        struct json_object *o = jsonnew_object();
        json_object_object_add(o, "name", jsonnew_string(e->name));
        json_object_object_add(o, "starting", jsonnew_boolean(pending));
        json_object_array_add(v->arr, o);
}

/* A name on another bus of the bridge (docs/bridge.md), if the asker may see it. */
static void add_remote(void *arg, const char *name, const char *bus, unsigned hops, const char *via)
{
        struct viewer *v = arg;

        if (!may_see_name(v, name))
                return;
        struct json_object *o = jsonnew_object();
        json_object_object_add(o, "name", jsonnew_string(name));
        json_object_object_add(o, "bus", jsonnew_string(bus));
        json_object_object_add(o, "hops", jsonnew_uint64(hops));
        json_object_object_add(o, "via", jsonnew_string(via));
        json_object_array_add(v->arr, o);
}

static int by_id(const void *a, const void *b)
{
        const struct peer *x = *(struct peer *const *)a, *y = *(struct peer *const *)b;

        return x->id < y->id ? -1 : x->id > y->id;
}

/* The registered peers, in the order they connected (NULL on ENOMEM). */
static struct peer **peers_by_id(struct router *r, size_t *ret_n)
{
        size_t n = 0, i = 0;
        struct peer **all = malloc((peertab_count(&r->peers) + 1) * sizeof(*all)), *p;

        if (!all)
                return NULL;
        while ((p = peertab_next(&r->peers, &i)))
                all[n++] = p;
        qsort(all, n, sizeof(*all), by_id);
        *ret_n = n;
        return all;
}

static struct json_object *list_of(struct router *r, struct peer *asker)
{
        struct json_object *res = jsonnew_object(), *names = jsonnew_array(), *peers = jsonnew_array();
        struct viewer v = { r, asker, names };
        size_t n = 0;
        struct peer **all = peers_by_id(r, &n);

        registry_foreach(r->registry, add_name, &v);
        for (size_t k = 0; k < n; k++) {
                struct peer *p = all[k];
                if (!may_see_peer(&v, p))
                        continue;
                struct json_object *o = jsonnew_object();
                json_object_object_add(o, "unique", jsonnew_string(p->unique));
                json_object_object_add(o, "name", str_or_null(p->display));
                json_object_object_add(o, "pid", jsonnew_int64(p->pid));
                json_object_object_add(o, "uid", jsonnew_uint64(p->uid));
                json_object_object_add(o, "gid", jsonnew_uint64(p->gid));
                json_object_object_add(o, "transport", jsonnew_string(p->transport));
                json_object_object_add(o, "names", peer_names(&v, p));
                json_object_array_add(peers, o);
        }
        free(all);
        json_object_object_add(res, "names", names);
        json_object_object_add(res, "peers", peers);
        struct viewer av = { r, asker, jsonnew_array() };
        activate_foreach(r->acts, add_activatable, &av);
        json_object_object_add(res, "activatable", av.arr);
        if (r->bridge.foreach_remote) {
                struct viewer rv = { r, asker, jsonnew_array() };
                r->bridge.foreach_remote(r->bridge.userdata, add_remote, &rv);
                json_object_object_add(res, "remote", rv.arr);
        }
        return res;
}

#define STATS_MAX_PEERS 256

static int by_queue(const void *a, const void *b)
{
        const struct peer *x = *(struct peer *const *)a, *y = *(struct peer *const *)b;

        if (x->queued_bytes != y->queued_bytes)
                return x->queued_bytes > y->queued_bytes ? -1 : 1;
        return x->id < y->id ? -1 : x->id > y->id;
}

#define STATS_MAX_UIDS 256

static int by_uid(const void *a, const void *b)
{
        uid_t x = *(const uid_t *)a, y = *(const uid_t *)b;

        return x < y ? -1 : x > y;
}

/* The per-uid accounts a stats answer shows: those of the uids in `uids`
 * (sorted), the uids of the connections the asker may see. */
struct uid_view {
        struct json_object *arr;
        const uid_t *uids;
        size_t n;
};

static void add_uid(const struct uid_acct *a, void *ud)
{
        struct uid_view *u = ud;
        struct json_object *o;

        if (json_object_array_length(u->arr) >= STATS_MAX_UIDS ||
            !bsearch(&a->uid, u->uids, u->n, sizeof(*u->uids), by_uid))
                return;
        o = jsonnew_object();
        json_object_object_add(o, "uid", jsonnew_uint64(a->uid));
        for (int k = 0; k < QUOTA_KIND_COUNT; k++)
                json_object_object_add(o, quota_kind_name(k), jsonnew_uint64(a->used[k]));
        json_object_object_add(o, "refused", jsonnew_uint64(a->refused));
        struct json_object *q = jsonnew_object();
        for (int k = 0; k < QUOTA_KIND_COUNT; k++)
                json_object_object_add(q, quota_kind_name(k),
                                       a->limit[k] == UINT64_MAX ? NULL : jsonnew_uint64(a->limit[k]));
        json_object_object_add(o, "quota", q);
        json_object_array_add(u->arr, o);
}

/* Per-uid accounts (at most STATS_MAX_UIDS of them; the counters of
 * everything the uid's connections hold) of the n uids in `uids`. Sorts
 * `uids`. */
static struct json_object *uid_stats(struct router *r, uid_t *uids, size_t n)
{
        struct uid_view u = { jsonnew_array(), uids, n };

        qsort(uids, n, sizeof(*uids), by_uid);
        quota_foreach(r->quotas, add_uid, &u);
        return u.arr;
}

/* Counts the names a viewer may see. */
struct name_count {
        struct viewer *v;
        size_t n;
};

static int count_name(struct name *n, void *ud)
{
        struct name_count *c = ud;

        if (may_see_name(c->v, n->str))
                c->n++;
        return 0;
}

/* The daemon's counters for asker. What `see` hides from it is left out as
 * `list` leaves it out: connections, their uids and names it may not see are
 * neither listed nor counted (`connections`, `names`, `peers_total`); the
 * traffic counters are totals of the whole daemon and name nothing. A NULL
 * asker sees everything, and gets no per-connection list `peers` (the
 * metrics do not show it, and it costs a sort of every connection). */
struct json_object *busmethods_stats(struct router *r, struct peer *asker)
{
        const struct router_stats *s = &r->stats;
        struct json_object *o = jsonnew_object(), *peers = asker ? jsonnew_array() : NULL;
        struct viewer v = { r, asker, NULL };
        struct peer *each;

        /* the connections the asker may see, with the most queued first, at
         * most STATS_MAX_PEERS of them listed: the answer must fit a client's
         * max_recv however many are connected */
        size_t n = 0, total = peertab_count(&r->peers), slot = 0;
        struct peer **all = calloc(total ? total : 1, sizeof(*all));
        uid_t *uids = calloc(total ? total : 1, sizeof(*uids));
        if (all && uids) {
                while ((each = peertab_next(&r->peers, &slot)))
                        if (n < total && may_see_peer(&v, each)) {
                                uids[n] = each->uid;
                                all[n++] = each;
                        }
                if (peers)
                        qsort(all, n, sizeof(*all), by_queue);
        }

#define U64(k, v) json_object_object_add(o, k, jsonnew_uint64(v))
        U64("uptime_ms", r->now_ms - r->start_ms);
        U64("connections", n);
        U64("connections_total", s->connections_total);
        U64("messages_in", s->messages_in);
        U64("messages_out", s->messages_out);
        U64("bytes_in", s->bytes_in);
        U64("bytes_out", s->bytes_out);
        U64("calls", s->calls);
        U64("replies", s->replies);
        U64("events", s->events);
        U64("deliveries", s->deliveries);
        U64("drops", s->drops);
        U64("errors", s->errors);
        U64("pending_calls", calls_count(r->calls));
        U64("subscriptions", subs_count(r->subs));
        struct name_count nc = { &v, 0 };
        registry_foreach(r->registry, count_name, &nc);
        U64("names", nc.n);
        U64("held_calls", activate_held_count(r->acts));
        U64("denials", s->denials);
        U64("quota_refusals", s->quota_refusals);
        U64("queued_fds", r->queued_fds);
        U64("queued_fds_limit", r->cfg.max_queued_fds);
        U64("fds_refused", s->fds_refused);
#undef U64
        json_object_object_add(o, "uids", uid_stats(r, uids, uids ? n : 0));
        if (r->stats_fn)
                json_object_object_add(o, r->stats_key, r->stats_fn(r->stats_ud));
        for (size_t i = 0; peers && all && i < n && i < STATS_MAX_PEERS; i++) {
                struct peer *p = all[i];
                struct json_object *q = jsonnew_object();
                json_object_object_add(q, "unique", jsonnew_string(p->unique));
                json_object_object_add(q, "name", str_or_null(p->display));
                json_object_object_add(q, "transport", jsonnew_string(p->transport));
                json_object_object_add(q, "queue_bytes", jsonnew_uint64(p->queued_bytes));
                json_object_object_add(q, "queue_messages", jsonnew_uint64(p->queued_msgs));
                json_object_object_add(q, "queued_fds", jsonnew_uint64(p->queued_fds));
                json_object_object_add(q, "drops", jsonnew_uint64(p->drops_total));
                json_object_object_add(q, "messages_in", jsonnew_uint64(p->msgs_in));
                json_object_object_add(q, "messages_out", jsonnew_uint64(p->msgs_out));
                json_object_object_add(q, "pending_calls", jsonnew_uint64(p->n_calls_out));
                json_object_array_add(peers, q);
        }
        free(all);
        free(uids);
        json_object_object_add(o, "peers_total", jsonnew_uint64(n));
        json_object_object_add(o, "monitors", monitor_stats(r, asker));
        if (peers)
                json_object_object_add(o, "peers", peers);
        return o;
}

/* Reads the one string member `key` that owner/introspect ("name") and pidfd
 * ("peer") take: a well-known name or a unique id. Returns NULL after
 * answering invalid_params. */
static const char *param_name(struct router *r, struct peer *p, const struct msg *m, struct json_object *params,
                              const char *want)
{
        struct json_object *v = NULL;
        const char *s = NULL;
        size_t len = 0;
        uint64_t id;

        if (json_object_is_type(params, json_type_object)) {
                json_object_object_foreach(params, key, val)
                {
                        if (strcmp(key, want) != 0) {
                                send_error(r, p, m, ERRCODE_INVALID_PARAMS, "%s: unknown parameter '%.64s' (takes: %s)",
                                           m->method.s, key, want);
                                return NULL;
                        }
                        v = val;
                }
        }
        if (v && json_object_is_type(v, json_type_string)) {
                s = json_object_get_string(v);
                len = (size_t)json_object_get_string_len(v);
        }
        /* a malformed name is a wrong parameter, not a name nobody owns */
        if (!s || (!syntax_is_name(s, len) && !syntax_parse_unique(s, len, &id))) {
                send_error(r, p, m, ERRCODE_INVALID_PARAMS,
                           "%s takes {\"%s\": NAME} with a well-known name or unique id", m->method.s, want);
                return NULL;
        }
        return s;
}

/* Methods without parameters accept null, absent or {}. */
static bool no_params(struct router *r, struct peer *p, const struct msg *m, struct json_object *params)
{
        if (!params || (json_object_is_type(params, json_type_object) && json_object_object_length(params) == 0))
                return true;
        send_error(r, p, m, ERRCODE_INVALID_PARAMS, "%s takes no parameters", m->method.s);
        return false;
}

static struct peer *lookup(struct router *r, const char *name)
{
        struct peer *q = name[0] == ':' ? state_peer_by_unique(r, name, strlen(name))
                                        : registry_owner(r->registry, name);
        return q && q->hello_done ? q : NULL;
}

/* May p learn about q, asked for as `name` (the name; a unique id: the names
 * q owns)? A connection always sees itself. Not counted as a denial: the
 * count is in `stats` for anyone to read, and would tell that q exists. */
static bool seen(struct router *r, struct peer *p, struct peer *q, const char *name)
{
        struct policy_verdict v;

        return q == p || (name[0] == ':' ? access_check_peer(r, p, POLICY_SEE, q, NULL, true, &v)
                                         : access_check(r, p, POLICY_SEE, name, NULL, true, &v));
}

/* The connection behind name that p may learn about, or NULL after answering
 * no_owner. One p may not see is answered exactly as one that does not
 * exist (docs/policy.md, "What see hides"). */
static struct peer *named_peer(struct router *r, struct peer *p, const struct msg *m, const char *name)
{
        struct peer *q = lookup(r, name);

        if (!q || !seen(r, p, q, name)) {
                send_error(r, p, m, ERRCODE_NO_OWNER, "no connection owns '%s'", name);
                return NULL;
        }
        return q;
}

/* Answers m with res and drops the caller's reference to it. */
static void reply(struct router *r, struct peer *p, const struct msg *m, struct json_object *res)
{
        send_reply(r, p, m, res);
        json_object_put(res);
}

/* ---- the methods ----------------------------------------------------------------- */

/* Each answers p's call m; arg is the value of the one parameter the method
 * takes (its row in `methods` names it), NULL for those without. */

static void do_ping(struct router *r, struct peer *p, const struct msg *m, const char *arg)
{
        struct json_object *res = jsonnew_object();

        json_object_object_add(res, "server", jsonnew_string(BUS_SERVER_STRING));
        reply(r, p, m, res);
}

static void do_list(struct router *r, struct peer *p, const struct msg *m, const char *arg)
{
        reply(r, p, m, list_of(r, p));
}

static void do_stats(struct router *r, struct peer *p, const struct msg *m, const char *arg)
{
        reply(r, p, m, busmethods_stats(r, p));
}

/* owner {"name": NAME}: the connection that owns NAME and the queue behind it
 * (org.busd: the daemon itself, no queue). */
static void do_owner(struct router *r, struct peer *p, const struct msg *m, const char *name)
{
        struct peer *q = NULL;

        if (strcmp(name, BUS_DAEMON_NAME) != 0 && !(q = named_peer(r, p, m, name)))
                return;
        struct json_object *res = jsonnew_object();
        json_object_object_add(res, "name", jsonnew_string(name));
        json_object_object_add(res, "owner", jsonnew_string(q ? q->unique : BUS_DAEMON_NAME));
        struct name *n = !q || name[0] == ':' ? NULL : registry_lookup(r->registry, name);
        json_object_object_add(res, "queue", n ? queue_of(n) : jsonnew_array());
        reply(r, p, m, res);
}

static struct json_object *own_methods(void);

/* introspect {"name": NAME}: the methods NAME's owner declared (org.busd: its own). */
static void do_introspect(struct router *r, struct peer *p, const struct msg *m, const char *name)
{
        struct json_object *res;
        struct peer *q = NULL;

        if (strcmp(name, BUS_DAEMON_NAME) != 0 && !(q = named_peer(r, p, m, name)))
                return;
        res = jsonnew_object();
        json_object_object_add(res, "name", jsonnew_string(name));
        json_object_object_add(res, "owner", jsonnew_string(q ? q->unique : BUS_DAEMON_NAME));
        json_object_object_add(res, "methods", !q ? own_methods() : decl_methods(q->decl));
        reply(r, p, m, res);
}

/* pidfd {"peer": NAME}: answers {"peer", "pid", "fd": ORDINAL} with a pidfd
 * for the process behind NAME's connection passed along (SCM_RIGHTS); ORDINAL
 * counts the descriptors passed to the asker on this connection (1, 2, ...)
 * so that it can tell which one belongs to this answer. */
static void do_pidfd(struct router *r, struct peer *p, const struct msg *m, const char *name)
{
        struct peer *q;
        int fd;

        if (strcmp(name, BUS_DAEMON_NAME) == 0) {
                /* the daemon passes no descriptor of its own; its pid is in
                 * the creds of its events */
                send_error(r, p, m, ERRCODE_UNSUPPORTED, "%s passes no pidfd for itself", BUS_DAEMON_NAME);
                return;
        }
        if (!(q = named_peer(r, p, m, name)))
                return;
        if (!p->ops->send_fd) {
                send_error(r, p, m, ERRCODE_UNSUPPORTED, "your transport cannot receive descriptors");
                return;
        }
        char why[SEND_TEXT_MAX];
        if (!send_fd_room(r, p, why, sizeof(why))) {
                /* descriptors waiting in queues are bounded (send.h) */
                send_error(r, p, m, ERRCODE_LIMIT, "%s", why);
                return;
        }
        fd = q->ops->pidfd ? q->ops->pidfd(q) : -ENOPROTOOPT;
        if (fd < 0) {
                send_error(r, p, m, ERRCODE_UNSUPPORTED, "no pidfd for %s: %s", q->unique,
                           fd == -ENOPROTOOPT || fd == -EINVAL ? "the kernel has no SO_PEERPIDFD (Linux 6.5)"
                           : fd == -ESRCH                      ? "its process has exited"
                                                               : strerror(-fd));
                return;
        }
        struct json_object *res = jsonnew_object();
        json_object_object_add(res, "peer", jsonnew_string(q->unique));
        json_object_object_add(res, "pid", jsonnew_int64(q->pid));
        json_object_object_add(res, "fd", jsonnew_uint64(p->fds_sent + 1));
        int err = send_reply_fd(r, p, m, res, fd);
        json_object_put(res);
        if (err < 0)
                send_error(r, p, m, ERRCODE_INTERNAL, "the pidfd could not be queued: %s", strerror(-err));
}

/* ---- dispatch -------------------------------------------------------------------- */

/* The methods of org.busd, in the order introspect and errors list them. */
static const struct busmethod {
        const char *name;
        const char *description; /* for introspect */
        const char *param;       /* the one string parameter it takes; NULL: none (null, absent or {}) */
        void (*call)(struct router *r, struct peer *p, const struct msg *m, const char *arg);
} methods[] = {
        { "ping", "check the daemon answers", NULL, do_ping },
        { "list", "names and connections", NULL, do_list },
        { "owner", "who owns a name", "name", do_owner },
        { "introspect", "methods a name declared", "name", do_introspect },
        { "stats", "daemon counters and queues", NULL, do_stats },
        { "pidfd", "a pidfd for a connection's process, passed as a descriptor", "peer", do_pidfd },
};

#define N_METHODS (sizeof(methods) / sizeof(methods[0]))
/* Room for the names of all methods, comma-separated (the unknown_method error). */
#define METHOD_LIST_MAX 128

/* org.busd's own declaration, as a client's declare would give it. */
static struct json_object *own_methods(void)
{
        struct json_object *a = jsonnew_array();

        for (size_t i = 0; i < N_METHODS; i++) {
                struct json_object *o = jsonnew_object();
                json_object_object_add(o, "name", jsonnew_string(methods[i].name));
                json_object_object_add(o, "description", jsonnew_string(methods[i].description));
                if (methods[i].param) {
                        struct json_object *params = jsonnew_object();
                        json_object_object_add(params, methods[i].param, jsonnew_string("string"));
                        json_object_object_add(o, "params", params);
                }
                json_object_array_add(a, o);
        }
        return a;
}

void busmethods_call(struct router *r, struct peer *p, const struct msg *m)
{
        const struct busmethod *bm = NULL;
        const char *arg = NULL;

        if (m->oneway) {
                send_error(r, p, m, ERRCODE_INVALID_MESSAGE, "org.busd methods cannot be called one-way");
                return;
        }
        for (size_t i = 0; i < N_METHODS && !bm; i++)
                if (strcmp(m->method.s, methods[i].name) == 0)
                        bm = &methods[i];
        if (!bm) {
                char names[METHOD_LIST_MAX] = "";
                for (size_t i = 0, n = 0; i < N_METHODS && n < sizeof(names); i++)
                        n += (size_t)snprintf(names + n, sizeof(names) - n, "%s%s", i ? ", " : "", methods[i].name);
                send_error(r, p, m, ERRCODE_UNKNOWN_METHOD, "org.busd has no method '%s' (methods: %s)", m->method.s,
                           names);
                return;
        }
        /* the daemon reads these params itself: a tree, built here only */
        struct json_object *params = NULL;
        if (m->params.s && jsonparse_tree(m->params.s, m->params.len, &params) < 0) {
                send_error(r, p, m, ERRCODE_INTERNAL, "out of memory");
                return;
        }
        if (bm->param ? (arg = param_name(r, p, m, params, bm->param)) != NULL : no_params(r, p, m, params))
                bm->call(r, p, m, arg);
        json_object_put(params);
}
