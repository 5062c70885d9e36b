/* httpmetrics.h: busd's `GET /metrics` for Prometheus (--metrics-listen,
 * docs/busd.md, METRICS), on libmicrohttpd driven by the daemon's one libuv
 * loop.
 *
 * libmicrohttpd runs without a thread of its own (MHD_USE_EPOLL, external
 * mode): its epoll descriptor is watched by a uv_poll_t and its timeouts by a
 * uv_timer_t, and MHD_run() is called from the loop. So a request is answered
 * on the loop's thread, reading the router's state as any org.busd call does:
 * the text is rendered by proto/openmetrics.c from router_stats(), the same
 * renderer `bus metrics` uses. Bounded: HTTPMETRICS_MAX_CONNECTIONS
 * connections, an idle timeout, a per-connection memory limit for the
 * request; only GET and HEAD of /metrics (404 for another path, 405 for
 * another method, 400 from libmicrohttpd for what is not HTTP).
 * This file and nothing else includes <microhttpd.h>.
 */
#pragma once

#include <stddef.h>
#include <uv.h>

#include "metricsaddr.h"

#define HTTPMETRICS_MAX_CONNECTIONS 16
#define HTTPMETRICS_TIMEOUT_S 10             /* an idle or slow connection is closed after it */
#define HTTPMETRICS_MEMORY_LIMIT (16 * 1024) /* per connection, for the request's head */
#define HTTPMETRICS_SOCKET_MODE 0600         /* a Unix socket: the daemon's user (and root) only */

struct httpmetrics;
struct router;

struct httpmetrics_env {
        uv_loop_t *loop;
        struct router *router;
        void (*log)(void *ud, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
        void *log_ud;
};

/* Binds a (a Unix socket path, with a lock file beside it as the bus
 * sockets have, or a loopback TCP address) and serves /metrics on it from
 * env->loop. Returns 0 with *ret, or a negative errno with the reason in err
 * (address in use, no such directory, libmicrohttpd refused to start). */
int httpmetrics_start(const struct httpmetrics_env *env, const struct metricsaddr *a, struct httpmetrics **ret,
                      char *err, size_t errlen);

/* Stops serving: closes every HTTP connection and the socket (a Unix socket
 * file is removed). The memory is freed once libuv has closed the handles
 * (the loop must run again). NULL: nothing. */
void httpmetrics_stop(struct httpmetrics *m);
