/* bridgeio_private.h: the carrier's state (bridgeio.c), shared with its
 * reload (bridgereload.c) and nobody else: the connections, the dialled
 * links, the listeners, and the few functions the reload drives them with.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "bridge.h"
#include "bridgecfg.h"
#include "bridgeio_env.h"
#include "frame.h"
#include "list.h"
#include "ratelog.h"

struct tls_ctx;
struct tls_conn;
struct bdial;

/* One TCP connection: half-open until TLS has authenticated the other bus,
 * then a link (bl). */
struct bconn {
        struct blink bl; /* first: the bridge and the router know the link by it */
        struct bridge_io *io;
        uv_tcp_t tcp;
        uv_timer_t timer;
        int open_handles;
        struct bdial *dial; /* NULL: accepted */
        const struct bridge_link_config *lc;
        struct tls_conn *tls;
        struct frame frame;
        bool established, up, closing, half_open;
        bool paused;         /* not read: a receiver here is full (bridge_link_input() said so) */
        bool resume_pending; /* the router let it go: read again from on_prepare() */
        char *out;           /* messages gathered for the link, sealed once per loop iteration */
        size_t out_len, out_cap;
        uint64_t started_ms, last_rx_ms, last_tx_ms;
        size_t inflight; /* ciphertext handed to uv_write and not yet written */
        char addr[80];
        struct list link; /* in io->conns */
};

/* A link this bus dials, and re-dials. */
struct bdial {
        struct bridge_io *io;
        const struct bridge_link_config *lc;
        struct sockaddr_storage sa; /* a numeric address; else resolved at each dial */
        bool numeric;
        char host[256], port[8];
        uv_timer_t timer;
        struct bconn *conn;
        unsigned attempts;
        uint64_t since_ms; /* up, or down, since */
        bool retired;      /* a reload removed or restarted its link: never dialled again */
        char last_error[300];
};

struct blisten {
        struct bridge_io *io;
        uv_tcp_t tcp;
        char addr[80];
};

struct bridge_io {
        struct bridgeio_env env; /* env.loop: the loop everything runs on */
        uv_prepare_t prepare;    /* seals what was gathered for the links, resumes paused ones */
        bool prepare_open;
        struct bridge_config cfg;
        struct bridge *core;
        struct tls_ctx *tls;
        const char **accept_peers; /* every link's peers: who may connect to us */
        size_t naccept;
        struct blisten *listeners[BRIDGECFG_MAX_LISTEN]; /* each freed by its close callback */
        size_t nlisteners;
        struct bdial *dials[BRIDGECFG_MAX_LINKS]; /* each freed by its timer's close callback */
        size_t ndials;
        uint64_t ups[BRIDGECFG_MAX_LINKS];  /* per configured link: times it came up (kept across reloads) */
        uint64_t lost[BRIDGECFG_MAX_LINKS]; /* per configured link: events its past connections never had confirmed */
        char *creds;                        /* the credential files' contents, to tell a reload that changed them */
        size_t creds_len;
        struct list conns;
        unsigned half_open;
        bool stopping;
        uint64_t refused_half_open;
        struct ratelog refused_log;   /* refused connections' lines */
        struct ratelog half_open_log; /* the max_half_open refusals' lines */
};

/* Closes c (once; its link goes down first if it was up). */
void bridgeio_conn_close(struct bconn *c, const char *why);
/* (Re)arms c's keepalive timer from io->cfg.keepalive_ms. */
void bridgeio_keepalive(struct bconn *c);
/* The close callback of a handle whose data is its own malloc'd container. */
void bridgeio_free_handle(uv_handle_t *h);
/* Who may connect to us: every link's peers (borrowed from io->cfg).
 * Returns 0 or -ENOMEM. */
int bridgeio_set_accept_peers(struct bridge_io *io);
/* A listener on addr (numeric, checked by the parser) in *ret, which the
 * caller closes (bridgeio_unlisten()) even on failure. Returns 0 or a
 * negative errno with the reason in err. */
int bridgeio_listen(struct bridge_io *io, const char *addr, struct blisten **ret, char *err, size_t errlen);
void bridgeio_unlisten(struct blisten *ls);
/* Starts dialling link lc (at once, or after the backoff if `later`), in
 * io->dials. Returns 0 or -ENOMEM. */
int bridgeio_dial(struct bridge_io *io, const struct bridge_link_config *lc, bool later);
/* The credential files' contents one after the other (malloc'd), to tell
 * whether a reload changed them. Returns 0 or a negative errno. */
int bridgeio_read_creds(const struct bridge_config *cfg, char **ret, size_t *ret_len);
