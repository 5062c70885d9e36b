/* monitor.h: connections that watch the bus's traffic (docs/protocol.md
 * §4.10). A `monitor` request turns a connection into a monitor: from then on
 * it only receives records, one for each message the daemon takes from a
 * connection ("in") and each it queues for one ("out"), that its uid may see
 * and its filters keep. A record relays the message's text as it came or
 * went, with who sent it and who got it; nothing is parsed into a tree.
 *
 * A monitor never slows the bus: records go through its own queue bound and
 * what does not fit is dropped, counted and told (`dropped`); it is never
 * held on (flow.c). When nobody monitors, the router's hooks cost one branch:
 * r->n_monitors in router_handle(), r->monitor_out in send_enqueue_fd(), a
 * callback (send.c cannot include this header: this module sends through
 * send.c) that is set while there are monitors and queues a record "out" for
 * each monitor that may see a message queued for a connection. Uses the output side (send.c) and the policy (access.c);
 * the router calls it. Pure: no I/O.
 */
#pragma once

#include <stdbool.h>

struct buf;
struct json_object;
struct jsonscan_span;
struct msg;
struct peer;
struct router;

/* The handler of a `monitor` request: makes p a monitor, or answers why not
 * (invalid_message: p owns names, subscribes, has calls waiting, or already
 * monitors; limit: BUS_MAX_MONITORS). Logs the start. */
void monitor_start(struct router *r, struct peer *p, const struct msg *m);
/* The router is about to handle m from p, whose text is `text` (valid JSON,
 * as sent). If p monitors, m is answered with invalid_message (a monitor only
 * receives) and true returned: the router does nothing else with it. Else a
 * record "in" goes to each monitor that may see it, and false is returned.
 * Call only when r->n_monitors. */
bool monitor_in(struct router *r, struct peer *p, const struct msg *m, const struct jsonscan_span *text);
/* p is being removed: if it monitors, it stops (logged). */
void monitor_peer_gone(struct router *r, struct peer *p);
/* The monitors `asker` may see, for `stats`: a new array. */
struct json_object *monitor_stats(struct router *r, struct peer *asker);
/* Frees what the monitors hold (router_free()). */
void monitor_deinit(struct router *r);
