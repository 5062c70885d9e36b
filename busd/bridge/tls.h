/* tls.h: the bridge's TLS 1.3 layer with mutual certificate authentication,
 * as a pure bytes-in/bytes-out state machine (OpenSSL over memory BIOs).
 *
 * No sockets, no libuv, no timers: the caller moves ciphertext between the
 * socket and tls_conn_feed()/tls_conn_take_output(), and owns the handshake
 * deadline and the cap on half-open links. Reads files only in tls_ctx_new().
 *
 * What a link end checks (docs/bridge-tls.md): TLS 1.3 only; the peer presents
 * a certificate that verifies against ca_file (both roles); one of the peer
 * certificate's names (its CN and its DNS subjectAltNames, exact byte match)
 * is on the link's allowlist. No session tickets or resumption, no
 * renegotiation, no compression, no early data.
 *
 * "Established" means both ends have accepted each other. TLS 1.3 lets a
 * client finish its handshake before the server has looked at the client's
 * certificate; so that a client does not send into a link the server is about
 * to refuse, the server, once it has accepted the client, sends one byte of
 * application data (TLS_ACCEPT_BYTE) that this module consumes on the client:
 * the client is established when it has read that byte, and a refusal arrives
 * instead as the server's alert, reported as a handshake failure. Both ends
 * of a link must therefore use this module.
 *
 * Thread use: a tls_ctx is read-only after tls_ctx_new() and may be shared; a
 * tls_conn is used by one thread at a time. OpenSSL's error queue is cleared
 * and drained by each call.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Ciphertext a link end accepts before it is established (a certificate chain
 * of a few KiB fits many times over). Beyond it, tls_conn_feed() says -EMSGSIZE. */
#define TLS_PREAUTH_MAX (64u * 1024u)
/* The byte the server sends inside TLS when it has accepted the client. */
#define TLS_ACCEPT_BYTE 0x01
/* Longest reason tls_conn_error() / tls_ctx_new() produce, NUL included. */
#define TLS_ERROR_MAX 512

struct tls_config {
        const char *cert_file; /* PEM: this bus's certificate (chain), leaf first */
        const char *key_file;  /* PEM: its private key (unencrypted) */
        const char *ca_file;   /* PEM: the CA(s) that sign peers' certificates */
};

struct tls_ctx;

/* Loads the credentials and makes the settings shared by all links: TLS 1.3
 * only, peer certificate required and verified against ca_file in both roles,
 * no session tickets/resumption, no renegotiation, no compression. Checks that
 * the key matches the certificate and that the certificate carries a name.
 * Returns 0 and *ret, or a negative errno with a reason in err (always
 * NUL-terminated when errlen > 0) naming the file and OpenSSL's reason:
 *   -EINVAL  a field is NULL/empty, a file holds no usable PEM, the key does
 *            not match the certificate, the certificate has no CN/DNS name;
 *   -ENOENT, -EACCES, ...  a file cannot be opened (errno of open());
 *   -ENOMEM.
 * *ret is untouched on failure. */
int tls_ctx_new(const struct tls_config *cfg, struct tls_ctx **ret, char *err, size_t errlen);
/* Accepts NULL. Links made from ctx keep working after it is freed (they hold
 * their own reference on the OpenSSL context), so a reload can replace it. */
void tls_ctx_free(struct tls_ctx *ctx);
/* The name this bus's own certificate carries (its CN, else its first DNS
 * subjectAltName): its bus identity on links. Owned by ctx. */
const char *tls_ctx_own_name(const struct tls_ctx *ctx);

struct tls_conn;

/* One link end: the client (the end that dialled) when server is false.
 * allow: the peer certificate names accepted (copied); an empty allowlist
 * refuses every peer (config validation should reject it before). Returns
 * NULL on ENOMEM. The client's first flight is ready after the first
 * tls_conn_handshake() call. */
struct tls_conn *tls_conn_new(struct tls_ctx *ctx, bool server, const char *const *allow, size_t nallow);
/* Accepts NULL. Sends nothing: call tls_conn_shutdown() first for a clean close. */
void tls_conn_free(struct tls_conn *t);

/* Ciphertext that arrived from the socket (copied; no limit once established:
 * the caller stops reading the socket while it does not call tls_conn_read()).
 * Returns 0, or:
 *   -EPROTO    the link has failed, now or before (e.g. the first byte is not
 *              a TLS record: "the peer does not speak TLS (plaintext?)");
 *   -EMSGSIZE  more than TLS_PREAUTH_MAX bytes before being established (the
 *              link has failed; tls_conn_error() says so too);
 *   -ENOMEM. */
int tls_conn_feed(struct tls_conn *t, const void *data, size_t len);
/* Drives the handshake: call once after tls_conn_new() (the client's hello
 * becomes output) and after every feed until it returns 1. Returns 1
 * established (peer verified, its name on the allowlist, and on the client
 * the server's acceptance read), 0 in progress (send the output, wait for
 * input), -EPROTO failed, with tls_conn_error() saying why, e.g.
 * "certificate verify failed: certificate has expired (peer certificate
 * 'busd-e')", "peer 'busd-x' is not on this link's allowlist (busd-b,
 * busd-c)", "the peer does not speak TLS (plaintext?)", "the peer refused
 * the handshake (tlsv1 alert unknown ca): ...". After a failure the output
 * may hold an alert for the peer: send it if you can, then close. */
int tls_conn_handshake(struct tls_conn *t);
/* Plaintext received, once established: copies up to len bytes into buf and
 * returns how many; 0 when nothing is available now (feed more), -EPIPE when
 * the peer closed the TLS session cleanly (close_notify: no more data will
 * come), -EPROTO when the link failed (corrupt record, alert; reason in
 * tls_conn_error()), -ENOTCONN before established. May produce output (a
 * TLS 1.3 key update answer): check tls_conn_pending_output() afterwards. */
ssize_t tls_conn_read(struct tls_conn *t, void *buf, size_t len);
/* Encrypts plaintext into the output (copied, all of it: the output grows;
 * bound it with tls_conn_pending_output()). Returns 0, -ENOTCONN before
 * established or after tls_conn_shutdown(), -EPROTO when the link failed,
 * -ENOMEM. */
int tls_conn_write(struct tls_conn *t, const void *data, size_t len);
/* Ciphertext waiting to go to the socket: moves up to len bytes into buf and
 * returns how many (0: none). */
size_t tls_conn_take_output(struct tls_conn *t, void *buf, size_t len);
size_t tls_conn_pending_output(const struct tls_conn *t);
/* Once established: the peer certificate's name that matched the allowlist,
 * the bus identity of the remote end. NULL before. Owned by t. */
const char *tls_conn_peer_name(const struct tls_conn *t);
/* Why the link failed; "" while it has not. Owned by t. */
const char *tls_conn_error(const struct tls_conn *t);
/* Sends close_notify (it becomes output); later writes are refused. Reading
 * still works until the peer's close_notify (-EPIPE). */
void tls_conn_shutdown(struct tls_conn *t);
