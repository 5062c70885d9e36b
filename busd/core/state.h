/* state.h: the router's state, one struct shared by the modules of the
 * routing core that act on it: router.c (dispatch, calls, peers), send.c (the
 * output side), access.c (the policy on every path), events.c (publish and
 * subscriptions), session.c (hello, declare, names) and busmethods.c (org.busd).
 * It sits below all of them and declares none of their functions, so none of
 * them needs another's header to see the state. Nothing outside busd/core
 * includes it. No I/O.
 */
#pragma once

#include <json-c/linkhash.h>
#include <stdbool.h>
#include <stdint.h>

#include "activate.h"
#include "calls.h"
#include "jsonscan.h"
#include "list.h"
#include "peer.h"
#include "peertab.h"
#include "policy.h"
#include "ratelog.h"
#include "registry.h"
#include "routerconf.h"
#include "subs.h"
#include "syntax.h"

struct buf;
struct json_object;
struct monitor_scan;
struct quota_table;

struct router_stats {
        uint64_t connections_total;
        uint64_t messages_in, bytes_in;
        uint64_t messages_out, bytes_out;
        uint64_t calls, replies, events, deliveries, drops, errors;
        uint64_t denials;        /* requests the policy refused */
        uint64_t quota_refusals; /* requests refused for a per-uid quota */
        uint64_t fds_refused;    /* descriptors the kernel would not pass (router_peer_fd_refused()) */
};

struct router {
        struct router_config cfg;
        struct jsonscan *scan; /* the validating pass over every message */
        struct registry *registry;
        struct subs *subs;
        struct calls *calls;
        struct peertab peers;  /* id -> struct peer* (registered, not removed) */
        struct activate *acts; /* activatable names and calls held for them */
        uint64_t next_id;
        uint64_t now_ms, start_ms;
        bool time_set;
        char *ident; /* the daemon's own identity splice */
        size_t ident_len;
        struct peer *actor; /* the peer whose request is being handled, if any */
        struct list stalled;
        struct list holds;  /* struct flow_hold (flow.c), oldest first */
        uint64_t flow_mark; /* flow_tick()'s pass */
        bool flow_busy;     /* flow_drained() is queuing */
        size_t queued_fds;  /* descriptors in all queues, removed peers' still draining included */
        struct router_stats stats;
        struct router_bridge bridge; /* all NULL: no bridge */
        const char *stats_key;       /* router_set_stats_hook() */
        struct json_object *(*stats_fn)(void *ud);
        void *stats_ud;
        const struct policy *policy; /* NULL: everything allowed (unit tests) */
        uint64_t policy_gen;         /* bumped by each router_set_policy() */
        struct quota_table *quotas;
        struct ratelog deny_log; /* rate limit of denial log lines (access.c) */
        /* monitors (monitor.c): struct monitor, their count, what it read of
         * the last message queued, and the hook send_enqueue_fd() calls while
         * there are any (NULL: nobody monitors) */
        struct list monitors;
        size_t n_monitors;
        struct monitor_scan *mon_scan;
        void (*monitor_out)(struct router *r, struct peer *p, struct buf *b);
};

/* The registered peer with this unique id string (":42"), or NULL. */
static inline struct peer *state_peer_by_unique(struct router *r, const char *unique, size_t len)
{
        uint64_t id;

        return syntax_parse_unique(unique, len, &id) ? peertab_get(&r->peers, id) : NULL;
}
