/* router.h: the routing core. Where a message goes is decided in router.c.
 *
 * The carrier (busd/io/conn.c for sockets) hands each framed message to
 * router_handle() and reports bytes leaving a peer's queue with
 * router_peer_wrote(). The router parses and validates the message, then
 * routes it: calls to callees, replies back to callers, events to
 * subscribers, names to the registry, org.busd methods to busmethods.c.
 * Everything it sends goes through the peer's ops->send after the limit
 * checks. Pure C: no I/O, no libuv; time comes in through router_set_time().
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "peer.h"
#include "routerconf.h" /* struct router_config, router_limits, router_bridge, remote_ident */

struct policy;

struct router;
struct json_object;
struct jsonscan_span;
struct activatable;

/* Outcome of handling one message, for the carrier. */
enum {
        ROUTER_OK = 0,
        ROUTER_PAUSE = 1, /* the peer's queue (or its uid's) is over its limit: stop reading it */
};

void router_limits_default(struct router_limits *l);
/* Returns NULL on ENOMEM. */
struct router *router_new(const struct router_config *cfg);
/* All peers must have been removed. Accepts NULL. */
void router_free(struct router *r);
void router_set_time(struct router *r, uint64_t now_ms);

/* Registers a new connection and gives it a unique id. `p` is caller memory
 * (zeroed by this function apart from the arguments) that must stay valid
 * until router_peer_remove(). Returns 0 or -ENOMEM. */
int router_peer_add(struct router *r, struct peer *p, const struct peer_ops *ops, const char *transport, uid_t uid,
                    gid_t gid, pid_t pid, size_t max_message, size_t max_recv);
/* What the kernel says about a connection (SO_PEERCRED, SO_PEERGROUPS). */
struct peer_cred {
        uid_t uid;
        gid_t gid;
        pid_t pid;
        const gid_t *groups; /* borrowed: must live as long as the peer; may be NULL */
        size_t ngroups;
};

/* router_peer_add() with the supplementary groups, then admission: the
 * policy's connect check and its uid's connection and handshake quotas.
 * Returns 0; -EACCES (the policy denies it) or -EUSERS (a quota is full) with
 * the reason in why, the peer already removed again (the carrier sends the
 * error, `denied` or `limit`, and closes); or -ENOMEM. */
int router_peer_admit(struct router *r, struct peer *p, const struct peer_ops *ops, const char *transport,
                      const struct peer_cred *cred, size_t max_message, size_t max_recv, char *why, size_t whylen);
/* Unregisters a peer: its names pass to the next in queue, its subscriptions
 * go, callers waiting on it get `callee_gone`, its own pending calls are
 * forgotten. Idempotent. Frees what the core allocated for the peer. */
void router_peer_remove(struct router *r, struct peer *p);

/* Handles one framed message of `len` bytes from p. Returns ROUTER_OK or
 * ROUTER_PAUSE (p's queue is over its limit, or its uid's queues over their
 * quota while p holds some of it: the carrier should stop reading from p
 * until router_peer_wrote() says it may resume). */
int router_handle(struct router *r, struct peer *p, const char *data, size_t len);
/* The carrier wrote to p: `bytes` in `msgs` whole messages left its queue (both
 * may be 0 when only part of a large message was written, which still counts
 * as progress against the stall timeout). Returns true if the carrier may
 * resume reading from a paused peer. */
bool router_peer_wrote(struct router *r, struct peer *p, size_t bytes, size_t msgs);
/* n descriptors left p's queue (passed to the client, refused by the kernel,
 * or closed with the queue): gives back their count (the peer's, its uid's,
 * the daemon's) and their BUS_QUEUED_FD_COST bytes each. Reported before the
 * bytes of their messages (router_peer_wrote()); also after
 * router_peer_remove(), while a closing peer's queue drains. */
void router_peer_fds_gone(struct router *r, struct peer *p, size_t n);
/* The kernel refused to pass a descriptor (ETOOMANYREFS): the carrier sends
 * the fallback it was given (peer_ops.send_fd) in place of the message,
 * old_len bytes replaced by new_len. Counted in stats (`fds_refused`); the
 * descriptor itself is reported with router_peer_fds_gone(). */
void router_peer_fd_refused(struct router *r, struct peer *p, size_t old_len, size_t new_len);
/* The carrier dropped p's whole queue (closing). */
void router_peer_discard_queue(struct router *r, struct peer *p);
/* Checks stalled peers; calls ops->kill for those stuck past the deadline. */
void router_tick(struct router *r);

/* Replaces the table of activatable names (entries stay the caller's and must
 * live until replaced or router_free()). Returns 0 or -ENOMEM. */
