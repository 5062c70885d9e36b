/* peertab.c: see peertab.h. Linear probing; removal shifts the entries after
 * the hole back, so lookups never meet tombstones. No I/O. */
#include "peertab.h"

#include <errno.h>
#include <stdlib.h>

#include "peer.h"

#define FIRST_CAP 64

static size_t slot_of(uint64_t id, size_t cap)
{
        return (size_t)((id * 0x9e3779b97f4a7c15ull) >> 32) & (cap - 1);
}

int peertab_init(struct peertab *t)
{
        t->slots = calloc(FIRST_CAP, sizeof(*t->slots));
        t->cap = FIRST_CAP;
        t->count = 0;
        return t->slots ? 0 : -ENOMEM;
}

void peertab_deinit(struct peertab *t)
{
        free(t->slots);
        t->slots = NULL;
        t->cap = t->count = 0;
}

static void put(struct peer **slots, size_t cap, struct peer *p)
{
        size_t i = slot_of(p->id, cap);

        while (slots[i])
                i = (i + 1) & (cap - 1);
        slots[i] = p;
}

int peertab_add(struct peertab *t, struct peer *p)
{
        if (2 * (t->count + 1) > t->cap) {
                size_t cap = t->cap * 2;
                struct peer **slots = calloc(cap, sizeof(*slots));
                if (!slots)
                        return -ENOMEM;
                for (size_t i = 0; i < t->cap; i++)
                        if (t->slots[i])
                                put(slots, cap, t->slots[i]);
                free(t->slots);
                t->slots = slots;
                t->cap = cap;
        }
        put(t->slots, t->cap, p);
        t->count++;
        return 0;
}

struct peer *peertab_get(const struct peertab *t, uint64_t id)
{
        for (size_t i = slot_of(id, t->cap); t->slots[i]; i = (i + 1) & (t->cap - 1))
                if (t->slots[i]->id == id)
                        return t->slots[i];
        return NULL;
}

void peertab_remove(struct peertab *t, uint64_t id)
{
        size_t mask = t->cap - 1, i = slot_of(id, t->cap);

        while (t->slots[i] && t->slots[i]->id != id)
                i = (i + 1) & mask;
        if (!t->slots[i])
                return;
        t->slots[i] = NULL;
        t->count--;
        /* shift back the run after the hole: each entry that may sit in it */
        for (size_t j = (i + 1) & mask; t->slots[j]; j = (j + 1) & mask) {
                size_t home = slot_of(t->slots[j]->id, t->cap);
                /* j's entry stays unless its home lies cyclically outside (i, j] */
                if (((j - home) & mask) >= ((j - i) & mask)) {
                        t->slots[i] = t->slots[j];
                        t->slots[j] = NULL;
                        i = j;
                }
        }
}
