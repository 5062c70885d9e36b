/* router-private.h: the router's state, shared by router.c (routing) and
 * busmethods.c (the org.busd methods, which report on that state). Nothing
 * else includes this. No I/O.
 */
#pragma once

#include <stdint.h>

#include "activate.h"
#include "policy.h"
#include "calls.h"
#include "jsonparse.h"
#include "list.h"
#include "registry.h"
#include "router.h"
#include "subs.h"

struct json_object;
struct msg;

struct router_stats {
        uint64_t connections_total;
        uint64_t messages_in, bytes_in;
        uint64_t messages_out, bytes_out;
        uint64_t calls, replies, events, deliveries, drops, errors;
        uint64_t denials; /* requests the policy refused */
        uint64_t quota_refusals; /* requests refused for a per-uid quota */
};

struct router {
        struct router_config cfg;
        struct jsonparse *parser;
        struct registry *registry;
        struct subs *subs;
        struct calls *calls;
        struct lh_table *peers; /* id -> struct peer* (registered, not removed) */
        struct activate *acts;  /* activatable names and calls held for them */
        uint64_t next_id;
        uint64_t now_ms, start_ms;
        bool time_set;
        char *ident; /* the daemon's own identity splice */
        size_t ident_len;
        struct peer *actor; /* the peer whose request is being handled, if any */
        struct list stalled;
        struct router_stats stats;
        struct router_bridge bridge; /* all NULL: no bridge */
        const char *stats_key;       /* router_set_stats_hook() */
        struct json_object *(*stats_fn)(void *ud);
        void *stats_ud;
        const struct policy *policy; /* NULL: everything allowed (unit tests) */
        uint64_t policy_gen; /* bumped by each router_set_policy() */
        struct quota_table *quotas;
        uint64_t deny_log_start; /* rate limit of denial log lines (access.c) */
        unsigned deny_log_lines;
        uint64_t deny_log_suppressed;
};

/* Answers p's request: a reply with `result` (borrowed) when the request had
 * an id, nothing otherwise. */
void router_reply_own(struct router *r, struct peer *p, const struct msg *m, struct json_object *result);
/* Answers p's request (which has an id) with `result` and descriptor fd
 * passed along; fd is the router's from the call on (closed on failure).
 * Returns 0 or a negative errno (nothing was sent; the caller answers with an
 * error). */
int router_reply_own_fd(struct router *r, struct peer *p, const struct msg *m, struct json_object *result, int fd);
/* Answers p's request with a daemon error (always sent; id null if none). */
void router_error_own(struct router *r, struct peer *p, const struct msg *m, const char *code, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));
/* The registered peer with this unique id string, or NULL. */
struct peer *router_peer_by_unique(struct router *r, const char *unique, size_t len);

/* Queues a daemon-made message for p outside any request (notices); takes b. */
void router_send_own(struct router *r, struct peer *p, struct buf *b);

/* access.c: the policy on every path. */
/* May p do verb on object (method may be NULL)? Always fills v. A denial is
 * counted and logged (rate-limited) unless quiet. */
bool access_check(struct router *r, struct peer *p, enum policy_verb verb, const char *object, const char *method,
                  bool quiet, struct policy_verdict *v);
/* The same for a destination that is a connection q, over the names it owns
 * (an explicit deny of any denies, then an explicit allow of any allows, then
 * the default; "" when it owns none). */
bool access_check_peer(struct router *r, struct peer *p, enum policy_verb verb, const struct peer *q,
                       const char *method, bool quiet, struct policy_verdict *v);
/* Answers m with a `denied` error naming what and the rule. */
void access_denied(struct router *r, struct peer *p, const struct msg *m, const char *what,
                   const struct policy_verdict *v);
/* After a policy change: takes back names and subscriptions no longer
 * allowed, telling each peer with a `revoked` error. */
void access_revoke(struct router *r);

/* busmethods.c: answers a call to org.busd. */
void busmethods_call(struct router *r, struct peer *p, const struct msg *m);
