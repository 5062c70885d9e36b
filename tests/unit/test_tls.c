/* test_tls.c: busd/bridge/tls.c, the bridge's TLS 1.3 layer, with two link ends
 * pumped in memory: established both ways with the names reported; refusals
 * (wrong CA, expired, not on the allowlist, no certificate, TLS 1.2 only,
 * plaintext, too much before the handshake) with their reasons on both sides;
 * application data (1 MiB in chunks), close_notify, a corrupted record;
 * tls_ctx_new() errors. argv[1] is scripts/gen-test-certs.sh; the
 * certificates go to a temporary directory removed at the end.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "test.h"
#include "tls.h"

static char certdir[64];

static const char *path(const char *name, const char *ext)
{
        static char bufs[4][256];
        static int next;
        char *p = bufs[next++ % 4];

        snprintf(p, sizeof(bufs[0]), "%s/%s.%s", certdir, name, ext);
        return p;
}

/* A context with NAME.pem/NAME.key trusting CA.pem. */
static struct tls_ctx *ctx_for(const char *name, const char *ca)
{
        struct tls_config cfg = { path(name, "pem"), path(name, "key"), path(ca, "pem") };
        struct tls_ctx *ctx = NULL;
        char err[TLS_ERROR_MAX];
        int r = tls_ctx_new(&cfg, &ctx, err, sizeof(err));

        if (r < 0)
                fprintf(stderr, "tls_ctx_new(%s): %s\n", name, err);
        CHECK_EQ_INT(r, 0);
        CHECK(ctx);
        return ctx;
}

/* Moves all of from's output into to; the first feed error goes to *ret. */
static size_t move(struct tls_conn *from, struct tls_conn *to, int *ret)
{
        unsigned char buf[4096];
        size_t n, total = 0;

        while ((n = tls_conn_take_output(from, buf, sizeof(buf))) > 0) {
                int r = tls_conn_feed(to, buf, n);
                if (r < 0 && *ret == 0)
                        *ret = r;
                total += n;
        }
        return total;
}

struct link {
        struct tls_ctx *cctx, *sctx;
        struct tls_conn *c, *s;
        int hc, hs; /* last tls_conn_handshake() results */
        int fc, fs; /* first feed errors */
};

/* A client with cert CNAME (trusting CCA, accepting callow) dialling a server
 * with cert SNAME (trusting SCA, accepting sallow), driven until neither side
 * has anything left to say. */
static void link_run(struct link *l, const char *cname, const char *cca, const char *callow, const char *sname,
                     const char *sca, const char *sallow)
{
        memset(l, 0, sizeof(*l));
        l->cctx = ctx_for(cname, cca);
        l->sctx = ctx_for(sname, sca);
        l->c = tls_conn_new(l->cctx, false, &callow, 1);
        l->s = tls_conn_new(l->sctx, true, &sallow, 1);
        CHECK(l->c && l->s);
        l->hc = tls_conn_handshake(l->c);
        for (int i = 0; i < 20; i++) {
                size_t moved = move(l->c, l->s, &l->fs);
                l->hs = tls_conn_handshake(l->s);
                moved += move(l->s, l->c, &l->fc);
                l->hc = tls_conn_handshake(l->c);
                if (moved == 0)
                        break;
        }
        if (getenv("TEST_TLS_VERBOSE"))
                fprintf(stderr, "%s -> %s: client %d \"%s\", server %d \"%s\"\n", cname, sname, l->hc,
                        tls_conn_error(l->c), l->hs, tls_conn_error(l->s));
}

static void link_free(struct link *l)
{
        tls_conn_free(l->c);
        tls_conn_free(l->s);
        tls_ctx_free(l->cctx);
        tls_ctx_free(l->sctx);
}

/* Step by step: the client is established only once the server has accepted
 * it; the server sends nothing but its acceptance after the handshake (no
 * session ticket); names reported; nothing goes before being established. */
