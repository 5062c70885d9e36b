/* activate.h: names that can be started on demand, and the calls held while
 * their service starts (docs/protocol.md §4.7).
 *
 * The router asks activate_hold() when a call goes to a name nobody owns.
 * If the name is activatable, the call is held (bounded per name in number
 * and bytes, and per uid by the held_bytes quota) and, for the first one, the
 * router asks the carrier to start the service. A held call keeps its params
 * as text (jsontext.h), never as json-c's tree. When the name gets an owner
 * the held calls are handed back in order (activate_take()); when the start
 * fails or its deadline passes they are handed back for an error
 * (activate_fail()), and the name is not started again for a while (from
 * BUS_ACTIVATION_RETRY_MS, doubling with each failure in a row up to
 * BUS_ACTIVATION_RETRY_MAX_MS): calls to it fail at once meanwhile. Pure: no
 * I/O, no libuv.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buslimits.h"
#include "list.h"

struct json_object;
struct jsonscan_span;
struct peer;
struct activate;

/* Calls held per activation, and their bytes; beyond either the caller gets
 * `limit` at once. */
#define ACTIVATE_MAX_HELD BUS_MAX_HELD_CALLS
#define ACTIVATE_MAX_HELD_BYTES BUS_MAX_HELD_BYTES

/* One activatable name, as the carrier read it (docs/busd.md): data is the
 * carrier's (what to start), opaque here. */
struct activatable {
        char *name;
        unsigned timeout_ms;
        void *data;
};

struct activation;

struct held_call {
        struct activation *act;  /* NULL once taken back */
        struct list link;        /* in the activation's list, in arrival order */
        struct list caller_link; /* in the caller's peer->held */
        struct peer *caller;
        uint64_t caller_id;
        bool oneway;
        char *name;
        char *method;
        char *params; /* the params' text, compact (NULL: null) */
        size_t params_len;
        size_t bytes; /* counted: params' text, method and name */
};

struct activate *activate_new(void);
/* Everything must have been taken back. Accepts NULL. */
void activate_free(struct activate *a);
/* Replaces the table of activatable names (the carrier's entries are not
 * freed here: they stay the carrier's). Activations in progress keep going;
 * past failures are forgotten (the files may have been fixed). */
int activate_set_table(struct activate *a, const struct activatable *entries, size_t n);
/* The activatable entry for name, or NULL. */
const struct activatable *activate_lookup(struct activate *a, const char *name);
/* What activate_hold() did with a call it held. */
enum {
        ACTIVATE_JOINED = 0,  /* an activation of the name was already under way */
        ACTIVATE_STARTED = 1, /* a new activation: the router asks the carrier to start the service */
};

/* Holds a call. Returns ACTIVATE_STARTED or ACTIVATE_JOINED; or -ENOENT (not
 * activatable), or with why filled for an error to the caller: -ENOBUFS (the
 * name holds ACTIVATE_MAX_HELD calls or this one would pass
 * ACTIVATE_MAX_HELD_BYTES: `limit`), -EDQUOT (it would pass its uid's
 * held_bytes quota: `limit`), -EAGAIN (the service failed to start a moment
 * ago and is not started again yet: `activation_failed`), -ENOMEM. params is
 * the caller's: the held call keeps it as text. */
int activate_hold(struct activate *a, const char *name, struct peer *caller, uint64_t caller_id, bool oneway,
                  const char *method, const struct jsonscan_span *params, uint64_t now_ms, char *why, size_t whylen);
/* The name got an owner: detaches its held calls into `out` (a list head the
 * caller owns), ending the activation, and forgets its past failures.
 * Returns how many. */
size_t activate_take(struct activate *a, const char *name, struct list *out);
/* The name's service failed to start (reason: for the errors, "exited with
 * status 3 before taking the name"): detaches the held calls as
 * activate_take() and holds off the next start. Nothing (0) if no activation
 * of name was under way. */
size_t activate_fail(struct activate *a, const char *name, uint64_t now_ms, const char *reason, struct list *out);
/* Names of activations whose deadline has passed, one at a time: returns a
 * name (valid until the next call that changes the activation) or NULL. */
const char *activate_expired(struct activate *a, uint64_t now_ms);
/* Is an activation of name under way? */
bool activate_pending(struct activate *a, const char *name);
/* Drops a caller's held calls (it disconnected). */
void activate_peer_gone(struct activate *a, struct peer *p);
/* Frees a held call (taken back with activate_take(), or still held: a
 * cancel). Keeps every count right. */
void held_call_free(struct held_call *h);
/* The caller's held call with its own id, or NULL. */
struct held_call *activate_find_held(struct peer *caller, uint64_t caller_id);
/* Calls for each activatable name (for listings). */
void activate_foreach(struct activate *a, void (*fn)(const struct activatable *e, bool pending, void *ud), void *ud);
/* Held calls in total (statistics). */
size_t activate_held_count(const struct activate *a);
