/* bridgededup.h: duplicate detection for the events that cross bridge
 * links (docs/bridge.md "What users see"): per origin bus, the highest
 * sequence number seen and a window of the 1024 before it; a new epoch (the
 * origin restarted) starts over. At most BRIDGE_MAX_ORIGINS origins are
 * remembered. Pure: no I/O.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lh_table;

#define BRIDGE_MAX_ORIGINS 1024 /* distinct origin buses remembered */

struct bridge_dedup {
        struct lh_table *origins; /* origin bus -> its window */
        size_t norigins;
};

/* Returns 0 or -ENOMEM. */
int bridge_dedup_init(struct bridge_dedup *d);
void bridge_dedup_deinit(struct bridge_dedup *d);
/* Has the event (origin, epoch, seq) been seen before? Records it if not.
 * An origin beyond the bound (or out of memory) cannot be tracked: *refused
 * is set and the event counts as seen (dropped: it could be a duplicate). */
bool bridge_dedup_seen(struct bridge_dedup *d, const char *origin, uint64_t epoch, uint64_t seq, bool *refused);
