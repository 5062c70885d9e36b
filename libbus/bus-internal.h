/* bus-internal.h: the state of a libbus connection, shared by the files of
 * libbus/ and by its unit tests. Not installed.
 *
 * One concern per file; internal functions carry the file name as prefix
 * (bus.c uses `bus__`, as `bus_` is the public prefix):
 *   address.c    which address bus_open() uses, the default user bus address
 *                (the syntax is proto/address.c's)
 *   transport.c  the socket: connect, batched output, framed input (no JSON)
 *   outmsg.c     writing client messages into the output buffer
 *   inmsg.c      parsing and checking daemon messages (no I/O)
 *   bus.c        open/close, handshake, errors, accessors, sending
 *   loop.c       reading, the incoming queue, dispatch, blocking waits
 *   call.c       outgoing calls: blocking, asynchronous, one-way, timeouts
 *   method.c     serving methods: handlers, declarations, answers
 *   event.c      publish, subscriptions, event dispatch
 *   name.c       well-known names, the names this bus holds, notifications
 *   reconnect.c  the end of a connection and reconnecting: backoff, the new
 *                hello, restoring names, methods and subscriptions
 *
 * Visibility: the library is built with -fvisibility=hidden; bus.h is included
 * here under `visibility push(default)` so that exactly the functions it
 * declares are exported.
 */
#pragma once

#pragma GCC visibility push(default)
#include "bus.h"
#pragma GCC visibility pop

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "address.h"
#include "buf.h"
#include "buslimits.h"
#include "frame.h"
#include "list.h"

struct jsonscan;

/* ---- tunables (documented in docs/libbus.md) ----------------------------- */

#define BUS_DEFAULT_TIMEOUT_MS 25000
/* Buffered output is written as soon as this much is queued. */
#define BUS_OUT_FLUSH_BYTES (64u * 1024u)
/* Beyond this much buffered output a send first blocks until half of it is
 * written (or, for bus_publish/bus_call_async/bus_call_oneway on a
 * non-blocking bus, fails with -EAGAIN). */
#define BUS_OUT_MAX_BYTES (8u * 1024u * 1024u)
/* A send blocked on a full output buffer fails (-ENOBUFS) once the daemon has
 * taken nothing for its stall_timeout_ms plus this (25 s at least). */
#define BUS_OUT_STALL_MARGIN_MS 10000
/* Undispatched incoming bytes beyond which further events read during a
 * blocking wait are dropped (and reported through bus_on_dropped); other
 * messages are always queued. bus_process() reads only into an empty queue,
 * so outside blocking waits it never fills. */
#define BUS_IN_QUEUE_MAX_BYTES (8u * 1024u * 1024u)
/* Bytes bus_process() reads per call before dispatching. */
#define BUS_READ_BUDGET (256u * 1024u)
/* What one bus_process() reads before dispatching: small, so that parsed
 * messages are handed out (and freed) while they are still in the cache,
 * instead of a large backlog of json-c trees piling up first. */
#define BUS_PROCESS_READ_BUDGET (32u * 1024u)
/* Packets one sendmmsg() carries. */
#define BUS_SENDMMSG_BATCH 256u
/* How long bus_close() tries to write what is buffered. */
#define BUS_CLOSE_FLUSH_MS 1000
/* Reconnection backoff: the delay before attempt n (1, 2, ...) is
 * min(MIN << (n - 1), MAX) ms, times a random factor in [0.5, 1.5). */
#define BUS_RECONNECT_MIN_MS 50
#define BUS_RECONNECT_MAX_MS 2000
/* How long a new connection waits for its welcome (as bus_open()). */
#define BUS_HELLO_TIMEOUT_MS BUS_DEFAULT_TIMEOUT_MS

/* ---- address.c ----------------------------------------------------------- */

/* The syntax (struct address, address_parse()) and the default locations are
 * proto/address.h's, shared with busd and the tools. */

/* The address bus_open() uses: s, else $BUS_ADDRESS (if set and not empty),
 * else the user bus. Returns 0, or -EINVAL (malformed: see address_parse())
 * or -ENAMETOOLONG (the user bus path does not fit) with the reason in
 * errbuf; *ret is untouched on failure. */
