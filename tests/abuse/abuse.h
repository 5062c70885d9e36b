/* abuse.h: bus-abuse (tests/abuse), a generator of malformed traffic for busd.
 *
 * The tool opens several connections on each transport and sends them
 * batches of malformed frames of every class (gen.c), each batch closed by a
 * ping that serves as a barrier: the daemon answers one connection's messages
 * in order, so every answer before the barrier's reply is matched, in order,
 * against what its frame must get (flood.c). Meanwhile a control service and
 * a control caller (control.c, forked processes) keep a call going through
 * the bus; none of those calls may fail. At the end the daemon's counters
 * must be back where they started and its memory near its baseline
 * (main.c). Blocking client code for the control processes and the stats
 * connection is in client.c; names, the random generator and byte buffers in
 * util.c.
 *
 * A development tool: built with the tree, not installed.
 * See docs/reliability.md.
 */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- classes of frames (gen.c; names, random numbers, buffers: util.c) ---- */

enum cls {
        CL_TRUNCATED,   /* a valid message cut short */
        CL_BITFLIP,     /* a valid request with 1-3 bits flipped: any one answer */
        CL_WRONG_TYPE,  /* members of the wrong JSON type, non-objects */
        CL_DEPTH,       /* nesting beyond max_depth */
        CL_UTF8,        /* invalid UTF-8 */
        CL_NUL,         /* raw NUL bytes, \u0000 where text must not hold it */
        CL_DUPKEY,      /* the same member name twice, at any depth */
        CL_HUGENUM,     /* integers beyond 64 bits, ids beyond 2^53-1, huge exponents */
        CL_EMPTY,       /* empty strings, empty objects, blank lines/packets */
        CL_MAXIMAL,     /* strings at their maximum (valid) and one past it */
        CL_DAEMON_TYPE, /* message types only the daemon may send */
        CL_FORGED,      /* sender/creds set by the client */
        CL_GARBAGE,     /* random bytes */
        CL_STRAY,       /* reply/error for a call that was never delivered */
        CL_PREHELLO,    /* a valid message before hello */
        CL_OVERSIZE,    /* a frame at max_message (valid) or past it (fatal) */
        CL_COUNT,
};

const char *cls_name(enum cls c);

/* Error codes the tool tells apart; anything else is C_OTHER. */
enum code {
        C_PARSE,
        C_INVALID,
        C_UNKNOWN_TYPE,
        C_FORGED,
        C_VERSION,
        C_HELLO_REQUIRED,
        C_NO_SUCH_CALL,
        C_UNKNOWN_METHOD,
        C_NO_OWNER,
        C_RESERVED,
        C_TOO_LARGE,
        C_LIMIT,
        C_HELLO_TIMEOUT,
        C_OTHER,
        C_COUNT,
};

const char *code_name(enum code c);
enum code code_parse(const char *s);

/* What one frame must get back. */
enum answer {
        A_NONE,    /* nothing (a blank line on stream) */
        A_ERROR,   /* one error whose code is in `codes` */
        A_REPLY,   /* one reply */
        A_ANY,     /* one reply or one error, whatever code */
        A_FATAL,   /* error too_large, then the end of the connection */
        A_WELCOME, /* the answer to our hello */
        A_BARRIER, /* the reply (or hello_required error) to the closing ping */
};

struct expect {
        uint8_t cls;
        uint8_t answer;
        uint16_t codes; /* bit (1 << enum code) */
        uint32_t off;   /* where the frame starts in the batch's bytes */
        uint32_t len;
};

#define CODE(c) (1u << (c))

struct gen {
        uint64_t rng;
        uint64_t next_id;
};

void gen_init(struct gen *g, uint64_t seed);
uint64_t gen_rand(struct gen *g);
/* A number in [0, n). */
uint64_t gen_below(struct gen *g, uint64_t n);

/* A growable byte buffer. */
struct bytes {
        char *p;
        size_t len, cap;
};

