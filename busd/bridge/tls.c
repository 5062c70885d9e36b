/* tls.c: see tls.h. OpenSSL 3 over memory BIOs: ciphertext in through a read
 * BIO, out through a write BIO. No sockets, no libuv; files are read only by
 * tls_ctx_new().
 *
 * The peer check is one function, verify_peer(), installed as the whole
 * certificate verification of every handshake (SSL_CTX_set_cert_verify_callback):
 * it runs OpenSSL's chain verification against ca_file and then the link's
 * allowlist, so a refused peer is refused inside the handshake, with an alert.
 */
#include "tls.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

/* Names shown in messages are cut at this many bytes. */
#define NAME_SHOWN_MAX 64

struct tls_ctx {
        SSL_CTX *ssl;
        char *own_name;
};

enum tls_state { TLS_HANDSHAKE, TLS_ESTABLISHED, TLS_FAILED };

struct tls_conn {
        SSL *ssl; /* owns rbio and wbio */
        BIO *rbio, *wbio;
        enum tls_state state;
        bool server;
        bool first_seen;  /* the peer's first byte has been checked */
        bool shut;        /* our close_notify is out */
        bool peer_closed; /* the peer's close_notify arrived */
        bool established; /* it was, even if it failed since */
        size_t preauth;   /* ciphertext fed while not established */
        char **allow;
        size_t nallow;
        char *own_name;             /* for hints in messages */
        char *peer_name;            /* set by verify_peer() */
        char reason[TLS_ERROR_MAX]; /* verify_peer()'s refusal, until the handshake reports it */
        char error[TLS_ERROR_MAX];
};

/* ---- names in certificates ---- */

/* Calls fn with the certificate's names in order: its CN (the last CN of the
 * subject, the most specific), then each DNS subjectAltName. Names that are
 * empty or hold a NUL are skipped. Stops and returns true when fn does. */
static bool cert_names(X509 *x, bool (*fn)(const char *name, void *ud), void *ud)
{
        X509_NAME *subject = X509_get_subject_name(x);
        int last = -1, i = -1;
        bool stop = false;

        while (subject && (i = X509_NAME_get_index_by_NID(subject, NID_commonName, i)) >= 0)
                last = i;
        if (last >= 0) {
                unsigned char *u = NULL;
                int len = ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, last)));
                if (len > 0 && strlen((char *)u) == (size_t)len)
                        stop = fn((char *)u, ud);
                OPENSSL_free(u);
        }
        GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
        for (int k = 0; !stop && k < sk_GENERAL_NAME_num(gens); k++) {
                const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, k);
                if (g->type != GEN_DNS)
                        continue;
                const unsigned char *d = ASN1_STRING_get0_data(g->d.dNSName);
                int len = ASN1_STRING_length(g->d.dNSName);
                if (len <= 0 || memchr(d, 0, (size_t)len))
                        continue;
                char *s = strndup((const char *)d, (size_t)len);
                if (!s)
                        break;
                stop = fn(s, ud);
                free(s);
        }
        GENERAL_NAMES_free(gens);
        return stop;
}

static bool first_name_fn(const char *name, void *ud)
{
        *(char **)ud = strdup(name);
        return true;
}

/* The certificate's first name (see cert_names()), malloc'd; NULL if none. */
static char *cert_first_name(X509 *x)
{
        char *name = NULL;

        if (x)
                cert_names(x, first_name_fn, &name);
        return name;
}

/* Appends s to the NUL-terminated text in buf (size n), control characters
 * shown as '?', at most NAME_SHOWN_MAX bytes of it. Truncates silently. */
