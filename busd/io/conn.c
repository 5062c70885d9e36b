/* conn.c: see conn.h. One client connection: reading and framing its input,
 * handing each message to the router, and writing its output queue; and the
 * set of all connections, with the lists, counts and read buffers they share.
 *
 * Stream connections are uv_pipe_t handles read into the set's shared
 * buffer (an idle connection owns no read buffer) and written with
 * uv_try_write, falling back to uv_write when the socket is full. Seqpacket
 * connections are uv_poll_t handles read with recvmmsg and written with
 * sendmmsg, a batch of packets per system call. Lifetime: a conn is freed only
 * in its handle's close callback. Knows nothing of the server (conn_env).
 */
#include "conn.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "buslimits.h"
#include "errcode.h"
#include "frame.h"
#include "list.h"
#include "options.h"
#include "outq.h"
#include "peer.h"
#include "pktstash.h"
#include "router.h"
#include "unixsock.h"

#define CONN(p) list_entry(p, struct conn, peer)
#define WRITE_BATCH 1024 /* iovecs per writev (IOV_MAX) */
#define SEND_BATCH 256   /* packets per sendmmsg */
/* Packets per recvmmsg, and so the number of receive slots the set owns. */
#define READ_BATCH 16
/* recvmmsg batches read per readiness event before the other connections
 * get their turn. */
#define READ_ROUNDS 4
/* One receive slot: the largest seqpacket message, a newline, and one more
 * byte so that an oversize packet shows (beside MSG_TRUNC). */
#define SEQ_SLOT_SIZE (BUS_MAX_MESSAGE_SEQPACKET + 2)
/* The stream read buffer shared by every connection (libuv reads into it,
 * the framer consumes it at once). */
#define READ_BUFFER_SIZE (256u * 1024u)
/* Connections in handshake conn_set_handshake_room() looks at per call (each
 * may cost a recv(MSG_PEEK)): it runs once per loop iteration while a
 * listener waits. */
#define HANDSHAKE_SCAN 64

/* What a frame_line_fn answers (proto/frame.h): go on, or pause the framer. */
enum { LINE_NEXT = 0, LINE_PAUSE = 1 };

struct conn {
        struct peer peer;
        struct conn_set *set;
        bool seqpacket;
        union {
                uv_pipe_t pipe;
                uv_poll_t poll;
        } h;
        int fd;
        int poll_events;    /* seqpacket: what uv_poll watches now */
        struct frame frame; /* stream framing */
        struct outq q;
        size_t inflight_items; /* stream: items covered by the uv_write in flight */
        size_t inflight_bytes;
        bool writing;          /* a uv_write is in flight */
        bool paused;           /* not reading: queue over limit */
        bool closing;          /* uv_close called */
        bool draining;         /* closing once the queue is written */
        bool killed;           /* the router asked to disconnect it */
        bool resume_pending;   /* drained enough to read again: done from the flush loop */
        bool in_handshake;     /* has not said hello yet: in set->handshakes */
        bool fd_wait;          /* a message with a descriptor waits for room: retried from the tick */
        gid_t *groups;         /* supplementary groups (SO_PEERGROUPS), or NULL */
        struct pktstash stash; /* seqpacket: packets read after a pause, handled on resume */
        size_t ngroups;
        uint64_t accepted_ms;
        uint64_t drain_deadline;
        struct list link;           /* in set->conns */
        struct list dirty_link;     /* in set->dirty */
        struct list drain_link;     /* in set->draining */
        struct list handshake_link; /* in set->handshakes */
};

struct conn_set {
        struct conn_env env;
        struct list conns;      /* all live connections */
        struct list dirty;      /* connections with output to flush */
        struct list draining;   /* closing once their last output is written */
        struct list handshakes; /* connections that have not said hello, oldest first */
        size_t nconns;
        size_t nhandshakes;
        char *rbuf; /* READ_BUFFER_SIZE: the shared read buffer of stream connections */
        char *pbuf; /* READ_BATCH slots of SEQ_SLOT_SIZE: the receive slots of seqpacket connections */
};

/* Closes now: the peer leaves the router, queued output is discarded. */
static void conn_close(struct conn *c, const char *why);
/* Writes what is queued and resumes reading a paused connection that has
 * drained (from conn_set_flush(), never from inside the router). */
