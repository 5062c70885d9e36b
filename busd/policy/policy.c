/* policy.c: see policy.h. The checker: the embedded defaults, the one check
 * every path uses, the quotas, and the pattern relations of subscribe.
 * Building a policy from files is policy_parse.c. No I/O, and no allocation
 * in policy_check() or policy_quota(): they run per message.
 */
#include "policy.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy-private.h"
#include "syntax.h"

static const char *const verb_names[POLICY_VERB_COUNT] = {
        [POLICY_CONNECT] = "connect",
        [POLICY_OWN] = "own",
        [POLICY_CALL] = "call",
        [POLICY_PUBLISH] = "publish",
        [POLICY_SUBSCRIBE] = "subscribe",
        [POLICY_SEE] = "see",
        [POLICY_BACKPRESSURE] = "backpressure",
        [POLICY_MONITOR] = "monitor",
};

const char *policy_verb_name(enum policy_verb verb)
{
        return (unsigned)verb < POLICY_VERB_COUNT ? verb_names[verb] : "?";
}

/* ---- building blocks (shared with policy_parse.c) ------------------------------ */

void pol_quota_defaults(struct policy_quota *q)
{
        q->connections = 256;
        q->handshakes = 64;
        q->pending_calls = 4096;
        q->names = 512;
        q->subscriptions = 8192;
        q->queue_bytes = (size_t)256 << 20;
        q->queued_fds = 1024;
        q->declared_bytes = (size_t)16 << 20;
        q->held_bytes = (size_t)16 << 20;
}

struct policy *pol_new(void)
{
        struct policy *p = calloc(1, sizeof(*p));

        if (!p)
                return NULL;
        for (int v = 0; v < POLICY_VERB_COUNT; v++) {
                p->allow[v] = false; /* fail closed: what no file sets is denied */
                p->default_file[v] = POL_NONE;
        }
        pol_quota_defaults(&p->quota);
        return p;
}

int pol_grow(void **arr, size_t n, size_t *cap, size_t size)
{
        if (n < *cap)
                return 0;
        size_t c = *cap ? *cap * 2 : 16;
        if (c > SIZE_MAX / size)
                return -ENOMEM;
        void *a = realloc(*arr, c * size);
        if (!a)
                return -ENOMEM;
        *arr = a;
        *cap = c;
        return 0;
}

int pol_str(struct policy *p, const char *s, size_t len, uint32_t *ret_off)
{
        if (len >= UINT32_MAX - 1 || p->nstr + len + 1 >= UINT32_MAX)
                return -ENOMEM;
        while (p->nstr + len + 1 > p->cstr) {
                size_t c = p->cstr ? p->cstr * 2 : 1024;
                char *a = realloc(p->str, c);
                if (!a)
                        return -ENOMEM;
                p->str = a;
                p->cstr = c;
        }
        memcpy(p->str + p->nstr, s, len);
        p->str[p->nstr + len] = 0;
        *ret_off = (uint32_t)p->nstr;
        p->nstr += len + 1;
        return 0;
}

void policy_free(struct policy *p)
{
        if (!p)
                return;
        free(p->str);
        free(p->files);
        free(p->rules);
        free(p->entries);
        free(p->overrides);
        free(p);
}

struct policy *policy_default(bool system, uid_t owner_uid)
{
        struct policy *p = pol_new();

        if (!p)
                return NULL;
        for (int v = 0; v < POLICY_VERB_COUNT; v++)
                /* backpressure: on the system bus an unprivileged
                 * subscriber must not be able to slow system services
                 * down, so only root's subscriptions hold publishers back
                 * (root passes every check); on a user bus the owner's
                 * connections may, as they may do everything; monitor:
                 * only root sees the whole system bus's traffic */
                p->allow[v] = system && v != POLICY_OWN && v != POLICY_BACKPRESSURE && v != POLICY_MONITOR;
        if (!system) {
                p->has_owner = true;
                p->owner = owner_uid;
        }
        return p;
}

/* ---- topic patterns ----------------------------------------------------------- */

/* One segment of a pattern: [s, s + len); `more` when a '.' follows. */
struct seg {
        const char *s;
        size_t len;
        bool more;
};

static struct seg seg_at(const char *p)
{
        const char *dot = strchr(p, '.');
        struct seg g = { p, dot ? (size_t)(dot - p) : strlen(p), dot != NULL };
        return g;
}

static bool seg_is(const struct seg *g, char c)
{
        return g->len == 1 && g->s[0] == c;
}

/* A literal that only a literal matches: `$...` in the first segment (a
 * wildcard there matches no topic starting with `$`, docs/protocol.md §2.2). */
static bool seg_is_dollar(const struct seg *g, bool first)
{
        return first && g->len > 0 && g->s[0] == '$';
}

