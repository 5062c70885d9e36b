/* peer.h: the routing core's view of one connection.
 *
 * A peer is embedded in whatever carries it (a socket connection today, a
 * bridge link later): the core knows peers by pointer and unique id and talks
 * to the carrier only through struct peer_ops. The core owns the accounting
 * of the peer's output queue (bytes and messages), the carrier owns the queue
 * itself. No I/O and no libuv here.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "list.h"

struct buf;
struct peer;
struct decl;
struct json_object;
struct uid_acct;
struct flow_hold;
struct monitor;

struct peer_ops {
        /* Queues b for the peer, taking a new reference on success. The core has
         * already checked sizes and limits. Returns 0 or -ENOMEM. */
        int (*send)(struct peer *p, struct buf *b);
        /* Writes what the peer's queue holds as far as the socket takes it now,
         * without blocking and without handing any input to the router (the
         * router calls it in the middle of routing, before dropping an event
         * for a full queue). Reports progress through router_peer_wrote().
         * May be NULL. */
        void (*flush)(struct peer *p);
        /* The core wants the peer disconnected (it stayed stuck). The carrier
         * closes it later, outside this call, and then calls
         * router_peer_remove(). `reason` is for the log. */
        void (*kill)(struct peer *p, const char *reason);
        /* Queues b with a descriptor to pass along (SCM_RIGHTS). The carrier
         * owns fd from the call on, also on failure, and takes a reference to
         * `fallback` (may be NULL): what it sends in b's place if the kernel
         * refuses to pass the descriptor (ETOOMANYREFS), reporting it with
         * router_peer_fd_refused(). A descriptor leaving the queue (passed,
         * refused, or dropped with the queue) is reported with
         * router_peer_fds_gone(). Returns 0 or a negative errno. May be NULL
         * (the carrier cannot pass descriptors). */
        int (*send_fd)(struct peer *p, struct buf *b, int fd, struct buf *fallback);
        /* A new pidfd for the process that made the connection (SO_PEERPIDFD),
         * or a negative errno (-ENOPROTOOPT: the kernel has none). May be
         * NULL. */
        int (*pidfd)(struct peer *p);
        /* The core held a message of the peer (flow.c) and said ROUTER_PAUSE;
         * now it may be read again. Called from inside the router: the
         * carrier resumes reading later, outside this call. May be NULL (the
         * carrier's messages are never held: they drop as before). */
        void (*resume)(struct peer *p);
        /* May held messages (flow.c) be queued for the peer now? For a
         * carrier with a queue of its own besides the core's accounting (a
         * bridge link): true once it has drained to half its bound. May be
         * NULL (the core's accounting says). */
        bool (*room)(struct peer *p);
};

struct peer {
        uint64_t id;
        char unique[24]; /* ":<id>" */
        const struct peer_ops *ops;
        const char *transport; /* "stream", "seqpacket" */
        uid_t uid;
        gid_t gid;
        pid_t pid;
        bool hello_done;
        bool removed;        /* router_peer_remove() ran */
        bool link;           /* a bridge link to another bus (router_link_add()), not a client */
        const gid_t *groups; /* supplementary groups (SO_PEERGROUPS), carrier memory; may be NULL */
        size_t ngroups;
        struct uid_acct *acct; /* its uid's quota account (quota.h); NULL before admission */
        size_t max_message;    /* largest message it may send */
        size_t max_recv;       /* largest message it may be sent */
        /* the error code and text its waiting callers get when it goes
         * (default callee_gone; a link says link_down) */
        const char *gone_code;
        const char *gone_text;
        char *display; /* from hello, may be NULL */
        /* ,"sender":":5","creds":{"uid":0,"gid":0,"pid":1} ready to splice into messages */
        char *ident;
        size_t ident_len;
        struct decl *decl; /* its declared methods (decl.c), or NULL */

        /* output queue accounting */
        size_t queued_bytes;
        size_t queued_msgs;
        size_t queued_fds;      /* descriptors among them (each also counts BUS_QUEUED_FD_COST bytes) */
        uint64_t drops_pending; /* events dropped since the last `dropped` notice */
        uint64_t drops_total;
        uint64_t full_since_ms; /* 0: not stalled */
        struct list stalled_link;

        /* counters */
        uint64_t msgs_in, msgs_out, bytes_in;
        uint64_t fds_sent; /* descriptors passed to it: a pidfd answer names its ordinal */

        /* relations, owned by the core modules */
        struct list owners;     /* struct owner (registry.c) */
        struct list subs;       /* struct sub (subs.c) */
        struct list calls_out;  /* struct pcall this peer is waiting for (calls.c) */
        struct list calls_in;   /* struct pcall this peer must answer */
        struct list held;       /* struct held_call: its calls waiting for a service to start (activate.c) */
        struct list notices;    /* name notices held back while its queue is full (send.c) */
        struct list waiters;    /* struct flow_wait: held messages waiting for its queue to drain (flow.c) */
        struct flow_hold *hold; /* the message held on this connection while a receiver is full (flow.c) */
        unsigned n_owners, n_subs, n_calls_out, n_held;
        unsigned n_lossy_subs;   /* of n_subs (subs.c) */
        uint64_t event_mark;     /* dedup of fan-out (subs.c) */
        struct monitor *monitor; /* it monitors the bus (monitor.c), or NULL */
};
