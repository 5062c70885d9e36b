/* bus.h: libbus, the C client library of busd.
 *
 * Connect to a bus, own well-known names, call methods (blocking or
 * asynchronously), answer calls, publish events and subscribe to them. The
 * wire protocol is docs/protocol.md; this library is one client of it.
 *
 * Conventions
 * - Functions that can fail return 0 (or a documented non-negative value) on
 *   success and a negative errno on failure. After a failure,
 *   bus_last_error() says what went wrong in words and bus_last_error_code()
 *   gives the wire error code when the failure came from the bus.
 * - JSON values are json-c objects. Arguments are borrowed: the library takes
 *   its own reference when it needs one. Values handed to callbacks are
 *   borrowed for the duration of the callback (json_object_get() to keep one).
 *   Values returned through ret_* parameters belong to the caller. The payload
 *   of an event or an incoming call is also available as the JSON text the
 *   daemon relayed (bus_event_json(), bus_call_params_json()); libbus builds
 *   its json-c tree only when bus_event_data() or bus_call_params() asks for
 *   it, once. Events and replies can be sent as JSON text too
 *   (bus_publish_json(), bus_reply_json()).
 * - Output is buffered and written in batches: bus_publish() and other
 *   sends that need no answer queue bytes; they are written by bus_process(),
 *   bus_flush(), any blocking function (which flushes first), or whenever
 *   64 KiB more are queued. The buffer is bounded (8 MiB): like a pipe, a
 *   send that finds it full waits until the daemon has taken half of it,
 *   reading incoming messages meanwhile, or, on a bus made non-blocking with
 *   bus_set_nonblocking(), fails with -EAGAIN (bus_publish(),
 *   bus_call_async(), bus_call_oneway()); nothing is ever dropped. The
 *   daemon stops reading a publisher while a flow-controlled subscriber's
 *   queue is full, so this is how a fast publisher is slowed down.
 * - Thread safety: a struct bus is not thread-safe. Use each bus from one
 *   thread at a time (or serialise access yourself). Different bus objects are
 *   independent and may be used from different threads.
 * - Re-entrancy: blocking functions may be called from callbacks. While a
 *   blocking function waits, other incoming messages are queued and dispatched
 *   later by bus_process(), never from inside the blocking call. A blocking
 *   function never stops reading (the daemon may be waiting for this client
 *   to read before it takes more of its output or sends the answer waited
 *   for). The queue holds up to 8 MiB; events read beyond that during a
 *   blocking wait are dropped and reported through bus_on_dropped() (other
 *   messages are always kept). bus_process() reads only into an empty queue,
 *   so a bus_run()/bus_process() loop leaves unread input in the socket and
 *   the daemon holds it back instead. Callbacks must not call bus_close(),
 *   bus_process() or bus_run() on their own bus.
 * - Reference: docs/libbus.md (libbus(3)).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct json_object;
struct bus;
struct bus_call;

/* ---- connection ---------------------------------------------------------- */

/* The system bus (`bus --system`). */
#define BUS_SYSTEM_ADDRESS "unix:/run/busd/bus"

/* Writes the user bus address into buf: "unix:$XDG_RUNTIME_DIR/busd/bus", or
 * "unix:/tmp/busd-$UID/bus" when XDG_RUNTIME_DIR is unset or not absolute. It
 * ignores $BUS_ADDRESS (bus_open(NULL, ...) looks there first). The socket
 * path is what follows "unix:". Returns the address's length, or
 * -ENAMETOOLONG (the path does not fit a socket address), -ENOBUFS (buf is
 * smaller than the length + 1). Thread-safe (reads the environment). */
int bus_default_address(char *buf, size_t size);