static void test_established(void)
{
        struct tls_ctx *a = ctx_for("busd-a", "ca"), *b = ctx_for("busd-b", "ca");
        const char *allow_a[] = { "busd-c", "busd-b" }, *allow_b[] = { "busd-a" };
        struct tls_conn *s = tls_conn_new(a, true, allow_a, 2), *c = tls_conn_new(b, false, allow_b, 1);
        int fe = 0;
        char buf[16];

        CHECK_STREQ(tls_ctx_own_name(a), "busd-a");
        CHECK_STREQ(tls_ctx_own_name(b), "busd-b");
        CHECK(s && c);
        CHECK_EQ_INT(tls_conn_pending_output(c), 0);
        CHECK_EQ_INT(tls_conn_handshake(c), 0); /* ClientHello */
        CHECK(tls_conn_pending_output(c) > 0);
        CHECK_EQ_INT(tls_conn_write(c, "x", 1), -ENOTCONN);
        CHECK_EQ_INT(tls_conn_read(c, buf, sizeof(buf)), -ENOTCONN);
        CHECK(tls_conn_peer_name(c) == NULL);
        CHECK_EQ_INT(tls_conn_handshake(s), 0); /* nothing fed yet */
        move(c, s, &fe);
        CHECK_EQ_INT(tls_conn_handshake(s), 0); /* ServerHello .. Finished */
        CHECK(tls_conn_pending_output(s) > 0);
        move(s, c, &fe);
        CHECK_EQ_INT(tls_conn_handshake(c), 0); /* its Finished out, waiting for the acceptance */
        CHECK(tls_conn_peer_name(c) == NULL);
        move(c, s, &fe);
        CHECK_EQ_INT(tls_conn_handshake(s), 1);
        CHECK_STREQ(tls_conn_peer_name(s), "busd-b");
        /* one record of one byte: 5 header + 1 + 1 content type + 16 tag; a
         * session ticket would be here too */
        CHECK_EQ_INT(tls_conn_pending_output(s), 23);
        CHECK_EQ_INT(tls_conn_handshake(c), 0);
        move(s, c, &fe);
        CHECK_EQ_INT(fe, 0);
        CHECK_EQ_INT(tls_conn_handshake(c), 1);
        CHECK_EQ_INT(tls_conn_handshake(c), 1);
        CHECK_STREQ(tls_conn_peer_name(c), "busd-a");
        CHECK_STREQ(tls_conn_error(c), "");
        CHECK_STREQ(tls_conn_error(s), "");
        CHECK_EQ_INT(tls_conn_read(c, buf, sizeof(buf)), 0); /* the acceptance byte is not data */
        CHECK_EQ_INT(tls_conn_pending_output(c), 0);
        tls_conn_free(s);
        tls_conn_free(c);
        tls_ctx_free(a);
        tls_ctx_free(b);
}

/* Reads everything available on to into out; returns bytes read. */
static size_t drain(struct tls_conn *to, unsigned char *out, size_t cap, size_t chunk)
{
        size_t got = 0;
        ssize_t n;

        while (got < cap && (n = tls_conn_read(to, out + got, cap - got < chunk ? cap - got : chunk)) > 0)
                got += (size_t)n;
        CHECK(n >= 0 || got == cap);
        return got;
}

