/* router.c: where every message goes.
 *
 * router_handle() takes one framed message from a peer, parses it (proto/
 * jsonparse.c), validates it (proto/msg.c) and dispatches by type through the
 * `handlers` table below. Every outgoing message passes through enqueue(), which
 * applies the receiver's transport size and queue limit:
 *   - relayed messages (calls, replies, events) to a full queue are refused:
 *     events are dropped and counted, calls and replies fail to their sender;
 *   - answers to a peer's own requests are always queued; a peer whose queue
 *     is over its limit is paused (ROUTER_PAUSE) until it drains.
 * Pure C: no I/O, no libuv.
 */
#include "router.h"

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
#include "msg.h"
#include "policy.h"
#include "quota.h"
#include "router-private.h"
#include "syntax.h"
#include "wire.h"

enum send_kind {
        SEND_RELAY, /* subject to the queue limit */
        SEND_OWN,   /* an answer to the receiver's own request: always queued */
};

void router_limits_default(struct router_limits *l)
{
        l->queue_bytes = BUS_DEFAULT_QUEUE_BYTES;
        l->max_pending_calls = BUS_DEFAULT_MAX_PENDING_CALLS;
        l->max_names = BUS_DEFAULT_MAX_NAMES;
        l->max_subscriptions = BUS_DEFAULT_MAX_SUBSCRIPTIONS;
        l->stall_timeout_ms = BUS_DEFAULT_STALL_TIMEOUT_MS;
}

static void *id_key(uint64_t id)
{
        return (void *)(uintptr_t)id;
}

static void on_name_change(void *userdata, const char *name, struct peer *old_owner, struct peer *new_owner);

struct router *router_new(const struct router_config *cfg)
{
        struct router *r = calloc(1, sizeof(*r));

        if (!r)
                return NULL;
        r->cfg = *cfg;
        r->next_id = 1;
        list_init(&r->stalled);
        r->parser = jsonparse_new(BUS_MAX_DEPTH);
        r->registry = registry_new(on_name_change, r);
        r->subs = subs_new();
        r->calls = calls_new();
        r->peers = lh_kptr_table_new(256, NULL);
        r->acts = activate_new();
        r->quotas = quota_table_new();
        r->ident = wire_ident(BUS_DAEMON_NAME, (unsigned)cfg->uid, (unsigned)cfg->gid, (int)cfg->pid, &r->ident_len);
        if (!r->parser || !r->registry || !r->subs || !r->calls || !r->peers || !r->acts || !r->quotas || !r->ident) {
                router_free(r);
                return NULL;
        }
        return r;
}

void router_free(struct router *r)
{
        if (!r)
                return;
        jsonparse_free(r->parser);
        registry_free(r->registry);
        subs_free(r->subs);
        calls_free(r->calls);
        activate_free(r->acts);
        quota_table_free(r->quotas);
        if (r->peers)
                lh_table_free(r->peers);
        free(r->ident);
        free(r);
}

void router_set_time(struct router *r, uint64_t now_ms)
{
        if (!r->time_set) {
                r->start_ms = now_ms;
                r->time_set = true;
        }
        r->now_ms = now_ms;
}

size_t router_peer_count(const struct router *r)
{
        return (size_t)lh_table_length(r->peers);
}

size_t router_pending_calls(const struct router *r)
{
        return calls_count(r->calls);
}

void router_set_limits(struct router *r, const struct router_limits *l)
{
        r->cfg.limits = *l;
}

void router_counters(const struct router *r, uint64_t *ret_messages_in, uint64_t *ret_drops)
{
        *ret_messages_in = r->stats.messages_in;
        *ret_drops = r->stats.drops;
}

int router_set_activatable(struct router *r, const struct activatable *entries, size_t n)
{
        return activate_set_table(r->acts, entries, n);
}

struct peer *router_peer_by_unique(struct router *r, const char *unique, size_t len)
{
        uint64_t id;
        void *v;

        if (!syntax_parse_unique(unique, len, &id) || !lh_table_lookup_ex(r->peers, id_key(id), &v))
                return NULL;
        return v;
}

/* ---- output -------------------------------------------------------------- */

