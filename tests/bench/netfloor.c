/* netfloor.c: bench-netfloor, the floor of the bridge's link (scripts/bench-bridge.sh,
 * docs/benchmarks.md "Across the bridge"): bus-bench's call and pubsub traffic
 * across a plain TCP connection or TLS 1.3 (OpenSSL), with no bus at either end.
 *
 *   echo-server: accepts one connection and sends back every byte it reads;
 *   rtt-client:  sends the text of a call (sample_call_line(), as bus-bench's
 *                floor) and waits for it to come back, one after the other:
 *                round trips/s, p50/p99 of each round trip;
 *   sink:        accepts one connection, counts COUNT publish lines
 *                (sample_publish_line()), checks each one's length, answers
 *                one byte;
 *   burst:       writes COUNT publish lines as fast as it can (64 KiB writes),
 *                waits for the sink's byte: lines/s from the first write to it.
 * With --rounds R each client measures R rounds on its connection and reports
 * the median of each figure. The clients print one JSON object on stdout, the
 * servers one too; messages go to stderr. Exit status 0, 1 (failed), 2 (usage).
 *
 * Blocking sockets, one connection per process, no threads. Sockets carry
 * TCP_NODELAY (as the bridge's, bridgeio.c) and a receive/send timeout of
 * IO_TIMEOUT_S that bounds a hang and measures nothing. TLS is OpenSSL's only,
 * configured as the bridge's (busd/bridge/tls.c): TLS 1.3 alone, both ends
 * present a certificate and verify the other's chain against CA, no tickets;
 * --peer NAME also requires NAME in the peer's certificate. */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "bench.h"

#define IO_TIMEOUT_S 60
#define CHUNK (64 * 1024)

enum role { ROLE_ECHO_SERVER, ROLE_RTT_CLIENT, ROLE_SINK, ROLE_BURST, ROLE_COUNT };

static const char *const role_names[ROLE_COUNT] = {
        [ROLE_ECHO_SERVER] = "echo-server",
        [ROLE_RTT_CLIENT] = "rtt-client",
        [ROLE_SINK] = "sink",
        [ROLE_BURST] = "burst",
};

struct nf_opts {
        enum role role;
        const char *where;           /* HOST:PORT to listen on (servers) or connect to (clients) */
        const char *cert, *key, *ca; /* --tls; cert NULL: plain TCP */
        const char *peer;            /* --peer: a name the peer's certificate must carry */
        uint64_t count;
        unsigned rounds;
        size_t payload;
        int ready_fd;
};

/* One connection: plain TCP when ssl is NULL. */
struct conn {
        int fd;
        SSL *ssl;
};

/* ---- the command line ---- */

static void usage(FILE *f)
{
        fprintf(f, "Usage: bench-netfloor ROLE [OPTIONS]\n"
                   "The floor of the bridge's link: bus-bench's call and pubsub lines over TCP or\n"
                   "TLS 1.3, no bus (scripts/bench-bridge.sh).\n"
                   "\n"
                   "  echo-server --listen HOST:PORT    send back every byte of one connection\n"
                   "  rtt-client  --connect HOST:PORT   call lines, one round trip at a time\n"
                   "  sink        --listen HOST:PORT    count COUNT publish lines per round, answer a byte\n"
                   "  burst       --connect HOST:PORT   write COUNT publish lines per round, back to back\n"
                   "\n"
                   "  --tls CERT KEY CA   TLS 1.3 with this certificate, key and CA (default: plain TCP)\n"
                   "  --peer NAME         the peer's certificate must carry NAME (with --tls)\n"
                   "  --count N           round trips or lines per round (default 20000)\n"
                   "  --rounds R          rounds on the connection; figures are medians (default 1)\n"
                   "  --payload BYTES     size of the params/data string (default 64, as bus-bench)\n"
                   "  --ready-fd FD       servers: write READY=1 to FD once listening\n");
}

static int number(const char *what, const char *s, uint64_t min, uint64_t max, uint64_t *ret)
{
        char *end;
        unsigned long long v;

        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno || end == s || *end || s[0] == '-' || v < min || v > max) {
                fprintf(stderr, "bench-netfloor: %s needs a number %llu-%llu, not '%s'\n", what,
                        (unsigned long long)min, (unsigned long long)max, s);
                return -EINVAL;
        }
        *ret = v;
        return 0;
}

