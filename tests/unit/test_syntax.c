/* test_syntax.c: proto/syntax.c, the syntax of names, unique ids, methods,
 * error codes, topics and patterns (docs/protocol.md §2.2) and the reference
 * pattern matcher (§4.3). Table-driven; each row says why it is there. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "syntax.h"
#include "test.h"

enum kind { NAME, METHOD, CODE, TOPIC, PATTERN };

struct row {
        enum kind kind;
        const char *s;
        bool ok;
};

static const char *kind_name(enum kind k)
{
        static const char *names[] = { "name", "method", "code", "topic", "pattern" };
        return names[k];
}

static bool check(enum kind k, const char *s, size_t len)
{
        switch (k) {
        case NAME:
                return syntax_is_name(s, len);
        case METHOD:
                return syntax_is_method(s, len);
        case CODE:
                return syntax_is_code(s, len);
        case TOPIC:
                return syntax_is_topic(s, len);
        case PATTERN:
                return syntax_is_pattern(s, len);
        }
        return false;
}

static const struct row rows[] = {
        /* well-known names: 2+ elements of [A-Za-z0-9_-], not starting with a digit */
        { NAME, "org.example.Clock", true },
        { NAME, "a.b", true },
        { NAME, "_a.-b", true },
        { NAME, "A-1.b_2.C3", true },
        { NAME, "org.busd", true }, /* valid syntax; reserved is a separate rule */
        { NAME, "org", false },     /* one element */
        { NAME, "", false },
        { NAME, ".", false },
        { NAME, "org.", false },   /* trailing dot */
        { NAME, ".org.x", false }, /* leading dot */
        { NAME, "org..x", false }, /* empty element */
        { NAME, "org.1x", false }, /* element starting with a digit */
        { NAME, "1org.x", false },
        { NAME, "org.x1", true },
        { NAME, "org.ex ample", false },
        { NAME, "org.ex:ample", false },
        { NAME, "org.ex*", false },
        { NAME, ":17", false },
        { NAME, "org.ex\xc3\xa4mple", false }, /* non-ASCII */
        { NAME, "org.\xff", false },

        /* methods: 1..255 of [A-Za-z0-9_.-], starting with a letter or _ */
        { METHOD, "get", true },
        { METHOD, "_private", true },
        { METHOD, "a.b-c_d9", true },
        { METHOD, "Z", true },
        { METHOD, "", false },
        { METHOD, "1get", false },
        { METHOD, "-get", false },
        { METHOD, ".get", false },
        { METHOD, "get time", false },
        { METHOD, "get/time", false },
        { METHOD, "g\xc3\xa9t", false },

        /* error codes: 1..128 of [A-Za-z0-9_.-], any first character */
        { CODE, "no_owner", true },
        { CODE, "1", true },
        { CODE, "-x.y_z", true },
        { CODE, "", false },
        { CODE, "a:b", false },
        { CODE, "a b", false },
        { CODE, "\xc3\xa9", false },

        /* topics: segments of [A-Za-z0-9_:@+-]; first segment may start with $ */
        { TOPIC, "a", true },
        { TOPIC, "sensors.kitchen.temp", true },
        { TOPIC, "a:b@c+d-e_f.9", true },
        { TOPIC, "$bus.name.org.example.Clock", true },
        { TOPIC, "$bus", true },
        { TOPIC, "", false },
        { TOPIC, ".", false },
        { TOPIC, ".a", false },   /* leading dot */
        { TOPIC, "a.", false },   /* trailing dot */
        { TOPIC, "a..b", false }, /* empty segment */
        { TOPIC, "*", false },    /* wildcards are for patterns */
        { TOPIC, ">", false },
        { TOPIC, "a.*", false },
        { TOPIC, "a.>", false },
        { TOPIC, "$", false },    /* $ alone is no segment */
        { TOPIC, "a.$b", false }, /* $ only starts the first segment */
        { TOPIC, "$$b", false },  /* only one leading $ */
        { TOPIC, "b$", false },
        { TOPIC, "a/b", false },
        { TOPIC, "a b", false },
        { TOPIC, "a#", false },
        { TOPIC, "caf\xc3\xa9", false },
        { TOPIC, "a.\x80", false },

        /* patterns: * any segment, > last only */
        { PATTERN, "a", true },
        { PATTERN, "*", true },
        { PATTERN, ">", true },
        { PATTERN, "*.a", true },
        { PATTERN, "a.*", true },
        { PATTERN, "a.*.b", true },
        { PATTERN, "*.*.*", true },
        { PATTERN, "a.>", true },
        { PATTERN, "*.>", true },
        { PATTERN, "$bus.>", true },
        { PATTERN, "$bus.name.*", true },
        { PATTERN, "", false },
        { PATTERN, ".", false },
        { PATTERN, ".a", false },
        { PATTERN, "a.", false },
        { PATTERN, "a..b", false },
        { PATTERN, ">.a", false }, /* > not last */
        { PATTERN, "a.>.b", false },
        { PATTERN, ">.>", false },
        { PATTERN, "a>", false }, /* wildcards are whole segments */
        { PATTERN, "a*", false },
        { PATTERN, "*a", false },
        { PATTERN, "**", false },
        { PATTERN, ">>", false },
        { PATTERN, "a.b*", false },
        { PATTERN, "$*", false },
        { PATTERN, "$>", false },
        { PATTERN, "$", false },
        { PATTERN, "a.$b", false },
        { PATTERN, "*.$b", false },
        { PATTERN, "caf\xc3\xa9.>", false },
};

