/* quota.h: per-uid accounting (docs/policy.md, "Quotas").
 *
 * Every peer points at the account of its uid (peer->acct). The core modules
 * count what a peer holds into it as they count it into the peer (calls.c,
 * activate.c, registry.c, subs.c, the router's queues), so one lookup answers
 * "may this uid have one more?". Counters saturate instead of wrapping. An
 * account lives while the uid has a connection. Pure: no I/O.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "policy.h"

enum quota_kind {
        QUOTA_CONNECTIONS,
        QUOTA_HANDSHAKES,
        QUOTA_PENDING_CALLS,
        QUOTA_NAMES,
        QUOTA_SUBSCRIPTIONS,
        QUOTA_QUEUE_BYTES,
        QUOTA_QUEUED_FDS,     /* descriptors waiting in its connections' queues */
        QUOTA_DECLARED_BYTES, /* bytes of method declarations kept for its connections */
        QUOTA_HELD_BYTES,     /* bytes of its calls held while a service starts */
        QUOTA_KIND_COUNT,
};

struct uid_acct {
        uid_t uid;
        uint64_t used[QUOTA_KIND_COUNT];
        uint64_t limit[QUOTA_KIND_COUNT]; /* from the policy in force; UINT64_MAX: unlimited */
        uint64_t refused;                 /* requests refused for a quota */
};

struct quota_table;

struct quota_table *quota_table_new(void);
/* Frees the table and any account left. Accepts NULL. */
void quota_table_free(struct quota_table *t);
/* The quotas of new and existing accounts come from pol (NULL: unlimited). */
void quota_table_set_policy(struct quota_table *t, const struct policy *pol);
/* The account of uid, created with zero counters if it has none. NULL on
 * ENOMEM. */
struct uid_acct *quota_acct(struct quota_table *t, uid_t uid);
/* Forgets uid's account once it holds nothing (no connection left). */
void quota_acct_release(struct quota_table *t, struct uid_acct *a);
/* Would `add` more of kind pass uid's quota? Counts the refusal if so. */
bool quota_over(struct uid_acct *a, enum quota_kind kind, uint64_t add);
/* Saturating updates; a NULL account is ignored. */
void quota_add(struct uid_acct *a, enum quota_kind kind, uint64_t n);
void quota_sub(struct uid_acct *a, enum quota_kind kind, uint64_t n);
/* Calls fn for every account (for stats), in no particular order. */
void quota_foreach(struct quota_table *t, void (*fn)(const struct uid_acct *a, void *ud), void *ud);
size_t quota_count(const struct quota_table *t);
/* The policy-file key of a kind ("pending_calls"). */
const char *quota_kind_name(enum quota_kind kind);