/* Returns 0, 1 (--help printed) or -EINVAL (message printed). */
static int parse(struct nf_opts *o, int argc, char **argv)
{
        enum { O_LISTEN = 256, O_CONNECT, O_TLS, O_PEER, O_COUNT, O_ROUNDS, O_PAYLOAD, O_READY_FD };
        static const struct option longs[] = {
                { "listen", required_argument, NULL, O_LISTEN },
                { "connect", required_argument, NULL, O_CONNECT },
                { "tls", required_argument, NULL, O_TLS },
                { "peer", required_argument, NULL, O_PEER },
                { "count", required_argument, NULL, O_COUNT },
                { "rounds", required_argument, NULL, O_ROUNDS },
                { "payload", required_argument, NULL, O_PAYLOAD },
                { "ready-fd", required_argument, NULL, O_READY_FD },
                { "help", no_argument, NULL, 'h' },
                { NULL, 0, NULL, 0 },
        };
        uint64_t v;
        int c;

        *o = (struct nf_opts){ .count = 20000, .rounds = 1, .payload = 64, .ready_fd = -1 };
        if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
                usage(stdout);
                return 1;
        }
        if (argc < 2) {
                usage(stderr);
                return -EINVAL;
        }
        for (o->role = 0; o->role < ROLE_COUNT && strcmp(argv[1], role_names[o->role]); o->role++)
                ;
        if (o->role == ROLE_COUNT) {
                fprintf(stderr, "bench-netfloor: unknown role '%s' (echo-server, rtt-client, sink, burst)\n", argv[1]);
                return -EINVAL;
        }
        bool server = o->role == ROLE_ECHO_SERVER || o->role == ROLE_SINK;
        optind = 2;
        while ((c = getopt_long(argc, argv, "+h", longs, NULL)) != -1) {
                int r = 0;
                switch (c) {
                case O_LISTEN:
                case O_CONNECT:
                        if ((c == O_LISTEN) != server) {
                                fprintf(stderr, "bench-netfloor: %s takes %s\n", role_names[o->role],
                                        server ? "--listen" : "--connect");
                                return -EINVAL;
                        }
                        o->where = optarg;
                        break;
                case O_TLS: /* three arguments: CERT (optarg) KEY CA */
                        if (optind + 1 >= argc) {
                                fprintf(stderr, "bench-netfloor: --tls needs CERT KEY CA\n");
                                return -EINVAL;
                        }
                        o->cert = optarg;
                        o->key = argv[optind++];
                        o->ca = argv[optind++];
                        break;
                case O_PEER:
                        o->peer = optarg;
                        break;
                case O_COUNT:
                        r = number("--count", optarg, 1, 1000000000, &o->count);
                        break;
                case O_ROUNDS:
                        if ((r = number("--rounds", optarg, 1, 99, &v)) == 0)
                                o->rounds = (unsigned)v;
                        break;
                case O_PAYLOAD:
                        if ((r = number("--payload", optarg, 0, 60000, &v)) == 0)
                                o->payload = (size_t)v;
                        break;
                case O_READY_FD:
                        if ((r = number("--ready-fd", optarg, 0, 1024, &v)) == 0)
                                o->ready_fd = (int)v;
                        break;
                case 'h':
                        usage(stdout);
                        return 1;
                default:
                        return -EINVAL;
                }
                if (r < 0)
                        return r;
        }
        if (optind < argc) {
                fprintf(stderr, "bench-netfloor: unexpected argument '%s'\n", argv[optind]);
                return -EINVAL;
        }
        if (!o->where) {
                fprintf(stderr, "bench-netfloor: %s needs %s HOST:PORT\n", role_names[o->role],
                        server ? "--listen" : "--connect");
                return -EINVAL;
        }
        if (o->peer && !o->cert) {
                fprintf(stderr, "bench-netfloor: --peer needs --tls\n");
                return -EINVAL;
        }
        return 0;
}

/* ---- sockets ---- */

