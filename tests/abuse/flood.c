/* flood.c: the abusing connections of bus-abuse, driven by one poll() loop.
 *
 * Each connection runs batches: an optional batch of frames before hello,
 * the hello (whose welcome gives max_message), then batches of frames after
 * hello. A batch ends with a ping, the barrier: busd answers a connection's
 * messages in order, so the answers before the barrier's reply are matched
 * one by one against what each frame must get (struct expect, gen.c). A batch
 * may instead end with a frame over max_message: then the answers end with
 * too_large and the daemon closes the connection. Connections are also
 * closed by us between batches now and then, and opened again.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "abuse.h"
#include "address.h"
#include "buslimits.h"

#define MAX_CONNS 256
#define STALL_US (60u * 1000000u) /* no progress for this long: the daemon is hung */
#define SEQ_RECV (256u * 1024u)
#define FAILURES_SHOWN 100000

enum phase { PH_PRE, PH_HELLO, PH_POST };

struct aconn {
        enum transport t;
        bool silent; /* never says hello: waits to be evicted or timed out */
        int fd;
        enum phase phase;
        bool hello_done; /* as the daemon sees it once it reads this batch */
        size_t max_message;
        unsigned post_left; /* batches after hello before we close it */
        struct bytes out;
        size_t out_off;  /* stream: bytes written */
        size_t send_idx; /* seqpacket: frames sent */
        struct expect *exp;
        size_t nexp, cap_exp, next;
        bool busy;       /* a batch is in flight */
        bool fatal_sent; /* the batch ends with a frame the daemon closes on */
        bool expect_eof; /* the last answer came: only the end of the connection may follow */
        bool eof_is_eviction;
        bool want_close; /* its last batch is done: close it once its input is handled */
        uint64_t barrier_id;
        char *in;
        size_t in_len, in_cap;
        uint64_t last_progress_us;
};

struct flood {
        const struct flood_opts *o;
        struct flood_stats *st;
        struct gen g;
        struct aconn c[MAX_CONNS];
        size_t n;
        struct json_tokener *tok;
        char *seqbuf;
        bool stopping;
        unsigned shown;
};

static bool malformed(const struct expect *e)
{
        return e->answer == A_ERROR || e->answer == A_ANY || e->answer == A_FATAL;
}

static int add_expect(struct aconn *c, const struct expect *e)
{
        if (c->nexp == c->cap_exp) {
                size_t cap = c->cap_exp ? c->cap_exp * 2 : 512;
                struct expect *p = realloc(c->exp, cap * sizeof(*p));
                if (!p)
                        return -ENOMEM;
                c->exp = p;
                c->cap_exp = cap;
        }
        c->exp[c->nexp++] = *e;
        return 0;
}

/* A request of ours (hello, barrier ping) with this id: not a frame of any class. */
static int add_own(struct aconn *c, enum answer a, uint64_t id)
{
        struct expect e = { .cls = CL_COUNT, .answer = (uint8_t)a, .off = (uint32_t)c->out.len };

        if (a == A_WELCOME)
                bytes_printf(&c->out, "{\"type\":\"hello\",\"id\":%llu,\"name\":\"abuser\"}", (unsigned long long)id);
        else
                bytes_printf(&c->out, "{\"type\":\"call\",\"id\":%llu,\"dest\":\"org.busd\",\"method\":\"ping\"}",
                             (unsigned long long)id);
        if (c->t == T_STREAM)
                bytes_str(&c->out, "\n");
        e.len = (uint32_t)(c->out.len - e.off);
        return add_expect(c, &e);
}

static void show_bytes(const char *p, size_t n)
{
        size_t shown = n < 160 ? n : 160;

        for (size_t i = 0; i < shown; i++) {
                unsigned char ch = (unsigned char)p[i];
                if (ch >= 0x20 && ch < 0x7f && ch != '\\')
                        fputc(ch, stderr);
                else
                        fprintf(stderr, "\\x%02x", ch);
        }
        if (shown < n)
                fprintf(stderr, "... (%zu bytes)", n);
}

