/* strtable.c: see strtable.h. */
#include "strtable.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#define TABLE_SIZE 64 /* buckets to start with (the table grows) */

static void free_entry(struct lh_entry *e)
{
        free((void *)lh_entry_k(e));
        free(lh_entry_v(e));
}

struct lh_table *strtable_new(void)
{
        return lh_kchar_table_new(TABLE_SIZE, free_entry);
}

int strtable_put(struct lh_table *t, const char *key, void *v)
{
        char *k = strdup(key);

        if (!k || lh_table_insert(t, k, v) < 0) {
                free(k);
                free(v);
                return -ENOMEM;
        }
        return 0;
}