static void test_data(void)
{
        struct link l;
        size_t big = 1024 * 1024, sent = 0, got = 0;
        unsigned char *src = malloc(big), *dst = malloc(big), small[64];
        int fe = 0;

        CHECK(src && dst);
        link_run(&l, "busd-b", "ca", "busd-a", "busd-a", "ca", "busd-b");
        CHECK_EQ_INT(l.hc, 1);
        CHECK_EQ_INT(l.hs, 1);

        /* both ways, a line each */
        CHECK_EQ_INT(tls_conn_write(l.c, "{\"type\":\"link\"}\n", 16), 0);
        CHECK_EQ_INT(tls_conn_write(l.s, "hi\n", 3), 0);
        move(l.c, l.s, &fe);
        move(l.s, l.c, &fe);
        CHECK_EQ_INT(fe, 0);
        CHECK_EQ_INT(drain(l.s, small, sizeof(small), 64), 16);
        CHECK(memcmp(small, "{\"type\":\"link\"}\n", 16) == 0);
        CHECK_EQ_INT(drain(l.c, small, sizeof(small), 64), 3);
        CHECK(memcmp(small, "hi\n", 3) == 0);
        CHECK_EQ_INT(tls_conn_read(l.c, small, sizeof(small)), 0);
        CHECK_EQ_INT(tls_conn_write(l.c, "", 0), 0);

        /* 1 MiB server -> client, written in uneven chunks, the ciphertext
         * moved in 1000-byte pieces, read in 3000-byte pieces as it comes */
        for (size_t i = 0; i < big; i++)
                src[i] = (unsigned char)(i * 7 + (i >> 11));
        while (sent < big) {
                size_t n = big - sent < 7919 ? big - sent : 7919;
                CHECK_EQ_INT(tls_conn_write(l.s, src + sent, n), 0);
                sent += n;
                unsigned char piece[1000];
                size_t k;
                while ((k = tls_conn_take_output(l.s, piece, sizeof(piece))) > 0) {
                        CHECK_EQ_INT(tls_conn_feed(l.c, piece, k), 0);
                        got += drain(l.c, dst + got, big - got, 3000);
                }
        }
        CHECK_EQ_INT(tls_conn_pending_output(l.s), 0);
        CHECK_EQ_INT(got, big);
        CHECK(memcmp(src, dst, big) == 0);

        /* close_notify: data before it arrives, then -EPIPE; no writes after our own */
        CHECK_EQ_INT(tls_conn_write(l.c, "bye\n", 4), 0);
        tls_conn_shutdown(l.c);
        CHECK_EQ_INT(tls_conn_write(l.c, "more", 4), -ENOTCONN);
        move(l.c, l.s, &fe);
        CHECK_EQ_INT(fe, 0);
        CHECK_EQ_INT(tls_conn_read(l.s, small, sizeof(small)), 4);
        CHECK_EQ_INT(tls_conn_read(l.s, small, sizeof(small)), -EPIPE);
        CHECK_EQ_INT(tls_conn_read(l.s, small, sizeof(small)), -EPIPE);
        /* the other direction still works until the server closes too */
        CHECK_EQ_INT(tls_conn_write(l.s, "last\n", 5), 0);
        tls_conn_shutdown(l.s);
        move(l.s, l.c, &fe);
        CHECK_EQ_INT(tls_conn_read(l.c, small, sizeof(small)), 5);
        CHECK_EQ_INT(tls_conn_read(l.c, small, sizeof(small)), -EPIPE);
        CHECK_STREQ(tls_conn_peer_name(l.c), "busd-a");
        link_free(&l);
        free(src);
        free(dst);
}

/* Application data right behind the server's acceptance, all in one feed,
 * established or not: the pre-auth limit counts only the handshake's bytes. */
static void test_data_behind_acceptance(void)
{
        struct tls_ctx *a = ctx_for("busd-a", "ca"), *b = ctx_for("busd-b", "ca");
        const char *allow_a = "busd-b", *allow_b = "busd-a";
        struct tls_conn *s = tls_conn_new(a, true, &allow_a, 1), *c = tls_conn_new(b, false, &allow_b, 1);
        size_t big = 3 * TLS_PREAUTH_MAX, n, got = 0;
        unsigned char *data = calloc(1, big), *out = malloc(big), *wire = malloc(2 * big);
        int fe = 0;

        CHECK(data && out && wire);
        tls_conn_handshake(c);
        move(c, s, &fe);
        tls_conn_handshake(s);
        move(s, c, &fe);
        tls_conn_handshake(c);
        move(c, s, &fe);
        CHECK_EQ_INT(tls_conn_handshake(s), 1);
        CHECK_EQ_INT(tls_conn_write(s, data, big), 0);
        n = tls_conn_take_output(s, wire, 2 * big);
        CHECK(n > big);
        CHECK_EQ_INT(tls_conn_feed(c, wire, n), 0);
        CHECK_EQ_INT(tls_conn_handshake(c), 1);
        got = drain(c, out, big, big);
        CHECK_EQ_INT(got, big);
        CHECK(memcmp(data, out, big) == 0);
        tls_conn_free(s);
        tls_conn_free(c);
        tls_ctx_free(a);
        tls_ctx_free(b);
        free(data);
        free(out);
        free(wire);
}

