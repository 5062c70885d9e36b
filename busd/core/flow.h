/* flow.h: flow control instead of loss (docs/architecture.md "The hold").
 *
 * A relayed message (an event, a call) that would overflow a receiver's
 * queue is not dropped: it is HELD on the connection that sent it, which the
 * carrier stops reading (ROUTER_PAUSE) until every receiver it still has to
 * reach has drained to half its queue (and its uid's queues to half their
 * quota). Then it is queued for them, and the sender is read again
 * (peer_ops.resume). At most one message is held per sending connection: it
 * sends nothing more while it waits.
 *
 * Bounded: a hold that has waited stall_timeout_ms is given up on: the
 * receivers still missing it lose it as a lossy subscriber would (counted,
 * told with a `dropped` notice; a held call fails with queue_full), and the
 * sender is read again. A receiver that stays full without reading is cut by
 * router_tick() as before, which ends its waits at once.
 *
 * A connection never waits on its own queue (see flow_may_hold()).
 * Used by events.c (publish), router.c (calls, peers leaving, the tick) and
 * send.c's callers; knows the router's state and the output side. Pure: no I/O.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;
struct peer;
struct router;

/* What a held message is, for what happens when it completes. */
enum flow_kind {
        FLOW_EVENT,  /* a publish: answered with {"delivered", "dropped"} if it had an id */
        FLOW_CALL,   /* a call: its caller_id is answered with queue_full if it is given up on */
        FLOW_ONEWAY, /* a one-way call: the same (the daemon's own failures reach its caller) */
};

/* May sender's message to rcv be held (instead of dropped) when rcv's queue
 * is full? Not when they are the same connection (it would wait on itself),
 * nor for a sender whose carrier cannot stop reading it (no resume op: the
 * daemon's own events). Senders and receivers may be bridge links: a link's
 * carrier stops reading the link while it holds, and the bridge holds local
 * publishers (and links forwarding) on a link whose queue is full. */
bool flow_may_hold(const struct peer *sender, const struct peer *rcv);
/* Must a lossless message from sender to rcv wait? True when rcv already has
 * messages waiting for it (they go first, so that it is served in order). */
bool flow_must_wait(const struct peer *rcv);
/* Holds b (a new reference is taken) for rcv on sender's connection, sender
 * to be paused. The first call for a sender opens its hold (kind, has_id, id
 * say how it is answered); later ones for the same message add receivers,
 * each with the message as it takes it (a link gets the link protocol's
 * form of an event that local subscribers get as an event).
 * Returns 0 or -ENOMEM (nothing held: the caller drops or fails as before). */
int flow_hold(struct router *r, struct peer *sender, struct peer *rcv, struct buf *b, enum flow_kind kind, bool has_id,
              uint64_t id);
/* The message being routed for sender is fully handed out: if nothing was
 * held, answers the publish (delivered, dropped counts) at once if it had an
 * id; else the answer waits for the hold's end. */
void flow_sent(struct router *r, struct peer *sender, bool has_id, uint64_t id, uint64_t delivered, uint64_t dropped);
/* Is sender's connection holding a message (keep it paused)? */
bool flow_holding(const struct peer *sender);
/* rcv wrote (router_peer_wrote()) or the tick runs: queues what waits for rcv
 * while it has room; holds that are complete end and their senders resume. */
void flow_drained(struct router *r, struct peer *rcv);
/* The tick: gives up on holds older than the stall timeout, and retries
 * receivers blocked by their uid's quota (another connection may have freed
 * it). */
void flow_tick(struct router *r);
/* p leaves: its hold (as a sender) is forgotten; its waits (as a receiver)
 * end, which may complete other senders' holds. A client's waits end as if
 * it had never been a receiver; a link's are lost (counted as dropped, and in
 * the publishers' acknowledgements). */
void flow_peer_gone(struct router *r, struct peer *p);
/* How many connections hold a message now (for stats and tests). */
size_t flow_held_count(const struct router *r);