static void log_msg(struct router *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void log_msg(struct router *r, const char *fmt, ...)
{
        char line[512];
        va_list ap;

        if (!r->cfg.log)
                return;
        va_start(ap, fmt);
        vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
        r->cfg.log(r->cfg.log_userdata, "%s", line);
}

static void mark_full(struct router *r, struct peer *p)
{
        /* a peer being removed is never stalled: it would stay linked in
         * r->stalled after its memory is reused (router_peer_remove unlinks
         * it before its names go, which may still publish to it) */
        if (p->full_since_ms || p->removed)
                return;
        p->full_since_ms = r->now_ms ? r->now_ms : 1;
        list_append(&r->stalled, &p->stalled_link);
}

/* Queues b for p, with descriptor fd to pass along unless it is -1 (the
 * queue owns fd from the call on: closed on any failure). Returns 0, -ENOBUFS
 * (relay to a full queue), -EMSGSIZE (too large for p's transport), -ENOTCONN
 * (p is gone), -EOPNOTSUPP (p's carrier cannot pass descriptors) or -ENOMEM.
 * The caller keeps its reference to b either way. */
static int enqueue_fd(struct router *r, struct peer *p, struct buf *b, enum send_kind kind, int fd)
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

static int enqueue(struct router *r, struct peer *p, struct buf *b, enum send_kind kind)
{
        return enqueue_fd(r, p, b, kind, -1);
}

/* Sends a daemon-made message that answers p's own request m (NULL for
 * notices and errors): always queued. If it is too large for p's transport, p
 * gets a too_large error instead, carrying m's id so that m is still answered. */
static void send_own(struct router *r, struct peer *p, const struct msg *m, struct buf *b)
{
        if (!b)
                return;
        int err = enqueue(r, p, b, SEND_OWN);
        if (err == -EMSGSIZE) {
                /* e.g. a `list` result larger than a seqpacket peer may receive */
                struct buf *e = wire_error(m && m->has_id, m ? m->id : 0, -1, "too_large",
                                           "the answer is larger than your transport accepts (max_recv)",
                                           BUS_DAEMON_NAME, NULL);
                if (e)
                        enqueue(r, p, e, SEND_OWN);
                buf_unref(e);
        }
        buf_unref(b);
}

void router_send_own(struct router *r, struct peer *p, struct buf *b)
{
        send_own(r, p, NULL, b);
}

static void send_error(struct router *r, struct peer *p, bool has_id, uint64_t id, const char *code,
                       const char *message)
{
        r->stats.errors++;
        send_own(r, p, NULL, wire_error(has_id, id, -1, code, message, BUS_DAEMON_NAME, NULL));
}

void router_error_own(struct router *r, struct peer *p, const struct msg *m, const char *code, const char *fmt, ...)
{
        char text[768];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(text, sizeof(text), fmt, ap);
        va_end(ap);
        send_error(r, p, m && m->has_id, m ? m->id : 0, code, text);
}

void router_reply_own(struct router *r, struct peer *p, const struct msg *m, struct json_object *result)
{
        if (!m->has_id)
                return;
        send_own(r, p, m, wire_reply(m->id, result, BUS_DAEMON_NAME));
}

int router_reply_own_fd(struct router *r, struct peer *p, const struct msg *m, struct json_object *result, int fd)
{
        struct buf *b = wire_reply(m->id, result, BUS_DAEMON_NAME);
        int err;

        if (!b) {
                close(fd);
                return -ENOMEM;
        }
        err = enqueue_fd(r, p, b, SEND_OWN, fd);
        buf_unref(b);
        return err;
}

struct buf *router_error_buf(struct router *r, const char *code, const char *message)
{
        r->stats.errors++;
        return wire_error(false, 0, -1, code, message, BUS_DAEMON_NAME, NULL);
}

/* Tells p how many events it missed, if it has room again. */
static void notify_drops(struct router *r, struct peer *p)
{
        if (!p->drops_pending || p->queued_bytes > r->cfg.limits.queue_bytes / 2)
                return;
        /* nor while its uid's queues are still over half their quota: the
         * notice would be followed by another drop at once */
        if (p->acct && p->acct->used[QUOTA_QUEUE_BYTES] > p->acct->limit[QUOTA_QUEUE_BYTES] / 2)
                return;
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "type", json_object_new_string("dropped"));
        json_object_object_add(o, "count", json_object_new_uint64(p->drops_pending));
        json_object_object_add(o, "total", json_object_new_uint64(p->drops_total));
        struct buf *b = wire_object(o);
        json_object_put(o);
        if (b && enqueue(r, p, b, SEND_OWN) == 0)
                p->drops_pending = 0;
        buf_unref(b);
}

static void send_notice(struct router *r, struct peer *p, const char *type, const char *name)
{
        struct json_object *o = json_object_new_object();

        json_object_object_add(o, "type", json_object_new_string(type));
        json_object_object_add(o, "name", json_object_new_string(name));
        send_own(r, p, NULL, wire_object(o));
        json_object_put(o);
}

bool router_peer_wrote(struct router *r, struct peer *p, size_t bytes, size_t msgs)
{
        quota_sub(p->acct, QUOTA_QUEUE_BYTES, bytes < p->queued_bytes ? bytes : p->queued_bytes);
        p->queued_bytes -= bytes < p->queued_bytes ? bytes : p->queued_bytes;
        p->queued_msgs -= msgs < p->queued_msgs ? msgs : p->queued_msgs;
        if (p->full_since_ms) {
                /* progress: it is reading, so it is not stuck */
                p->full_since_ms = 0;
                list_unlink(&p->stalled_link);
        }
        if (p->removed)
                return false;
        notify_drops(r, p);
        return p->queued_bytes <= r->cfg.limits.queue_bytes / 2;
}

void router_peer_discard_queue(struct router *r, struct peer *p)
{
        quota_sub(p->acct, QUOTA_QUEUE_BYTES, p->queued_bytes);
        p->queued_bytes = 0;
        p->queued_msgs = 0;
}

void router_tick(struct router *r)
{
        const char *name;

        while ((name = activate_expired(r->acts, r->now_ms))) {
                char why[120], copy[BUS_MAX_NAME + 1];
                const struct activatable *e = activate_lookup(r->acts, name);
                snprintf(copy, sizeof(copy), "%s", name);
                snprintf(why, sizeof(why), "did not take the name within %u ms", e ? e->timeout_ms : 0);
                router_activation_failed(r, copy, why);
        }
        list_for_each_safe(l, tmp, &r->stalled)
        {
                struct peer *p = list_entry(l, struct peer, stalled_link);
                if (r->now_ms < p->full_since_ms || r->now_ms - p->full_since_ms < r->cfg.limits.stall_timeout_ms)
                        continue;
                list_unlink(&p->stalled_link);
                char why[160];
                snprintf(why, sizeof(why), "its queue stayed full (%zu bytes) for %u ms without it reading",
                         p->queued_bytes, r->cfg.limits.stall_timeout_ms);
                log_msg(r, "disconnecting %s (pid %d): %s", p->unique, (int)p->pid, why);
                p->ops->kill(p, why);
        }
}

/* ---- names ----------------------------------------------------------------- */

/* Fails the calls pending at `callee` that were addressed to `name`. */
static void fail_calls_to_name(struct router *r, struct peer *callee, const char *name)
{
        list_for_each_safe(l, tmp, &callee->calls_in)
        {
                struct pcall *pc = list_entry(l, struct pcall, callee_link);
                if (!pc->name || strcmp(pc->name, name) != 0)
                        continue;
                struct peer *caller = pc->caller;
                uint64_t id = pc->caller_id;
                calls_remove(r->calls, pc);
                char text[400];
                snprintf(text, sizeof(text), "%s lost the name '%s' before answering", callee->unique, name);
                send_error(r, caller, true, id, "name_lost", text);
        }
}

static void publish_internal(struct router *r, const char *topic, struct json_object *data);
static void release_held(struct router *r, const char *name, struct peer *owner);

