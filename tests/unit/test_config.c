/* test_config.c: busd/config/config.c, the configuration file (docs/busd.md,
 * CONFIGURATION): strict JSON, every key known, every value typed and within
 * its range, errors naming the key's path; the layers' merge; the reload's
 * change report; the default paths. Pure: no files. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buslimits.h"
#include "config.h"
#include "test.h"

static int parse(const char *text, struct config *c, char *err, size_t errlen)
{
        return config_parse(text, strlen(text), c, err, errlen);
}

/* Parsing must fail with -EINVAL and an error containing `want`; *c untouched. */
static void check_bad(const char *text, const char *want)
{
        struct config c, before;
        char err[600];

        memset(&c, 0x5a, sizeof(c));
        before = c;
        int r = parse(text, &c, err, sizeof(err));
        if (r != -EINVAL)
                fprintf(stderr, "accepted: %s\n", text);
        CHECK_EQ_INT(r, -EINVAL);
        CHECK_CONTAINS(err, want);
        CHECK(memcmp(&c, &before, sizeof(c)) == 0);
}

static void test_defaults(void)
{
        struct config c;
        char err[200];

        config_defaults(&c);
        CHECK_EQ_INT(c.given, 0);
        CHECK_EQ_INT(c.limits.queue_bytes, BUS_DEFAULT_QUEUE_BYTES);
        CHECK_EQ_INT(c.limits.max_pending_calls, BUS_DEFAULT_MAX_PENDING_CALLS);
        CHECK_EQ_INT(c.limits.max_names, BUS_DEFAULT_MAX_NAMES);
        CHECK_EQ_INT(c.limits.max_subscriptions, BUS_DEFAULT_MAX_SUBSCRIPTIONS);
        CHECK_EQ_INT(c.limits.stall_timeout_ms, BUS_DEFAULT_STALL_TIMEOUT_MS);
        CHECK_EQ_INT(c.max_connections, 16384);
        CHECK_EQ_INT(c.max_handshakes, BUS_DEFAULT_MAX_HANDSHAKES);
        CHECK_EQ_INT(c.hello_timeout_ms, BUS_DEFAULT_HELLO_TIMEOUT_MS);
        CHECK(!c.verbose);
        CHECK_EQ_INT(c.nlisten, 0);

        /* an empty object: the defaults, nothing given */
        struct config d;
        CHECK_EQ_INT(parse(" {\n} \n", &d, err, sizeof(err)), 0);
        CHECK(memcmp(&c, &d, sizeof(c)) == 0);
}

static void test_full_file(void)
{
        struct config c;
        char err[200];
        const char *text = "{\n"
                           "  \"verbose\": true,\n"
                           "  \"listen\": [\"unix:/run/busd/bus\", \"seqpacket:/run/busd/bus.seq\", \"/tmp/b\"],\n"
                           "  \"limits\": {\n"
                           "    \"queue_bytes\": 8192, \"max_pending_calls\": 2, \"max_names\": 3,\n"
                           "    \"max_subscriptions\": 4, \"stall_timeout_ms\": 50, \"max_connections\": 6,\n"
                           "    \"max_handshakes\": 7, \"hello_timeout_ms\": 80\n"
                           "  }\n"
                           "}\n";

        CHECK_EQ_INT(parse(text, &c, err, sizeof(err)), 0);
        CHECK(c.verbose);
        CHECK_EQ_INT(c.limits.queue_bytes, 8192);
        CHECK_EQ_INT(c.limits.max_pending_calls, 2);
        CHECK_EQ_INT(c.limits.max_names, 3);
        CHECK_EQ_INT(c.limits.max_subscriptions, 4);
        CHECK_EQ_INT(c.limits.stall_timeout_ms, 50);
        CHECK_EQ_INT(c.max_connections, 6);
        CHECK_EQ_INT(c.max_handshakes, 7);
        CHECK_EQ_INT(c.hello_timeout_ms, 80);
        CHECK_EQ_INT(c.nlisten, 3);
        CHECK(!c.listen[0].seqpacket);
        CHECK_STREQ(c.listen[0].path, "/run/busd/bus");
        CHECK(c.listen[1].seqpacket);
        CHECK_STREQ(c.listen[1].path, "/run/busd/bus.seq");
        CHECK(!c.listen[2].seqpacket);
        CHECK_STREQ(c.listen[2].path, "/tmp/b");
        CHECK_EQ_INT(c.given, CONFIG_QUEUE_BYTES | CONFIG_MAX_PENDING_CALLS | CONFIG_MAX_NAMES |
                                      CONFIG_MAX_SUBSCRIPTIONS | CONFIG_STALL_TIMEOUT_MS | CONFIG_MAX_CONNECTIONS |
                                      CONFIG_MAX_HANDSHAKES | CONFIG_HELLO_TIMEOUT_MS | CONFIG_VERBOSE | CONFIG_LISTEN);

        /* a partial file: the rest stays default and not given */
        CHECK_EQ_INT(parse("{\"limits\":{\"max_names\":9}}", &c, err, sizeof(err)), 0);
        CHECK_EQ_INT(c.given, CONFIG_MAX_NAMES);
        CHECK_EQ_INT(c.limits.max_names, 9);
        CHECK_EQ_INT(c.limits.queue_bytes, BUS_DEFAULT_QUEUE_BYTES);
        /* verbose false is given too */
        CHECK_EQ_INT(parse("{\"verbose\":false}", &c, err, sizeof(err)), 0);
        CHECK_EQ_INT(c.given, CONFIG_VERBOSE);
        CHECK(!c.verbose);
}

