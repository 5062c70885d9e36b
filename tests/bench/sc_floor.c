/* sc_floor.c: the floor, the same machine with no bus logic.
 *   pingpong: two processes bounce a message over a socketpair;
 *   relay:    a third process forwards bytes (stream) or packets (seqpacket,
 *             recvmmsg/sendmmsg batches like busd) between two socketpairs,
 *             like a bus without logic: round trips through it, and one-way
 *             throughput of small lines (the size of a publish) through it.
 * The messages are the text a libbus caller/publisher would send, so the
 * floor moves the same bytes as the bus scenarios. The relay's own CPU time
 * per forwarded message goes in the "busd us" column: the floor of that too. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"

#define RELAY_BATCH 64
#define RELAY_SLOT 65536
#define LINE_BATCH 256 /* packets per sendmmsg, as libbus */
#define CHUNK (64 * 1024)

struct sock_role {
        int fd;
        int all[4]; /* every socket of the scenario: the child closes the others */
        int nall;
        int fd2; /* relay: the second socket */
        bool seq;
        const char *msg;
        size_t len;
        uint64_t n, warm;
};

static void close_others(const struct sock_role *r)
{
        for (int i = 0; i < r->nall; i++)
                if (r->all[i] != r->fd && r->all[i] != r->fd2)
                        close(r->all[i]);
}

/* Sends msg and waits until the same number of bytes came back. */
static int round_trip(const struct sock_role *r, char *buf, size_t cap)
{
        if (r->seq) {
                if (send(r->fd, r->msg, r->len, MSG_NOSIGNAL) != (ssize_t)r->len)
                        return -errno;
                ssize_t got = recv(r->fd, buf, cap, 0);
                return got == (ssize_t)r->len ? 0 : got < 0 ? -errno : -EPROTO;
        }
        int e = write_all(r->fd, r->msg, r->len);
        return e < 0 ? e : read_all(r->fd, buf, r->len);
}

static int kid_pinger(const struct kid_io *io, void *arg)
{
        struct sock_role *r = arg;
        size_t cap = r->len + 1;
        char *buf = malloc(cap);
        uint64_t *lat = malloc(sizeof(uint64_t) * r->n);
        struct result res = { .kind = KID_RESULT };
        int e = 0;

        close_others(r);
        if (!buf || !lat)
                return io_fail(io, -ENOMEM, "pinger: out of memory");
        for (uint64_t i = 0; i < r->warm && e == 0; i++)
                e = round_trip(r, buf, cap);
        if (e < 0)
                return io_fail(io, e, "pinger: warm-up: %s", strerror(-e));
        io_ready(io);
        if (io_wait(io) <= 0)
                return 1;
        res.t_start = now_ns();
        for (uint64_t i = 0; i < r->n; i++) {
                uint64_t t = now_ns();
                if ((e = round_trip(r, buf, cap)) < 0)
                        return io_fail(io, e, "pinger: round trip %llu: %s", (unsigned long long)i, strerror(-e));
                lat[i] = now_ns() - t;
        }
        res.t_end = now_ns();
        res.count = r->n;
        percentiles(lat, r->n, &res.p50_ns, &res.p99_ns);
        io_send(io, &res);
        io_wait(io); /* keep the relay alive until its CPU time is read */
        return 0;
}

static int kid_echo(const struct kid_io *io, void *arg)
{
        struct sock_role *r = arg;
        char *buf = malloc(CHUNK);

        close_others(r);
        if (!buf)
                return io_fail(io, -ENOMEM, "echo: out of memory");
        io_ready(io);
        for (;;) {
                ssize_t got = read(r->fd, buf, CHUNK);
                if (got < 0 && errno == EINTR)
                        continue;
                if (got <= 0)
                        return 0;
                if (r->seq ? send(r->fd, buf, (size_t)got, MSG_NOSIGNAL) != got
                           : write_all(r->fd, buf, (size_t)got) < 0)
                        return 0;
        }
}