static void on_name_change(void *userdata, const char *name, struct peer *old_owner, struct peer *new_owner)
{
        struct router *r = userdata;

        if (old_owner) {
                fail_calls_to_name(r, old_owner, name);
                if (old_owner != r->actor && !old_owner->removed)
                        send_notice(r, old_owner, "name_lost", name);
        }
        if (new_owner && new_owner != r->actor)
                send_notice(r, new_owner, "name_acquired", name);
        if (new_owner && activate_pending(r->acts, name))
                release_held(r, name, new_owner);
        if (r->bridge.name_changed && (!old_owner) != (!new_owner))
                r->bridge.name_changed(r->bridge.userdata, name, new_owner != NULL);

        char topic[BUS_MAX_TOPIC + 16];
        snprintf(topic, sizeof(topic), "$bus.name.%s", name);
        struct json_object *d = json_object_new_object();
        json_object_object_add(d, "name", json_object_new_string(name));
        json_object_object_add(d, "old_owner", old_owner ? json_object_new_string(old_owner->unique) : NULL);
        json_object_object_add(d, "new_owner", new_owner ? json_object_new_string(new_owner->unique) : NULL);
        publish_internal(r, topic, d);
        json_object_put(d);
}

static const char *status_name(int status)
{
        switch (status) {
        case REGISTRY_PRIMARY_OWNER:
                return "primary_owner";
        case REGISTRY_IN_QUEUE:
                return "in_queue";
        case REGISTRY_EXISTS:
                return "exists";
        default:
                return "already_owner";
        }
}

/* Requests a name for p, checking reservation and limits. Returns the status
 * string, or NULL with *ret_code/ret_text set. */
static const char *request_name(struct router *r, struct peer *p, const char *name, bool allow_replacement,
                                bool replace, bool queue, const char **ret_code, char *text, size_t textlen)
{
        if (syntax_name_is_reserved(name, strlen(name))) {
                *ret_code = "reserved";
                snprintf(text, textlen, "the name '%s' is reserved to the daemon", name);
                return NULL;
        }
        struct name *n = registry_lookup(r->registry, name);
        bool listed = false;
        if (n)
                list_for_each(l, &n->owners) listed |= list_entry(l, struct owner, name_link)->peer == p;
        struct policy_verdict v;
        if (!access_check(r, p, POLICY_OWN, name, NULL, false, &v)) {
                *ret_code = "denied";
                snprintf(text, textlen, "owning '%s' is not allowed for uid %u: %s", name, (unsigned)p->uid, v.rule);
                return NULL;
        }
        if (!listed && p->n_owners >= r->cfg.limits.max_names) {
                *ret_code = "limit";
                snprintf(text, textlen, "you already own or wait for %u names (max_names)", p->n_owners);
                return NULL;
        }
        if (!listed && quota_over(p->acct, QUOTA_NAMES, 1)) {
                r->stats.quota_refusals++;
                *ret_code = "limit";
                snprintf(text, textlen, "the connections of uid %u already own or wait for %" PRIu64
                         " names (quota names)", (unsigned)p->uid, p->acct->used[QUOTA_NAMES]);
                return NULL;
        }
        int st = registry_request(r->registry, p, name, allow_replacement, replace, queue);
        if (st < 0) {
                *ret_code = "internal";
                snprintf(text, textlen, "out of memory");
                return NULL;
        }
        return status_name(st);
}

static struct json_object *name_result(const char *name, const char *status)
{
        struct json_object *o = json_object_new_object();

        json_object_object_add(o, "name", json_object_new_string(name));
        json_object_object_add(o, "status", json_object_new_string(status));
        return o;
}

static void on_request_name(struct router *r, struct peer *p, const struct msg *m)
{
        const char *code = NULL;
        char text[400];
        const char *st =
                request_name(r, p, m->name.s, m->allow_replacement, m->replace, m->queue, &code, text, sizeof(text));

        if (!st) {
                router_error_own(r, p, m, code, "%s", text);
                return;
        }
        struct json_object *o = name_result(m->name.s, st);
        router_reply_own(r, p, m, o);
        json_object_put(o);
}

static void on_release_name(struct router *r, struct peer *p, const struct msg *m)
{
        int err = registry_release(r->registry, p, m->name.s);
        struct json_object *o = name_result(m->name.s, err < 0 ? "not_owner" : "released");

        router_reply_own(r, p, m, o);
        json_object_put(o);
}

/* ---- hello ------------------------------------------------------------------ */

static struct json_object *limits_object(struct router *r, struct peer *p)
{
        const struct router_limits *l = &r->cfg.limits;
        struct json_object *o = json_object_new_object();

        json_object_object_add(o, "max_message", json_object_new_uint64(p->max_message));
        json_object_object_add(o, "max_recv", json_object_new_uint64(p->max_recv));
        json_object_object_add(o, "max_depth", json_object_new_int(BUS_MAX_DEPTH));
        json_object_object_add(o, "max_pending_calls", json_object_new_uint64(l->max_pending_calls));
        json_object_object_add(o, "queue_bytes", json_object_new_uint64(l->queue_bytes));
        json_object_object_add(o, "max_names", json_object_new_uint64(l->max_names));
        json_object_object_add(o, "max_subscriptions", json_object_new_uint64(l->max_subscriptions));
        json_object_object_add(o, "max_methods", json_object_new_uint64(BUS_MAX_METHODS));
        json_object_object_add(o, "stall_timeout_ms", json_object_new_uint64(l->stall_timeout_ms));
        return o;
}

