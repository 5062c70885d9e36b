/* router.c: where every message goes.
 *
 * router_handle() takes one framed message from a peer, parses it (proto/
 * jsonparse.c), validates it (proto/msg.c) and dispatches by type through the
 * `handlers` table below: calls, replies and cancels are routed here; events
 * and subscriptions in events.c; hello, declare and names in session.c; calls
 * to org.busd in busmethods.c. Every outgoing message passes through the
 * output side (send.c), which applies the receiver's transport size and queue
 * limit:
 *   - a relayed event or call to a full queue is held on its sender's
 *     connection, which is paused until the receiver drains (flow.c), or
 *     for lossy subscriptions dropped and counted; replies fail to their
 *     sender;
 *   - answers to a peer's own requests are always queued; a peer whose queue
 *     (or its uid's) is over its limit is paused (ROUTER_PAUSE) until it
 *     drains; notices to a full queue are held back and merged (send.c).
 * Also here: the peers' lifetime, the consequences of a name changing owner,
 * and the bridge's entry points. Pure C: no I/O, no libuv.
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

#include "access.h"
#include "buf.h"
#include "buslimits.h"
#include "busmethods.h"
#include "corelog.h"
#include "decl.h"
#include "errcode.h"
#include "events.h"
#include "flow.h"
#include "jsonnew.h"
#include "monitor.h"
#include "msg.h"
#include "policy.h"
#include "quota.h"
#include "send.h"
#include "session.h"
#include "state.h"
#include "syntax.h"
#include "wire.h"

/* The daemon's event when a name changes owner: $bus.name.NAME. */
#define NAME_TOPIC_PREFIX "$bus.name."
/* Room for the texts the router makes besides SEND_TEXT_MAX; each is cut there. */
#define REASON_MAX 160        /* why a peer is killed or an activation failed */
#define PARSE_WHY_MAX 512     /* why a message did not parse or validate */
#define WITHHELD_TEXT_MAX 600 /* an answer withheld after a policy change: a method and a rule */
/* Room for one warning line of the router's own (stalled peers, activation). */

void router_limits_default(struct router_limits *l)
{
        l->queue_bytes = BUS_DEFAULT_QUEUE_BYTES;
        l->max_pending_calls = BUS_DEFAULT_MAX_PENDING_CALLS;
        l->max_names = BUS_DEFAULT_MAX_NAMES;
        l->max_subscriptions = BUS_DEFAULT_MAX_SUBSCRIPTIONS;
        l->stall_timeout_ms = BUS_DEFAULT_STALL_TIMEOUT_MS;
}

static void on_name_change(void *userdata, const char *name, struct peer *old_owner, struct peer *new_owner);

struct router *router_new(const struct router_config *cfg)
{
        struct router *r = calloc(1, sizeof(*r));

        if (!r)
                return NULL;
        r->cfg = *cfg;
        if (!r->cfg.max_queued_fds)
                r->cfg.max_queued_fds = BUS_MAX_QUEUED_FDS_TOTAL;
        r->next_id = 1;
        list_init(&r->stalled);
        list_init(&r->holds);
        list_init(&r->monitors);
        access_init(r);
        r->scan = jsonscan_new(BUS_MAX_DEPTH);
        r->registry = registry_new(on_name_change, r);
        r->subs = subs_new();
        r->calls = calls_new();
        int peers_err = peertab_init(&r->peers);
        r->acts = activate_new();
        r->quotas = quota_table_new();
        r->ident = wire_ident(BUS_DAEMON_NAME, (unsigned)cfg->uid, (unsigned)cfg->gid, (int)cfg->pid, &r->ident_len);
        if (!r->scan || !r->registry || !r->subs || !r->calls || peers_err < 0 || !r->acts || !r->quotas || !r->ident) {
                router_free(r);
                return NULL;
        }
        return r;
}

void router_free(struct router *r)
{
        if (!r)
                return;
        monitor_deinit(r);
        jsonscan_free(r->scan);
        registry_free(r->registry);
        subs_free(r->subs);
        calls_free(r->calls);
        activate_free(r->acts);
        quota_table_free(r->quotas);
        peertab_deinit(&r->peers);
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
        return peertab_count(&r->peers);
}

