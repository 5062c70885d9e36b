/* events.h: events and subscriptions (docs/protocol.md §4.3): a client's
 * publish, subscribe and unsubscribe, and the fan-out of one event to the
 * local subscribers, serialised once and shared by their queues. Events from
 * clients also go to the bridge (its publish hook). Pure: no I/O.
 */
#pragma once

#include <stddef.h>

struct json_object;
struct jsonscan_span;
struct msg;
struct peer;
struct router;

/* The handlers of the client messages (router.c's dispatch table): each
 * answers p's request m itself. */
void events_publish(struct router *r, struct peer *p, const struct msg *m);
void events_subscribe(struct router *r, struct peer *p, const struct msg *m);
void events_unsubscribe(struct router *r, struct peer *p, const struct msg *m);

/* Delivers an event that came over `link` on topic with data (as sent,
 * wire.h) to the local subscribers, stamped with the sender's identity splice
 * (wire.h: wire_ident()); counted in the daemon's events, deliveries and
 * drops. A lossless subscriber with a full queue holds the event on the link
 * (flow.c): its routing ends with flow_sent(), and the link is read no
 * further while flow_holding(link). */
void events_deliver(struct router *r, struct peer *link, const char *topic, size_t topic_len,
                    const struct jsonscan_span *data, const char *ident, size_t ident_len);
/* The same for an event of the daemon's own ($bus.*). With `see` (a
 * well-known name, else NULL) only the subscribers that may see it
 * (POLICY_SEE, not counted as denials) get the event; to the others it is as
 * if it had not happened: not delivered, not dropped. */
void events_publish_daemon(struct router *r, const char *topic, struct json_object *data, const char *see);