int address_resolve(const char *s, struct address *ret, char *errbuf, size_t errlen);

/* ---- userbus.c ----------------------------------------------------------- */

/* Before connecting to path: when it is the user bus's /tmp/busd-$UID
 * fallback, the directory must be a real directory (not a symbolic link)
 * owned by this uid or root and not writable by group or others. Returns 0
 * (also for any other path, and when the directory is absent), or -EPERM with
 * the path and the owner found in errbuf. */
int userbus_check_dir(const char *path, char *errbuf, size_t errlen);
/* After connecting fd to connected_to (NULL when unknown: then the path the
 * peer bound, getpeername()): when that is the user bus's socket (by either
 * default rule), userbus_check_dir() again, then the daemon's uid
 * (SO_PEERCRED) must be this uid or root. Returns 0 (also for sockets that
 * are not the user bus), or -EPERM with the reason in errbuf, or another
 * negative errno from getsockopt(). */
int userbus_check_peer(int fd, const char *connected_to, char *errbuf, size_t errlen);

/* ---- transport.c --------------------------------------------------------- */

/* Called with each received message (without framing). Return 0, or a
 * negative errno to stop reading (transport_read() returns it). */
typedef int (*transport_msg_fn)(const char *msg, size_t len, void *userdata);

struct transport {
        int fd;
        bool seqpacket;
        struct buf *out; /* queued output: bytes [out_head, out->len) */
        size_t out_head;
        size_t *pkts; /* seqpacket: lengths of the queued packets [pkt_head, pkt_n) */
        size_t pkt_head, pkt_n, pkt_cap;
        struct frame frame; /* stream input */
        char *in;           /* receive buffer */
        size_t in_cap;
        size_t max_recv; /* longest message accepted from the daemon */
        uint64_t writes; /* send()/sendmmsg() calls made, for tests and statistics */
        bool drained;    /* the last read emptied the socket (bus_run() then waits instead of reading) */
        /* descriptors the daemon passed (SCM_RIGHTS), oldest first, with their
         * ordinal on this connection (1, 2, ...: a pidfd answer names its own) */
        int rfds[8];
        uint64_t rfd_ord[8];
        size_t rfd_n;
        uint64_t rfd_count;
};

/* Connects a close-on-exec socket. nonblock: the socket is O_NONBLOCK and
 * connect() does not wait (AF_UNIX connects at once or fails, -EAGAIN when
 * the listener's backlog is full); else connect() blocks, at most timeout_ms
 * when that is > 0 (then -ETIMEDOUT). Returns 0 and the fd, or a negative
 * errno. */
int transport_connect(const struct address *a, bool nonblock, int timeout_ms, int *ret_fd);
/* Sets t up on a connected socket; the type is read with SO_TYPE. Takes the
 * fd on success only. Returns 0, -ENOTSOCK/-EPROTOTYPE, -ENOMEM. */
int transport_init(struct transport *t, int fd);
/* Frees buffers and closes the fd. */
void transport_deinit(struct transport *t);
/* The descriptor the daemon passed as the ordinal-th on this connection
 * (closing older ones nobody took), or -1 if it has not arrived. */
int transport_take_fd(struct transport *t, uint64_t ordinal);
/* Closes the fd (if any) and starts over on fd (-1: none, for between
 * connections) of the same socket type: queued output and partial input are
 * dropped, max_recv is the transport's default again. Returns 0 or -ENOMEM
 * (the fd is taken either way). */
int transport_reset(struct transport *t, int fd);
/* Sets the largest message accepted (max_recv from the welcome). */
int transport_set_max_recv(struct transport *t, size_t max_recv);
/* Bytes queued for writing. */
size_t transport_queued(const struct transport *t);
/* Writing one message: remember transport_begin(), append, then commit (adds
 * the framing) or abort (drops what was appended since begin). */
size_t transport_begin(struct transport *t);
int transport_append(struct transport *t, const void *p, size_t n);
int transport_commit(struct transport *t, size_t mark);
void transport_abort(struct transport *t, size_t mark);
/* Writes queued output without blocking: one send() for stream, sendmmsg()
 * batches for seqpacket. Returns bytes written (> 0), 0 if nothing could be
 * written, or a negative errno (-ECONNRESET when the daemon is gone). */