/* Forwards one batch from `from` to `to`; returns > 0, 0 on EOF, < 0 error. */
static int relay_seq(int from, int to, struct mmsghdr *mm, struct iovec *iov, char *slots)
{
        for (int i = 0; i < RELAY_BATCH; i++) {
                iov[i].iov_base = slots + (size_t)i * RELAY_SLOT;
                iov[i].iov_len = RELAY_SLOT;
                memset(&mm[i].msg_hdr, 0, sizeof(mm[i].msg_hdr));
                mm[i].msg_hdr.msg_iov = &iov[i];
                mm[i].msg_hdr.msg_iovlen = 1;
        }
        int n = recvmmsg(from, mm, RELAY_BATCH, MSG_DONTWAIT, NULL);
        if (n < 0)
                return errno == EAGAIN || errno == EINTR ? 1 : -errno;
        for (int i = 0; i < n; i++) {
                if (mm[i].msg_len == 0)
                        return 0;
                iov[i].iov_len = mm[i].msg_len;
        }
        for (int done = 0; done < n;) {
                int s = sendmmsg(to, mm + done, (unsigned)(n - done), MSG_NOSIGNAL);
                if (s < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                done += s;
        }
        return 1;
}

static int relay_stream(int from, int to, char *buf)
{
        ssize_t got = read(from, buf, CHUNK);

        if (got < 0)
                return errno == EAGAIN || errno == EINTR ? 1 : -errno;
        if (got == 0)
                return 0;
        return write_all(to, buf, (size_t)got) < 0 ? -EPIPE : 1;
}

static int kid_relay(const struct kid_io *io, void *arg)
{
        struct sock_role *r = arg;
        struct mmsghdr mm[RELAY_BATCH];
        struct iovec iov[RELAY_BATCH];
        char *slots = malloc(r->seq ? (size_t)RELAY_BATCH * RELAY_SLOT : CHUNK);

        close_others(r);
        if (!slots)
                return io_fail(io, -ENOMEM, "relay: out of memory");
        io_ready(io);
        for (;;) {
                struct pollfd p[2] = { { .fd = r->fd, .events = POLLIN }, { .fd = r->fd2, .events = POLLIN } };
                if (poll(p, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return 1;
                }
                for (int i = 0; i < 2; i++) {
                        if (!p[i].revents)
                                continue;
                        int from = p[i].fd, to = p[1 - i].fd;
                        int e = r->seq ? relay_seq(from, to, mm, iov, slots) : relay_stream(from, to, slots);
                        if (e <= 0)
                                return 0;
                }
        }
}

static int kid_line_writer(const struct kid_io *io, void *arg)
{
        struct sock_role *r = arg;
        struct result res = { .kind = KID_RESULT };
        size_t per = r->seq ? LINE_BATCH : (CHUNK / r->len ? CHUNK / r->len : 1);
        char *batch = r->seq ? NULL : malloc(per * r->len);
        struct mmsghdr mm[LINE_BATCH];
        struct iovec iov = { .iov_base = (void *)r->msg, .iov_len = r->len };

        close_others(r);
        if (!r->seq && !batch)
                return io_fail(io, -ENOMEM, "writer: out of memory");
        for (size_t i = 0; batch && i < per; i++)
                memcpy(batch + i * r->len, r->msg, r->len);
        memset(mm, 0, sizeof(mm));
        for (int i = 0; i < LINE_BATCH; i++) {
                mm[i].msg_hdr.msg_iov = &iov;
                mm[i].msg_hdr.msg_iovlen = 1;
        }
        io_ready(io);
        if (io_wait(io) <= 0)
                return 1;
        res.t_start = now_ns();
        for (uint64_t sent = 0; sent < r->n;) {
                size_t k = r->n - sent < per ? (size_t)(r->n - sent) : per;
                if (r->seq) {
                        int s = sendmmsg(r->fd, mm, (unsigned)k, MSG_NOSIGNAL);
                        if (s < 0 && errno == EINTR)
                                continue;
                        if (s < 0)
                                return io_fail(io, -errno, "writer: sendmmsg: %s", strerror(errno));
                        sent += (uint64_t)s;
                } else {
                        int e = write_all(r->fd, batch, k * r->len);
                        if (e < 0)
                                return io_fail(io, e, "writer: %s", strerror(-e));
                        sent += k;
                }
        }
        res.t_end = now_ns();
        res.count = r->n;
        io_send(io, &res);
        io_wait(io); /* keep the relay alive until its CPU time is read */
        return 0;
}

static int kid_line_counter(const struct kid_io *io, void *arg)
{
        struct sock_role *r = arg;
        struct result res = { .kind = KID_RESULT };
        struct mmsghdr mm[RELAY_BATCH];
        struct iovec iov[RELAY_BATCH];
        size_t slot = r->len + 1;
        char *buf = malloc(r->seq ? slot * RELAY_BATCH : CHUNK);
        uint64_t got = 0;

        close_others(r);
        if (!buf)
                return io_fail(io, -ENOMEM, "counter: out of memory");
        io_ready(io);
        while (got < r->n) {
                if (r->seq) {
                        for (int i = 0; i < RELAY_BATCH; i++) {
                                iov[i].iov_base = buf + (size_t)i * slot;
                                iov[i].iov_len = slot;
                                memset(&mm[i].msg_hdr, 0, sizeof(mm[i].msg_hdr));
                                mm[i].msg_hdr.msg_iov = &iov[i];
                                mm[i].msg_hdr.msg_iovlen = 1;
                        }
                        int n = recvmmsg(r->fd, mm, RELAY_BATCH, MSG_WAITFORONE, NULL);
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n <= 0)
                                return io_fail(io, -EPIPE, "counter: connection ended after %llu lines",
                                               (unsigned long long)got);
                        got += (uint64_t)n;
                } else {
                        ssize_t n = read(r->fd, buf, CHUNK);
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n <= 0)
                                return io_fail(io, -EPIPE, "counter: connection ended after %llu lines",
                                               (unsigned long long)got);
                        for (char *p = buf, *end = buf + n; (p = memchr(p, '\n', (size_t)(end - p))); p++)
                                got++;
                }
        }
        res.t_end = now_ns();
        res.count = got;
        io_send(io, &res);
        return 0;
}