static void conn_flush(struct conn *c);
/* Writes what is queued, then closes (bounded by the stall timeout). */
static void conn_drain(struct conn *c, const char *why);
/* Tells a connection it took too long to say hello, then closes it. */
static void conn_hello_timeout(struct conn *c);
/* Says why (an error `code`), then closes once that is written. */
static void fail_and_close(struct conn *c, const char *code, const char *what);
/* A new pidfd for the client (unixsock_pidfd()), or a negative errno. The
 * caller owns it. */
static int conn_pidfd(struct conn *c);

int conn_set_new(const struct conn_env *env, struct conn_set **ret)
{
        struct conn_set *set = calloc(1, sizeof(*set));

        if (!set)
                return -ENOMEM;
        set->env = *env;
        list_init(&set->conns);
        list_init(&set->dirty);
        list_init(&set->draining);
        list_init(&set->handshakes);
        set->rbuf = malloc(READ_BUFFER_SIZE);
        set->pbuf = malloc((size_t)SEQ_SLOT_SIZE * READ_BATCH);
        if (!set->rbuf || !set->pbuf) {
                conn_set_free(set);
                return -ENOMEM;
        }
        *ret = set;
        return 0;
}

void conn_set_free(struct conn_set *set)
{
        if (!set)
                return;
        free(set->rbuf);
        free(set->pbuf);
        free(set);
}

size_t conn_set_count(const struct conn_set *set)
{
        return set->nconns;
}

void conn_set_flush(struct conn_set *set)
{
        while (!list_empty(&set->dirty)) {
                struct conn *c = list_entry(list_first(&set->dirty), struct conn, dirty_link);
                list_unlink(&c->dirty_link);
                conn_flush(c);
        }
}

void conn_set_close_all(struct conn_set *set, const char *why)
{
        list_for_each_safe(l, tmp, &set->conns) conn_close(list_entry(l, struct conn, link), why);
}

void conn_set_tick(struct conn_set *set, uint64_t now_ms)
{
        list_for_each_safe(l, tmp, &set->draining)
        {
                struct conn *c = list_entry(l, struct conn, drain_link);
                if (now_ms >= c->drain_deadline)
                        conn_close(c, "its last messages could not be written in time");
        }
        /* messages with a descriptor wait for room without libuv watching */
        list_for_each(l, &set->conns)
        {
                struct conn *c = list_entry(l, struct conn, link);
                if (c->fd_wait) {
                        c->fd_wait = false;
                        if (!list_linked(&c->dirty_link))
                                list_append(&set->dirty, &c->dirty_link);
                }
        }
        /* oldest first: stop at the first one still within its time */
        list_for_each_safe(l, tmp, &set->handshakes)
        {
                struct conn *c = list_entry(l, struct conn, handshake_link);
                if (now_ms - c->accepted_ms < set->env.opt->hello_timeout_ms)
                        break;
                conn_hello_timeout(c);
        }
}

/* The connection's socket, or -1. */
static int conn_socket(const struct conn *c)
{
        uv_os_fd_t fd = c->fd;

        if (!c->seqpacket && uv_fileno((const uv_handle_t *)&c->h.pipe, &fd) < 0)
                return -1;
        return fd;
}

/* Has c, in handshake, been silent for `grace` ms: accepted that long ago,
 * and nothing unread in its socket (a hello waiting to be read is no
 * silence; what waits in a paused connection, which is not being read, is)? */
static bool conn_silent(struct conn *c, uint64_t now_ms, uint64_t grace)
{
        int fd = conn_socket(c);

        if (now_ms - c->accepted_ms < grace)
                return false;
        return c->paused || fd < 0 || !unixsock_has_input(fd);
}

bool conn_set_handshake_room(struct conn_set *set)
{
        const struct options *o = set->env.opt;
        uint64_t now = uv_now(set->env.loop), grace = BUS_HANDSHAKE_GRACE_MS;
        unsigned looked = 0;

        if (o->hello_timeout_ms / 2 < grace)
                grace = o->hello_timeout_ms / 2;
        /* oldest first: the first one within its grace ends the search */
        list_for_each_safe(l, tmp, &set->handshakes)
        {
                struct conn *c = list_entry(l, struct conn, handshake_link);
                if (set->nhandshakes < o->max_handshakes || now - c->accepted_ms < grace || looked++ >= HANDSHAKE_SCAN)
                        break;
                if (conn_silent(c, now, grace))
                        fail_and_close(c, ERRCODE_LIMIT,
                                       "too many connections are waiting to say hello (max_handshakes); the one "
                                       "silent longest is closed");
        }
        return set->nhandshakes < o->max_handshakes;
}

