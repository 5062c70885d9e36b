/* test_bridge_common.h: buses joined by in-memory bridge links, for the
 * tests of the bridge's core (busd/bridge/bridge.c): each bus a router with
 * fake peers (test_core_fake.h) and a bridge; each link a queue per
 * direction that the test pumps. A link can be bounded (event_cap: its
 * droppable messages, as the carrier's queue_bytes bounds bytes), and its
 * receiving end can be paused by the bridge (BRIDGE_INPUT_PAUSE) and resumed
 * by the router, as the carrier does. No sockets, no I/O.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "bridge.h"

struct buf;
struct fake;
struct router_limits;

struct host {
        const char *name;
        struct router *r;
        struct bridge *b;
};

#define MLINK_QUEUE 4096

/* One end of a link: bl is the bridge's, q what this end sent and the other
 * has not read yet. */
struct mlink {
        struct blink bl; /* first */
        struct host *h;
        struct mlink *other;
        struct buf *q[MLINK_QUEUE];
        size_t n;
        bool up, closed;
        size_t event_cap; /* events queued at most while nothing is read (0: no bound) */
        bool paused;      /* this end reads nothing: a receiver of its host is full */
        unsigned pauses, resumes;
        char closed_why[400];
};

extern const struct blink_ops mlink_ops;
/* Every topic and every name, both ways, no prefix. */
extern const struct bridge_filter everything;

void host_init(struct host *h, const char *name);
/* With these limits (NULL: the defaults). */
void host_init_ex(struct host *h, const char *name, const struct router_limits *limits);
void host_deinit(struct host *h);
/* Delivers what is queued, in both directions, until nothing moves (a
 * paused end reads nothing; what it was sent waits, in order); after each
 * batch the sending end "wrote" it (bridge_link_wrote()) and the reading end
 * acknowledges (bridge_link_read()). */
void pump(struct mlink **links, size_t n);
/* Delivers at most one message from x to its other end. Returns whether one moved. */
bool pump_one(struct mlink *x);
void connect_pair(struct mlink *x, struct mlink *y, struct host *hx, struct host *hy, const struct bridge_filter *x_exp,
                  const struct bridge_filter *y_exp);
/* Both ends go down (what was queued is lost, as in a cut). */
void disconnect_pair(struct mlink *x, struct mlink *y);
/* Two buses busd-a and busd-b (b with limits, NULL: the defaults) joined by
 * a link exporting everything both ways, up and past its hellos. */
void pair_up(struct host *a, struct host *b, struct mlink *ab, struct mlink *ba, const struct router_limits *b_limits);
/* The link down and both buses gone. */
void pair_down(struct host *a, struct host *b, struct mlink *ab, struct mlink *ba);
/* Reads everything f has and counts the events on topic. */
size_t count_events(struct fake *f, const char *topic);
