/* address.c: bus address syntax (docs/protocol.md §1) and the default user
 * bus address. No sockets here. */
#include "bus-internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int bus_default_address(char *buf, size_t size)
{
        const char *xdg = getenv("XDG_RUNTIME_DIR");
        char tmp[sizeof(((struct address *)0)->path) + 16];
        int n;

        /* The XDG spec requires an absolute path; anything else counts as unset. */
        if (xdg && xdg[0] == '/')
                n = snprintf(tmp, sizeof(tmp), "unix:%s/busd/bus", xdg);
        else
                n = snprintf(tmp, sizeof(tmp), "unix:/tmp/busd-%u/bus", (unsigned)getuid());
        if (n < 0 || (size_t)n >= sizeof(tmp) || (size_t)n - 5 >= sizeof(((struct address *)0)->path))
                return -ENAMETOOLONG;
        if ((size_t)n >= size)
                return -ENOBUFS;
        memcpy(buf, tmp, (size_t)n + 1);
        return n;
}

int address_parse(const char *s, struct address *ret)
{
        struct address a = { 0 };
        const char *path;

        if (!s)
                return -EINVAL;
        if (strncmp(s, "unix:", 5) == 0) {
                path = s + 5;
        } else if (strncmp(s, "seqpacket:", 10) == 0) {
                path = s + 10;
                a.seqpacket = true;
        } else if (s[0] == '/') {
                path = s;
        } else {
                return -EINVAL;
        }
        size_t len = strlen(path);
        if (len == 0 || len >= sizeof(a.path))
                return -EINVAL;
        memcpy(a.path, path, len + 1);
        *ret = a;
        return 0;
}

int address_resolve(const char *s, struct address *ret, char *errbuf, size_t errlen)
{
        char def[sizeof(ret->path) + 16];
        const char *from = "address";

        if (!s) {
                s = getenv("BUS_ADDRESS");
                from = "BUS_ADDRESS";
        }
        if (!s || !*s) {
                int r = bus_default_address(def, sizeof(def));
                if (r < 0) {
                        snprintf(errbuf, errlen, "the user bus path is too long (XDG_RUNTIME_DIR)");
                        return r;
                }
                s = def;
                from = "user bus address";
        }
        if (address_parse(s, ret) < 0) {
                snprintf(errbuf, errlen,
                         "%s '%.200s' is malformed (expected unix:/path, seqpacket:/path or /path, at most %zu "
                         "bytes of path)",
                         from, s, sizeof(ret->path) - 1);
                return -EINVAL;
        }
        return 0;
}
