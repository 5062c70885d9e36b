/* activate.c: see activate.h. A name table (json-c linkhash) of the
 * activatable entries, a list of activations under way and a list of the
 * names whose service failed to start lately. No I/O. */
#include "activate.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonscan.h"
#include "peer.h"
#include "quota.h"

/* Room for why a start failed, as the router words it. */
#define REASON_MAX 160

/* Buckets of a name table at least; a table of n entries gets 2n (linkhash
 * resizes at a load of 0.66). */
#define TABLE_SIZE_MIN 16

struct activation {
        struct activate *owner;
        struct list link; /* in a->running */
        char *name;
        uint64_t deadline_ms;
        struct list held; /* struct held_call */
        size_t nheld;
        size_t held_bytes;
};

/* A name whose service failed to start, lately or several times in a row. */
struct failure {
        struct list link; /* in a->failed */
        uint64_t failed_ms;
        uint64_t retry_ms; /* no new start before */
        unsigned in_a_row;
        char reason[REASON_MAX];
        char name[];
};

struct activate {
        struct lh_table *table; /* name -> const struct activatable* */
        struct list running;
        struct list failed; /* struct failure, at most one per name */
        size_t held;
};

struct activate *activate_new(void)
{
        struct activate *a = calloc(1, sizeof(*a));

        if (!a)
                return NULL;
        a->table = lh_kchar_table_new(TABLE_SIZE_MIN, NULL);
        if (!a->table) {
                free(a);
                return NULL;
        }
        list_init(&a->running);
        list_init(&a->failed);
        return a;
}

/* Forgets the failures of name, or of all names (NULL). */
static void forget_failures(struct activate *a, const char *name)
{
        list_for_each_safe(l, tmp, &a->failed)
        {
                struct failure *f = list_entry(l, struct failure, link);
                if (!name || strcmp(f->name, name) == 0) {
                        list_unlink(l);
                        free(f);
                }
        }
}

static struct failure *find_failure(struct activate *a, const char *name)
{
        list_for_each(l, &a->failed)
        {
                struct failure *f = list_entry(l, struct failure, link);
                if (strcmp(f->name, name) == 0)
                        return f;
        }
        return NULL;
}

void activate_free(struct activate *a)
{
        if (!a)
                return;
        /* activations whose callers all left: nothing is held, only the record */
        list_for_each_safe(l, tmp, &a->running)
        {
                struct activation *act = list_entry(l, struct activation, link);
                list_unlink(&act->link);
                free(act->name);
                free(act);
        }
        forget_failures(a, NULL);
        lh_table_free(a->table);
        free(a);
}

int activate_set_table(struct activate *a, const struct activatable *entries, size_t n)
{
        struct lh_table *t = lh_kchar_table_new(n > TABLE_SIZE_MIN / 2 ? (int)(n * 2) : TABLE_SIZE_MIN, NULL);

        if (!t)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (lh_table_insert(t, entries[i].name, &entries[i]) < 0) {
                        lh_table_free(t);
                        return -ENOMEM;
                }
        lh_table_free(a->table);
        a->table = t;
        forget_failures(a, NULL);
        return 0;
}

const struct activatable *activate_lookup(struct activate *a, const char *name)
{
        void *v;

        return lh_table_lookup_ex(a->table, name, &v) ? v : NULL;
}

static struct activation *find(struct activate *a, const char *name)
{
        list_for_each(l, &a->running)
        {
                struct activation *act = list_entry(l, struct activation, link);
                if (strcmp(act->name, name) == 0)
                        return act;
        }
        return NULL;
}

bool activate_pending(struct activate *a, const char *name)
{
        return find(a, name) != NULL;
}