ssize_t transport_flush(struct transport *t);
/* Reads without blocking until EAGAIN or `budget` bytes, handing each message
 * to fn. Returns bytes read (>= 0), -ECONNRESET at end of stream, -EMSGSIZE
 * for a message over max_recv, fn's error, or another negative errno. */
ssize_t transport_read(struct transport *t, size_t budget, transport_msg_fn fn, void *userdata);

/* ---- outmsg.c ------------------------------------------------------------ */

/* Writes one JSON object into a transport's output buffer:
 *   outmsg_begin(&m, t, "call"); outmsg_uint(&m, "id", 7); ...; outmsg_end(&m, max);
 * The first failure sticks; outmsg_end() then drops the partial message and
 * returns it, with a reason in m.why. */
struct outmsg {
        struct transport *t;
        size_t mark;
        int error;     /* 0 or the first negative errno */
        int max_depth; /* nesting limit for values (from the welcome) */
        char why[160];
};

void outmsg_begin(struct outmsg *m, struct transport *t, int max_depth, const char *type);
void outmsg_uint(struct outmsg *m, const char *key, uint64_t v);
void outmsg_bool(struct outmsg *m, const char *key, bool v);
/* Any string: escaped; -EINVAL unless valid UTF-8 without NUL. */
void outmsg_string(struct outmsg *m, const char *key, const char *s);
/* A JSON value (NULL: null), checked as the daemon will (outmsg_check_json). */
void outmsg_json(struct outmsg *m, const char *key, struct json_object *v);
/* A JSON value given as text that jsonscan accepted (bus__check_json()),
 * copied as is or, when spaced, without its whitespace outside strings (a
 * line feed would end a JSON Lines message early). */
void outmsg_raw(struct outmsg *m, const char *key, const char *json, size_t len, bool spaced);
/* Commits the message if it is at most max_message bytes. Returns 0,
 * -EMSGSIZE, -EINVAL or -ENOMEM. */
int outmsg_end(struct outmsg *m, size_t max_message);
/* Checks serialised JSON the way the daemon parses it (docs/protocol.md §2.1):
 * valid UTF-8, no NaN/Infinity, nesting at most max_depth. Returns 0 or
 * -EINVAL with a static reason in *ret_why. */
int outmsg_check_json(const char *s, size_t len, int max_depth, const char **ret_why);
/* Valid UTF-8 of len bytes without NUL. */
bool outmsg_utf8_valid(const char *s, size_t len);

/* ---- inmsg.c ------------------------------------------------------------- */

enum inmsg_type {
        INMSG_WELCOME,
        INMSG_REPLY,
        INMSG_ERROR,
        INMSG_CALL,
        INMSG_EVENT,
        INMSG_DROPPED,
        INMSG_NAME_ACQUIRED,
        INMSG_NAME_LOST,
        INMSG_LOCAL_DROPPED, /* made by libbus: events it dropped itself (count) */
        /* made by libbus (reconnect.c), in the incoming queue so that they keep their place in order: */
        INMSG_LOCAL_DISCONNECTED, /* connection `gen` ended: error, message, notify, reconnecting */
        INMSG_LOCAL_RECONNECTED,  /* restored: count = attempts, total = not restored */
        INMSG_LOCAL_ERROR,        /* for bus_on_error(): code, message (a refused restore) */
};

struct inmsg_limits {
        uint64_t max_message, max_recv, max_depth, max_pending_calls, queue_bytes, max_names, max_subscriptions,
                max_methods, stall_timeout_ms;
};

/* One checked daemon message. Its strings and the payload's text are copies
 * in the message's own memory (arena): the received bytes are the
 * transport's, reused by the next read. */