static void on_hello(struct router *r, struct peer *p, const struct msg *m)
{
        size_t nnames = m->names ? json_object_array_length(m->names) : 0;

        if (p->hello_done) {
                router_error_own(r, p, m, "invalid_message", "hello was already done on this connection");
                return;
        }
        if (nnames > r->cfg.limits.max_names) {
                router_error_own(r, p, m, "limit", "hello asks for %zu names, at most %u allowed (max_names)", nnames,
                                 r->cfg.limits.max_names);
                return;
        }
        /* the welcome lists every requested name with its status: it must fit
         * what this transport may receive, or the hello would take effect
         * without the client learning it did */
        size_t welcome = 1024;
        for (size_t i = 0; i < nnames; i++)
                welcome += (size_t)json_object_get_string_len(json_object_array_get_idx(m->names, i)) + 24;
        if (welcome > p->max_recv) {
                router_error_own(r, p, m, "limit",
                                 "hello asks for names whose welcome would exceed your transport's max_recv (%zu "
                                 "bytes); request some of them with request_name",
                                 p->max_recv);
                return;
        }
        for (size_t i = 0; i < nnames; i++) {
                struct json_object *e = json_object_array_get_idx(m->names, i);
                if (syntax_name_is_reserved(json_object_get_string(e), (size_t)json_object_get_string_len(e))) {
                        router_error_own(r, p, m, "reserved", "hello: the name '%s' is reserved to the daemon",
                                         json_object_get_string(e));
                        return;
                }
        }
        if (m->display.s && !(p->display = strdup(m->display.s))) {
                router_error_own(r, p, m, "internal", "out of memory");
                return;
        }
        p->hello_done = true;
        quota_sub(p->acct, QUOTA_HANDSHAKES, 1);
        if (m->methods)
                p->methods = json_object_get(m->methods);

        struct json_object *w = json_object_new_object(), *names = json_object_new_object();
        for (size_t i = 0; i < nnames; i++) {
                const char *name = json_object_get_string(json_object_array_get_idx(m->names, i));
                const char *code = NULL;
                char text[400];
                const char *st = request_name(r, p, name, false, false, true, &code, text, sizeof(text));
                json_object_object_add(names, name, json_object_new_string(st ? st : code));
        }
        json_object_object_add(w, "type", json_object_new_string("welcome"));
        if (m->has_id)
                json_object_object_add(w, "id", json_object_new_uint64(m->id));
        json_object_object_add(w, "unique", json_object_new_string(p->unique));
        json_object_object_add(w, "protocol", json_object_new_int(BUS_PROTOCOL_VERSION));
        json_object_object_add(w, "server", json_object_new_string(BUS_SERVER_STRING));
        json_object_object_add(w, "limits", limits_object(r, p));
        json_object_object_add(w, "names", names);
        send_own(r, p, m, wire_object(w));
        json_object_put(w);
}

static void on_declare(struct router *r, struct peer *p, const struct msg *m)
{
        json_object_put(p->methods);
        p->methods = json_object_get(m->methods);
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "methods", json_object_new_uint64(json_object_array_length(m->methods)));
        router_reply_own(r, p, m, o);
        json_object_put(o);
}

/* ---- calls ------------------------------------------------------------------ */

/* Resolves a call's destination to a peer that said hello, or NULL. */
static struct peer *resolve_dest(struct router *r, const char *dest, size_t len)
{
        struct peer *p;

        if (dest[0] == ':')
                p = router_peer_by_unique(r, dest, len);
        else if (!strchr(dest, '/'))
                p = registry_owner(r->registry, dest);
        else
                p = NULL; /* BUS/NAME: the bridge decides, also for our own bus name */
        if (p && p->hello_done)
                return p;
        /* a name nobody here owns: a link that leads to it, local owners first */
        return dest[0] != ':' && r->bridge.route ? r->bridge.route(r->bridge.userdata, dest) : NULL;
}

static struct peer *resolve(struct router *r, const struct msg *m)
{
        return resolve_dest(r, m->dest.s, m->dest.len);
}

/* One call on its way to a callee: from a message, or held while the callee's
 * service started. */
struct call_route {
        struct peer *caller;
        uint64_t caller_id;
        bool oneway;
        const char *dest;
        const char *method;
        struct json_object *params;
        const struct remote_ident *rid; /* the caller came over a link: its identity */
};

__attribute__((format(printf, 4, 5))) static void call_error(struct router *r, const struct call_route *c,
                                                             const char *code, const char *fmt, ...)
{
        char text[768];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(text, sizeof(text), fmt, ap);
        va_end(ap);
        send_error(r, c->caller, true, c->caller_id, code, text);
}

/* Delivers a call to its callee, recording it as pending unless one-way. */
static void deliver_call(struct router *r, const struct call_route *c, struct peer *callee)
{
        struct pcall *pc = NULL;
        struct policy_verdict v;

        /* a remote callee is checked by the name called (BUS/NAME: the name) */
        const char *slash = strchr(c->dest, '/');
        if (callee->link ? !access_check(r, c->caller, POLICY_CALL, slash ? slash + 1 : c->dest, c->method, false, &v)
                         : !access_check_peer(r, c->caller, POLICY_CALL, callee, c->method, false, &v)) {
                call_error(r, c, "denied", "calling %s (%s) method %s is not allowed for uid %u: %s", c->dest,
                           callee->unique, c->method, (unsigned)c->caller->uid, v.rule);
                return;
        }
        if (!c->oneway) {
                pc = calls_add(r->calls, c->caller, c->caller_id, callee, c->dest[0] == ':' ? NULL : c->dest,
                               c->method);
                if (!pc) {
                        call_error(r, c, "internal", "out of memory");
                        return;
                }
                pc->policy_gen = r->policy_gen;
        }
        int err;
        if (callee->link) {
                /* over the bridge: the link carries the caller's identity itself */
                err = r->bridge.call(r->bridge.userdata, callee, pc ? pc->serial : 0, c->oneway, c->dest, c->method,
                                     c->params, c->rid ? NULL : c->caller, c->rid);
        } else {
                const char *ident = c->rid ? c->rid->splice : c->caller->ident;
                size_t ident_len = c->rid ? c->rid->splice_len : c->caller->ident_len;
                struct buf *b = wire_call(c->oneway, pc ? pc->serial : 0, c->dest, c->method, c->params, ident,
                                          ident_len);
                err = b ? enqueue(r, callee, b, SEND_RELAY) : -ENOMEM;
                buf_unref(b);
        }
        if (err == 0) {
                r->stats.calls++;
                return;
        }
        if (pc)
                calls_remove(r->calls, pc);
        if (err == -ENOBUFS && callee->link)
                call_error(r, c, "queue_full", "the link to %s is full: call to %s not sent", callee->display,
                           c->dest);
        else if (err == -ENOTCONN && callee->link)
                call_error(r, c, "link_down", "the link to %s is down: call to %s not sent", callee->display, c->dest);
        else if (err == -ENOBUFS)
                call_error(r, c, "queue_full", "the queue of %s (%s) is full (%zu bytes): call not delivered",
                           callee->unique, c->dest, callee->queued_bytes);
        else if (err == -EMSGSIZE)
                call_error(r, c, "too_large", "the call is larger than %s accepts (%zu bytes)", callee->unique,
                           callee->max_recv);
        else
                call_error(r, c, "internal", "could not deliver the call: %s", strerror(-err));
}