static void test_table(void)
{
        for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
                const struct row *r = &rows[i];
                bool got = check(r->kind, r->s, strlen(r->s));
                if (got != r->ok) {
                        fprintf(stderr, "%s \"%s\": expected %s, got %s\n", kind_name(r->kind), r->s,
                                r->ok ? "valid" : "invalid", got ? "valid" : "invalid");
                        exit(1);
                }
                /* every topic is a pattern without wildcards */
                if (r->kind == TOPIC && r->ok)
                        CHECK(syntax_is_pattern(r->s, strlen(r->s)));
        }
}

/* The functions take a length: bytes after it are not looked at, and a NUL
 * within it (json-c strings may hold \u0000) is an invalid character. */
static void test_lengths_and_nul(void)
{
        CHECK(syntax_is_name("a.b.c", 3));
        CHECK(!syntax_is_name("a.b.c", 2));
        CHECK(!syntax_is_name("a.b\0c", 5));
        CHECK(!syntax_is_method("ab\0c", 4));
        CHECK(!syntax_is_code("ab\0c", 4));
        CHECK(!syntax_is_topic("a.b\0c", 5));
        CHECK(!syntax_is_pattern("a.*\0", 4));
        CHECK(syntax_is_topic("a.b.*", 3));
        uint64_t id = 0;
        CHECK(!syntax_parse_unique(":1\0", 3, &id));
}

/* Fills buf with `len` bytes of segments of `seglen` characters joined by
 * dots (the last segment may be shorter) and returns the segment count. */
static size_t make_dotted(char *buf, size_t len, size_t seglen, char c)
{
        size_t n = 0, segs = 0;

        while (n < len) {
                if (n > 0) {
                        buf[n++] = '.';
                        if (n == len) { /* never end on a dot */
                                buf[n - 2] = '.';
                                buf[n - 1] = c;
                                break;
                        }
                }
                segs++;
                for (size_t k = 0; k < seglen && n < len; k++)
                        buf[n++] = c;
        }
        buf[len] = 0;
        return segs;
}

