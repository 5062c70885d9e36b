/* bridgediff.h: what a reload of the bridge's configuration (SIGHUP) does
 * to each link: the rule, in one place (docs/bridge.md, "Reload"). Pure: it
 * compares two parsed configurations; the carrier (bridgeio.c) applies the
 * plan to the running links.
 *
 * A link is known by its name (links[].name). Then, per link:
 *  - in the new configuration only: added (started as at startup);
 *  - in the old one only: removed (closed; calls pending over it fail with
 *    link_down);
 *  - its connect address, its peers (as a set) or its import names changed:
 *    restarted (closed, and dialled again or waited for). Import names need a
 *    restart because the other bus told its names once, at link up: names it
 *    offered that were not imported then are not remembered;
 *  - only its export filter (topics, names, prefix), its import topics or its
 *    import prefix changed: swapped in place, the connection stays up (the
 *    names told to the other bus are brought up to date at once; events
 *    already queued on the link passed the old filter and still go out);
 *  - nothing changed: kept.
 * Bridge-wide: a change of the credentials (cert, key, ca: a path or a file's
 * content, which the carrier compares) or of max_hops restarts every link;
 * the tuning values (queue_bytes, keepalive_ms, timeout_ms,
 * handshake_timeout_ms, max_half_open, reconnect_*) apply in place; listen
 * addresses are opened and closed as the list changed (links up stay up).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "bridgecfg.h"

enum bridgediff_action {
        BRIDGEDIFF_ADD,
        BRIDGEDIFF_KEEP,
        BRIDGEDIFF_REFILTER, /* kept, its filters swapped in place */
        BRIDGEDIFF_RESTART,
};

#define BRIDGEDIFF_NONE ((size_t)-1)

struct bridgediff_plan {
        /* per link of the new configuration */
        enum bridgediff_action act[BRIDGECFG_MAX_LINKS];
        size_t from[BRIDGECFG_MAX_LINKS];     /* its index in the old one, or BRIDGEDIFF_NONE */
        const char *why[BRIDGECFG_MAX_LINKS]; /* RESTART: what changed (static text) */
        bool removed[BRIDGECFG_MAX_LINKS];    /* per link of the old configuration */
        const char *restart_all;              /* NULL, or why every link restarts (static text) */
        bool tuning;                          /* a tuning value changed (applied in place) */
        bool listen;                          /* the listen addresses changed */
};

/* The plan from old to new. creds_same: the carrier found the credential
 * files' contents unchanged (the paths are compared here). Configurations
 * hold at most BRIDGECFG_MAX_LINKS links (bridgecfg_parse() sees to it). */
void bridgediff_plan(const struct bridge_config *old, const struct bridge_config *new, bool creds_same,
                     struct bridgediff_plan *ret);
/* Does the list hold s? */
bool bridgediff_strv_has(char *const *v, size_t n, const char *s);