/* Holds a call to an activatable name nobody owns; starts the service for the
 * first one. Returns false if the name is not activatable. */
static bool hold_call(struct router *r, const struct call_route *c)
{
        struct policy_verdict v;

        if (!activate_lookup(r->acts, c->dest))
                return false;
        if (!access_check(r, c->caller, POLICY_CALL, c->dest, c->method, false, &v)) {
                call_error(r, c, "denied", "calling %s method %s is not allowed for uid %u: %s", c->dest, c->method,
                           (unsigned)c->caller->uid, v.rule);
                return true;
        }
        int h = activate_hold(r->acts, c->dest, c->caller, c->caller_id, c->oneway, c->method, c->params, r->now_ms);

        if (h == -ENOENT)
                return false;
        if (h == -ENOBUFS) {
                call_error(r, c, "limit", "%u calls are already waiting for '%s' to start", ACTIVATE_MAX_HELD,
                           c->dest);
        } else if (h < 0) {
                call_error(r, c, "internal", "out of memory");
        } else if (h == 1) {
                const struct activatable *e = activate_lookup(r->acts, c->dest);
                int err = r->cfg.activate ? r->cfg.activate(r->cfg.activate_userdata, e) : -ENOTSUP;
                if (err < 0) {
                        char why[160];
                        snprintf(why, sizeof(why), "could not be started: %s", strerror(-err));
                        router_activation_failed(r, c->dest, why);
                }
        }
        return true;
}

static void on_call(struct router *r, struct peer *p, const struct msg *m)
{
        const struct call_route c = { p, m->id, m->oneway, m->dest.s, m->method.s, m->params, NULL };

        if (calls_find_by_caller(p, m->id) || activate_find_held(p, m->id)) {
                router_error_own(r, p, m, "invalid_message", "id %" PRIu64 " is already used by one of your pending calls",
                                 m->id);
                return;
        }
        if (strcmp(m->dest.s, BUS_DAEMON_NAME) == 0) {
                busmethods_call(r, p, m);
                return;
        }
        if (!m->oneway && p->n_calls_out + p->n_held >= r->cfg.limits.max_pending_calls) {
                router_error_own(r, p, m, "limit",
                                 "you already have %u calls waiting for an answer (max_pending_calls)",
                                 p->n_calls_out + p->n_held);
                return;
        }
        if (!m->oneway && quota_over(p->acct, QUOTA_PENDING_CALLS, 1)) {
                r->stats.quota_refusals++;
                router_error_own(r, p, m, "limit",
                                 "the connections of uid %u already have %" PRIu64
                                 " calls waiting for an answer (quota pending_calls)",
                                 (unsigned)p->uid, p->acct->used[QUOTA_PENDING_CALLS]);
                return;
        }
        struct peer *callee = resolve(r, m);
        if (callee) {
                deliver_call(r, &c, callee);
                return;
        }
        if (m->dest.s[0] == ':')
                router_error_own(r, p, m, "no_owner", "no connection '%s' (it disconnected or never existed)",
                                 m->dest.s);
        else if (!hold_call(r, &c))
                router_error_own(r, p, m, "no_owner", "no connection owns the name '%s'", m->dest.s);
}

/* Hands the calls held for name to its new owner, in the order they came. */
static void release_held(struct router *r, const char *name, struct peer *owner)
{
        struct list taken;

        list_init(&taken);
        activate_take(r->acts, name, &taken);
        list_for_each_safe(l, tmp, &taken)
        {
                struct held_call *h = list_entry(l, struct held_call, link);
                const struct call_route c = { h->caller, h->caller_id, h->oneway, h->name, h->method, h->params, NULL };
                deliver_call(r, &c, owner);
                held_call_free(h);
        }
}

void router_activation_failed(struct router *r, const char *name, const char *reason)
{
        struct list taken;
        size_t n;

        list_init(&taken);
        n = activate_take(r->acts, name, &taken);
        if (n)
                log_msg(r, "activating %s failed: %s (%zu calls answered with an error)", name, reason, n);
        list_for_each_safe(l, tmp, &taken)
        {
                struct held_call *h = list_entry(l, struct held_call, link);
                char text[600];
                snprintf(text, sizeof(text), "the service for '%s' %s", name, reason);
                send_error(r, h->caller, true, h->caller_id, "activation_failed", text);
                held_call_free(h);
        }
}

/* Tells a callee that its answer to delivered call m->id went wrong. Such
 * errors carry "id": null and "call": N, since N is an id the daemon chose and
 * could collide with the callee's own request ids. */
__attribute__((format(printf, 5, 6))) static void answer_error(struct router *r, struct peer *p, const struct msg *m,
                                                               const char *code, const char *fmt, ...)
{
        char text[512];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(text, sizeof(text), fmt, ap);
        va_end(ap);
        r->stats.errors++;
        send_own(r, p, NULL,
                 wire_error(false, 0, m->id <= INT64_MAX ? (int64_t)m->id : -1, code, text, BUS_DAEMON_NAME, NULL));
}

/* Relays an answer (from `sender`) to the caller of a call that has just been
 * removed from the pending table. The caller gets exactly one answer: when it
 * cannot have this one, an error in its place. Returns 0 or why not (-ENOBUFS,
 * -EMSGSIZE, -ENOMEM). */
static int relay_answer(struct router *r, struct peer *caller, uint64_t caller_id, bool error,
                        struct json_object *result, const char *code, const char *message, struct json_object *data,
                        const char *sender)
{
        struct buf *b = error ? wire_error(true, caller_id, -1, code, message, sender, data)
                              : wire_reply(caller_id, result, sender);
        int err = b ? enqueue(r, caller, b, SEND_RELAY) : -ENOMEM;
        char text[300];

        buf_unref(b);
        if (err == 0) {
                r->stats.replies++;
                return 0;
        }
        snprintf(text, sizeof(text), "the answer from %s %s", sender,
                 err == -ENOBUFS    ? "was dropped: your queue was full"
                 : err == -EMSGSIZE ? "is larger than your transport accepts"
                                    : "could not be relayed");
        send_error(r, caller, true, caller_id,
                   err == -ENOBUFS ? "queue_full" : err == -EMSGSIZE ? "too_large" : "internal", text);
        return err;
}

