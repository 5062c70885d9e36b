/* policy_parse.c: policy files (JSON text, docs/policy.md) -> struct policy.
 *
 * Strict: the same JSON rules as the protocol (proto/jsonparse.h: duplicate
 * member names, bad UTF-8, NaN, huge integers refused), every key known, every
 * value typed, every entry a valid name, prefix, `*` or pattern. Any error
 * fails the whole load (no partial policy) with a message naming the file and
 * the place. No I/O: the caller reads the files and resolves user and group
 * names through a callback.
 */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buslimits.h"
#include "cfgerr.h"
#include "jsonget.h"
#include "jsonparse.h"
#include "policy-private.h"
#include "policy.h"
#include "syntax.h"

/* the file, rules, a rule, allow, a call list, a call entry; a little room */
#define POL_MAX_DEPTH 8
#define POL_MAX_ID 4294967294ull /* (uid_t)-1 is "no id" */

struct ctx {
        struct policy *p;
        const char *file;
        uint32_t file_idx;
        policy_resolve_fn resolve;
        void *userdata;
        char *err;
        size_t errlen;
};

/* "file: at: why" (cfgerr.h); returns -EINVAL. */
__attribute__((format(printf, 3, 4))) static int fail(struct ctx *x, const char *at, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        cfgerr_vformat(x->err, x->errlen, x->file, at, fmt, ap);
        va_end(ap);
        return -EINVAL;
}

static int oom(struct ctx *x)
{
        cfgerr_fail(x->err, x->errlen, x->file, "", "out of memory");
        return -ENOMEM;
}

/* A user-supplied string, fit for a one-line message: control characters
 * become '?', long ones are cut on a UTF-8 boundary with "...". */
