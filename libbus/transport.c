/* transport.c: the socket of a connection. Connects, queues output and
 * writes it in batches (one send() per flush on stream, sendmmsg() batches on
 * seqpacket), reads and frames input (proto/frame.h on stream, one message
 * per packet on seqpacket, up to SEQ_SLOTS packets per recvmmsg()). Bytes
 * only: no JSON, no policy about when to flush. Never blocks: every send/recv
 * uses MSG_DONTWAIT, so the fd's own O_NONBLOCK flag does not matter.
 */
#include "bus-internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

/* Size of one read on stream. */
#define STREAM_CHUNK (64u * 1024u)
/* Seqpacket: receive slots of in_cap bytes each in t->in, filled by one
 * recvmmsg(). Fewer packets than slots means the socket is empty: a reply is
 * one system call, not a recvmsg() and a second one that says EAGAIN. Pages of
 * a slot are touched only as far as the packets that land in it. */
#define SEQ_SLOTS 4

int transport_connect(const struct address *a, bool nonblock, int timeout_ms, int *ret_fd)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd, r;

        fd = socket(AF_UNIX,
                    (a->seqpacket ? SOCK_SEQPACKET : SOCK_STREAM) | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
        if (fd < 0)
                return -errno;
        /* AF_UNIX connect() waits for room in a full backlog at most the
         * send timeout, then fails with EAGAIN */
        struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };
        if (!nonblock && timeout_ms > 0 && setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
                r = -errno;
                close(fd);
                return r;
        }
        memcpy(sa.sun_path, a->path, strlen(a->path) + 1);
        do
                r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
        while (r < 0 && errno == EINTR);
        if (r < 0 && errno != EISCONN) {
                r = !nonblock && timeout_ms > 0 && errno == EAGAIN ? -ETIMEDOUT : -errno;
                close(fd);
                return r;
        }
        if (!nonblock && timeout_ms > 0) {
                tv = (struct timeval){ 0 }; /* sends never block anyway (MSG_DONTWAIT) */
                setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        }
        *ret_fd = fd;
        return 0;
}

static size_t default_max_recv(bool seqpacket)
{
        return (seqpacket ? BUS_MAX_MESSAGE_SEQPACKET : BUS_MAX_MESSAGE_STREAM) + BUS_RELAY_OVERHEAD;
}

int transport_init(struct transport *t, int fd)
{
        int type;
        socklen_t len = sizeof(type);

        if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
                return -errno;
        if (type != SOCK_STREAM && type != SOCK_SEQPACKET)
                return -EPROTOTYPE;
        memset(t, 0, sizeof(*t));
        t->fd = fd;
        t->seqpacket = type == SOCK_SEQPACKET;
        t->max_recv = default_max_recv(t->seqpacket);
        t->in_cap = t->seqpacket ? t->max_recv + 1 : STREAM_CHUNK;
        t->in = malloc(t->seqpacket ? t->in_cap * SEQ_SLOTS : t->in_cap);
        t->out = buf_new(4096);
        if (!t->in || !t->out) {
                free(t->in);
                buf_unref(t->out);
                return -ENOMEM;
        }
        frame_init(&t->frame, t->max_recv);
        return 0;
}

static void drop_fds(struct transport *t)
{
        for (size_t i = 0; i < t->rfd_n; i++)
                close(t->rfds[i]);
        t->rfd_n = 0;
        t->rfd_count = 0;
}

/* Keeps the descriptors a received message carried (SCM_RIGHTS). */
static void collect_fds(struct transport *t, struct msghdr *mh)
{
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
                if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
                        continue;
                size_t n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (size_t i = 0; i < n; i++) {
                        int fd;
                        memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
                        if (t->rfd_n == sizeof(t->rfds) / sizeof(t->rfds[0])) {
                                /* nobody asked for the oldest: make room */
                                close(t->rfds[0]);
                                memmove(t->rfds, t->rfds + 1, (t->rfd_n - 1) * sizeof(int));
                                memmove(t->rfd_ord, t->rfd_ord + 1, (t->rfd_n - 1) * sizeof(uint64_t));
                                t->rfd_n--;
                        }
                        t->rfds[t->rfd_n] = fd;
                        t->rfd_ord[t->rfd_n] = ++t->rfd_count;
                        t->rfd_n++;
                }
        }
}