/* Every numeric key: the ends of its range pass, one beyond fails naming the key. */
static void test_ranges(void)
{
        static const char *keys[] = { "queue_bytes",      "max_pending_calls", "max_names",      "max_subscriptions",
                                      "stall_timeout_ms", "max_connections",   "max_handshakes", "hello_timeout_ms" };
        char text[200], path[80], err[600];
        struct config c;

        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
                snprintf(path, sizeof(path), "limits.%s", keys[i]);
                const struct config_key *k = config_key(path);
                CHECK(k);
                CHECK_STREQ(k->name, keys[i]);
                CHECK(k->min >= 1 && k->max > k->min);

                snprintf(text, sizeof(text), "{\"limits\":{\"%s\":%" PRIu64 "}}", keys[i], k->min);
                CHECK_EQ_INT(parse(text, &c, err, sizeof(err)), 0);
                CHECK(c.given & k->bit);
                snprintf(text, sizeof(text), "{\"limits\":{\"%s\":%" PRIu64 "}}", keys[i], k->max);
                CHECK_EQ_INT(parse(text, &c, err, sizeof(err)), 0);

                char want[120];
                snprintf(want, sizeof(want), "%s: must be an integer from %" PRIu64 " to %" PRIu64, path, k->min,
                         k->max);
                snprintf(text, sizeof(text), "{\"limits\":{\"%s\":%" PRIu64 "}}", keys[i], k->min - 1);
                check_bad(text, want);
                snprintf(text, sizeof(text), "{\"limits\":{\"%s\":%" PRIu64 "}}", keys[i], k->max + 1);
                check_bad(text, want);
                snprintf(text, sizeof(text), "{\"limits\":{\"%s\":-1}}", keys[i]);
                check_bad(text, want);
                snprintf(text, sizeof(text), "{\"limits\":{\"%s\":\"100\"}}", keys[i]);
                check_bad(text, want);
                snprintf(text, sizeof(text), "{\"limits\":{\"%s\":1e3}}", keys[i]);
                check_bad(text, want);
                snprintf(text, sizeof(text), "{\"limits\":{\"%s\":100.0}}", keys[i]);
                check_bad(text, want);
                snprintf(text, sizeof(text), "{\"limits\":{\"%s\":null}}", keys[i]);
                check_bad(text, want);
                snprintf(text, sizeof(text), "{\"limits\":{\"%s\":true}}", keys[i]);
                check_bad(text, want);
                snprintf(text, sizeof(text), "{\"limits\":{\"%s\":18446744073709551615}}", keys[i]);
                check_bad(text, want);
                snprintf(text, sizeof(text), "{\"limits\":{\"%s\":-9223372036854775808}}", keys[i]);
                check_bad(text, want);
        }
        /* the value shown in the error */
        check_bad("{\"limits\":{\"queue_bytes\":\"4k\"}}", "limits.queue_bytes: must be an integer from 4096 to "
                                                           "4294967296, not \"4k\"");
        /* a long bad value is cut */
        char big[400];
        snprintf(big, sizeof(big), "{\"limits\":{\"max_names\":\"%0300d\"}}", 0);
        check_bad(big, "...");
        /* beyond 64 bits: refused by the strict parser before any clamping */
        check_bad("{\"limits\":{\"queue_bytes\":99999999999999999999999}}", "invalid JSON");
}