/* Writes the connection's batch, up to the frame that failed, to a file of
 * --dump-dir: replaying it on a new connection (after a hello, if the batch
 * came after one) reproduces the failure. */
static void dump(struct flood *f, struct aconn *c)
{
        char path[512];
        size_t end = c->next < c->nexp ? c->exp[c->next].off + c->exp[c->next].len : c->out.len;

        snprintf(path, sizeof(path), "%s/failure-%llu-%s-%s.bin", f->o->dump_dir, (unsigned long long)f->st->failures,
                 c->t == T_STREAM ? "stream" : "seqpacket", c->hello_done ? "after-hello" : "before-hello");
        FILE *out = fopen(path, "wb");
        if (!out)
                return;
        if (c->t == T_STREAM) {
                fwrite(c->out.p, 1, end, out);
        } else { /* packets: a 4-byte length (host order) before each */
                for (size_t i = 0; i <= c->next && i < c->nexp; i++) {
                        uint32_t len = c->exp[i].len;
                        fwrite(&len, sizeof(len), 1, out);
                        fwrite(c->out.p + c->exp[i].off, 1, len, out);
                }
        }
        fclose(out);
        fprintf(stderr, "  batch written to %s\n", path);
}

static void fail(struct flood *f, struct aconn *c, const char *what, const char *got, size_t got_len)
{
        f->st->failures++;
        if (f->o->dump_dir && f->shown < FAILURES_SHOWN)
                dump(f, c);
        if (f->shown++ >= FAILURES_SHOWN)
                return;
        const struct expect *e = c->next < c->nexp ? &c->exp[c->next] : NULL;
        fprintf(stderr, "bus-abuse: FAILURE on a %s connection (%s): %s\n", c->t == T_STREAM ? "stream" : "seqpacket",
                c->hello_done ? "after hello" : "before hello", what);
        if (e) {
                fprintf(stderr, "  frame %zu of %zu, class %s, expected %s", c->next + 1, c->nexp,
                        e->cls < CL_COUNT ? cls_name((enum cls)e->cls) : "(own request)",
                        (const char *[]){ "nothing", "error", "reply", "reply or error", "too_large and close",
                                          "welcome", "barrier reply" }[e->answer]);
                for (int k = 0; k < C_COUNT; k++)
                        if (e->codes & CODE(k))
                                fprintf(stderr, " %s", code_name((enum code)k));
                fprintf(stderr, "\n  frame: ");
                show_bytes(c->out.p + e->off, e->len);
                fputc('\n', stderr);
        }
        if (got) {
                fprintf(stderr, "  got: ");
                show_bytes(got, got_len);
                fputc('\n', stderr);
        }
}

static void conn_reset(struct aconn *c)
{
        if (c->fd >= 0)
                close(c->fd);
        c->fd = -1;
        c->busy = false;
        c->want_close = false;
        c->expect_eof = c->eof_is_eviction = false;
        c->in_len = 0;
        c->nexp = c->next = 0;
        c->out.len = 0;
}

static int conn_open(struct flood *f, struct aconn *c)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct address a;

        if (address_parse(f->o->addr[c->t], &a) < 0)
                return -EINVAL;
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", a.path);
        c->fd = socket(AF_UNIX, (c->t == T_SEQPACKET ? SOCK_SEQPACKET : SOCK_STREAM) | SOCK_CLOEXEC, 0);
        if (c->fd < 0)
                return -errno;
        if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                int e = -errno;
                close(c->fd);
                c->fd = -1;
                return e;
        }
        fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
        f->st->connects[c->t]++;
        c->hello_done = false;
        c->max_message = BUS_MAX_HELLO_MESSAGE;
        c->phase = gen_below(&f->g, 4) == 0 ? PH_PRE : PH_HELLO;
        c->post_left = 1 + (unsigned)gen_below(&f->g, 200);
        c->expect_eof = c->eof_is_eviction = false;
        return 0;
}