static void test_wrong_ca(void)
{
        struct link l;

        /* rogue: CN busd-a, but signed by other-ca; the server refuses it */
        link_run(&l, "rogue", "ca", "busd-a", "busd-a", "ca", "busd-a");
        CHECK_EQ_INT(l.hs, -EPROTO);
        CHECK_CONTAINS(tls_conn_error(l.s), "certificate verify failed: unable to get local issuer certificate");
        CHECK_CONTAINS(tls_conn_error(l.s), "'busd-a'");
        CHECK_CONTAINS(tls_conn_error(l.s), "other test CA");
        CHECK_EQ_INT(l.hc, -EPROTO);
        CHECK_CONTAINS(tls_conn_error(l.c), "the peer refused the handshake");
        CHECK_CONTAINS(tls_conn_error(l.c), "unknown ca");
        CHECK(tls_conn_peer_name(l.s) == NULL && tls_conn_peer_name(l.c) == NULL);
        link_free(&l);

        /* and a client refuses a rogue server */
        link_run(&l, "busd-b", "ca", "busd-a", "rogue", "ca", "busd-b");
        CHECK_EQ_INT(l.hc, -EPROTO);
        CHECK_CONTAINS(tls_conn_error(l.c), "certificate verify failed: unable to get local issuer certificate");
        CHECK_EQ_INT(l.hs, -EPROTO);
        CHECK_CONTAINS(tls_conn_error(l.s), "unknown ca");
        link_free(&l);

        /* a bus that trusts only the other CA refuses an honest peer */
        link_run(&l, "busd-b", "other-ca", "busd-a", "busd-a", "ca", "busd-b");
        CHECK_EQ_INT(l.hc, -EPROTO);
        CHECK_CONTAINS(tls_conn_error(l.c), "certificate verify failed");
        CHECK_EQ_INT(l.hs, -EPROTO);
        link_free(&l);
}

static void test_expired(void)
{
        struct link l;

        link_run(&l, "expired", "ca", "busd-a", "busd-a", "ca", "busd-e");
        CHECK_EQ_INT(l.hs, -EPROTO);
        CHECK_CONTAINS(tls_conn_error(l.s), "certificate verify failed: certificate has expired");
        CHECK_CONTAINS(tls_conn_error(l.s), "'busd-e'");
        CHECK_EQ_INT(l.hc, -EPROTO);
        CHECK_CONTAINS(tls_conn_error(l.c), "certificate expired");
        CHECK_CONTAINS(tls_conn_error(l.c), "we are 'busd-e'");
        link_free(&l);

        link_run(&l, "busd-b", "ca", "busd-e", "expired", "ca", "busd-b");
        CHECK_EQ_INT(l.hc, -EPROTO);
        CHECK_CONTAINS(tls_conn_error(l.c), "certificate has expired");
        CHECK_EQ_INT(l.hs, -EPROTO);
        link_free(&l);
}

static void test_allowlist(void)
{
        struct link l;

        /* the server refuses the client */
        link_run(&l, "busd-b", "ca", "busd-a", "busd-a", "ca", "busd-c");
        CHECK_EQ_INT(l.hs, -EPROTO);
        CHECK_STREQ(tls_conn_error(l.s), "peer 'busd-b' is not on this link's allowlist (busd-c)");
        CHECK_EQ_INT(l.hc, -EPROTO); /* never established, though its TLS handshake finished */
        CHECK_CONTAINS(tls_conn_error(l.c), "the peer refused the handshake");
        CHECK_CONTAINS(tls_conn_error(l.c), "allowlist");
        CHECK_CONTAINS(tls_conn_error(l.c), "we are 'busd-b'");
        CHECK(tls_conn_peer_name(l.c) == NULL);
        link_free(&l);

        /* the client refuses the server */
        link_run(&l, "busd-b", "ca", "busd-c", "busd-a", "ca", "busd-b");
        CHECK_EQ_INT(l.hc, -EPROTO);
        CHECK_STREQ(tls_conn_error(l.c), "peer 'busd-a' is not on this link's allowlist (busd-c)");
        CHECK_EQ_INT(l.hs, -EPROTO);
        CHECK_CONTAINS(tls_conn_error(l.s), "the peer refused the handshake");
        link_free(&l);

        /* exact match only: no prefix, no case folding */
        link_run(&l, "busd-b", "ca", "busd-a", "busd-a", "ca", "busd-");
        CHECK_EQ_INT(l.hs, -EPROTO);
        link_free(&l);
        link_run(&l, "busd-b", "ca", "busd-a", "busd-a", "ca", "BUSD-B");
        CHECK_EQ_INT(l.hs, -EPROTO);
        link_free(&l);

        /* a DNS subjectAltName other than the CN matches, and is the name reported */
        link_run(&l, "busd-m", "ca", "busd-a", "busd-a", "ca", "alias-m");
        CHECK_EQ_INT(l.hs, 1);
        CHECK_EQ_INT(l.hc, 1);
        CHECK_STREQ(tls_conn_peer_name(l.s), "alias-m");
        link_free(&l);
        link_run(&l, "busd-m", "ca", "busd-a", "busd-a", "ca", "nobody");
        CHECK_STREQ(tls_conn_error(l.s), "peer 'busd-m, alias-m' is not on this link's allowlist (nobody)");
        link_free(&l);

        /* a certificate without CN: its DNS name is its identity */
        link_run(&l, "nocn", "ca", "busd-a", "busd-a", "ca", "busd-n");
        CHECK_EQ_INT(l.hs, 1);
        CHECK_EQ_INT(l.hc, 1);
        CHECK_STREQ(tls_conn_peer_name(l.s), "busd-n");
        CHECK_STREQ(tls_ctx_own_name(l.cctx), "busd-n");
        link_free(&l);

        /* an empty allowlist refuses everyone */
        struct tls_ctx *a = ctx_for("busd-a", "ca"), *b = ctx_for("busd-b", "ca");
        const char *allow_b = "busd-a";
        struct tls_conn *s = tls_conn_new(a, true, NULL, 0), *c = tls_conn_new(b, false, &allow_b, 1);
        int fe = 0;
        CHECK(s && c);
        tls_conn_handshake(c);
        for (int i = 0; i < 5; i++) {
                move(c, s, &fe);
                tls_conn_handshake(s);
                move(s, c, &fe);
                tls_conn_handshake(c);
        }
        CHECK_EQ_INT(tls_conn_handshake(s), -EPROTO);
        CHECK_CONTAINS(tls_conn_error(s), "allowlist (empty");
        CHECK_EQ_INT(tls_conn_handshake(c), -EPROTO);
        tls_conn_free(s);
        tls_conn_free(c);
        tls_ctx_free(a);
        tls_ctx_free(b);
}

