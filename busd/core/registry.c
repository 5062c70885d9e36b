/* registry.c: see registry.h. The table of names is a json-c linkhash keyed by
 * the name string. No I/O. */
#include "registry.h"

#include <errno.h>
#include <json-c/linkhash.h>
#include <stdlib.h>
#include <string.h>

#include "peer.h"
#include "quota.h"

/* Buckets of the table of names to start with (it grows as names come). */
#define TABLE_SIZE 64

struct registry {
        struct lh_table *names; /* char* -> struct name* (the name owns its key) */
        registry_change_fn on_change;
        void *userdata;
};

static void free_entry(struct lh_entry *e)
{
        struct name *n = lh_entry_v(e);

        free(n->str);
        free(n);
}

struct registry *registry_new(registry_change_fn fn, void *userdata)
{
        struct registry *reg = calloc(1, sizeof(*reg));

        if (!reg)
                return NULL;
        reg->names = lh_kchar_table_new(TABLE_SIZE, free_entry);
        if (!reg->names) {
                free(reg);
                return NULL;
        }
        reg->on_change = fn;
        reg->userdata = userdata;
        return reg;
}

void registry_free(struct registry *reg)
{
        if (!reg)
                return;
        lh_table_free(reg->names);
        free(reg);
}

struct name *registry_lookup(struct registry *reg, const char *name)
{
        void *v;

        return lh_table_lookup_ex(reg->names, name, &v) ? v : NULL;
}

static struct owner *primary(struct name *n)
{
        struct list *l = list_first(&n->owners);

        return l ? list_entry(l, struct owner, name_link) : NULL;
}

struct peer *registry_owner(struct registry *reg, const char *name)
{
        struct name *n = registry_lookup(reg, name);
        struct owner *o = n ? primary(n) : NULL;

        return o ? o->peer : NULL;
}

size_t registry_count(const struct registry *reg)
{
        return (size_t)lh_table_length(reg->names);
}

static struct owner *find_owner(struct name *n, struct peer *p)
{
        list_for_each(l, &n->owners)
        {
                struct owner *o = list_entry(l, struct owner, name_link);
                if (o->peer == p)
                        return o;
        }
        return NULL;
}

static void drop_owner(struct owner *o)
{
        list_unlink(&o->name_link);
        list_unlink(&o->peer_link);
        o->peer->n_owners--;
        quota_sub(o->peer->acct, QUOTA_NAMES, 1);
        free(o);
}

/* Removes the name when nobody owns or waits for it. */
static void maybe_delete(struct registry *reg, struct name *n)
{
        if (list_empty(&n->owners))
                lh_table_delete(reg->names, n->str);
}

int registry_request(struct registry *reg, struct peer *p, const char *str, bool allow_replacement, bool replace,
                     bool queue)
{
        struct name *n = registry_lookup(reg, str);
        struct owner *o, *cur;

        if (!n) {
                n = calloc(1, sizeof(*n));
                if (!n)
                        return -ENOMEM;
                n->str = strdup(str);
                if (!n->str || lh_table_insert(reg->names, n->str, n) < 0) {
                        free(n->str);
                        free(n);
                        return -ENOMEM;
                }
                list_init(&n->owners);
        }
        cur = primary(n);
        o = find_owner(n, p);
        if (o && o == cur) {
                o->allow_replacement = allow_replacement;
                o->queue = queue;
                return REGISTRY_ALREADY_OWNER;
        }
        if (cur && !(replace && cur->allow_replacement)) {
                if (!queue) {
                        if (o)
                                drop_owner(o); /* it asked not to wait any more */
                        return REGISTRY_EXISTS;
                }
                if (o) {
                        o->allow_replacement = allow_replacement;
                        o->queue = queue;
                        return REGISTRY_IN_QUEUE;
                }
        }
        if (!o) {
                o = calloc(1, sizeof(*o));
                if (!o) {
                        maybe_delete(reg, n);
                        return -ENOMEM;
                }
                o->name = n;
                o->peer = p;
                list_init(&o->name_link);
                list_append(&p->owners, &o->peer_link);
                p->n_owners++;
                quota_add(p->acct, QUOTA_NAMES, 1);
        } else {
                list_unlink(&o->name_link);
        }
        o->allow_replacement = allow_replacement;
        o->queue = queue;
        if (cur && replace && cur->allow_replacement) {
                /* take over: the old owner goes to the head of the queue or leaves */
                list_prepend(&n->owners, &o->name_link);
                struct peer *old = cur->peer;
                if (!cur->queue)
                        drop_owner(cur);
                if (reg->on_change)
                        reg->on_change(reg->userdata, n->str, old, p);
                return REGISTRY_PRIMARY_OWNER;
        }
        list_append(&n->owners, &o->name_link);
        if (cur)
                return REGISTRY_IN_QUEUE;
        if (reg->on_change)
                reg->on_change(reg->userdata, n->str, NULL, p);
        return REGISTRY_PRIMARY_OWNER;
}

/* Removes o; if it was primary, promotes the next in line and reports it. */
static void release_owner(struct registry *reg, struct owner *o)
{
        struct name *n = o->name;
        bool was_primary = primary(n) == o;
        struct peer *old = o->peer;

        drop_owner(o);
        if (was_primary) {
                struct owner *next = primary(n);
                /* the callback may look the name up: delete it only afterwards */
                if (reg->on_change)
                        reg->on_change(reg->userdata, n->str, old, next ? next->peer : NULL);
        }
        maybe_delete(reg, n);
}

int registry_release(struct registry *reg, struct peer *p, const char *str)
{
        struct name *n = registry_lookup(reg, str);
        struct owner *o = n ? find_owner(n, p) : NULL;

        if (!o)
                return -ESRCH;
        release_owner(reg, o);
        return 0;
}

void registry_peer_gone(struct registry *reg, struct peer *p)
{
        list_for_each_safe(l, tmp, &p->owners) release_owner(reg, list_entry(l, struct owner, peer_link));
}

void registry_foreach(struct registry *reg, int (*fn)(struct name *n, void *ud), void *ud)
{
        struct lh_entry *e;

        lh_foreach(reg->names, e)
        {
                if (fn(lh_entry_v(e), ud))
                        break;
        }
}
