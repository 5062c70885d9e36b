/* bridgeio.c: the bridge's links on the wire (bridgeio.h). Given what it
 * needs from the daemon in struct bridgeio_env (loop, router, log): knows
 * nothing of the server or of busd/io/. */
#include "bridgeio.h"

#include "bridgeio_private.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <uv.h>

#include "bridge.h"
#include "buf.h"
#include "buslimits.h"
#include "frame.h"
#include "jsonnew.h"
#include "list.h"
#include "ratelog.h"
#include "readfile.h"
#include "tls.h"

/* Ciphertext read per libuv read callback, and plaintext taken from TLS per call. */
#define READ_CHUNK 65536
/* Messages for a link are gathered as plaintext and sealed (encrypted into
 * TLS records of up to 16 KiB, handed to the socket in one write) once per
 * loop iteration, or as soon as this much is gathered. */
#define SEAL_AT 65536
/* A link's line may exceed a client's largest message by the relay overhead
 * and by the members the link protocol adds (origin, epoch, seq, hops...). */
#define LINK_LINE_SLACK 4096
/* Backlog of a bridge listener's accept queue. */
#define LISTEN_BACKLOG 128
/* The keepalive timer checks KEEPALIVE_CHECKS times per keepalive_ms (a ping
 * then goes out at most half an interval late). */
#define KEEPALIVE_CHECKS 2
/* Refused connections (failed TLS, unknown peer) are logged, at most
 * REFUSED_LOG_BURST lines per REFUSED_LOG_WINDOW_MS, the rest counted. */
#define REFUSED_LOG_BURST 10
#define REFUSED_LOG_WINDOW_MS 1000
/* Connections refused beyond max_half_open: one line per window at most (it
 * carries the running total, so the suppressed count is not logged). */
#define HALF_OPEN_LOG_BURST 1
#define HALF_OPEN_LOG_WINDOW_MS 1000
/* Re-dialling: the delay is multiplied by BACKOFF_FACTOR per failed attempt,
 * up to reconnect_max_ms, then moved by up to +-JITTER_PERCENT at random (in
 * JITTER_STEPS steps) so that buses restarted together do not dial in step. */
#define BACKOFF_FACTOR 2
#define JITTER_PERCENT 25
#define JITTER_STEPS 1000
/* Without getrandom(): the time spread by Knuth's multiplicative hash. */
#define KNUTH_HASH 2654435761u

/* What a frame_line_fn answers (proto/frame.h): go on, or stop (the link is closed). */
enum { LINE_NEXT = 0, LINE_STOP = -1 };

static uint64_t now_ms(struct bridge_io *io)
{
        return uv_now(io->env.loop);
}

static void schedule_dial(struct bdial *d, bool failed);

/* The close callback of a handle whose data is its own malloc'd container. */
void bridgeio_free_handle(uv_handle_t *h)
{
        free(h->data);
}

/* ---- closing --------------------------------------------------------------------- */

/* Drops one of the things that keep c's memory (its two handles, a name
 * being resolved for it); frees it after the last. */
static void conn_unref(struct bconn *c)
{
        if (--c->open_handles > 0)
                return;
        frame_deinit(&c->frame);
        tls_conn_free(c->tls);
        free(c->out);
        free(c);
}

static void on_conn_closed(uv_handle_t *h)
{
        conn_unref(h->data);
}

