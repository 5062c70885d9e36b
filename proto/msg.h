/* msg.h: validation of client messages (docs/protocol.md §2.3).
 *
 * msg_parse() checks the members of a message that jsonscan_parse() has
 * validated against the table of its type and fills a struct msg: its
 * strings are the scanner's decoded copies, its payloads (params, result,
 * data) the raw spans of the text, both valid until the scanner's next call.
 * Only what the daemon reads itself (hello's names, the method declarations)
 * is built into json-c trees, which the struct owns (msg_release()). Unknown
 * members are errors; `sender` and `creds` are forged identity. Pure: no I/O.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jsonscan.h"

struct json_object;

enum msg_type {
        MSG_HELLO,
        MSG_CALL,
        MSG_REPLY,
        MSG_ERROR,
        MSG_CANCEL,
        MSG_PUBLISH,
        MSG_SUBSCRIBE,
        MSG_UNSUBSCRIBE,
        MSG_REQUEST_NAME,
        MSG_RELEASE_NAME,
        MSG_DECLARE,
        MSG_MONITOR,
        MSG_TYPE_COUNT,
};

/* Validation outcomes; each maps to a wire error code (msg_error_code()). */
enum msg_error {
        MSG_OK = 0,
        MSG_E_INVALID,      /* invalid_message */
        MSG_E_UNKNOWN_TYPE, /* unknown_type */
        MSG_E_FORGED,       /* forged_identity */
        MSG_E_VERSION,      /* unsupported_version */
};

struct msg_str {
        const char *s; /* NUL-terminated (json-c strings are) */
        size_t len;
};

struct msg {
        enum msg_type type;
        bool has_id;
        uint64_t id;
        struct msg_str dest, method, topic, pattern, name, code, message, display;
        /* payloads as sent; s NULL when absent (an error's "data": null is
         * relayed as null, an absent one not at all) */
        struct jsonscan_span params, result, data, err_data;
        struct json_object *names, *methods; /* owned (msg_release()); NULL if absent */
        bool oneway, allow_replacement, replace, queue;
        bool lossy; /* subscribe: drop rather than hold publishers */
        /* monitor: the filters given (pattern: topic, name: name) */
        struct msg_str from; /* a sender: unique id, org.busd or BUS/:N */
        uint32_t types;      /* bit msg_wire_type() of each type asked for; 0: every type */
};

/* Every message type on the wire, both directions (docs/protocol.md §2.3,
 * §2.4), for the monitor's type filter. */
#define MSG_WIRE_TYPES 17
/* The index (0..MSG_WIRE_TYPES-1) of wire type s (len bytes), or -1. */
int msg_wire_type(const char *s, size_t len);
/* The wire type of index i (0..MSG_WIRE_TYPES-1), else "?". */
const char *msg_wire_type_name(int i);

/* Validates the message whose value is root and members members[0..n) (as
 * jsonscan_parse() returned them). On MSG_OK fills *ret. On error fills
 * errbuf with a message naming the member at fault, sets ret->has_id/ret->id
 * when the message carried a valid id (so the error can answer it) and
 * ret->type when its type is known (it is MSG_HELLO before: a failed reply or
 * error is recognised by its type, and answered about the call it answers).
 * Either way the caller calls msg_release(ret) when done. */
enum msg_error msg_parse(const struct jsonscan_value *root, const struct jsonscan_member *members, size_t n,
                         struct msg *ret, char *errbuf, size_t errlen);
/* Frees the trees a struct msg owns. */
void msg_release(struct msg *m);

/* Stable wire code for a validation outcome. */
const char *msg_error_code(enum msg_error e);
const char *msg_type_name(enum msg_type t);

/* Validates a method declaration array (used for hello and declare). Returns
 * 0 or -EINVAL with errbuf filled. */
int msg_check_methods(struct json_object *methods, char *errbuf, size_t errlen);