static const char *shown_str(const char *s, size_t len, char *buf, size_t blen)
{
        size_t n = 0, max = blen - 4;

        for (size_t i = 0; i < len; i++) {
                if (n >= max) {
                        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
                                n--; /* s[n] (not yet copied) continues a sequence begun before n */
                        memcpy(buf + n, "...", 3);
                        n += 3;
                        break;
                }
                unsigned char c = (unsigned char)s[i];
                buf[n++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
        }
        buf[n] = 0;
        return buf;
}

/* A short rendering of any JSON value, for "not X" messages. */
static const char *shown(struct json_object *v, char *buf, size_t blen)
{
        const char *s = v ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
                          : "null";

        if (!s)
                return "?";
        return shown_str(s, strlen(s), buf, blen);
}

static const char *type_of(struct json_object *v)
{
        switch (v ? json_object_get_type(v) : json_type_null) {
        case json_type_null:
                return "null";
        case json_type_boolean:
                return "a boolean";
        case json_type_double:
                return "a number with a fraction";
        case json_type_int:
                return "an integer";
        case json_type_object:
                return "an object";
        case json_type_array:
                return "an array";
        case json_type_string:
                return "a string";
        }
        return "?";
}

static bool is_type(struct json_object *v, enum json_type t)
{
        return v && json_object_is_type(v, t);
}

static int verb_of(const char *name)
{
        for (int v = 0; v < POLICY_VERB_COUNT; v++)
                if (strcmp(name, policy_verb_name((enum policy_verb)v)) == 0)
                        return v;
        return -1;
}

static int unknown_key(struct ctx *x, const char *at, const char *key, const char *known)
{
        char b[80];
        return fail(x, at, "unknown key '%s' (known here: %s)", shown_str(key, strlen(key), b, sizeof(b)), known);
}

/* Where in the file: `at` and a suffix ("rules[2]" + ".for"), cut to fit.
 * Only for messages. */
#define PLACE_LEN 256
static const char *place(char *buf, const char *at, const char *suffix)
{
        size_t a = strnlen(at, PLACE_LEN - 1), n = strnlen(suffix, PLACE_LEN - 1 - a);

        memcpy(buf, at, a);
        memcpy(buf + a, suffix, n);
        buf[a + n] = 0;
        return buf;
}

static const char *place_index(char *buf, const char *at, size_t i)
{
        char idx[32];

        snprintf(idx, sizeof(idx), "[%zu]", i);
        return place(buf, at, idx);
}

static const char *place_key(char *buf, const char *at, const char *key)
{
        char k[PLACE_LEN + 1];

        k[0] = '.';
        place(k + 1, "", key);
        return place(buf, at, k);
}

/* ---- entries ------------------------------------------------------------------ */

static int add_entry(struct ctx *x, const char *at, const char *s, size_t len, uint8_t kind, const char *method)
{
        struct policy *p = x->p;
        struct pol_entry e = { .kind = kind, .method = POL_NONE, .len = (uint32_t)len };

        if (p->nentries >= POL_MAX_ITEMS)
                return fail(x, at, "more than %u entries in all policy files together", POL_MAX_ITEMS);
        if (pol_grow((void **)&p->entries, p->nentries, &p->centries, sizeof(e)) < 0 ||
            pol_str(p, s, len, &e.text) < 0 || (method && pol_str(p, method, strlen(method), &e.method) < 0))
                return oom(x);
        p->entries[p->nentries++] = e;
        return 0;
}

/* A name form: an exact well-known name, "a.b.*" or "*". Anything else (an
 * empty string, a wildcard anywhere else) is refused: it must never widen a
 * rule. */
static int name_form(struct ctx *x, const char *at, struct json_object *v, uint8_t *ret_kind)
{
        char b[80];
        const char *s;
        size_t len;

        if (jsonget_as_string(v, &s, &len) != JSONGET_OK)
                return fail(x, at, "must be a string: a name, a prefix 'a.b.*' or '*', not %s", type_of(v));
        if (len == 1 && s[0] == '*') {
                *ret_kind = POL_ALL;
                return 0;
        }
        if (syntax_is_name(s, len)) {
                *ret_kind = POL_EXACT;
                return 0;
        }
        if (len > 2 && len <= BUS_MAX_NAME && s[len - 2] == '.' && s[len - 1] == '*') {
                /* "a.b.*" is a prefix when "a.b.x" is a name */
                char probe[BUS_MAX_NAME + 2];
                memcpy(probe, s, len - 1);
                probe[len - 1] = 'x';
                if (syntax_is_name(probe, len)) {
                        *ret_kind = POL_PREFIX;
                        return 0;
                }
        }
        return fail(x, at, "'%s' is not a name, a prefix 'a.b.*' or '*'", shown_str(s, len, b, sizeof(b)));
}

static int call_entry(struct ctx *x, const char *at, struct json_object *v)
{
        uint8_t kind;
        char sub[PLACE_LEN], b[80];

        if (!is_type(v, json_type_object)) {
                int r = name_form(x, at, v, &kind);
                return r < 0 ? r
                             : add_entry(x, at, json_object_get_string(v), strlen(json_object_get_string(v)), kind,
                                         NULL);
        }
        struct json_object *name = NULL, *method = NULL;
        json_object_object_foreach(v, key, val)
        {
                if (strcmp(key, "name") == 0)
                        name = val;
                else if (strcmp(key, "method") == 0)
                        method = val;
                else
                        return unknown_key(x, at, key, "name, method");
        }
        if (!json_object_object_get_ex(v, "name", NULL) || !json_object_object_get_ex(v, "method", NULL))
                return fail(x, at, "a method entry needs both \"name\" and \"method\"");
        place(sub, at, ".name");
        int r = name_form(x, sub, name, &kind);
        if (r < 0)
                return r;
        place(sub, at, ".method");
        const char *m;
        size_t mlen;
        if (jsonget_as_string(method, &m, &mlen) != JSONGET_OK)
                return fail(x, sub, "must be a method name (a string), not %s", type_of(method));
        if (!syntax_is_method(m, mlen))
                return fail(x, sub, "'%s' is not a method name", shown_str(m, mlen, b, sizeof(b)));
        const char *n = json_object_get_string(name);
        return add_entry(x, at, n, strlen(n), kind, m);
}

static int pattern_entry(struct ctx *x, const char *at, struct json_object *v)
{
        char b[80];
        const char *s;
        size_t len;

        if (jsonget_as_string(v, &s, &len) != JSONGET_OK)
                return fail(x, at, "must be a topic pattern (a string), not %s", type_of(v));
        if (!syntax_is_pattern(s, len))
                return fail(x, at, "'%s' is not a topic pattern (segments of [A-Za-z0-9_:@+-], '*', a last '>')",
                            shown_str(s, len, b, sizeof(b)));
        return add_entry(x, at, s, len, POL_PATTERN, NULL);
}

/* The entries of one verb of one rule. */
static int verb_entries(struct ctx *x, const char *at, int verb, struct json_object *v, struct pol_rule *r)
{
        char sub[PLACE_LEN];

        r->first[verb] = (uint32_t)x->p->nentries;
        if (verb == POLICY_CONNECT || verb == POLICY_MONITOR) {
                bool yes = false;
                if (jsonget_as_bool(v, &yes) != JSONGET_OK || !yes)
                        return fail(x, at, "%s takes the value true, not %s", policy_verb_name((enum policy_verb)verb),
                                    shown(v, sub, 48));
                int e = add_entry(x, at, "", 0, POL_ALL, NULL);
                r->count[verb] = 1;
                return e;
        }
        if (!is_type(v, json_type_array))
                return fail(x, at, "must be an array of entries, not %s", type_of(v));
        size_t n = json_object_array_length(v);
        for (size_t i = 0; i < n; i++) {
                struct json_object *e = json_object_array_get_idx(v, i);
                int res;
                uint8_t kind;
                place_index(sub, at, i);
                switch (verb) {
                case POLICY_OWN:
                case POLICY_SEE:
                        res = name_form(x, sub, e, &kind);
                        if (res == 0)
                                res = add_entry(x, sub, json_object_get_string(e),
                                                (size_t)json_object_get_string_len(e), kind, NULL);
                        break;
                case POLICY_CALL:
                        res = call_entry(x, sub, e);
                        break;
                default:
                        res = pattern_entry(x, sub, e);
                        break;
                }
                if (res < 0)
                        return res;
        }
        r->count[verb] = (uint32_t)n;
        return 0;
}

/* ---- subjects ----------------------------------------------------------------- */

static int id_value(struct ctx *x, const char *at, struct json_object *v, uint32_t *ret)
{
        char b[48];
        uint64_t id;

        if (jsonget_as_uint(v, 0, POL_MAX_ID, &id) != JSONGET_OK)
                return fail(x, at, "must be an integer from 0 to %llu, not %s", POL_MAX_ID, shown(v, b, sizeof(b)));
        *ret = (uint32_t)id;
        return 0;
}

/* `at` is the value's place, `forat` the subject's (an unknown name is the
 * subject's fault: "rules[2].for: unknown user 'alise'"). */
static int resolve_name(struct ctx *x, const char *at, const char *forat, bool group, struct json_object *v,
                        uint32_t *ret)
{
        const char *what = group ? "group" : "user";
        char b[80];
        const char *s;
        size_t len;

        if (jsonget_as_string(v, &s, &len) != JSONGET_OK)
                return fail(x, at, "must be a %s name (a string), not %s", what, type_of(v));
        if (len == 0 || len != strlen(s))
                return fail(x, at, "'%s' is not a %s name", shown_str(s, len, b, sizeof(b)), what);
        unsigned id = 0;
        if (!x->resolve || x->resolve(x->userdata, group, s, &id) < 0)
                return fail(x, forat, "unknown %s '%s'", what, shown_str(s, len, b, sizeof(b)));
        if (id > POL_MAX_ID)
                return fail(x, at, "%s '%s' resolves to the invalid id %u", what, shown_str(s, len, b, sizeof(b)), id);
        *ret = id;
        return 0;
}

/* "for": "*" or {"uid"|"gid"|"user"|"group": ...}, or the complement of one
 * ("not_uid", "not_gid", "not_user", "not_group": everyone else). Quota
 * overrides take only a uid or a user (quotas are per uid). */
static int subject(struct ctx *x, const char *at, struct json_object *v, bool uid_only, uint8_t *ret_kind,
                   uint32_t *ret_id)
{
        const char *forms = uid_only ? "{\"uid\": N} or {\"user\": \"name\"}"
                                     : "\"*\" or an object with one of uid, gid, user, group (or not_uid, not_gid, "
                                       "not_user, not_group)";
        char sub[PLACE_LEN];
        const char *s;
        size_t len;

        if (!uid_only && jsonget_as_string(v, &s, &len) == JSONGET_OK && len == 1 && s[0] == '*') {
                *ret_kind = POL_S_ANY;
                *ret_id = 0;
                return 0;
        }
        if (!is_type(v, json_type_object) || json_object_object_length(v) != 1)
                return fail(x, at, "must be %s%s", forms,
                            uid_only && is_type(v, json_type_string) ? " (quotas.default is for everyone)" : "");
        json_object_object_foreach(v, key, val)
        {
                place_key(sub, at, key);
                bool negate = !uid_only && strncmp(key, "not_", 4) == 0;
                if (negate)
                        key += 4;
                bool uid = strcmp(key, "uid") == 0, user = strcmp(key, "user") == 0;
                bool gid = strcmp(key, "gid") == 0, group = strcmp(key, "group") == 0;
                if (uid_only && (gid || group))
                        return fail(x, sub, "quotas are per uid: use uid or user");
                if (!uid && !user && !gid && !group)
                        return unknown_key(x, at, negate ? key - 4 : key,
                                           uid_only ? "uid, user"
                                                    : "uid, gid, user, group, not_uid, not_gid, not_user, not_group");
                *ret_kind = negate        ? (uid || user ? POL_S_NOT_UID : POL_S_NOT_GID)
                            : uid || user ? POL_S_UID
                                          : POL_S_GID;
                return uid || gid ? id_value(x, sub, val, ret_id) : resolve_name(x, sub, at, group, val, ret_id);
        }
        return -EINVAL; /* not reached: one member */
}

/* ---- sections ----------------------------------------------------------------- */

static int parse_rule(struct ctx *x, size_t index, struct json_object *v)
{
        struct policy *p = x->p;
        struct pol_rule r = { .file = x->file_idx, .index = (uint32_t)index };
        struct json_object *forv = NULL, *grants = NULL;
        char at[PLACE_LEN], sub[PLACE_LEN];
        int nkeys = 0;

        place_index(at, "rules", index);
        if (!is_type(v, json_type_object))
                return fail(x, at, "must be an object with \"for\" and \"allow\" or \"deny\", not %s", type_of(v));
        json_object_object_foreach(v, key, val)
        {
                if (strcmp(key, "for") == 0) {
                        forv = val;
                } else if (strcmp(key, "allow") == 0 || strcmp(key, "deny") == 0) {
                        grants = val;
                        r.deny = key[0] == 'd';
                        nkeys++;
                } else {
                        return unknown_key(x, at, key, "for, allow, deny");
                }
        }
        if (!json_object_object_get_ex(v, "for", NULL))
                return fail(x, at, "missing \"for\" (whom the rule is for, e.g. \"*\" or {\"group\": \"audio\"})");
        if (nkeys != 1)
                return fail(x, at, "needs exactly one of \"allow\" and \"deny\"");
        place(sub, at, ".for");
        int res = subject(x, sub, forv, false, &r.subject, &r.id);
        if (res < 0)
                return res;
        place(sub, at, r.deny ? ".deny" : ".allow");
        if (!is_type(grants, json_type_object))
                return fail(x, sub, "must be an object mapping verbs to entries, not %s", type_of(grants));
        if (p->nrules >= POL_MAX_ITEMS)
                return fail(x, at, "more than %u rules in all policy files together", POL_MAX_ITEMS);
        json_object_object_foreach(grants, vkey, vval)
        {
                char vat[PLACE_LEN];
                int verb = verb_of(vkey);
                if (verb < 0)
                        return fail(
                                x, sub,
                                "unknown verb '%s' (verbs: connect, own, call, publish, subscribe, see, backpressure, monitor)",
                                shown_str(vkey, strlen(vkey), vat, 80));
                place_key(vat, sub, vkey);
                res = verb_entries(x, vat, verb, vval, &r);
                if (res < 0)
                        return res;
        }
        if (pol_grow((void **)&p->rules, p->nrules, &p->crules, sizeof(r)) < 0)
                return oom(x);
        p->rules[p->nrules++] = r;
        return 0;
}

static int parse_rules(struct ctx *x, struct json_object *v)
{
        if (!is_type(v, json_type_array))
                return fail(x, "rules", "must be an array of rules, not %s", type_of(v));
        size_t n = json_object_array_length(v);
        for (size_t i = 0; i < n; i++) {
                int r = parse_rule(x, i, json_object_array_get_idx(v, i));
                if (r < 0)
                        return r;
        }
        return 0;
}

static int parse_defaults(struct ctx *x, struct json_object *v)
{
        char at[PLACE_LEN], b[48];

        if (!is_type(v, json_type_object))
                return fail(x, "default", "must be an object like {\"own\": \"deny\"}, not %s", type_of(v));
        json_object_object_foreach(v, key, val)
        {
                int verb = verb_of(key);
                if (verb < 0)
                        return fail(
                                x, "default",
                                "unknown verb '%s' (verbs: connect, own, call, publish, subscribe, see, backpressure, monitor)",
                                shown_str(key, strlen(key), at, sizeof(at)));
                place_key(at, "default", key);
                const char *s = "";
                size_t len = 0;
                jsonget_as_string(val, &s, &len);
                if ((len != 5 || strcmp(s, "allow") != 0) && (len != 4 || strcmp(s, "deny") != 0))
                        return fail(x, at, "must be \"allow\" or \"deny\", not %s", shown(val, b, sizeof(b)));
                x->p->allow[verb] = s[0] == 'a';
                x->p->default_file[verb] = x->file_idx;
        }
        return 0;
}

static const struct {
        const char *name;
        uint64_t max;
} quota_keys[POL_Q_COUNT] = {
        [POL_Q_CONNECTIONS] = { "connections", 1ull << 31 },
        [POL_Q_HANDSHAKES] = { "handshakes", 1ull << 31 },
        [POL_Q_PENDING_CALLS] = { "pending_calls", 1ull << 31 },
        [POL_Q_NAMES] = { "names", 1ull << 31 },
        [POL_Q_SUBSCRIPTIONS] = { "subscriptions", 1ull << 31 },
        [POL_Q_QUEUE_BYTES] = { "queue_bytes", SIZE_MAX < (1ull << 48) ? SIZE_MAX : 1ull << 48 },
        [POL_Q_QUEUED_FDS] = { "queued_fds", 1ull << 31 },
        [POL_Q_DECLARED_BYTES] = { "declared_bytes", SIZE_MAX < (1ull << 48) ? SIZE_MAX : 1ull << 48 },
        [POL_Q_HELD_BYTES] = { "held_bytes", SIZE_MAX < (1ull << 48) ? SIZE_MAX : 1ull << 48 },
};
#define QUOTA_KNOWN                                                                                               \
        "connections, handshakes, pending_calls, names, subscriptions, queue_bytes, queued_fds, declared_bytes, " \
        "held_bytes"

static void quota_set(struct policy_quota *q, int k, uint64_t v)
{
        switch (k) {
        case POL_Q_CONNECTIONS:
                q->connections = (unsigned)v;
                break;
        case POL_Q_HANDSHAKES:
                q->handshakes = (unsigned)v;
                break;
        case POL_Q_PENDING_CALLS:
                q->pending_calls = (unsigned)v;
                break;
        case POL_Q_NAMES:
                q->names = (unsigned)v;
                break;
        case POL_Q_SUBSCRIPTIONS:
                q->subscriptions = (unsigned)v;
                break;
        case POL_Q_QUEUE_BYTES:
                q->queue_bytes = (size_t)v;
                break;
        case POL_Q_QUEUED_FDS:
                q->queued_fds = (unsigned)v;
                break;
        case POL_Q_DECLARED_BYTES:
                q->declared_bytes = (size_t)v;
                break;
        default:
                q->held_bytes = (size_t)v;
                break;
        }
}

/* One quota key of `at` (an object); `skip` is a key handled by the caller. */
static int quota_value(struct ctx *x, const char *at, const char *key, struct json_object *val, struct policy_quota *q,
                       uint32_t *given, const char *known)
{
        char sub[PLACE_LEN], b[48];

        for (int k = 0; k < POL_Q_COUNT; k++) {
                if (strcmp(key, quota_keys[k].name) != 0)
                        continue;
                place_key(sub, at, key);
                uint64_t v;
                if (jsonget_as_uint(val, 1, quota_keys[k].max, &v) != JSONGET_OK)
                        return fail(x, sub, "must be an integer from 1 to %" PRIu64 ", not %s", quota_keys[k].max,
                                    shown(val, b, sizeof(b)));
                quota_set(q, k, v);
                *given |= 1u << k;
                return 0;
        }
        return unknown_key(x, at, key, known);
}

static int parse_override(struct ctx *x, size_t index, struct json_object *v)
{
        struct policy *p = x->p;
        struct pol_override o = { 0 };
        char at[PLACE_LEN], sub[PLACE_LEN];
        uint8_t kind;

        place_index(at, "quotas.overrides", index);
        if (!is_type(v, json_type_object))
                return fail(x, at, "must be an object with \"for\" and quota keys, not %s", type_of(v));
        struct json_object *forv = NULL;
        if (jsonget_member(v, "for", &forv) != JSONGET_OK)
                return fail(x, at, "missing \"for\" ({\"uid\": N} or {\"user\": \"name\"})");
        place(sub, at, ".for");
        int r = subject(x, sub, forv, true, &kind, &o.uid);
        if (r < 0)
                return r;
        json_object_object_foreach(v, key, val)
        {
                if (strcmp(key, "for") == 0)
                        continue;
                r = quota_value(x, at, key, val, &o.q, &o.given, "for, " QUOTA_KNOWN);
                if (r < 0)
                        return r;
        }
        if (p->noverrides >= POL_MAX_ITEMS)
                return fail(x, at, "more than %u quota overrides in all policy files together", POL_MAX_ITEMS);
        if (pol_grow((void **)&p->overrides, p->noverrides, &p->coverrides, sizeof(o)) < 0)
                return oom(x);
        p->overrides[p->noverrides++] = o;
        return 0;
}

static int parse_quotas(struct ctx *x, struct json_object *v)
{
        if (!is_type(v, json_type_object))
                return fail(x, "quotas", "must be an object with \"default\" and/or \"overrides\", not %s", type_of(v));
        json_object_object_foreach(v, key, val)
        {
                int r;
                if (strcmp(key, "default") == 0) {
                        uint32_t given = 0;
                        if (!is_type(val, json_type_object))
                                return fail(x, "quotas.default", "must be an object of quota keys, not %s",
                                            type_of(val));
                        json_object_object_foreach(val, qkey, qval)
                        {
                                r = quota_value(x, "quotas.default", qkey, qval, &x->p->quota, &given, QUOTA_KNOWN);
                                if (r < 0)
                                        return r;
                        }
                } else if (strcmp(key, "overrides") == 0) {
                        if (!is_type(val, json_type_array))
                                return fail(x, "quotas.overrides", "must be an array, not %s", type_of(val));
                        size_t n = json_object_array_length(val);
                        for (size_t i = 0; i < n; i++) {
                                r = parse_override(x, i, json_object_array_get_idx(val, i));
                                if (r < 0)
                                        return r;
                        }
                } else {
                        return unknown_key(x, "quotas", key, "default, overrides");
                }
        }
        return 0;
}

/* ---- files -------------------------------------------------------------------- */

/* jsonparse says "invalid JSON at byte N: why" (or "invalid JSON: why");
 * an administrator wants "FILE: line L, column C: invalid JSON: why". */
static void json_error(struct ctx *x, const char *text, size_t len, const char *msg)
{
        const char *at = strstr(msg, " at byte ");
        size_t pos = len, line = 1, col = 1;
        const char *why = msg;

        if (at) {
                char *end;
                unsigned long long n = strtoull(at + 9, &end, 10);
                if (end != at + 9 && n <= len && end[0] == ':') {
                        pos = (size_t)n;
                        why = end + 2;
                }
        } else if (strncmp(msg, "invalid JSON: ", 14) == 0) {
                why = msg + 14;
        }
        for (size_t i = 0; i < pos; i++) {
                if (text[i] == '\n') {
                        line++;
                        col = 1;
                } else {
                        col++;
                }
        }
        if (x->errlen)
                snprintf(x->err, x->errlen, "%s: line %zu, column %zu: invalid JSON: %s", x->file, line, col, why);
}

static int parse_file(struct ctx *x, struct jsonparse *jp, const struct policy_source *f)
{
        struct json_object *root = NULL;
        const char *text = f->text ? f->text : "";
        size_t len = f->text ? f->len : 0;
        char why[300];
        int r;

        if (pol_grow((void **)&x->p->files, x->p->nfiles, &x->p->cfiles, sizeof(uint32_t)) < 0 ||
            pol_str(x->p, x->file, strlen(x->file), &x->p->files[x->p->nfiles]) < 0)
                return oom(x);
        x->file_idx = (uint32_t)x->p->nfiles++;
        if (jsonparse_parse(jp, text, len, &root, why, sizeof(why)) < 0) {
                json_error(x, text, len, why);
                return -EINVAL;
        }
        if (!is_type(root, json_type_object)) {
                r = fail(x, "", "a policy file holds one JSON object ({} at least), not %s", type_of(root));
                json_object_put(root); /* after type_of(root) */
                return r;
        }
        r = 0;
        json_object_object_foreach(root, key, val)
        {
                if (strcmp(key, "default") == 0)
                        r = parse_defaults(x, val);
                else if (strcmp(key, "rules") == 0)
                        r = parse_rules(x, val);
                else if (strcmp(key, "quotas") == 0)
                        r = parse_quotas(x, val);
                else
                        r = unknown_key(x, "", key, "default, rules, quotas");
                if (r < 0)
                        break;
        }
        json_object_put(root);
        return r;
}

int policy_parse(const struct policy_source *files, size_t n, policy_resolve_fn resolve, void *userdata,
                 struct policy **ret, char *errbuf, size_t errlen)
{
        struct ctx x = {
                .resolve = resolve, .userdata = userdata, .err = errbuf, .errlen = errbuf ? errlen : 0, .file = "policy"
        };
        int r = 0;

        if (x.errlen)
                errbuf[0] = 0;
        x.p = pol_new();
        struct jsonparse *jp = jsonparse_new(POL_MAX_DEPTH);
        if (!x.p || !jp) {
                policy_free(x.p);
                jsonparse_free(jp);
                return oom(&x);
        }
        for (size_t i = 0; i < n && r == 0; i++) {
                x.file = files[i].path ? files[i].path : "(policy)";
                r = parse_file(&x, jp, &files[i]);
        }
        jsonparse_free(jp);
        if (r < 0) {
                policy_free(x.p);
                return r;
        }
        *ret = x.p;
        return 0;
}
