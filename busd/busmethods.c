/* busmethods.c: the daemon as a destination: methods of org.busd
 * (docs/protocol.md §4.6). Builds JSON answers from the router's state; no
 * I/O. */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buslimits.h"
#include "msg.h"
#include "quota.h"
#include "peer.h"
#include "router-private.h"
#include "syntax.h"

static struct json_object *str_or_null(const char *s)
{
        return s ? json_object_new_string(s) : NULL;
}

static struct json_object *method_names(const struct peer *p)
{
        struct json_object *a = json_object_new_array();
        size_t n = p->methods ? json_object_array_length(p->methods) : 0;

        for (size_t i = 0; i < n; i++) {
                struct json_object *name;
                if (json_object_object_get_ex(json_object_array_get_idx(p->methods, i), "name", &name))
                        json_object_array_add(a, json_object_get(name));
        }
        return a;
}

static struct json_object *queue_of(struct name *n)
{
        struct json_object *a = json_object_new_array();
        bool first = true;

        list_for_each(l, &n->owners)
        {
                if (!first)
                        json_object_array_add(a, json_object_new_string(
                                                         list_entry(l, struct owner, name_link)->peer->unique));
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

        return access_check(v->r, v->asker, POLICY_SEE, name, NULL, true, &verdict);
}

static bool may_see_peer(struct viewer *v, const struct peer *q)
{
        struct policy_verdict verdict;

        return q == v->asker || access_check_peer(v->r, v->asker, POLICY_SEE, q, NULL, true, &verdict);
}

static int add_name(struct name *n, void *ud)
{
        struct viewer *v = ud;
        struct json_object *arr = v->arr, *o;
        struct peer *p = list_entry(list_first(&n->owners), struct owner, name_link)->peer;

        if (!may_see_name(v, n->str))
                return 0;
        o = json_object_new_object();

        json_object_object_add(o, "name", json_object_new_string(n->str));
        json_object_object_add(o, "owner", json_object_new_string(p->unique));
        json_object_object_add(o, "pid", json_object_new_int64(p->pid));
        json_object_object_add(o, "uid", json_object_new_uint64(p->uid));
        json_object_object_add(o, "gid", json_object_new_uint64(p->gid));
        json_object_object_add(o, "queue", queue_of(n));
        json_object_object_add(o, "methods", method_names(p));
        json_object_array_add(arr, o);
        return 0;
}

static struct json_object *peer_names(struct viewer *v, const struct peer *p)
{
        struct json_object *a = json_object_new_array();

        list_for_each(l, &p->owners)
        {
                struct owner *o = list_entry(l, struct owner, peer_link);
                if (list_first(&o->name->owners) == &o->name_link && may_see_name(v, o->name->str))
                        json_object_array_add(a, json_object_new_string(o->name->str));
        }
        return a;
}

static void add_activatable(const struct activatable *e, bool pending, void *ud)
{
        struct json_object *o = json_object_new_object();

        json_object_object_add(o, "name", json_object_new_string(e->name));
        json_object_object_add(o, "starting", json_object_new_boolean(pending));
        json_object_array_add(ud, o);
}

/* A name on another bus of the bridge (docs/bridge.md), if the asker may see it. */
static void add_remote(void *arg, const char *name, const char *bus, unsigned hops, const char *via)
{
        struct viewer *v = arg;

        if (!may_see_name(v, name))
                return;
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "name", json_object_new_string(name));
        json_object_object_add(o, "bus", json_object_new_string(bus));
        json_object_object_add(o, "hops", json_object_new_uint64(hops));
        json_object_object_add(o, "via", json_object_new_string(via));
        json_object_array_add(v->arr, o);
}

static struct json_object *do_list(struct router *r, struct peer *asker)
{
        struct json_object *res = json_object_new_object(), *names = json_object_new_array(),
                           *peers = json_object_new_array();
        struct viewer v = { r, asker, names };
        struct lh_entry *e;

