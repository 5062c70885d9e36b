/* wire.h: serialisation of the messages the daemon sends (docs/protocol.md
 * §2.4). Each builder returns a new buf (one reference, owned by the caller)
 * holding one compact JSON object and a final line feed, or NULL on ENOMEM.
 * The relaying builders (event, call, reply, error) splice validated
 * strings, the sender's pre-built identity and the payload as the client
 * sent it (a jsonscan_span: valid JSON, copied byte for byte, only its
 * whitespace outside strings removed when it had any, so that a JSON Lines
 * receiver never sees a line feed inside a message). No tree is built and
 * nothing is escaped twice. A NULL span or one with s NULL is `null`. Pure:
 * no I/O.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;
struct json_object;
struct jsonscan_span;
struct peer;

/* json-c flags used for every payload we relay. */
#define WIRE_JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* {"type":"event","topic":T,"data":D,<ident>} */
struct buf *wire_event(const char *topic, size_t topic_len, const struct jsonscan_span *data, const char *ident,
                       size_t ident_len);
/* {"type":"call","id":S,"dest":..,"method":..,"params":..,<ident>}; no id and
 * "oneway":true when oneway. */
struct buf *wire_call(bool oneway, uint64_t serial, const char *dest, const char *method,
                      const struct jsonscan_span *params, const char *ident, size_t ident_len);
/* {"type":"reply","id":I,"result":R,"sender":S} */
struct buf *wire_reply(uint64_t id, const struct jsonscan_span *result, const char *sender);
/* The same with a result the daemon built (NULL: null). */
struct buf *wire_reply_tree(uint64_t id, struct json_object *result, const char *sender);
/* {"type":"error","id":I|null,["call":N,]"code":C,"message":M,"sender":S[,"data":D]}
 * call >= 0: the error is about the client's answer to delivered call N. */
struct buf *wire_error(bool has_id, uint64_t id, int64_t call, const char *code, const char *message,
                       const char *sender, struct json_object *data);
/* A callee's error relayed to its caller as request `id`: as wire_error(),
 * with "data" as the callee gave it, none when it gave none (data->s NULL). */
struct buf *wire_relayed_error(uint64_t id, const char *code, const char *message, const char *sender,
                               const struct jsonscan_span *data);
/* The text of a tree the daemon built, as a span (for the relaying builders
 * and the router's entries that take one): json-c's serialisation, valid
 * while obj lives unchanged. NULL: null. */
struct jsonscan_span wire_span_of(struct json_object *obj);
/* Serialises any object (welcome, notices) with a line feed. */
struct buf *wire_object(struct json_object *obj);
/* Pieces for builders of other messages (busd/bridge/linkwire.c), each
 * appending to *b (which may move) and returning 0, or < 0 out of memory: a JSON
 * string of any content, escaped as json-c escapes it; a payload as
 * put by the builders above (null when absent, whitespace removed). */
int wire_put_string(struct buf **b, const char *s);
int wire_put_span(struct buf **b, const struct jsonscan_span *sp);
/* Builds the identity splice for a sender. Returns a malloc'd string. */
char *wire_ident(const char *unique, unsigned uid, unsigned gid, int pid, size_t *ret_len);