/* Runs kids already spawned: waits until all are ready, starts `starter`,
 * collects the results of the kids in `wait` (indexes), fails the row on
 * any problem. Returns 0 or -1. */
static int run_kids(struct kids *ks, struct row *row, int starter, const int *wait, int nwait, struct result *ret,
                    uint64_t *ret_relay_cpu_ns)
{
        uint64_t cpu0 = 0, cpu1 = 0;
        char err[256];

        for (size_t i = 0; i < ks->n; i++)
                if (kid_wait_ready(&ks->k[i], err, sizeof(err)) < 0) {
                        snprintf(row->note, sizeof(row->note), "%s", err);
                        return -1;
                }
        if (ret_relay_cpu_ns)
                proc_cpu_ns(ks->k[0].pid, &cpu0);
        kid_go(&ks->k[starter]);
        for (int i = 0; i < nwait; i++) {
                struct kid *k = &ks->k[wait[i]];
                int e = kid_read(k, &ret[i], 600000);
                if (e < 0 || ret[i].error) {
                        snprintf(row->note, sizeof(row->note), "%s: %s", k->role,
                                 e == -ETIMEDOUT ? "no result after 600 s (hang)"
                                 : e < 0         ? "died"
                                                 : ret[i].what);
                        return -1;
                }
        }
        if (ret_relay_cpu_ns) {
                proc_cpu_ns(ks->k[0].pid, &cpu1);
                *ret_relay_cpu_ns = cpu1 - cpu0;
        }
        return 0;
}

static int pair(enum transport t, int sv[2])
{
        return socketpair(AF_UNIX, (t == T_SEQPACKET ? SOCK_SEQPACKET : SOCK_STREAM) | SOCK_CLOEXEC, 0, sv) < 0
                       ? -errno
                       : 0;
}

static void set_rtt_row(struct row *row, const struct result *res, uint64_t n)
{
        double secs = (double)(res->t_end - res->t_start) / 1e9;

        row->count = n;
        row->value = secs > 0 ? (double)n / secs : 0;
        row->unit = "round trips/s";
        row->p50_us = (double)res->p50_ns / 1e3;
        row->p99_us = (double)res->p99_ns / 1e3;
}