/* Connects and performs the handshake (blocking). The socket is close-on-exec.
 * address: "unix:/path", "seqpacket:/path", a bare absolute path, or NULL for
 *          $BUS_ADDRESS, then the user bus (docs/protocol.md §1).
 * display_name: shown by `bus list`; NULL for none.
 * Returns 0 and a new bus in *ret_bus, or a negative errno:
 *   -ENOENT/-ECONNREFUSED no bus is listening at the address,
 *   -EINVAL the address is malformed, -EPROTO the daemon's answer was not a
 *   welcome, or the other end closed without answering (not a busd: a D-Bus
 *   socket does that), -ETIMEDOUT no answer within 25 s, -ENOMEM; -EACCES also when the
 *   daemon's access policy does not let this uid connect and -EUSERS when the
 *   uid is at its quota of connections (bus_open_error() gives the daemon's
 *   reason, with the policy rule); -EPERM when the address is the user bus
 *   and it is not trustworthy: the /tmp/busd-$UID fallback directory is not
 *   a private directory of this uid or root, or the daemon behind the user
 *   bus's socket runs as another uid than this one or root (a squatter;
 *   bus_open_error() names the path and the uid found).
 * On failure *ret_bus is untouched; bus_open_error() describes the failure. */
int bus_open(const char *address, const char *display_name, struct bus **ret_bus);
/* bus_open() that gives up after timeout_ms milliseconds (> 0) for the
 * connect and the handshake together: a daemon that is stopped (SIGSTOP) or
 * stuck, or whose listening backlog is full, gives -ETIMEDOUT in time instead
 * of blocking. A negative timeout_ms (BUS_TIMEOUT_DEFAULT) is bus_open(): the
 * connect waits as long as the kernel makes it, the welcome 25 s. The
 * timeout applies to the opening only; reconnections are not blocking. */
int bus_open_timeout(const char *address, const char *display_name, int timeout_ms, struct bus **ret_bus);
/* Like bus_open() on an already connected AF_UNIX socket (SOCK_STREAM or
 * SOCK_SEQPACKET, e.g. from socketpair() or socket activation). On success
 * the bus owns fd (bus_close() closes it); on failure the caller still does.
 * Returns 0 or a negative errno as bus_open(), and -ENOTSOCK/-EPROTOTYPE when
 * fd is not such a socket. */
int bus_open_fd(int fd, const char *display_name, struct bus **ret_bus);
/* Text describing the last bus_open() failure of this thread. */
const char *bus_open_error(void);
/* Flushes what is buffered (best effort, without blocking for long) and
 * closes. Pending asynchronous calls get their callback with -ECONNRESET
 * ("disconnected") first; the disconnect callback is not called. Accepts
 * NULL. */
void bus_close(struct bus *bus);

/* The connection's unique id, e.g. ":42"; "" while the bus is between
 * connections; a new one after each reconnection. The pointer is valid until
 * bus_close(). */
const char *bus_unique_id(const struct bus *bus);
/* The daemon's credentials as the kernel recorded them when the current
 * connection was made (SO_PEERCRED): which process serves the bus. Use this
 * rather than getsockopt() on bus_get_fd(), which is not the socket for a
 * bus_open() bus. Any ret_* may be NULL. Returns 0, -ENOTCONN between
 * connections, or another negative errno from getsockopt(). */
int bus_peer_creds(const struct bus *bus, uid_t *ret_uid, gid_t *ret_gid, pid_t *ret_pid);
/* A pidfd (pidfd_open(2)) for the process behind another connection, `peer`
 * (a unique id or a well-known name), taken by the daemon from the kernel
 * when that connection was made (SO_PEERPIDFD): unlike a pid, it cannot come
 * to name another process later. Blocking. On success *ret_fd is a new
 * close-on-exec descriptor the caller owns and *ret_pid (may be NULL) its
 * pid. Errors: -ENOENT no such connection (code "no_owner"), -EOPNOTSUPP the
 * kernel gave the daemon none (code "unsupported"), -EPROTO the answer came
 * without its descriptor, or as bus_call(). */
int bus_get_pidfd(struct bus *bus, const char *peer, int *ret_fd, pid_t *ret_pid);
/* Largest message this connection may send (from the welcome). */
size_t bus_max_message(const struct bus *bus);
/* Words describing the last failure on this bus ("" if none). */
const char *bus_last_error(const struct bus *bus);
/* Wire error code of the last failure ("no_owner", "timeout", ...) or NULL
 * when the failure was local. */
const char *bus_last_error_code(const struct bus *bus);

/* ---- names --------------------------------------------------------------- */