static void test_unknown_keys(void)
{
        check_bad("{\"verbos\":true}", "verbos: unknown key (known here: limits, listen, metrics_listen, verbose)");
        check_bad("{\"limits\":{\"queu_bytes\":5000}}", "limits.queu_bytes: unknown key (known here: queue_bytes,");
        check_bad("{\"activation\":{}}", "activation: unknown key");
        check_bad("{\"limits\":{\"max_names\":4,\"\":1}}", "limits.: unknown key");
        /* a section key is not a leaf and a leaf is not a section */
        check_bad("{\"queue_bytes\":5000}", "queue_bytes: unknown key");
        check_bad("{\"limits\":5}", "limits: must be an object, not 5");
        check_bad("{\"limits\":[]}", "limits: must be an object, not []");
        check_bad("{\"limits\":null}", "limits: must be an object, not null");
        check_bad("{\"limits\":{\"limits\":{}}}", "limits.limits: unknown key");
}

static void test_types(void)
{
        check_bad("{\"verbose\":1}", "verbose: must be true or false, not 1");
        check_bad("{\"verbose\":\"yes\"}", "verbose: must be true or false, not \"yes\"");
        check_bad("{\"verbose\":null}", "verbose: must be true or false, not null");

        check_bad("{\"listen\":\"unix:/x\"}", "listen: must be an array of 1 to 8 addresses, not \"unix:/x\"");
        check_bad("{\"listen\":[]}", "listen: must be an array of 1 to 8 addresses, not []");
        check_bad("{\"listen\":[\"/a\",\"/b\",\"/c\",\"/d\",\"/e\",\"/f\",\"/g\",\"/h\",\"/i\"]}",
                  "listen: must be an array of 1 to 8 addresses");
        check_bad("{\"listen\":[\"/a\",5]}", "listen[1]: must be a string like \"unix:/path\", not 5");
        check_bad("{\"listen\":[\"tcp:1.2.3.4\"]}", "listen[0]: bad address \"tcp:1.2.3.4\": unknown form");
        check_bad("{\"listen\":[\"unix:relative\"]}", "listen[0]: bad address");
        check_bad("{\"listen\":[\"unix:/a\\u0000b\"]}", "a string holds a NUL character (\\u0000)");
        /* json-c would cut a member name at the NUL: "verbose\u0000x" is not "verbose" */
        check_bad("{\n \"verbose\\u0000x\": true}", "member name with U+0000");
        /* an escaped backslash before u0000 is not a NUL; \u00000 is */
        struct config c;
        char err[200];
        const char *escaped = "{\"listen\":[\"/a\\\\u0000\"]}";
        CHECK_EQ_INT(config_parse(escaped, strlen(escaped), &c, err, sizeof(err)), 0);
        CHECK_STREQ(c.listen[0].path, "/a\\u0000");
        check_bad("{\"listen\":[\"/a\\u00000\"]}", "NUL character");
        char text[400], path[200];
        memset(path, 'p', sizeof(path) - 1);
        path[sizeof(path) - 1] = 0;
        snprintf(text, sizeof(text), "{\"listen\":[\"unix:/%s\"]}", path);
        check_bad(text, "path too long");

        /* the whole file */
        check_bad("[]", "the file must hold one JSON object ({...}), not []");
        check_bad("null", "the file must hold one JSON object ({...}), not null");
        check_bad("5", "the file must hold one JSON object");
        check_bad("\"x\"", "the file must hold one JSON object");
}

static void test_bad_json(void)
{
        check_bad("", "invalid JSON");
        check_bad("{", "invalid JSON");
        check_bad("{} {}", "invalid JSON at line 1, column 4");
        check_bad("{\"verbose\":true,}", "invalid JSON");
        check_bad("{'verbose':true}", "single-quoted string");
        check_bad("{\"limits\":{\"max_names\":NaN}}", "invalid JSON");
        check_bad("{\"verbose\":true, \"verbose\":false}", "the same member name twice");
        check_bad("{\"limits\":{\"max_names\":4}, \"limits\":{\"max_names\":5}}", "the same member name twice");
        check_bad("{\"verbose\":\"\xff\"}", "invalid JSON");
        check_bad("// comment\n{}", "invalid JSON");
        /* the place, as a line and a column */
        check_bad("{\n  \"verbose\": true,\n  'x': 1\n}", "invalid JSON at line 3, column 3");
        check_bad("{\n\"limits\": {\n  \"max_names\": 4,,\n}}", "invalid JSON at line 3");
        /* deep nesting is refused, not recursed into */
        char deep[200] = "{\"limits\":";
        for (int i = 0; i < 20; i++)
                strcat(deep, "[");
        check_bad(deep, "invalid JSON");
        /* an embedded NUL ends nothing: refused */
        struct config c;
        char err[200];
        CHECK_EQ_INT(config_parse("{}\0{}", 5, &c, err, sizeof(err)), -EINVAL);
        CHECK_CONTAINS(err, "invalid JSON");
}

