/* routerconf.h: what the router is built with and hooked up to: its limits,
 * the daemon's identity and the carrier's sinks (struct router_config), and
 * the bridge's hooks (struct router_bridge) with the remote identity they pass.
 * Types only, no functions: the router's state (state.h) embeds them, and it
 * sits below router.h, whose functions are the routing core's API. Pure.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct activatable;
struct json_object;
struct jsonscan_span;
struct peer;

struct router_limits {
        size_t queue_bytes;
        unsigned max_pending_calls;
        unsigned max_names;
        unsigned max_subscriptions;
        unsigned stall_timeout_ms;
};

struct router_config {
        struct router_limits limits;
        /* descriptors the daemon may hold in all queues together (send.c:
         * send_fd_room()); 0: BUS_MAX_QUEUED_FDS_TOTAL. The carrier keeps it
         * within its descriptor limit. */
        size_t max_queued_fds;
        /* identity stamped on messages the daemon itself sends */
        uid_t uid;
        gid_t gid;
        pid_t pid;
        /* optional log sink for warnings (stalled peers, ...) */
        void (*log)(void *userdata, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
        void *log_userdata;
        /* starts the service of an activatable name (the first call to it while
         * nobody owns it); returns 0 or a negative errno if it cannot even be
         * started. The carrier reports a later failure (the service exited
         * without taking the name) with router_activation_failed(). May be NULL. */
        int (*activate)(void *userdata, const struct activatable *e);
        void *activate_userdata;
};

/* Who sent a message that came over a link, as its origin bus stamped it,
 * and the splice the router puts into what it delivers locally:
 * ,"sender":"busd-c/:5","remote":{"bus":"busd-c","via":"busd-b","creds":{...}} */
struct remote_ident {
        const char *bus;    /* the origin bus (its certificate name) */
        const char *via;    /* the neighbour it came from (verified by TLS) */
        const char *sender; /* the sender there (":5", "org.busd") */
        uid_t uid;
        gid_t gid;
        pid_t pid;
        unsigned hops; /* links crossed so far */
        const char *splice;
        size_t splice_len;
};

struct router_bridge {
        void *userdata;
        /* A local client published topic (after local delivery). A link
         * whose queue is full holds it on `from` (flow.h) if it may. Returns
         * how many links dropped it: the publisher's acknowledgement counts
         * them with its dropped events. */
        size_t (*publish)(void *ud, struct peer *from, const char *topic, size_t topic_len,
                          const struct jsonscan_span *data);
        /* The link to reach dest (a well-known name, or BUS/NAME) when no local
         * connection owns it, or NULL. */
        struct peer *(*route)(void *ud, const char *dest);
        /* Sends a call over link; its answer comes back with router_remote_answer(serial).
         * The caller is a local peer, or (rid != NULL) the call came over another link.
         * Returns 0, -ENOBUFS (the link's queue is full) or -ENOTCONN. */
        int (*call)(void *ud, struct peer *link, uint64_t serial, bool oneway, const char *dest, const char *method,
                    const struct jsonscan_span *params, const struct peer *caller, const struct remote_ident *rid);
        /* The primary owner of a well-known name changed (owned: it has one now). */
        void (*name_changed)(void *ud, const char *name, bool owned);
        /* Calls fn for every name reachable over a link (the best way to each:
         * the bus that owns it, its hop count, the link's bus), for `list`. */
        void (*foreach_remote)(void *ud,
                               void (*fn)(void *arg, const char *name, const char *bus, unsigned hops, const char *via),
                               void *arg);
};