enum {
        BUS_NAME_ALLOW_REPLACEMENT = 1 << 0, /* others may take the name with BUS_NAME_REPLACE */
        BUS_NAME_REPLACE = 1 << 1,           /* take it over if the owner allowed replacement */
        BUS_NAME_NO_QUEUE = 1 << 2,          /* do not wait in the queue */
};

enum bus_name_status {
        BUS_NAME_PRIMARY_OWNER = 1,
        BUS_NAME_IN_QUEUE = 2,
        BUS_NAME_EXISTS = 3,
        BUS_NAME_ALREADY_OWNER = 4,
};

/* Requests a well-known name (blocking). Returns a positive enum
 * bus_name_status, or a negative errno (-EINVAL bad name, -EREMOTEIO the bus
 * refused: see bus_last_error_code(), e.g. "reserved" or "limit"). */
int bus_request_name(struct bus *bus, const char *name, unsigned flags);
/* Releases a name or leaves its queue (blocking). Returns 0, or -ESRCH when
 * this connection neither owned nor waited for it. */
int bus_release_name(struct bus *bus, const char *name);

/* Called when this connection gains a name from the queue (acquired = true)
 * or is replaced as its owner (acquired = false). */
typedef void (*bus_name_fn)(struct bus *bus, const char *name, bool acquired, void *userdata);
void bus_on_name(struct bus *bus, bus_name_fn fn, void *userdata);

/* ---- calls --------------------------------------------------------------- */

/* Timeout meaning "the default" (25 s). Timeouts are client-side: when one
 * expires the call fails with -ETIMEDOUT and libbus sends `cancel`. */
#define BUS_TIMEOUT_DEFAULT (-1)

/* Calls dest.method(params) and waits for the answer (flushes first).
 * dest: a well-known name, a unique id (":42"), or BUS/NAME for NAME on the
 * bus called BUS of the bridge ("busd-b/org.example.Clock", docs/protocol.md
 * §4.9; the same for bus_call_async() and bus_call_oneway()).
 * params may be NULL (JSON null). timeout_ms: milliseconds, or any negative
 * value (BUS_TIMEOUT_DEFAULT) for 25 s. On success returns 0 and stores the result
 * in *ret_result (caller owns it; NULL when the result is JSON null; pass
 * ret_result NULL to discard). Errors:
 *   -EREMOTEIO  an error answer: bus_last_error_code() is its code ("no_owner",
 *               "callee_gone", or the callee's own code), bus_last_error() its
 *               message;
 *   -ETIMEDOUT  no answer in time; -ECONNRESET the connection ended (at
 *               once, also while the call waits); -ENOTCONN the bus is
 *               between connections (reconnecting);
 *   -EINVAL     bad dest or method syntax, or params the daemon would not
 *               parse (NaN/Infinity, invalid UTF-8, nested deeper than the
 *               bus allows); -EMSGSIZE params too large. */
int bus_call(struct bus *bus, const char *dest, const char *method, struct json_object *params, int timeout_ms,
             struct json_object **ret_result);

/* The outcome of an asynchronous call, borrowed for the callback. */
struct bus_reply {
        int error;                  /* 0, -EREMOTEIO, -ETIMEDOUT, -ECONNRESET, or -ENOMEM (the answer's
                    * result or data could not be made a json-c value: code "internal") */
        struct json_object *result; /* result (error == 0) or the error's data; may be NULL */
        const char *code;           /* error code when error != 0 ("timeout", "disconnected" locally) */
        const char *message;        /* error message when error != 0 */
        const char *sender;         /* unique id that answered, or "org.busd"; NULL for local errors */
};
typedef void (*bus_reply_fn)(struct bus *bus, const struct bus_reply *reply, void *userdata);

/* Sends a call without waiting; fn runs exactly once from bus_process() (or
 * bus_close()) with the outcome. Returns 0 and an id for bus_call_cancel() in
 * *ret_cookie (may be NULL), or a negative errno as bus_call(), and -EAGAIN
 * on a non-blocking bus whose output buffer is full (bus_set_nonblocking()). */
int bus_call_async(struct bus *bus, const char *dest, const char *method, struct json_object *params, int timeout_ms,
                   bus_reply_fn fn, void *userdata, uint64_t *ret_cookie);
