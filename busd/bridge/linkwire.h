/* linkwire.h: the link messages that carry a client's event or call to
 * another bus (docs/bridge.md; bridge.c's header shows each message),
 * written directly as text, as busd/core/wire.c writes the messages the
 * daemon sends to clients. Each builder returns a new buf (one reference,
 * owned by the caller) holding one compact JSON object and a final line feed
 * (what a link carries: one message a line), or NULL on ENOMEM. The payload
 * is copied as its span holds it (a jsonscan_span: valid JSON, only its
 * whitespace outside strings removed when it has any, so that the line never
 * breaks); a NULL span or one with s NULL is `null`. Strings are escaped as
 * wire.c escapes them when they need it (names, topics and bus names never
 * do). What is built passes linkmsg_parse() with the same values (the round
 * trip tests/unit/test_linkwire.c checks). Pure: no I/O.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct buf;
struct jsonscan_span;

/* Who sent an event or call, as its origin bus stamped it, with the links it
 * has crossed so far counting the one it is about to cross. */
struct linkwire_ident {
        const char *origin; /* the bus where it was sent */
        uint64_t hops;      /* from 1 (the origin's neighbour receives it) */
        const char *sender; /* the sender there: a unique id or org.busd */
        unsigned uid, gid;  /* the sender's credentials */
        int pid;
};

/* {"type":"event","origin":O,"epoch":E,"seq":S,"hops":H,"topic":T,"data":D,
 *  "sender":S,"creds":{"uid":U,"gid":G,"pid":P}} */
struct buf *linkwire_event(const char *topic, uint64_t epoch, uint64_t seq, const struct jsonscan_span *data,
                           const struct linkwire_ident *id);
/* {"type":"call","id":I,"dest":D,"method":M,"params":P,"origin":O,"hops":H,
 *  "sender":S,"creds":{...}}; no id and "oneway":true when oneway. */
struct buf *linkwire_call(bool oneway, uint64_t serial, const char *dest, const char *method,
                          const struct jsonscan_span *params, const struct linkwire_ident *id);