static void mark_dirty(struct conn *c)
{
        if (!list_linked(&c->dirty_link))
                list_append(&c->set->dirty, &c->dirty_link);
}

static int peer_send(struct peer *p, struct buf *b)
{
        struct conn *c = CONN(p);

        if (c->closing)
                return -ENOTCONN;
        if (outq_push(&c->q, buf_ref(b)) < 0) {
                buf_unref(b);
                return -ENOMEM;
        }
        mark_dirty(c);
        return 0;
}

static int peer_send_fd(struct peer *p, struct buf *b, int fd, struct buf *fallback)
{
        struct conn *c = CONN(p);

        if (c->closing) {
                close(fd);
                return -ENOTCONN;
        }
        if (outq_push_fd(&c->q, buf_ref(b), fd, fallback ? buf_ref(fallback) : NULL) < 0) {
                buf_unref(b);
                buf_unref(fallback);
                return -ENOMEM;
        }
        mark_dirty(c);
        return 0;
}

static int peer_pidfd(struct peer *p)
{
        return conn_pidfd(CONN(p));
}

static void peer_kill(struct peer *p, const char *reason)
{
        struct conn *c = CONN(p);

        /* closed from the check phase, never inside the router's walk */
        c->killed = true;
        mark_dirty(c);
}

static void peer_flush(struct peer *p);
static void peer_resume(struct peer *p)
{
        struct conn *c = CONN(p);

        /* from inside the router: resumed from the flush loop */
        if (c->paused && !c->closing && !c->draining) {
                c->resume_pending = true;
                mark_dirty(c);
        }
}

static const struct peer_ops conn_ops = {
        .resume = peer_resume,
        .send = peer_send,
        .flush = peer_flush,
        .kill = peer_kill,
        .send_fd = peer_send_fd,
        .pidfd = peer_pidfd,
};

/* The largest message the connection may send now: little before hello. */
static size_t conn_max_message(const struct conn *c)
{
        size_t max = c->peer.max_message;

        return c->peer.hello_done || max < BUS_MAX_HELLO_MESSAGE ? max : BUS_MAX_HELLO_MESSAGE;
}

static void leave_handshake(struct conn *c)
{
        if (!c->in_handshake)
                return;
        c->in_handshake = false;
        list_unlink(&c->handshake_link);
        c->set->nhandshakes--;
}

/* After each message: a connection that has just said hello gets its full
 * message size and leaves the handshake list. */
static void after_message(struct conn *c)
{
        if (c->in_handshake && c->peer.hello_done) {
                leave_handshake(c);
                c->frame.max = c->peer.max_message;
        }
}

static void on_closed(uv_handle_t *h)
{
        struct conn *c = h->data;

        if (c->seqpacket)
                close(c->fd);
        free(c->groups);
        pktstash_deinit(&c->stash);
        outq_deinit(&c->q);
        frame_deinit(&c->frame);
        free(c);
}

/* Tells a connection refused as it is accepted why, best effort (nothing is
 * queued for it): one error, a packet without the newline on seqpacket
 * (docs/protocol.md §1). Then reads what it sent: a hello already sent must
 * not turn our close into a reset. */