        registry_foreach(r->registry, add_name, &v);
        lh_foreach(r->peers, e)
        {
                struct peer *p = lh_entry_v(e);
                if (!may_see_peer(&v, p))
                        continue;
                struct json_object *o = json_object_new_object();
                json_object_object_add(o, "unique", json_object_new_string(p->unique));
                json_object_object_add(o, "name", str_or_null(p->display));
                json_object_object_add(o, "pid", json_object_new_int64(p->pid));
                json_object_object_add(o, "uid", json_object_new_uint64(p->uid));
                json_object_object_add(o, "gid", json_object_new_uint64(p->gid));
                json_object_object_add(o, "transport", json_object_new_string(p->transport));
                json_object_object_add(o, "names", peer_names(&v, p));
                json_object_array_add(peers, o);
        }
        json_object_object_add(res, "names", names);
        json_object_object_add(res, "peers", peers);
        struct json_object *act = json_object_new_array();
        activate_foreach(r->acts, add_activatable, act);
        json_object_object_add(res, "activatable", act);
        if (r->bridge.foreach_remote) {
                struct viewer rv = { r, asker, json_object_new_array() };
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

static void add_uid(const struct uid_acct *a, void *ud)
{
        struct json_object *arr = ud, *o;

        if (json_object_array_length(arr) >= STATS_MAX_UIDS)
                return;
        o = json_object_new_object();
        json_object_object_add(o, "uid", json_object_new_uint64(a->uid));
        for (int k = 0; k < QUOTA_KIND_COUNT; k++)
                json_object_object_add(o, quota_kind_name(k), json_object_new_uint64(a->used[k]));
        json_object_object_add(o, "refused", json_object_new_uint64(a->refused));
        struct json_object *q = json_object_new_object();
        for (int k = 0; k < QUOTA_KIND_COUNT; k++)
                json_object_object_add(q, quota_kind_name(k),
                                       a->limit[k] == UINT64_MAX ? NULL : json_object_new_uint64(a->limit[k]));
        json_object_object_add(o, "quota", q);
        json_object_array_add(arr, o);
}

/* Per-uid accounts (at most STATS_MAX_UIDS of them; the counters of
 * everything the uid's connections hold). */
static struct json_object *uid_stats(struct router *r)
{
        struct json_object *a = json_object_new_array();

        quota_foreach(r->quotas, add_uid, a);
        return a;
}

static struct json_object *do_stats(struct router *r)
{
        const struct router_stats *s = &r->stats;
        struct json_object *o = json_object_new_object(), *peers = json_object_new_array();
        struct lh_entry *e;

#define U64(k, v) json_object_object_add(o, k, json_object_new_uint64(v))
        U64("uptime_ms", r->now_ms - r->start_ms);
        U64("connections", router_peer_count(r));
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
        U64("names", registry_count(r->registry));
        U64("held_calls", activate_held_count(r->acts));
        U64("denials", s->denials);
        U64("quota_refusals", s->quota_refusals);
#undef U64
        json_object_object_add(o, "uids", uid_stats(r));
        if (r->stats_fn)
                json_object_object_add(o, r->stats_key, r->stats_fn(r->stats_ud));
        /* the connections with the most queued first, at most STATS_MAX_PEERS:
         * the answer must fit a client's max_recv however many are connected */
        size_t n = 0, total = router_peer_count(r);
        struct peer **all = calloc(total ? total : 1, sizeof(*all));
        if (all) {
                lh_foreach(r->peers, e)
                {
                        if (n < total)
                                all[n++] = lh_entry_v(e);
                }
                qsort(all, n, sizeof(*all), by_queue);
        }
        for (size_t i = 0; all && i < n && i < STATS_MAX_PEERS; i++) {
                struct peer *p = all[i];
                struct json_object *q = json_object_new_object();
                json_object_object_add(q, "unique", json_object_new_string(p->unique));
                json_object_object_add(q, "name", str_or_null(p->display));
                json_object_object_add(q, "transport", json_object_new_string(p->transport));
                json_object_object_add(q, "queue_bytes", json_object_new_uint64(p->queued_bytes));
                json_object_object_add(q, "queue_messages", json_object_new_uint64(p->queued_msgs));
                json_object_object_add(q, "drops", json_object_new_uint64(p->drops_total));
                json_object_object_add(q, "messages_in", json_object_new_uint64(p->msgs_in));
                json_object_object_add(q, "messages_out", json_object_new_uint64(p->msgs_out));
                json_object_object_add(q, "pending_calls", json_object_new_uint64(p->n_calls_out));
                json_object_array_add(peers, q);
        }
        free(all);
        json_object_object_add(o, "peers_total", json_object_new_uint64(total));
        json_object_object_add(o, "peers", peers);
        return o;
}

/* Reads the one string member `key` that owner/introspect ("name") and pidfd
 * ("peer") take. Returns NULL after answering invalid_params. */
static const char *param_name(struct router *r, struct peer *p, const struct msg *m, const char *want)
{
        struct json_object *v = NULL;
        const char *s;

        if (json_object_is_type(m->params, json_type_object)) {
                json_object_object_foreach(m->params, key, val)
                {
                        if (strcmp(key, want) != 0) {
                                router_error_own(r, p, m, "invalid_params", "%s: unknown parameter '%.64s' (takes: %s)",
                                                 m->method.s, key, want);
                                return NULL;
                        }
                        v = val;
                }
        }
        if (!v || !json_object_is_type(v, json_type_string)) {
                router_error_own(r, p, m, "invalid_params",
                                 "%s takes {\"%s\": NAME} with a well-known name or unique id", m->method.s, want);
                return NULL;
        }
        s = json_object_get_string(v);
        return s;
}

/* Methods without parameters accept null, absent or {}. */
static bool no_params(struct router *r, struct peer *p, const struct msg *m)
{
        if (!m->params || (json_object_is_type(m->params, json_type_object) &&
                           json_object_object_length(m->params) == 0))
                return true;
        router_error_own(r, p, m, "invalid_params", "%s takes no parameters", m->method.s);
        return false;
}

static struct peer *lookup(struct router *r, const char *name)
{
        struct peer *q = name[0] == ':' ? router_peer_by_unique(r, name, strlen(name))
                                        : registry_owner(r->registry, name);
        return q && q->hello_done ? q : NULL;
}

/* May p learn about q, asked for as `name`? Answers `denied` if not. */
static bool seen(struct router *r, struct peer *p, const struct msg *m, struct peer *q, const char *name)
{
        struct policy_verdict v;
        bool ok = q == p || (name[0] == ':' ? access_check_peer(r, p, POLICY_SEE, q, NULL, false, &v)
                                            : access_check(r, p, POLICY_SEE, name, NULL, false, &v));
        char what[BUS_MAX_NAME + 64];

        if (!ok) {
                snprintf(what, sizeof(what), "%s of '%s'", m->method.s, name);
                access_denied(r, p, m, what, &v);
        }
        return ok;
}

/* pidfd {"peer": NAME}: answers {"peer", "pid", "fd": ORDINAL} with a pidfd
 * for the process behind NAME's connection passed along (SCM_RIGHTS); ORDINAL
 * counts the descriptors passed to the asker on this connection (1, 2, ...)
 * so that it can tell which one belongs to this answer. */
static void do_pidfd(struct router *r, struct peer *p, const struct msg *m)
{
        const char *name = param_name(r, p, m, "peer");
        struct peer *q;
        int fd;

        if (!name)
                return;
        if (!(q = lookup(r, name))) {
                router_error_own(r, p, m, "no_owner", "no connection owns '%s'", name);
                return;
        }
        if (!seen(r, p, m, q, name))
                return;
        if (!p->ops->send_fd) {
                router_error_own(r, p, m, "unsupported", "your transport cannot receive descriptors");
                return;
        }
        fd = q->ops->pidfd ? q->ops->pidfd(q) : -ENOPROTOOPT;
        if (fd < 0) {
                router_error_own(r, p, m, "unsupported", "no pidfd for %s: %s", q->unique,
                                 fd == -ENOPROTOOPT || fd == -EINVAL ? "the kernel has no SO_PEERPIDFD (Linux 6.5)"
                                 : fd == -ESRCH                       ? "its process has exited"
                                                                      : strerror(-fd));
                return;
        }
        struct json_object *res = json_object_new_object();
        json_object_object_add(res, "peer", json_object_new_string(q->unique));
        json_object_object_add(res, "pid", json_object_new_int64(q->pid));
        json_object_object_add(res, "fd", json_object_new_uint64(p->fds_sent + 1));
        int err = router_reply_own_fd(r, p, m, res, fd);
        json_object_put(res);
        if (err < 0)
                router_error_own(r, p, m, "internal", "the pidfd could not be queued: %s", strerror(-err));
}

void busmethods_call(struct router *r, struct peer *p, const struct msg *m)
{
        const char *method = m->method.s, *name;
        struct json_object *res = NULL;
        struct peer *q;

        if (m->oneway) {
                router_error_own(r, p, m, "invalid_message", "org.busd methods cannot be called one-way");
                return;
        }
        if (strcmp(method, "ping") == 0) {
                if (!no_params(r, p, m))
                        return;
                res = json_object_new_object();
                json_object_object_add(res, "server", json_object_new_string(BUS_SERVER_STRING));
        } else if (strcmp(method, "list") == 0) {
                if (!no_params(r, p, m))
                        return;
                res = do_list(r, p);
        } else if (strcmp(method, "stats") == 0) {
                if (!no_params(r, p, m))
                        return;
                res = do_stats(r);
        } else if (strcmp(method, "owner") == 0 || strcmp(method, "introspect") == 0) {
                if (!(name = param_name(r, p, m, "name")))
                        return;
                if (strcmp(name, BUS_DAEMON_NAME) == 0 && strcmp(method, "introspect") == 0) {
                        res = json_object_new_object();
                        json_object_object_add(res, "name", json_object_new_string(name));
                        json_object_object_add(res, "owner", json_object_new_string(BUS_DAEMON_NAME));
                        json_object_object_add(res, "methods",
                                               json_tokener_parse("[{\"name\":\"ping\",\"description\":\"check the daemon answers\"},"
                                                                  "{\"name\":\"list\",\"description\":\"names and connections\"},"
                                                                  "{\"name\":\"owner\",\"description\":\"who owns a name\",\"params\":{\"name\":\"string\"}},"
                                                                  "{\"name\":\"introspect\",\"description\":\"methods a name declared\",\"params\":{\"name\":\"string\"}},"
                                                                  "{\"name\":\"stats\",\"description\":\"daemon counters and queues\"},"
                                                                  "{\"name\":\"pidfd\",\"description\":\"a pidfd for a connection's process, passed as a descriptor\",\"params\":{\"peer\":\"string\"}}]"));
                } else if (!(q = lookup(r, name))) {
                        router_error_own(r, p, m, "no_owner", "no connection owns '%s'", name);
                        return;
                } else if (!seen(r, p, m, q, name)) {
                        return;
                } else {
                        res = json_object_new_object();
                        json_object_object_add(res, "name", json_object_new_string(name));
                        json_object_object_add(res, "owner", json_object_new_string(q->unique));
                        if (strcmp(method, "owner") == 0) {
                                struct name *n = name[0] == ':' ? NULL : registry_lookup(r->registry, name);
                                json_object_object_add(res, "queue", n ? queue_of(n) : json_object_new_array());
                        } else {
                                json_object_object_add(res, "methods", q->methods ? json_object_get(q->methods)
                                                                                  : json_object_new_array());
                        }
                }
        } else if (strcmp(method, "pidfd") == 0) {
                do_pidfd(r, p, m);
                return;
        } else {
                router_error_own(r, p, m, "unknown_method",
                                 "org.busd has no method '%s' (methods: ping, list, owner, introspect, stats, pidfd)",
                                 method);
                return;
        }
        router_reply_own(r, p, m, res);
        json_object_put(res);
}
