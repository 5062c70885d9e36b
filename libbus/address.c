/* address.c: which bus bus_open() connects to (an argument, $BUS_ADDRESS or
 * the user bus) and the public bus_default_address(). The address syntax and
 * the default locations are proto/address.c's, the same for busd, libbus and
 * the tools. No sockets here. */
#include "bus-internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int bus_default_address(char *buf, size_t size)
{
        struct address a;
        char tmp[sizeof(a.path) + 16];

        /* XDG_RUNTIME_DIR must be absolute (the XDG spec); anything else counts as unset */
        int r = address_default(false, false, getenv("XDG_RUNTIME_DIR"), getuid(), &a);
        if (r < 0)
                return r;
        address_format(&a, tmp, sizeof(tmp));
        size_t n = strlen(tmp);
        if (n >= size)
                return -ENOBUFS;
        memcpy(buf, tmp, n + 1);
        return (int)n;
}

int address_resolve(const char *s, struct address *ret, char *errbuf, size_t errlen)
{
        const char *from = "address";

        if (!s) {
                s = getenv("BUS_ADDRESS");
                from = "BUS_ADDRESS";
        }
        if (!s || !*s) {
                int r = address_default(false, false, getenv("XDG_RUNTIME_DIR"), getuid(), ret);
                if (r < 0)
                        snprintf(errbuf, errlen, "the user bus path is too long (XDG_RUNTIME_DIR)");
                return r;
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