static void refuse(struct conn_set *set, int fd, bool seqpacket, const char *code, const char *text)
{
        struct buf *b = router_error_buf(set->env.router, code, text);

        if (b && send(fd, b->data, b->len - (seqpacket ? 1 : 0), MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
                /* refused either way */
        }
        buf_unref(b);
        unixsock_discard_input(fd);
}

static void discard_input(struct conn *c)
{
        int fd = conn_socket(c);

        if (fd >= 0)
                unixsock_discard_input(fd);
}

static void conn_close(struct conn *c, const char *why)
{
        struct conn_set *set = c->set;

        if (c->closing)
                return;
        if (c->draining)
                discard_input(c);
        c->closing = true;
        if (set->env.opt->verbose)
                set->env.log(set->env.log_ud, "%s (pid %d) disconnected: %s", c->peer.unique, (int)c->peer.pid, why);
        router_peer_remove(set->env.router, &c->peer);
        /* the descriptors still queued go now (the router counts them until then) */
        router_peer_fds_gone(set->env.router, &c->peer, outq_drop_fds(&c->q));
        leave_handshake(c);
        list_unlink(&c->dirty_link);
        list_unlink(&c->drain_link);
        list_unlink(&c->link);
        set->nconns--;
        uv_close((uv_handle_t *)&c->h, on_closed);
}

static void on_poll(uv_poll_t *h, int status, int events);

static void stop_reading(struct conn *c)
{
        if (c->seqpacket) {
                c->poll_events &= ~UV_READABLE;
                if (c->poll_events)
                        uv_poll_start(&c->h.poll, c->poll_events, on_poll);
                else
                        uv_poll_stop(&c->h.poll);
        } else {
                uv_read_stop((uv_stream_t *)&c->h.pipe);
        }
}

static void conn_drain(struct conn *c, const char *why)
{
        struct conn_set *set = c->set;

        if (c->closing || c->draining)
                return;
        if (set->env.opt->verbose)
                set->env.log(set->env.log_ud, "%s (pid %d) closing: %s", c->peer.unique, (int)c->peer.pid, why);
        c->draining = true;
        router_peer_remove(set->env.router, &c->peer);
        leave_handshake(c);
        stop_reading(c);
        c->drain_deadline = uv_now(set->env.loop) + set->env.opt->limits.stall_timeout_ms;
        list_append(&set->draining, &c->drain_link);
        mark_dirty(c);
}

/* Says why, then closes once that is written. */
static void fail_and_close(struct conn *c, const char *code, const char *what)
{
        char text[200];

        snprintf(text, sizeof(text), "%s; closing the connection", what);
        struct buf *b = router_error_buf(c->set->env.router, code, text);
        if (b && outq_push(&c->q, b) < 0)
                buf_unref(b);
        conn_drain(c, what);
}

/* A framing violation (docs/protocol.md §5, too_large). */
static void violation(struct conn *c, const char *what)
{
        fail_and_close(c, ERRCODE_TOO_LARGE, what);
}

static void conn_hello_timeout(struct conn *c)
{
        char what[96];

        snprintf(what, sizeof(what), "no hello within %u ms (hello_timeout)", c->set->env.opt->hello_timeout_ms);
        fail_and_close(c, ERRCODE_HELLO_TIMEOUT, what);
}

/* ---- reading ---------------------------------------------------------------- */

static int on_line(const char *line, size_t len, void *userdata)
{
        struct conn *c = userdata;

        if (c->closing || c->draining)
                return LINE_PAUSE;
        int r = router_handle(c->set->env.router, &c->peer, line, len);
        after_message(c);
        return r == ROUTER_PAUSE ? LINE_PAUSE : LINE_NEXT;
}

static void start_reading(struct conn *c);

/* Acts on what the framer said after feeding or resuming. */
static void after_frame(struct conn *c, int fr)
{
        char what[96];

        if (c->closing || c->draining)
                return;
        switch (fr) {
        case FRAME_PAUSED:
                c->paused = true;
                stop_reading(c);
                break;
        case FRAME_TOO_LARGE:
                snprintf(what, sizeof(what), "a line is longer than %zu bytes (%s)", c->frame.max,
                         c->peer.hello_done ? "max_message" : "before hello");
                violation(c, what);
                break;
        case FRAME_OK:
                break;
        default:
                conn_close(c, "out of memory");
                break;
        }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
        struct conn *c = h->data;

        /* one buffer for all connections: the read callback consumes it at once */
        buf->base = c->set->rbuf;
        buf->len = READ_BUFFER_SIZE;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
        struct conn *c = s->data;

        if (nread > 0) {
                struct conn_set *set = c->set;
                router_set_time(set->env.router, uv_now(set->env.loop));
                after_frame(c, frame_feed(&c->frame, buf->base, (size_t)nread, on_line, c));
                conn_set_flush(set);
        } else if (nread == UV_EOF) {
                conn_drain(c, "end of input");
        } else if (nread < 0) {
                conn_close(c, uv_strerror((int)nread));
        }
}

/* Handles one packet read (or kept in the stash); false when the connection
 * must not be read further now (paused, closing, or a violation). */
static bool seq_packet(void *ud, char *data, size_t len, bool trunc)
{
        struct conn *c = ud;
        char what[96];

        if (len == 0) {
                conn_drain(c, "end of input");
                return false;
        }
        size_t max = conn_max_message(c);
        if (frame_packet(max, data, len, trunc, &len) != FRAME_OK) {
                snprintf(what, sizeof(what), "a packet is larger than %zu bytes (%s)", max,
                         c->peer.hello_done ? "max_message" : "before hello");
                violation(c, what);
                return false;
        }
        int r = router_handle(c->set->env.router, &c->peer, data, len);
        after_message(c);
        if (c->closing || c->draining)
                return false;
        if (r == ROUTER_PAUSE && !c->paused) {
                c->paused = true;
                stop_reading(c);
        }
        return !c->paused;
}

static void seq_read(struct conn *c)
{
        struct conn_set *set = c->set;
        struct mmsghdr mm[READ_BATCH];
        struct iovec iov[READ_BATCH];

        router_set_time(set->env.router, uv_now(set->env.loop));
        for (int round = 0; round < READ_ROUNDS; round++) {
                memset(mm, 0, sizeof(mm));
                for (int i = 0; i < READ_BATCH; i++) {
                        iov[i].iov_base = set->pbuf + (size_t)i * SEQ_SLOT_SIZE;
                        iov[i].iov_len = SEQ_SLOT_SIZE;
                        mm[i].msg_hdr.msg_iov = &iov[i];
                        mm[i].msg_hdr.msg_iovlen = 1;
                }
                int n = recvmmsg(c->fd, mm, READ_BATCH, MSG_DONTWAIT, NULL);
                if (n < 0) {
                        if (errno != EAGAIN && errno != EINTR)
                                conn_close(c, strerror(errno));
                        return;
                }
                for (int i = 0; i < n; i++) {
                        if (seq_packet(c, iov[i].iov_base, mm[i].msg_len, mm[i].msg_hdr.msg_flags & MSG_TRUNC))
                                continue;
                        /* paused: the rest of the batch waits, in order, until it is resumed */
                        if (c->paused && !c->closing && !c->draining && pktstash_save(&c->stash, mm, iov, i + 1, n) < 0)
                                conn_close(c, "out of memory");
                        return;
                }
                conn_set_flush(set);
                if (c->closing || c->draining || c->paused || n < READ_BATCH)
                        return;
        }
}

static void resume_reading(struct conn *c)
{
        c->paused = false;
        if (c->seqpacket && !pktstash_replay(&c->stash, seq_packet, c))
                return;
        if (!c->seqpacket) {
                int fr = frame_resume(&c->frame, on_line, c);
                after_frame(c, fr);
                if (c->paused || c->closing || c->draining)
                        return;
        }
        start_reading(c);
}

/* ---- writing ---------------------------------------------------------------- */

/* Reports written bytes to the router. Reading a paused connection resumes
 * later, from conn_flush(): this may run inside the router (peer_flush). */
static void wrote(struct conn *c, size_t bytes, size_t msgs)
{
        bool resume = router_peer_wrote(c->set->env.router, &c->peer, bytes, msgs);

        if (resume && c->paused && !c->closing && !c->draining) {
                c->resume_pending = true;
                mark_dirty(c);
        }
}

static void on_write(uv_write_t *req, int status)
{
        struct conn *c = req->data;
        size_t items = c->inflight_items, bytes = 0;

        free(req);
        c->writing = false;
        c->inflight_items = 0;
        if (c->closing)
                return;
        if (status < 0) {
                conn_close(c, uv_strerror(status));
                return;
        }
        outq_consume_items(&c->q, items, &bytes);
        wrote(c, bytes, items);
        mark_dirty(c);
}

/* The kernel refused to pass the descriptor of the i-th item (ETOOMANYREFS:
 * more of the daemon's descriptors in flight, sent but not yet received, than
 * its RLIMIT_NOFILE): the item's fallback, an error answering the same
 * request, goes in its place, and the connection stays. */
static void refuse_fd(struct conn *c, size_t i)
{
        struct conn_set *set = c->set;
        size_t old_len, new_len;

        outq_refuse_fd(&c->q, i, &old_len, &new_len);
        router_peer_fds_gone(set->env.router, &c->peer, 1);
        router_peer_fd_refused(set->env.router, &c->peer, old_len, new_len);
        set->env.log(set->env.log_ud, "could not pass a descriptor to %s (pid %d): %s; it got an error instead",
                     c->peer.unique, (int)c->peer.pid, strerror(ETOOMANYREFS));
}

/* How many items from the head go before the next one that carries a
 * descriptor (it must start a sendmsg of its own), at most max. */
static size_t items_before_fd(const struct outq *q, size_t from, size_t max)
{
        size_t i = from;

        while (i < q->count && i - from < max && outq_fd_at(q, i) < 0)
                i++;
        return i - from;
}

/* The head item carries a descriptor: sendmsg it with SCM_RIGHTS (with the
 * items after it up to the next descriptor). libuv cannot attach one to a
 * write, and nothing is in flight, so writing on the fd directly keeps the
 * order. Returns true if it made progress. */
static bool stream_send_fd(struct conn *c)
{
        struct iovec iov[WRITE_BATCH];
        union {
                struct cmsghdr h;
                char space[CMSG_SPACE(sizeof(int))];
        } ctl;
        uv_os_fd_t sock;
        int pass = outq_fd_at(&c->q, 0);
        size_t n = 1 + items_before_fd(&c->q, 1, WRITE_BATCH - 1), bytes = 0;

        if (uv_fileno((uv_handle_t *)&c->h.pipe, &sock) < 0)
                return false;
        n = outq_iov(&c->q, 0, iov, n, 0);
        struct msghdr mh = {
                .msg_iov = iov, .msg_iovlen = n, .msg_control = ctl.space, .msg_controllen = sizeof(ctl.space)
        };
        memset(&ctl, 0, sizeof(ctl)); /* the padding after the fd is sent too (valgrind) */
        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &pass, sizeof(int));
        ssize_t w = sendmsg(sock, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w < 0) {
                if (errno == ETOOMANYREFS) {
                        refuse_fd(c, 0); /* nothing was sent: the fallback goes in its place */
                        return true;
                }
                if (errno == EAGAIN || errno == EINTR)
                        c->fd_wait = true; /* retried from the tick: libuv is not watching for POLLOUT */
                else
                        conn_close(c, strerror(errno));
                return false;
        }
        close(outq_take_fd(&c->q, 0)); /* the client has its own copy now */
        router_peer_fds_gone(c->set->env.router, &c->peer, 1);
        size_t done = outq_consume_bytes(&c->q, (size_t)w, &bytes);
        wrote(c, bytes, done);
        return true;
}

