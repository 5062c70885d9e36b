/* linkmsg.h: validation of what a peer daemon sends over a bridge link
 * (docs/bridge.md; bridge.c's header shows each message).
 *
 * As proto/msg.c does for client messages, linkmsg_parse() checks the
 * members of a link message that jsonscan_parse() has validated (grammar,
 * UTF-8, depth, duplicate members, numbers) against the table of its type:
 * each member's JSON type, whether it is required, its syntax, and the
 * identity rules that depend only on the two ends of the link (origin and
 * hop count plausible for the neighbour, nobody claiming to be this bus, a
 * hello naming the bus of the certificate). It fills a struct linkmsg whose
 * strings are the scanner's decoded copies and whose payloads (data, params,
 * result) are the raw spans of the text: both valid until that scanner's
 * next jsonscan_parse(). Members are checked in the order of the table and
 * the first one at fault gives the reason; members no table names are
 * ignored. What depends on the bridge's state (filters, offers, duplicates)
 * is bridge.c's.
 *
 * Nested values: `creds` is read with a second scanner the caller provides;
 * a names message's `add` and `remove` (rare: when names change) are built
 * into json-c trees that the struct owns (linkmsg_release()), their elements
 * checked one at a time by linkmsg_names_add()/_remove(). That is the only
 * allocation. Pure: no I/O.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jsonscan.h"

struct json_object;

#define LINKMSG_PROTOCOL \
        2 /* the link protocol's version a link_hello must say (said in the link_hello we send, checked in the one we read) */

enum linkmsg_type {
        LINKMSG_LINK_HELLO, /* the first message, and only then */
        LINKMSG_NAMES,
        LINKMSG_EVENT,
        LINKMSG_CALL,
        LINKMSG_REPLY,
        LINKMSG_ERROR,
        LINKMSG_CANCEL,
        LINKMSG_PING,
        LINKMSG_PONG,
        LINKMSG_ACK,
        LINKMSG_TYPE_COUNT,
};

/* linkmsg_parse(): an event or call whose origin is this bus, come back
 * around a ring. Not an error: the caller drops it. */
enum { LINKMSG_OURS = 1 };

/* What the checks know of the link a message came over. */
struct linkmsg_link {
        const char *self;   /* this bus */
        const char *remote; /* the bus at the other end, as its certificate names it */
        unsigned max_hops;  /* an event or call may come from at most max_hops + 1 links away */
        bool hello_seen;    /* its link_hello came: from now on anything but a link_hello */
};

struct linkmsg_creds {
        uint64_t uid, gid, pid; /* uid, gid < 2^32-1; pid < 2^31 */
};

struct linkmsg {
        enum linkmsg_type type;
        uint64_t epoch;             /* link_hello, event */
        uint64_t seq;               /* event: from 1 */
        uint64_t id;                /* call (0 in a one-way call), reply, error, cancel */
        uint64_t count;             /* ack: event messages received over the link so far */
        const char *topic;          /* event: a topic, never a $bus one */
        const char *dest, *method;  /* call: dest a well-known name or BUS/NAME */
        bool oneway;                /* call */
        const char *code, *message; /* error */
        /* who sent an event or call, as its origin bus stamped it: origin a bus
         * name, hops from 1 to max_hops + 1 (1 exactly when origin is the
         * neighbour), sender a unique id or org.busd. A reply or error has only
         * sender: a unique id or org.busd, or BUS/ID from further away (BUS not
         * this bus). */
        const char *origin, *sender;
        uint64_t hops;
        struct linkmsg_creds creds;
        /* payloads as sent (spaced when they hold whitespace); s NULL if absent or null */
        struct jsonscan_span data;   /* event, error */
        struct jsonscan_span params; /* call */
        struct jsonscan_span result; /* reply */
        bool has_data;               /* event, error: the member "data" is there, even as null */
        struct json_object *add;     /* names: arrays (NULL if absent or null), owned, whose */
        struct json_object *remove;  /* elements linkmsg_names_add()/_remove() check */
        size_t nadd, nremove;
};

/* One element of a names message's add. */
struct linkmsg_offer {
        const char *name;   /* a well-known name, not a reserved one */
        const char *origin; /* the bus that owns it */
        uint64_t hops;      /* from 1 to 2^32-1; 1 exactly when origin is the neighbour */
};

/* Checks the message whose value is root and members members[0..n) (as
 * jsonscan_parse() returned them), from the link described by link, against
 * the table of its type. nested: a scanner for the members nested in it
 * (creds), not the one that yielded members (max depth BUS_MAX_DEPTH will do;
 * its results are not kept). Returns 0 with *ret filled, the caller then
 * calls linkmsg_release(ret); LINKMSG_OURS for an event or call whose origin
 * is this bus (ret->type set, the rest of *ret partly filled, nothing to
 * release); -EPROTO with the reason in why (a protocol violation: the link
 * is to be closed) or -ENOMEM (building names' arrays), *ret untouched. A
 * names message's arrays are checked here, their elements by
 * linkmsg_names_add() and _remove(), one at a time: the bridge acts on each
 * element before it looks at the next. */
int linkmsg_parse(const struct jsonscan_value *root, const struct jsonscan_member *members, size_t n,
                  const struct linkmsg_link *link, struct jsonscan *nested, struct linkmsg *ret, char *why,
                  size_t whylen);
/* Frees what a struct linkmsg owns (names' arrays). */
void linkmsg_release(struct linkmsg *m);

/* Element i (< m->nremove) of m's remove: a well-known name. Returns 0 with
 * *ret_name (borrowed from the message), or -EPROTO with the reason in why. */
int linkmsg_names_remove(const struct linkmsg *m, size_t i, const char **ret_name, char *why, size_t whylen);

/* Element i (< m->nadd) of m's add: {"name", "origin", "hops"}, plausible for
 * the neighbour. Returns 0 with *ret (borrowed from the message), or -EPROTO
 * with the reason in why. */
int linkmsg_names_add(const struct linkmsg *m, size_t i, const struct linkmsg_link *link, struct linkmsg_offer *ret,
                      char *why, size_t whylen);