int transport_take_fd(struct transport *t, uint64_t ordinal)
{
        while (t->rfd_n > 0 && t->rfd_ord[0] <= ordinal) {
                int fd = t->rfds[0];
                bool match = t->rfd_ord[0] == ordinal;
                memmove(t->rfds, t->rfds + 1, (t->rfd_n - 1) * sizeof(int));
                memmove(t->rfd_ord, t->rfd_ord + 1, (t->rfd_n - 1) * sizeof(uint64_t));
                t->rfd_n--;
                if (match)
                        return fd;
                close(fd); /* an answer we gave up on carried it */
        }
        return -1;
}

void transport_deinit(struct transport *t)
{
        drop_fds(t);
        if (t->fd >= 0)
                close(t->fd);
        t->fd = -1;
        buf_unref(t->out);
        t->out = NULL;
        free(t->pkts);
        t->pkts = NULL;
        free(t->in);
        t->in = NULL;
        frame_deinit(&t->frame);
}

int transport_reset(struct transport *t, int fd)
{
        drop_fds(t); /* ordinals count per connection */
        if (t->fd >= 0)
                close(t->fd);
        t->fd = fd;
        t->out->len = 0;
        t->out_head = 0;
        t->pkt_head = t->pkt_n = 0;
        t->drained = false;
        frame_deinit(&t->frame);
        frame_init(&t->frame, t->max_recv);
        return transport_set_max_recv(t, default_max_recv(t->seqpacket));
}

int transport_set_max_recv(struct transport *t, size_t max_recv)
{
        if (t->seqpacket && max_recv + 1 != t->in_cap) {
                /* inside read_seqpacket() (a welcome on reconnecting), t->in
                 * is NULL: the packets of the batch stay where they are */
                char *in = malloc((max_recv + 1) * SEQ_SLOTS);
                if (!in)
                        return -ENOMEM;
                free(t->in);
                t->in = in;
                t->in_cap = max_recv + 1;
        }
        t->max_recv = max_recv;
        t->frame.max = max_recv;
        return 0;
}

size_t transport_queued(const struct transport *t)
{
        return t->out->len - t->out_head;
}

/* Moves unwritten output to the front once the written part dominates. Only
 * between messages: marks are offsets into out. */
static void compact(struct transport *t)
{
        size_t left = transport_queued(t);

        if (t->out_head > 0 && t->out_head >= left) {
                memmove(t->out->data, t->out->data + t->out_head, left);
                t->out->len = left;
                t->out_head = 0;
        }
        if (t->pkt_head > 0 && t->pkt_head >= t->pkt_n - t->pkt_head) {
                memmove(t->pkts, t->pkts + t->pkt_head, (t->pkt_n - t->pkt_head) * sizeof(*t->pkts));
                t->pkt_n -= t->pkt_head;
                t->pkt_head = 0;
        }
}

size_t transport_begin(struct transport *t)
{
        compact(t);
        return t->out->len;
}

int transport_append(struct transport *t, const void *p, size_t n)
{
        return buf_append(&t->out, p, n);
}

void transport_abort(struct transport *t, size_t mark)
{
        if (mark <= t->out->len)
                t->out->len = mark;
}