/* Builds the connection's next batch. */
static int start_batch(struct flood *f, struct aconn *c)
{
        bool seq = c->t == T_SEQPACKET;
        struct expect e;

        if (c->fd < 0) {
                int r = conn_open(f, c);
                if (r < 0) {
                        fprintf(stderr, "bus-abuse: connect to %s: %s\n", f->o->addr[c->t], strerror(-r));
                        return r;
                }
        }
        c->out.len = c->out_off = c->send_idx = 0;
        c->nexp = c->next = 0;
        c->fatal_sent = false;
        c->busy = true;
        c->last_progress_us = now_us();
        if (c->silent) {
                /* nothing, or part of a line: then only the daemon's limits end it */
                f->st->silent_connects++;
                if (c->t == T_STREAM && gen_below(&f->g, 2) == 0) {
                        bytes_str(&c->out, "{\"type\":\"hello\",\"name\":\"");
                        bytes_reserve(&c->out, 60000);
                        memset(c->out.p + c->out.len, 'x', 60000);
                        c->out.len += 60000;
                }
                return 0;
        }
        f->st->batches++;
        if (c->phase == PH_HELLO) {
                c->barrier_id = f->g.next_id++;
                c->phase = PH_POST;
                return add_own(c, A_WELCOME, c->barrier_id);
        }
        size_t n = c->phase == PH_PRE ? 1 + gen_below(&f->g, 64) : 1 + gen_below(&f->g, 256);
        for (size_t i = 0; i < n; i++) {
                enum cls cls = !c->hello_done && gen_below(&f->g, 4) == 0 ? CL_PREHELLO : CL_COUNT;
                if (gen_frame(&f->g, cls, seq, c->hello_done, c->max_message, &c->out, &e) < 0 || add_expect(c, &e) < 0)
                        return -ENOMEM;
        }
        if (gen_below(&f->g, c->phase == PH_PRE ? 8 : 64) == 0) {
                /* the last frame is over the limit: too_large, then closed */
                if (gen_frame(&f->g, CL_OVERSIZE, seq, c->hello_done, c->max_message, &c->out, &e) < 0 ||
                    add_expect(c, &e) < 0)
                        return -ENOMEM;
                c->fatal_sent = true;
        } else {
                c->barrier_id = f->g.next_id++;
                if (add_own(c, A_BARRIER, c->barrier_id) < 0)
                        return -ENOMEM;
        }
        if (c->phase == PH_PRE)
                c->phase = PH_HELLO;
        else if (c->post_left)
                c->post_left--;
        return 0;
}

/* ---- writing ------------------------------------------------------------------ */

static bool write_pending(const struct aconn *c)
{
        if (!c->busy || c->fd < 0 || c->expect_eof)
                return false;
        if (c->silent)
                return c->t == T_STREAM && c->out_off < c->out.len;
        return c->t == T_STREAM ? c->out_off < c->out.len : c->send_idx < c->nexp;
}