/* Forgets a pending asynchronous call: its callback will not run. Returns 0
 * or -ENOENT if it is not pending. */
int bus_call_cancel(struct bus *bus, uint64_t cookie);
/* Sends a one-way call (no answer expected; the daemon still reports its own
 * failures, which are then only visible through bus_on_error()). Errors as
 * bus_call_async(), -EAGAIN included. */
int bus_call_oneway(struct bus *bus, const char *dest, const char *method, struct json_object *params);

/* ---- serving methods ----------------------------------------------------- */

/* A method handler. Answer with bus_reply()/bus_reply_error() before
 * returning, or keep the call with bus_call_defer() and answer later. If the
 * handler returns without doing either, libbus answers: a null result when it
 * returned >= 0, an error "failed" with strerror(-r) when it returned r < 0. */
typedef int (*bus_method_fn)(struct bus *bus, struct bus_call *call, void *userdata);

/* Registers a handler for `method` on this connection and declares it for
 * introspection (sends `declare`; non-blocking). description may be NULL;
 * params_shape and result_shape are JSON texts describing the shapes, or NULL.
 * Registering the same method again replaces the handler. Calls for methods
 * without a handler are answered with error "unknown_method".
 * Returns 0, -EINVAL (bad method name or shape JSON), -E2BIG (too many). */
int bus_add_method(struct bus *bus, const char *method, const char *description, const char *params_shape,
                   const char *result_shape, bus_method_fn fn, void *userdata);

const char *bus_call_method(const struct bus_call *call);
/* The name or unique id the caller addressed. */
const char *bus_call_dest(const struct bus_call *call);
/* The call's params as a json-c value, built from the text on the first call
 * and kept: the same pointer each time, borrowed until the call is answered
 * (or, for a deferred call, freed); json_object_get() to keep it longer.
 * Returns NULL with errno 0 when params is JSON null (or absent), and NULL
 * with errno ENOMEM when the value cannot be built (a later call tries
 * again). */
struct json_object *bus_call_params(const struct bus_call *call);
/* The call's params as the JSON text the daemon relayed (the caller's bytes
 * without whitespace outside strings): valid as long as the call, never
 * NULL, NUL-terminated (*ret_len, which may be NULL, does not count the NUL;
 * a string holding \u0000 keeps it escaped, so the text never contains a NUL
 * byte). "null" when params is JSON null or absent. Builds no json-c value:
 * a service that forwards or parses params itself need not pay for one. */
const char *bus_call_params_json(const struct bus_call *call, size_t *ret_len);
/* Caller identity, stamped by the daemon: ":5", or "BUS/:5" for a caller on
 * another bus of the bridge, whose creds are then uid -1, gid -1, pid 0. */
const char *bus_call_sender(const struct bus_call *call);
void bus_call_creds(const struct bus_call *call, uid_t *ret_uid, gid_t *ret_gid, pid_t *ret_pid);
/* For a caller on another bus: that bus's name, and the credentials as that
 * bus stamped them (any ret_* may be NULL); NULL for a local caller. */
const char *bus_call_remote(const struct bus_call *call, uid_t *ret_uid, gid_t *ret_gid, pid_t *ret_pid);
bool bus_call_is_oneway(const struct bus_call *call);

/* Answers a call; result is borrowed (NULL for JSON null). The call is freed:
 * do not use it afterwards. For one-way calls nothing is sent. Returns 0 or a
 * negative errno (the call is freed either way). */
int bus_reply(struct bus_call *call, struct json_object *result);
/* bus_reply() with the result given as one JSON text of len bytes (it need
 * not be NUL-terminated), sent as it is (whitespace outside strings
 * removed). It is checked first as the daemon will parse it
 * (docs/protocol.md §2.1: RFC 8259, UTF-8, no NaN/Infinity, no lone
 * surrogate escape, integers within 64 bits, no repeated member name, nested
 * at most the bus's max_depth - 1): text that fails is not sent, the caller
 * gets an error "failed" instead and this returns -EINVAL (json NULL too).
 * Frees the call either way. Returns 0 or a negative errno as bus_reply(). */