void held_call_free(struct held_call *h)
{
        if (!h)
                return;
        if (h->act) {
                h->act->nheld--;
                h->act->held_bytes -= h->bytes;
                h->act->owner->held--;
        }
        h->caller->n_held--;
        quota_sub(h->caller->acct, QUOTA_PENDING_CALLS, 1);
        quota_sub(h->caller->acct, QUOTA_HELD_BYTES, h->bytes);
        list_unlink(&h->link);
        list_unlink(&h->caller_link);
        free(h->params);
        free(h->name);
        free(h->method);
        free(h);
}

/* May a call of `bytes` be held for name (act: its activation, or NULL)?
 * Returns 0, or a negative code of activate_hold() with why filled. */
static int may_hold(struct activate *a, struct activation *act, const char *name, struct peer *caller, size_t bytes,
                    uint64_t now_ms, char *why, size_t whylen)
{
        struct failure *f = act ? NULL : find_failure(a, name);

        if (f && now_ms < f->retry_ms) {
                snprintf(why, whylen,
                         "the service for '%s' failed to start %" PRIu64 " ms ago (it %s; %u failure%s in a row) "
                         "and is not started again for another %" PRIu64 " ms",
                         name, now_ms - f->failed_ms, f->reason, f->in_a_row, f->in_a_row == 1 ? "" : "s",
                         f->retry_ms - now_ms);
                return -EAGAIN;
        }
        if (act && act->nheld >= ACTIVATE_MAX_HELD) {
                snprintf(why, whylen, "%u calls are already waiting for '%s' to start (at most %u per name)",
                         ACTIVATE_MAX_HELD, name, ACTIVATE_MAX_HELD);
                return -ENOBUFS;
        }
        size_t held = act ? act->held_bytes : 0;
        if (bytes > ACTIVATE_MAX_HELD_BYTES - held) {
                snprintf(why, whylen,
                         "the calls waiting for '%s' to start already hold %zu bytes: %zu more would pass the "
                         "limit of %u bytes per name",
                         name, held, bytes, ACTIVATE_MAX_HELD_BYTES);
                return -ENOBUFS;
        }
        if (quota_over(caller->acct, QUOTA_HELD_BYTES, bytes)) {
                snprintf(why, whylen,
                         "the connections of uid %u already have %" PRIu64 " bytes of calls waiting for services "
                         "to start: %zu more would pass the quota held_bytes (%" PRIu64 ")",
                         (unsigned)caller->uid, caller->acct->used[QUOTA_HELD_BYTES], bytes,
                         caller->acct->limit[QUOTA_HELD_BYTES]);
                return -EDQUOT;
        }
        return 0;
}

static void free_unheld(struct held_call *h)
{
        free(h->params);
        free(h->name);
        free(h->method);
        free(h);
}

int activate_hold(struct activate *a, const char *name, struct peer *caller, uint64_t caller_id, bool oneway,
                  const char *method, const struct jsonscan_span *params, uint64_t now_ms, char *why, size_t whylen)
{
        const struct activatable *e = activate_lookup(a, name);
        struct activation *act;
        int started = ACTIVATE_JOINED;

        if (!e)
                return -ENOENT;
        act = find(a, name);
        struct held_call *h = calloc(1, sizeof(*h));
        if (!h)
                return -ENOMEM;
        list_init(&h->link);
        list_init(&h->caller_link);
        h->name = strdup(name);
        h->method = strdup(method);
        /* kept as the text it came as (a tree of many small values costs 35 times more) */
        bool has = params && params->s && !(params->len == 4 && memcmp(params->s, "null", 4) == 0);
        if (has && (h->params = malloc(params->len)))
                h->params_len = jsonscan_compact(params->s, params->len, h->params);
        if (!h->name || !h->method || (has && !h->params)) {
                free_unheld(h);
                return -ENOMEM;
        }
        h->bytes = h->params_len + strlen(method) + strlen(name);
        int err = may_hold(a, act, name, caller, h->bytes, now_ms, why, whylen);
        if (err < 0) {
                free_unheld(h);
                return err;
        }
        if (!act) {
                act = calloc(1, sizeof(*act));
                if (!act || !(act->name = strdup(name))) {
                        free(act);
                        free_unheld(h);
                        return -ENOMEM;
                }
                list_init(&act->held);
                act->owner = a;
                act->deadline_ms = now_ms + e->timeout_ms;
                list_append(&a->running, &act->link);
                started = ACTIVATE_STARTED;
        }
        h->caller = caller;
        caller->n_held++;
        quota_add(caller->acct, QUOTA_PENDING_CALLS, 1);
        quota_add(caller->acct, QUOTA_HELD_BYTES, h->bytes);
        h->act = act;
        h->caller_id = caller_id;
        h->oneway = oneway;
        list_append(&act->held, &h->link);
        list_append(&caller->held, &h->caller_link);
        act->nheld++;
        act->held_bytes += h->bytes;
        a->held++;
        return started;
}

