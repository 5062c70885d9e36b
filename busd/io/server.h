/* server.h: the daemon's process side: one libuv loop, the listening
 * sockets, and the connections that carry peers to the router.
 *
 * server.c owns the loop, listeners, timers and signals; the connections are
 * conn.c's (conn.h), reached only through its functions: the server accepts,
 * hands the new socket to conn_new_*(), and drives the set of connections
 * from its check phase (conn_set_flush(): output is coalesced, every
 * connection with something queued is flushed once per loop iteration) and
 * its tick (conn_set_tick()). conn.c does not know the server: it is given a
 * struct conn_env (loop, router, settings, log) at creation.
 *
 * The service manager side lives here too (through notify.c): readiness,
 * a periodic STATUS= line, the watchdog ping from a loop timer (a hung loop
 * stops petting), STOPPING=1, and the configuration reload on SIGHUP.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "listen.h"
#include "options.h"
#include "policyload.h"
#include "ratelog.h"
#include "services.h"

struct conn_set;
struct httpmetrics;
struct router;

/* The last STATUS= line kept, to send only changes. */
#define SERVER_STATUS_MAX 160

struct listener {
        struct server *srv;
        struct listen_sock sock;
        union {
                uv_pipe_t pipe; /* stream */
                uv_poll_t poll; /* seqpacket */
        } h;
        bool active;
        bool waiting;   /* stopped accepting: no room for a connection in handshake (conn_set_handshake_room()) */
        int pending_fd; /* seqpacket: the connection accepted while waiting, or -1 (libuv holds a stream one) */
        size_t max_message;
};

struct server {
        uv_loop_t *loop;
        struct options *opt; /* the settings in force; a reload changes them */
        struct router *router;
        struct policy *policy;              /* in force (the router borrows it) */
        struct policyload_info policy_from; /* the files it was read from (files 0: built in) */
        struct bridge_io *bridge;           /* links to other hosts' buses, or NULL */
        struct httpmetrics *metrics;        /* GET /metrics (--metrics-listen), or NULL */
        struct services services;           /* service activation: files and started processes */
        struct listener listeners[OPTIONS_MAX_LISTEN];
        size_t nlisteners;
        uv_check_t flush_check;
        uv_timer_t tick;
        uv_timer_t accept_retry;
        uv_signal_t sigint, sigterm, sighup;
        uv_timer_t status_timer;  /* STATUS= for the service manager */
        uv_timer_t watchdog;      /* WATCHDOG=1, when the manager wants it */
        bool activated;           /* the sockets came from systemd */
        uint64_t status_messages; /* messages_in at the last STATUS= */
        uint64_t status_ms;
        char status[SERVER_STATUS_MAX]; /* the last STATUS= sent */
        struct conn_set *conns;         /* the client connections (conn.c) */
        bool stopping;
        struct ratelog log_rate; /* server_log's bound */
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
 * the policy in force, if any, stays (fail closed: at start busd exits). A
 * reload never widens access because a file disappeared: when the policy in
 * force was read from files and the directory now has none, or no
 * policy.json where it had one, it returns -ENOENT and the policy stays
 * (docs/policy.md, "Reloading"). */
int server_load_policy(struct server *srv, char *err, size_t errlen);
/* Re-reads the configuration file and applies it (SIGHUP). On failure the
 * settings in force stay and the reason is logged; returns 0 or the negative
 * errno of options_read_config(). Connections are kept either way. */
int server_reload(struct server *srv);
/* Stops accepting, closes every connection, removes the sockets. */
void server_stop(struct server *srv);
void server_deinit(struct server *srv);
/* One line to stderr, prefixed "busd: ". Bounded (server.c: LOG_BURST lines
 * per LOG_INTERVAL_MS): the lines beyond are counted, and the count is logged
 * as "(N log lines suppressed)" before the first line of the next window. */
void server_log(struct server *srv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