/* A reply or error from a callee. */
static void on_answer(struct router *r, struct peer *p, const struct msg *m)
{
        struct pcall *pc = calls_lookup(r->calls, m->id);

        if (!pc || pc->callee != p) {
                answer_error(r, p, m, "no_such_call",
                                 "no call with id %" PRIu64
                                 " is waiting for your answer (the caller left or cancelled, or the id is wrong)",
                                 m->id);
                return;
        }
        struct peer *caller = pc->caller;
        uint64_t caller_id = pc->caller_id;
        struct policy_verdict v;
        if (pc->policy_gen != r->policy_gen &&
            !access_check_peer(r, caller, POLICY_CALL, p, pc->method, false, &v)) {
                /* the policy changed while the call was pending: the answer is
                 * held to the same rule as the call */
                char text[600];
                snprintf(text, sizeof(text), "the answer of %s to your call of %s was withheld: the policy no longer allows uid %u that call: %s",
                         p->unique, pc->method, (unsigned)caller->uid, v.rule);
                calls_remove(r->calls, pc);
                send_error(r, caller, true, caller_id, "denied", text);
                answer_error(r, p, m, "denied", "your answer was not delivered: the policy no longer allows the call (%s)",
                             v.rule);
                return;
        }
        calls_remove(r->calls, pc);
        int err = relay_answer(r, caller, caller_id, m->type == MSG_ERROR, m->result, m->code.s, m->message.s,
                               m->err_data, p->unique);
        if (err == -ENOBUFS)
                answer_error(r, p, m, "queue_full", "your answer was not delivered: the queue of %s is full",
                             caller->unique);
        else if (err == -EMSGSIZE)
                answer_error(r, p, m, "too_large", "your answer is larger than %s accepts (%zu bytes)", caller->unique,
                             caller->max_recv);
}

static void on_cancel(struct router *r, struct peer *p, const struct msg *m)
{
        struct pcall *pc = calls_find_by_caller(p, m->id);

        /* not pending any more: the answer is already on its way; nothing to do */
        if (pc)
                calls_remove(r->calls, pc);
        else
                held_call_free(activate_find_held(p, m->id));
}

/* ---- events ----------------------------------------------------------------- */

struct fanout {
        struct router *r;
        const char *topic;
        size_t topic_len;
        struct json_object *data;
        const char *ident;
        size_t ident_len;
        struct buf *b; /* serialised once, on the first match */
        size_t delivered, dropped;
};

static void drop_event(struct router *r, struct peer *p, struct fanout *f)
{
        /* losing events means it is not keeping up: the stall clock runs
         * until it writes again */
        mark_full(r, p);
        p->drops_pending++;
        p->drops_total++;
        r->stats.drops++;
        f->dropped++;
}

static void deliver(struct peer *p, void *userdata)
{
        struct fanout *f = userdata;
        struct router *r = f->r;

        if (p->removed)
                return; /* leaving: its subscriptions go in a moment; not a drop */

        if (!f->b && !(f->b = wire_event(f->topic, f->topic_len, f->data, f->ident, f->ident_len))) {
                drop_event(r, p, f);
                return;
        }
        if (p->drops_pending) {
                /* it must learn about its losses before it sees the next event */
                notify_drops(r, p);
                if (p->drops_pending) {
                        drop_event(r, p, f);
                        return;
                }
        }
        if (enqueue(r, p, f->b, SEND_RELAY) == 0)
                f->delivered++;
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

static void publish_internal(struct router *r, const char *topic, struct json_object *data)
{
        struct fanout f = { .r = r, .topic = topic, .topic_len = strlen(topic), .data = data,
                            .ident = r->ident, .ident_len = r->ident_len };

        fan_out(r, &f);
}

static void on_publish(struct router *r, struct peer *p, const struct msg *m)
{
        if (syntax_topic_is_reserved(m->topic.s, m->topic.len)) {
                router_error_own(r, p, m, "reserved", "topics starting with '$' are published by the daemon only");
                return;
        }
        struct policy_verdict v;
        if (!access_check(r, p, POLICY_PUBLISH, m->topic.s, NULL, false, &v)) {
                char what[BUS_MAX_TOPIC + 32];
                snprintf(what, sizeof(what), "publishing to '%s'", m->topic.s);
                access_denied(r, p, m, what, &v);
                return;
        }
        struct fanout f = { .r = r, .topic = m->topic.s, .topic_len = m->topic.len, .data = m->data,
                            .ident = p->ident, .ident_len = p->ident_len };
        fan_out(r, &f);
        if (r->bridge.publish) {
                size_t lost = r->bridge.publish(r->bridge.userdata, p, m->topic.s, m->topic.len, m->data);
                f.dropped += lost;
                r->stats.drops += lost;
        }
        if (m->has_id) {
                struct json_object *o = json_object_new_object();
                json_object_object_add(o, "delivered", json_object_new_uint64(f.delivered));
                json_object_object_add(o, "dropped", json_object_new_uint64(f.dropped));
                router_reply_own(r, p, m, o);
                json_object_put(o);
        }
}

static void on_subscribe(struct router *r, struct peer *p, const struct msg *m)
{
        /* subscribing again to a pattern it has is a no-op, even at the limit */
        struct policy_verdict v;
        if (!access_check(r, p, POLICY_SUBSCRIBE, m->pattern.s, NULL, false, &v)) {
                char what[BUS_MAX_TOPIC + 32];
                snprintf(what, sizeof(what), "subscribing to '%s'", m->pattern.s);
                access_denied(r, p, m, what, &v);
                return;
        }
        bool has = subs_has(p, m->pattern.s);
        if (p->n_subs >= r->cfg.limits.max_subscriptions && !has) {
                router_error_own(r, p, m, "limit", "you already have %u subscriptions (max_subscriptions)", p->n_subs);
                return;
        }
        if (!has && quota_over(p->acct, QUOTA_SUBSCRIPTIONS, 1)) {
                r->stats.quota_refusals++;
                router_error_own(r, p, m, "limit",
                                 "the connections of uid %u already have %" PRIu64 " subscriptions (quota subscriptions)",
                                 (unsigned)p->uid, p->acct->used[QUOTA_SUBSCRIPTIONS]);
                return;
        }
        int err = subs_add(r->subs, p, m->pattern.s);
        if (err < 0 && err != -EEXIST) {
                router_error_own(r, p, m, "internal", "out of memory");
                return;
        }
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "pattern", json_object_new_string(m->pattern.s));
        router_reply_own(r, p, m, o);
        json_object_put(o);
}

