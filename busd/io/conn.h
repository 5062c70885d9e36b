/* conn.h: the daemon's client connections (conn.c): reading and framing
 * their input, handing each message to the router, writing their output
 * queues; and the set of all of them (struct conn_set): the lists the flush
 * and the tick walk, the counts the limits check, the read buffers they share.
 *
 * Stream connections are uv_pipe_t handles read into one buffer shared by the
 * set (an idle connection owns no read buffer); seqpacket connections are
 * uv_poll_t handles read with recvmmsg into the set's receive slots and
 * written with sendmmsg. Output is coalesced: a send only queues and marks the
 * connection dirty; conn_set_flush() writes every dirty one.
 *
 * conn.c knows nothing of the server: what connections need from their owner
 * is given once, in struct conn_env. Both structs' fields are conn.c's.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct conn_set;
struct options;
struct router;

/* What connections are given by their owner (the server); all borrowed, and
 * must outlive the set. */
struct conn_env {
        uv_loop_t *loop;
        struct router *router; /* the peers join it */
        /* The settings in force, read at each use (a reload changes them):
         * verbose, limits.stall_timeout_ms, hello_timeout_ms, max_handshakes,
         * max_connections. */
        const struct options *opt;
        void (*log)(void *ud, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
        void *log_ud;
};

/* An empty set with its shared read buffers; env is copied. Returns 0 and
 * *ret, or -ENOMEM (*ret untouched). */
int conn_set_new(const struct conn_env *env, struct conn_set **ret);
/* Once every connection has closed (conn_set_close_all(), then the loop ran
 * the close callbacks). Accepts NULL. */
void conn_set_free(struct conn_set *set);
/* May one more connection be accepted now, without keeping a client out?
 * At max_handshakes connections that have not said hello, makes room by
 * closing (with `limit`) the oldest that has been silent for
 * BUS_HANDSHAKE_GRACE_MS (half the hello timeout if shorter): accepted that
 * long ago, with nothing unread in its socket. A connection whose hello waits
 * to be read is never closed for it. Returns false when there is still no
 * room: the server then stops accepting (the kernel's accept queue holds the
 * newcomers) and asks again from its check phase. */
bool conn_set_handshake_room(struct conn_set *set);
/* Takes over a connection waiting on a stream listener (accepted here).
 * Returns 0, or a negative errno: -EMFILE over max_connections, -EACCES or
 * -EUSERS refused by the policy or a quota (in these three cases the client
 * was told why, and nothing needs logging), another errno for a system
 * failure. */
int conn_new_stream(struct conn_set *set, uv_pipe_t *listener);
/* Takes over an accepted seqpacket fd (closed on failure), whose messages may
 * be max_message bytes. Returns as conn_new_stream(). The caller asks
 * conn_set_handshake_room() before accepting, for either transport. */
int conn_new_seqpacket(struct conn_set *set, int fd, size_t max_message);
/* Writes every connection with output queued, resumes reading those that
 * have drained, closes the killed and drained ones. Called from the check
 * phase and after each read chunk, so output leaves in batches but never
 * waits for a whole loop iteration's input; never from inside the router. */
void conn_set_flush(struct conn_set *set);
/* The periodic work, at the loop's time now_ms (after router_tick()): closes
 * draining connections past their deadline, retries output that carries a
 * descriptor, and closes connections that took longer than hello_timeout to
 * say hello (telling them why). */
void conn_set_tick(struct conn_set *set, uint64_t now_ms);
/* Closes every connection now (the daemon is stopping): the peers leave the
 * router, queued output is discarded. */
void conn_set_close_all(struct conn_set *set, const char *why);
/* Live connections (for the service manager's status line). */
size_t conn_set_count(const struct conn_set *set);
