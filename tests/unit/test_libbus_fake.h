/* test_libbus_fake.h: a scripted fake daemon for the libbus unit tests.
 *
 * The test holds the daemon's end of a socketpair and speaks the wire
 * protocol by hand: fake_open() queues a welcome before the bus even sends
 * its hello (the socket buffers it), so the handshake needs no thread.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct bus;
struct json_object;

struct fake {
        int fd; /* the daemon's end */
        bool seqpacket;
        char *buf; /* stream input not yet returned */
        size_t len, cap;
};

/* Makes f the daemon's end fd (taken) of a connection. */
void fake_attach(struct fake *f, int fd, bool seqpacket);
/* A socketpair: f gets the daemon's end; returns the client's end. */
int fake_pair(struct fake *f, bool seqpacket);
/* Opens a bus over a socketpair. limits: the welcome's "limits" object as
 * JSON text, or NULL for the defaults of the transport. Checks the hello. */
void fake_open(struct fake *f, bool seqpacket, const char *limits, struct bus **ret_bus);
/* Sends one message (printf-style JSON text, no line feed). */
void fake_send(struct fake *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Sends raw bytes as they are (stream) or as one packet (seqpacket). */
void fake_send_raw(struct fake *f, const char *data, size_t len);
/* Receives one message, waiting up to timeout_ms; NULL on timeout or EOF.
 * The caller owns the result. */
struct json_object *fake_recv(struct fake *f, int timeout_ms);
/* Receives one message as its text (malloc'ed, NUL-terminated, without the
 * line feed), or NULL as fake_recv(). */
char *fake_recv_text(struct fake *f, int timeout_ms);
/* fake_recv() that must succeed and have the given type. */
struct json_object *fake_expect(struct fake *f, const char *type);
/* True if no byte is waiting from the bus. */
bool fake_idle(struct fake *f);
void fake_close(struct fake *f);
/* Member helpers on a received message. */
const char *fake_str(struct json_object *o, const char *key);
long long fake_int(struct json_object *o, const char *key);