void bridgeio_conn_close(struct bconn *c, const char *why)
{
        struct bridge_io *io = c->io;

        if (c->closing)
                return;
        c->closing = true;
        list_unlink(&c->link);
        if (c->half_open) {
                c->half_open = false;
                io->half_open--;
        }
        if (c->up) {
                io->env.log(io->env.log_ud, "bridge: link %s to %s (%s) down: %s", c->lc ? c->lc->name : "?",
                            c->bl.remote, c->addr, why);
                uint64_t lost = bridge_link_down(io->core, &c->bl, why);
                if (c->lc)
                        io->lost[c->lc - io->cfg.links] += lost;
                c->up = false;
        } else if (c->dial) {
                io->env.log(io->env.log_ud, "bridge: dialling %s for link %s: %s", c->addr, c->lc->name, why);
        } else if (!io->stopping) {
                /* refused peers are logged, at most REFUSED_LOG_BURST lines a window */
                uint64_t unlogged;
                bool allowed = ratelog_allow(&io->refused_log, now_ms(io), &unlogged);
                if (unlogged)
                        io->env.log(io->env.log_ud, "bridge: %llu more refused connections were not logged",
                                    (unsigned long long)unlogged);
                if (allowed)
                        io->env.log(io->env.log_ud, "bridge: refused a connection from %s: %s", c->addr, why);
        }
        if (c->dial) {
                snprintf(c->dial->last_error, sizeof(c->dial->last_error), "%s", why);
                c->dial->conn = NULL;
                c->dial->since_ms = now_ms(io);
                if (!io->stopping)
                        schedule_dial(c->dial, true);
        }
        uv_close((uv_handle_t *)&c->timer, on_conn_closed);
        uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

/* ---- writing ----------------------------------------------------------------------- */

struct wreq {
        uv_write_t req;
        struct bconn *c;
        size_t len;
        char data[];
};

static void on_written(uv_write_t *req, int status)
{
        struct wreq *w = (struct wreq *)req;
        struct bconn *c = w->c;

        c->inflight -= w->len;
        free(w);
        if (c->closing)
                return;
        if (status < 0) {
                bridgeio_conn_close(c, uv_strerror(status));
                return;
        }
        if (c->up)
                bridge_link_wrote(c->io->core, &c->bl);
}

/* Hands the TLS output to the socket (one write for all of it). */
static void flush_out(struct bconn *c)
{
        size_t n;

        while (!c->closing && (n = tls_conn_pending_output(c->tls)) > 0) {
                struct wreq *w = malloc(sizeof(*w) + n);
                if (!w) {
                        bridgeio_conn_close(c, "out of memory");
                        return;
                }
                w->c = c;
                w->len = tls_conn_take_output(c->tls, w->data, n);
                uv_buf_t b = uv_buf_init(w->data, (unsigned)w->len);
                c->inflight += w->len;
                int r = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_written);
                if (r < 0) {
                        c->inflight -= w->len;
                        free(w);
                        bridgeio_conn_close(c, uv_strerror(r));
                        return;
                }
                c->last_tx_ms = now_ms(c->io);
        }
}

/* Encrypts what was gathered for c and hands it to the socket. Returns 0 or
 * -ENOTCONN (c is closed, or closing). */
static int seal(struct bconn *c)
{
        if (c->out_len) {
                int r = tls_conn_write(c->tls, c->out, c->out_len);
                c->out_len = 0;
                if (r < 0) {
                        bridgeio_conn_close(c, r == -ENOMEM ? "out of memory" : "TLS failed");
                        return -ENOTCONN;
                }
        }
        flush_out(c);
        return c->closing ? -ENOTCONN : 0;
}

/* The link's queue: gathered, sealed and not yet taken by the socket, and
 * handed to the socket but not yet written. */
static size_t queued(const struct bconn *c)
{
        return c->out_len + tls_conn_pending_output(c->tls) + c->inflight;
}

static int link_send(struct blink *l, struct buf *b, bool droppable)
{
        struct bconn *c = (struct bconn *)l;

        if (c->closing || !c->up)
                return -ENOTCONN;
        if (droppable && queued(c) > c->io->cfg.queue_bytes)
                return -ENOBUFS;
        if (c->out_len + b->len > c->out_cap) {
                size_t cap = c->out_cap ? c->out_cap : SEAL_AT;
                while (cap < c->out_len + b->len)
                        cap *= 2;
                char *p = realloc(c->out, cap);
                if (!p)
                        return -ENOMEM;
                c->out = p;
                c->out_cap = cap;
        }
        memcpy(c->out + c->out_len, b->data, b->len);
        c->out_len += b->len;
        /* sealed at the end of this loop iteration (on_prepare()), or now if
         * that much is waiting; a close here is reported by the write */
        if (c->out_len >= SEAL_AT)
                seal(c);
        return 0;
}

static void link_close(struct blink *l, const char *why)
{
        bridgeio_conn_close((struct bconn *)l, why);
}

static bool link_room(struct blink *l)
{
        const struct bconn *c = (const struct bconn *)l;
        return queued(c) <= c->io->cfg.queue_bytes / 2;
}

static void link_resume(struct blink *l)
{
        struct bconn *c = (struct bconn *)l;

        /* from inside the router: resumed by on_prepare() */
        if (c->paused && !c->closing)
                c->resume_pending = true;
}

static const struct blink_ops link_ops = {
        .send = link_send, .close = link_close, .room = link_room, .resume = link_resume
};

/* ---- reading ------------------------------------------------------------------------ */