struct inmsg {
        struct list link;
        enum inmsg_type type;
        size_t size;  /* bytes on the wire */
        uint64_t seq; /* arrival order */
        uint64_t gen; /* the connection it came from (bus->gen then) */
        bool has_id;
        uint64_t id;
        const char *sender, *dest, *method, *topic, *name, *code, *message, *unique;
        /* the payload: params (call), result (reply), data (error, event), as
         * the daemon sent it, NUL-terminated; "null" when null or absent */
        const char *json;
        size_t json_len;
        struct json_object *tree; /* its json-c tree once inmsg_tree() built it (owned; NULL for null) */
        bool has_tree;
        bool oneway;
        uid_t uid;
        gid_t gid;
        pid_t pid;
        const char *remote_bus, *remote_via; /* a sender on another bus (then uid/gid/pid are -1/0) */
        uid_t remote_uid;
        gid_t remote_gid;
        pid_t remote_pid;
        uint64_t count, total;      /* dropped */
        struct inmsg_limits limits; /* welcome */
        int error;                  /* local disconnected */
        bool notify, reconnecting;  /* local disconnected */
        char *text;                 /* owned: a local message's text (message and name point to it) */
        char arena[];               /* the copies: strings and payload */
};

/* Parses and checks one message from the daemon (docs/protocol.md §2.4) with
 * sc, whose nesting limit is the bus's max_depth. Unknown members are
 * ignored; missing or mistyped ones are errors. s is only read during the
 * call: the inmsg keeps copies of what it needs. Returns 0 and a new inmsg
 * (caller frees), or -EPROTO with a reason in errbuf, or -ENOMEM. */
int inmsg_parse(struct jsonscan *sc, const char *s, size_t len, struct inmsg **ret, char *errbuf, size_t errlen);
/* The payload's json-c tree, built on the first call and kept until
 * inmsg_free() (borrowed: json_object_get() to keep it longer). Returns 0 and
 * the tree in *ret (NULL for JSON null), or -ENOMEM (*ret untouched; a later
 * call tries again). */
int inmsg_tree(struct inmsg *m, struct json_object **ret);
/* The payload for the public accessors (bus_event_data(), bus_call_params()):
 * the tree, or NULL with errno 0 (JSON null) or ENOMEM. */
struct json_object *inmsg_payload(struct inmsg *m);
/* The member key of the payload's tree when it is an object (borrowed), or
 * NULL: not an object, no such member, null, or out of memory. */
struct json_object *inmsg_member(struct inmsg *m, const char *key);
struct inmsg *inmsg_new_local_dropped(void);
/* A local message of type t with a copy of text (message and name point to
 * it). NULL when out of memory. */
struct inmsg *inmsg_new_local(enum inmsg_type t, const char *text);
/* Replaces m's text (message and name) with a copy of text. Returns 0, or
 * -ENOMEM with m unchanged. */
int inmsg_set_text(struct inmsg *m, const char *text);
/* True if m is the reply or error answering our request `id`. An error
 * no_such_call never answers a request (it is about our own answers or a
 * cancel), whatever its id. */
bool inmsg_answers(const struct inmsg *m, uint64_t id);
void inmsg_free(struct inmsg *m);
const char *inmsg_type_name(enum inmsg_type t);

/* ---- the connection ------------------------------------------------------ */

/* Makes a new connection for a reconnecting bus without blocking: 0 and the fd,
 * or a negative errno. Unit tests replace it to connect to a fake daemon. */
typedef int (*bus_connect_fn)(struct bus *bus, int *ret_fd);

enum bus_state {
        BUS_CONNECTED, /* welcomed (it may have failed since: see dead) */
        BUS_WAITING,   /* between connections: the next attempt is due at retry_at */
        BUS_HELLO,     /* a new connection said hello: its welcome is due by retry_at */
};

/* An answer the restoration of a new connection waits for (reconnect.c). */
struct restore {
        int kind;           /* RESTORE_* in reconnect.c; 0: nothing was sent */
        char *key;          /* the name or pattern */
        struct inmsg *note; /* names: the bus_on_name() notification, ready in case it is needed */
};

