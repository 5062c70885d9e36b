/* calls.c: see calls.h. Serials index a json-c linkhash keyed by the serial
 * as a pointer-sized integer (serials start at 1, far from linkhash's
 * sentinel keys). No I/O. */
#include "calls.h"

#include <json-c/linkhash.h>
#include <stdlib.h>
#include <string.h>

#include "peer.h"
#include "quota.h"

/* Buckets of the table of pending calls to start with (it grows as calls come). */
#define TABLE_SIZE 256

struct calls {
        struct lh_table *table;
        uint64_t next_serial;
};

static void *key(uint64_t serial)
{
        return (void *)(uintptr_t)serial;
}

struct calls *calls_new(void)
{
        struct calls *c = calloc(1, sizeof(*c));

        if (!c)
                return NULL;
        c->table = lh_kptr_table_new(TABLE_SIZE, NULL);
        if (!c->table) {
                free(c);
                return NULL;
        }
        c->next_serial = 1;
        return c;
}

void calls_free(struct calls *c)
{
        if (!c)
                return;
        lh_table_free(c->table);
        free(c);
}

struct pcall *calls_add(struct calls *c, struct peer *caller, uint64_t caller_id, struct peer *callee, const char *name,
                        const char *method)
{
        size_t nlen = name ? strlen(name) + 1 : 0, mlen = strlen(method) + 1;
        struct pcall *pc = calloc(1, sizeof(*pc) + nlen + mlen);

        if (!pc)
                return NULL;
        if (name)
                pc->name = memcpy(pc->text, name, nlen);
        pc->method = memcpy(pc->text + nlen, method, mlen);
        pc->serial = c->next_serial++;
        pc->caller_id = caller_id;
        pc->caller = caller;
        pc->callee = callee;
        if (lh_table_insert(c->table, key(pc->serial), pc) < 0) {
                free(pc);
                return NULL;
        }
        list_append(&caller->calls_out, &pc->caller_link);
        list_append(&callee->calls_in, &pc->callee_link);
        caller->n_calls_out++;
        quota_add(caller->acct, QUOTA_PENDING_CALLS, 1);
        return pc;
}

struct pcall *calls_lookup(struct calls *c, uint64_t serial)
{
        void *v;

        return lh_table_lookup_ex(c->table, key(serial), &v) ? v : NULL;
}

struct pcall *calls_find_by_caller(struct peer *caller, uint64_t caller_id)
{
        list_for_each(l, &caller->calls_out)
        {
                struct pcall *pc = list_entry(l, struct pcall, caller_link);
                if (pc->caller_id == caller_id)
                        return pc;
        }
        return NULL;
}

void calls_remove(struct calls *c, struct pcall *pc)
{
        lh_table_delete(c->table, key(pc->serial));
        list_unlink(&pc->caller_link);
        list_unlink(&pc->callee_link);
        pc->caller->n_calls_out--;
        quota_sub(pc->caller->acct, QUOTA_PENDING_CALLS, 1);
        free(pc);
}

size_t calls_count(const struct calls *c)
{
        return (size_t)lh_table_length(c->table);
}