static int on_line(const char *line, size_t len, void *ud)
{
        struct bconn *c = ud;
        char why[400];

        if (c->closing)
                return LINE_STOP;
        if (len == 0)
                return LINE_NEXT;
        int r = bridge_link_input(c->io->core, &c->bl, line, len, why, sizeof(why));
        if (r < 0) {
                char text[sizeof(why) + BUS_MAX_BUS_NAME + 32];
                snprintf(text, sizeof(text), "protocol violation by %s: %s", c->bl.remote, why);
                bridgeio_conn_close(c, text);
                return LINE_STOP;
        }
        if (r == BRIDGE_INPUT_PAUSE && !c->closing) {
                /* a receiver here is full: the rest waits, in order, in the
                 * framer, in TLS and in the socket (TCP tells the other bus) */
                c->paused = true;
                uv_read_stop((uv_stream_t *)&c->tcp);
                return LINE_STOP;
        }
        return LINE_NEXT;
}

static bool peer_listed(const struct bridge_link_config *lc, const char *name)
{
        for (size_t i = 0; i < lc->npeers; i++)
                if (strcmp(lc->peers[i], name) == 0)
                        return true;
        return false;
}

/* TLS says who the other bus is: the link becomes a link. */
static void authenticated(struct bconn *c)
{
        struct bridge_io *io = c->io;
        const char *peer = tls_conn_peer_name(c->tls);

        if (!c->lc) {
                /* accepted: the configured link for this peer, waiting ones first */
                for (int pass = 0; pass < 2 && !c->lc; pass++)
                        for (size_t i = 0; i < io->cfg.nlinks && !c->lc; i++) {
                                const struct bridge_link_config *lc = &io->cfg.links[i];
                                if ((pass == 0) == (lc->connect == NULL) && peer_listed(lc, peer))
                                        c->lc = lc;
                        }
        }
        if (!c->lc) {
                bridgeio_conn_close(c, "authenticated, but no link is configured for it");
                return;
        }
        c->half_open = false;
        io->half_open--;
        uv_timer_stop(&c->timer);
        c->up = true; /* bridge_link_up() sends the hello and the names at once */
        int r = bridge_link_up(io->core, &c->bl, peer, c->lc->name, &c->lc->exp, &c->lc->imp, &link_ops, c);
        if (r < 0) {
                c->up = false;
                char text[200];
                snprintf(text, sizeof(text), "%s",
                         r == -EEXIST ? "a link to that bus is already up (or it is this bus)" : "out of memory");
                bridgeio_conn_close(c, text);
                return;
        }
        io->ups[c->lc - io->cfg.links]++;
        if (c->dial) {
                c->dial->attempts = 0;
                c->dial->since_ms = now_ms(io);
                c->dial->last_error[0] = '\0';
        }
        io->env.log(io->env.log_ud, "bridge: link %s to %s (%s) up", c->lc->name, peer, c->addr);
}

static void on_keepalive(uv_timer_t *t);

void bridgeio_keepalive(struct bconn *c)
{
        unsigned every = c->io->cfg.keepalive_ms / KEEPALIVE_CHECKS ? c->io->cfg.keepalive_ms / KEEPALIVE_CHECKS : 1;
        uv_timer_start(&c->timer, on_keepalive, every, every);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
        (void)h;
        (void)suggested;
        b->base = malloc(READ_CHUNK);
        b->len = b->base ? READ_CHUNK : 0;
}

/* Hands what TLS has decrypted to the bridge, line by line, until it is all
 * taken or the link is paused; then the other bus learns how many events
 * came (bridge_link_read()). */