struct bus {
        struct transport t;
        int epfd;               /* bus_open() buses: the epoll fd bus_get_fd() returns; else -1 */
        bool out_blocked;       /* the last write left output (the socket is full) */
        bool ep_out;            /* epfd watches the socket for EPOLLOUT too */
        bool reading;           /* inside transport_read(): the transport must not be reset */
        bool nonblocking;       /* bus_set_nonblocking(): a full output buffer refuses sends with -EAGAIN */
        struct jsonscan *scan;  /* reads the daemon's messages: nesting limit scan_depth */
        int scan_depth;         /* the bus's max_depth */
        struct jsonscan *vscan; /* checks JSON texts the application sends (bus_publish_json): vscan_depth */
        int vscan_depth;        /* max_depth - 1: such a value sits inside the message object */
        char unique[32];
        struct inmsg_limits limits;
        uint64_t next_id;
        size_t out_tried; /* bytes queued after the last write attempt */

        int dead; /* 0, or the negative errno that ended the connection */
        char dead_why[256];
        bool eof;         /* nothing more will be read (end of stream, read error, bad input) */
        bool lost;        /* the end of the connection was handled (conn_lost) */
        bool handshaking; /* the next message answers the hello */

        /* reconnection (reconnect.c) */
        enum bus_state state;
        bool reconnect;            /* reconnect when the connection ends (bus_set_reconnect) */
        bus_connect_fn connect_fn; /* NULL: the bus cannot reconnect (bus_open_fd) */
        struct address addr;       /* where bus_open() connected */
        char *display_name;        /* for the next hello; NULL for none */
        uint64_t gen;              /* connection generation: +1 each time one ends */
        bool announced;            /* the application was told of this connection (open or reconnected) */
        unsigned attempts;         /* connection attempts since the last announced connection ended */
        int64_t retry_at;          /* WAITING: next attempt; HELLO: welcome deadline (monotonic ms) */
        uint64_t hello_id;
        uint64_t rng;            /* backoff jitter (xorshift64) */
        struct inmsg *lost_msg;  /* the disconnected notice, allocated while connected */
        struct inmsg *back_msg;  /* the reconnected notice, allocated with the welcome */
        struct restore *restore; /* indexed by answer id - restore_first */
        size_t n_restore, restore_cap, restore_left;
        uint64_t restore_first;
        unsigned restore_failed;
        bus_disconnect_fn disconnect_fn;
        void *disconnect_ud;
        bus_reconnect_fn reconnect_fn;
        void *reconnect_ud;

        /* names held (name.c), for restoring them */
        struct list names;    /* struct name_entry */
        uint64_t name_req_id; /* the request_name/release_name waiting for its answer, 0: none */
        const char *name_req; /* its name (the caller's string, valid while it waits) */
        unsigned name_req_flags;
        bool name_req_release;

        struct list inq; /* struct inmsg, received and not yet dispatched */
        size_t inq_bytes;
        uint64_t in_seq;
        uint64_t wait_id; /* id a blocking function waits for, 0 for none */
        struct inmsg *wait_msg;

        struct list pending; /* struct pending: asynchronous calls */
        struct list methods; /* struct method */
        unsigned n_methods;
        struct list deferred; /* struct bus_call kept by bus_call_defer() */
        struct list subs;     /* struct sub */
        unsigned dispatching; /* > 0 while event handlers run */

        bus_name_fn name_fn;
        void *name_ud;
        bus_dropped_fn dropped_fn;
        void *dropped_ud;
        bus_error_fn error_fn;
        void *error_ud;
        uint64_t drops_total; /* dropped events reported so far (daemon's and ours) */

        bool quit;
        int quit_code;

        char err[512];
        char err_code[BUS_MAX_CODE + 1]; /* "" when the last failure was local */
};

/* bus.c */
int64_t bus__now_ms(void);
/* Takes the identity and limits of a welcome. Returns 0 or -ENOMEM. */
int bus__apply_welcome(struct bus *bus, const struct inmsg *w);
/* True if messages can be sent now: welcomed and not failed. */
bool bus__connected(const struct bus *bus);
/* bus_open_fd() for a bus that reconnects with connect_fn (unit tests). */
int bus__open_reconnecting(int fd, const char *display_name, bus_connect_fn connect_fn, struct bus **ret_bus);
/* Records a failure and returns error (a negative errno). code: wire code or
 * NULL for a local failure. */
