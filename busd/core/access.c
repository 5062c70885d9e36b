/* access.c: the router's side of access control (docs/policy.md).
 *
 * Every path a message can take asks access_check() (or access_check_peer()
 * for a destination that is a connection), which asks policy_check(): one
 * check function for calls, replies, publish, subscribe (plain, wildcard),
 * names, listings and the pidfd method. Denials are counted and logged at a
 * bounded rate. After a policy change access_revoke() takes back the names
 * and subscriptions the new policy no longer allows. Pure: no I/O.
 */
#include "access.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "buslimits.h"
#include "errcode.h"
#include "jsonnew.h"
#include "msg.h"
#include "policy.h"
#include "quota.h"
#include "send.h"
#include "state.h"
#include "wire.h"

/* at most this many denial lines per window; the rest are counted */
#define DENY_LOG_BURST 20
#define DENY_LOG_WINDOW_MS 10000
#define MS_PER_S 1000

void access_init(struct router *r)
{
        ratelog_init(&r->deny_log, DENY_LOG_BURST, DENY_LOG_WINDOW_MS);
}

static void subject_of(const struct peer *p, struct policy_subject *s)
{
        s->uid = p->uid;
        s->gid = p->gid;
        s->groups = p->groups;
        s->ngroups = p->ngroups;
}

static void log_denial(struct router *r, const struct peer *p, enum policy_verb verb, const char *object,
                       const char *method, const struct policy_verdict *v)
{
        uint64_t suppressed;

        if (!r->cfg.log)
                return;
        bool allowed = ratelog_allow(&r->deny_log, r->now_ms, &suppressed);
        if (suppressed)
                r->cfg.log(r->cfg.log_userdata, "%" PRIu64 " more denials in the last %u s were not logged", suppressed,
                           DENY_LOG_WINDOW_MS / MS_PER_S);
        if (!allowed)
                return;
        r->cfg.log(r->cfg.log_userdata, "denied %s %s%s%s to %s (uid %u, pid %d): %s", policy_verb_name(verb),
                   object && object[0] ? object : "(no name)", method ? " method " : "", method ? method : "",
                   p->unique, (unsigned)p->uid, (int)p->pid, v->rule);
}

bool access_check(struct router *r, struct peer *p, enum policy_verb verb, const char *object, const char *method,
                  bool quiet, struct policy_verdict *v)
{
        struct policy_subject s;

        if (p->link) {
                /* what crosses a bridge link is decided by its filters (bridge.c) */
                v->allowed = true;
                v->by_default = false;
                snprintf(v->rule, sizeof(v->rule), "bridge link");
                return true;
        }
        if (!r->policy) {
                v->allowed = true;
                v->by_default = true;
                snprintf(v->rule, sizeof(v->rule), "no policy");
                return true;
        }
        subject_of(p, &s);
        if (policy_check(r->policy, &s, verb, object, method, v))
                return true;
        if (!quiet) {
                r->stats.denials++;
                log_denial(r, p, verb, object, method, v);
        }
        return false;
}

/* The names q is primary owner of are the objects of a check against q. An
 * explicit deny of any of them denies; else an explicit allow of any allows;
 * else the verb's default (as for the first name, or "" when q has none). */
bool access_check_peer(struct router *r, struct peer *p, enum policy_verb verb, const struct peer *q,
                       const char *method, bool quiet, struct policy_verdict *v)
{
        struct policy_verdict one, allow = { 0 }, dflt = { 0 };
        bool any = false, have_allow = false, have_default = false;

        if (!r->policy || p->link)
                return access_check(r, p, verb, "", method, quiet, v);
        list_for_each(l, &q->owners)
        {
                struct owner *o = list_entry(l, struct owner, peer_link);
                if (list_first(&o->name->owners) != &o->name_link)
                        continue; /* only waiting for it */
                any = true;
                access_check(r, p, verb, o->name->str, method, true, &one);
                if (!one.allowed && !one.by_default) {
                        *v = one;
                        goto denied;
                }
                if (one.allowed && !one.by_default && !have_allow) {
                        allow = one;
                        have_allow = true;
                } else if (!have_default) {
                        dflt = one;
                        have_default = true;
                }
        }
        if (!any)
                return access_check(r, p, verb, "", method, quiet, v);
        *v = have_allow ? allow : dflt;
        if (v->allowed)
                return true;
denied:
        if (!quiet) {
                r->stats.denials++;
                log_denial(r, p, verb, q->unique, method, v);
        }
        return false;
}