static void stream_flush(struct conn *c)
{
        struct iovec iov[WRITE_BATCH];

        while (c->q.count > 0 && !c->writing && !c->closing) {
                size_t upto = items_before_fd(&c->q, 0, WRITE_BATCH);
                if (upto == 0) {
                        if (!stream_send_fd(c))
                                return;
                        continue;
                }
                size_t n = outq_iov(&c->q, 0, iov, upto, 0), total = 0, bytes = 0;
                for (size_t i = 0; i < n; i++)
                        total += iov[i].iov_len;
                /* uv_buf_t is iovec-compatible on Unix */
                int w = uv_try_write((uv_stream_t *)&c->h.pipe, (const uv_buf_t *)iov, (unsigned)n);
                if (w < 0 && w != UV_EAGAIN) {
                        conn_close(c, uv_strerror(w));
                        return;
                }
                if (w > 0) {
                        size_t done = outq_consume_bytes(&c->q, (size_t)w, &bytes);
                        wrote(c, bytes, done);
                        if ((size_t)w == total)
                                continue;
                }
                /* the socket is full: let libuv finish the rest when it is writable */
                uv_write_t *req = malloc(sizeof(*req));
                if (!req) {
                        conn_close(c, "out of memory");
                        return;
                }
                n = outq_iov(&c->q, 0, iov, items_before_fd(&c->q, 0, WRITE_BATCH), 0);
                req->data = c;
                c->inflight_items = n;
                c->writing = true;
                int r = uv_write(req, (uv_stream_t *)&c->h.pipe, (const uv_buf_t *)iov, (unsigned)n, on_write);
                if (r < 0) {
                        free(req);
                        c->writing = false;
                        conn_close(c, uv_strerror(r));
                }
                return;
        }
}