static void do_write(struct flood *f, struct aconn *c)
{
        while (write_pending(c)) {
                ssize_t n;
                if (c->t == T_STREAM) {
                        n = send(c->fd, c->out.p + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
                        if (n > 0) {
                                c->out_off += (size_t)n;
                                f->st->bytes_sent += (uint64_t)n;
                                continue;
                        }
                } else {
                        struct mmsghdr mm[64];
                        struct iovec iov[64];
                        size_t k = 0;
                        for (size_t i = c->send_idx; i < c->nexp && k < 64; i++, k++) {
                                iov[k].iov_base = c->out.p + c->exp[i].off;
                                iov[k].iov_len = c->exp[i].len;
                                memset(&mm[k], 0, sizeof(mm[k]));
                                mm[k].msg_hdr.msg_iov = &iov[k];
                                mm[k].msg_hdr.msg_iovlen = 1;
                        }
                        int sent = sendmmsg(c->fd, mm, (unsigned)k, MSG_NOSIGNAL | MSG_DONTWAIT);
                        if (sent > 0) {
                                for (int i = 0; i < sent; i++)
                                        f->st->bytes_sent += c->exp[c->send_idx + (size_t)i].len;
                                c->send_idx += (size_t)sent;
                                continue;
                        }
                        n = sent;
                }
                if (n < 0 && (errno == EAGAIN || errno == EINTR))
                        return;
                /* the daemon closed: expected only once it read our oversized frame
                 * (what it answered is still to be read) */
                if (!c->fatal_sent)
                        fail(f, c, "the daemon closed the connection while we were writing", NULL, 0);
                c->out_off = c->out.len;
                c->send_idx = c->nexp;
                return;
        }
}

/* ---- reading ---------------------------------------------------------------------- */

static void batch_done(struct flood *f, struct aconn *c)
{
        c->busy = false;
        if (c->phase == PH_POST && c->post_left == 0) {
                f->st->churn_closes++;
                c->want_close = true;
        }
}

/* Skips frames that must get no answer. */
static void skip_silent(struct flood *f, struct aconn *c)
{
        while (c->next < c->nexp && c->exp[c->next].answer == A_NONE) {
                f->st->frames[c->t][c->exp[c->next].cls]++;
                f->st->no_answer++;
                if (c->exp[c->next].cls != CL_EMPTY)
                        f->st->messages_read++; /* a cancel: read, never answered */
                c->next++;
        }
}

/* One message from the daemon; returns false when the connection must go. */
static bool on_answer(struct flood *f, struct aconn *c, const char *s, size_t len)
{
        struct json_object *m, *v;
        const char *type, *code_s = NULL;
        bool has_id = false;
        uint64_t id = 0;

        json_tokener_reset(f->tok);
        m = json_tokener_parse_ex(f->tok, s, (int)len);
        if (!m || json_tokener_get_error(f->tok) != json_tokener_success || !(type = json_str(m, "type"))) {
                json_object_put(m);
                fail(f, c, "the daemon sent something that is not a message", s, len);
                return false;
        }
        if (strcmp(type, "event") == 0 || strcmp(type, "dropped") == 0 || strcmp(type, "name_acquired") == 0 ||
            strcmp(type, "name_lost") == 0) {
                f->st->unsolicited++;
                json_object_put(m);
                return true;
        }
        bool is_error = strcmp(type, "error") == 0, is_reply = strcmp(type, "reply") == 0;
        enum code code = C_OTHER;
        if (is_error) {
                code_s = json_str(m, "code");
                code = code_parse(code_s);
        }
        if (json_object_object_get_ex(m, "id", &v) && json_object_is_type(v, json_type_int)) {
                has_id = true;
                id = (uint64_t)json_object_get_uint64(v);
        }
        skip_silent(f, c);
        if (!c->expect_eof && c->next >= c->nexp && is_error && !c->hello_done &&
            (code == C_HELLO_TIMEOUT || code == C_LIMIT)) {
                f->st->evicted++; /* a silent connection's end */
                f->st->answers[code]++;
                c->expect_eof = c->eof_is_eviction = true;
                json_object_put(m);
                return true;
        }
        if (c->expect_eof || c->next >= c->nexp) {
                json_object_put(m);
                fail(f, c,
                     c->expect_eof ? "a message after the answer that closes the connection"
                                   : "an answer nobody asked for",
                     s, len);
                return false;
        }
        const struct expect *e = &c->exp[c->next];
        bool ok = false;
        switch (e->answer) {
        case A_ERROR:
                ok = is_error && (e->codes & CODE(code));
                break;
        case A_REPLY:
                ok = is_reply;
                break;
        case A_ANY:
                ok = is_error || is_reply;
                break;
        case A_FATAL:
                ok = is_error && code == C_TOO_LARGE;
                break;
        case A_WELCOME:
                ok = strcmp(type, "welcome") == 0 && has_id && id == c->barrier_id;
                if (ok && json_object_object_get_ex(m, "limits", &v)) {
                        c->hello_done = true;
                        c->max_message = json_u64(v, "max_message");
                        ok = c->max_message >= 1024;
                }
                break;
        default: /* A_BARRIER */
                ok = has_id && id == c->barrier_id && (c->hello_done ? is_reply : is_error && code == C_HELLO_REQUIRED);
                break;
        }
        if (!ok && is_error && !c->hello_done && (code == C_HELLO_TIMEOUT || code == C_LIMIT)) {
                /* before hello the daemon may evict us (max_handshakes) or time
                 * us out (hello_timeout): an answer, then the end */
                f->st->evicted++;
                f->st->answers[code]++;
                f->st->router_errors++;
                c->expect_eof = c->eof_is_eviction = true;
                json_object_put(m);
                return true;
        }
        json_object_put(m);
        if (!ok) {
                fail(f, c, "wrong answer", s, len);
                return false;
        }
        c->last_progress_us = now_us();
        if (is_error) {
                f->st->answers[code]++;
                f->st->router_errors++;
        } else if (is_reply) {
                f->st->replies++;
        }
        if (e->answer != A_FATAL)
                f->st->messages_read++;
        if (e->cls < CL_COUNT) {
                f->st->frames[c->t][e->cls]++;
                f->st->malformed += malformed(e);
        }
        c->next++;
        if (e->answer == A_FATAL) {
                f->st->fatal_closes++;
                c->expect_eof = true;
                return true;
        }
        skip_silent(f, c);
        if (c->next == c->nexp)
                batch_done(f, c);
        return true;
}

static void on_eof(struct flood *f, struct aconn *c)
{
        if (!c->expect_eof)
                fail(f, c, "the daemon closed the connection", NULL, 0);
        conn_reset(c);
}

static void do_read(struct flood *f, struct aconn *c)
{
        for (int rounds = 0; rounds < 64 && c->fd >= 0; rounds++) {
                if (c->t == T_SEQPACKET) {
                        ssize_t n = recv(c->fd, f->seqbuf, SEQ_RECV, MSG_TRUNC | MSG_DONTWAIT);
                        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                                return;
                        if (n < 0 && errno == ECONNRESET) {
                                /* the daemon closed while packets of ours were unread: a
                                 * datagram socket reports that before the packets still
                                 * queued for us (its last answer among them); read on */
                                f->st->resets++;
                                continue;
                        }
                        if (n <= 0) {
                                on_eof(f, c);
                                return;
                        }
                        if ((size_t)n > SEQ_RECV) {
                                fail(f, c, "a packet larger than max_recv", NULL, 0);
                                conn_reset(c);
                                return;
                        }
                        if (!on_answer(f, c, f->seqbuf, (size_t)n) || c->want_close) {
                                conn_reset(c);
                                return;
                        }
                        continue;
                }
                if (c->in_cap - c->in_len < 65536) {
                        size_t cap = c->in_cap ? c->in_cap * 2 : 262144;
                        char *p = realloc(c->in, cap);
                        if (!p)
                                return;
                        c->in = p;
                        c->in_cap = cap;
                }
                ssize_t n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, MSG_DONTWAIT);
                if (n < 0 && (errno == EAGAIN || errno == EINTR))
                        return;
                if (n <= 0) {
                        on_eof(f, c);
                        return;
                }
                c->in_len += (size_t)n;
                size_t start = 0;
                char *nl;
                while ((nl = memchr(c->in + start, '\n', c->in_len - start))) {
                        size_t len = (size_t)(nl - (c->in + start));
                        if (!on_answer(f, c, c->in + start, len) || c->want_close) {
                                conn_reset(c);
                                return;
                        }
                        start += len + 1;
                }
                memmove(c->in, c->in + start, c->in_len - start);
                c->in_len -= start;
        }
}

