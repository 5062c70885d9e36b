/* policy.h: access control and per-uid quotas (docs/policy.md).
 *
 * A policy is built from policy files (JSON) and answers one question for
 * every path a message can take: may this subject do this verb on this
 * object? Deny wins over allow; what no rule decides falls to the policy's
 * defaults. The same policy gives each uid its quotas. Pure: no I/O (the
 * caller reads the files and resolves user and group names through a
 * callback); immutable once built, so a reload builds a new one and swaps.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum policy_verb {
        POLICY_CONNECT,      /* object NULL: may this subject use the bus at all */
        POLICY_OWN,          /* object: a well-known name */
        POLICY_CALL,         /* object: the destination's well-known name ("" for a unique id whose
                           * owner has no name); method: the method */
        POLICY_PUBLISH,      /* object: a topic */
        POLICY_SUBSCRIBE,    /* object: a pattern: allowed only if every topic it can match is */
        POLICY_SEE,          /* object: a well-known name shown in list/owner/introspect */
        POLICY_BACKPRESSURE, /* object: a pattern, as subscribe: may its subscription hold publishers
                              * back when its queue is full, instead of losing their events? */
        POLICY_MONITOR,      /* object NULL: may this subject monitor all traffic (protocol §4.10), not
                              * only its own uid's? */
        POLICY_VERB_COUNT,
};

/* Who asks: taken from the kernel at connect (SO_PEERCRED, SO_PEERGROUPS). */
struct policy_subject {
        uid_t uid;
        gid_t gid;
        const gid_t *groups; /* supplementary groups, may be NULL */
        size_t ngroups;
};

/* Why a check came out as it did, for error messages and logs:
 * "/etc/busd/policy.d/50-audio.json: rules[1] (deny call org.example.Audio)",
 * "default (own: deny) from /etc/busd/policy.json", "built-in default (call: allow)",
 * "root", "bus owner". `rule` is always NUL-terminated (long paths are cut). */
struct policy_verdict {
        bool allowed;
        /* true when no rule decided and the verb's default did; false when a
         * rule, root or the bus owner did. A call to a connection with several
         * names checks each: a name decided by a rule weighs more than one
         * left to the default. */
        bool by_default;
        char rule[256];
};

/* Per-uid limits (docs/policy.md, quotas). 0 never means "unlimited". */
struct policy_quota {
        unsigned connections;   /* connections of the uid at once */
        unsigned handshakes;    /* of which not past hello yet */
        unsigned pending_calls; /* calls waiting for an answer, all its connections together */
        unsigned names;         /* names owned or queued for */
        unsigned subscriptions;
        size_t queue_bytes;    /* bytes queued in the daemon for its connections */
        unsigned queued_fds;   /* descriptors queued in the daemon for its connections */
        size_t declared_bytes; /* method declarations its connections keep in the daemon */
        size_t held_bytes;     /* calls its connections have held for services being started */
};

/* One policy file's text, in the order files apply (policy.json first, then
 * policy.d/ in lexical order). */
struct policy_source {
        const char *path; /* for messages */
        const char *text;
        size_t len;
};

/* Resolves a user (group = false) or group name to its number; returns 0 or
 * -ENOENT. The daemon passes getpwnam_r/getgrnam_r; tests pass tables. */
typedef int (*policy_resolve_fn)(void *userdata, bool group, const char *name, unsigned *ret_id);

struct policy;

/* Builds a policy from files. Every verb whose default no file sets is
 * denied. No file at all is not an error here (n = 0 gives a policy that
 * denies everything but root); the caller uses policy_default() then.
 * Returns 0 and a new policy in *ret, or -EINVAL with errbuf naming the file,
 * the place and the reason ("policy.d/x.json: rules[2].for: unknown user
 * 'alise'"), or -ENOMEM. Fails closed: any error, no policy (*ret untouched).
 * errbuf may be NULL when errlen is 0. */
int policy_parse(const struct policy_source *files, size_t n, policy_resolve_fn resolve, void *userdata,
                 struct policy **ret, char *errbuf, size_t errlen);
/* The embedded policy when no file exists. system: owning names is denied
 * unless granted, everything else allowed, root may do everything; user bus
 * (system = false): only `owner_uid` may connect, and it may do everything. */
struct policy *policy_default(bool system, uid_t owner_uid);
void policy_free(struct policy *p);

/* The one check every path uses. Returns verdict->allowed (verdict may be
 * NULL). object: see enum policy_verb (NULL is taken as ""); method: for
 * POLICY_CALL, else ignored. No allocation; safe to call concurrently on one
 * policy. */
bool policy_check(const struct policy *p, const struct policy_subject *who, enum policy_verb verb, const char *object,
                  const char *method, struct policy_verdict *verdict);
/* The quotas of a uid (defaults, then the overrides that match it). */
void policy_quota(const struct policy *p, uid_t uid, struct policy_quota *ret);
/* "connect", "own", "call", "publish", "subscribe", "see"; "?" out of range. */
const char *policy_verb_name(enum policy_verb verb);

/* The segment-wise relations of two valid topic patterns that subscribe
 * checks use (docs/policy.md): covers: every topic that `s` matches, `a`
 * matches too (an allow entry `a` applies to a subscription `s`);
 * intersects: some topic matches both (a deny entry `a` applies to `s`). A
 * topic is a pattern without wildcards, so for a topic both equal
 * syntax_pattern_matches(a, topic). The `$` rule holds: a wildcard in the
 * first segment matches no topic starting with `$`. */
bool policy_pattern_covers(const char *a, const char *s);
bool policy_pattern_intersects(const char *a, const char *s);
