/* peertab.h: the registered peers by id (unique id ":N" -> struct peer).
 *
 * An open-addressing table of pointers, 8 bytes a slot at most half full,
 * rather than json-c's lh_table (40 bytes an entry, kept two thirds full):
 * at thousands of idle connections the table is a tenth of what each
 * connection costs the daemon (docs/benchmarks.md, memory). Iteration is in
 * slot order, not in connection order: sort by id where order matters (ids
 * grow with each connection). Pure: no I/O.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct peer;

struct peertab {
        struct peer **slots; /* NULL: free */
        size_t cap;          /* a power of two */
        size_t count;
};

/* Returns 0 or -ENOMEM. */
int peertab_init(struct peertab *t);
void peertab_deinit(struct peertab *t);
/* Adds p under p->id, which is not in the table. Returns 0 or -ENOMEM (then
 * the table is unchanged). */
int peertab_add(struct peertab *t, struct peer *p);
/* Removes the peer with this id, if there is one. */
void peertab_remove(struct peertab *t, uint64_t id);
struct peer *peertab_get(const struct peertab *t, uint64_t id);

static inline size_t peertab_count(const struct peertab *t)
{
        return t->count;
}

/* for (size_t i = 0; i < t->cap; i++) with the occupied slots: the peer of
 * slot *i at or after *i, or NULL at the end (then *i == t->cap). */
static inline struct peer *peertab_next(const struct peertab *t, size_t *i)
{
        for (; *i < t->cap; (*i)++)
                if (t->slots[*i])
                        return t->slots[(*i)++];
        return NULL;
}