static void test_size_and_errbuf(void)
{
        struct config c;
        char err[200], tiny[8];
        size_t n = CONFIG_MAX_FILE_SIZE + 1;
        char *text = malloc(n);

        CHECK(text);
        memset(text, ' ', n);
        text[0] = '{';
        text[n - 1] = '}';
        CHECK_EQ_INT(config_parse(text, n, &c, err, sizeof(err)), -EINVAL);
        CHECK_CONTAINS(err, "larger than");
        /* just within the bound */
        CHECK_EQ_INT(config_parse(text + 1, n - 1, &c, err, sizeof(err)), -EINVAL); /* "   }" */
        text[1] = '{';
        CHECK_EQ_INT(config_parse(text + 1, n - 1, &c, err, sizeof(err)), 0);
        free(text);

        /* a small error buffer is filled, terminated, never overrun */
        memset(tiny, 'x', sizeof(tiny));
        CHECK_EQ_INT(config_parse("{\"verbos\":1}", 12, &c, tiny, sizeof(tiny) - 1), -EINVAL);
        CHECK_EQ_INT(strlen(tiny), sizeof(tiny) - 2);
        CHECK_EQ_INT(tiny[sizeof(tiny) - 1], 'x');
        CHECK_EQ_INT(config_parse("{", 1, &c, tiny, sizeof(tiny) - 1), -EINVAL);
        CHECK_EQ_INT(tiny[sizeof(tiny) - 1], 'x');
        CHECK_EQ_INT(config_parse("{", 1, &c, NULL, 0), -EINVAL);
}

/* defaults < file < command line */
static void test_merge(void)
{
        struct config file, cli, eff;
        char err[200];

        CHECK_EQ_INT(parse("{\"verbose\":true,\"listen\":[\"/f\"],\"limits\":{\"max_names\":5,\"queue_bytes\":8192}}",
                           &file, err, sizeof(err)),
                     0);
        config_defaults(&cli);
        config_set_number(&cli, config_key("limits.max_names"), 7);
        CHECK_EQ_INT(cli.given, CONFIG_MAX_NAMES);
        CHECK_EQ_INT(cli.limits.max_names, 7);

        config_defaults(&eff);
        config_merge(&eff, &file);
        config_merge(&eff, &cli);
        CHECK_EQ_INT(eff.limits.max_names, 7);      /* command line */
        CHECK_EQ_INT(eff.limits.queue_bytes, 8192); /* file */
        CHECK_EQ_INT(eff.limits.max_subscriptions, BUS_DEFAULT_MAX_SUBSCRIPTIONS);
        CHECK(eff.verbose);
        CHECK_EQ_INT(eff.nlisten, 1);
        CHECK_STREQ(eff.listen[0].path, "/f");
        CHECK_EQ_INT(eff.given, file.given | cli.given);

        /* a command-line listen replaces the file's whole list */
        cli.listen[0].seqpacket = true;
        snprintf(cli.listen[0].path, sizeof(cli.listen[0].path), "/c.seq");
        snprintf(cli.listen[1].path, sizeof(cli.listen[1].path), "/c");
        cli.nlisten = 2;
        cli.given |= CONFIG_LISTEN;
        config_merge(&eff, &cli);
        CHECK_EQ_INT(eff.nlisten, 2);
        CHECK_STREQ(eff.listen[0].path, "/c.seq");

        /* nothing given: nothing changes */
        struct config none, copy = eff;
        config_defaults(&none);
        config_merge(&eff, &none);
        CHECK(memcmp(&eff, &copy, sizeof(eff)) == 0);

        /* lookups */
        CHECK(config_key("verbose"));
        CHECK(config_key("limits"));
        CHECK(config_key("limits")->type == CONFIG_T_SECTION);
        CHECK(!config_key("limits.nope"));
        CHECK(!config_key("nope"));
        CHECK(!config_key("verbose.x"));
        CHECK(!config_key("max_names"));
        CHECK(!config_key(""));
        config_set_number(&cli, config_key("limits.queue_bytes"), 1ull << 32);
        CHECK_EQ_INT(cli.limits.queue_bytes, 1ull << 32);
}