int bytes_reserve(struct bytes *b, size_t more);
int bytes_add(struct bytes *b, const void *p, size_t n);
int bytes_str(struct bytes *b, const char *s);
int bytes_printf(struct bytes *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void bytes_free(struct bytes *b);

/* Appends one frame of class cls (CL_COUNT: a random class other than
 * CL_OVERSIZE and CL_PREHELLO) to out, with its line feed on stream, and
 * fills *ret with what it must get. hello_done: whether the connection has
 * said hello when the daemon reads the frame; max_message: its current limit.
 * Returns 0 or -ENOMEM. */
int gen_frame(struct gen *g, enum cls cls, bool seqpacket, bool hello_done, size_t max_message, struct bytes *out,
              struct expect *ret);

/* ---- blocking clients (client.c) ------------------------------------------ */

struct client {
        int fd;
        bool seqpacket;
        char *in;
        size_t in_len, in_cap;
        size_t max_message;
        char unique[32];
        uint64_t next_id;
};

/* Connects to "unix:/path" or "seqpacket:/path". Returns 0 or a negative errno. */
int client_connect(struct client *c, const char *address);
void client_close(struct client *c);
int client_send(struct client *c, const char *msg, size_t len);
/* The next message, parsed; NULL on timeout (errno ETIMEDOUT), end of
 * connection (errno EPIPE) or bad data (errno EPROTO). Caller owns it. */
struct json_object *client_recv(struct client *c, int timeout_ms);
/* hello (with the names, may be NULL) and its welcome. Returns 0 or -EPROTO. */
int client_hello(struct client *c, const char *name, const char *const *names, int timeout_ms);
/* A call to org.busd; returns its result (caller owns it) or NULL. */
struct json_object *client_daemon_call(struct client *c, const char *method, int timeout_ms);
uint64_t json_u64(struct json_object *o, const char *key);
const char *json_str(struct json_object *o, const char *key);

/* ---- control processes (control.c) ---------------------------------------- */

#define CONTROL_NAME "org.example.AbuseControl"

struct control_result {
        bool ok;
        uint64_t calls;      /* calls answered correctly (caller) or served (service) */
        uint64_t max_lat_us; /* slowest call (caller) */
        char why[400];       /* on failure */
};

struct control {
        pid_t service, caller;
        int service_up, caller_up;     /* their report pipes */
        int service_down, caller_down; /* closing these tells them to stop */
};

/* Starts the service, then the caller once the service owns its name, and
 * returns once the caller has made its first call. Returns 0 or -1 (why
 * printed). */
int control_start(struct control *ctl, const char *stream_addr, const char *seq_addr, int timeout_ms);
/* True once the caller has reported something while running: it stops at
 * its first failure, so the flood can stop early too. */
bool control_failed(struct control *ctl);
/* Stops both and collects their results. */
void control_stop(struct control *ctl, struct control_result *service, struct control_result *caller);

/* ---- the flood of malformed frames (flood.c) ------------------------------ */

enum transport { T_STREAM, T_SEQPACKET, T_COUNT };

struct flood_opts {
        const char *addr[T_COUNT]; /* NULL: that transport is not used */
        unsigned connections;      /* per transport */
        unsigned silent;           /* per transport: connections that never say hello */
        uint64_t frames;           /* malformed frames to send in all; 0: no limit */
        double duration_s;         /* 0: no limit */
        uint64_t seed;
        bool verbose;
        pid_t daemon_pid;        /* to notice it dying; -1 if unknown */
        struct control *control; /* stop early when it fails; may be NULL */
        const char *dump_dir;    /* where failing batches are written, or NULL */
};

struct flood_stats {
        uint64_t frames[T_COUNT][CL_COUNT]; /* sent and answered as expected */
        uint64_t malformed;                 /* all frames except the valid boundary ones */
        uint64_t bytes_sent;
        uint64_t answers[C_COUNT]; /* errors received, by code */
        uint64_t router_errors;    /* errors received: the daemon counts each in stats `errors` */
        uint64_t replies;
        uint64_t no_answer; /* blank lines: nothing expected, nothing came */
        uint64_t batches;
        uint64_t connects[T_COUNT];
        uint64_t fatal_closes;    /* too_large then closed, as expected */
        uint64_t evicted;         /* limit / hello_timeout before hello */
        uint64_t silent_connects; /* connections that never said hello */
        uint64_t resets;          /* seqpacket ECONNRESET before the daemon's last packets */
        uint64_t churn_closes;    /* closed by us between batches */
        uint64_t unsolicited;     /* events or notices nobody asked for */
        uint64_t failures;        /* answers that were not what the frame must get */
        uint64_t messages_read;   /* frames the daemon handed to its router (non-fatal, non-blank) */
        uint64_t peak_rss_kib;
        double elapsed_s;
        bool daemon_died;
};

/* Runs the flood until opts' limits; returns 0, or -1 if the daemon died or
 * the tool could not run (failures are counted in st, not returned). */
int flood_run(const struct flood_opts *o, struct flood_stats *st);

/* ---- helpers (main.c) ----------------------------------------------------- */

uint64_t now_us(void);
long rss_kib(pid_t pid);