static void pump(struct bconn *c)
{
        char plain[READ_CHUNK];

        if (c->frame.paused) {
                int fr = frame_resume(&c->frame, on_line, c);
                if (c->closing || c->paused)
                        return;
                if (fr == FRAME_TOO_LARGE) {
                        bridgeio_conn_close(c, "a line over the largest message");
                        return;
                }
        }
        while (!c->paused) {
                ssize_t got = tls_conn_read(c->tls, plain, sizeof(plain));
                flush_out(c);
                if (c->closing)
                        return;
                if (got == 0)
                        break;
                if (got < 0) {
                        bridgeio_conn_close(c,
                                            got == -EPIPE ? "the other end closed the link" : tls_conn_error(c->tls));
                        return;
                }
                if (frame_feed(&c->frame, plain, (size_t)got, on_line, c) == FRAME_TOO_LARGE && !c->closing) {
                        bridgeio_conn_close(c, "a line over the largest message");
                        return;
                }
                if (c->closing)
                        return;
        }
        if (c->up)
                bridge_link_read(c->io->core, &c->bl);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
        struct bconn *c = s->data;

        if (n == 0 || c->closing) {
                free(b->base);
                return;
        }
        if (n < 0) {
                free(b->base);
                bridgeio_conn_close(c, n == UV_EOF ? "the other end closed the connection" : uv_strerror((int)n));
                return;
        }
        c->last_rx_ms = now_ms(c->io);
        int r = tls_conn_feed(c->tls, b->base, (size_t)n);
        free(b->base);
        if (r < 0) {
                flush_out(c);
                bridgeio_conn_close(c, tls_conn_error(c->tls)[0] ? tls_conn_error(c->tls) : "TLS failed");
                return;
        }
        if (!c->established) {
                r = tls_conn_handshake(c->tls);
                flush_out(c);
                if (r < 0) {
                        bridgeio_conn_close(c, tls_conn_error(c->tls));
                        return;
                }
                if (r == 0 || c->closing)
                        return;
                c->established = true;
                authenticated(c);
                if (c->closing)
                        return;
                bridgeio_keepalive(c);
        }
        pump(c);
}

/* ---- timers ------------------------------------------------------------------------ */

static void on_handshake_timeout(uv_timer_t *t)
{
        struct bconn *c = t->data;
        char why[120];

        snprintf(why, sizeof(why), "no TLS handshake within %u ms", c->io->cfg.handshake_timeout_ms);
        bridgeio_conn_close(c, why);
}

static void on_keepalive(uv_timer_t *t)
{
        struct bconn *c = t->data;
        struct bridge_io *io = c->io;
        uint64_t now = now_ms(io);

        if (c->paused)
                c->last_rx_ms = now; /* not read, so not silent: what waits is bounded by the stall timeout */
        if (now - c->last_rx_ms >= io->cfg.timeout_ms) {
                char why[120];
                snprintf(why, sizeof(why), "nothing heard for %u ms (timeout_ms)", io->cfg.timeout_ms);
                bridgeio_conn_close(c, why);
                return;
        }
        if (now - c->last_tx_ms >= io->cfg.keepalive_ms) {
                static const char ping[] = "{\"type\":\"ping\"}\n";
                seal(c); /* what was gathered goes first */
                if (!c->closing && tls_conn_write(c->tls, ping, sizeof(ping) - 1) == 0)
                        flush_out(c);
        }
}

/* ---- new connections ----------------------------------------------------------------- */

static struct bconn *bconn_new(struct bridge_io *io, bool server, const char *const *allow, size_t nallow)
{
        struct bconn *c = calloc(1, sizeof(*c));

        if (!c)
                return NULL;
        c->io = io;
        c->tls = tls_conn_new(io->tls, server, allow, nallow);
        if (!c->tls) {
                free(c);
                return NULL;
        }
        frame_init(&c->frame, BUS_MAX_MESSAGE_STREAM + BUS_RELAY_OVERHEAD + LINK_LINE_SLACK);
        uv_tcp_init(io->env.loop, &c->tcp);
        uv_timer_init(io->env.loop, &c->timer);
        c->tcp.data = c;
        c->timer.data = c;
        c->open_handles = 2;
        c->started_ms = c->last_rx_ms = c->last_tx_ms = now_ms(io);
        c->half_open = true;
        io->half_open++;
        list_append(&io->conns, &c->link);
        uv_timer_start(&c->timer, on_handshake_timeout, io->cfg.handshake_timeout_ms, 0);
        return c;
}

static void format_addr(const struct sockaddr_storage *sa, char *buf, size_t len)
{
        char host[64] = "?";

        if (sa->ss_family == AF_INET) {
                const struct sockaddr_in *v4 = (const struct sockaddr_in *)sa;
                uv_ip4_name(v4, host, sizeof(host));
                snprintf(buf, len, "%s:%u", host, ntohs(v4->sin_port));
        } else if (sa->ss_family == AF_INET6) {
                const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)sa;
                uv_ip6_name(v6, host, sizeof(host));
                snprintf(buf, len, "[%s]:%u", host, ntohs(v6->sin6_port));
        } else {
                snprintf(buf, len, "?");
        }
}

static void free_handle(uv_handle_t *h)
{
        free(h);
}