size_t router_pending_calls(const struct router *r)
{
        return calls_count(r->calls);
}

void router_set_limits(struct router *r, const struct router_limits *l)
{
        r->cfg.limits = *l;
}

struct json_object *router_stats(struct router *r)
{
        return busmethods_stats(r, NULL);
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

struct buf *router_error_buf(struct router *r, const char *code, const char *message)
{
        r->stats.errors++;
        return wire_error(false, 0, -1, code, message, BUS_DAEMON_NAME, NULL);
}

/* ---- the carrier's progress ------------------------------------------------ */

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
        send_drops_notice(r, p);
        flow_drained(r, p);
        return send_may_resume(r, p);
}

void router_peer_fds_gone(struct router *r, struct peer *p, size_t n)
{
        n = n < p->queued_fds ? n : p->queued_fds;
        size_t bytes = n * BUS_QUEUED_FD_COST < p->queued_bytes ? n * BUS_QUEUED_FD_COST : p->queued_bytes;

        p->queued_fds -= n;
        r->queued_fds -= n < r->queued_fds ? n : r->queued_fds;
        quota_sub(p->acct, QUOTA_QUEUED_FDS, n);
        quota_sub(p->acct, QUOTA_QUEUE_BYTES, bytes);
        p->queued_bytes -= bytes;
}

void router_peer_fd_refused(struct router *r, struct peer *p, size_t old_len, size_t new_len)
{
        r->stats.fds_refused++;
        r->stats.errors++;
        /* the fallback is an error the daemon made, queued as its answers are */
        if (new_len > old_len) {
                p->queued_bytes += new_len - old_len;
                quota_add(p->acct, QUOTA_QUEUE_BYTES, new_len - old_len);
        } else {
                size_t less = old_len - new_len < p->queued_bytes ? old_len - new_len : p->queued_bytes;
                p->queued_bytes -= less;
                quota_sub(p->acct, QUOTA_QUEUE_BYTES, less);
        }
}

void router_peer_discard_queue(struct router *r, struct peer *p)
{
        router_peer_fds_gone(r, p, p->queued_fds);
        quota_sub(p->acct, QUOTA_QUEUE_BYTES, p->queued_bytes);
        p->queued_bytes = 0;
        p->queued_msgs = 0;
}

void router_tick(struct router *r)
{
        const char *name;

        while ((name = activate_expired(r->acts, r->now_ms))) {
                char why[REASON_MAX], copy[BUS_MAX_NAME + 1];
                const struct activatable *e = activate_lookup(r->acts, name);
                snprintf(copy, sizeof(copy), "%s", name);
                snprintf(why, sizeof(why), "did not take the name within %u ms", e ? e->timeout_ms : 0);
                router_activation_failed(r, copy, why);
        }
        flow_tick(r);
        list_for_each_safe(l, tmp, &r->stalled)
        {
                struct peer *p = list_entry(l, struct peer, stalled_link);
                if (r->now_ms < p->full_since_ms || r->now_ms - p->full_since_ms < r->cfg.limits.stall_timeout_ms)
                        continue;
                list_unlink(&p->stalled_link);
                char why[REASON_MAX];
                snprintf(why, sizeof(why), "its queue stayed full (%zu bytes) for %u ms without it reading",
                         p->queued_bytes, r->cfg.limits.stall_timeout_ms);
                corelog(r, "disconnecting %s (pid %d): %s", p->unique, (int)p->pid, why);
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
                char text[SEND_TEXT_MAX];
                snprintf(text, sizeof(text), "%s lost the name '%s' before answering", callee->unique, name);
                send_error_id(r, caller, true, id, ERRCODE_NAME_LOST, text);
        }
}

static void release_held(struct router *r, const char *name, struct peer *owner);