static void on_unsubscribe(struct router *r, struct peer *p, const struct msg *m)
{
        if (subs_remove(r->subs, p, m->pattern.s) < 0) {
                router_error_own(r, p, m, "not_subscribed", "you have no subscription '%s'", m->pattern.s);
                return;
        }
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "pattern", json_object_new_string(m->pattern.s));
        router_reply_own(r, p, m, o);
        json_object_put(o);
}

/* ---- dispatch --------------------------------------------------------------- */

static void (*const handlers[MSG_TYPE_COUNT])(struct router *, struct peer *, const struct msg *) = {
        [MSG_HELLO] = on_hello,
        [MSG_CALL] = on_call,
        [MSG_REPLY] = on_answer,
        [MSG_ERROR] = on_answer,
        [MSG_CANCEL] = on_cancel,
        [MSG_PUBLISH] = on_publish,
        [MSG_SUBSCRIBE] = on_subscribe,
        [MSG_UNSUBSCRIBE] = on_unsubscribe,
        [MSG_REQUEST_NAME] = on_request_name,
        [MSG_RELEASE_NAME] = on_release_name,
        [MSG_DECLARE] = on_declare,
};

int router_handle(struct router *r, struct peer *p, const char *data, size_t len)
{
        struct json_object *root = NULL;
        char why[512];
        struct msg m;

        if (p->removed)
                return ROUTER_OK;
        p->msgs_in++;
        p->bytes_in += len;
        r->stats.messages_in++;
        r->stats.bytes_in += len;
        if (jsonparse_parse(r->parser, data, len, &root, why, sizeof(why)) < 0) {
                send_error(r, p, false, 0, "parse_error", why);
        } else {
                enum msg_error e = msg_parse(root, &m, why, sizeof(why));
                if (e != MSG_OK) {
                        send_error(r, p, m.has_id, m.id, msg_error_code(e), why);
                } else if (!p->hello_done && m.type != MSG_HELLO) {
                        send_error(r, p, m.has_id, m.id, "hello_required",
                                   "the first message on a connection must be hello");
                } else {
                        r->actor = p;
                        handlers[m.type](r, p, &m);
                        r->actor = NULL;
                }
                json_object_put(root);
        }
        return p->queued_bytes > r->cfg.limits.queue_bytes ? ROUTER_PAUSE : ROUTER_OK;
}

/* ---- peers ------------------------------------------------------------------ */

void router_set_policy(struct router *r, const struct policy *pol)
{
        r->policy = pol;
        r->policy_gen++;
        quota_table_set_policy(r->quotas, pol);
        access_revoke(r);
}

int router_peer_admit(struct router *r, struct peer *p, const struct peer_ops *ops, const char *transport,
                      const struct peer_cred *cred, size_t max_message, size_t max_recv, char *why, size_t whylen)
{
        struct policy_verdict v;
        int err;

        err = router_peer_add(r, p, ops, transport, cred->uid, cred->gid, cred->pid, max_message, max_recv);
        if (err < 0)
                return err;
        p->groups = cred->groups;
        p->ngroups = cred->ngroups;
        if (!access_check(r, p, POLICY_CONNECT, NULL, NULL, false, &v)) {
                snprintf(why, whylen, "uid %u may not connect to this bus: %s", (unsigned)p->uid, v.rule);
                router_peer_remove(r, p);
                return -EACCES;
        }
        /* router_peer_add() counted it: over means more than the quota now */
        bool conns = quota_over(p->acct, QUOTA_CONNECTIONS, 0);
        if (conns || quota_over(p->acct, QUOTA_HANDSHAKES, 0)) {
                enum quota_kind k = conns ? QUOTA_CONNECTIONS : QUOTA_HANDSHAKES;
                r->stats.quota_refusals++;
                snprintf(why, whylen, "uid %u already has %" PRIu64 " %s (quota %s)", (unsigned)p->uid,
                         p->acct->used[k], k == QUOTA_CONNECTIONS ? "connections" : "connections in handshake",
                         quota_kind_name(k));
                router_peer_remove(r, p);
                return -EUSERS;
        }
        return 0;
}

int router_peer_add(struct router *r, struct peer *p, const struct peer_ops *ops, const char *transport, uid_t uid,
                    gid_t gid, pid_t pid, size_t max_message, size_t max_recv)
{
        memset(p, 0, sizeof(*p));
        p->id = r->next_id;
        snprintf(p->unique, sizeof(p->unique), ":%" PRIu64, p->id);
        p->ops = ops;
        p->transport = transport;
        p->uid = uid;
        p->gid = gid;
        p->pid = pid;
        p->max_message = max_message;
        p->max_recv = max_recv;
        list_init(&p->stalled_link);
        list_init(&p->owners);
        list_init(&p->subs);
        list_init(&p->calls_out);
        list_init(&p->calls_in);
        list_init(&p->held);
        p->ident = wire_ident(p->unique, (unsigned)uid, (unsigned)gid, (int)pid, &p->ident_len);
        p->acct = quota_acct(r->quotas, uid);
        if (!p->ident || !p->acct || lh_table_insert(r->peers, id_key(p->id), p) < 0) {
                free(p->ident);
                p->ident = NULL;
                quota_acct_release(r->quotas, p->acct);
                p->acct = NULL;
                p->removed = true;
                return -ENOMEM;
        }
        quota_add(p->acct, QUOTA_CONNECTIONS, 1);
        quota_add(p->acct, QUOTA_HANDSHAKES, 1);
        r->next_id++;
        r->stats.connections_total++;
        return 0;
}