static void on_incoming(uv_stream_t *s, int status)
{
        struct blisten *ls = s->data;
        struct bridge_io *io = ls->io;

        if (status < 0 || io->stopping)
                return;
        if (io->half_open >= io->cfg.max_half_open) {
                /* a flood of connections that never authenticate cannot crowd
                 * out the links: refuse beyond the cap, log at most once a window */
                uv_tcp_t *tmp = malloc(sizeof(*tmp));
                if (tmp) {
                        uv_tcp_init(io->env.loop, tmp);
                        if (uv_accept(s, (uv_stream_t *)tmp) == 0) { /* accepted only to be closed */
                        }
                        uv_close((uv_handle_t *)tmp, free_handle);
                }
                io->refused_half_open++;
                uint64_t unlogged; /* not said: the line counts them all */
                if (ratelog_allow(&io->half_open_log, now_ms(io), &unlogged)) {
                        io->env.log(io->env.log_ud,
                                    "bridge: refused a connection on %s: %u connections are not "
                                    "authenticated yet (max_half_open); %llu refused so far",
                                    ls->addr, io->half_open, (unsigned long long)io->refused_half_open);
                }
                return;
        }
        struct bconn *c = bconn_new(io, true, io->accept_peers, io->naccept);
        if (!c)
                return;
        if (uv_accept(s, (uv_stream_t *)&c->tcp) < 0) {
                bridgeio_conn_close(c, "accept failed");
                return;
        }
        struct sockaddr_storage sa;
        int salen = sizeof(sa);
        if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&sa, &salen) == 0)
                format_addr(&sa, c->addr, sizeof(c->addr));
        uv_tcp_nodelay(&c->tcp, 1);
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static void on_connected(uv_connect_t *req, int status)
{
        struct bconn *c = req->data;

        free(req);
        if (c->closing)
                return;
        if (status < 0) {
                bridgeio_conn_close(c, uv_strerror(status));
                return;
        }
        uv_tcp_nodelay(&c->tcp, 1);
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
        if (tls_conn_handshake(c->tls) < 0) {
                bridgeio_conn_close(c, tls_conn_error(c->tls));
                return;
        }
        flush_out(c);
}

struct resolving {
        uv_getaddrinfo_t req;
        struct bconn *c;
};

/* The name resolved: dial its first address. */
static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
        struct resolving *rs = (struct resolving *)req;
        struct bconn *c = rs->c;
        struct addrinfo *ai = res;
        char why[400];

        free(rs);
        if (c->closing) {
                /* stopped while resolving: only the memory was waiting for us */
                uv_freeaddrinfo(res);
                conn_unref(c);
                return;
        }
        c->open_handles--; /* the handles still hold it */
        while (ai && ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
                ai = ai->ai_next;
        if (status < 0 || !ai) {
                snprintf(why, sizeof(why), "cannot resolve %s: %s", c->dial->host,
                         status < 0 ? uv_strerror(status) : "no IPv4 or IPv6 address");
                uv_freeaddrinfo(res);
                bridgeio_conn_close(c, why);
                return;
        }
        memset(&c->dial->sa, 0, sizeof(c->dial->sa));
        memcpy(&c->dial->sa, ai->ai_addr, ai->ai_addrlen);
        uv_freeaddrinfo(res);
        uv_connect_t *creq = malloc(sizeof(*creq));
        if (!creq) {
                bridgeio_conn_close(c, "out of memory");
                return;
        }
        creq->data = c;
        int r = uv_tcp_connect(creq, &c->tcp, (const struct sockaddr *)&c->dial->sa, on_connected);
        if (r < 0) {
                free(creq);
                bridgeio_conn_close(c, uv_strerror(r));
        }
}

static void resolve(struct bconn *c)
{
        struct resolving *rs = malloc(sizeof(*rs));
        const struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };

        if (!rs) {
                bridgeio_conn_close(c, "out of memory");
                return;
        }
        rs->c = c;
        c->open_handles++; /* c must outlive the lookup, even if closed meanwhile */
        int r = uv_getaddrinfo(c->io->env.loop, &rs->req, on_resolved, c->dial->host, c->dial->port, &hints);
        if (r < 0) {
                free(rs);
                c->open_handles--;
                bridgeio_conn_close(c, uv_strerror(r));
        }
}

