/* busmethods.h: the daemon as a destination: the methods of org.busd
 * (docs/protocol.md §4.6), answered from the router's state. Pure: no I/O.
 */
#pragma once

struct json_object;
struct msg;
struct peer;
struct router;

/* Answers p's call m to org.busd: a reply, or an error (unknown method,
 * invalid params, denied, ...). */
void busmethods_call(struct router *r, struct peer *p, const struct msg *m);

/* The stats method's answer as `asker` would get it, or with asker NULL the
 * whole daemon's, nothing hidden by `see` and without the per-connection
 * list `peers` (what busd serves on --metrics-listen, docs/busd.md). Returns a new json-c object (the caller
 * owns it). */
struct json_object *busmethods_stats(struct router *r, struct peer *asker);
