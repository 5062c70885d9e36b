/* bridgeio_env.h: what the bridge's carrier (bridgeio.h) is given by the
 * daemon; apart so that the carrier's private state (bridgeio_private.h)
 * can hold it without including the carrier's public header.
 */
#pragma once

#include <uv.h>

struct router;

/* What the bridge's carrier is given by the daemon: the loop it runs on, the
 * router its links join, and where its log lines go. */
struct bridgeio_env {
        uv_loop_t *loop;
        struct router *router;
        void (*log)(void *ud, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
        void *log_ud;
};
