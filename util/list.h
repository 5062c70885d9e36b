/* list.h: intrusive circular doubly-linked lists (the c-list / Linux shape).
 *
 * A `struct list` is both the head and the link embedded in elements. An
 * unlinked link points to itself, so list_unlink() is idempotent. Header
 * only, no allocation.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct list {
        struct list *next, *prev;
};

#define LIST_INIT(name)          \
        {                        \
                &(name), &(name) \
        }
#define list_entry(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

static inline void list_init(struct list *l)
{
        l->next = l->prev = l;
}

static inline bool list_empty(const struct list *l)
{
        return l->next == l;
}

static inline bool list_linked(const struct list *l)
{
        return l->next != l;
}

static inline void list_insert_before(struct list *where, struct list *l)
{
        l->prev = where->prev;
        l->next = where;
        where->prev->next = l;
        where->prev = l;
}

/* Appends l at the tail of head. */
static inline void list_append(struct list *head, struct list *l)
{
        list_insert_before(head, l);
}

/* Prepends l at the front of head. */
static inline void list_prepend(struct list *head, struct list *l)
{
        list_insert_before(head->next, l);
}

static inline void list_unlink(struct list *l)
{
        l->prev->next = l->next;
        l->next->prev = l->prev;
        list_init(l);
}

static inline struct list *list_first(const struct list *head)
{
        return list_empty(head) ? NULL : head->next;
}

#define list_for_each(pos, head) for (struct list *pos = (head)->next; pos != (head); pos = pos->next)
/* Safe against unlinking pos. */
#define list_for_each_safe(pos, tmp, head) \
        for (struct list *pos = (head)->next, *tmp = pos->next; pos != (head); pos = tmp, tmp = pos->next)