static void end(struct activate *a, struct activation *act)
{
        list_unlink(&act->link);
        free(act->name);
        free(act);
}

/* Detaches act's held calls into out and ends it. Returns how many. */
static size_t take(struct activate *a, struct activation *act, struct list *out)
{
        size_t n = 0;

        list_for_each_safe(l, tmp, &act->held)
        {
                list_entry(l, struct held_call, link)->act = NULL;
                list_unlink(l);
                list_append(out, l);
                n++;
        }
        a->held -= n;
        end(a, act);
        return n;
}

size_t activate_take(struct activate *a, const char *name, struct list *out)
{
        struct activation *act = find(a, name);

        forget_failures(a, name);
        return act ? take(a, act, out) : 0;
}

size_t activate_fail(struct activate *a, const char *name, uint64_t now_ms, const char *reason, struct list *out)
{
        struct activation *act = find(a, name);
        struct failure *f;

        if (!act)
                return 0; /* e.g. its process exited after it had taken the name */
        f = find_failure(a, name);
        if (!f && (f = calloc(1, sizeof(*f) + strlen(name) + 1))) {
                strcpy(f->name, name);
                list_append(&a->failed, &f->link);
        }
        if (f) {
                /* BUS_ACTIVATION_RETRY_MS, doubled with each failure in a row */
                uint64_t wait = BUS_ACTIVATION_RETRY_MS;
                for (unsigned i = 0; i < f->in_a_row && wait < BUS_ACTIVATION_RETRY_MAX_MS; i++)
                        wait *= 2;
                f->in_a_row++;
                f->failed_ms = now_ms;
                f->retry_ms = now_ms + (wait < BUS_ACTIVATION_RETRY_MAX_MS ? wait : BUS_ACTIVATION_RETRY_MAX_MS);
                snprintf(f->reason, sizeof(f->reason), "%s", reason);
        }
        return take(a, act, out);
}

const char *activate_expired(struct activate *a, uint64_t now_ms)
{
        list_for_each(l, &a->running)
        {
                struct activation *act = list_entry(l, struct activation, link);
                if (now_ms >= act->deadline_ms)
                        return act->name;
        }
        return NULL;
}

void activate_peer_gone(struct activate *a, struct peer *p)
{
        /* the activations go on: the service may still be wanted by others */
        list_for_each_safe(l, tmp, &p->held) held_call_free(list_entry(l, struct held_call, caller_link));
}

struct held_call *activate_find_held(struct peer *caller, uint64_t caller_id)
{
        list_for_each(l, &caller->held)
        {
                struct held_call *h = list_entry(l, struct held_call, caller_link);
                if (h->caller_id == caller_id)
                        return h;
        }
        return NULL;
}

void activate_foreach(struct activate *a, void (*fn)(const struct activatable *e, bool pending, void *ud), void *ud)
{
        struct lh_entry *e;

        lh_foreach(a->table, e)
        {
                const struct activatable *x = lh_entry_v(e);
                fn(x, find(a, x->name) != NULL, ud);
        }
}

size_t activate_held_count(const struct activate *a)
{
        return a->held;
}
