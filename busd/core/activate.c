/* activate.c: see activate.h. A name table (json-c linkhash) of the
 * activatable entries and a list of activations under way. No I/O. */
#include "activate.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "peer.h"
#include "quota.h"

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
};

struct activate {
        struct lh_table *table; /* name -> const struct activatable* */
        struct list running;
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
        return a;
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
                h->act->owner->held--;
        }
        h->caller->n_held--;
        quota_sub(h->caller->acct, QUOTA_PENDING_CALLS, 1);
        list_unlink(&h->link);
        list_unlink(&h->caller_link);
        json_object_put(h->params);
        free(h->name);
        free(h->method);
        free(h);
}

int activate_hold(struct activate *a, const char *name, struct peer *caller, uint64_t caller_id, bool oneway,
                  const char *method, struct json_object *params, uint64_t now_ms)
{
        const struct activatable *e = activate_lookup(a, name);
        struct activation *act;
        int started = ACTIVATE_JOINED;

        if (!e)
                return -ENOENT;
        act = find(a, name);
        if (act && act->nheld >= ACTIVATE_MAX_HELD)
                return -ENOBUFS;
        struct held_call *h = calloc(1, sizeof(*h));
        if (!h)
                return -ENOMEM;
        list_init(&h->link);
        list_init(&h->caller_link);
        h->name = strdup(name);
        h->method = strdup(method);
        if (!h->name || !h->method) {
                free(h->name);
                free(h->method);
                free(h);
                return -ENOMEM;
        }
        if (!act) {
                act = calloc(1, sizeof(*act));
                if (!act || !(act->name = strdup(name))) {
                        free(act);
                        free(h->name);
                        free(h->method);
                        free(h);
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
        h->act = act;
        h->caller_id = caller_id;
        h->oneway = oneway;
        h->params = json_object_get(params);
        list_append(&act->held, &h->link);
        list_append(&caller->held, &h->caller_link);
        act->nheld++;
        a->held++;
        return started;
}

static void end(struct activate *a, struct activation *act)
{
        list_unlink(&act->link);
        free(act->name);
        free(act);
}

size_t activate_take(struct activate *a, const char *name, struct list *out)
{
        struct activation *act = find(a, name);
        size_t n = 0;

        if (!act)
                return 0;
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
