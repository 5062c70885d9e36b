/* bridge.h: one bus across hosts (docs/bridge.md): what crosses a link and
 * how, in the daemon's core. Pure: no sockets, no TLS, no libuv. The carrier
 * (busd/bridge/bridgeio.c) authenticates a link with TLS, then hands its messages to
 * bridge_link_input() and sends what the bridge gives it through blink_ops.
 *
 * - Events flood: a local publish goes to every link whose export filter
 *   matches; a bus forwards what it receives to its other links. Each event
 *   carries its origin bus, the origin's epoch (start) and sequence number,
 *   and a hop count; each bus drops what it has already seen and what has
 *   crossed too many links, so every subscriber gets each event once in any
 *   topology (line, ring, star, mesh).
 * - Names are advertised: each bus tells each link which well-known names it
 *   can reach (its own and those it learned, never back where they came
 *   from), with a hop count; a call to a name nobody owns locally goes over
 *   the link with the fewest hops (local owners always win; BUS/NAME
 *   addresses one bus).
 * - Identity: what a bus sends over a link carries its sender and
 *   credentials as the origin bus stamped them; the receiving bus checks them
 *   (syntax, origin plausible for the neighbour, never itself) and delivers
 *   them as "remote", never as a local uid.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bridgefilter.h"
#include "buslimits.h"
#include "list.h"
#include "peer.h"

struct bridge;
struct blink;
struct buf;
struct router;
struct json_object;

#define BRIDGE_DEFAULT_MAX_HOPS 8
#define BRIDGE_MAX_OFFERS 65536 /* names one link may offer */

struct blink_ops {
        /* Queues b (a whole line) for the link's socket, taking a reference.
         * droppable: an event, which the carrier drops (returning -ENOBUFS)
         * when the link's queue is over its bound. Returns 0, -ENOBUFS,
         * -ENOTCONN or -ENOMEM. */
        int (*send)(struct blink *l, struct buf *b, bool droppable);
        /* Closes the link (the other side broke the protocol); the carrier
         * calls bridge_link_down() once it is closed. */
        void (*close)(struct blink *l, const char *why);
        /* Has the link's queue drained enough (to half its bound) for held
         * events to go (flow.h)? May be NULL: always. */
        bool (*room)(struct blink *l);
        /* The link may be read again (bridge_link_input() said
         * BRIDGE_INPUT_PAUSE): called from inside the router; the carrier
         * resumes reading later, outside this call. May be NULL: a carrier
         * that cannot stop reading a link; what comes over it is then never
         * held (a full subscriber loses it, counted). */
        void (*resume)(struct blink *l);
};

struct bridge_link_stats {
        uint64_t events_in, events_out;
        uint64_t calls_in, calls_out;
        uint64_t dropped;    /* events not sent: the link's queue was full (and nobody could wait) */
        uint64_t duplicates; /* events seen before (another path) */
        uint64_t filtered;   /* events or calls refused by a filter */
        uint64_t too_far;    /* events over the hop limit */
};

/* One link that is up. Embedded in the carrier's link object. */
struct blink {
        struct peer peer; /* the link in the router */
        struct bridge *b;
        const struct blink_ops *ops;
        void *carrier;
        char remote[BUS_MAX_BUS_NAME + 1]; /* the other bus, as its certificate names it */
        const char *label;                 /* the configured link's name (borrowed) */
        const struct bridge_filter *exp, *imp;
        bool hello_seen;
        uint64_t remote_epoch;
        struct lh_table *offers; /* name -> struct offer: what the other side can reach */
        struct lh_table *sent;   /* name -> hops: what we advertised to it */
        struct list link;        /* in bridge->links */
        struct bridge_link_stats st;
        size_t unreported, unreported_msgs; /* router-made answers handed to the carrier */
        uint64_t acked;                     /* of st.events_out: the other bus said it got them */
        uint64_t rx_events, rx_acked;       /* event messages that came over it; of them, acknowledged */
};

/* bridge_link_input(): the message was taken, but a receiver here is full:
 * read the link no further until ops->resume (flow.h). */
enum { BRIDGE_INPUT_PAUSE = 1 };

struct bridge *bridge_new(struct router *r, const char *self, unsigned max_hops, uint64_t epoch);
/* All links must be down. Accepts NULL. */
void bridge_free(struct bridge *b);
const char *bridge_self(const struct bridge *b);

/* A link authenticated as bus `remote` is up: registers it in the router,
 * says hello and advertises the names it may see. exp/imp and label stay the
 * caller's. Returns 0, -EEXIST (a link to that bus is already up, or remote is
 * this bus), -ENOMEM. */
int bridge_link_up(struct bridge *b, struct blink *l, const char *remote, const char *label,
                   const struct bridge_filter *exp, const struct bridge_filter *imp, const struct blink_ops *ops,
                   void *carrier);
/* The link is gone: calls pending over it fail at once (link_down), the names
 * learned over it are withdrawn everywhere, the events held for it are
 * dropped (counted). Returns the events sent over it that the other bus did
 * not acknowledge (lost, counted in the daemon's drops and told in the
 * $bus.link event). */
uint64_t bridge_link_down(struct bridge *b, struct blink *l, const char *why);
/* One message (a line without its line feed) from the link, validated
 * (jsonscan, then linkmsg) before it is acted on. Returns 0,
 * BRIDGE_INPUT_PAUSE, or -EPROTO (the reason in why) or -ENOMEM ("out of
 * memory" in why): the carrier closes the link. */
int bridge_link_input(struct bridge *b, struct blink *l, const char *data, size_t len, char *why, size_t whylen);
/* A reload kept the link: its label and filters are now these (borrowed as
 * by bridge_link_up()). What the other bus was told is brought up to date
 * with the export filter at once; names it offered that imp no longer
 * imports are withdrawn. */
void bridge_link_refilter(struct bridge *b, struct blink *l, const char *label, const struct bridge_filter *exp,
                          const struct bridge_filter *imp);
/* Links an event or call may cross from now on (a reload, with every link
 * down: bridgereload.h). */
void bridge_set_max_hops(struct bridge *b, unsigned max_hops);
/* The carrier wrote what it had queued (call after each completed write):
 * the router's accounting of answers queued for the link is settled, and
 * events held for it go if it has room. */
void bridge_link_wrote(struct bridge *b, struct blink *l);
/* The carrier handed the link's input read so far to bridge_link_input():
 * the other bus is told how many events came (an ack), if that changed. */
void bridge_link_read(struct bridge *b, struct blink *l);
/* The link's counters and what it offers, as JSON (for stats). */
struct json_object *bridge_link_json(const struct blink *l);

/* Calls fn for each link that is up (for stats and status). */
void bridge_foreach_link(struct bridge *b, void (*fn)(const struct blink *l, void *ud), void *ud);
size_t bridge_link_count(const struct bridge *b);
/* Events dropped as duplicates or over the hop limit, over all links. */
uint64_t bridge_duplicates(const struct bridge *b);