static bool seg_equal(const struct seg *a, const struct seg *b)
{
        return a->len == b->len && memcmp(a->s, b->s, a->len) == 0;
}

bool policy_pattern_covers(const char *a, const char *s)
{
        for (bool first = true;; first = false) {
                struct seg x = seg_at(a), y = seg_at(s);

                /* `>` takes every rest of one or more segments: y has one here
                 * (whatever it is), unless it is a `$` literal `>` cannot match */
                if (seg_is(&x, '>'))
                        return !seg_is_dollar(&y, first);
                /* y's `>` reaches topics of every length: only a `>` follows that */
                if (seg_is(&y, '>'))
                        return false;
                if (seg_is(&x, '*')) {
                        if (seg_is_dollar(&y, first))
                                return false;
                } else if (seg_is(&y, '*') || !seg_equal(&x, &y)) {
                        return false; /* a literal covers only itself */
                }
                if (!x.more || !y.more)
                        return !x.more && !y.more;
                a = x.s + x.len + 1;
                s = y.s + y.len + 1;
        }
}

bool policy_pattern_intersects(const char *a, const char *s)
{
        for (bool first = true;; first = false) {
                struct seg x = seg_at(a), y = seg_at(s);
                bool xw = seg_is(&x, '*') || seg_is(&x, '>'), yw = seg_is(&y, '*') || seg_is(&y, '>');

                /* a wildcard meets a `$` literal nowhere; else one topic segment
                 * fits both here */
                if ((xw && seg_is_dollar(&y, first)) || (yw && seg_is_dollar(&x, first)))
                        return false;
                if (!xw && !yw && !seg_equal(&x, &y))
                        return false;
                /* a `>` takes whatever rest the other has (it has one segment here) */
                if (seg_is(&x, '>') || seg_is(&y, '>'))
                        return true;
                if (!x.more || !y.more)
                        return !x.more && !y.more;
                a = x.s + x.len + 1;
                s = y.s + y.len + 1;
        }
}

/* ---- checks ------------------------------------------------------------------- */

static bool in_group(const struct policy_subject *who, gid_t gid)
{
        if (who->gid == gid)
                return true;
        for (size_t i = 0; who->groups && i < who->ngroups; i++)
                if (who->groups[i] == gid)
                        return true;
        return false;
}

static bool subject_matches(const struct pol_rule *r, const struct policy_subject *who)
{
        switch (r->subject) {
        case POL_S_ANY:
                return true;
        case POL_S_UID:
                return who->uid == (uid_t)r->id;
        case POL_S_GID:
                return in_group(who, (gid_t)r->id);
        case POL_S_NOT_UID:
                return who->uid != (uid_t)r->id;
        case POL_S_NOT_GID:
                return !in_group(who, (gid_t)r->id);
        }
        return false;
}

static bool name_matches(const struct policy *p, const struct pol_entry *e, const char *name)
{
        const char *t = p->str + e->text;

        switch (e->kind) {
        case POL_ALL:
                return true;
        case POL_EXACT:
                return strcmp(t, name) == 0;
        case POL_PREFIX: /* "a.b.*": "a.b." and at least one more byte */
                return strlen(name) > e->len - 1 && memcmp(t, name, e->len - 1) == 0;
        }
        return false;
}

static bool entry_matches(const struct policy *p, const struct pol_entry *e, bool deny, enum policy_verb verb,
                          const char *object, const char *method)
{
        switch (verb) {
        case POLICY_CONNECT:
        case POLICY_MONITOR:
                return true;
        case POLICY_OWN:
        case POLICY_SEE:
                return name_matches(p, e, object);
        case POLICY_CALL:
                if (!name_matches(p, e, object))
                        return false;
                return e->method == POL_NONE || (method && strcmp(p->str + e->method, method) == 0);
        case POLICY_PUBLISH:
                return object[0] && syntax_pattern_matches(p->str + e->text, object);
        case POLICY_SUBSCRIBE:
        case POLICY_BACKPRESSURE:
                if (!object[0])
                        return false;
                return deny ? policy_pattern_intersects(p->str + e->text, object)
                            : policy_pattern_covers(p->str + e->text, object);
        case POLICY_VERB_COUNT:
                break;
        }
        return false;
}

static bool decide(struct policy_verdict *v, bool allowed, bool by_default)
{
        if (v) {
                v->allowed = allowed;
                v->by_default = by_default;
        }
        return allowed;
}