int router_set_activatable(struct router *r, const struct activatable *entries, size_t n);
/* The service for name failed (reason: "exited with status 1 before taking the
 * name", ...): every call held for it gets `activation_failed` at once, and so
 * do new calls to name for a while (activate.h). Nothing happens if no
 * activation of name was under way. */
void router_activation_failed(struct router *r, const char *name, const char *reason);

/* Builds an error message (for framing errors the carrier reports itself),
 * counted in the daemon's `errors`.
 * Returns a new buf (caller owns the reference) or NULL. */
struct buf *router_error_buf(struct router *r, const char *code, const char *message);

/* Statistics for tests and the stats method. */
size_t router_peer_count(const struct router *r);
size_t router_pending_calls(const struct router *r);
/* Messages received and events dropped since start (for the service
 * manager's status line). */
void router_counters(const struct router *r, uint64_t *ret_messages_in, uint64_t *ret_drops);
/* The whole daemon's counters, as the stats method answers them to a
 * connection `see` hides nothing from, without the per-connection list
 * `peers` (what --metrics-listen serves). A new json-c object the caller
 * owns. */
struct json_object *router_stats(struct router *r);

/* ---- the bridge (busd/bridge/bridge.c; its hooks in routerconf.h) ------------------------ */

/* Connects the bridge (NULL: none). b is copied. */
void router_set_bridge(struct router *r, const struct router_bridge *b);
/* Registers a link peer: like router_peer_add() for a connection that said
 * hello, marked as a link, outside the policy and the uid quotas (what crosses
 * a link is decided by the link's filters). `bus` is the remote bus's name. */
int router_link_add(struct router *r, struct peer *p, const struct peer_ops *ops, const char *bus, size_t max_recv);
/* An event from a link: delivered to the local subscribers with rid's
 * identity. A lossless subscriber whose queue is full holds it on the link
 * (flow.h): the bridge forwards it to its other links (which may hold it
 * too), ends its routing with flow_sent(r, link, ...) and, while
 * flow_holding(link), reads the link no further until the link peer's
 * resume op. */
void router_remote_event(struct router *r, struct peer *link, const char *topic, size_t topic_len,
                         const struct jsonscan_span *data, const struct remote_ident *rid);
/* A call from link (id: the link's id for it): routed as a client's call would
 * be, its answer sent back to link with that id. */
void router_remote_call(struct router *r, struct peer *link, uint64_t id, bool oneway, const char *dest,
                        const char *method, const struct jsonscan_span *params, const struct remote_ident *rid);
/* The answer to call `serial` that went out over link. sender: the answering
 * connection as the other side names it ("busd-b/:7"). Payloads are JSON
 * texts (wire.h: wire_span_of() for a tree); an error carries "data" unless
 * data->s is NULL. */
void router_remote_answer(struct router *r, struct peer *link, uint64_t serial, bool error,
                          const struct jsonscan_span *result, const char *code, const char *message,
                          const struct jsonscan_span *data, const char *sender);
/* The other side gave up on call `id` it sent over link. */
void router_remote_cancel(struct router *r, struct peer *link, uint64_t id);
/* The local connection that owns name, or NULL. */
struct peer *router_local_owner(struct router *r, const char *name);
/* Calls fn for every well-known name that has an owner here. */
void router_foreach_name(struct router *r, void (*fn)(const char *name, void *ud), void *ud);
/* Adds what fn returns (a new JSON value) to the stats method's answer as
 * member `key` (e.g. the bridge's links). NULL fn: none. */
void router_set_stats_hook(struct router *r, const char *key, struct json_object *(*fn)(void *ud), void *ud);
/* Publishes a daemon event (e.g. $bus.link.*) to the local subscribers. */
void router_publish_daemon(struct router *r, const char *topic, struct json_object *data);

/* Puts pol in force for every check from now on (NULL: everything allowed,
 * no per-uid quotas, the state of a new router). pol stays the caller's and
 * must live until replaced or router_free(). Names and subscriptions the new
 * policy no longer allows are taken back at once, each with a `revoked` error
 * to its peer; a call pending across the change is answered only if the new
 * policy still allows it. New quotas apply to new requests; nothing already
 * held is taken back for a quota. */
void router_set_policy(struct router *r, const struct policy *pol);
/* Replaces the limits (a configuration reload). They apply to every check
 * from now on; nothing already granted is taken back: names, subscriptions and
 * pending calls beyond a lowered limit are kept (new ones are refused), and a
 * queue over a lowered queue_bytes drops relayed messages and pauses its peer
 * until it drains, as any full queue does. Nobody is disconnected here. */
void router_set_limits(struct router *r, const struct router_limits *l);