void access_note_denial(struct router *r, struct peer *p, enum policy_verb verb, const char *object, const char *method,
                        const struct policy_verdict *v, bool count)
{
        if (count)
                r->stats.denials++;
        log_denial(r, p, verb, object, method, v);
}

void access_denied(struct router *r, struct peer *p, const struct msg *m, const char *what,
                   const struct policy_verdict *v)
{
        send_error(r, p, m, ERRCODE_DENIED, "%s is not allowed for uid %u: %s", what, (unsigned)p->uid, v->rule);
}

/* ---- a policy change --------------------------------------------------------- */

/* Tells p that something it had was taken back: an error with id null, code
 * ERRCODE_REVOKED and a member naming what ("name" or "pattern"). */
static void send_revoked(struct router *r, struct peer *p, const char *key, const char *value, const char *text)
{
        struct json_object *o = jsonnew_object();

        json_object_object_add(o, "type", jsonnew_string("error"));
        json_object_object_add(o, "id", NULL);
        json_object_object_add(o, "code", jsonnew_string(ERRCODE_REVOKED));
        json_object_object_add(o, "message", jsonnew_string(text));
        json_object_object_add(o, key, jsonnew_string(value));
        json_object_object_add(o, "sender", jsonnew_string(BUS_DAEMON_NAME));
        r->stats.errors++;
        send_own(r, p, NULL, wire_object(o));
        json_object_put(o);
}

struct revoke_ctx {
        struct router *r;
        struct peer *p;
        size_t count;
};

static bool keep_sub(void *ud, const char *pattern)
{
        struct revoke_ctx *c = ud;
        struct policy_verdict v;
        char text[BUS_MAX_TOPIC + sizeof(v.rule) + 128];

        if (access_check(c->r, c->p, POLICY_SUBSCRIBE, pattern, NULL, true, &v))
                return true;
        snprintf(text, sizeof(text), "your subscription '%s' was dropped: the policy no longer allows it (%s)", pattern,
                 v.rule);
        send_revoked(c->r, c->p, "pattern", pattern, text);
        c->count++;
        return false;
}

static void revoke_peer(struct router *r, struct peer *p, size_t *ret_names, size_t *ret_subs)
{
        struct revoke_ctx c = { r, p, 0 };
        struct policy_verdict v;
        char text[BUS_MAX_NAME + sizeof(v.rule) + 128];

        /* one name at a time: releasing one changes the peer's list */
        for (bool again = true; again;) {
                again = false;
                list_for_each(l, &p->owners)
                {
                        struct owner *o = list_entry(l, struct owner, peer_link);
                        if (access_check(r, p, POLICY_OWN, o->name->str, NULL, true, &v))
                                continue;
                        char name[BUS_MAX_NAME + 1];
                        snprintf(name, sizeof(name), "%s", o->name->str);
                        snprintf(text, sizeof(text),
                                 "the name '%s' was taken back: the policy no longer allows you to own it (%s)", name,
                                 v.rule);
                        send_revoked(r, p, "name", name, text);
                        registry_release(r->registry, p, name);
                        (*ret_names)++;
                        again = true;
                        break;
                }
        }
        subs_filter(r->subs, p, keep_sub, &c);
        *ret_subs += c.count;
}

void access_revoke(struct router *r)
{
        size_t names = 0, subs = 0, i = 0;
        struct peer *p;

        if (!r->policy)
                return;
        while ((p = peertab_next(&r->peers, &i)))
                if (!p->removed)
                        revoke_peer(r, p, &names, &subs);
        if ((names || subs) && r->cfg.log)
                r->cfg.log(r->cfg.log_userdata, "policy change: took back %zu names and %zu subscriptions", names,
                           subs);
}