static void on_name_change(void *userdata, const char *name, struct peer *old_owner, struct peer *new_owner)
{
        struct router *r = userdata;

        if (old_owner) {
                fail_calls_to_name(r, old_owner, name);
                if (old_owner != r->actor && !old_owner->removed)
                        send_notice(r, old_owner, NOTICE_NAME_LOST, name);
        }
        if (new_owner && new_owner != r->actor)
                send_notice(r, new_owner, "name_acquired", name);
        if (new_owner && activate_pending(r->acts, name))
                release_held(r, name, new_owner);
        if (r->bridge.name_changed && (!old_owner) != (!new_owner))
                r->bridge.name_changed(r->bridge.userdata, name, new_owner != NULL);

        char topic[sizeof(NAME_TOPIC_PREFIX) + BUS_MAX_NAME];
        snprintf(topic, sizeof(topic), NAME_TOPIC_PREFIX "%s", name);
        struct json_object *d = jsonnew_object();
        json_object_object_add(d, "name", jsonnew_string(name));
        json_object_object_add(d, "old_owner", old_owner ? jsonnew_string(old_owner->unique) : NULL);
        json_object_object_add(d, "new_owner", new_owner ? jsonnew_string(new_owner->unique) : NULL);
        events_publish_daemon(r, topic, d, name); /* only to those who may see the name */
        json_object_put(d);
}

/* ---- calls ------------------------------------------------------------------ */

/* Resolves a call's destination to a peer that said hello, or NULL. */
static struct peer *resolve_dest(struct router *r, const char *dest, size_t len)
{
        struct peer *p;

        if (dest[0] == ':')
                p = state_peer_by_unique(r, dest, len);
        else if (!strchr(dest, '/'))
                p = registry_owner(r->registry, dest);
        else
                p = NULL; /* BUS/NAME: the bridge decides, also for our own bus name */
        if (p && p->hello_done && !p->monitor)
                return p; /* a monitor is nobody's callee */
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
        const struct jsonscan_span *params; /* as sent */
        const struct remote_ident *rid;     /* the caller came over a link: its identity */
};

__attribute__((format(printf, 4, 5))) static void call_error(struct router *r, const struct call_route *c,
                                                             const char *code, const char *fmt, ...)
{
        char text[SEND_TEXT_MAX];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(text, sizeof(text), fmt, ap);
        va_end(ap);
        send_error_id(r, c->caller, true, c->caller_id, code, text);
}

/* Answers a call as one whose destination does not exist: also to a caller
 * that may not see it (docs/policy.md, "What see hides"), in the same words. */
static void call_no_owner(struct router *r, const struct call_route *c)
{
        if (c->dest[0] == ':')
                call_error(r, c, ERRCODE_NO_OWNER, "no connection '%s' (it disconnected or never existed)", c->dest);
        else
                call_error(r, c, ERRCODE_NO_OWNER, "no connection owns the name '%s'", c->dest);
}

/* May the caller see the destination it called (`see`: the name called, the
 * name part of BUS/NAME; a unique id: the names its connection owns)?
 * callee is NULL for a name nobody owns yet (activation). */
static bool call_sees(struct router *r, const struct call_route *c, const struct peer *callee)
{
        struct policy_verdict v;
        const char *slash = strchr(c->dest, '/');

        if (callee == c->caller)
                return true;
        if (c->dest[0] == ':' && callee)
                return access_check_peer(r, c->caller, POLICY_SEE, callee, NULL, true, &v);
        return access_check(r, c->caller, POLICY_SEE, slash ? slash + 1 : c->dest, NULL, true, &v);
}

/* Answers a call the policy denied (v, from a quiet check of `object`): with
 * `denied` naming the callee and the rule if the caller may see the
 * destination, else as a destination that does not exist, naming nothing the
 * caller did not give. */
static void call_denied(struct router *r, const struct call_route *c, const struct peer *callee, const char *object,
                        const struct policy_verdict *v)
{
        bool sees = call_sees(r, c, callee);

        access_note_denial(r, c->caller, POLICY_CALL, object, c->method, v, sees);
        if (!sees)
                call_no_owner(r, c);
        else if (callee)
                call_error(r, c, ERRCODE_DENIED, "calling %s (%s) method %s is not allowed for uid %u: %s", c->dest,
                           callee->unique, c->method, (unsigned)c->caller->uid, v->rule);
        else
                call_error(r, c, ERRCODE_DENIED, "calling %s method %s is not allowed for uid %u: %s", c->dest,
                           c->method, (unsigned)c->caller->uid, v->rule);
}

