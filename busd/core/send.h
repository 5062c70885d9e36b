/* send.h: the router's output side. Everything the daemon sends to a peer
 * passes through send_enqueue(), which applies the receiver's transport size
 * and queue limit:
 *   - relayed messages (calls, replies, events) to a full queue are refused:
 *     the caller drops the event (send_drop()) or fails the call or reply;
 *   - answers to a peer's own requests (replies, errors) and the errors that
 *     end its calls are always queued; a peer whose queue is over its limit,
 *     or whose uid's queues are over their quota, is paused by the router
 *     until it drains (send_must_pause()), so that it cannot make the daemon
 *     queue more answers than that;
 *   - notices about its names, which other peers cause, are queued while
 *     they fit; past that they are held back and merged, one record per
 *     name, and queued once it drains (send_notice()).
 * Used by router.c, access.c, events.c, session.c and busmethods.c; knows only
 * the router's state (state.h) below it. Pure: no I/O.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;
struct json_object;
struct msg;
struct peer;
struct router;

/* Room for the message of an error the daemon makes: a few names
 * (BUS_MAX_NAME each), a method and a policy rule; longer text is cut. */
#define SEND_TEXT_MAX 768

enum send_kind {
        SEND_RELAY, /* subject to the queue limit */
        SEND_OWN,   /* an answer to the receiver's own request: always queued */
};

/* May one more descriptor be queued for p? Descriptors waiting in queues are
 * bounded per connection (BUS_MAX_QUEUED_FDS), per uid (the queued_fds
 * quota) and for the daemon (router_config.max_queued_fds). Returns true, or
 * false with the bound reached in why (may be NULL), for a `limit` error. */
bool send_fd_room(struct router *r, struct peer *p, char *why, size_t whylen);
/* Queues b for p, with descriptor fd to pass along unless it is -1 (the
 * queue owns fd from the call on: closed on any failure) and `fallback`
 * (may be NULL; the carrier takes a reference) to send in b's place if the
 * kernel refuses the descriptor. A descriptor counts BUS_QUEUED_FD_COST bytes
 * in the queue besides b. Returns 0, -ENOBUFS (relay to a full queue),
 * -EMSGSIZE (too large for p's transport), -ENOTCONN (p is gone), -EOPNOTSUPP
 * (p's carrier cannot pass descriptors), -EMFILE (no room for a descriptor:
 * send_fd_room()) or -ENOMEM. The caller keeps its references to b and
 * fallback either way. */
int send_enqueue_fd(struct router *r, struct peer *p, struct buf *b, enum send_kind kind, int fd, struct buf *fallback);
/* send_enqueue_fd() without a descriptor. */
int send_enqueue(struct router *r, struct peer *p, struct buf *b, enum send_kind kind);

/* Sends a daemon-made message that answers p's own request m (NULL for
 * notices and errors outside a request): always queued. Takes b (NULL: the
 * caller ran out of memory; nothing is sent). If b is too large for p's
 * transport, p gets a too_large error instead, carrying m's id so that m is
 * still answered. */
void send_own(struct router *r, struct peer *p, const struct msg *m, struct buf *b);
/* Answers p's request m: a reply with `result` (borrowed) when m had an id,
 * nothing otherwise. */
void send_reply(struct router *r, struct peer *p, const struct msg *m, struct json_object *result);
/* Answers p's request m (which has an id) with `result` and descriptor fd
 * passed along; fd is the output side's from the call on (closed on failure).
 * Should the kernel refuse to pass it, p gets a `limit` error with m's id in
 * the reply's place. Returns 0 or a negative errno as send_enqueue_fd()
 * (nothing was sent; the caller answers with an error). */
int send_reply_fd(struct router *r, struct peer *p, const struct msg *m, struct json_object *result, int fd);
/* Answers p's request m (NULL: none) with a daemon error, counted in the
 * daemon's errors; always sent, with id null if m had none. */
void send_error(struct router *r, struct peer *p, const struct msg *m, const char *code, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));
/* The same by id: answers the request `id` of p (has_id false: id null). */
void send_error_id(struct router *r, struct peer *p, bool has_id, uint64_t id, const char *code, const char *message);
/* A notice about one of p's names: {"type": type, "name": name}, type
 * name_lost or name_acquired. Queued if it fits p's queue_bytes and its uid's
 * quota and nothing is held back for p; else held back (and p's stall clock
 * starts), merged with the notices held for the same name, and queued, as the
 * first one held and, if it differs, the last, before anything else is queued
 * for p or once p drained (send_drops_notice()). */
void send_notice(struct router *r, struct peer *p, const char *type, const char *name);
/* Forgets the notices held for p (it is being removed). */
void send_peer_gone(struct peer *p);

/* Should the carrier stop reading p's requests (ROUTER_PAUSE)? When p's queue
 * is over queue_bytes, or its uid's queues together are over the uid's
 * queue_bytes quota while p holds some of it. */
bool send_must_pause(struct router *r, struct peer *p);
/* May the carrier read a paused p again? Once its queue drained to half, and
 * its uid's to half of the quota unless p's own queue is empty (then it is
 * read until its next answer is queued). */
bool send_may_resume(struct router *r, struct peer *p);

/* Has a queue holding `queued` of `limit` bytes drained (to half its limit),
 * so that a paused peer is read again and a drop notice may go? The same test
 * serves the per-uid queue quota. */
static inline bool send_drained(uint64_t queued, uint64_t limit)
{
        return queued <= limit / 2;
}

/* Counts an event p did not get (its queue was full): p is told how many
 * before its next event (send_drops_notice()), and its stall clock runs until
 * it writes again. A bridge link is not told (p->drops_total counts it, which
 * the bridge shows as the link's `dropped`). */
void send_drop(struct router *r, struct peer *p);
/* Counts n events lost beyond any queue of this daemon (a bridge link went
 * down before the other bus confirmed them) in the daemon's drops. */
void send_lost(struct router *r, uint64_t n);
/* Tells p what it is owed, if it has room again (its queue and its uid's
 * queues drained to half): the notices held back (send_notice()), then how
 * many events it missed; afterwards p->drops_pending is 0 unless it still had
 * no room. */
void send_drops_notice(struct router *r, struct peer *p);