static void test_limits(void)
{
        char buf[600];

        /* names: 255 bytes ok, 256 not */
        make_dotted(buf, 255, 20, 'n');
        CHECK_EQ_INT(strlen(buf), 255);
        CHECK(syntax_is_name(buf, 255));
        make_dotted(buf, 256, 20, 'n');
        CHECK(!syntax_is_name(buf, 256));

        /* methods: 255 / 256 */
        memset(buf, 'm', 256);
        CHECK(syntax_is_method(buf, 255));
        CHECK(!syntax_is_method(buf, 256));

        /* codes: 128 / 129 */
        memset(buf, 'c', 129);
        CHECK(syntax_is_code(buf, 128));
        CHECK(!syntax_is_code(buf, 129));

        /* topics and patterns: 255 bytes ok, 256 not (few long segments) */
        make_dotted(buf, 255, 30, 't');
        CHECK(syntax_is_topic(buf, 255));
        CHECK(syntax_is_pattern(buf, 255));
        make_dotted(buf, 256, 30, 't');
        CHECK(!syntax_is_topic(buf, 256));
        CHECK(!syntax_is_pattern(buf, 256));

        /* 32 segments ok, 33 not (short enough for the byte limit) */
        size_t segs = make_dotted(buf, 32 * 2 - 1, 1, 's');
        CHECK_EQ_INT(segs, 32);
        CHECK(syntax_is_topic(buf, strlen(buf)));
        CHECK(syntax_is_pattern(buf, strlen(buf)));
        buf[strlen(buf) - 1] = '>';
        CHECK(syntax_is_pattern(buf, strlen(buf))); /* 31 literals and > */
        buf[0] = '*';
        CHECK(syntax_is_pattern(buf, strlen(buf)));
        segs = make_dotted(buf, 33 * 2 - 1, 1, 's');
        CHECK_EQ_INT(segs, 33);
        CHECK(!syntax_is_topic(buf, strlen(buf)));
        CHECK(!syntax_is_pattern(buf, strlen(buf)));
        buf[strlen(buf) - 1] = '>';
        CHECK(!syntax_is_pattern(buf, strlen(buf)));

        /* 32 segments of 8 bytes = 287 bytes: the byte limit applies alone */
        make_dotted(buf, 32 * 9 - 1, 8, 'x');
        CHECK(!syntax_is_topic(buf, strlen(buf)));
}

/* `*` at each position of a 4-segment pattern, `>` at each position. */
static void test_wildcard_positions(void)
{
        const char *lit[] = { "a", "b", "c", "d" };
        char buf[64];

        for (int star = 0; star < 4; star++) {
                buf[0] = 0;
                for (int i = 0; i < 4; i++) {
                        if (i)
                                strcat(buf, ".");
                        strcat(buf, i == star ? "*" : lit[i]);
                }
                CHECK(syntax_is_pattern(buf, strlen(buf)));
                CHECK(!syntax_is_topic(buf, strlen(buf)));
                CHECK(syntax_pattern_matches(buf, "a.b.c.d"));
                CHECK(syntax_pattern_matches(buf, star == 0   ? "z.b.c.d"
                                                  : star == 1 ? "a.z.c.d"
                                                  : star == 2 ? "a.b.z.d"
                                                              : "a.b.c.z"));
                CHECK(!syntax_pattern_matches(buf, "a.b.c"));
                CHECK(!syntax_pattern_matches(buf, "a.b.c.d.e"));
        }
        for (int gt = 0; gt < 4; gt++) {
                buf[0] = 0;
                for (int i = 0; i < 4; i++) {
                        if (i)
                                strcat(buf, ".");
                        strcat(buf, i == gt ? ">" : lit[i]);
                }
                CHECK_EQ_INT(syntax_is_pattern(buf, strlen(buf)), gt == 3);
        }
}

static void test_unique(void)
{
        uint64_t id = 99;

        CHECK(syntax_parse_unique(":17", 3, &id));
        CHECK_EQ_INT(id, 17);
        CHECK(syntax_parse_unique(":0", 2, &id));
        CHECK_EQ_INT(id, 0);
        CHECK(syntax_parse_unique(":18446744073709551615", 21, &id));
        CHECK(id == UINT64_MAX);

        id = 42;
        CHECK(!syntax_parse_unique(":18446744073709551616", 21, &id)); /* overflow */
        CHECK(!syntax_parse_unique(":99999999999999999999", 21, &id));
        CHECK(!syntax_parse_unique(":100000000000000000000", 22, &id)); /* too long */
        CHECK(!syntax_parse_unique(":", 1, &id));
        CHECK(!syntax_parse_unique("", 0, &id));
        CHECK(!syntax_parse_unique("17", 2, &id));
        CHECK(!syntax_parse_unique(":017", 4, &id)); /* no leading zeros */
        CHECK(!syntax_parse_unique(":00", 3, &id));
        CHECK(!syntax_parse_unique(":-1", 3, &id));
        CHECK(!syntax_parse_unique(":1a", 3, &id));
        CHECK(!syntax_parse_unique(":1 ", 3, &id));
        CHECK(!syntax_parse_unique("::1", 3, &id));
        CHECK_EQ_INT(id, 42); /* untouched on failure */
}