int transport_commit(struct transport *t, size_t mark)
{
        if (!t->seqpacket) {
                if (buf_append(&t->out, "\n", 1) < 0) {
                        transport_abort(t, mark);
                        return -ENOMEM;
                }
                return 0;
        }
        if (t->pkt_n == t->pkt_cap) {
                size_t cap = t->pkt_cap ? t->pkt_cap * 2 : 64;
                size_t *p = realloc(t->pkts, cap * sizeof(*p));
                if (!p) {
                        transport_abort(t, mark);
                        return -ENOMEM;
                }
                t->pkts = p;
                t->pkt_cap = cap;
        }
        t->pkts[t->pkt_n++] = t->out->len - mark;
        return 0;
}

static int send_error(int e)
{
        return e == EPIPE || e == ECONNRESET || e == ENOTCONN ? -ECONNRESET : -e;
}

static void consumed(struct transport *t)
{
        if (t->out_head == t->out->len) {
                t->out_head = 0;
                t->out->len = 0;
                t->pkt_head = t->pkt_n = 0;
        }
}

static ssize_t flush_stream(struct transport *t)
{
        size_t n = transport_queued(t);
        ssize_t w;

        if (n == 0)
                return 0;
        do {
                t->writes++;
                w = send(t->fd, t->out->data + t->out_head, n, MSG_DONTWAIT | MSG_NOSIGNAL);
        } while (w < 0 && errno == EINTR);
        if (w < 0)
                return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : send_error(errno);
        t->out_head += (size_t)w;
        consumed(t);
        return w;
}

static ssize_t flush_seqpacket(struct transport *t)
{
        struct mmsghdr mm[BUS_SENDMMSG_BATCH];
        struct iovec iov[BUS_SENDMMSG_BATCH];
        ssize_t total = 0;

        while (t->pkt_head < t->pkt_n) {
                unsigned k = 0;
                size_t off = t->out_head;

                /* only the headers used: the whole array is 16 KiB, mostly
                 * for one packet (a call) */
                for (; k < BUS_SENDMMSG_BATCH && t->pkt_head + k < t->pkt_n; k++) {
                        iov[k].iov_base = t->out->data + off;
                        iov[k].iov_len = t->pkts[t->pkt_head + k];
                        off += iov[k].iov_len;
                        mm[k] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[k], .msg_iovlen = 1 } };
                }
                t->writes++;
                int r = sendmmsg(t->fd, mm, k, MSG_DONTWAIT | MSG_NOSIGNAL);
                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN || errno == EWOULDBLOCK)
                                break;
                        return send_error(errno);
                }
                for (int i = 0; i < r; i++) {
                        t->out_head += iov[i].iov_len;
                        total += (ssize_t)iov[i].iov_len;
                }
                t->pkt_head += (size_t)r;
                consumed(t);
                if ((unsigned)r < k)
                        break;
        }
        return total;
}

ssize_t transport_flush(struct transport *t)
{
        return t->seqpacket ? flush_seqpacket(t) : flush_stream(t);
}

struct feed {
        transport_msg_fn fn;
        void *userdata;
        int error;
};

static int on_line(const char *line, size_t len, void *userdata)
{
        struct feed *f = userdata;

        f->error = f->fn(line, len, f->userdata);
        return f->error < 0; /* pause: the connection is over anyway */
}

/* One recvmsg() into t->in, taking the descriptors that come with it. Returns
 * its result (errno set when negative); *ret_flags gets msg_flags. */
