/* bench.h: bus-bench (tests/bench), the benchmark of busd.
 *
 * The tool starts its own busd (or uses one given with --address) and runs
 * each scenario over stream and seqpacket. Every client role is a forked
 * process (kids.c); processes synchronise through pipes, never by sleeping.
 * The main process only orchestrates: it samples the daemon's CPU time and
 * counters around each scenario and collects the children's results.
 *
 * Files: main.c (orchestration), options.c, daemon.c (the daemon under test,
 * /proc and stats sampling), kids.c (child processes and their pipes),
 * util.c (clocks, percentiles, message text), sc_*.c (one file per kind of
 * scenario), report.c (table and JSON). netfloor.c is another tool,
 * bench-netfloor (the floor of the bridge's link, scripts/bench-bridge.sh),
 * that shares util.c for the same message text.
 * See docs/benchmarks.md.
 */
#pragma once

#include "address.h"
#include "busdproc.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct bus;
struct json_object;

enum transport { T_STREAM, T_SEQPACKET, T_COUNT };

enum scenario {
        SC_MEMORY,
        SC_PINGPONG,
        SC_RELAY,
        SC_CALL,
        SC_PUBSUB,
        SC_FANOUT,
        SC_PUBSUB_RAW,
        SC_FANOUT_RAW,
        SC_COUNT
};

/* ---- options (options.c) ------------------------------------------------- */

struct bench_opts {
        bool quick;
        bool json;
        bool check;                 /* exit 1 unless every number is sane (smoke tests) */
        unsigned repeat;            /* rounds; each column reported is the median */
        unsigned scenarios;         /* bit (1 << enum scenario) */
        unsigned transports;        /* bit (1 << enum transport) */
        uint64_t count;             /* messages per scenario; 0: the scenario's default */
        size_t payload;             /* bytes of the params/data string */
        unsigned connections;       /* idle connections for the memory scenario */
        unsigned subscribers;       /* fan-out width */
        const char *busd;           /* daemon binary */
        const char *address;        /* an existing bus (then no daemon is started) */
        const char *remote_address; /* a second bus, bridged to address: subscribers
                                     * and services connect there (across the bridge) */
        bool scenarios_given;       /* --scenario was on the command line */
};

/* Returns 0, 1 (--help printed: exit 0) or -EINVAL (message printed). */
int options_parse(struct bench_opts *o, int argc, char **argv);
const char *scenario_name(enum scenario s);
const char *transport_name(enum transport t);

/* ---- the daemon under test (daemon.c) ------------------------------------ */

struct daemon {
        struct busdproc proc; /* the busd we started (tests/util/busdproc.h); proc.dir "" for --address */
        char addr[T_COUNT][320];
        pid_t child; /* the busd we started, or -1 */
        pid_t pid;   /* the daemon's pid (SO_PEERCRED), for /proc */
};

/* A sample of the daemon's cost and counters. */
struct snap {
        uint64_t cpu_ns;      /* utime+stime (or schedstat run time, finer) */
        uint64_t cpu_tick_ns; /* utime+stime alone, from /proc/PID/stat */
        uint64_t calls, replies, events, deliveries, drops, messages_in, messages_out;
        uint64_t link_events_out, link_dropped; /* summed over the bridge links in stats */
        long rss_kib;
};

/* Starts busd on a new temporary directory and waits for its readiness line.
 * Returns 0 or a negative errno (printed). */
int daemon_start(struct daemon *d, const char *busd);
/* Uses the bus at address ("unix:/p" or "seqpacket:/p"; the other transport's
 * socket is derived with the ".seq" convention). */
int daemon_attach(struct daemon *d, const char *address);
/* Finds the daemon's pid through the control connection (SO_PEERCRED). */
int daemon_identify(struct daemon *d, struct bus *ctl);
/* Stops the daemon we started, prints the interesting lines of its log,
 * removes the directory. Safe to call twice. */
void daemon_stop(struct daemon *d);
/* Reads CPU time, RSS and (if ctl) the counters of org.busd.stats. */
int daemon_snap(const struct daemon *d, struct bus *ctl, struct snap *ret);
long daemon_rss_kib(const struct daemon *d);
/* CPU time of any process in ns: schedstat run time of its threads if
 * available, else utime+stime. Returns 0 or a negative errno. */
int proc_cpu_ns(pid_t pid, uint64_t *ret);

/* ---- child processes (kids.c) -------------------------------------------- */

/* What a child sends up its pipe: READY once set up, then RESULT. */
struct result {
        int kind;         /* KID_READY or KID_RESULT */
        int error;        /* 0, or a negative errno: `what` says why */
        uint64_t count;   /* messages handled (calls, events received, ...) */
        uint64_t dropped; /* events reported dropped */
        uint64_t t_start; /* CLOCK_MONOTONIC ns */
        uint64_t t_end;
        uint64_t p50_ns, p99_ns;
        char what[200];
};
enum { KID_READY = 1, KID_RESULT = 2 };

/* The child's side: up to write results, down to read commands (a byte, or
 * EOF meaning stop). */
struct kid_io {
        int up;
        int down;
};
typedef int (*kid_fn)(const struct kid_io *io, void *arg);

#define KIDS_MAX 32
struct kid {
        pid_t pid;
        int up;   /* read end */
        int down; /* write end */
        char role[24];
};
struct kids {
        struct kid k[KIDS_MAX];
        size_t n;
};