static void test_reserved(void)
{
        CHECK(syntax_name_is_reserved("org.busd", 8));
        CHECK(syntax_name_is_reserved("org.busd.Anything", 17));
        CHECK(!syntax_name_is_reserved("org.busdx", 9));
        CHECK(!syntax_name_is_reserved("org.bus", 7));
        CHECK(!syntax_name_is_reserved("org.example.busd", 16));
        CHECK(syntax_topic_is_reserved("$bus.x", 6));
        CHECK(!syntax_topic_is_reserved("bus.$x", 6));
        CHECK(!syntax_topic_is_reserved("", 0));
}

struct mrow {
        const char *pattern, *topic;
        bool match;
};

static const struct mrow mrows[] = {
        { "a", "a", true },
        { "a", "b", false },
        { "a", "ab", false }, /* no prefix matching */
        { "ab", "a", false },
        { "a", "a.b", false },
        { "a.b", "a", false },
        { "a.b", "a.b", true },
        /* * is exactly one segment */
        { "*", "a", true },
        { "*", "a.b", false },
        { "a.*", "a.b", true },
        { "a.*", "a", false },
        { "a.*", "a.b.c", false },
        { "*.b", "a.b", true },
        { "*.b", "a.c", false },
        { "a.*.c", "a.b.c", true },
        { "a.*.c", "a.b.d", false },
        { "a.*.c", "a.c", false },
        { "*.*", "a.b", true },
        { "*.*", "a", false },
        /* > is one or more trailing segments */
        { ">", "a", true },
        { ">", "a.b.c", true },
        { "a.>", "a", false },
        { "a.>", "a.b", true },
        { "a.>", "a.b.c", true },
        { "a.>", "b.c", false },
        { "a.>", "ab.c", false },
        { "a.b.>", "a.b", false },
        { "a.b.>", "a.b.c.d", true },
        { "*.>", "a", false },
        { "*.>", "a.b", true },
        { "a.*.>", "a.b", false },
        { "a.*.>", "a.b.c", true },
        /* $ topics: no wildcard in the first segment matches them */
        { ">", "$bus", false },
        { ">", "$bus.name.x", false },
        { "*", "$bus", false },
        { "*.name.x", "$bus.name.x", false },
        { "*.>", "$bus.name", false },
        { "$bus", "$bus", true },
        { "$bus.>", "$bus", false },
        { "$bus.>", "$bus.name.org.x", true },
        { "$bus.*.x", "$bus.name.x", true },
        { "$bus.name.*", "$bus.name.x", true },
        { "$bus.name.*", "$bus.name.x.y", false },
        { "bus.>", "$bus.x", false },
};

static void test_matching(void)
{
        for (size_t i = 0; i < sizeof(mrows) / sizeof(mrows[0]); i++) {
                const struct mrow *m = &mrows[i];
                CHECK(syntax_is_pattern(m->pattern, strlen(m->pattern)));
                CHECK(syntax_is_topic(m->topic, strlen(m->topic)));
                bool got = syntax_pattern_matches(m->pattern, m->topic);
                if (got != m->match) {
                        fprintf(stderr, "pattern \"%s\" topic \"%s\": expected %s\n", m->pattern, m->topic,
                                m->match ? "match" : "no match");
                        exit(1);
                }
        }
        /* a topic always matches itself as a pattern */
        CHECK(syntax_pattern_matches("sensors.kitchen.temp", "sensors.kitchen.temp"));
}

int main(void)
{
        test_table();
        test_lengths_and_nul();
        test_limits();
        test_wildcard_positions();
        test_unique();
        test_reserved();
        test_matching();
        return 0;
}
