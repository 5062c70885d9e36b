/* bridgecfg.h: the bridge's configuration file (docs/bridge.md), and the
 * same settings from the command line (--bridge-listen, --bridge-connect,
 * --bridge-peer, --bridge-cert/key/ca).
 *
 *   {
 *     "cert": "/etc/busd/bridge/busd-a.pem", "key": "...", "ca": "...",
 *     "listen": ["0.0.0.0:7400", "[::]:7400"],
 *     "links": [
 *       { "name": "to-b", "connect": "10.0.0.2:7400", "peers": ["busd-b"],
 *         "export": { "topics": ["sensors.>"], "names": ["org.example.*"] },
 *         "import": { "topics": [">"], "names": ["*"], "prefix": "site-b." } },
 *       { "name": "from-c", "peers": ["busd-c"], "export": {...}, "import": {...} }
 *     ],
 *     "max_hops": 8, "queue_bytes": 4194304, "keepalive_ms": 1000, "timeout_ms": 5000,
 *     "handshake_timeout_ms": 5000, "max_half_open": 16,
 *     "reconnect_min_ms": 200, "reconnect_max_ms": 30000
 *   }
 *
 * A link with "connect" is dialled (and re-dialled); one without waits for
 * its peers on the "listen" addresses. Parsed strictly (unknown keys, wrong
 * types, bad names/patterns/addresses are errors naming the place). Pure.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "bridge.h"

#define BRIDGECFG_MAX_LINKS 64
#define BRIDGECFG_MAX_LISTEN 8
#define BRIDGECFG_MAX_PEERS 64
#define BRIDGECFG_MAX_PATTERNS 256

struct bridge_link_config {
        char *name;
        char *connect; /* "10.0.0.2:7400", "[v6]:port" or "host.name:port"; NULL: accepted on listen */
        char **peers;  /* certificate names allowed at the other end */
        size_t npeers;
        struct bridge_filter exp, imp;
};

struct bridge_config {
        char *cert, *key, *ca;
        char **listen;
        size_t nlisten;
        struct bridge_link_config *links;
        size_t nlinks;
        unsigned max_hops;
        size_t queue_bytes;    /* per link: events beyond are dropped and counted */
        unsigned keepalive_ms; /* a ping when the link was quiet this long */
        unsigned timeout_ms;   /* nothing heard for this long: the link is down */
        unsigned handshake_timeout_ms;
        unsigned max_half_open; /* accepted connections not yet authenticated */
        unsigned reconnect_min_ms, reconnect_max_ms;
};

/* Parses a file's text. Returns 0, or -EINVAL/-ENOMEM with "path: reason" in
 * err; on failure *ret is untouched. */
int bridgecfg_parse(const char *text, size_t len, struct bridge_config *ret, char *err, size_t errlen);
/* The defaults with no link (the base for command-line settings). */
void bridgecfg_defaults(struct bridge_config *c);
/* Adds the command line's settings: listen addresses, dialled links (all
 * with the peers given, exporting and importing every topic and name), one
 * accepting link for those peers when there are listen addresses, and the
 * credentials (each overrides the file's). Returns 0 or -EINVAL/-ENOMEM. */
int bridgecfg_add_cli(struct bridge_config *c, char *const *listen, size_t nlisten, char *const *connect,
                      size_t nconnect, char *const *peers, size_t npeers, const char *cert, const char *key,
                      const char *ca, char *err, size_t errlen);
/* Checks what a bridge needs to run: credentials, at least one link, every
 * link with peers, connect addresses and listen addresses that parse.
 * Returns 0 or -EINVAL with the reason. */
int bridgecfg_check(const struct bridge_config *c, char *err, size_t errlen);
void bridgecfg_free(struct bridge_config *c);
/* "host:port" / "[v6]:port" into a sockaddr (numeric addresses only).
 * Returns 0 or -EINVAL. */
struct sockaddr_storage;
int bridgecfg_address(const char *s, struct sockaddr_storage *ret);
/* A dial address ("host:port", "[v6]:port" or "dns.name:port") split into
 * host (brackets removed) and port. Returns 0 or -EINVAL. */
int bridgecfg_host_port(const char *s, char *host, size_t hostlen, char *port, size_t portlen);