void sc_pingpong(struct bench *b, enum transport t)
{
        struct row *row = report_add(&b->rep, "pingpong", t);
        uint64_t n = bench_count(b, SC_PINGPONG);
        struct kids ks;
        struct result res;
        int sv[2];
        size_t len;
        char *msg = sample_call_line(b->opt.payload, t == T_STREAM, &len);

        if (!row)
                return;
        if (!msg || pair(t, sv) < 0) {
                row->failed = true;
                snprintf(row->note, sizeof(row->note), "socketpair: %s", strerror(errno));
                free(msg);
                return;
        }
        struct sock_role ping = {
                .fd = sv[0],
                .fd2 = -1,
                .all = { sv[0], sv[1] },
                .nall = 2,
                .seq = t == T_SEQPACKET,
                .msg = msg,
                .len = len,
                .n = n,
                .warm = n / 10 < 1000 ? n / 10 : 1000
        };
        struct sock_role echo = ping;
        echo.fd = sv[1];
        kids_init(&ks);
        int e = kids_spawn(&ks, "echo", kid_echo, &echo);
        int p = e >= 0 ? kids_spawn(&ks, "pinger", kid_pinger, &ping) : e;
        close(sv[0]);
        close(sv[1]);
        int wait[] = { p };
        if (p < 0 || run_kids(&ks, row, p, wait, 1, &res, NULL) < 0)
                row->failed = true;
        else
                set_rtt_row(row, &res, n);
        kids_finish(&ks);
        free(msg);
}

/* Relay round trips (lines == false) or one-way lines (lines == true). */
static void relay_run(struct bench *b, enum transport t, bool lines)
{
        struct row *row = report_add(&b->rep, lines ? "relay-lines" : "relay-rtt", t);
        uint64_t n = bench_count(b, lines ? SC_PUBSUB : SC_RELAY);
        struct kids ks;
        struct result res[2];
        uint64_t relay_ns = 0;
        int a[2], c[2];
        size_t len;
        char *msg = lines ? sample_publish_line(b->opt.payload, t == T_STREAM, &len)
                          : sample_call_line(b->opt.payload, t == T_STREAM, &len);

        if (!row)
                return;
        if (!msg || pair(t, a) < 0) {
                row->failed = true;
                free(msg);
                return;
        }
        if (pair(t, c) < 0) {
                row->failed = true;
                close(a[0]);
                close(a[1]);
                free(msg);
                return;
        }
        struct sock_role base = {
                .fd2 = -1,
                .all = { a[0], a[1], c[0], c[1] },
                .nall = 4,
                .seq = t == T_SEQPACKET,
                .msg = msg,
                .len = len,
                .n = n,
                .warm = n / 10 < 1000 ? n / 10 : 1000
        };
        struct sock_role ra = base, rr = base, rb = base;
        ra.fd = a[0];
        rr.fd = a[1];
        rr.fd2 = c[0];
        rb.fd = c[1];
        kids_init(&ks);
        int e = kids_spawn(&ks, "relay", kid_relay, &rr);
        int ib = e >= 0 ? kids_spawn(&ks, lines ? "counter" : "echo", lines ? kid_line_counter : kid_echo, &rb) : e;
        int ia = ib >= 0 ? kids_spawn(&ks, lines ? "writer" : "pinger", lines ? kid_line_writer : kid_pinger, &ra) : ib;
        for (int i = 0; i < 2; i++) {
                close(a[i]);
                close(c[i]);
        }
        if (ia < 0) {
                row->failed = true;
        } else if (lines) {
                int wait[] = { ia, ib };
                if (run_kids(&ks, row, ia, wait, 2, res, &relay_ns) < 0) {
                        row->failed = true;
                } else {
                        double secs = (double)(res[1].t_end - res[0].t_start) / 1e9;
                        row->count = n;
                        row->value = secs > 0 ? (double)res[1].count / secs : 0;
                        row->unit = "lines/s";
                        row->daemon_us = (double)relay_ns / 1e3 / (double)n;
                }
        } else {
                int wait[] = { ia };
                if (run_kids(&ks, row, ia, wait, 1, res, &relay_ns) < 0) {
                        row->failed = true;
                } else {
                        set_rtt_row(row, &res[0], n);
                        row->daemon_us = (double)relay_ns / 1e3 / (double)(2 * n);
                }
        }
        kids_finish(&ks);
        free(msg);
}

void sc_relay(struct bench *b, enum transport t)
{
        relay_run(b, t, false);
        relay_run(b, t, true);
}
