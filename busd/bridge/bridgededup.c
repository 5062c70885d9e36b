/* bridgededup.c: see bridgededup.h. */
#include "bridgededup.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "strtable.h"

/* Duplicate detection for one origin: the highest sequence number seen and a
 * window of the 1024 before it. A new epoch (the origin restarted) starts
 * over. */
#define WINDOW 1024
#define WORD_BITS 64 /* bits in one word of the window */
struct origin_win {
        uint64_t epoch;
        uint64_t max;
        uint64_t bits[WINDOW / WORD_BITS];
};

int bridge_dedup_init(struct bridge_dedup *d)
{
        d->norigins = 0;
        d->origins = strtable_new();
        return d->origins ? 0 : -ENOMEM;
}

void bridge_dedup_deinit(struct bridge_dedup *d)
{
        if (d->origins)
                lh_table_free(d->origins);
        d->origins = NULL;
}

bool bridge_dedup_seen(struct bridge_dedup *d, const char *origin, uint64_t epoch, uint64_t seq, bool *refused)
{
        struct origin_win *w;

        *refused = false;
        if (!lh_table_lookup_ex(d->origins, origin, (void **)&w)) {
                if (d->norigins >= BRIDGE_MAX_ORIGINS) {
                        *refused = true;
                        return true;
                }
                w = calloc(1, sizeof(*w));
                if (!w || strtable_put(d->origins, origin, w) < 0) {
                        *refused = true;
                        return true;
                }
                d->norigins++;
                w->epoch = epoch;
        }
        if (w->epoch != epoch) {
                memset(w, 0, sizeof(*w));
                w->epoch = epoch;
        }
        if (seq > w->max) {
                uint64_t shift = seq - w->max;
                if (shift >= WINDOW) {
                        memset(w->bits, 0, sizeof(w->bits));
                } else {
                        for (uint64_t s = w->max + 1; s <= seq; s++)
                                w->bits[(s % WINDOW) / WORD_BITS] &= ~(1ull << (s % WORD_BITS));
                }
                w->max = seq;
                w->bits[(seq % WINDOW) / WORD_BITS] |= 1ull << (seq % WORD_BITS);
                return false;
        }
        if (w->max - seq >= WINDOW)
                return true; /* too old to tell: treat as seen */
        uint64_t bit = 1ull << (seq % WORD_BITS), *word = &w->bits[(seq % WINDOW) / WORD_BITS];
        if (*word & bit)
                return true;
        *word |= bit;
        return false;
}
