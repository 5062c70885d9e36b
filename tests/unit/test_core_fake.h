/* test_core_fake.h: in-memory peers for testing the routing core (busd/
 * router.c and the modules under it) without sockets.
 *
 * A fake peer records every buf the router sends it, in order, with a
 * reference; the test reads them back one at a time as parsed JSON, and says
 * when the carrier "wrote" them (router_peer_wrote). kill() calls are
 * counted. Nothing here does I/O.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "peer.h"
#include "router.h"

struct buf;
struct json_object;

struct fake {
        struct peer peer;
        struct buf **msgs;      /* everything sent, in order (one reference each) */
        int *fds;               /* parallel to msgs: the descriptor passed with it, -1: none (fake_add_fds()) */
        struct buf **fallbacks; /* parallel to msgs: what goes instead if the descriptor is refused */
        size_t n, cap;
        size_t written;          /* msgs[0..written) were "written" by the carrier */
        size_t read;             /* next message fake_next() returns */
        struct json_object *cur; /* the last message fake_next() returned */
        unsigned kills;
        unsigned resumes; /* peer_ops.resume calls (fake_add_flow() peers only) */
        char kill_reason[256];
};

/* A router with the default limits, changed by `limits` if not NULL. Log
 * lines go to stderr. */
struct router *fake_router(const struct router_limits *limits);
/* Adds f as a stream peer with distinct credentials (see f->peer.uid, .gid,
 * .pid) and the default stream limits. */
void fake_add(struct router *r, struct fake *f);
/* Same with explicit transport limits. */
void fake_add_ex(struct router *r, struct fake *f, size_t max_message, size_t max_recv);
/* fake_add() for a peer of this uid whose carrier passes descriptors
 * (peer_ops.send_fd) and has a pidfd (a descriptor of /dev/null). The fake
 * keeps each descriptor passed until the message is "written" (fake_write()),
 * refused (fake_refuse()) or the fake removed, reporting it gone to the
 * router then. */
void fake_add_fds(struct router *r, struct fake *f, uid_t uid);
/* fake_add and a hello without an id; the welcome is consumed. */
void fake_hello(struct router *r, struct fake *f);
/* Removes f from the router and frees what the fake holds. */
void fake_remove(struct router *r, struct fake *f);
/* fake_add() and hello for a peer whose carrier can be resumed
 * (peer_ops.resume): its messages are held, not dropped, for a full
 * receiver (flow.h). Counts the resumes in f->resumes. */
void fake_add_flow(struct router *r, struct fake *f);

/* Sends one message (printf format, no newline); returns router_handle's result. */
int fake_in(struct router *r, struct fake *f, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Unread messages. */
size_t fake_unread(const struct fake *f);
/* The next unread message, parsed (valid JSON is checked; the object lives
 * until the next fake_next call on f), or NULL when none is left. */
struct json_object *fake_next(struct fake *f);
/* The next unread message, which must exist and have this type. */
struct json_object *fake_expect(struct fake *f, const char *type);
/* Checks nothing is left unread. */
void fake_expect_none(const struct fake *f, const char *where);
/* Marks everything read. */
void fake_skip(struct fake *f);
/* The raw buf of message i (0 = first ever sent). */
struct buf *fake_buf(const struct fake *f, size_t i);
/* The carrier writes the next k unwritten messages: calls router_peer_wrote()
 * with their bytes and returns its result. */
bool fake_write(struct router *r, struct fake *f, size_t k);
/* The carrier could not pass the descriptor of message i (unwritten, with
 * one): it is closed and the message replaced by its fallback, as conn.c does
 * on ETOOMANYREFS. */
void fake_refuse(struct router *r, struct fake *f, size_t i);
/* Descriptors the fake holds (passed with messages not yet written). */
size_t fake_fds_held(const struct fake *f);
/* Bytes sent but not yet written. */
size_t fake_unwritten_bytes(const struct fake *f);

/* JSON accessors on a path of member names separated by '/' (e.g.
 * "limits/max_message"); a missing member fails the test. */
struct json_object *jget(struct json_object *o, const char *path);
bool jhas(struct json_object *o, const char *path);
const char *jstr(struct json_object *o, const char *path);
int64_t jint(struct json_object *o, const char *path);
bool jnull(struct json_object *o, const char *path);

struct policy;
/* A policy_parse() name resolver that knows no user or group (-ENOENT). */
int fake_no_names(void *ud, bool group, const char *name, unsigned *ret_id);
/* A policy allowing every verb, with these quotas (JSON members of
 * quotas.default, e.g. "\"held_bytes\": 1000"); the test fails if it does not
 * parse. The caller frees it with policy_free(). */
struct policy *fake_policy_with_quotas(const char *quotas);
