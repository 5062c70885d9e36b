/* test_libbus_address.c: the addresses libbus accepts (proto/address.c's
 * parser, the daemon's rules: test_address.c tests it in full), the user bus
 * default and the order argument > $BUS_ADDRESS > user bus (docs/protocol.md
 * §1). */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "bus-internal.h"
#include "test.h"

static void test_parse(void)
{
        struct address a;

        CHECK_EQ_INT(address_parse("unix:/run/busd/bus", &a), 0);
        CHECK(!a.seqpacket);
        CHECK_STREQ(a.path, "/run/busd/bus");
        CHECK_EQ_INT(address_parse("seqpacket:/run/busd/bus.seq", &a), 0);
        CHECK(a.seqpacket);
        CHECK_STREQ(a.path, "/run/busd/bus.seq");
        CHECK_EQ_INT(address_parse("/tmp/x/bus", &a), 0);
        CHECK(!a.seqpacket);
        CHECK_STREQ(a.path, "/tmp/x/bus");

        CHECK_EQ_INT(address_parse("", &a), -EINVAL);
        CHECK_EQ_INT(address_parse("unix:", &a), -EINVAL);
        CHECK_EQ_INT(address_parse("seqpacket:", &a), -EINVAL);
        CHECK_EQ_INT(address_parse("tcp:localhost:1", &a), -EINVAL);
        CHECK_EQ_INT(address_parse("relative/bus", &a), -EINVAL);
        /* relative after a scheme: libbus once took these, busd never did */
        CHECK_EQ_INT(address_parse("unix:relative/bus", &a), -EINVAL);
        CHECK_EQ_INT(address_parse("unix:bus", &a), -EINVAL);
        CHECK_EQ_INT(address_parse("seqpacket:bus.seq", &a), -EINVAL);
        CHECK_EQ_INT(address_parse(NULL, &a), -EINVAL);

        /* sun_path holds 107 bytes and a NUL */
        char longest[200] = "unix:/", toolong[200] = "unix:/";
        memset(longest + 6, 'a', 106);
        memset(toolong + 6, 'a', 107);
        CHECK_EQ_INT(address_parse(longest, &a), 0);
        CHECK_EQ_INT(strlen(a.path), 107);
        CHECK_EQ_INT(address_parse(toolong, &a), -ENAMETOOLONG);

        /* failure leaves the output untouched */
        strcpy(a.path, "keep");
        CHECK_EQ_INT(address_parse("nope", &a), -EINVAL);
        CHECK_STREQ(a.path, "keep");
}

static void test_default(void)
{
        char buf[256], want[256];

        setenv("XDG_RUNTIME_DIR", "/run/user/1234", 1);
        CHECK_EQ_INT(bus_default_address(buf, sizeof(buf)), strlen("unix:/run/user/1234/busd/bus"));
        CHECK_STREQ(buf, "unix:/run/user/1234/busd/bus");
        /* exactly big enough, then one byte short */
        CHECK_EQ_INT(bus_default_address(buf, strlen("unix:/run/user/1234/busd/bus") + 1), 28);
        CHECK_EQ_INT(bus_default_address(buf, strlen("unix:/run/user/1234/busd/bus")), -ENOBUFS);

        snprintf(want, sizeof(want), "unix:/tmp/busd-%u/bus", (unsigned)getuid());
        unsetenv("XDG_RUNTIME_DIR");
        CHECK(bus_default_address(buf, sizeof(buf)) > 0);
        CHECK_STREQ(buf, want);
        setenv("XDG_RUNTIME_DIR", "", 1);
        CHECK(bus_default_address(buf, sizeof(buf)) > 0);
        CHECK_STREQ(buf, want);
        setenv("XDG_RUNTIME_DIR", "relative/dir", 1); /* not absolute: ignored, as the XDG spec says */
        CHECK(bus_default_address(buf, sizeof(buf)) > 0);
        CHECK_STREQ(buf, want);

        char longdir[200] = "/";
        memset(longdir + 1, 'd', 120);
        setenv("XDG_RUNTIME_DIR", longdir, 1);
        CHECK_EQ_INT(bus_default_address(buf, sizeof(buf)), -ENAMETOOLONG);
}