static void test_plaintext(void)
{
        struct tls_ctx *a = ctx_for("busd-a", "ca");
        const char *allow = "busd-b";
        const char *hello = "{\"type\":\"hello\"}\n";
        struct tls_conn *s = tls_conn_new(a, true, &allow, 1), *c = tls_conn_new(a, false, &allow, 1);
        char buf[8];

        CHECK_EQ_INT(tls_conn_feed(s, hello, strlen(hello)), -EPROTO);
        CHECK_CONTAINS(tls_conn_error(s), "the peer does not speak TLS (plaintext?)");
        CHECK_CONTAINS(tls_conn_error(s), "{\"type\":\"hello\"}");
        CHECK_EQ_INT(tls_conn_handshake(s), -EPROTO);
        CHECK_EQ_INT(tls_conn_feed(s, "\x16", 1), -EPROTO); /* failed stays failed */
        CHECK_EQ_INT(tls_conn_read(s, buf, sizeof(buf)), -EPROTO);
        CHECK_EQ_INT(tls_conn_write(s, "x", 1), -EPROTO);

        /* a client answered in plaintext; control bytes are not echoed raw */
        CHECK_EQ_INT(tls_conn_handshake(c), 0);
        CHECK_EQ_INT(tls_conn_feed(c, "SSH-2.0-\r\n", 10), -EPROTO);
        CHECK_CONTAINS(tls_conn_error(c), "does not speak TLS");
        CHECK_CONTAINS(tls_conn_error(c), "SSH-2.0-??");
        CHECK_EQ_INT(tls_conn_handshake(c), -EPROTO);
        tls_conn_free(s);
        tls_conn_free(c);

        /* a record header that is not TLS after a plausible first byte */
        s = tls_conn_new(a, true, &allow, 1);
        CHECK_EQ_INT(tls_conn_feed(s, "\x16GET / HTTP/1.1\r\n", 17), 0);
        CHECK_EQ_INT(tls_conn_handshake(s), -EPROTO);
        CHECK(tls_conn_error(s)[0]);
        tls_conn_free(s);
        tls_ctx_free(a);
}

/* A ClientHello that claims 100,000 bytes, sent as full records: OpenSSL
 * would wait for all of it; the pre-auth limit stops it. */
static size_t fake_hello(unsigned char *out, size_t cap)
{
        size_t len = 0;

        while (len + 5 + 16384 <= cap) {
                unsigned char *r = out + len;
                r[0] = 0x16, r[1] = 3, r[2] = 1, r[3] = 0x40, r[4] = 0; /* 16384 bytes */
                memset(r + 5, 0, 16384);
                if (len == 0)
                        r[5] = 1, r[6] = 0x01, r[7] = 0x86, r[8] = 0xa0; /* ClientHello, 100000 */
                len += 5 + 16384;
        }
        return len;
}