static ssize_t recv_in(struct transport *t, int *ret_flags)
{
        union {
                struct cmsghdr h;
                char space[CMSG_SPACE(4 * sizeof(int))];
        } ctl;
        struct iovec iov = { t->in, t->in_cap };
        struct msghdr mh = {
                .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.space, .msg_controllen = sizeof(ctl.space)
        };
        ssize_t n = recvmsg(t->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

        if (n > 0)
                collect_fds(t, &mh);
        *ret_flags = mh.msg_flags;
        return n;
}

static ssize_t read_stream(struct transport *t, size_t budget, transport_msg_fn fn, void *userdata)
{
        struct feed f = { fn, userdata, 0 };
        size_t total = 0;

        while (total < budget) {
                int flags = 0;
                ssize_t n = recv_in(t, &flags);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN || errno == EWOULDBLOCK) {
                                t->drained = true;
                                break;
                        }
                        return send_error(errno);
                }
                if (n == 0)
                        return -ECONNRESET;
                total += (size_t)n;
                int r = frame_feed(&t->frame, t->in, (size_t)n, on_line, &f);
                if (f.error < 0)
                        return f.error;
                if (r == FRAME_TOO_LARGE)
                        return -EMSGSIZE;
                if (r < 0)
                        return r;
                if ((size_t)n < t->in_cap) {
                        /* a short read took all there was: asking again would only say EAGAIN */
                        t->drained = true;
                        break;
                }
        }
        return (ssize_t)total;
}

/* Hands the n packets of one recvmmsg() to fn, in order. The packets stay in
 * `mem`, the receive slots, which t->in does not point to meanwhile: should
 * fn change max_recv (a welcome after a reconnection), the transport gets new
 * slots and these stay valid until the batch is done. Returns the bytes
 * handed, or a negative errno as read_seqpacket(). */
static ssize_t seq_batch(struct transport *t, const struct mmsghdr *mm, int n, transport_msg_fn fn, void *userdata)
{
        ssize_t total = 0;

        for (int i = 0; i < n; i++) {
                size_t len = mm[i].msg_len;
                char *data = mm[i].msg_hdr.msg_iov->iov_base;
                if (len == 0)
                        return -ECONNRESET;
                if ((mm[i].msg_hdr.msg_flags & MSG_TRUNC) || len > t->max_recv)
                        return -EMSGSIZE;
                total += (ssize_t)len;
                if (data[len - 1] == '\n')
                        len--;
                int r = fn(data, len, userdata);
                if (r < 0)
                        return r;
        }
        return total;
}

static ssize_t read_seqpacket(struct transport *t, size_t budget, transport_msg_fn fn, void *userdata)
{
        struct mmsghdr mm[SEQ_SLOTS];
        struct iovec iov[SEQ_SLOTS];
        union {
                struct cmsghdr h;
                char space[CMSG_SPACE(4 * sizeof(int))];
        } ctl[SEQ_SLOTS];
        size_t total = 0;

        while (total < budget) {
                char *mem = t->in;
                for (int i = 0; i < SEQ_SLOTS; i++) {
                        iov[i] = (struct iovec){ mem + (size_t)i * t->in_cap, t->in_cap };
                        mm[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i],
                                                               .msg_iovlen = 1,
                                                               .msg_control = ctl[i].space,
                                                               .msg_controllen = sizeof(ctl[i].space) } };
                }
                int n = recvmmsg(t->fd, mm, SEQ_SLOTS, MSG_DONTWAIT | MSG_CMSG_CLOEXEC, NULL);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN || errno == EWOULDBLOCK) {
                                t->drained = true;
                                break;
                        }
                        return send_error(errno);
                }
                /* the descriptors of the whole batch first: none is lost if it stops early */
                for (int i = 0; i < n; i++)
                        if (mm[i].msg_len > 0)
                                collect_fds(t, &mm[i].msg_hdr);
                t->in = NULL;
                ssize_t r = seq_batch(t, mm, n, fn, userdata);
                if (t->in)
                        free(mem); /* max_recv changed: the new slots are in place */
                else
                        t->in = mem;
                if (r < 0)
                        return r;
                total += (size_t)r;
                if (n < SEQ_SLOTS) {
                        /* fewer packets than slots took all there was: asking
                         * again would only say EAGAIN */
                        t->drained = true;
                        break;
                }
        }
        return (ssize_t)total;
}

ssize_t transport_read(struct transport *t, size_t budget, transport_msg_fn fn, void *userdata)
{
        t->drained = false;
        return t->seqpacket ? read_seqpacket(t, budget, fn, userdata) : read_stream(t, budget, fn, userdata);
}