/* Resolves "HOST:PORT" (numeric; "[V6]:PORT" too). Returns 0 or -EINVAL (printed). */
static int resolve(const char *where, bool passive, struct addrinfo **ret)
{
        const char *colon = strrchr(where, ':');
        struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
                                  .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | (passive ? AI_PASSIVE : 0) };
        char host[256];
        size_t hlen;

        if (!colon || colon == where || (hlen = (size_t)(colon - where)) >= sizeof(host)) {
                fprintf(stderr, "bench-netfloor: '%s' is not HOST:PORT\n", where);
                return -EINVAL;
        }
        if (where[0] == '[' && hlen >= 2 && where[hlen - 1] == ']') {
                where++;
                hlen -= 2;
        }
        memcpy(host, where, hlen);
        host[hlen] = 0;
        int e = getaddrinfo(host, colon + 1, &hints, ret);
        if (e) {
                fprintf(stderr, "bench-netfloor: %s: %s\n", where, gai_strerror(e));
                return -EINVAL;
        }
        return 0;
}

static void tune(int fd)
{
        int one = 1;
        struct timeval tv = { .tv_sec = IO_TIMEOUT_S };

        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* Listens on where, tells ready_fd (if >= 0), accepts one connection within
 * IO_TIMEOUT_S. Returns its fd or a negative errno (printed). */
static int accept_one(const char *where, int ready_fd)
{
        struct addrinfo *ai;
        int one = 1, fd, lfd, e = resolve(where, true, &ai);

        if (e < 0)
                return e;
        lfd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
            bind(lfd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(lfd, 1) < 0) {
                e = -errno;
                fprintf(stderr, "bench-netfloor: listen on %s: %s\n", where, strerror(errno));
                freeaddrinfo(ai);
                if (lfd >= 0)
                        close(lfd);
                return e;
        }
        freeaddrinfo(ai);
        if (ready_fd >= 0) {
                static const char ready[] = "READY=1\n";
                if (write_all(ready_fd, ready, sizeof(ready) - 1) < 0)
                        fprintf(stderr, "bench-netfloor: --ready-fd %d: %s\n", ready_fd, strerror(errno));
                close(ready_fd);
        }
        struct pollfd p = { .fd = lfd, .events = POLLIN };
        do
                e = poll(&p, 1, IO_TIMEOUT_S * 1000);
        while (e < 0 && errno == EINTR);
        fd = e > 0 ? accept4(lfd, NULL, NULL, SOCK_CLOEXEC) : -1;
        if (fd < 0) {
                e = e == 0 ? -ETIMEDOUT : -errno;
                fprintf(stderr, "bench-netfloor: accept on %s: %s\n", where, strerror(-e));
        }
        close(lfd);
        if (fd < 0)
                return e;
        tune(fd);
        return fd;
}

static int connect_to(const char *where)
{
        struct addrinfo *ai;
        int fd, e = resolve(where, false, &ai);

        if (e < 0)
                return e;
        fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
                e = -errno;
                fprintf(stderr, "bench-netfloor: connect to %s: %s\n", where, strerror(errno));
                freeaddrinfo(ai);
                if (fd >= 0)
                        close(fd);
                return e;
        }
        freeaddrinfo(ai);
        tune(fd);
        return fd;
}

/* ---- TLS (OpenSSL) and the connection ---- */

static void print_tls_errors(const char *what)
{
        unsigned long e;
        char buf[256];

        fprintf(stderr, "bench-netfloor: %s", what);
        while ((e = ERR_get_error()) != 0) {
                ERR_error_string_n(e, buf, sizeof(buf));
                fprintf(stderr, ": %s", buf);
        }
        fprintf(stderr, "\n");
}

/* The context of one end: TLS 1.3 only, certificate and key, peers verified
 * against ca (both ways). Returns NULL (printed) on failure. */
static SSL_CTX *tls_context(const struct nf_opts *o, bool server)
{
        SSL_CTX *c = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());

        if (!c || !SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION) ||
            !SSL_CTX_set_max_proto_version(c, TLS1_3_VERSION) || !SSL_CTX_set_num_tickets(c, 0) ||
            SSL_CTX_use_certificate_chain_file(c, o->cert) != 1 ||
            SSL_CTX_use_PrivateKey_file(c, o->key, SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(c) != 1 ||
            SSL_CTX_load_verify_locations(c, o->ca, NULL) != 1) {
                print_tls_errors("TLS setup");
                SSL_CTX_free(c);
                return NULL;
        }
        SSL_CTX_set_options(c, SSL_OP_NO_TICKET | SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
        SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
        return c;
}

