/* metricsaddr.h: the address busd serves its metrics on (--metrics-listen,
 * the file's `metrics_listen`; docs/busd.md, METRICS).
 *
 * A Unix socket path (`unix:/path` or a bare absolute path, as for --listen;
 * `seqpacket:` is refused: HTTP needs a stream), or a loopback TCP address:
 * `127.0.0.1:PORT` (any 127.0.0.0/8 address), `[::1]:PORT` or
 * `localhost:PORT` (127.0.0.1). Other hosts are refused: the metrics have no
 * access control of their own beyond who can reach the socket. Pure: text in,
 * struct out; no sockets here (busd/io/httpmetrics.c binds it).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "address.h"

struct metricsaddr {
        bool set;         /* false: metrics are not served */
        bool unix_socket; /* a Unix socket at path, else TCP */
        char path[108];   /* Unix: the socket's path (fits sun_path) */
        bool ipv6;        /* TCP: [::1], else the IPv4 address ip4 */
        uint8_t ip4[4];   /* TCP over IPv4: 127.x.y.z */
        uint16_t port;    /* TCP: 1 to 65535 */
        char text[128];   /* the address as given, for logs */
};

/* Parses s into *ret (set = true). Returns 0, or -EINVAL with the reason in
 * err ("not a loopback address ..."); *ret is untouched on failure. */
int metricsaddr_parse(const char *s, struct metricsaddr *ret, char *err, size_t errlen);

/* Whether two addresses are the same (both unset counts as the same). */
bool metricsaddr_same(const struct metricsaddr *a, const struct metricsaddr *b);