/* Delivers a call to its callee, recording it as pending unless one-way. */
static void deliver_call(struct router *r, const struct call_route *c, struct peer *callee)
{
        struct pcall *pc = NULL;
        struct policy_verdict v;

        /* a remote callee is checked by the name called (BUS/NAME: the name) */
        const char *slash = strchr(c->dest, '/');
        if (callee->link ? !access_check(r, c->caller, POLICY_CALL, slash ? slash + 1 : c->dest, c->method, true, &v)
                         : !access_check_peer(r, c->caller, POLICY_CALL, callee, c->method, true, &v)) {
                call_denied(r, c, callee, callee->link ? (slash ? slash + 1 : c->dest) : callee->unique, &v);
                return;
        }
        if (!c->oneway) {
                pc = calls_add(r->calls, c->caller, c->caller_id, callee, c->dest[0] == ':' ? NULL : c->dest,
                               c->method);
                if (!pc) {
                        call_error(r, c, ERRCODE_INTERNAL, "out of memory");
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
                bool hold = !c->rid && flow_may_hold(c->caller, callee);
                err = !b ? -ENOMEM : hold && flow_must_wait(callee) ? -ENOBUFS : send_enqueue(r, callee, b, SEND_RELAY);
                /* a full callee holds the call on its caller as a full subscriber does (flow.h) */
                if (err == -ENOBUFS && hold &&
                    flow_hold(r, c->caller, callee, b, c->oneway ? FLOW_ONEWAY : FLOW_CALL, true, c->caller_id) == 0)
                        err = 0, flow_sent(r, c->caller, false, 0, 0, 0);
                buf_unref(b);
        }
        if (err == 0) {
                r->stats.calls++;
                return;
        }
        if (pc)
                calls_remove(r->calls, pc);
        if (err == -ENOBUFS && callee->link)
                call_error(r, c, ERRCODE_QUEUE_FULL, "the link to %s is full: call to %s not sent", callee->display,
                           c->dest);
        else if (err == -ENOTCONN && callee->link)
                call_error(r, c, ERRCODE_LINK_DOWN, "the link to %s is down: call to %s not sent", callee->display,
                           c->dest);
        else if (err == -ENOBUFS)
                call_error(r, c, ERRCODE_QUEUE_FULL, "the queue of %s (%s) is full (%zu bytes): call not delivered",
                           callee->unique, c->dest, callee->queued_bytes);
        else if (err == -EMSGSIZE)
                call_error(r, c, ERRCODE_TOO_LARGE, "the call is larger than %s accepts (%zu bytes)", callee->unique,
                           callee->max_recv);
        else
                call_error(r, c, ERRCODE_INTERNAL, "could not deliver the call: %s", strerror(-err));
}

/* Holds a call to an activatable name nobody owns; starts the service for the
 * first one. Returns false if the name is not activatable. */
static bool hold_call(struct router *r, const struct call_route *c)
{
        struct policy_verdict v;

        if (!activate_lookup(r->acts, c->dest))
                return false;
        if (!access_check(r, c->caller, POLICY_CALL, c->dest, c->method, true, &v)) {
                call_denied(r, c, NULL, c->dest, &v);
                return true;
        }
        char text[SEND_TEXT_MAX];
        int h = activate_hold(r->acts, c->dest, c->caller, c->caller_id, c->oneway, c->method, c->params, r->now_ms,
                              text, sizeof(text));

        if (h == -ENOENT)
                return false;
        r->stats.quota_refusals += h == -EDQUOT;
        if (h == -ENOBUFS || h == -EDQUOT || h == -EAGAIN) {
                call_error(r, c, h == -EAGAIN ? ERRCODE_ACTIVATION_FAILED : ERRCODE_LIMIT, "%s", text);
        } else if (h < 0) {
                call_error(r, c, ERRCODE_INTERNAL, "out of memory");
        } else if (h == ACTIVATE_STARTED) {
                const struct activatable *e = activate_lookup(r->acts, c->dest);
                int err = r->cfg.activate ? r->cfg.activate(r->cfg.activate_userdata, e) : -ENOTSUP;
                if (err < 0) {
                        char why[REASON_MAX];
                        snprintf(why, sizeof(why), "could not be started: %s", strerror(-err));
                        router_activation_failed(r, c->dest, why);
                }
        }
        return true;
}

static void on_call(struct router *r, struct peer *p, const struct msg *m)
{
        const struct call_route c = { p, m->id, m->oneway, m->dest.s, m->method.s, &m->params, NULL };

        if (calls_find_by_caller(p, m->id) || activate_find_held(p, m->id)) {
                send_error(r, p, m, ERRCODE_INVALID_MESSAGE,
                           "id %" PRIu64 " is already used by one of your pending calls", m->id);
                return;
        }
        if (strcmp(m->dest.s, BUS_DAEMON_NAME) == 0) {
                busmethods_call(r, p, m);
                return;
        }
        if (!m->oneway && p->n_calls_out + p->n_held >= r->cfg.limits.max_pending_calls) {
                send_error(r, p, m, ERRCODE_LIMIT,
                           "you already have %u calls waiting for an answer (max_pending_calls)",
                           p->n_calls_out + p->n_held);
                return;
        }
        if (!m->oneway && quota_over(p->acct, QUOTA_PENDING_CALLS, 1)) {
                r->stats.quota_refusals++;
                send_error(r, p, m, ERRCODE_LIMIT,
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
        if (m->dest.s[0] == ':' || !hold_call(r, &c))
                call_no_owner(r, &c);
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
                const struct jsonscan_span params = { h->params, h->params_len, false };
                const struct call_route c = { h->caller, h->caller_id, h->oneway, h->name, h->method, &params, NULL };
                deliver_call(r, &c, owner);
                held_call_free(h);
        }
}

void router_activation_failed(struct router *r, const char *name, const char *reason)
{
        struct list taken;
        size_t n;

        list_init(&taken);
        n = activate_fail(r->acts, name, r->now_ms, reason, &taken);
        if (n)
                corelog(r, "activating %s failed: %s (%zu calls answered with an error)", name, reason, n);
        list_for_each_safe(l, tmp, &taken)
        {
                struct held_call *h = list_entry(l, struct held_call, link);
                char text[SEND_TEXT_MAX];
                snprintf(text, sizeof(text), "the service for '%s' %s", name, reason);
                send_error_id(r, h->caller, true, h->caller_id, ERRCODE_ACTIVATION_FAILED, text);
                held_call_free(h);
        }
}

/* Tells a callee that its answer to delivered call m->id went wrong. Such
 * errors carry "id": null and "call": N, since N is an id the daemon chose and
 * could collide with the callee's own request ids. */
__attribute__((format(printf, 5, 6))) static void answer_error(struct router *r, struct peer *p, const struct msg *m,
                                                               const char *code, const char *fmt, ...)
{
        char text[SEND_TEXT_MAX];
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
                        const struct jsonscan_span *result, const char *code, const char *message,
                        const struct jsonscan_span *data, const char *sender)
{
        struct buf *b = error ? wire_relayed_error(caller_id, code, message, sender, data)
                              : wire_reply(caller_id, result, sender);
        int err = b ? send_enqueue(r, caller, b, SEND_RELAY) : -ENOMEM;
        char text[SEND_TEXT_MAX];

        buf_unref(b);
        if (err == 0) {
                r->stats.replies++;
                return 0;
        }
        snprintf(text, sizeof(text), "the answer from %s %s", sender,
                 err == -ENOBUFS    ? "was dropped: your queue was full"
                 : err == -EMSGSIZE ? "is larger than your transport accepts"
                                    : "could not be relayed");
        send_error_id(r, caller, true, caller_id,
                      err == -ENOBUFS    ? ERRCODE_QUEUE_FULL
                      : err == -EMSGSIZE ? ERRCODE_TOO_LARGE
                                         : ERRCODE_INTERNAL,
                      text);
        return err;
}

/* A reply or error from a callee. */
static void on_answer(struct router *r, struct peer *p, const struct msg *m)
{
        struct pcall *pc = calls_lookup(r->calls, m->id);

        if (!pc || pc->callee != p) {
                answer_error(r, p, m, ERRCODE_NO_SUCH_CALL,
                             "no call with id %" PRIu64
                             " is waiting for your answer (the caller left or cancelled, or the id is wrong)",
                             m->id);
                return;
        }
        struct peer *caller = pc->caller;
        uint64_t caller_id = pc->caller_id;
        struct policy_verdict v;
        if (pc->policy_gen != r->policy_gen && !access_check_peer(r, caller, POLICY_CALL, p, pc->method, false, &v)) {
                /* the policy changed while the call was pending: the answer is
                 * held to the same rule as the call */
                char text[WITHHELD_TEXT_MAX];
                snprintf(
                        text, sizeof(text),
                        "the answer of %s to your call of %s was withheld: the policy no longer allows uid %u that call: %s",
                        p->unique, pc->method, (unsigned)caller->uid, v.rule);
                calls_remove(r->calls, pc);
                send_error_id(r, caller, true, caller_id, ERRCODE_DENIED, text);
                answer_error(r, p, m, ERRCODE_DENIED,
                             "your answer was not delivered: the policy no longer allows the call (%s)", v.rule);
                return;
        }
        calls_remove(r->calls, pc);
        int err = relay_answer(r, caller, caller_id, m->type == MSG_ERROR, &m->result, m->code.s, m->message.s,
                               &m->err_data, p->unique);
        if (err == -ENOBUFS)
                answer_error(r, p, m, ERRCODE_QUEUE_FULL, "your answer was not delivered: the queue of %s is full",
                             caller->unique);
        else if (err == -EMSGSIZE)
                answer_error(r, p, m, ERRCODE_TOO_LARGE, "your answer is larger than %s accepts (%zu bytes)",
                             caller->unique, caller->max_recv);
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

/* ---- dispatch --------------------------------------------------------------- */

static void (*const handlers[MSG_TYPE_COUNT])(struct router *, struct peer *, const struct msg *) = {
        [MSG_HELLO] = session_hello,
        [MSG_CALL] = on_call,
        [MSG_REPLY] = on_answer,
        [MSG_ERROR] = on_answer,
        [MSG_CANCEL] = on_cancel,
        [MSG_PUBLISH] = events_publish,
        [MSG_SUBSCRIBE] = events_subscribe,
        [MSG_UNSUBSCRIBE] = events_unsubscribe,
        [MSG_REQUEST_NAME] = session_request_name,
        [MSG_RELEASE_NAME] = session_release_name,
        [MSG_DECLARE] = session_declare,
        [MSG_MONITOR] = monitor_start,
};

int router_handle(struct router *r, struct peer *p, const char *data, size_t len)
{
        const struct jsonscan_member *members;
        struct jsonscan_value root;
        char why[PARSE_WHY_MAX];
        struct msg m;
        size_t n;
        int err;

        if (p->removed)
                return ROUTER_OK;
        p->msgs_in++;
        p->bytes_in += len;
        r->stats.messages_in++;
        r->stats.bytes_in += len;
        err = jsonscan_parse(r->scan, data, len, &root, &members, &n, why, sizeof(why));
        if (err < 0) {
                send_error_id(r, p, false, 0, err == -ENOMEM ? ERRCODE_INTERNAL : ERRCODE_PARSE_ERROR,
                              err == -ENOMEM ? "out of memory" : why);
        } else {
                enum msg_error e = msg_parse(&root, members, n, &m, why, sizeof(why));
                /* a reply or error that carried a valid id answers delivered
                 * call m.id: errors about it say so with "call", never "id" */
                bool answer = (m.type == MSG_REPLY || m.type == MSG_ERROR) && m.has_id;
                if (e != MSG_OK && answer) {
                        answer_error(r, p, &m, msg_error_code(e), "%s", why);
                } else if (e != MSG_OK) {
                        send_error_id(r, p, m.has_id, m.id, msg_error_code(e), why);
                } else if (!p->hello_done && m.type != MSG_HELLO) {
                        const char *text = "the first message on a connection must be hello";
                        if (answer)
                                answer_error(r, p, &m, ERRCODE_HELLO_REQUIRED, "%s", text);
                        else
                                send_error_id(r, p, m.has_id, m.id, ERRCODE_HELLO_REQUIRED, text);
                } else if (!r->n_monitors || !monitor_in(r, p, &m, &root.raw)) {
                        r->actor = p;
                        handlers[m.type](r, p, &m);
                        r->actor = NULL;
                }
                msg_release(&m);
        }
        return send_must_pause(r, p) ? ROUTER_PAUSE : ROUTER_OK;
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
                /* what is open besides this one, which router_peer_add() counted */
                snprintf(why, whylen, "uid %u already has %" PRIu64 " %s (quota %s: %" PRIu64 ")", (unsigned)p->uid,
                         p->acct->used[k] - 1, k == QUOTA_CONNECTIONS ? "connections" : "connections in handshake",
                         quota_kind_name(k), p->acct->limit[k]);
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
        list_init(&p->notices);
        list_init(&p->waiters);
        p->ident = wire_ident(p->unique, (unsigned)uid, (unsigned)gid, (int)pid, &p->ident_len);
        p->acct = quota_acct(r->quotas, uid);
        if (!p->ident || !p->acct || peertab_add(&r->peers, p) < 0) {
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
        peertab_remove(&r->peers, p->id);
        list_unlink(&p->stalled_link);
        flow_peer_gone(r, p);
        monitor_peer_gone(r, p);

        /* callers waiting on it learn at once */
        list_for_each_safe(l, tmp, &p->calls_in)
        {
                struct pcall *pc = list_entry(l, struct pcall, callee_link);
                struct peer *caller = pc->caller;
                uint64_t id = pc->caller_id;
                calls_remove(r->calls, pc);
                char text[SEND_TEXT_MAX];
                if (p->gone_text)
                        snprintf(text, sizeof(text), "%s", p->gone_text);
                else
                        snprintf(text, sizeof(text), "%s disconnected before answering", p->unique);
                send_error_id(r, caller, true, id, p->gone_code ? p->gone_code : ERRCODE_CALLEE_GONE, text);
        }
        activate_peer_gone(r->acts, p);
        /* its own calls are forgotten; late answers get no_such_call */
        list_for_each_safe(l, tmp, &p->calls_out) calls_remove(r->calls, list_entry(l, struct pcall, caller_link));

        r->actor = p;
        registry_peer_gone(r->registry, p);
        r->actor = NULL;
        subs_peer_gone(r->subs, p);
        decl_set(p, NULL);
        send_peer_gone(p);
        free(p->display);
        p->display = NULL;
        free(p->ident);
        p->ident = NULL;
        /* last: the modules above gave back what they counted. The queue
         * may still drain (the carrier reports it), but no longer for the
         * uid; its descriptors stay in r->queued_fds until they are gone. */
        quota_sub(p->acct, QUOTA_QUEUE_BYTES, p->queued_bytes);
        quota_sub(p->acct, QUOTA_QUEUED_FDS, p->queued_fds);
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

void router_remote_event(struct router *r, struct peer *link, const char *topic, size_t topic_len,
                         const struct jsonscan_span *data, const struct remote_ident *rid)
{
        r->stats.messages_in++;
        events_deliver(r, link, topic, topic_len, data, rid->splice, rid->splice_len);
}

void router_remote_call(struct router *r, struct peer *link, uint64_t id, bool oneway, const char *dest,
                        const char *method, const struct jsonscan_span *params, const struct remote_ident *rid)
{
        const struct call_route c = { link, id, oneway, dest, method, params, rid };
        const char *local = dest;

        r->stats.messages_in++;
        if (link->removed)
                return;
        if (!oneway && calls_find_by_caller(link, id)) {
                call_error(r, &c, ERRCODE_INVALID_MESSAGE,
                           "id %" PRIu64 " is already used by a call pending over this link", id);
                return;
        }
        if (strcmp(dest, BUS_DAEMON_NAME) == 0 || dest[0] == ':') {
                /* the daemon and unique ids are this bus's own business */
                call_error(r, &c, ERRCODE_NO_OWNER, "'%s' cannot be called over the bridge", dest);
                return;
        }
        struct peer *callee = resolve_dest(r, dest, strlen(dest));
        if (callee == link) {
                call_error(r, &c, ERRCODE_NO_OWNER, "no connection owns '%s' on this side of the link", dest);
                return;
        }
        if (!callee) {
                const char *slash = strchr(dest, '/');
                call_error(r, &c, ERRCODE_NO_OWNER, "no connection owns the name '%s'", slash ? slash + 1 : local);
                return;
        }
        deliver_call(r, &c, callee);
}

void router_remote_answer(struct router *r, struct peer *link, uint64_t serial, bool error,
                          const struct jsonscan_span *result, const char *code, const char *message,
                          const struct jsonscan_span *data, const char *sender)
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
        events_publish_daemon(r, topic, data, NULL);
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