static void dial_now(uv_timer_t *t)
{
        struct bdial *d = t->data;
        struct bridge_io *io = d->io;

        if (io->stopping || d->conn)
                return;
        struct bconn *c = bconn_new(io, false, (const char *const *)d->lc->peers, d->lc->npeers);
        if (!c) {
                schedule_dial(d, true);
                return;
        }
        c->dial = d;
        c->lc = d->lc;
        d->conn = c;
        d->attempts++;
        snprintf(c->addr, sizeof(c->addr), "%s", d->lc->connect);
        uv_connect_t *req = malloc(sizeof(*req));
        if (!req) {
                bridgeio_conn_close(c, "out of memory");
                return;
        }
        req->data = c;
        if (!d->numeric) {
                free(req);
                resolve(c);
                return;
        }
        int r = uv_tcp_connect(req, &c->tcp, (const struct sockaddr *)&d->sa, on_connected);
        if (r < 0) {
                free(req);
                bridgeio_conn_close(c, uv_strerror(r));
        }
}

/* Jittered exponential backoff: min * 2^(attempts-1), at most max, +-25%. */
static void schedule_dial(struct bdial *d, bool failed)
{
        struct bridge_io *io = d->io;
        uint64_t delay = 0;

        if (d->retired)
                return;
        if (failed) {
                delay = io->cfg.reconnect_min_ms;
                for (unsigned i = 1; i < d->attempts && delay < io->cfg.reconnect_max_ms; i++)
                        delay *= BACKOFF_FACTOR;
                if (delay > io->cfg.reconnect_max_ms)
                        delay = io->cfg.reconnect_max_ms;
                uint32_t rnd = 0;
                if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
                        rnd = (uint32_t)now_ms(io) * KNUTH_HASH;
                delay = delay * (100 - JITTER_PERCENT) / 100 +
                        delay * (2 * JITTER_PERCENT) / 100 * (rnd % JITTER_STEPS) / JITTER_STEPS;
        }
        uv_timer_start(&d->timer, dial_now, delay, 0);
}

/* ---- start and stop ----------------------------------------------------------------- */

static int add_accept_peer(struct bridge_io *io, const char *name)
{
        for (size_t i = 0; i < io->naccept; i++)
                if (strcmp(io->accept_peers[i], name) == 0)
                        return 0;
        const char **n = realloc(io->accept_peers, (io->naccept + 1) * sizeof(*n));
        if (!n)
                return -ENOMEM;
        io->accept_peers = n;
        n[io->naccept++] = name;
        return 0;
}

/* Who may connect to us: every link's peers (borrowed from io->cfg). */
int bridgeio_set_accept_peers(struct bridge_io *io)
{
        free(io->accept_peers);
        io->accept_peers = NULL;
        io->naccept = 0;
        for (size_t i = 0; i < io->cfg.nlinks; i++)
                for (size_t j = 0; j < io->cfg.links[i].npeers; j++)
                        if (add_accept_peer(io, io->cfg.links[i].peers[j]) < 0)
                                return -ENOMEM;
        return 0;
}

/* A listener on addr (numeric, checked by the parser) in *ret, which the
 * caller closes (bridgeio_unlisten()) even on failure. Returns 0 or a negative
 * errno with the reason in err. */
int bridgeio_listen(struct bridge_io *io, const char *addr, struct blisten **ret, char *err, size_t errlen)
{
        struct blisten *ls = calloc(1, sizeof(*ls));
        struct sockaddr_storage sa;

        if (!ls) {
                snprintf(err, errlen, "out of memory");
                return -ENOMEM;
        }
        bridgecfg_address(addr, &sa);
        ls->io = io;
        snprintf(ls->addr, sizeof(ls->addr), "%s", addr);
        uv_tcp_init(io->env.loop, &ls->tcp);
        ls->tcp.data = ls;
        *ret = ls;
        int r = uv_tcp_bind(&ls->tcp, (const struct sockaddr *)&sa, sa.ss_family == AF_INET6 ? UV_TCP_IPV6ONLY : 0);
        if (r == 0)
                r = uv_listen((uv_stream_t *)&ls->tcp, LISTEN_BACKLOG, on_incoming);
        if (r < 0)
                snprintf(err, errlen, "bridge: cannot listen on %s: %s", addr, uv_strerror(r));
        return r;
}

void bridgeio_unlisten(struct blisten *ls)
{
        uv_close((uv_handle_t *)&ls->tcp, bridgeio_free_handle);
}

/* Starts dialling link lc (at once, or after the backoff if `later`). */
int bridgeio_dial(struct bridge_io *io, const struct bridge_link_config *lc, bool later)
{
        struct bdial *d = calloc(1, sizeof(*d));

        if (!d)
                return -ENOMEM;
        io->dials[io->ndials++] = d;
        d->io = io;
        d->lc = lc;
        d->since_ms = now_ms(io);
        d->numeric = bridgecfg_address(lc->connect, &d->sa) == 0;
        bridgecfg_host_port(lc->connect, d->host, sizeof(d->host), d->port, sizeof(d->port));
        uv_timer_init(io->env.loop, &d->timer);
        d->timer.data = d;
        schedule_dial(d, later);
        return 0;
}

