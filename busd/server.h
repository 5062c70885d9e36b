/* server.h: the daemon's process side: one libuv loop, the listening
 * sockets, and the connections that carry peers to the router.
 *
 * server.c owns the loop, listeners, timers and signals; conn.c owns one
 * connection (stream through uv_pipe_t, seqpacket through uv_poll_t with
 * recvmmsg/sendmmsg). Output is coalesced: sends only queue, and every
 * connection with something queued is flushed once per loop iteration from
 * the check phase.
 *
 * The service manager side lives here too (through notify.c): readiness,
 * a periodic STATUS= line, the watchdog ping from a loop timer (a hung loop
 * stops petting), STOPPING=1, and the configuration reload on SIGHUP.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "frame.h"
#include "list.h"
#include "listen.h"
#include "options.h"
#include "outq.h"
#include "peer.h"
#include "services.h"

struct router;

struct listener {
        struct server *srv;
        struct listen_sock sock;
        union {
                uv_pipe_t pipe; /* stream */
                uv_poll_t poll; /* seqpacket */
        } h;
        bool active;
        size_t max_message;
};

struct server {
        uv_loop_t *loop;
        struct options *opt; /* the settings in force; a reload changes them */
        struct router *router;
        struct policy *policy;    /* in force (the router borrows it) */
        struct bridge_io *bridge; /* links to other hosts' buses, or NULL */
        struct services services; /* service activation: files and started processes */
        struct listener listeners[OPTIONS_MAX_LISTEN];
        size_t nlisteners;
        uv_check_t flush_check;
        uv_timer_t tick;
        uv_timer_t accept_retry;
        uv_signal_t sigint, sigterm, sighup;
        uv_timer_t status_timer; /* STATUS= for the service manager */
        uv_timer_t watchdog;     /* WATCHDOG=1, when the manager wants it */
        bool activated;          /* the sockets came from systemd */
        uint64_t status_messages; /* messages_in at the last STATUS= */
        uint64_t status_ms;
        char status[160];        /* the last STATUS= sent */
        struct list conns;    /* all live connections */
        struct list dirty;    /* connections with output to flush */
        struct list draining; /* closing once their last output is written */
        struct list handshakes; /* connections that have not said hello, oldest first */
        size_t nconns;
        size_t nhandshakes;
        char *rbuf; /* shared read buffer for stream connections */
        size_t rbuf_size;
        char *pbuf; /* shared receive slots for seqpacket connections */
        size_t pslot_size;
        bool stopping;
        uint64_t log_suppressed;
        uint64_t last_log_ms;
        unsigned log_burst;
};

struct conn {
        struct peer peer;
        struct server *srv;
        bool seqpacket;
        union {
                uv_pipe_t pipe;
                uv_poll_t poll;
        } h;
        int fd;
        int poll_events;      /* seqpacket: what uv_poll watches now */
        struct frame frame;   /* stream framing */
        struct outq q;
        size_t inflight_items; /* stream: items covered by the uv_write in flight */
        size_t inflight_bytes;
        bool writing;          /* a uv_write is in flight */
        bool paused;           /* not reading: queue over limit */
        bool closing;          /* uv_close called */
        bool draining;         /* closing once the queue is written */
        bool killed;           /* the router asked to disconnect it */
        bool resume_pending;   /* drained enough to read again: done from the flush loop */
        bool in_handshake;     /* has not said hello yet: in srv->handshakes */
        bool fd_wait;          /* a message with a descriptor waits for room: retried from the tick */
        gid_t *groups;         /* supplementary groups (SO_PEERGROUPS), or NULL */
        size_t ngroups;
        uint64_t accepted_ms;
        uint64_t drain_deadline;
        struct list link;       /* in srv->conns */
        struct list dirty_link; /* in srv->dirty */
        struct list drain_link; /* in srv->draining */
        struct list handshake_link; /* in srv->handshakes */
};

/* opt stays the caller's and must outlive the server; reloads update it. */
int server_init(struct server *srv, uv_loop_t *loop, struct options *opt);
/* Starts accepting: on the `nadopted` sockets received from systemd when
 * there are any (the server takes them over, even on failure), else on
 * opt->listen, bound here. Once every socket serves, announces readiness
 * (--ready-fd, READY=1). Returns 0 or a negative errno (after logging why). */
int server_start(struct server *srv, struct listen_sock *adopted, size_t nadopted);
/* Loads the policy files (opt->policy_dir or the default directory) and puts
 * them in force. Returns 0, or a negative errno with the reason in err: then
 * the policy in force, if any, stays (fail closed: at start busd exits). */
int server_load_policy(struct server *srv, char *err, size_t errlen);
/* Re-reads the configuration file and applies it (SIGHUP). On failure the
 * settings in force stay and the reason is logged; returns 0 or the negative
 * errno of options_read_config(). Connections are kept either way. */
int server_reload(struct server *srv);
/* Stops accepting, closes every connection, removes the sockets. */
void server_stop(struct server *srv);
void server_deinit(struct server *srv);
void server_log(struct server *srv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* conn.c */
/* Takes over an accepted fd (stream: accepted into a uv_pipe_t already). */
int conn_new_stream(struct server *srv, uv_pipe_t *listener);
int conn_new_seqpacket(struct server *srv, int fd, size_t max_message);
/* Writes what is queued and resumes reading a paused connection that has
 * drained (called from server_flush(), never from inside the router). */
void conn_flush(struct conn *c);
/* Flushes every connection with output queued. Called after each read
 * chunk and from the check phase, so output leaves in batches but never waits
 * for a whole loop iteration's input. */
void server_flush(struct server *srv);
/* Closes now: the peer leaves the router, queued output is discarded. */
void conn_close(struct conn *c, const char *why);
/* Writes what is queued, then closes (bounded by the stall timeout). */
void conn_drain(struct conn *c, const char *why);
/* Tells a connection it took too long to say hello, then closes it. */
void conn_hello_timeout(struct conn *c);
/* A new pidfd for the client (SO_PEERPIDFD: the process that connected,
 * recorded by the kernel at connect), or a negative errno (-ENOPROTOOPT before
 * Linux 6.5, -ESRCH once it has exited). The caller owns it. */
int conn_pidfd(struct conn *c);
