/* session.h: what a connection says about itself: hello (the welcome with
 * its unique id, the limits and the names it asked for), declare (the methods
 * it offers), request_name and release_name. Pure: no I/O.
 */
#pragma once

struct msg;
struct peer;
struct router;

/* The handlers of these client messages (router.c's dispatch table): each
 * answers p's request m itself. */
void session_hello(struct router *r, struct peer *p, const struct msg *m);
void session_declare(struct router *r, struct peer *p, const struct msg *m);
void session_request_name(struct router *r, struct peer *p, const struct msg *m);
void session_release_name(struct router *r, struct peer *p, const struct msg *m);
