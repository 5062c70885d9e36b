/* registry.h: well-known names, their primary owners and waiting queues,
 * with the D-Bus rules (docs/protocol.md §4.1).
 *
 * Every change of primary owner is reported through the on_change callback,
 * after the registry is consistent again. Pure: no I/O.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "list.h"

struct peer;
struct registry;

enum registry_status {
        REGISTRY_PRIMARY_OWNER,
        REGISTRY_IN_QUEUE,
        REGISTRY_EXISTS,
        REGISTRY_ALREADY_OWNER,
};

/* A peer's place in a name's line: the first in the line is the primary owner. */
struct owner {
        struct name *name;
        struct peer *peer;
        struct list name_link; /* in name->owners */
        struct list peer_link; /* in peer->owners */
        bool allow_replacement;
        bool queue;
};

struct name {
        char *str;
        struct list owners;
};

/* old_owner/new_owner may be NULL. Called after every change of primary owner. */
typedef void (*registry_change_fn)(void *userdata, const char *name, struct peer *old_owner, struct peer *new_owner);

struct registry *registry_new(registry_change_fn fn, void *userdata);
/* All peers must be gone. Accepts NULL. */
void registry_free(struct registry *reg);

/* Requests `name` for p. Returns a registry_status (>= 0) or -ENOMEM. The
 * caller checks name syntax, reservation and the per-peer limit. */
int registry_request(struct registry *reg, struct peer *p, const char *name, bool allow_replacement, bool replace,
                     bool queue);
/* Releases p's ownership of, or place in the queue for, name. Returns 0 or
 * -ESRCH if p was neither. */
int registry_release(struct registry *reg, struct peer *p, const char *name);
/* Releases everything p owns or waits for. */
void registry_peer_gone(struct registry *reg, struct peer *p);
/* The primary owner of name, or NULL. */
struct peer *registry_owner(struct registry *reg, const char *name);
/* The name's entry (owners in line order), or NULL. */
struct name *registry_lookup(struct registry *reg, const char *name);
size_t registry_count(const struct registry *reg);
/* Iterates over all names (in insertion order): fn returns non-zero to stop. */
void registry_foreach(struct registry *reg, int (*fn)(struct name *n, void *ud), void *ud);