/* The credential files' contents one after the other, to tell whether a
 * reload changed them. Returns 0 or a negative errno. */
int bridgeio_read_creds(const struct bridge_config *cfg, char **ret, size_t *ret_len)
{
        const char *files[] = { cfg->cert, cfg->key, cfg->ca };
        char *all = NULL, *text, err[300];
        size_t n = 0, len;

        for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
                if (!files[i] || readfile(files[i], BUS_MAX_BRIDGE_FILE, &text, &len, err, sizeof(err)) < 0) {
                        free(all);
                        return -EIO;
                }
                char *na = realloc(all, n + len + 1);
                if (!na) {
                        free(text);
                        free(all);
                        return -ENOMEM;
                }
                all = na;
                memcpy(all + n, text, len + 1); /* with its NUL: the files stay apart */
                n += len + 1;
                free(text);
        }
        *ret = all;
        *ret_len = n;
        return 0;
}

/* The first connection with work for on_prepare(), or NULL. */
static struct bconn *next_work(struct bridge_io *io)
{
        list_for_each(l, &io->conns)
        {
                struct bconn *c = list_entry(l, struct bconn, link);
                if (!c->closing && (c->resume_pending || c->out_len))
                        return c;
        }
        return NULL;
}

/* Once per loop iteration, after everything it ran: each link's gathered
 * messages are sealed and written, and the links the router let go read on.
 * Each step may close connections (not only its own) or give others work:
 * the list is searched again after each. */
static void on_prepare(uv_prepare_t *h)
{
        struct bridge_io *io = h->data;
        struct bconn *c;

        while ((c = next_work(io))) {
                if (c->resume_pending) {
                        c->resume_pending = false;
                        c->paused = false;
                        pump(c);
                        if (!c->closing && !c->paused)
                                uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
                } else {
                        seal(c);
                }
        }
}

int bridgeio_start(const struct bridgeio_env *env, struct bridge_config *cfg, struct bridge_io **ret, char *err,
                   size_t errlen)
{
        struct bridge_io *io = calloc(1, sizeof(*io));
        const struct tls_config tc = { cfg->cert, cfg->key, cfg->ca };
        uint64_t epoch = 0;
        int r;

        if (!io)
                return -ENOMEM;
        io->env = *env;
        uv_prepare_init(env->loop, &io->prepare);
        io->prepare.data = io;
        uv_prepare_start(&io->prepare, on_prepare);
        io->prepare_open = true;
        ratelog_init(&io->refused_log, REFUSED_LOG_BURST, REFUSED_LOG_WINDOW_MS);
        ratelog_init(&io->half_open_log, HALF_OPEN_LOG_BURST, HALF_OPEN_LOG_WINDOW_MS);
        io->cfg = *cfg;
        memset(cfg, 0, sizeof(*cfg)); /* taken over */
        list_init(&io->conns);
        r = bridgecfg_check(&io->cfg, err, errlen);
        if (r == 0)
                r = tls_ctx_new(&tc, &io->tls, err, errlen);
        if (r < 0)
                goto fail;
        if (getrandom(&epoch, sizeof(epoch), 0) != sizeof(epoch))
                epoch = uv_hrtime();
        io->core = bridge_new(env->router, tls_ctx_own_name(io->tls), io->cfg.max_hops, epoch | 1);
        if (!io->core) {
                r = -ENOMEM;
                snprintf(err, errlen, "out of memory");
                goto fail;
        }
        if ((r = bridgeio_set_accept_peers(io)) < 0)
                goto fail;
        for (size_t i = 0; i < io->cfg.nlisten; i++) {
                r = bridgeio_listen(io, io->cfg.listen[i], &io->listeners[io->nlisteners++], err, errlen);
                if (r < 0)
                        goto fail;
                env->log(env->log_ud, "bridge: %s listening on %s (tcp, TLS)", tls_ctx_own_name(io->tls),
                         io->cfg.listen[i]);
        }
        for (size_t i = 0; i < io->cfg.nlinks; i++)
                if (io->cfg.links[i].connect && (r = bridgeio_dial(io, &io->cfg.links[i], false)) < 0)
                        goto fail;
        if (bridgeio_read_creds(&io->cfg, &io->creds, &io->creds_len) < 0)
                io->creds = NULL; /* unreadable now (tls_ctx_new() read them): a reload restarts the links */
        *ret = io;
        return 0;
fail:
        bridgeio_stop(io);
        /* the handles close on the next loop turns; io stays until bridgeio_free */
        io->stopping = true;
        *ret = io;
        return r < 0 ? r : -EINVAL;
}

