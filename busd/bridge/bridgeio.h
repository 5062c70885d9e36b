/* bridgeio.h: the bridge's carrier (docs/bridge.md): TCP listeners and
 * dialled links on the libuv loop, TLS 1.3 with mutual authentication on each
 * (busd/bridge/tls.c), JSON lines inside, handed to the bridge's core
 * (busd/bridge/bridge.c). Handshake deadline, a cap on half-open connections, a
 * bounded queue per link, keepalive and a silence timeout, reconnection with
 * jittered exponential backoff.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "bridgecfg.h"
#include "bridgeio_env.h"

#include <uv.h>

struct bridge_io;
struct json_object;
struct router;

/* Loads the credentials, binds the listen addresses, starts dialling. cfg is
 * taken over (freed by bridgeio_free). Returns 0 and *ret, or a negative errno
 * with the reason in err (bad credentials, address in use, ...). */
int bridgeio_start(const struct bridgeio_env *env, struct bridge_config *cfg, struct bridge_io **ret, char *err,
                   size_t errlen);
/* Closes every link (pending calls fail with link_down) and listener. */
void bridgeio_stop(struct bridge_io *io);
/* After the loop has run the close callbacks. Accepts NULL. */
void bridgeio_free(struct bridge_io *io);
/* Stopped (bridgeio_stop(), or a start that failed): it only waits for
 * bridgeio_free(). */
bool bridgeio_stopped(const struct bridge_io *io);
/* This bus's name on the bridge (its certificate name). */
const char *bridgeio_name(const struct bridge_io *io);
/* {"bus": NAME, "links": [{"link", "peer", "state": "up"|"down"|"connecting", "address", "since_ms",
 * "connections" (times the link came up), "last_error", counters...}], "duplicates"} for the daemon's stats. */
struct json_object *bridgeio_status(struct bridge_io *io);
