/* errcode.h: the wire's error codes (docs/protocol.md §5), once. Every error
 * the daemon sends, every code libbus reports and every code the tools test
 * for is spelt with these names; a code string literal anywhere else is a bug
 * (scripts/check-layout.py). Header only, no I/O.
 */
#pragma once

/* Sent by the daemon (docs/protocol.md §5). */
#define ERRCODE_PARSE_ERROR "parse_error"
#define ERRCODE_INVALID_MESSAGE "invalid_message"
#define ERRCODE_UNKNOWN_TYPE "unknown_type"
#define ERRCODE_FORGED_IDENTITY "forged_identity"
#define ERRCODE_UNSUPPORTED_VERSION "unsupported_version"
#define ERRCODE_HELLO_REQUIRED "hello_required"
#define ERRCODE_HELLO_TIMEOUT "hello_timeout"
#define ERRCODE_TOO_LARGE "too_large"
#define ERRCODE_RESERVED "reserved"
#define ERRCODE_LIMIT "limit"
#define ERRCODE_DENIED "denied"
#define ERRCODE_REVOKED "revoked"
#define ERRCODE_QUEUE_FULL "queue_full"
#define ERRCODE_NO_OWNER "no_owner"
#define ERRCODE_CALLEE_GONE "callee_gone"
#define ERRCODE_ACTIVATION_FAILED "activation_failed"
#define ERRCODE_NAME_LOST "name_lost"
#define ERRCODE_NO_SUCH_CALL "no_such_call"
#define ERRCODE_NOT_SUBSCRIBED "not_subscribed"
#define ERRCODE_UNKNOWN_METHOD "unknown_method"
#define ERRCODE_INVALID_PARAMS "invalid_params"
#define ERRCODE_LINK_DOWN "link_down"
#define ERRCODE_UNSUPPORTED "unsupported"
#define ERRCODE_INTERNAL "internal"

/* The notice (docs/protocol.md §4.4) spelt like the error code above. */
#define NOTICE_NAME_LOST "name_lost"

/* Reported by libraries, never on the wire (docs/protocol.md §5). */
#define ERRCODE_TIMEOUT "timeout"
#define ERRCODE_DISCONNECTED "disconnected"