static void test_diff(void)
{
        struct config a, b;
        char buf[400];

        config_defaults(&a);
        b = a;
        CHECK_EQ_INT(config_diff(&a, &b, buf, sizeof(buf)), 0);
        CHECK_STREQ(buf, "");
        b.limits.queue_bytes = 8192;
        b.verbose = true;
        b.hello_timeout_ms = 20;
        b.nlisten = 1; /* listen is not part of the diff */
        CHECK_EQ_INT(config_diff(&a, &b, buf, sizeof(buf)), 3);
        CHECK_STREQ(buf, "limits.queue_bytes 4194304 -> 8192, limits.hello_timeout_ms 10000 -> 20, verbose false -> "
                         "true");
        /* truncated, still terminated */
        CHECK_EQ_INT(config_diff(&a, &b, buf, 10), 3);
        CHECK_EQ_INT(strlen(buf), 9);

        config_key_names(CONFIG_MAX_NAMES | CONFIG_VERBOSE | CONFIG_LISTEN, buf, sizeof(buf));
        CHECK_STREQ(buf, "limits.max_names, listen, verbose");
        config_key_names(0, buf, sizeof(buf));
        CHECK_STREQ(buf, "");

        /* listen sets, in any order */
        CHECK(config_same_listen(&a, &b) == false);
        b.nlisten = 0;
        CHECK(config_same_listen(&a, &b));
        address_parse("unix:/x", &a.listen[0]);
        address_parse("seqpacket:/x.seq", &a.listen[1]);
        a.nlisten = 2;
        b.listen[0] = a.listen[1];
        b.listen[1] = a.listen[0];
        b.nlisten = 2;
        CHECK(config_same_listen(&a, &b));
        address_parse("unix:/x.seq", &b.listen[0]); /* same path, other type */
        CHECK(!config_same_listen(&a, &b));
        b.nlisten = 1;
        CHECK(!config_same_listen(&a, &b));
}

static void test_default_path(void)
{
        char buf[64];

        CHECK_EQ_INT(config_default_path(true, "/x", "/home/u", buf, sizeof(buf)), 0);
        CHECK_STREQ(buf, "/etc/busd/busd.json");
        CHECK_EQ_INT(config_default_path(false, "/cfg", "/home/u", buf, sizeof(buf)), 0);
        CHECK_STREQ(buf, "/cfg/busd/busd.json");
        /* XDG_CONFIG_HOME must be absolute to count */
        CHECK_EQ_INT(config_default_path(false, "rel", "/home/u", buf, sizeof(buf)), 0);
        CHECK_STREQ(buf, "/home/u/.config/busd/busd.json");
        CHECK_EQ_INT(config_default_path(false, "", "/home/u", buf, sizeof(buf)), 0);
        CHECK_STREQ(buf, "/home/u/.config/busd/busd.json");
        CHECK_EQ_INT(config_default_path(false, NULL, "/home/u", buf, sizeof(buf)), 0);
        CHECK_STREQ(buf, "/home/u/.config/busd/busd.json");
        CHECK_EQ_INT(config_default_path(false, NULL, NULL, buf, sizeof(buf)), -ENOENT);
        CHECK_EQ_INT(config_default_path(false, NULL, "relative", buf, sizeof(buf)), -ENOENT);
        char longdir[100];
        memset(longdir, 'd', sizeof(longdir) - 1);
        longdir[0] = '/';
        longdir[sizeof(longdir) - 1] = 0;
        CHECK_EQ_INT(config_default_path(false, longdir, NULL, buf, sizeof(buf)), -ENAMETOOLONG);
}

/* metrics_listen (busd/config/metricsaddr.c): a Unix path or a loopback TCP
 * address, nothing else; in the file, on the command line's terms, merged as
 * a key and never in the reload's diff. */