int bus__fail(struct bus *bus, int error, const char *code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Checks a JSON text the application gives as the value of member `key`
 * (bus_publish_json(), bus_reply_json()) as the daemon will: jsonscan with
 * the bus's max_depth less the message object's level. Returns 0 and in
 * *ret_spaced whether it has whitespace outside strings, or records the
 * failure and returns -EINVAL (not such a text; NULL) or -ENOMEM. */
int bus__check_json(struct bus *bus, const char *key, const char *json, size_t len, bool *ret_spaced);
/* Records the error answer m and returns -EREMOTEIO. */
int bus__fail_answer(struct bus *bus, const struct inmsg *m);
/* Ends the connection (idempotent): no more writing or reading; what is
 * queued is still dispatched, then pending calls fail in bus_process(). */
void bus__disconnect(struct bus *bus, int error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Records that nothing can be sent now and returns -ENOTCONN (between
 * connections, reconnecting) or -ECONNRESET (the connection ended). */
int bus__fail_closed(struct bus *bus);
/* Records "the connection ended while waiting" and returns -ECONNRESET. */
int bus__fail_reset(struct bus *bus);
/* Writes what the socket takes now. Returns bytes written or the
 * connection's error (after bus__disconnect). */
ssize_t bus__flush(struct bus *bus);
/* Starts a message: fails if the connection is down (after taking a due
 * reconnection step); when the output buffer is over BUS_OUT_MAX_BYTES,
 * blocks until half of it is written, reading input meanwhile (-ENOBUFS when
 * the daemon takes nothing for longer than its stall timeout allows). */
int bus__send_begin(struct bus *bus, struct outmsg *m, const char *type);
/* The same for sends that need no answer (publish, asynchronous and one-way
 * calls): on a non-blocking bus a full output buffer makes it fail with
 * -EAGAIN after one write attempt instead of waiting. */
int bus__send_begin_try(struct bus *bus, struct outmsg *m, const char *type);
/* Commits it (failure recorded on bus) and writes when 64 KiB are queued. */
int bus__send_end(struct bus *bus, struct outmsg *m);
/* A new message id. */
uint64_t bus__id(struct bus *bus);
/* Sends a request that carries `id` (already in m) and waits for its answer.
 * Returns 0 with the reply in *ret (caller frees), -EREMOTEIO for an error
 * answer (recorded), -ETIMEDOUT, -ECONNRESET. */
int bus__request(struct bus *bus, struct outmsg *m, uint64_t id, int timeout_ms, struct inmsg **ret);

/* loop.c */
/* Reads up to budget bytes into the incoming queue (or the waiter's slot).
 * Reading goes on after a write failure (the daemon's last words are still
 * in the socket) until the end of input. Returns bytes read, 0, or the
 * connection's error once input has ended. */
ssize_t loop_read(struct bus *bus, size_t budget);
/* Waits until the answer to `id` arrives or deadline (monotonic ms, -1 none)
 * passes, flushing and queueing everything else (never dispatching). Returns
 * 0 and the answer in *ret (caller frees), -ETIMEDOUT or the connection's
 * error. */
int loop_wait_answer(struct bus *bus, uint64_t id, int64_t deadline, struct inmsg **ret);
/* Blocks until at most `target` bytes are queued for output, reading (and
 * queueing) input meanwhile so that the daemon never waits on us. deadline:
 * monotonic ms or -1. Returns 0, -ETIMEDOUT or the connection's error. */
int loop_flush_until(struct bus *bus, size_t target, int64_t deadline);
/* The epoll fd of a bus_open() bus: creates it and watches the socket.
 * Returns 0 or a negative errno. */
int loop_watch_init(struct bus *bus);
/* Starts / stops watching the current socket (no-op without epfd). */
int loop_watch(struct bus *bus);
void loop_unwatch(struct bus *bus);
/* Records whether output is left after a write, watching for EPOLLOUT if so. */
void loop_set_blocked(struct bus *bus, bool blocked);

/* call.c */
/* Dispatches a reply or error; returns true if it answered a pending call. */
bool call_dispatch_answer(struct bus *bus, struct inmsg *m);
/* Fails expired asynchronous calls; returns how many. */
unsigned call_expire(struct bus *bus, int64_t now);
/* The earliest deadline (monotonic ms) of an asynchronous call, or -1. */
int64_t call_next_deadline(const struct bus *bus);
/* Fails every pending asynchronous call with -ECONNRESET. */
unsigned call_fail_all(struct bus *bus);
/* Fails the pending calls made on connection `gen` or before, with why. */
unsigned call_fail_gen(struct bus *bus, uint64_t gen, const char *why);

/* method.c */
/* Runs the handler for an incoming call; takes m. */
void method_dispatch(struct bus *bus, struct inmsg *m);
void method_free_all(struct bus *bus);
/* Queues `declare` with id for a new connection (no-op without methods).
 * Returns 1 if sent, 0 if nothing to send, or a negative errno. */
int method_restore(struct bus *bus, uint64_t id);

/* event.c */
void event_dispatch(struct bus *bus, struct inmsg *m);
void event_free_all(struct bus *bus);
/* Frees subscriptions marked removed (unless handlers are running). */
void event_sweep(struct bus *bus);
/* Calls fn for each live subscription pattern with its BUS_SUBSCRIBE_* flags
 * (restoring a new connection). */
int event_for_each(struct bus *bus, int (*fn)(struct bus *bus, const char *pattern, unsigned flags, void *ud),
                   void *ud);
/* Queues `subscribe` with id for pattern and flags (no blocking, no flush). */
int event_send_subscribe(struct bus *bus, uint64_t id, const char *pattern, unsigned flags);
/* The daemon confirmed pattern again on a new connection with answer a: takes
 * the mode in effect from it. */
void event_restored(struct bus *bus, const char *pattern, struct inmsg *a);
/* The daemon refused to restore pattern: forget it. */
void event_restore_failed(struct bus *bus, const char *pattern);

/* name.c */
void name_dispatch(struct bus *bus, const struct inmsg *m);
/* Keeps the names held up to date with m (on arrival, before queueing):
 * name_acquired, name_lost, and the answer to the waiting name request. */
void name_note(struct bus *bus, struct inmsg *m);
/* Calls fn for each name held (restoring a new connection). */
int name_for_each(struct bus *bus, int (*fn)(struct bus *bus, const char *name, unsigned flags, void *ud), void *ud);
/* Queues `request_name` with id (no blocking, no flush). */
int name_send_request(struct bus *bus, uint64_t id, const char *name, unsigned flags);
/* The outcome of re-requesting name on a new connection (status: the answer's,
 * NULL if refused). Returns +1 acquired, -1 lost (the name is forgotten when
 * not queued), 0 unchanged. */
int name_restored(struct bus *bus, const char *name, const char *status);
/* Forgets name locally (released while between connections). Returns 0 or -ESRCH. */
int name_forget(struct bus *bus, const char *name);
void name_free_all(struct bus *bus);

/* reconnect.c */
/* The delay before connection attempt n (>= 1) after a connection ended,
 * given 64 random bits. */
int64_t reconnect_delay_ms(unsigned attempt, uint64_t rnd);
/* Sets up reconnection for a bus_open() bus (connect_fn set). */
int reconnect_init(struct bus *bus, const char *display_name);
/* Takes the due steps: handles the end of the connection once everything it
 * sent is read, makes an attempt when one is due, gives up on a hello that
 * failed or timed out. from_send: called before sending (reads a waiting
 * welcome). Returns true if it did something. */
bool reconnect_step(struct bus *bus, bool from_send);
/* On arrival of m while the bus is in BUS_HELLO or restoring: handles the
 * welcome and the restore answers. Returns 1 if it took m, 0 if not, or a
 * negative errno to stop reading (the connection failed; m taken). */
int reconnect_intercept(struct bus *bus, struct inmsg *m);
/* The earliest deadline of the reconnection (monotonic ms), or -1. */
int64_t reconnect_deadline(const struct bus *bus);
void reconnect_dispatch(struct bus *bus, struct inmsg *m);
void reconnect_free(struct bus *bus);