static void say_rule(const struct policy *p, const struct pol_rule *r, const struct pol_entry *e, enum policy_verb verb,
                     struct policy_verdict *v)
{
        if (!v)
                return;
        const char *file = p->str + p->files[r->file];
        const char *eff = r->deny ? "deny" : "allow";
        if (verb == POLICY_CONNECT || verb == POLICY_MONITOR)
                snprintf(v->rule, sizeof(v->rule), "%s: rules[%u] (%s %s)", file, r->index, eff, verb_names[verb]);
        else if (e->method != POL_NONE)
                snprintf(v->rule, sizeof(v->rule), "%s: rules[%u] (%s %s %s method %s)", file, r->index, eff,
                         verb_names[verb], p->str + e->text, p->str + e->method);
        else
                snprintf(v->rule, sizeof(v->rule), "%s: rules[%u] (%s %s %s)", file, r->index, eff, verb_names[verb],
                         p->str + e->text);
}

bool policy_check(const struct policy *p, const struct policy_subject *who, enum policy_verb verb, const char *object,
                  const char *method, struct policy_verdict *verdict)
{
        if (verdict)
                verdict->rule[0] = 0;
        if ((unsigned)verb >= POLICY_VERB_COUNT) {
                if (verdict)
                        snprintf(verdict->rule, sizeof(verdict->rule), "unknown verb %d", (int)verb);
                return decide(verdict, false, false);
        }
        if (who->uid == 0) {
                if (verdict)
                        snprintf(verdict->rule, sizeof(verdict->rule), "root");
                return decide(verdict, true, false);
        }
        if (p->has_owner && who->uid == p->owner) {
                if (verdict)
                        snprintf(verdict->rule, sizeof(verdict->rule), "bus owner");
                return decide(verdict, true, false);
        }
        if (!object)
                object = "";

        /* every rule for the subject: the first deny that matches decides at
         * once; an allow only when no deny matches at all */
        const struct pol_rule *allow_rule = NULL;
        const struct pol_entry *allow_entry = NULL;
        for (size_t i = 0; i < p->nrules; i++) {
                const struct pol_rule *r = &p->rules[i];
                if (r->count[verb] == 0 || (!r->deny && allow_rule) || !subject_matches(r, who))
                        continue;
                const struct pol_entry *e = &p->entries[r->first[verb]];
                for (uint32_t k = 0; k < r->count[verb]; k++, e++) {
                        if (!entry_matches(p, e, r->deny, verb, object, method))
                                continue;
                        if (r->deny) {
                                say_rule(p, r, e, verb, verdict);
                                return decide(verdict, false, false);
                        }
                        allow_rule = r;
                        allow_entry = e;
                        break;
                }
        }
        if (allow_rule) {
                say_rule(p, allow_rule, allow_entry, verb, verdict);
                return decide(verdict, true, false);
        }
        bool allowed = p->allow[verb];
        if (verdict) {
                const char *word = allowed ? "allow" : "deny";
                if (p->default_file[verb] != POL_NONE)
                        snprintf(verdict->rule, sizeof(verdict->rule), "default (%s: %s) from %s", verb_names[verb],
                                 word, p->str + p->files[p->default_file[verb]]);
                else
                        snprintf(verdict->rule, sizeof(verdict->rule), "built-in default (%s: %s)", verb_names[verb],
                                 word);
        }
        return decide(verdict, allowed, true);
}

void policy_quota(const struct policy *p, uid_t uid, struct policy_quota *ret)
{
        struct policy_quota q = p->quota;

        if (uid == 0) /* root is unlimited unless an override names it */
                q = (struct policy_quota){ UINT_MAX, UINT_MAX, UINT_MAX, UINT_MAX, UINT_MAX,
                                           SIZE_MAX, UINT_MAX, SIZE_MAX, SIZE_MAX };
        for (size_t i = 0; i < p->noverrides; i++) {
                const struct pol_override *o = &p->overrides[i];
                if ((uid_t)o->uid != uid)
                        continue;
                if (o->given & (1u << POL_Q_CONNECTIONS))
                        q.connections = o->q.connections;
                if (o->given & (1u << POL_Q_HANDSHAKES))
                        q.handshakes = o->q.handshakes;
                if (o->given & (1u << POL_Q_PENDING_CALLS))
                        q.pending_calls = o->q.pending_calls;
                if (o->given & (1u << POL_Q_NAMES))
                        q.names = o->q.names;
                if (o->given & (1u << POL_Q_SUBSCRIPTIONS))
                        q.subscriptions = o->q.subscriptions;
                if (o->given & (1u << POL_Q_QUEUE_BYTES))
                        q.queue_bytes = o->q.queue_bytes;
                if (o->given & (1u << POL_Q_QUEUED_FDS))
                        q.queued_fds = o->q.queued_fds;
                if (o->given & (1u << POL_Q_DECLARED_BYTES))
                        q.declared_bytes = o->q.declared_bytes;
                if (o->given & (1u << POL_Q_HELD_BYTES))
                        q.held_bytes = o->q.held_bytes;
        }
        *ret = q;
}
