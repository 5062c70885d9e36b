/* address.c: see address.h. No I/O. */
#include "address.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int set_path(struct address *a, const char *p)
{
        if (p[0] != '/')
                return -EINVAL;
        if (strlen(p) >= sizeof(a->path))
                return -ENAMETOOLONG;
        strcpy(a->path, p);
        return 0;
}

int address_parse(const char *s, struct address *ret)
{
        struct address a = { 0 };
        int r;

        if (!s)
                return -EINVAL;
        if (strncmp(s, "unix:", 5) == 0) {
                r = set_path(&a, s + 5);
        } else if (strncmp(s, "seqpacket:", 10) == 0) {
                a.seqpacket = true;
                r = set_path(&a, s + 10);
        } else {
                r = set_path(&a, s);
        }
        if (r < 0)
                return r;
        *ret = a;
        return 0;
}

void address_format(const struct address *a, char *buf, size_t len)
{
        snprintf(buf, len, "%s:%s", a->seqpacket ? "seqpacket" : "unix", a->path);
}

int address_default_dir(bool system, const char *xdg, uid_t uid, char *buf, size_t len)
{
        int n;

        if (system)
                n = snprintf(buf, len, "%s", BUS_SYSTEM_DIR);
        else if (xdg && xdg[0] == '/')
                n = snprintf(buf, len, "%s/busd", xdg);
        else
                n = snprintf(buf, len, "/tmp/busd-%u", (unsigned)uid);
        return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int address_default(bool system, bool seqpacket, const char *xdg, uid_t uid, struct address *ret)
{
        char dir[sizeof(ret->path)];
        struct address a = { .seqpacket = seqpacket };
        int r = address_default_dir(system, xdg, uid, dir, sizeof(dir));

        if (r < 0)
                return r;
        int n = snprintf(a.path, sizeof(a.path), "%s/%s%s", dir, BUS_SOCKET_NAME,
                         seqpacket ? BUS_SEQPACKET_SUFFIX : "");
        if (n < 0 || (size_t)n >= sizeof(a.path))
                return -ENAMETOOLONG;
        *ret = a;
        return 0;
}

int address_seqpacket_sibling(const struct address *stream, struct address *ret)
{
        struct address a = { .seqpacket = true };
        int n = snprintf(a.path, sizeof(a.path), "%s%s", stream->path, BUS_SEQPACKET_SUFFIX);

        if (n < 0 || (size_t)n >= sizeof(a.path))
                return -ENAMETOOLONG;
        *ret = a;
        return 0;
}
