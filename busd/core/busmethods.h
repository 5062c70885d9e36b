/* busmethods.h: the daemon as a destination: the methods of org.busd
 * (docs/protocol.md §4.6), answered from the router's state. Pure: no I/O.
 */
#pragma once

struct msg;
struct peer;
struct router;

/* Answers p's call m to org.busd: a reply, or an error (unknown method,
 * invalid params, denied, ...). */
void busmethods_call(struct router *r, struct peer *p, const struct msg *m);