/* ---- the loop ------------------------------------------------------------------------ */

static bool limits_reached(struct flood *f, uint64_t t0)
{
        const struct flood_opts *o = f->o;

        /* frames answered as they must be: those cut short by an eviction do not count */
        if (o->frames && f->st->malformed >= o->frames)
                return true;
        if (o->duration_s > 0 && (double)(now_us() - t0) / 1e6 >= o->duration_s)
                return true;
        return o->control && control_failed(o->control);
}

int flood_run(const struct flood_opts *o, struct flood_stats *st)
{
        struct flood *f = calloc(1, sizeof(*f));
        struct pollfd pfd[MAX_CONNS];
        uint64_t t0 = now_us(), last_sample = 0, last_report = t0;
        int ret = 0;

        if (!f)
                return -1;
        memset(st, 0, sizeof(*st));
        f->o = o;
        f->st = st;
        gen_init(&f->g, o->seed);
        f->tok = json_tokener_new_ex(64);
        f->seqbuf = malloc(SEQ_RECV);
        for (int t = 0; t < T_COUNT; t++)
                for (unsigned i = 0; o->addr[t] && i < o->connections + o->silent && f->n < MAX_CONNS; i++) {
                        f->c[f->n].t = (enum transport)t;
                        f->c[f->n].silent = i >= o->connections;
                        f->c[f->n].fd = -1;
                        f->n++;
                }
        if (!f->tok || !f->seqbuf || f->n == 0)
                ret = -1;
        while (ret == 0) {
                uint64_t now = now_us();
                if (!f->stopping && limits_reached(f, t0))
                        f->stopping = true;
                if (now - last_sample >= 500000) {
                        last_sample = now;
                        long rss = o->daemon_pid > 0 ? rss_kib(o->daemon_pid) : 0;
                        if (rss < 0) { /* gone, or a zombie: it died */
                                st->daemon_died = true;
                                ret = -1;
                                break;
                        }
                        if ((uint64_t)rss > st->peak_rss_kib)
                                st->peak_rss_kib = (uint64_t)rss;
                }
                if (o->verbose && now - last_report >= 5000000) {
                        last_report = now;
                        fprintf(stderr, "bus-abuse: %.0f s: %llu malformed frames answered, %llu failures\n",
                                (double)(now - t0) / 1e6, (unsigned long long)st->malformed,
                                (unsigned long long)st->failures);
                }
                size_t active = 0;
                for (size_t i = 0; i < f->n; i++) {
                        struct aconn *c = &f->c[i];
                        if (c->silent && f->stopping && c->fd >= 0) {
                                conn_reset(c);
                                continue;
                        }
                        if (!c->busy && !c->expect_eof) {
                                if (f->stopping) {
                                        conn_reset(c);
                                        continue;
                                }
                                if (start_batch(f, c) < 0) {
                                        ret = -1;
                                        break;
                                }
                        }
                        if (c->fd >= 0 && !c->silent && now > c->last_progress_us + STALL_US) {
                                fail(f, c, "no answer for 60 s", NULL, 0);
                                conn_reset(c);
                        }
                        if (c->fd < 0)
                                continue;
                        do_write(f, c);
                        pfd[active].fd = c->fd;
                        pfd[active].events = (short)(POLLIN | (write_pending(c) ? POLLOUT : 0));
                        pfd[active].revents = 0;
                        active++;
                }
                if (ret < 0)
                        break;
                if (active == 0) {
                        if (!f->stopping) {
                                fprintf(stderr, "bus-abuse: no connection left to the daemon\n");
                                ret = -1;
                        }
                        break;
                }
                if (poll(pfd, active, 100) < 0 && errno != EINTR) {
                        ret = -1;
                        break;
                }
                for (size_t i = 0, k = 0; i < f->n && k < active; i++) {
                        struct aconn *c = &f->c[i];
                        if (c->fd < 0 || c->fd != pfd[k].fd)
                                continue;
                        short rev = pfd[k++].revents;
                        if (rev & POLLOUT)
                                do_write(f, c);
                        if (rev & (POLLIN | POLLHUP | POLLERR))
                                do_read(f, c);
                }
        }
        st->elapsed_s = (double)(now_us() - t0) / 1e6;
        for (size_t i = 0; i < f->n; i++) {
                conn_reset(&f->c[i]);
                bytes_free(&f->c[i].out);
                free(f->c[i].exp);
                free(f->c[i].in);
        }
        json_tokener_free(f->tok);
        free(f->seqbuf);
        free(f);
        return ret;
}