static void seq_flush(struct conn *c)
{
        struct mmsghdr mm[SEND_BATCH];
        struct iovec iov[SEND_BATCH];
        union {
                struct cmsghdr h;
                char space[CMSG_SPACE(sizeof(int))];
        } ctl[SEND_BATCH];

        while (c->q.count > 0) {
                size_t n = outq_iov(&c->q, 0, iov, SEND_BATCH, 1), bytes = 0;
                memset(mm, 0, sizeof(struct mmsghdr) * n);
                for (size_t i = 0; i < n; i++) {
                        mm[i].msg_hdr.msg_iov = &iov[i];
                        mm[i].msg_hdr.msg_iovlen = 1;
                        int pass = outq_fd_at(&c->q, i);
                        if (pass < 0)
                                continue;
                        /* a descriptor passed with this packet; the queue closes ours once sent */
                        memset(&ctl[i], 0, sizeof(ctl[i])); /* the padding after the fd is sent too */
                        mm[i].msg_hdr.msg_control = ctl[i].space;
                        mm[i].msg_hdr.msg_controllen = sizeof(ctl[i].space);
                        struct cmsghdr *cm = CMSG_FIRSTHDR(&mm[i].msg_hdr);
                        cm->cmsg_level = SOL_SOCKET;
                        cm->cmsg_type = SCM_RIGHTS;
                        cm->cmsg_len = CMSG_LEN(sizeof(int));
                        memcpy(CMSG_DATA(cm), &pass, sizeof(int));
                }
                int sent = sendmmsg(c->fd, mm, (unsigned)n, MSG_DONTWAIT | MSG_NOSIGNAL);
                if (sent < 0 && errno == ETOOMANYREFS && outq_fd_at(&c->q, 0) >= 0) {
                        refuse_fd(c, 0); /* the first packet was not sent: its fallback goes instead */
                        continue;
                }
                if (sent < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                break;
                        conn_close(c, strerror(errno));
                        return;
                }
                size_t held = c->q.nfds;
                outq_consume_items(&c->q, (size_t)sent, &bytes);
                router_peer_fds_gone(c->set->env.router, &c->peer, held - c->q.nfds);
                wrote(c, bytes, (size_t)sent);
                if (c->closing || (size_t)sent < n)
                        break;
        }
        if (c->closing)
                return;
        int want = (c->paused || c->draining ? 0 : UV_READABLE) | (c->q.count ? UV_WRITABLE : 0);
        if (want != c->poll_events) {
                c->poll_events = want;
                start_reading(c);
        }
}