void bridgeio_stop(struct bridge_io *io)
{
        if (!io)
                return;
        io->stopping = true;
        list_for_each_safe(l, tmp, &io->conns)
                bridgeio_conn_close(list_entry(l, struct bconn, link), "busd is stopping");
        if (io->prepare_open) {
                io->prepare_open = false;
                uv_close((uv_handle_t *)&io->prepare, NULL);
        }
        for (size_t i = 0; i < io->nlisteners; i++)
                bridgeio_unlisten(io->listeners[i]);
        for (size_t i = 0; i < io->ndials; i++)
                uv_close((uv_handle_t *)&io->dials[i]->timer, bridgeio_free_handle);
        io->nlisteners = io->ndials = 0;
}

void bridgeio_free(struct bridge_io *io)
{
        if (!io)
                return;
        bridge_free(io->core);
        tls_ctx_free(io->tls);
        free(io->accept_peers);
        free(io->creds);
        bridgecfg_free(&io->cfg);
        free(io);
}

bool bridgeio_stopped(const struct bridge_io *io)
{
        return io->stopping;
}

const char *bridgeio_name(const struct bridge_io *io)
{
        return io->tls ? tls_ctx_own_name(io->tls) : "";
}

struct json_object *bridgeio_status(struct bridge_io *io)
{
        struct json_object *o = jsonnew_object(), *links = jsonnew_array();
        uint64_t now = now_ms(io);

        json_object_object_add(o, "bus", jsonnew_string(bridgeio_name(io)));
        for (size_t i = 0; i < io->cfg.nlinks; i++) {
                const struct bridge_link_config *lc = &io->cfg.links[i];
                struct bdial *d = NULL;
                for (size_t k = 0; k < io->ndials; k++)
                        if (io->dials[k]->lc == lc)
                                d = io->dials[k];
                bool any = false;
                list_for_each(l, &io->conns)
                {
                        struct bconn *c = list_entry(l, struct bconn, link);
                        if (c->lc != lc || !c->up)
                                continue;
                        struct json_object *e = bridge_link_json(&c->bl);
                        json_object_object_add(e, "link", jsonnew_string(lc->name));
                        json_object_object_add(e, "peer", jsonnew_string(c->bl.remote));
                        json_object_object_add(e, "state", jsonnew_string(c->bl.hello_seen ? "up" : "starting"));
                        json_object_object_add(e, "address", jsonnew_string(c->addr));
                        json_object_object_add(e, "since_ms", jsonnew_uint64(now - c->started_ms));
                        json_object_object_add(e, "connections", jsonnew_uint64(io->ups[i]));
                        json_object_object_add(e, "lost", jsonnew_uint64(io->lost[i]));
                        json_object_object_add(e, "queue_bytes", jsonnew_uint64(queued(c)));
                        json_object_array_add(links, e);
                        any = true;
                }
                if (any)
                        continue;
                struct json_object *e = jsonnew_object();
                json_object_object_add(e, "link", jsonnew_string(lc->name));
                json_object_object_add(e, "state", jsonnew_string(d ? (d->conn ? "connecting" : "down") : "waiting"));
                json_object_object_add(e, "connections", jsonnew_uint64(io->ups[i]));
                json_object_object_add(e, "lost", jsonnew_uint64(io->lost[i]));
                if (lc->connect)
                        json_object_object_add(e, "address", jsonnew_string(lc->connect));
                if (d) {
                        json_object_object_add(e, "since_ms", jsonnew_uint64(now - d->since_ms));
                        json_object_object_add(e, "attempts", jsonnew_uint64(d->attempts));
                        if (d->last_error[0])
                                json_object_object_add(e, "last_error", jsonnew_string(d->last_error));
                }
                json_object_array_add(links, e);
        }
        json_object_object_add(o, "links", links);
        json_object_object_add(o, "duplicates", jsonnew_uint64(bridge_duplicates(io->core)));
        json_object_object_add(o, "refused_half_open", jsonnew_uint64(io->refused_half_open));
        return o;
}