/* Runs the handshake on c->fd. Returns 0 or -EPROTO (printed). */
static int tls_start(struct conn *c, SSL_CTX *ctx, const struct nf_opts *o, bool server)
{
        c->ssl = SSL_new(ctx);
        if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1 || (o->peer && SSL_set1_host(c->ssl, o->peer) != 1)) {
                print_tls_errors("TLS setup");
                return -EPROTO;
        }
        if ((server ? SSL_accept(c->ssl) : SSL_connect(c->ssl)) != 1) {
                long v = SSL_get_verify_result(c->ssl);
                print_tls_errors("TLS handshake");
                if (v != X509_V_OK)
                        fprintf(stderr, "bench-netfloor: peer certificate: %s\n", X509_verify_cert_error_string(v));
                return -EPROTO;
        }
        return 0;
}

/* The result of an SSL call that did not succeed: 0 at the peer's
 * close_notify, else a negative errno (printed). */
static int tls_failure(struct conn *c, int ret, const char *what)
{
        int e = SSL_get_error(c->ssl, ret);

        if (e == SSL_ERROR_ZERO_RETURN)
                return 0;
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) /* SO_RCVTIMEO, SO_SNDTIMEO */
                return -ETIMEDOUT;
        if (e == SSL_ERROR_SYSCALL && errno) {
                int err = errno;
                fprintf(stderr, "bench-netfloor: %s: %s\n", what, strerror(err));
                return -err;
        }
        print_tls_errors(what);
        return -EPROTO;
}

/* Writes all of p. Returns 0 or a negative errno (printed for TLS). */
static int conn_write(struct conn *c, const void *p, size_t len)
{
        const char *s = p;

        if (!c->ssl) {
                int e = write_all(c->fd, p, len);
                return e == -EAGAIN ? -ETIMEDOUT : e;
        }
        while (len > 0) {
                size_t w;
                int r = SSL_write_ex(c->ssl, s, len, &w);
                if (r <= 0) {
                        int e = tls_failure(c, r, "TLS write");
                        return e ? e : -EPIPE;
                }
                s += w;
                len -= w;
        }
        return 0;
}

/* Reads up to cap bytes. Returns how many, 0 at the end of the connection,
 * or a negative errno. */
static ssize_t conn_read(struct conn *c, void *p, size_t cap)
{
        if (!c->ssl) {
                ssize_t r;
                do
                        r = read(c->fd, p, cap);
                while (r < 0 && errno == EINTR);
                return r >= 0 ? r : errno == EAGAIN ? -ETIMEDOUT : -errno;
        }
        size_t got;
        int r = SSL_read_ex(c->ssl, p, cap, &got);
        return r > 0 ? (ssize_t)got : tls_failure(c, r, "TLS read");
}

static int conn_read_all(struct conn *c, char *p, size_t len)
{
        while (len > 0) {
                ssize_t r = conn_read(c, p, len);
                if (r <= 0)
                        return r < 0 ? (int)r : -EPIPE;
                p += r;
                len -= (size_t)r;
        }
        return 0;
}

/* Sends close_notify (TLS), frees, closes. */
static void conn_close(struct conn *c)
{
        if (c->ssl) {
                SSL_shutdown(c->ssl);
                SSL_free(c->ssl);
        }
        if (c->fd >= 0)
                close(c->fd);
}

/* ---- the roles ---- */

static int cmp_double(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;

        return x < y ? -1 : x > y;
}