static void test_preauth_limit(void)
{
        struct tls_ctx *a = ctx_for("busd-a", "ca");
        const char *allow = "busd-b";
        size_t cap = 6 * (5 + 16384), len, fed = 0;
        unsigned char *junk = malloc(cap);
        struct tls_conn *s = tls_conn_new(a, true, &allow, 1);
        int r = 0;

        CHECK(junk && s);
        len = fake_hello(junk, cap);
        CHECK(len > TLS_PREAUTH_MAX);
        /* 1 KiB at a time: accepted up to the limit, refused beyond */
        while (fed < len) {
                size_t n = len - fed < 1024 ? len - fed : 1024;
                r = tls_conn_feed(s, junk + fed, n);
                if (r < 0)
                        break;
                CHECK_EQ_INT(tls_conn_handshake(s), 0);
                fed += n;
        }
        CHECK_EQ_INT(r, -EMSGSIZE);
        CHECK_EQ_INT(fed, TLS_PREAUTH_MAX); /* exactly TLS_PREAUTH_MAX was fine */
        CHECK_CONTAINS(tls_conn_error(s), "more than 65536 bytes arrived before the TLS handshake completed");
        CHECK_EQ_INT(tls_conn_handshake(s), -EPROTO);
        CHECK_EQ_INT(tls_conn_feed(s, junk, 1), -EPROTO);
        tls_conn_free(s);

        /* all in one feed */
        s = tls_conn_new(a, true, &allow, 1);
        CHECK_EQ_INT(tls_conn_feed(s, junk, TLS_PREAUTH_MAX + 1), -EMSGSIZE);
        tls_conn_free(s);
        free(junk);
        tls_ctx_free(a);
}

/* ---- peers that are not this module: a raw OpenSSL end ---- */

struct raw {
        SSL_CTX *ctx;
        SSL *ssl;
        BIO *rbio, *wbio;
};

/* A raw end limited to TLS <= maxver, with cert NAME (or none). */
static void raw_init(struct raw *r, bool server, int maxver, const char *name)
{
        r->ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
        CHECK(r->ctx);
        CHECK(SSL_CTX_set_max_proto_version(r->ctx, maxver) == 1);
        if (name) {
                CHECK(SSL_CTX_use_certificate_chain_file(r->ctx, path(name, "pem")) == 1);
                CHECK(SSL_CTX_use_PrivateKey_file(r->ctx, path(name, "key"), SSL_FILETYPE_PEM) == 1);
        }
        r->ssl = SSL_new(r->ctx);
        r->rbio = BIO_new(BIO_s_mem());
        r->wbio = BIO_new(BIO_s_mem());
        CHECK(r->ssl && r->rbio && r->wbio);
        BIO_set_mem_eof_return(r->rbio, -1);
        SSL_set_bio(r->ssl, r->rbio, r->wbio);
        if (server)
                SSL_set_accept_state(r->ssl);
        else
                SSL_set_connect_state(r->ssl);
}

static void raw_deinit(struct raw *r)
{
        SSL_free(r->ssl);
        SSL_CTX_free(r->ctx);
        ERR_clear_error();
}

/* Drives a raw end against t until nothing moves; returns t's last handshake result. */
static int raw_run(struct raw *r, struct tls_conn *t)
{
        unsigned char buf[4096];
        int h = tls_conn_handshake(t);

        for (int i = 0; i < 20; i++) {
                size_t moved = 0;
                int n;
                SSL_do_handshake(r->ssl);
                while ((n = BIO_read(r->wbio, buf, sizeof(buf))) > 0) {
                        tls_conn_feed(t, buf, (size_t)n);
                        moved += (size_t)n;
                }
                h = tls_conn_handshake(t);
                size_t k;
                while ((k = tls_conn_take_output(t, buf, sizeof(buf))) > 0) {
                        CHECK(BIO_write(r->rbio, buf, (int)k) == (int)k);
                        moved += k;
                }
                if (moved == 0)
                        break;
        }
        ERR_clear_error();
        if (getenv("TEST_TLS_VERBOSE"))
                fprintf(stderr, "raw: %d \"%s\"\n", h, tls_conn_error(t));
        return h;
}