void router_peer_remove(struct router *r, struct peer *p)
{
        if (p->removed)
                return;
        p->removed = true; /* from here on nothing is sent to it */
        lh_table_delete(r->peers, id_key(p->id));
        list_unlink(&p->stalled_link);

        /* callers waiting on it learn at once */
        list_for_each_safe(l, tmp, &p->calls_in)
        {
                struct pcall *pc = list_entry(l, struct pcall, callee_link);
                struct peer *caller = pc->caller;
                uint64_t id = pc->caller_id;
                calls_remove(r->calls, pc);
                char text[300];
                if (p->gone_text)
                        snprintf(text, sizeof(text), "%s", p->gone_text);
                else
                        snprintf(text, sizeof(text), "%s disconnected before answering", p->unique);
                send_error(r, caller, true, id, p->gone_code ? p->gone_code : "callee_gone", text);
        }
        activate_peer_gone(r->acts, p);
        /* its own calls are forgotten; late answers get no_such_call */
        list_for_each_safe(l, tmp, &p->calls_out) calls_remove(r->calls, list_entry(l, struct pcall, caller_link));

        r->actor = p;
        registry_peer_gone(r->registry, p);
        r->actor = NULL;
        subs_peer_gone(r->subs, p);
        json_object_put(p->methods);
        p->methods = NULL;
        free(p->display);
        p->display = NULL;
        free(p->ident);
        p->ident = NULL;
        /* last: the modules above gave back what they counted */
        quota_sub(p->acct, QUOTA_QUEUE_BYTES, p->queued_bytes);
        quota_sub(p->acct, QUOTA_CONNECTIONS, 1);
        if (!p->hello_done)
                quota_sub(p->acct, QUOTA_HANDSHAKES, 1);
        quota_acct_release(r->quotas, p->acct);
        p->acct = NULL;
}

/* ---- the bridge ---------------------------------------------------------------- */

void router_set_bridge(struct router *r, const struct router_bridge *b)
{
        if (b)
                r->bridge = *b;
        else
                memset(&r->bridge, 0, sizeof(r->bridge));
}

int router_link_add(struct router *r, struct peer *p, const struct peer_ops *ops, const char *bus, size_t max_recv)
{
        int err = router_peer_add(r, p, ops, "link", r->cfg.uid, r->cfg.gid, r->cfg.pid, max_recv, max_recv);

        if (err < 0)
                return err;
        /* links are not clients: no uid account, no policy (their filters decide) */
        quota_sub(p->acct, QUOTA_CONNECTIONS, 1);
        quota_sub(p->acct, QUOTA_HANDSHAKES, 1);
        quota_acct_release(r->quotas, p->acct);
        p->acct = NULL;
        p->link = true;
        p->hello_done = true;
        p->display = strdup(bus);
        if (!p->display) {
                router_peer_remove(r, p);
                return -ENOMEM;
        }
        return 0;
}

void router_remote_event(struct router *r, const char *topic, size_t topic_len, struct json_object *data,
                         const struct remote_ident *rid)
{
        struct fanout f = { .r = r, .topic = topic, .topic_len = topic_len, .data = data,
                            .ident = rid->splice, .ident_len = rid->splice_len };

        r->stats.messages_in++;
        fan_out(r, &f);
}

void router_remote_call(struct router *r, struct peer *link, uint64_t id, bool oneway, const char *dest,
                        const char *method, struct json_object *params, const struct remote_ident *rid)
{
        const struct call_route c = { link, id, oneway, dest, method, params, rid };
        const char *local = dest;

        r->stats.messages_in++;
        if (link->removed)
                return;
        if (!oneway && calls_find_by_caller(link, id)) {
                call_error(r, &c, "invalid_message", "id %" PRIu64 " is already used by a call pending over this link",
                           id);
                return;
        }
        if (strcmp(dest, BUS_DAEMON_NAME) == 0 || dest[0] == ':') {
                /* the daemon and unique ids are this bus's own business */
                call_error(r, &c, "no_owner", "'%s' cannot be called over the bridge", dest);
                return;
        }
        struct peer *callee = resolve_dest(r, dest, strlen(dest));
        if (callee == link) {
                call_error(r, &c, "no_owner", "no connection owns '%s' on this side of the link", dest);
                return;
        }
        if (!callee) {
                const char *slash = strchr(dest, '/');
                call_error(r, &c, "no_owner", "no connection owns the name '%s'", slash ? slash + 1 : local);
                return;
        }
        deliver_call(r, &c, callee);
}

void router_remote_answer(struct router *r, struct peer *link, uint64_t serial, bool error, struct json_object *result,
                          const char *code, const char *message, struct json_object *data, const char *sender)
{
        struct pcall *pc = calls_lookup(r->calls, serial);

        r->stats.messages_in++;
        if (!pc || pc->callee != link)
                return; /* the caller left or cancelled: nothing waits for it */
        struct peer *caller = pc->caller;
        uint64_t caller_id = pc->caller_id;
        calls_remove(r->calls, pc);
        relay_answer(r, caller, caller_id, error, result, code, message, data, sender);
}

void router_remote_cancel(struct router *r, struct peer *link, uint64_t id)
{
        struct pcall *pc = calls_find_by_caller(link, id);

        if (pc)
                calls_remove(r->calls, pc);
}

void router_publish_daemon(struct router *r, const char *topic, struct json_object *data)
{
        publish_internal(r, topic, data);
}

struct peer *router_local_owner(struct router *r, const char *name)
{
        struct peer *p = registry_owner(r->registry, name);

        return p && p->hello_done && !p->link ? p : NULL;
}

struct name_walk {
        void (*fn)(const char *name, void *ud);
        void *ud;
};

static int walk_name(struct name *n, void *ud)
{
        struct name_walk *w = ud;

        if (!list_empty(&n->owners))
                w->fn(n->str, w->ud);
        return 0;
}

void router_foreach_name(struct router *r, void (*fn)(const char *name, void *ud), void *ud)
{
        struct name_walk w = { fn, ud };

        registry_foreach(r->registry, walk_name, &w);
}

void router_set_stats_hook(struct router *r, const char *key, struct json_object *(*fn)(void *ud), void *ud)
{
        r->stats_key = key;
        r->stats_fn = fn;
        r->stats_ud = ud;
}