/* Writes without resuming input: safe to call from inside the router. */
static void write_now(struct conn *c)
{
        if (c->seqpacket)
                seq_flush(c);
        else
                stream_flush(c);
}

static void peer_flush(struct peer *p)
{
        struct conn *c = CONN(p);

        if (!c->closing && !c->killed)
                write_now(c);
}

static void conn_flush(struct conn *c)
{
        if (c->closing)
                return;
        if (c->killed) {
                conn_close(c, "stuck: its queue stayed full past the stall timeout");
                return;
        }
        write_now(c);
        if (c->closing)
                return;
        if (c->resume_pending) {
                c->resume_pending = false;
                if (c->paused && !c->draining)
                        resume_reading(c);
                if (c->closing)
                        return;
        }
        outq_shrink(&c->q);
        if (c->draining && c->q.count == 0 && !c->writing)
                conn_close(c, "closed after its last messages were written");
}

/* ---- setup ------------------------------------------------------------------ */

static void on_poll(uv_poll_t *h, int status, int events)
{
        struct conn *c = h->data;

        if (status < 0) {
                conn_close(c, uv_strerror(status));
                return;
        }
        if (events & UV_WRITABLE)
                conn_flush(c);
        if ((events & UV_READABLE) && !c->closing && !c->paused && !c->draining)
                seq_read(c);
}

static void start_reading(struct conn *c)
{
        if (c->seqpacket) {
                if (!c->paused && !c->draining)
                        c->poll_events |= UV_READABLE;
                uv_poll_start(&c->h.poll, c->poll_events, on_poll);
        } else {
                uv_read_start((uv_stream_t *)&c->h.pipe, on_alloc, on_read);
        }
}

/* The pidfd is not taken at connect: the kernel keeps the peer's pid from
 * connect time, so it is asked for when a client wants it, and idle
 * connections do not cost a second descriptor each. */
static int conn_pidfd(struct conn *c)
{
        int fd = conn_socket(c);

        return fd < 0 ? -EBADF : unixsock_pidfd(fd);
}