static void test_tls12_refused(void)
{
        struct tls_ctx *a = ctx_for("busd-a", "ca");
        const char *allow = "busd-b";
        struct tls_conn *t;
        struct raw r;

        /* a TLS 1.2-only client with a valid certificate */
        raw_init(&r, false, TLS1_2_VERSION, "busd-b");
        t = tls_conn_new(a, true, &allow, 1);
        CHECK_EQ_INT(raw_run(&r, t), -EPROTO);
        CHECK_CONTAINS(tls_conn_error(t), "the peer does not offer TLS 1.3");
        CHECK(SSL_is_init_finished(r.ssl) == 0);
        tls_conn_free(t);
        raw_deinit(&r);

        /* our client against a TLS 1.2-only server */
        raw_init(&r, true, TLS1_2_VERSION, "busd-b");
        t = tls_conn_new(a, false, &allow, 1);
        CHECK_EQ_INT(raw_run(&r, t), -EPROTO);
        CHECK_CONTAINS(tls_conn_error(t), "protocol version");
        CHECK_CONTAINS(tls_conn_error(t), "TLS 1.3");
        tls_conn_free(t);
        raw_deinit(&r);
        tls_ctx_free(a);
}

static int accept_any(int ok, X509_STORE_CTX *sctx)
{
        return 1;
}

static void test_no_client_cert(void)
{
        struct tls_ctx *a = ctx_for("busd-a", "ca");
        const char *allow = "busd-b";
        struct tls_conn *t = tls_conn_new(a, true, &allow, 1);
        struct raw r;

        raw_init(&r, false, TLS1_3_VERSION, NULL);
        CHECK_EQ_INT(raw_run(&r, t), -EPROTO);
        CHECK_CONTAINS(tls_conn_error(t), "the peer sent no certificate");
        tls_conn_free(t);
        raw_deinit(&r);

        /* a TLS 1.3 server with a good certificate that never sends the
         * acceptance byte but data: not a bridge */
        t = tls_conn_new(a, false, &allow, 1);
        raw_init(&r, true, TLS1_3_VERSION, "busd-b");
        SSL_set_verify(r.ssl, SSL_VERIFY_PEER, accept_any);
        SSL_CTX_set_num_tickets(r.ctx, 0);
        raw_run(&r, t);
        CHECK(SSL_is_init_finished(r.ssl));
        CHECK(SSL_write(r.ssl, "{", 1) == 1);
        CHECK_EQ_INT(raw_run(&r, t), -EPROTO);
        CHECK_CONTAINS(tls_conn_error(t), "not a busd bridge");
        tls_conn_free(t);
        raw_deinit(&r);
        tls_ctx_free(a);
}

static void test_tampered(void)
{
        struct link l;
        unsigned char buf[256];
        size_t n;

        link_run(&l, "busd-b", "ca", "busd-a", "busd-a", "ca", "busd-b");
        CHECK_EQ_INT(l.hc, 1);
        CHECK_EQ_INT(tls_conn_write(l.c, "secret message\n", 15), 0);
        n = tls_conn_take_output(l.c, buf, sizeof(buf));
        CHECK(n > 15);
        buf[n - 3] ^= 0x40;
        CHECK_EQ_INT(tls_conn_feed(l.s, buf, n), 0);
        CHECK_EQ_INT(tls_conn_read(l.s, buf, sizeof(buf)), -EPROTO);
        CHECK_CONTAINS(tls_conn_error(l.s), "during the link");
        CHECK_STREQ(tls_conn_peer_name(l.s), "busd-b"); /* still known, for the logs */
        CHECK_EQ_INT(tls_conn_write(l.s, "x", 1), -EPROTO);
        link_free(&l);
}

