/* strtable.h: json-c hash tables keyed by strings the table owns (copied on
 * insert), with malloc'd values; both freed with their entry. Used by the
 * bridge's core for what links offer and were told (bridge.c) and for the
 * duplicate windows (bridgededup.c). Pure: no I/O.
 */
#pragma once

struct lh_table;

/* A new table, or NULL on ENOMEM. Free it with lh_table_free(). */
struct lh_table *strtable_new(void);
/* Inserts a copy of key with v, which the table owns from now on (freed at
 * once on failure). Returns 0 or -ENOMEM. */
int strtable_put(struct lh_table *t, const char *key, void *v);