void kids_init(struct kids *ks);
/* Forks a child that runs fn(io, arg) and exits with its return value; the
 * child dies with the parent (PR_SET_PDEATHSIG). Returns its index or a
 * negative errno. */
int kids_spawn(struct kids *ks, const char *role, kid_fn fn, void *arg);
/* Waits for the child's next message (READY or RESULT). timeout_ms bounds a
 * hang, it measures nothing. Returns 0, -ETIMEDOUT, or -ECHILD (died). */
int kid_read(struct kid *k, struct result *ret, int timeout_ms);
/* Waits for READY; on a failure report copies its text into err. */
int kid_wait_ready(struct kid *k, char *err, size_t errlen);
int kid_go(struct kid *k);
/* Closes every down pipe (stop), waits for the children to exit (SIGKILL
 * after a while), reaps them. */
void kids_finish(struct kids *ks);
/* Kills every child at once and reaps them (after a failure). */
void kids_kill(struct kids *ks);

/* Child side. */
int io_send(const struct kid_io *io, struct result *r);
int io_ready(const struct kid_io *io);
/* Reports a failure (error < 0) and returns 1, the child's exit code. */
int io_fail(const struct kid_io *io, int error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Blocks for a byte on down: 1 got one, 0 EOF (stop), < 0 error. */
int io_wait(const struct kid_io *io);

/* ---- utilities (util.c) -------------------------------------------------- */

uint64_t now_ns(void);
/* Sorts v and fills p50/p99 (nearest rank). */
void percentiles(uint64_t *v, size_t n, uint64_t *ret_p50, uint64_t *ret_p99);
/* A JSON string of n 'x' characters (json-c object; caller owns it). */
struct json_object *payload_json(size_t n);
/* The text of a typical message carrying payload bytes, with "\n" when
 * newline: what a caller or publisher writes, used by the floor scenarios so
 * that they move the same bytes. malloc'ed. */
char *sample_call_line(size_t payload, bool newline, size_t *ret_len);
char *sample_publish_line(size_t payload, bool newline, size_t *ret_len);
int write_all(int fd, const void *p, size_t len);
int read_all(int fd, void *p, size_t len);
/* Splits "unix:/p", "seqpacket:/p" or "/p". Returns 0 or -EINVAL. */
/* Connects a raw socket to a bus address. Returns the fd or a negative errno. */
int raw_connect(const char *address);

/* ---- results (report.c) --------------------------------------------------- */

struct row {
        char scenario[24];
        enum transport transport;
        uint64_t count;
        double value; /* the rate, or bytes for memory */
        const char *unit;
        double p50_us, p99_us;    /* NAN: not measured */
        int64_t dropped;          /* -1: not applicable */
        double daemon_us;         /* daemon CPU per routed message; NAN: n/a */
        double floor_ratio;       /* value / floor value; NAN: n/a */
        double publish_rate;      /* events: publishes/s as the publisher saw them; NAN: n/a */
        double daemon_us_publish; /* events: daemon CPU per publish handled; NAN: n/a */
        const char *floor_name;
        char note[320];
        bool failed;       /* the scenario could not run or its numbers are not sane */
        unsigned runs;     /* rounds merged into this row (--repeat) */
        double vmin, vmax; /* range of value over them */
};

#define REPORT_MAX 64
struct report {
        struct row rows[REPORT_MAX];
        size_t n;
};

/* A new row (zeroed, NAN fields set), or NULL when full. */
struct row *report_add(struct report *rep, const char *scenario, enum transport t);
/* Merges the same rows of several rounds (matched by scenario and
 * transport): each column becomes its median, value keeps its range. */
void report_merge(struct report *out, const struct report *rounds, size_t n);
/* Sets the ratio of call round trips to the relay's (same transport). */
void report_floor_ratios(struct report *rep);
void report_print_table(const struct report *rep, const char *machine);
void report_print_json(const struct report *rep, const struct bench_opts *o, const char *machine);

/* ---- scenarios (sc_*.c) --------------------------------------------------- */

struct bench {
        struct bench_opts opt;
        struct daemon d;
        struct bus *ctl; /* the main process's connection, stream: stats */
        /* --remote-address: the other bus (rd.child is always -1) and a
         * control connection to it; rctl NULL without the option */
        struct daemon rd;
        struct bus *rctl;
        struct report rep; /* the current round */
};

/* Samples the daemon (and the remote one with --remote-address, into r;
 * r may be NULL without it). Returns 0 or a negative errno. */
int bench_snap(const struct bench *b, struct snap *local, struct snap *remote);
/* CPU time of both daemons between two samples (one without --remote-address). */
uint64_t bench_cpu_ns(const struct bench *b, const struct snap *l0, const struct snap *l1, const struct snap *r0,
                      const struct snap *r1);

/* Default counts per scenario, --quick or not, unless --count. */
uint64_t bench_count(const struct bench *b, enum scenario s);

void sc_memory(struct bench *b);
void sc_pingpong(struct bench *b, enum transport t);
void sc_relay(struct bench *b, enum transport t);
void sc_call(struct bench *b, enum transport t);
/* raw: the subscribers count raw lines/packets instead of using libbus. */
void sc_events(struct bench *b, enum transport t, unsigned subscribers, bool raw);