static void test_resolve(void)
{
        struct address a;
        char why[256];

        setenv("XDG_RUNTIME_DIR", "/run/user/1", 1);
        setenv("BUS_ADDRESS", "seqpacket:/from/env", 1);
        CHECK_EQ_INT(address_resolve("unix:/explicit", &a, why, sizeof(why)), 0);
        CHECK_STREQ(a.path, "/explicit");
        CHECK_EQ_INT(address_resolve(NULL, &a, why, sizeof(why)), 0);
        CHECK(a.seqpacket);
        CHECK_STREQ(a.path, "/from/env");
        setenv("BUS_ADDRESS", "", 1); /* empty counts as unset */
        CHECK_EQ_INT(address_resolve(NULL, &a, why, sizeof(why)), 0);
        CHECK(!a.seqpacket);
        CHECK_STREQ(a.path, "/run/user/1/busd/bus");
        unsetenv("BUS_ADDRESS");
        CHECK_EQ_INT(address_resolve(NULL, &a, why, sizeof(why)), 0);
        CHECK_STREQ(a.path, "/run/user/1/busd/bus");

        setenv("BUS_ADDRESS", "bogus", 1);
        CHECK_EQ_INT(address_resolve(NULL, &a, why, sizeof(why)), -EINVAL);
        CHECK_CONTAINS(why, "BUS_ADDRESS");
        CHECK_CONTAINS(why, "bogus");
        setenv("BUS_ADDRESS", "unix:relative", 1);
        CHECK_EQ_INT(address_resolve(NULL, &a, why, sizeof(why)), -EINVAL);
        CHECK_CONTAINS(why, "unix:relative");
        unsetenv("BUS_ADDRESS");

        /* a path too long is malformed for bus_open() (-EINVAL), untouched output */
        char toolong[200] = "unix:/";
        memset(toolong + 6, 'a', 107);
        strcpy(a.path, "keep");
        CHECK_EQ_INT(address_resolve(toolong, &a, why, sizeof(why)), -EINVAL);
        CHECK_CONTAINS(why, "malformed");
        CHECK_STREQ(a.path, "keep");

        /* no room for the user bus path */
        char longdir[200] = "/";
        memset(longdir + 1, 'd', 120);
        setenv("XDG_RUNTIME_DIR", longdir, 1);
        CHECK_EQ_INT(address_resolve(NULL, &a, why, sizeof(why)), -ENAMETOOLONG);
        CHECK_CONTAINS(why, "XDG_RUNTIME_DIR");
        CHECK_STREQ(a.path, "keep");
}

static void test_open_errors(void)
{
        struct bus *bus = (struct bus *)0x1;

        CHECK_EQ_INT(bus_open("ftp:/x", NULL, &bus), -EINVAL);
        CHECK(bus == (struct bus *)0x1);
        CHECK_CONTAINS(bus_open_error(), "malformed");
        /* a relative path is refused, not connected to relative to the cwd */
        CHECK_EQ_INT(bus_open("unix:bus", NULL, &bus), -EINVAL);
        CHECK(bus == (struct bus *)0x1);
        CHECK_CONTAINS(bus_open_error(), "malformed");
        CHECK_EQ_INT(bus_open("unix:/nonexistent/busd-test/bus", NULL, &bus), -ENOENT);
        CHECK_CONTAINS(bus_open_error(), "/nonexistent/busd-test/bus");
        CHECK(bus == (struct bus *)0x1);
}

int main(void)
{
        test_parse();
        test_default();
        test_resolve();
        test_open_errors();
        return 0;
}