int bus_reply_json(struct bus_call *call, const char *json, size_t len);
/* Answers with an error. code: 1-128 bytes of [A-Za-z0-9_.-]. Frees the call. */
int bus_reply_error(struct bus_call *call, const char *code, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* Keeps the call alive after the handler returns; answer it later with
 * bus_reply()/bus_reply_error(). If the bus is closed first, the call is freed
 * by bus_close(). Returns call. */
struct bus_call *bus_call_defer(struct bus_call *call);

/* ---- events -------------------------------------------------------------- */

/* Publishes data (borrowed; NULL for JSON null) on topic. Buffered: returns
 * once the event is in the output buffer. When the buffer is full (8 MiB, the
 * daemon has stopped reading: a flow-controlled subscriber is behind), it
 * first waits until the daemon has taken half of it, reading incoming
 * messages meanwhile; on a non-blocking bus (bus_set_nonblocking()) it fails
 * with -EAGAIN instead, queueing nothing. Returns 0, -EAGAIN (non-blocking
 * only) wait until bus_get_fd() is ready for bus_get_events(), call
 * bus_process() and try again, -EINVAL bad topic (or one starting with $) or
 * data, -EMSGSIZE too large, -ENOBUFS the daemon took no output for longer
 * than its stall timeout + 10 s (25 s at least), -ECONNRESET the connection
 * ended, -ENOTCONN the bus is between connections (nothing is queued for
 * later). */
int bus_publish(struct bus *bus, const char *topic, struct json_object *data);
/* bus_publish() with data given as one JSON text of len bytes (it need not
 * be NUL-terminated; "null" for JSON null), already serialised by the
 * application: subscribers receive these bytes (whitespace outside strings
 * removed), with no json-c value built on the way. The text is checked first
 * as the daemon will parse it (docs/protocol.md §2.1: RFC 8259, UTF-8, no
 * NaN/Infinity, no lone surrogate escape such as "\ud800", integers within
 * 64 bits, no repeated member name, nested at most the bus's max_depth - 1
 * levels); text that fails (json NULL too) gives -EINVAL with nothing queued
 * or waited for, and bus_last_error() says where. Otherwise as
 * bus_publish(): the same buffering, waiting, -EAGAIN, -EMSGSIZE and other
 * errors. */
int bus_publish_json(struct bus *bus, const char *topic, const char *json, size_t len);
/* bus_publish() that waits for the daemon's acknowledgement (flushes first;
 * docs/protocol.md §4.3): how many subscribers got the event queued
 * (*ret_delivered) and how many did not (*ret_dropped: lossy subscribers with
 * a full queue, subscribers given up on, bridge links that could not take
 * it); either may be NULL. 0 delivered and 0 dropped: nobody subscribed to a
 * matching pattern (a typo in the topic?). The acknowledgement of a publish
 * held back by flow control comes when the hold ends. timeout_ms as
 * bus_call(). Returns 0, or a negative errno as bus_publish() (never
 * -EAGAIN: this waits for room), -EREMOTEIO the daemon refused the event
 * (bus_last_error_code(): "denied", "reserved", ...), -ETIMEDOUT. */
int bus_publish_acked(struct bus *bus, const char *topic, struct json_object *data, int timeout_ms,
                      uint64_t *ret_delivered, uint64_t *ret_dropped);
/* enable = true: bus_publish(), bus_call_async() and bus_call_oneway() fail
 * with -EAGAIN instead of waiting when the output buffer is full (for event
 * loops that must not block). Replies, declarations and the requests of
 * blocking functions still wait. Off by default. */
void bus_set_nonblocking(struct bus *bus, bool enable);

/* An event handed to a handler, borrowed for the callback. Its data:
 * bus_event_json() and bus_event_data(). */
struct bus_event {
        const char *topic;
        const char *sender; /* ":5", or "BUS/:5" for a sender on another bus */
        uid_t uid;          /* stamped by this bus's daemon; -1 for a remote sender */
        gid_t gid;
        pid_t pid; /* 0 for a remote sender */
        /* NULL for a local sender; for a sender on another bus of the bridge,
         * that bus's name, with the credentials as that bus stamped them
         * (never to be taken for a local uid). */
        const char *remote;
        uid_t remote_uid;
        gid_t remote_gid;
        pid_t remote_pid;
        void *priv; /* libbus's own */
};
typedef void (*bus_event_fn)(struct bus *bus, const struct bus_event *event, void *userdata);

/* The event's data as a json-c value, built from the text on the first call
 * and kept: the same pointer each time, borrowed for the callback (every
 * handler the event reaches shares it; json_object_get() to keep it
 * longer). Returns NULL with errno 0 when the data is JSON null (or absent),
 * and NULL with errno ENOMEM when the value cannot be built (a later call
 * tries again). Only from a bus_event_fn, on the event it was given. */
struct json_object *bus_event_data(const struct bus_event *ev);
/* The event's data as the JSON text the daemon delivered (the publisher's
 * bytes without whitespace outside strings: numbers such as -0 or 1.50e3
 * and escapes such as \u00e9 arrive as written), without building a json-c
 * value: the cheap way for handlers that only count, forward or store
 * events. Never NULL; NUL-terminated (*ret_len, which may be NULL, does not
 * count the NUL; a string holding \u0000 keeps it escaped, so the text
 * never contains a NUL byte); "null" when the data is JSON null or absent.
 * Borrowed for the callback. Only from a bus_event_fn, on the event it was
 * given. */
const char *bus_event_json(const struct bus_event *ev, size_t *ret_len);

/* Subscribes to a pattern (blocking until the daemon confirms, so that events
 * published after it returns are received). Each event is delivered once to
 * the handler of every matching pattern of this bus. The subscription is
 * flow-controlled: when this client reads too slowly the daemon holds the
 * publishers back (up to its stall timeout, then it disconnects this client)
 * rather than dropping events. Returns 0, -EINVAL bad pattern, -EEXIST
 * already subscribed here, -EREMOTEIO refused ("limit"). */
int bus_subscribe(struct bus *bus, const char *pattern, bus_event_fn fn, void *userdata);

enum {
        /* the daemon drops events for this subscription when this client reads
         * too slowly (reported through bus_on_dropped()) and never holds a
         * publisher back for it */
        BUS_SUBSCRIBE_LOSSY = 1 << 0,
};

/* bus_subscribe() with BUS_SUBSCRIBE_* flags. Returns the flags in effect
 * (>= 0), which the daemon's policy may make lossy although flags did not ask
 * for it (and a daemon without flow control is always lossy), or a negative
 * errno as bus_subscribe() (-EINVAL also for unknown flags). A reconnection
 * subscribes again with the same flags. */
int bus_subscribe_flags(struct bus *bus, const char *pattern, unsigned flags, bus_event_fn fn, void *userdata);
/* The BUS_SUBSCRIBE_* flags in effect for pattern (>= 0; after a reconnection,
 * as the new daemon confirmed them), or -ENOENT not subscribed. */
int bus_subscription_flags(struct bus *bus, const char *pattern);
/* Removes a subscription (blocking). Returns 0 or -ENOENT. */
int bus_unsubscribe(struct bus *bus, const char *pattern);

/* Called when events were dropped: by the daemon, for a lossy subscription
 * this client read too slowly, or by libbus, past its 8 MiB incoming queue
 * during a blocking wait. count since the last report, total since connect. */
typedef void (*bus_dropped_fn)(struct bus *bus, uint64_t count, uint64_t total, void *userdata);
void bus_on_dropped(struct bus *bus, bus_dropped_fn fn, void *userdata);

/* Called for errors that answer no pending call of ours (e.g. a failed one-way
 * call or a publish refused without an id). */
typedef void (*bus_error_fn)(struct bus *bus, const char *code, const char *message, void *userdata);
void bus_on_error(struct bus *bus, bus_error_fn fn, void *userdata);

/* ---- reconnection -------------------------------------------------------- */

/* A bus opened with bus_open() reconnects by itself when its connection ends
 * (busd restarted or crashed), with jittered exponential backoff (50 ms
 * doubling to 2 s, each delay drawn from 50% to 150% of its value). Calls
 * pending at that moment fail at once with -ECONNRESET ("disconnected");
 * while there is no connection, sending fails at once with -ENOTCONN. Once
 * reconnected, libbus says hello again (same display name), requests again
 * every name it owned or waited for (same flags), declares its methods and
 * subscribes to its patterns again, then calls the bus_on_reconnect()
 * callback. Reconnection is driven by bus_process() (bus_run(), an event
 * loop) and by any function that sends. Details: docs/libbus.md.
 *
 * enable = false makes the end of a connection final (bus_process() then
 * returns the error), as it always is for bus_open_fd() buses, which have no
 * address to connect to again. Returns 0, or -EOPNOTSUPP when enabling it on
 * a bus_open_fd() bus. */
int bus_set_reconnect(struct bus *bus, bool enable);
/* True while the bus has a connection the daemon has welcomed. */
bool bus_is_connected(const struct bus *bus);

/* Called once each time a connection ends, from bus_process(), after the
 * messages received before the end were dispatched and every call pending on
 * the connection failed with -ECONNRESET. error and why: what ended it
 * (-ECONNRESET the daemon closed it, -EPROTO it sent an invalid message, ...).
 * reconnecting: libbus will connect again; if false the bus is finished. */
typedef void (*bus_disconnect_fn)(struct bus *bus, int error, const char *why, bool reconnecting, void *userdata);
void bus_on_disconnect(struct bus *bus, bus_disconnect_fn fn, void *userdata);

/* Called from bus_process() once a new connection is made and everything has
 * been restored or refused: names, methods and subscriptions are in place,
 * bus_unique_id() is the new id. attempts: connection attempts it took (>= 1).
 * not_restored: names owned before and not any more (each reported first to
 * bus_on_name() with acquired = false), plus subscriptions and declarations
 * the daemon refused (each reported first to bus_on_error(); such a
 * subscription is removed). */
typedef void (*bus_reconnect_fn)(struct bus *bus, unsigned attempts, unsigned not_restored, void *userdata);
void bus_on_reconnect(struct bus *bus, bus_reconnect_fn fn, void *userdata);

/* ---- event loop integration ---------------------------------------------- */

/* The fd to watch; the same number and the same open file for the life of the
 * bus, across reconnections. For a bus_open() bus it is an epoll fd that
 * libbus keeps watching its current socket (readable when the socket is, or,
 * while output waits for room, writable), never the socket itself; for a
 * bus_open_fd() bus it is the socket given. */
int bus_get_fd(const struct bus *bus);
/* poll() events to wait for on bus_get_fd(): POLLIN, plus POLLOUT while
 * output is buffered on a bus_open_fd() bus. (A bus_open() bus's epoll fd
 * becomes readable when its socket has room for buffered output.) After
 * -EAGAIN from a send, wait for these and call bus_process(), which writes. */
int bus_get_events(const struct bus *bus);
/* Milliseconds until bus_process() has work without the fd becoming ready: 0
 * if work is ready now (queued messages, unwritten output, a failed
 * connection), else the time to the next call timeout or reconnection step,
 * -1 if none: use as poll() timeout. */
int bus_get_timeout(const struct bus *bus);
/* Does all work possible without blocking: writes buffered output, reads what
 * is available, dispatches callbacks, expires timeouts, takes the next
 * reconnection step. Returns > 0 if it did something, 0 if there was nothing
 * to do, a negative errno if the connection failed for good, i.e. without
 * reconnection (-ECONNRESET; -EPROTO the daemon sent an invalid message;
 * -EMSGSIZE one over max_recv; pending calls have then failed with
 * "disconnected"). Messages that arrived before the failure are dispatched
 * first. */
int bus_process(struct bus *bus);
/* Writes all buffered output, blocking. Returns 0 or a negative errno. */
int bus_flush(struct bus *bus);
/* Waits up to timeout_ms (-1 forever) until bus_process() has work. Returns
 * > 0 if ready, 0 on timeout, negative errno on failure. */
int bus_wait(struct bus *bus, int timeout_ms);
/* Runs process/wait until bus_quit() is called (returns its code) or the
 * connection fails (returns a negative errno). */
int bus_run(struct bus *bus);
/* Makes bus_run() return `code` after the current dispatch (the
 * bus_process() that runs the calling callback). */
void bus_quit(struct bus *bus, int code);

#ifdef __cplusplus
}
#endif
