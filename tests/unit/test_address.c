/* test_address.c: proto/address.c, bus addresses and the default locations
 * (docs/protocol.md §1): schemes, bare paths, path length limits, defaults
 * from XDG_RUNTIME_DIR, the seqpacket sibling. */
#include <errno.h>
#include <string.h>

#include "address.h"
#include "test.h"

static void test_parse(void)
{
        struct address a;
        char out[200];

        CHECK_EQ_INT(address_parse("unix:/run/busd/bus", &a), 0);
        CHECK(!a.seqpacket);
        CHECK_STREQ(a.path, "/run/busd/bus");
        address_format(&a, out, sizeof(out));
        CHECK_STREQ(out, "unix:/run/busd/bus");

        CHECK_EQ_INT(address_parse("seqpacket:/run/busd/bus.seq", &a), 0);
        CHECK(a.seqpacket);
        CHECK_STREQ(a.path, "/run/busd/bus.seq");
        address_format(&a, out, sizeof(out));
        CHECK_STREQ(out, "seqpacket:/run/busd/bus.seq");

        CHECK_EQ_INT(address_parse("/tmp/x/bus", &a), 0); /* bare path: stream */
        CHECK(!a.seqpacket);
        CHECK_STREQ(a.path, "/tmp/x/bus");

        /* unknown schemes, relative paths, nothing */
        CHECK_EQ_INT(address_parse("", &a), -EINVAL);
        CHECK_EQ_INT(address_parse("unix:", &a), -EINVAL);
        CHECK_EQ_INT(address_parse("seqpacket:", &a), -EINVAL);
        CHECK_EQ_INT(address_parse("unix:relative", &a), -EINVAL);
        CHECK_EQ_INT(address_parse("seqpacket:relative.seq", &a), -EINVAL);
        CHECK_EQ_INT(address_parse("unix:./bus", &a), -EINVAL);
        CHECK_EQ_INT(address_parse("tcp:localhost:1", &a), -EINVAL);
        CHECK_EQ_INT(address_parse("UNIX:/x", &a), -EINVAL);
        CHECK_EQ_INT(address_parse("relative/bus", &a), -EINVAL);
        CHECK_EQ_INT(address_parse(NULL, &a), -EINVAL);

        /* sun_path holds 107 bytes and a NUL */
        char longest[200] = "unix:/", toolong[200] = "seqpacket:/";
        memset(longest + 6, 'a', 106);
        memset(toolong + 11, 'a', 107);
        CHECK_EQ_INT(address_parse(longest, &a), 0);
        CHECK_EQ_INT(strlen(a.path), 107);
        strcpy(a.path, "keep");
        CHECK_EQ_INT(address_parse(toolong, &a), -ENAMETOOLONG);
        CHECK_STREQ(a.path, "keep"); /* untouched on failure */
}

static void test_defaults(void)
{
        char dir[128];
        struct address a, s;

        CHECK_EQ_INT(address_default_dir(true, "/run/user/5", 5, dir, sizeof(dir)), 0);
        CHECK_STREQ(dir, "/run/busd");
        CHECK_EQ_INT(address_default_dir(false, "/run/user/5", 5, dir, sizeof(dir)), 0);
        CHECK_STREQ(dir, "/run/user/5/busd");
        CHECK_EQ_INT(address_default_dir(false, NULL, 1234, dir, sizeof(dir)), 0);
        CHECK_STREQ(dir, "/tmp/busd-1234");
        CHECK_EQ_INT(address_default_dir(false, "", 7, dir, sizeof(dir)), 0);
        CHECK_STREQ(dir, "/tmp/busd-7");
        CHECK_EQ_INT(address_default_dir(false, "relative", 7, dir, sizeof(dir)), 0);
        CHECK_STREQ(dir, "/tmp/busd-7");
        CHECK_EQ_INT(address_default_dir(false, "/run/user/5", 5, dir, 16), -ENAMETOOLONG);

        CHECK_EQ_INT(address_default(true, false, NULL, 0, &a), 0);
        CHECK(!a.seqpacket);
        CHECK_STREQ(a.path, "/run/busd/bus");
        CHECK_EQ_INT(address_default(true, true, NULL, 0, &a), 0);
        CHECK(a.seqpacket);
        CHECK_STREQ(a.path, "/run/busd/bus.seq");
        CHECK_EQ_INT(address_default(false, false, "/run/user/1000", 1000, &a), 0);
        CHECK_STREQ(a.path, "/run/user/1000/busd/bus");

        /* an XDG_RUNTIME_DIR too long for a socket path */
        char xdg[200] = "/";
        memset(xdg + 1, 'x', 100);
        strcpy(a.path, "keep");
        CHECK_EQ_INT(address_default(false, false, xdg, 0, &a), -ENAMETOOLONG);
        CHECK_STREQ(a.path, "keep");

        CHECK_EQ_INT(address_parse("unix:/run/busd/bus", &a), 0);
        CHECK_EQ_INT(address_seqpacket_sibling(&a, &s), 0);
        CHECK(s.seqpacket);
        CHECK_STREQ(s.path, "/run/busd/bus.seq");
        /* 104 + ".seq" = 108: no room for the NUL */
        char p[120] = "unix:/";
        memset(p + 6, 'p', 103);
        CHECK_EQ_INT(address_parse(p, &a), 0);
        CHECK_EQ_INT(address_seqpacket_sibling(&a, &s), -ENAMETOOLONG);
        p[6 + 102] = 0;
        CHECK_EQ_INT(address_parse(p, &a), 0);
        CHECK_EQ_INT(address_seqpacket_sibling(&a, &s), 0);
        CHECK_EQ_INT(strlen(s.path), 107);
}

int main(void)
{
        test_parse();
        test_defaults();
        return 0;
}
