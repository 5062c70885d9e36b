/* metricsaddr.c: see metricsaddr.h. Text in, struct out; no I/O. */
#include "metricsaddr.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define METRICSADDR_FORMS "use /path, unix:/path, 127.0.0.1:PORT, [::1]:PORT or localhost:PORT"

/* A decimal number from 0 to max, all of s..s+len. */
static bool decimal(const char *s, size_t len, unsigned long max, unsigned long *ret)
{
        unsigned long v = 0;

        if (len == 0 || len > 5)
                return false;
        for (size_t i = 0; i < len; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return false;
                v = v * 10 + (unsigned long)(s[i] - '0');
        }
        if (v > max)
                return false;
        *ret = v;
        return true;
}

/* A dotted quad, all of s..s+len. */
static bool ipv4(const char *s, size_t len, uint8_t ret[4])
{
        const char *end = s + len;

        for (int i = 0; i < 4; i++) {
                const char *dot = i < 3 ? memchr(s, '.', (size_t)(end - s)) : end;
                unsigned long v;
                if (!dot || !decimal(s, (size_t)(dot - s), 255, &v) || (dot - s > 1 && s[0] == '0'))
                        return false;
                ret[i] = (uint8_t)v;
                s = dot + 1;
        }
        return true;
}

int metricsaddr_parse(const char *s, struct metricsaddr *ret, char *err, size_t errlen)
{
        struct metricsaddr m;
        struct address a;
        unsigned long port;

        memset(&m, 0, sizeof(m));
        if (!s || !s[0]) {
                snprintf(err, errlen, "an empty address (" METRICSADDR_FORMS ")");
                return -EINVAL;
        }
        if (strlen(s) >= sizeof(m.text)) {
                snprintf(err, errlen, "address too long");
                return -EINVAL;
        }
        m.set = true;
        snprintf(m.text, sizeof(m.text), "%s", s);
        int r = address_parse(s, &a);
        if (r == 0 && a.seqpacket) {
                snprintf(err, errlen, "'%s': metrics are served over a stream socket (unix:/path), not seqpacket", s);
                return -EINVAL;
        }
        if (r == -ENAMETOOLONG) {
                snprintf(err, errlen, "'%s': path too long for a socket", s);
                return -EINVAL;
        }
        if (r == 0) {
                m.unix_socket = true;
                memcpy(m.path, a.path, sizeof(m.path));
                *ret = m;
                return 0;
        }

        const char *colon = strrchr(s, ':');
        if (!colon || !decimal(colon + 1, strlen(colon + 1), 65535, &port) || port == 0) {
                snprintf(err, errlen, "'%s': not a Unix socket path or HOST:PORT with a port from 1 to 65535 (%s)", s,
                         METRICSADDR_FORMS);
                return -EINVAL;
        }
        m.port = (uint16_t)port;
        size_t hlen = (size_t)(colon - s);
        if (hlen == 5 && !memcmp(s, "[::1]", 5)) {
                m.ipv6 = true;
        } else if (hlen == 9 && !memcmp(s, "localhost", 9)) {
                m.ip4[0] = 127;
                m.ip4[3] = 1;
        } else if (ipv4(s, hlen, m.ip4)) {
                if (m.ip4[0] != 127) {
                        snprintf(err, errlen,
                                 "'%s': not a loopback address: metrics are served only on 127.0.0.0/8, [::1] or a "
                                 "Unix socket (they have no access control of their own)",
                                 s);
                        return -EINVAL;
                }
        } else {
                snprintf(err, errlen,
                         "'%s': not a loopback address: metrics are served only on 127.0.0.0/8, [::1] or a Unix "
                         "socket (%s)",
                         s, METRICSADDR_FORMS);
                return -EINVAL;
        }
        *ret = m;
        return 0;
}

bool metricsaddr_same(const struct metricsaddr *a, const struct metricsaddr *b)
{
        if (a->set != b->set)
                return false;
        if (!a->set)
                return true;
        if (a->unix_socket != b->unix_socket)
                return false;
        if (a->unix_socket)
                return strcmp(a->path, b->path) == 0;
        return a->ipv6 == b->ipv6 && a->port == b->port && memcmp(a->ip4, b->ip4, 4) == 0;
}