static void append_shown(char *buf, size_t n, const char *s)
{
        size_t len = strlen(buf), k = 0;

        for (; s[k] && k < NAME_SHOWN_MAX && len + 1 < n; k++) {
                unsigned char c = (unsigned char)s[k];
                buf[len++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
        }
        if (s[k] && len + 3 < n) {
                memcpy(buf + len, "...", 3);
                len += 3;
        }
        buf[len] = 0;
}

static void append_raw(char *buf, size_t n, const char *s)
{
        size_t len = strlen(buf);

        if (len + 1 < n)
                snprintf(buf + len, n - len, "%s", s);
}

struct allow_match {
        const struct tls_conn *t;
        char *matched;
        char names[TLS_ERROR_MAX / 2]; /* all names, for the refusal */
        unsigned count;
};

static bool allow_fn(const char *name, void *ud)
{
        struct allow_match *m = ud;

        char shown[NAME_SHOWN_MAX + 8] = "";
        bool dup = false;

        append_shown(shown, sizeof(shown), name); /* the CN is often also a DNS name: once */
        for (const char *p = m->names; m->count && !dup && p; p = strstr(p, ", "), p = p ? p + 2 : NULL) {
                size_t k = strcspn(p, ",");
                dup = k == strlen(shown) && strncmp(p, shown, k) == 0;
        }
        if (!dup) {
                if (m->count++)
                        append_raw(m->names, sizeof(m->names), ", ");
                append_raw(m->names, sizeof(m->names), shown);
        }
        for (size_t i = 0; i < m->t->nallow; i++) {
                if (strcmp(name, m->t->allow[i]) == 0) {
                        m->matched = strdup(name);
                        return true;
                }
        }
        return false;
}

/* ---- errors ---- */

static void set_reason(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_reason(char *buf, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(buf, TLS_ERROR_MAX, fmt, ap);
        va_end(ap);
}

/* Marks the link failed with a reason (the first one stays) and returns ret. */
static int fail(struct tls_conn *t, int ret, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct tls_conn *t, int ret, const char *fmt, ...)
{
        va_list ap;

        if (t->state != TLS_FAILED) {
                va_start(ap, fmt);
                vsnprintf(t->error, sizeof(t->error), fmt, ap);
                va_end(ap);
                t->state = TLS_FAILED;
        }
        return ret;
}

/* The earliest error of OpenSSL's queue (the root cause), draining it. */
static unsigned long take_openssl_error(void)
{
        unsigned long first = ERR_get_error(), e;

        while ((e = ERR_get_error()) != 0)
                ;
        return first;
}

static const char *openssl_reason(unsigned long e)
{
        const char *r = e ? ERR_reason_error_string(e) : NULL;

        return r ? r : "unknown OpenSSL error";
}

/* What a received alert most likely means, for the operator. */
static const char *alert_hint(int reason)
{
        switch (reason - SSL_AD_REASON_OFFSET) {
        case SSL_AD_UNKNOWN_CA:
                return "it does not trust the CA that signed our certificate";
        case SSL_AD_CERTIFICATE_EXPIRED:
                return "it says our certificate has expired (or is not valid yet: check both clocks)";
        case SSL_AD_BAD_CERTIFICATE:
        case SSL_AD_CERTIFICATE_UNKNOWN:
        case SSL_AD_HANDSHAKE_FAILURE:
        case SSL_AD_ACCESS_DENIED:
                return "it rejected our certificate: is our name on its allowlist for this link?";
        case SSL_AD_CERTIFICATE_REQUIRED:
                return "it wants a client certificate";
        case SSL_AD_PROTOCOL_VERSION:
                return "it does not speak TLS 1.3";
        default:
                return "see its log";
        }
}

/* The link failed inside OpenSSL (ret: what the SSL call returned): builds
 * the reason from what the verification said or from the error queue. */
static int fail_ssl(struct tls_conn *t, int ret)
{
        int code = SSL_get_error(t->ssl, ret);
        unsigned long e = take_openssl_error();
        int lib = ERR_GET_LIB(e), r = ERR_GET_REASON(e);
        const char *phase = t->state == TLS_HANDSHAKE ? "the handshake" : "the link";

        if (t->reason[0])
                return fail(t, -EPROTO, "%s", t->reason);
        if (code == SSL_ERROR_SSL && lib == ERR_LIB_SSL && r >= SSL_AD_REASON_OFFSET) {
                char own[NAME_SHOWN_MAX + 8] = "";
                append_shown(own, sizeof(own), t->own_name);
                return fail(t, -EPROTO, "the peer refused %s (%s): %s (we are '%s')", phase, openssl_reason(e),
                            alert_hint(r), own);
        }
        if (code == SSL_ERROR_SSL && lib == ERR_LIB_SSL && t->state == TLS_HANDSHAKE) {
                switch (r) {
                case SSL_R_WRONG_VERSION_NUMBER:
                case SSL_R_HTTP_REQUEST:
                case SSL_R_PACKET_LENGTH_TOO_LONG:
                        return fail(t, -EPROTO, "the peer does not speak TLS (plaintext?): %s", openssl_reason(e));
                case SSL_R_UNSUPPORTED_PROTOCOL:
                case SSL_R_UNSUPPORTED_SSL_VERSION:
                case SSL_R_VERSION_TOO_LOW:
                        return fail(t, -EPROTO, "the peer does not offer TLS 1.3, the only version bridges use (%s)",
                                    openssl_reason(e));
                case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
                        return fail(t, -EPROTO, "the peer sent no certificate (%s)", openssl_reason(e));
                default:
                        break;
                }
        }
        if (code == SSL_ERROR_SSL)
                return fail(t, -EPROTO, "TLS failure during %s: %s", phase, openssl_reason(e));
        return fail(t, -EPROTO, "TLS failure during %s (SSL error %d%s%s)", phase, code, e ? ": " : "",
                    e ? openssl_reason(e) : "");
}

/* ---- the peer check ---- */

/* What a verification error most likely means, for the operator. */
static const char *verify_hint(int err)
{
        switch (err) {
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
        case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
        case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
                return ": not signed by a CA of our ca_file";
        case X509_V_ERR_CERT_NOT_YET_VALID:
        case X509_V_ERR_CERT_HAS_EXPIRED:
                return ": check its validity dates and both clocks";
        case X509_V_ERR_INVALID_PURPOSE:
                return ": its extendedKeyUsage must allow serverAuth and clientAuth";
        default:
                return "";
        }
}

/* The whole certificate verification of a handshake: the chain against
 * ca_file (OpenSSL), then the allowlist against the leaf's names. On refusal
 * the reason goes to the connection and the store's error to the verify
 * result (OpenSSL turns it into the alert the peer gets). Returns 1 accept, 0 refuse. */
static int verify_peer(X509_STORE_CTX *sctx, void *arg)
{
        SSL *ssl = X509_STORE_CTX_get_ex_data(sctx, SSL_get_ex_data_X509_STORE_CTX_idx());
        struct tls_conn *t = ssl ? SSL_get_app_data(ssl) : NULL;
        X509 *leaf = X509_STORE_CTX_get0_cert(sctx);

        if (!t || !leaf) {
                X509_STORE_CTX_set_error(sctx, X509_V_ERR_UNSPECIFIED);
                return 0;
        }
        if (X509_verify_cert(sctx) != 1) {
                int err = X509_STORE_CTX_get_error(sctx), depth = X509_STORE_CTX_get_error_depth(sctx);
                X509 *at = X509_STORE_CTX_get_current_cert(sctx);
                char *name = cert_first_name(at ? at : leaf);
                char shown[NAME_SHOWN_MAX + 8] = "", issuer[256] = "?";
                append_shown(shown, sizeof(shown), name ? name : "(no name)");
                free(name);
                X509_NAME_oneline(X509_get_issuer_name(at ? at : leaf), issuer, sizeof(issuer));
                if (depth > 0)
                        set_reason(
                                t->reason,
                                "certificate verify failed: %s (certificate '%s' at depth %d of the peer's chain, issuer %s%s)",
                                X509_verify_cert_error_string(err), shown, depth, issuer, verify_hint(err));
                else
                        set_reason(t->reason, "certificate verify failed: %s (peer certificate '%s', issuer %s%s)",
                                   X509_verify_cert_error_string(err), shown, issuer, verify_hint(err));
                return 0;
        }

        struct allow_match m = { .t = t };
        if (!cert_names(leaf, allow_fn, &m) || !m.matched) {
                char list[TLS_ERROR_MAX / 2] = "";
                for (size_t i = 0; i < t->nallow; i++) {
                        if (i)
                                append_raw(list, sizeof(list), ", ");
                        append_shown(list, sizeof(list), t->allow[i]);
                }
                if (m.count == 0)
                        set_reason(t->reason, "the peer's certificate carries no name (no CN, no DNS subjectAltName)");
                else
                        set_reason(t->reason, "peer '%s' is not on this link's allowlist (%s)", m.names,
                                   t->nallow ? list : "empty: nobody is accepted");
                free(m.matched);
                X509_STORE_CTX_set_error(sctx, X509_V_ERR_HOSTNAME_MISMATCH);
                return 0;
        }
        free(t->peer_name);
        t->peer_name = m.matched;
        return 1;
}

/* ---- the context ---- */

/* Fills err with "what path: reason" and returns ret. */
static int ctx_error(char *err, size_t errlen, int ret, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int ctx_error(char *err, size_t errlen, int ret, const char *fmt, ...)
{
        va_list ap;

        if (errlen) {
                va_start(ap, fmt);
                vsnprintf(err, errlen, fmt, ap);
                va_end(ap);
        }
        return ret;
}

/* Opens path for reading to report the system's reason (ENOENT, EACCES)
 * before OpenSSL does it less clearly. Returns 0 or a negative errno. */
static int check_readable(const char *what, const char *path, char *err, size_t errlen)
{
        FILE *f;

        if (!path || !*path)
                return ctx_error(err, errlen, -EINVAL, "no %s configured", what);
        f = fopen(path, "r");
        if (!f) {
                int e = errno;
                return ctx_error(err, errlen, -e, "%s %s: %s", what, path, strerror(e));
        }
        fclose(f);
        return 0;
}

int tls_ctx_new(const struct tls_config *cfg, struct tls_ctx **ret, char *err, size_t errlen)
{
        static const unsigned char sid_ctx[] = "busd-bridge";
        struct tls_ctx *ctx;
        SSL_CTX *c;
        int r;

        if (errlen)
                err[0] = 0;
        if ((r = check_readable("cert_file", cfg->cert_file, err, errlen)) < 0 ||
            (r = check_readable("key_file", cfg->key_file, err, errlen)) < 0 ||
            (r = check_readable("ca_file", cfg->ca_file, err, errlen)) < 0)
                return r;
        ctx = calloc(1, sizeof(*ctx));
        if (!ctx)
                return ctx_error(err, errlen, -ENOMEM, "out of memory");
        ERR_clear_error();
        c = ctx->ssl = SSL_CTX_new(TLS_method());
        if (!c) {
                r = ctx_error(err, errlen, -ENOMEM, "cannot create a TLS context: %s",
                              openssl_reason(take_openssl_error()));
                goto fail;
        }
        if (!SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION) || !SSL_CTX_set_max_proto_version(c, TLS1_3_VERSION) ||
            !SSL_CTX_set_num_tickets(c, 0) || !SSL_CTX_set_session_id_context(c, sid_ctx, sizeof(sid_ctx) - 1)) {
                r = ctx_error(err, errlen, -EINVAL, "cannot configure TLS 1.3: %s",
                              openssl_reason(take_openssl_error()));
                goto fail;
        }
        SSL_CTX_set_options(c, SSL_OP_NO_TICKET | SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
        SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
        SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS); /* idle links keep no record buffers */
        SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
        SSL_CTX_set_cert_verify_callback(c, verify_peer, NULL);

        if (SSL_CTX_use_certificate_chain_file(c, cfg->cert_file) != 1) {
                r = ctx_error(err, errlen, -EINVAL, "cert_file %s: no usable PEM certificate (%s)", cfg->cert_file,
                              openssl_reason(take_openssl_error()));
                goto fail;
        }
        if (SSL_CTX_use_PrivateKey_file(c, cfg->key_file, SSL_FILETYPE_PEM) != 1) {
                unsigned long e = take_openssl_error();
                if (ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH || ERR_GET_REASON(e) == X509_R_KEY_TYPE_MISMATCH)
                        r = ctx_error(err, errlen, -EINVAL, "key_file %s does not match cert_file %s (%s)",
                                      cfg->key_file, cfg->cert_file, openssl_reason(e));
                else
                        r = ctx_error(err, errlen, -EINVAL, "key_file %s: no usable PEM private key (%s)",
                                      cfg->key_file, openssl_reason(e));
                goto fail;
        }
        if (SSL_CTX_check_private_key(c) != 1) {
                r = ctx_error(err, errlen, -EINVAL, "key_file %s does not match cert_file %s (%s)", cfg->key_file,
                              cfg->cert_file, openssl_reason(take_openssl_error()));
                goto fail;
        }
        if (SSL_CTX_load_verify_locations(c, cfg->ca_file, NULL) != 1) {
                r = ctx_error(err, errlen, -EINVAL, "ca_file %s: no usable PEM CA certificate (%s)", cfg->ca_file,
                              openssl_reason(take_openssl_error()));
                goto fail;
        }
        ctx->own_name = cert_first_name(SSL_CTX_get0_certificate(c));
        if (!ctx->own_name) {
                r = ctx_error(err, errlen, -EINVAL,
                              "cert_file %s: the certificate carries no name (no CN, no DNS subjectAltName)",
                              cfg->cert_file);
                goto fail;
        }
        ERR_clear_error();
        *ret = ctx;
        return 0;
fail:
        ERR_clear_error();
        tls_ctx_free(ctx);
        return r;
}

void tls_ctx_free(struct tls_ctx *ctx)
{
        if (!ctx)
                return;
        SSL_CTX_free(ctx->ssl);
        free(ctx->own_name);
        free(ctx);
}

const char *tls_ctx_own_name(const struct tls_ctx *ctx)
{
        return ctx->own_name;
}

/* ---- a link end ---- */

struct tls_conn *tls_conn_new(struct tls_ctx *ctx, bool server, const char *const *allow, size_t nallow)
{
        struct tls_conn *t = calloc(1, sizeof(*t));

        if (!t)
                return NULL;
        t->server = server;
        t->own_name = strdup(ctx->own_name);
        t->allow = nallow ? calloc(nallow, sizeof(*t->allow)) : NULL;
        if (!t->own_name || (nallow && !t->allow))
                goto fail;
        for (; t->nallow < nallow; t->nallow++) {
                t->allow[t->nallow] = strdup(allow[t->nallow]);
                if (!t->allow[t->nallow])
                        goto fail;
        }
        t->ssl = SSL_new(ctx->ssl);
        t->rbio = BIO_new(BIO_s_mem());
        t->wbio = BIO_new(BIO_s_mem());
        if (!t->ssl || !t->rbio || !t->wbio) {
                BIO_free(t->rbio);
                BIO_free(t->wbio);
                t->rbio = t->wbio = NULL;
                goto fail;
        }
        BIO_set_mem_eof_return(t->rbio, -1); /* empty means "wait", not end of stream */
        SSL_set_bio(t->ssl, t->rbio, t->wbio);
        SSL_set_app_data(t->ssl, t);
        if (server)
                SSL_set_accept_state(t->ssl);
        else
                SSL_set_connect_state(t->ssl);
        ERR_clear_error();
        return t;
fail:
        ERR_clear_error();
        tls_conn_free(t);
        return NULL;
}

void tls_conn_free(struct tls_conn *t)
{
        if (!t)
                return;
        SSL_free(t->ssl);
        for (size_t i = 0; i < t->nallow; i++)
                free(t->allow[i]);
        free(t->allow);
        free(t->own_name);
        free(t->peer_name);
        free(t);
}

/* One step of the handshake with what has been fed: see tls_conn_handshake(). */
static int handshake_step(struct tls_conn *t)
{
        unsigned char b;
        size_t n;

        if (t->state == TLS_ESTABLISHED)
                return 1;
        if (t->state == TLS_FAILED)
                return -EPROTO;
        ERR_clear_error();
        if (!SSL_is_init_finished(t->ssl)) {
                int r = SSL_do_handshake(t->ssl);
                if (r != 1) {
                        int code = SSL_get_error(t->ssl, r);
                        if (code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE)
                                return 0;
                        return fail_ssl(t, r);
                }
                /* belt and braces: verify_peer() has run and accepted */
                if (!t->peer_name || SSL_get_verify_result(t->ssl) != X509_V_OK || !SSL_get0_peer_certificate(t->ssl))
                        return fail(t, -EPROTO, "the peer's certificate was not verified");
                if (SSL_version(t->ssl) != TLS1_3_VERSION)
                        return fail(t, -EPROTO, "the peer negotiated %s, not TLS 1.3", SSL_get_version(t->ssl));
                if (t->server) {
                        b = TLS_ACCEPT_BYTE;
                        if (!SSL_write_ex(t->ssl, &b, 1, &n))
                                return fail_ssl(t, 0);
                        t->state = TLS_ESTABLISHED;
                        t->established = true;
                        return 1;
                }
        }
        /* the client: the server's acceptance, or its alert */
        if (!SSL_read_ex(t->ssl, &b, 1, &n)) {
                int code = SSL_get_error(t->ssl, 0);
                if (code == SSL_ERROR_WANT_READ)
                        return 0;
                if (code == SSL_ERROR_ZERO_RETURN)
                        return fail(t, -EPROTO, "the peer closed the link during the handshake");
                return fail_ssl(t, 0);
        }
        if (b != TLS_ACCEPT_BYTE)
                return fail(t, -EPROTO, "the peer is not a busd bridge (its first byte inside TLS is 0x%02x)", b);
        t->state = TLS_ESTABLISHED;
        t->established = true;
        return 1;
}

int tls_conn_handshake(struct tls_conn *t)
{
        return handshake_step(t);
}

static int bio_put(struct tls_conn *t, const unsigned char *p, size_t len)
{
        while (len > 0) {
                int n = BIO_write(t->rbio, p, len > INT_MAX ? INT_MAX : (int)len);
                if (n <= 0) {
                        ERR_clear_error();
                        return -ENOMEM;
                }
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

int tls_conn_feed(struct tls_conn *t, const void *data, size_t len)
{
        const unsigned char *p = data;
        int r;

        if (t->state == TLS_FAILED)
                return -EPROTO;
        if (len == 0)
                return 0;
        if (!t->first_seen) {
                /* every TLS peer begins with a handshake record (or an alert) */
                t->first_seen = true;
                if (p[0] != 0x16 && p[0] != 0x15) {
                        char shown[24] = "";
                        char start[17];
                        size_t k = len < 16 ? len : 16;
                        memcpy(start, p, k);
                        start[k] = 0;
                        append_shown(shown, sizeof(shown), start);
                        return fail(t, -EPROTO, "the peer does not speak TLS (plaintext?): it began with \"%s\"",
                                    shown);
                }
        }
        /* Before being established, at most TLS_PREAUTH_MAX bytes, fed to the
         * handshake piece by piece so that application data arriving right
         * behind the handshake's last bytes does not count. */
        while (len > 0 && t->state == TLS_HANDSHAKE) {
                size_t n = TLS_PREAUTH_MAX - t->preauth;
                if (n == 0)
                        return fail(t, -EMSGSIZE, "more than %u bytes arrived before the TLS handshake completed",
                                    TLS_PREAUTH_MAX);
                if (n > len)
                        n = len;
                if ((r = bio_put(t, p, n)) < 0)
                        return fail(t, r, "out of memory");
                t->preauth += n;
                p += n;
                len -= n;
                if (len > 0 && (r = handshake_step(t)) < 0)
                        return r;
        }
        if (len > 0 && t->state == TLS_ESTABLISHED && (r = bio_put(t, p, len)) < 0)
                return fail(t, r, "out of memory");
        return t->state == TLS_FAILED ? -EPROTO : 0;
}

ssize_t tls_conn_read(struct tls_conn *t, void *buf, size_t len)
{
        size_t n;

        if (t->state == TLS_FAILED)
                return -EPROTO;
        if (t->state != TLS_ESTABLISHED)
                return -ENOTCONN;
        if (t->peer_closed)
                return -EPIPE;
        if (len == 0)
                return 0;
        ERR_clear_error();
        if (SSL_read_ex(t->ssl, buf, len > INT_MAX ? INT_MAX : len, &n))
                return (ssize_t)n;
        switch (SSL_get_error(t->ssl, 0)) {
        case SSL_ERROR_WANT_READ:
                return 0;
        case SSL_ERROR_ZERO_RETURN:
                t->peer_closed = true;
                return -EPIPE;
        default:
                return fail_ssl(t, 0);
        }
}

int tls_conn_write(struct tls_conn *t, const void *data, size_t len)
{
        const unsigned char *p = data;
        size_t n;

        if (t->state == TLS_FAILED)
                return -EPROTO;
        if (t->state != TLS_ESTABLISHED || t->shut)
                return -ENOTCONN;
        ERR_clear_error();
        while (len > 0) {
                /* memory BIO: a write is all or nothing */
                if (!SSL_write_ex(t->ssl, p, len > INT_MAX ? INT_MAX : len, &n))
                        return fail_ssl(t, 0);
                p += n;
                len -= n;
        }
        return 0;
}

size_t tls_conn_take_output(struct tls_conn *t, void *buf, size_t len)
{
        int n;

        if (len == 0 || BIO_ctrl_pending(t->wbio) == 0)
                return 0;
        n = BIO_read(t->wbio, buf, len > INT_MAX ? INT_MAX : (int)len);
        return n > 0 ? (size_t)n : 0;
}

size_t tls_conn_pending_output(const struct tls_conn *t)
{
        return BIO_ctrl_pending(t->wbio);
}

const char *tls_conn_peer_name(const struct tls_conn *t)
{
        return t->established ? t->peer_name : NULL;
}

const char *tls_conn_error(const struct tls_conn *t)
{
        return t->error;
}

void tls_conn_shutdown(struct tls_conn *t)
{
        if (t->shut)
                return;
        t->shut = true;
        if (t->state != TLS_ESTABLISHED)
                return;
        ERR_clear_error();
        SSL_shutdown(t->ssl); /* 0: our close_notify is out, the peer's not in yet */
        ERR_clear_error();
}