static void test_ctx_errors(void)
{
        struct tls_ctx *ctx = (struct tls_ctx *)&ctx; /* must stay untouched */
        struct tls_ctx *const before = ctx;
        char err[TLS_ERROR_MAX];
        struct tls_config cfg;
        char missing[300];

        snprintf(missing, sizeof(missing), "%s/nope.pem", certdir);
        cfg = (struct tls_config){ missing, path("busd-a", "key"), path("ca", "pem") };
        CHECK_EQ_INT(tls_ctx_new(&cfg, &ctx, err, sizeof(err)), -ENOENT);
        CHECK_CONTAINS(err, "cert_file ");
        CHECK_CONTAINS(err, missing);
        CHECK_CONTAINS(err, "No such file");

        cfg = (struct tls_config){ path("busd-a", "pem"), path("busd-a", "key"), missing };
        CHECK_EQ_INT(tls_ctx_new(&cfg, &ctx, err, sizeof(err)), -ENOENT);
        CHECK_CONTAINS(err, "ca_file ");
        CHECK_CONTAINS(err, missing);

        cfg = (struct tls_config){ path("busd-a", "pem"), path("busd-b", "key"), path("ca", "pem") };
        CHECK_EQ_INT(tls_ctx_new(&cfg, &ctx, err, sizeof(err)), -EINVAL);
        CHECK_CONTAINS(err, path("busd-b", "key"));
        CHECK_CONTAINS(err, "does not match");
        CHECK_CONTAINS(err, path("busd-a", "pem"));

        /* PEM of the wrong kind in each place */
        cfg = (struct tls_config){ path("busd-a", "key"), path("busd-a", "key"), path("ca", "pem") };
        CHECK_EQ_INT(tls_ctx_new(&cfg, &ctx, err, sizeof(err)), -EINVAL);
        CHECK_CONTAINS(err, "cert_file ");
        CHECK_CONTAINS(err, path("busd-a", "key"));
        cfg = (struct tls_config){ path("busd-a", "pem"), path("busd-a", "pem"), path("ca", "pem") };
        CHECK_EQ_INT(tls_ctx_new(&cfg, &ctx, err, sizeof(err)), -EINVAL);
        CHECK_CONTAINS(err, "key_file ");
        cfg = (struct tls_config){ path("busd-a", "pem"), path("busd-a", "key"), path("ca", "key") };
        CHECK_EQ_INT(tls_ctx_new(&cfg, &ctx, err, sizeof(err)), -EINVAL);
        CHECK_CONTAINS(err, "ca_file ");
        CHECK_CONTAINS(err, path("ca", "key"));

        cfg = (struct tls_config){ path("busd-a", "pem"), NULL, path("ca", "pem") };
        CHECK_EQ_INT(tls_ctx_new(&cfg, &ctx, err, sizeof(err)), -EINVAL);
        CHECK_STREQ(err, "no key_file configured");
        cfg = (struct tls_config){ "", path("busd-a", "key"), path("ca", "pem") };
        CHECK_EQ_INT(tls_ctx_new(&cfg, &ctx, err, sizeof(err)), -EINVAL);
        CHECK(ctx == before);

        /* a cert file with the chain: leaf and its CA */
        char chain[300];
        snprintf(chain, sizeof(chain), "%s/chain.pem", certdir);
        char cmd[1024];
        snprintf(cmd, sizeof(cmd), "cat '%s' '%s' > '%s'", path("busd-m", "pem"), path("ca", "pem"), chain);
        CHECK_EQ_INT(system(cmd), 0);
        cfg = (struct tls_config){ chain, path("busd-m", "key"), path("ca", "pem") };
        CHECK_EQ_INT(tls_ctx_new(&cfg, &ctx, err, sizeof(err)), 0);
        CHECK_STREQ(tls_ctx_own_name(ctx), "busd-m");
        tls_ctx_free(ctx);
        tls_ctx_free(NULL);
        tls_conn_free(NULL);
}

/* Also when a CHECK exits. */
static void remove_certdir(void)
{
        char cmd[128];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", certdir);
        if (system(cmd) != 0)
                fprintf(stderr, "test_tls: could not remove %s\n", certdir);
}

int main(int argc, char **argv)
{
        char cmd[1024];

        if (argc != 2) {
                fprintf(stderr, "usage: %s path/to/gen-test-certs.sh\n", argv[0]);
                return 2;
        }
        snprintf(certdir, sizeof(certdir), "/tmp/busd-test-tls-XXXXXX");
        CHECK(mkdtemp(certdir));
        atexit(remove_certdir);
        snprintf(cmd, sizeof(cmd), "'%s' '%s'", argv[1], certdir);
        CHECK_EQ_INT(system(cmd), 0);

        test_established();
        test_data();
        test_data_behind_acceptance();
        test_wrong_ca();
        test_expired();
        test_allowlist();
        test_plaintext();
        test_preauth_limit();
        test_tls12_refused();
        test_no_client_cert();
        test_tampered();
        test_ctx_errors();

        printf("test_tls: all passed\n");
        return 0;
}