/* The median of v[0..n) (sorts v). */
static double median(double *v, unsigned n)
{
        qsort(v, n, sizeof(*v), cmp_double);
        return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void print_result(const struct nf_opts *o, const struct conn *c, const char *unit, size_t line, double *rate,
                         double *p50, double *p99)
{
        double vmin = rate[0], vmax = rate[0];

        for (unsigned i = 1; i < o->rounds; i++) {
                vmin = rate[i] < vmin ? rate[i] : vmin;
                vmax = rate[i] > vmax ? rate[i] : vmax;
        }
        printf("{\"role\":\"%s\",\"link\":\"%s\",\"protocol\":\"%s\",\"cipher\":\"%s\",\"count\":%llu,"
               "\"rounds\":%u,\"line_bytes\":%zu,\"value\":%.1f,\"unit\":\"%s\",\"vmin\":%.1f,\"vmax\":%.1f",
               role_names[o->role], c->ssl ? "tls" : "tcp", c->ssl ? SSL_get_version(c->ssl) : "TCP",
               c->ssl ? SSL_get_cipher_name(c->ssl) : "none", (unsigned long long)o->count, o->rounds, line,
               median(rate, o->rounds), unit, vmin, vmax);
        if (p50)
                printf(",\"p50_us\":%.1f,\"p99_us\":%.1f", median(p50, o->rounds), median(p99, o->rounds));
        printf("}\n");
}

/* A round trip: the line out, the same number of bytes back. */
static int round_trip(struct conn *c, const char *line, size_t len, char *buf)
{
        int e = conn_write(c, line, len);

        return e < 0 ? e : conn_read_all(c, buf, len);
}

static int run_rtt_client(const struct nf_opts *o, struct conn *c)
{
        size_t len;
        char *line = sample_call_line(o->payload, true, &len);
        char *buf = malloc(len);
        uint64_t *lat = malloc(sizeof(*lat) * o->count), warm = o->count / 10 < 1000 ? o->count / 10 : 1000;
        double rate[99], p50[99], p99[99];
        int e = 0;

        if (!line || !buf || !lat) {
                fprintf(stderr, "bench-netfloor: out of memory\n");
                e = -ENOMEM;
        }
        for (uint64_t i = 0; e == 0 && i < warm; i++)
                e = round_trip(c, line, len, buf);
        for (unsigned r = 0; e == 0 && r < o->rounds; r++) {
                uint64_t t0 = now_ns();
                for (uint64_t i = 0; e == 0 && i < o->count; i++) {
                        uint64_t t = now_ns();
                        e = round_trip(c, line, len, buf);
                        lat[i] = now_ns() - t;
                }
                double secs = (double)(now_ns() - t0) / 1e9;
                uint64_t n50, n99;
                percentiles(lat, o->count, &n50, &n99);
                rate[r] = secs > 0 ? (double)o->count / secs : 0;
                p50[r] = (double)n50 / 1e3;
                p99[r] = (double)n99 / 1e3;
        }
        if (e == 0 && memcmp(buf, line, len) != 0) {
                fprintf(stderr, "bench-netfloor: the echo sent back other bytes\n");
                e = -EPROTO;
        } else if (e < 0 && e != -ENOMEM) {
                fprintf(stderr, "bench-netfloor: round trip: %s\n", strerror(-e));
        }
        if (e == 0)
                print_result(o, c, "round trips/s", len, rate, p50, p99);
        free(line);
        free(buf);
        free(lat);
        return e;
}

static int run_echo_server(const struct nf_opts *o, struct conn *c)
{
        char *buf = malloc(CHUNK);
        uint64_t bytes = 0;
        ssize_t r;
        int e = 0;

        if (!buf)
                return -ENOMEM;
        while (e == 0 && (r = conn_read(c, buf, CHUNK)) != 0) {
                e = r < 0 ? (int)r : conn_write(c, buf, (size_t)r);
                bytes += r > 0 ? (uint64_t)r : 0;
        }
        if (e < 0)
                fprintf(stderr, "bench-netfloor: echo: %s after %llu bytes\n", strerror(-e), (unsigned long long)bytes);
        else
                printf("{\"role\":\"echo-server\",\"link\":\"%s\",\"bytes\":%llu}\n", c->ssl ? "tls" : "tcp",
                       (unsigned long long)bytes);
        free(buf);
        return e;
}

static int run_burst(const struct nf_opts *o, struct conn *c)
{
        size_t len = 1;
        char *line = sample_publish_line(o->payload, true, &len);
        size_t per = CHUNK / len ? CHUNK / len : 1; /* lines per write */
        char *batch = line ? malloc(per * len) : NULL;
        double rate[99];
        char ack;
        int e = 0;

        if (!batch) {
                fprintf(stderr, "bench-netfloor: out of memory\n");
                free(line);
                free(batch);
                return -ENOMEM;
        }
        for (size_t i = 0; i < per; i++)
                memcpy(batch + i * len, line, len);
        for (unsigned r = 0; e == 0 && r < o->rounds; r++) {
                uint64_t t0 = now_ns();
                for (uint64_t sent = 0; e == 0 && sent < o->count;) {
                        size_t k = o->count - sent < per ? (size_t)(o->count - sent) : per;
                        e = conn_write(c, batch, k * len);
                        sent += k;
                }
                if (e == 0)
                        e = conn_read_all(c, &ack, 1);
                double secs = (double)(now_ns() - t0) / 1e9;
                rate[r] = secs > 0 ? (double)o->count / secs : 0;
        }
        if (e < 0)
                fprintf(stderr, "bench-netfloor: burst: %s\n", strerror(-e));
        else
                print_result(o, c, "lines/s", len, rate, NULL, NULL);
        free(line);
        free(batch);
        return e;
}

/* Counts o->count lines of len bytes per round and answers a byte; nothing
 * may arrive between the last line of a round and that byte, nor after the
 * last round but the end of the connection. */
static int run_sink(const struct nf_opts *o, struct conn *c)
{
        size_t len;
        char *line = sample_publish_line(o->payload, true, &len);
        char *buf = malloc(CHUNK);
        uint64_t total = 0;
        int e = 0;

        if (!line || !buf) {
                free(line);
                free(buf);
                return -ENOMEM;
        }
        for (unsigned r = 0; e == 0 && r < o->rounds; r++) {
                uint64_t lines = 0;
                size_t col = 0; /* bytes of the current line so far */
                while (e == 0 && lines < o->count) {
                        ssize_t got = conn_read(c, buf, CHUNK);
                        if (got <= 0) {
                                e = got < 0 ? (int)got : -EPIPE;
                                break;
                        }
                        char *p = buf, *end = buf + got, *nl;
                        while (e == 0 && (nl = memchr(p, '\n', (size_t)(end - p)))) {
                                if (col + (size_t)(nl - p) + 1 != len || lines == o->count) {
                                        fprintf(stderr, "bench-netfloor: sink: line %llu of round %u: %s\n",
                                                (unsigned long long)lines + 1, r + 1,
                                                lines == o->count ? "more than --count" : "wrong length");
                                        e = -EPROTO;
                                }
                                lines++;
                                col = 0;
                                p = nl + 1;
                        }
                        col += (size_t)(end - p);
                        if (e == 0 && lines == o->count && col) {
                                fprintf(stderr, "bench-netfloor: sink: bytes after line %llu of round %u\n",
                                        (unsigned long long)lines, r + 1);
                                e = -EPROTO;
                        }
                }
                total += lines;
                if (e == 0)
                        e = conn_write(c, "\n", 1);
        }
        if (e == 0) { /* the client's end */
                ssize_t got = conn_read(c, buf, CHUNK);
                e = got == 0 ? 0 : got < 0 ? (int)got : -EPROTO;
        }
        if (e < 0)
                fprintf(stderr, "bench-netfloor: sink: %s after %llu lines\n", strerror(-e), (unsigned long long)total);
        else
                printf("{\"role\":\"sink\",\"link\":\"%s\",\"lines\":%llu,\"rounds\":%u,\"line_bytes\":%zu}\n",
                       c->ssl ? "tls" : "tcp", (unsigned long long)total, o->rounds, len);
        free(line);
        free(buf);
        return e;
}

int main(int argc, char **argv)
{
        struct nf_opts o;
        struct conn c = { .fd = -1 };
        SSL_CTX *ctx = NULL;
        int e = parse(&o, argc, argv);

        if (e)
                return e > 0 ? 0 : 2;
        signal(SIGPIPE, SIG_IGN); /* a peer gone is an error return, not a signal */
        bool server = o.role == ROLE_ECHO_SERVER || o.role == ROLE_SINK;
        if (o.cert && !(ctx = tls_context(&o, server)))
                return 1;
        c.fd = server ? accept_one(o.where, o.ready_fd) : connect_to(o.where);
        e = c.fd < 0 ? c.fd : 0;
        if (e == 0 && ctx)
                e = tls_start(&c, ctx, &o, server);
        if (e == 0) {
                switch (o.role) {
                case ROLE_ECHO_SERVER:
                        e = run_echo_server(&o, &c);
                        break;
                case ROLE_RTT_CLIENT:
                        e = run_rtt_client(&o, &c);
                        break;
                case ROLE_SINK:
                        e = run_sink(&o, &c);
                        break;
                default:
                        e = run_burst(&o, &c);
                        break;
                }
        }
        fflush(stdout);
        conn_close(&c);
        SSL_CTX_free(ctx);
        return e < 0 ? 1 : 0;
}
