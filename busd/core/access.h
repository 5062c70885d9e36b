/* access.h: the policy on every path of the router (docs/policy.md). The
 * routing core asks here before it lets a peer connect, own a name, call,
 * publish, subscribe or see; denials are counted and logged at a bounded
 * rate. After a policy change access_revoke() takes back what the new policy
 * no longer allows. Pure: no I/O.
 */
#pragma once

#include <stdbool.h>

#include "policy.h"

struct msg;
struct peer;
struct router;

/* May p do verb on object (method may be NULL)? Always fills v. A denial is
 * counted and logged (rate-limited) unless quiet. */
bool access_check(struct router *r, struct peer *p, enum policy_verb verb, const char *object, const char *method,
                  bool quiet, struct policy_verdict *v);
/* The same for a destination that is a connection q, over the names it owns
 * (an explicit deny of any denies, then an explicit allow of any allows, then
 * the default; "" when it owns none). */
bool access_check_peer(struct router *r, struct peer *p, enum policy_verb verb, const struct peer *q,
                       const char *method, bool quiet, struct policy_verdict *v);
/* Counts (unless !count) and logs (rate-limited) a denial that a quiet check
 * returned, once the caller knows it will report it. A denial answered as
 * `no_owner`, because the asker may not see the name, is logged but not
 * counted: the count is in `stats` for anyone to read and would tell that
 * the name exists. */
void access_note_denial(struct router *r, struct peer *p, enum policy_verb verb, const char *object, const char *method,
                        const struct policy_verdict *v, bool count);
/* Answers m with a `denied` error naming what and the rule. */
void access_denied(struct router *r, struct peer *p, const struct msg *m, const char *what,
                   const struct policy_verdict *v);
/* Sets up the rate limit of denial log lines (router_new()). */
void access_init(struct router *r);
/* After a policy change: takes back names and subscriptions no longer
 * allowed, telling each peer with a `revoked` error. */
void access_revoke(struct router *r);