static void test_metrics_listen(void)
{
        struct metricsaddr m;
        struct config c, d;
        char err[400], diff[200];

        CHECK_EQ_INT(metricsaddr_parse("/run/busd/metrics", &m, err, sizeof(err)), 0);
        CHECK(m.set && m.unix_socket);
        CHECK_STREQ(m.path, "/run/busd/metrics");
        CHECK_EQ_INT(metricsaddr_parse("unix:/tmp/m", &m, err, sizeof(err)), 0);
        CHECK(m.unix_socket);
        CHECK_STREQ(m.path, "/tmp/m");
        CHECK_STREQ(m.text, "unix:/tmp/m");
        CHECK_EQ_INT(metricsaddr_parse("127.0.0.1:9101", &m, err, sizeof(err)), 0);
        CHECK(!m.unix_socket && !m.ipv6 && m.port == 9101 && m.ip4[0] == 127 && m.ip4[3] == 1);
        CHECK_EQ_INT(metricsaddr_parse("127.1.2.3:1", &m, err, sizeof(err)), 0);
        CHECK(m.ip4[1] == 1 && m.ip4[2] == 2 && m.ip4[3] == 3 && m.port == 1);
        CHECK_EQ_INT(metricsaddr_parse("[::1]:65535", &m, err, sizeof(err)), 0);
        CHECK(m.ipv6 && m.port == 65535);
        CHECK_EQ_INT(metricsaddr_parse("localhost:80", &m, err, sizeof(err)), 0);
        CHECK(!m.ipv6 && m.ip4[0] == 127 && m.ip4[3] == 1 && m.port == 80);

        struct metricsaddr keep = m;
        const char *bad[][2] = {
                { "0.0.0.0:9101", "not a loopback address" },   { "10.0.0.1:9101", "not a loopback address" },
                { "[::]:9101", "not a loopback address" },      { "example.org:80", "not a loopback address" },
                { "127.0.0.1", "port from 1 to 65535" },        { "127.0.0.1:0", "port from 1 to 65535" },
                { "127.0.0.1:65536", "port from 1 to 65535" },  { "127.0.0.1:-1", "port from 1 to 65535" },
                { "127.0.0.01:80", "not a loopback address" },  { "127.0.0:80", "not a loopback address" },
                { "127.0.0.256:80", "not a loopback address" }, { "seqpacket:/tmp/m", "not seqpacket" },
                { "relative/path", "not a Unix socket path" },  { "", "an empty address" },
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                int r = metricsaddr_parse(bad[i][0], &m, err, sizeof(err));
                if (r == 0)
                        fprintf(stderr, "accepted: %s\n", bad[i][0]);
                CHECK_EQ_INT(r, -EINVAL);
                CHECK_CONTAINS(err, bad[i][1]);
                CHECK(memcmp(&m, &keep, sizeof(m)) == 0);
        }

        CHECK_EQ_INT(parse("{\"metrics_listen\": \"127.0.0.1:9101\"}", &c, err, sizeof(err)), 0);
        CHECK(c.given & CONFIG_METRICS_LISTEN);
        CHECK(c.metrics_listen.set && c.metrics_listen.port == 9101);
        check_bad("{\"metrics_listen\": \"0.0.0.0:9101\"}", "metrics_listen: '0.0.0.0:9101': not a loopback address");
        check_bad("{\"metrics_listen\": 9101}", "metrics_listen: must be a string");
        check_bad("{\"metrics_listen\": \"a\\u0000b\"}",
                  "a string holds a NUL character"); /* refused by the JSON reader */

        config_defaults(&d);
        CHECK(!d.metrics_listen.set);
        config_merge(&d, &c);
        CHECK(d.metrics_listen.set && d.metrics_listen.port == 9101 && (d.given & CONFIG_METRICS_LISTEN));
        CHECK(metricsaddr_same(&d.metrics_listen, &c.metrics_listen));
        config_defaults(&d);
        CHECK(!metricsaddr_same(&d.metrics_listen, &c.metrics_listen));
        CHECK_EQ_INT(config_diff(&d, &c, diff, sizeof(diff)), 0); /* not reloadable: the server says so */
        config_key_names(CONFIG_METRICS_LISTEN, diff, sizeof(diff));
        CHECK_STREQ(diff, "metrics_listen");
}

int main(void)
{
        test_defaults();
        test_full_file();
        test_ranges();
        test_unknown_keys();
        test_types();
        test_bad_json();
        test_size_and_errbuf();
        test_merge();
        test_diff();
        test_default_path();
        test_metrics_listen();
        printf("test_config: ok\n");
        return 0;
}
