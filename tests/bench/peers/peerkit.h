/* peerkit.h: the harness that the peer clients of the benchmark share
 * (bench-sdbus.c for dbus-broker, bench-nats.c for nats-server; run by
 * scripts/bench-peers.sh, docs/benchmarks.md "Against the peers").
 *
 * It runs bus-bench's workloads through another broker: the 1:1 burst and
 * the 1:N fan-out (a publisher sends N events as fast as the client library
 * accepts them, each subscriber counts what arrives until an end marker or
 * a quiet period), and blocking calls (a caller waits for each answer of a
 * service). Every role is a forked process, synchronised through pipes as
 * bus-bench's are (tests/bench/kids.c); the orchestrator samples the server
 * process's CPU time (utime+stime of /proc/PID/stat) around the measured
 * part and prints one JSON object per run on stdout.
 *
 * The peer supplies only its roles: the client code a user of that broker
 * would write. This file knows no broker and links no client library: the
 * orchestrator forks before any library starts a thread.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum peerkit_workload { PEERKIT_EVENTS, PEERKIT_CALL };

/* What every role is given (the command line of `run`). */
struct peerkit_args {
        const char *address;            /* the broker's address, in the peer's own syntax */
        pid_t server_pid;               /* the broker process whose CPU time is sampled */
        enum peerkit_workload workload; /* events (1:1 or 1:N) or calls */
        uint64_t count;                 /* events published, or calls made */
        unsigned subscribers;           /* events: how many subscribers */
        size_t payload;                 /* bytes of each event's or call's data */
        unsigned quiet_ms;              /* a subscriber stops after this long without an event */
        const char *data;               /* payload 'x' characters, NUL-terminated */
};

/* What a role reports: filled by the role, sent up by the harness. */
struct peerkit_result {
        int kind;             /* internal: READY or RESULT */
        int error;            /* 0, or a negative errno: `what` says why */
        uint64_t count;       /* events received, events sent, or calls made */
        uint64_t lib_dropped; /* events the client library dropped after the server sent them */
        uint64_t t_start;     /* CLOCK_MONOTONIC ns: the first publish or call */
        uint64_t t_end;       /* the last event received, or the end of the calls */
        uint64_t p50_ns, p99_ns;
        bool end_seen;     /* subscriber: the end marker arrived */
        bool disconnected; /* subscriber: the server closed the connection */
        char what[200];    /* an error, or a note (such as why a subscriber stopped) */
};

/* A role's ends of its pipes to the orchestrator. */
struct peerkit_child {
        int up;   /* results go up */
        int down; /* a byte: go; EOF: stop */
};

/* A role: sets itself up, calls peerkit_ready(), does its part and fills
 * res (or returns peerkit_fail()). Its return value is the process's exit
 * code. Publishers, subscribers and callers call peerkit_wait_go() after
 * peerkit_ready(); a service serves until `down` reaches EOF. */
typedef int (*peerkit_role)(const struct peerkit_args *a, const struct peerkit_child *c, struct peerkit_result *res);

struct peerkit_peer {
        const char *name; /* the broker, as the table names it */
        peerkit_role subscriber, publisher, service, caller;
};

/* Child side. peerkit_ready: tells the orchestrator that the role is set up.
 * peerkit_wait_go: 1 go, 0 stop (EOF), or a negative errno. */
int peerkit_ready(const struct peerkit_child *c);
int peerkit_wait_go(const struct peerkit_child *c);
/* Fills res with a failure (error < 0) and returns 1, the role's exit code. */
int peerkit_fail(struct peerkit_result *res, int error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

uint64_t peerkit_now_ns(void);
/* Sorts v and sets the nearest-rank p50 and p99. */
void peerkit_percentiles(uint64_t *v, size_t n, uint64_t *ret_p50, uint64_t *ret_p99);

/* `run` and its options (argv[0] is "run"): runs one workload through the
 * peer's roles and prints its JSON line. Returns the process's exit code:
 * 0, 1 (the run failed: the JSON says why) or 64 (usage). */
int peerkit_run(const struct peerkit_peer *peer, int argc, char **argv);
