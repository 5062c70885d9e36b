/* bridgereload.h: a new bridge configuration for a running bridge (SIGHUP),
 * applied link by link without disturbing the links that did not change.
 * The rule (which link is kept, swapped in place, restarted, added or
 * removed) is bridgediff.h's; docs/bridge.md, "Reload", tells it to users.
 */
#pragma once

#include <stddef.h>

#include "bridgecfg.h"

struct bridge_io;

/* Puts cfg in force on the running bridge io: removed links are closed
 * (calls pending over them fail with link_down), restarted ones closed and
 * started again, added ones started, kept ones repointed at their new
 * configuration (their connection stays up); listen addresses opened and
 * closed; one log line per link. A configuration with no link closes every
 * link and keeps the bridge idle (a later reload can add links).
 * Everything that can fail is done first: on failure nothing changed, the
 * reason is in err and cfg stays the caller's. On success returns 0 and cfg
 * is taken over (left empty). Errors: -EINVAL (a check failed, the
 * certificate names another bus), -ESHUTDOWN (the bridge is stopping), the
 * errors of tls_ctx_new() and of binding a listen address. */
int bridgereload_apply(struct bridge_io *io, struct bridge_config *cfg, char *err, size_t errlen);