/* Registers the peer with its kernel credentials. */
static int setup(struct conn *c, int fd, const char *transport, size_t max_message)
{
        struct conn_set *set = c->set;
        struct ucred cred = { 0 };
        socklen_t len = sizeof(cred);

        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                return -errno;
        unixsock_groups(fd, &c->groups, &c->ngroups);
        outq_init(&c->q);
        list_init(&c->dirty_link);
        list_init(&c->drain_link);
        list_init(&c->handshake_link);
        const struct peer_cred pc = { cred.uid, cred.gid, cred.pid, c->groups, c->ngroups };
        char why[400];
        int r = router_peer_admit(set->env.router, &c->peer, &conn_ops, transport, &pc, max_message,
                                  max_message + BUS_RELAY_OVERHEAD, why, sizeof(why));
        if (r == -EACCES || r == -EUSERS) {
                /* refused by the policy or a quota of its uid: say why and hang up */
                char text[480];
                snprintf(text, sizeof(text), "%s; closing the connection", why);
                refuse(set, fd, c->seqpacket, r == -EACCES ? ERRCODE_DENIED : ERRCODE_LIMIT, text);
        }
        if (r < 0)
                return r;
        /* the server asked conn_set_handshake_room() before accepting it */
        list_append(&set->conns, &c->link);
        set->nconns++;
        c->in_handshake = true;
        c->accepted_ms = uv_now(set->env.loop);
        list_append(&set->handshakes, &c->handshake_link);
        set->nhandshakes++;
        if (set->env.opt->verbose)
                set->env.log(set->env.log_ud, "%s connected over %s (pid %d, uid %u, gid %u)", c->peer.unique,
                             transport, (int)cred.pid, (unsigned)cred.uid, (unsigned)cred.gid);
        return 0;
}

/* Over the connection limit: tell the client why and hang up. */
static bool over_limit(struct conn_set *set, int fd, bool seqpacket)
{
        if (set->nconns < set->env.opt->max_connections)
                return false;
        refuse(set, fd, seqpacket, ERRCODE_LIMIT, "too many connections (max_connections); closing the connection");
        set->env.log(set->env.log_ud, "refused a connection: too many connections (max_connections)");
        return true;
}

static void on_closed_early(uv_handle_t *h)
{
        struct conn *c = h->data;

        free(c->groups);
        free(c);
}

int conn_new_stream(struct conn_set *set, uv_pipe_t *listener)
{
        struct conn *c = calloc(1, sizeof(*c));
        uv_os_fd_t fd;
        int r;

        if (!c)
                return -ENOMEM;
        c->set = set;
        frame_init(&c->frame, BUS_MAX_HELLO_MESSAGE); /* until hello */
        uv_pipe_init(set->env.loop, &c->h.pipe, 0);
        c->h.pipe.data = c;
        r = uv_accept((uv_stream_t *)listener, (uv_stream_t *)&c->h.pipe);
        if (r == 0)
                r = uv_fileno((uv_handle_t *)&c->h.pipe, &fd);
        if (r == 0 && over_limit(set, fd, false))
                r = -EMFILE;
        if (r == 0)
                r = setup(c, fd, "stream", BUS_MAX_MESSAGE_STREAM);
        if (r < 0) {
                uv_close((uv_handle_t *)&c->h.pipe, on_closed_early);
                return r;
        }
        uv_read_start((uv_stream_t *)&c->h.pipe, on_alloc, on_read);
        return 0;
}

int conn_new_seqpacket(struct conn_set *set, int fd, size_t max_message)
{
        struct conn *c;
        int r;

        if (over_limit(set, fd, true)) {
                close(fd);
                return -EMFILE;
        }
        c = calloc(1, sizeof(*c));
        if (!c) {
                close(fd);
                return -ENOMEM;
        }
        c->set = set;
        c->fd = fd;
        c->seqpacket = true;
        frame_init(&c->frame, 0);
        r = uv_poll_init(set->env.loop, &c->h.poll, fd);
        if (r < 0) {
                close(fd);
                free(c);
                return r;
        }
        c->h.poll.data = c;
        r = setup(c, fd, "seqpacket", max_message);
        if (r < 0) {
                c->closing = true;
                uv_close((uv_handle_t *)&c->h.poll, on_closed);
                return r;
        }
        c->poll_events = UV_READABLE;
        uv_poll_start(&c->h.poll, c->poll_events, on_poll);
        return 0;
}
