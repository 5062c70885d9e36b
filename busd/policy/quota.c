/* quota.c: per-uid accounts in a json-c hash table keyed by uid. */
#include "quota.h"

#include <json-c/linkhash.h>
#include <limits.h>
#include <stdlib.h>

struct quota_table {
        struct lh_table *accts; /* uid -> struct uid_acct * */
        const struct policy *pol;
};

static void *uid_key(uid_t uid)
{
        /* uid 0 is a valid key: offset by one so that no key is NULL */
        return (void *)((uintptr_t)uid + 1);
}

static void free_entry(struct lh_entry *e)
{
        free(lh_entry_v(e));
}

struct quota_table *quota_table_new(void)
{
        struct quota_table *t = calloc(1, sizeof(*t));

        if (!t)
                return NULL;
        t->accts = lh_kptr_table_new(64, free_entry);
        if (!t->accts) {
                free(t);
                return NULL;
        }
        return t;
}

void quota_table_free(struct quota_table *t)
{
        if (!t)
                return;
        lh_table_free(t->accts);
        free(t);
}

static uint64_t limit_of(unsigned v)
{
        return v == UINT_MAX ? UINT64_MAX : v;
}

static void set_limits(const struct policy *pol, struct uid_acct *a)
{
        struct policy_quota q;

        if (!pol) {
                for (int k = 0; k < QUOTA_KIND_COUNT; k++)
                        a->limit[k] = UINT64_MAX;
                return;
        }
        policy_quota(pol, a->uid, &q);
        a->limit[QUOTA_CONNECTIONS] = limit_of(q.connections);
        a->limit[QUOTA_HANDSHAKES] = limit_of(q.handshakes);
        a->limit[QUOTA_PENDING_CALLS] = limit_of(q.pending_calls);
        a->limit[QUOTA_NAMES] = limit_of(q.names);
        a->limit[QUOTA_SUBSCRIPTIONS] = limit_of(q.subscriptions);
        a->limit[QUOTA_QUEUE_BYTES] = q.queue_bytes == SIZE_MAX ? UINT64_MAX : (uint64_t)q.queue_bytes;
        a->limit[QUOTA_QUEUED_FDS] = limit_of(q.queued_fds);
        a->limit[QUOTA_DECLARED_BYTES] = q.declared_bytes == SIZE_MAX ? UINT64_MAX : (uint64_t)q.declared_bytes;
        a->limit[QUOTA_HELD_BYTES] = q.held_bytes == SIZE_MAX ? UINT64_MAX : (uint64_t)q.held_bytes;
}

void quota_table_set_policy(struct quota_table *t, const struct policy *pol)
{
        struct lh_entry *e;

        t->pol = pol;
        lh_foreach(t->accts, e) set_limits(pol, (struct uid_acct *)lh_entry_v(e));
}

struct uid_acct *quota_acct(struct quota_table *t, uid_t uid)
{
        struct uid_acct *a;

        if (lh_table_lookup_ex(t->accts, uid_key(uid), (void **)&a))
                return a;
        a = calloc(1, sizeof(*a));
        if (!a)
                return NULL;
        a->uid = uid;
        set_limits(t->pol, a);
        if (lh_table_insert(t->accts, uid_key(uid), a) < 0) {
                free(a);
                return NULL;
        }
        return a;
}

void quota_acct_release(struct quota_table *t, struct uid_acct *a)
{
        if (a && a->used[QUOTA_CONNECTIONS] == 0)
                lh_table_delete(t->accts, uid_key(a->uid)); /* frees a */
}

bool quota_over(struct uid_acct *a, enum quota_kind kind, uint64_t add)
{
        if (!a)
                return false;
        uint64_t used = a->used[kind];
        bool over = add > a->limit[kind] || used > a->limit[kind] - add;
        if (over && a->refused < UINT64_MAX)
                a->refused++;
        return over;
}

void quota_add(struct uid_acct *a, enum quota_kind kind, uint64_t n)
{
        if (a)
                a->used[kind] = a->used[kind] > UINT64_MAX - n ? UINT64_MAX : a->used[kind] + n;
}

void quota_sub(struct uid_acct *a, enum quota_kind kind, uint64_t n)
{
        if (a)
                a->used[kind] = a->used[kind] < n ? 0 : a->used[kind] - n;
}

void quota_foreach(struct quota_table *t, void (*fn)(const struct uid_acct *a, void *ud), void *ud)
{
        struct lh_entry *e;

        lh_foreach(t->accts, e) fn((const struct uid_acct *)lh_entry_v(e), ud);
}

size_t quota_count(const struct quota_table *t)
{
        return (size_t)lh_table_length(t->accts);
}

const char *quota_kind_name(enum quota_kind kind)
{
        static const char *const names[QUOTA_KIND_COUNT] = {
                [QUOTA_CONNECTIONS] = "connections",     [QUOTA_HANDSHAKES] = "handshakes",
                [QUOTA_PENDING_CALLS] = "pending_calls", [QUOTA_NAMES] = "names",
                [QUOTA_SUBSCRIPTIONS] = "subscriptions", [QUOTA_QUEUE_BYTES] = "queue_bytes",
                [QUOTA_QUEUED_FDS] = "queued_fds",       [QUOTA_DECLARED_BYTES] = "declared_bytes",
                [QUOTA_HELD_BYTES] = "held_bytes",
        };
        return kind < QUOTA_KIND_COUNT ? names[kind] : "?";
}
