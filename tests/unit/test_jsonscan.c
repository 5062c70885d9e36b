/* test_jsonscan.c: proto/jsonscan.c, the one-pass validator: it accepts
 * exactly what proto/jsonparse.c accepts (docs/protocol.md §2.1; every case
 * below is checked against jsonparse_parse() too), and it yields the root's
 * value, an object's members decoded, raw spans as sent, the `spaced` flag,
 * jsonscan_compact() and jsonscan_find(). tests/fuzz/fuzz_jsonscan.c holds
 * the two parsers to the same verdict on random input. */
#include <errno.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "buslimits.h"
#include "jsonparse.h"
#include "jsonscan.h"
#include "test.h"

static struct jsonparse *P;
static struct jsonscan *S;
static char err[512];

/* Runs both parsers with limit BUS_MAX_DEPTH; returns jsonscan's result and
 * checks that jsonparse gives the same verdict. */
static int both(const char *s, size_t len)
{
        struct json_object *o = NULL;
        char perr[512];

        err[0] = '\0';
        int r = jsonscan_parse(S, s, len, NULL, NULL, NULL, err, sizeof(err));
        int pr = jsonparse_parse(P, s, len, &o, perr, sizeof(perr));
        json_object_put(o);
        if ((r == 0) != (pr == 0)) {
                fprintf(stderr, "verdicts differ on %.*s: jsonscan %d (%s), jsonparse %d (%s)\n", (int)len, s, r, err,
                        pr, perr);
                exit(1);
        }
        return r;
}

static void accept_text(const char *s, size_t len)
{
        if (both(s, len) != 0) {
                fprintf(stderr, "rejected but valid: %.*s (%s)\n", (int)(len < 200 ? len : 200), s, err);
                exit(1);
        }
}

static void reject_text(const char *s, size_t len)
{
        int r = both(s, len);

        if (r == 0) {
                fprintf(stderr, "accepted but invalid: %.*s\n", (int)(len < 200 ? len : 200), s);
                exit(1);
        }
        CHECK_EQ_INT(r, -EINVAL);
        CHECK_CONTAINS(err, "invalid JSON");
}

static const char *const accepted[] = {
        "{\"type\":\"call\",\"id\":1,\"dest\":\"org.a.B\",\"method\":\"m\",\"params\":{\"x\":[1,2.5,-0,1e400,"
        "\"\\u00e9\\ud83d\\ude00\"]}}",
        "{}",
        " {} ",
        "\t\r\n{\"a\":1}\r\n\t ",
        " {\n  \"a\" : [ 1 ,\n 2 ] ,\r\n \"b\" : { }\n}\n", /* whitespace with line feeds */
        "[1,2]",
        "5",
        "-12 ",
        "\"s\"",
        "true",
        "false",
        "null",
        "{\"a\":[1,-2,3.5,-0.25e-3,1E+2,0e0,0.0,-0.0,true,false,null,{\"b\":\"c\"},[]]}",
        "{\"a\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0041\\u00e9\"}",
        "{\"a\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xef\xbf\xbf\xf4\x8f\xbf\xbf\x7f\"}",
        "{\"a\":\"\\ud800\\udc00\\udbff\\udfff\\uD83D\\uDE00\"}", /* surrogate pairs */
        "{\"a\":\"x\\u0000y\",\"b\":[\"\\u0000\"]}",              /* U+0000 in values */
        "{\"a\":\"\\\\u0000\"}",                                  /* an escaped backslash, not an escape */
        "{\"\\\\u0000\":1}",
        "{\"\\\\ud800\":1}",
        /* integer limits */
        "[18446744073709551615,9223372036854775808,9223372036854775807]",
        "[-9223372036854775808,-9223372036854775807,-0,0]",
        "[1.8446744073709551616e19,99999999999999999999.0,1e-400,-1e400]",
        /* the same name in different objects, names that differ */
        "{\"a\":{\"a\":1},\"b\":[{\"a\":2},{\"a\":3}],\"s\":\"a:b\"}",
        "{\"a\":1,\"A\":2,\"a \":3,\"\\u0062\":4,\"\\/\":5,\"\":6}",
        "{\"k0\":0,\"k1\":1,\"k2\":2,\"k3\":3,\"k4\":4,\"k5\":5,\"k6\":6,\"k7\":7,\"k8\":8,\"k9\":9,\"k10\":10,"
        "\"k11\":11,\"k12\":12,\"k13\":13,\"k14\":14,\"k15\":15,\"k16\":16,\"k17\":17}",
};

static const char *const rejected[] = {
        "",
        " \n\t\r",
        "{",
        "{\"a\":",
        "[1",
        "[tru",
        "nul",
        /* numbers: RFC 8259 only */
        "[01]",
        "[-01]",
        "00",
        "[1.]",
        "[-.5]",
        "[.5]",
        "[1e]",
        "[1e+]",
        "[1E-]",
        "[-]",
        "[+1]",
        "[1.5.3]",
        "[0x10]",
        "[1e5e5]",
        /* integers beyond 64 bits */
        "{\"u\":18446744073709551616}",
        "[-9223372036854775809]",
        "[100000000000000000000]",
        /* lone UTF-16 surrogates */
        "{\"a\":\"\\ud800\"}",
        "{\"a\":\"\\udc00\"}",
        "{\"a\":\"\\ud800\\u0041\"}",
        "{\"a\":\"\\ud800x\"}",
        "[\"\\ud800\\ud800\\udc00\"]",
        "[\"\\udc00\\ud800\"]",
        "\"\\ud83d\"",
        "{\"\\udfff\":1}",
        /* U+0000 in a member name */
        "{\"a\\u0000b\":1}",
        "{\"\\u0000\":1}",
        "{\"x\":[{\"\\u0000\" :1}]}",
        /* the same member name twice, at any depth, also through escapes */
        "{\"a\":1,\"a\":2}",
        "{\"x\":[1,{\"y\":{\"b\":1,\"c\":2,\"b\":3}}]}",
        "{\"a\":1,\"\\u0061\":2}",
        "{\"p\":{\"\\/\":1,\"/\":2}}",
        "{\"\\u00e9\":1,\"\xc3\xa9\":2}",
        "{\"\\ud83d\\ude00\":1,\"\xf0\x9f\x98\x80\":2}",
        ("{\"k0\":0,\"k1\":1,\"k2\":2,\"k3\":3,\"k4\":4,\"k5\":5,\"k6\":6,\"k7\":7,\"k8\":8,\"k9\":9,\"k10\":10,"
         "\"k11\":11,\"k12\":12,\"k13\":13,\"k14\":14,\"k15\":15,\"k16\":16,\"k3\":17}"),
        /* NaN, Infinity, single quotes, comments, trailing commas */
        "[NaN]",
        "{\"a\":Infinity}",
        "{\"a\":-Infinity}",
        "[nan]",
        "{'a':1}",
        "{\"a\":'x'}",
        "{\"a\":1/*x*/}",
        "[1,2,]",
        "{\"a\":1,}",
        "[,1]",
        "{a:1}",
        "{\"a\" 1}",
        "[True]",
        /* escapes */
        "[\"\\x41\"]",
        "[\"\\u12g4\"]",
        "[\"\\u12\"]",
        "[\"\\'\"]",
        /* raw control characters, NUL bytes */
        "{\"a\":\"x\x01y\"}",
        "{\"a\":\"x\ny\"}",
        "{\"a\":\"\t\"}",
        "{\"a\":\"\x1f\"}",
        "{\x0b\"a\":1}",
        "{\x0c\"a\":1}",
        /* invalid UTF-8: overlong, encoded surrogate, beyond U+10FFFF, cut, stray */
        "{\"a\":\"\xc0\xaf\"}",
        "{\"a\":\"\xe0\x80\xaf\"}",
        "{\"a\":\"\xed\xa0\x80\"}",
        "{\"a\":\"\xf4\x90\x80\x80\"}",
        "{\"a\":\"\xf5\x80\x80\x80\"}",
        "{\"a\":\"\xe6\x97\"}",
        "{\"a\":\"\x80\"}",
        "{\"\xff\":1}",
        "\xef\xbb\xbf{}", /* a byte order mark */
        /* trailing data, two texts */
        "{\"a\":1} x",
        "{} {}",
        "1 2",
        "null x",
        "\"a\"\"b\"",
};

static void test_accept_reject(void)
{
        for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++)
                accept_text(accepted[i], strlen(accepted[i]));
        for (size_t i = 0; i < sizeof(rejected) / sizeof(rejected[0]); i++)
                reject_text(rejected[i], strlen(rejected[i]));
        /* NUL bytes, in a string, after the text, before it */
        reject_text("{\"a\":\"x\0\"}", 10);
        reject_text("{\"a\":1}\0", 8);
        reject_text("\0{}", 3);
        /* the error names a byte */
        CHECK_EQ_INT(both("[01]", 4), -EINVAL);
        CHECK_CONTAINS(err, "at byte 1: invalid number");
        CHECK_EQ_INT(both("{\"a\":'x'}", 9), -EINVAL);
        CHECK_CONTAINS(err, "at byte 5: single-quoted string");
        CHECK_EQ_INT(both("{\"a\":\"\\ud800\"}", 14), -EINVAL);
        CHECK_CONTAINS(err, "at byte 6: lone UTF-16 surrogate");
        CHECK_EQ_INT(both("{\"a\":1,\"a\":2}", 13), -EINVAL);
        CHECK_CONTAINS(err, "same member name twice");
        CHECK_EQ_INT(both("[18446744073709551616]", 22), -EINVAL);
        CHECK_CONTAINS(err, "at byte 1: integer out of 64-bit range");
        /* length is honoured: bytes after len are not read */
        CHECK_EQ_INT(both("{}garbage", 2), 0);
}

/* n nested containers (arrays or objects); the innermost holds 1 or is empty. */
static char *nested(int n, bool arrays, bool empty)
{
        size_t cap = (size_t)n * 8 + 16, len = 0;
        char *s = malloc(cap);

        CHECK(s);
        for (int i = 0; i < n; i++)
                len += (size_t)sprintf(s + len, arrays ? "[" : (i == n - 1 && empty) ? "{" : "{\"a\":");
        if (!empty)
                len += (size_t)sprintf(s + len, "1");
        for (int i = 0; i < n; i++)
                len += (size_t)sprintf(s + len, arrays ? "]" : "}");
        return s;
}

static void test_depth(void)
{
        for (int arrays = 0; arrays < 2; arrays++) {
                for (int empty = 0; empty < 2; empty++) {
                        char *ok = nested(BUS_MAX_DEPTH, arrays, empty);
                        char *bad = nested(BUS_MAX_DEPTH + 1, arrays, empty);
                        accept_text(ok, strlen(ok));
                        reject_text(bad, strlen(bad));
                        CHECK_CONTAINS(err, "nesting too deep");
                        free(ok);
                        free(bad);
                }
        }
        /* another limit counts the same way in both */
        static const struct {
                const char *text;
                int result;
        } two[] = {
                { "{\"a\":{\"b\":1}}", 0 },
                { "{\"a\":[]}", 0 },
                { "[{}]", 0 },
                { "[{},[],{\"a\":1},[2]]", 0 }, /* siblings do not add up */
                { "{\"a\":{\"b\":[1]}}", -EINVAL },
                { "{\"a\":{\"b\":[]}}", -EINVAL },
                { "[[{}]]", -EINVAL },
                { "{\"a\":\"[[[{{{\"}", 0 }, /* brackets inside strings are not nesting */
                { "{\"a\":\"]]]}}}\",\"b\":[[1]]}", -EINVAL },
        };
        struct jsonscan *s2 = jsonscan_new(2);
        struct jsonparse *p2 = jsonparse_new(2);
        CHECK(s2 && p2);
        for (size_t i = 0; i < sizeof(two) / sizeof(two[0]); i++) {
                struct json_object *o = NULL;
                size_t len = strlen(two[i].text);
                int r = jsonscan_parse(s2, two[i].text, len, NULL, NULL, NULL, err, sizeof(err));
                if (r != two[i].result || jsonparse_parse(p2, two[i].text, len, &o, err, sizeof(err)) != r) {
                        fprintf(stderr, "depth 2: %s: %d (%s)\n", two[i].text, r, err);
                        exit(1);
                }
                json_object_put(o);
        }
        jsonscan_free(s2);
        jsonparse_free(p2);
        /* jsonscan_depth(): the deepest nesting of the text accepted last */
        static const struct {
                const char *text;
                int depth;
        } deepest[] = {
                { "1", 0 },
                { "\"[[\"", 0 },
                { "{}", 1 },
                { "[{},[],{\"a\":1},[2]]", 2 },
                { "{\"a\":{\"b\":[1]},\"c\":[]}", 3 },
        };
        for (size_t i = 0; i < sizeof(deepest) / sizeof(deepest[0]); i++) {
                CHECK_EQ_INT(jsonscan_parse(S, deepest[i].text, strlen(deepest[i].text), NULL, NULL, NULL, err,
                                            sizeof(err)),
                             0);
                CHECK_EQ_INT(jsonscan_depth(S), deepest[i].depth);
        }
        /* limits out of range */
        CHECK(!jsonscan_new(0));
        CHECK(!jsonscan_new(1025));
        struct jsonscan *deep = jsonscan_new(1024);
        CHECK(deep);
        char *s = nested(1024, true, false);
        CHECK_EQ_INT(jsonscan_parse(deep, s, strlen(s), NULL, NULL, NULL, err, sizeof(err)), 0);
        free(s);
        s = nested(1025, false, true);
        CHECK_EQ_INT(jsonscan_parse(deep, s, strlen(s), NULL, NULL, NULL, err, sizeof(err)), -EINVAL);
        free(s);
        jsonscan_free(deep);
        jsonscan_free(NULL);
}

/* Parses s (must be accepted) into root, members, n. */
static void scan(const char *s, struct jsonscan_value *root, const struct jsonscan_member **m, size_t *n)
{
        CHECK_EQ_INT(both(s, strlen(s)), 0);
        CHECK_EQ_INT(jsonscan_parse(S, s, strlen(s), root, m, n, err, sizeof(err)), 0);
}

static void check_raw(const struct jsonscan_span *raw, const char *want, bool spaced)
{
        CHECK(raw->s);
        if (raw->len != strlen(want) || memcmp(raw->s, want, raw->len) != 0) {
                fprintf(stderr, "raw span \"%.*s\", want \"%s\"\n", (int)raw->len, raw->s, want);
                exit(1);
        }
        CHECK_EQ_INT(raw->spaced, spaced);
}

static void test_members(void)
{
        struct jsonscan_value root;
        const struct jsonscan_member *m;
        size_t n;
        const char *text = " {\"s\":\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\tx\", \"\\u0061b\" : \"\\u00e9\\ud83d\\ude00\","
                           "\"nul\":\"x\\u0000y\",\"t\":true,\"f\":false,\"z\":null,\"m0\":-0,"
                           "\"umax\":18446744073709551615,\"big\":9223372036854775808,\"imax\":9223372036854775807,"
                           "\"imin\":-9223372036854775808,\"d\":1.5,\"inf\":1e400,\"nd\":-0.0,"
                           "\"o\":{ \"k\" : [1, \"a b\"] },\"a\":[\"x y\"]}\n";

        scan(text, &root, &m, &n);
        CHECK_EQ_INT(root.type, JSONSCAN_OBJECT);
        /* the text without the whitespace around it */
        CHECK(root.raw.s == text + 1 && root.raw.len == strlen(text) - 2 && root.raw.spaced);
        CHECK_EQ_INT(n, 16);
        /* in the order of the text, names decoded */
        static const char *const names[] = { "s",   "ab",   "nul",  "t", "f",   "z",  "m0", "umax",
                                             "big", "imax", "imin", "d", "inf", "nd", "o",  "a" };
        for (size_t i = 0; i < n; i++) {
                CHECK_STREQ(m[i].key, names[i]);
                CHECK_EQ_INT(m[i].key_len, strlen(names[i]));
                CHECK(jsonscan_find(m, n, names[i]) == &m[i]);
        }
        CHECK_EQ_INT(m[0].value.type, JSONSCAN_STRING);
        CHECK_EQ_INT(m[0].value.str_len, 13);
        CHECK(memcmp(m[0].value.str, "a\"b\\c/d\b\f\n\r\tx", 14) == 0);
        check_raw(&m[0].value.raw, "\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\tx\"", false);
        CHECK_STREQ(m[1].value.str, "\xc3\xa9\xf0\x9f\x98\x80");
        CHECK_EQ_INT(m[1].value.str_len, 6);
        CHECK_EQ_INT(m[2].value.str_len, 3); /* U+0000 counted */
        CHECK(memcmp(m[2].value.str, "x\0y", 4) == 0);
        CHECK(m[3].value.type == JSONSCAN_BOOL && m[3].value.b);
        CHECK(m[4].value.type == JSONSCAN_BOOL && !m[4].value.b);
        CHECK_EQ_INT(m[5].value.type, JSONSCAN_NULL);
        check_raw(&m[5].value.raw, "null", false);
        /* -0 is the integer 0 */
        CHECK(m[6].value.type == JSONSCAN_INT && !m[6].value.big && m[6].value.i == 0);
        check_raw(&m[6].value.raw, "-0", false);
        CHECK(m[7].value.type == JSONSCAN_INT && m[7].value.big && m[7].value.u == UINT64_MAX);
        CHECK(m[8].value.type == JSONSCAN_INT && m[8].value.big && m[8].value.u == (uint64_t)INT64_MAX + 1);
        CHECK(m[9].value.type == JSONSCAN_INT && !m[9].value.big && m[9].value.i == INT64_MAX);
        CHECK(m[10].value.type == JSONSCAN_INT && !m[10].value.big && m[10].value.i == INT64_MIN);
        CHECK_EQ_INT(m[11].value.type, JSONSCAN_DOUBLE);
        CHECK_EQ_INT(m[12].value.type, JSONSCAN_DOUBLE);
        check_raw(&m[12].value.raw, "1e400", false);
        check_raw(&m[13].value.raw, "-0.0", false);
        CHECK_EQ_INT(m[14].value.type, JSONSCAN_OBJECT);
        check_raw(&m[14].value.raw, "{ \"k\" : [1, \"a b\"] }", true);
        CHECK_EQ_INT(m[15].value.type, JSONSCAN_ARRAY);
        check_raw(&m[15].value.raw, "[\"x y\"]", false); /* spaces inside strings do not count */
        CHECK(jsonscan_find(m, n, "k") == NULL);         /* nested members are not members */
        CHECK(jsonscan_find(m, n, "a\"b") == NULL);
        CHECK(jsonscan_find(m, n, "") == NULL);
        CHECK(jsonscan_find(m, 0, "s") == NULL);

        /* a root that is not an object has no members */
        scan("  \"x\\u0041\\n\" ", &root, &m, &n);
        CHECK(root.type == JSONSCAN_STRING && m == NULL && n == 0);
        CHECK_STREQ(root.str, "xA\n");
        check_raw(&root.raw, "\"x\\u0041\\n\"", false);
        scan("\n-0\n", &root, &m, &n);
        CHECK(root.type == JSONSCAN_INT && root.i == 0 && !root.big && m == NULL && n == 0);
        scan("18446744073709551615", &root, &m, &n);
        CHECK(root.type == JSONSCAN_INT && root.big && root.u == UINT64_MAX);
        scan("-9223372036854775808", &root, &m, &n);
        CHECK(root.type == JSONSCAN_INT && !root.big && root.i == INT64_MIN);
        scan("[ 1 ]", &root, &m, &n);
        CHECK(root.type == JSONSCAN_ARRAY && m == NULL && n == 0);
        check_raw(&root.raw, "[ 1 ]", true);
        scan("null", &root, &m, &n);
        CHECK_EQ_INT(root.type, JSONSCAN_NULL);
        scan("{}", &root, &m, &n);
        CHECK(root.type == JSONSCAN_OBJECT && n == 0);
        /* validation only */
        CHECK_EQ_INT(jsonscan_parse(S, "{\"a\":1}", 7, NULL, NULL, NULL, NULL, 0), 0);
        CHECK_EQ_INT(jsonscan_parse(S, "{\"a\":}", 6, NULL, NULL, NULL, NULL, 0), -EINVAL);
}

/* jsonscan_compact(s) is want; json-c reads both to the same value. */
static void check_compact(const char *s, const char *want)
{
        size_t len = strlen(s);
        char *dst = malloc(len + 1);
        struct json_object *a = NULL, *b = NULL;

        CHECK(dst);
        size_t n = jsonscan_compact(s, len, dst);
        dst[n] = '\0';
        CHECK_STREQ(dst, want);
        CHECK_EQ_INT(jsonparse_parse(P, s, len, &a, err, sizeof(err)), 0);
        CHECK_EQ_INT(jsonparse_parse(P, dst, n, &b, err, sizeof(err)), 0);
        CHECK(json_object_equal(a, b));
        json_object_put(a);
        json_object_put(b);
        free(dst);
}

static void test_compact(void)
{
        check_compact("{ \"a\" :\n [ 1 ,\r\n\t2 ] }", "{\"a\":[1,2]}");
        check_compact("[\"a b\" , \"c\\\" d\" , \"e\\\\\" , \" \"]", "[\"a b\",\"c\\\" d\",\"e\\\\\",\" \"]");
        check_compact("{\"x y\":{ \"\\\\\\\"\" : \"\\u0020\" }}", "{\"x y\":{\"\\\\\\\"\":\"\\u0020\"}}");
        check_compact("[]", "[]");
        check_compact(" 1 ", "1");

        /* a member's span, compacted, is shorter exactly when it is spaced */
        struct jsonscan_value root;
        const struct jsonscan_member *m;
        size_t n;
        scan("{\"p\": {\"a\": [1, 2]}, \"q\":{\"a\":\" \"}}", &root, &m, &n);
        CHECK_EQ_INT(n, 2);
        char buf[64];
        CHECK(m[0].value.raw.spaced);
        CHECK_EQ_INT(jsonscan_compact(m[0].value.raw.s, m[0].value.raw.len, buf), 11);
        CHECK(memcmp(buf, "{\"a\":[1,2]}", 11) == 0);
        CHECK(!m[1].value.raw.spaced);
        CHECK_EQ_INT(jsonscan_compact(m[1].value.raw.s, m[1].value.raw.len, buf), m[1].value.raw.len);
}

/* {"k0":0,...,"k<n-1>":n-1} followed by `extra` members text. */
static char *many(size_t n, const char *extra)
{
        char *s = malloc(n * 24 + strlen(extra) + 4);
        size_t len = 0;

        CHECK(s);
        s[len++] = '{';
        for (size_t i = 0; i < n; i++)
                len += (size_t)sprintf(s + len, "%s\"k%zu\":%zu", i ? "," : "", i, i);
        len += (size_t)sprintf(s + len, "%s}", extra);
        return s;
}

static void test_many_members(void)
{
        struct jsonscan_value root;
        const struct jsonscan_member *m;
        size_t n;
        char *s = many(1000, "");

        scan(s, &root, &m, &n);
        CHECK_EQ_INT(n, 1000);
        CHECK(jsonscan_find(m, n, "k999") == &m[999]);
        CHECK(m[999].value.type == JSONSCAN_INT && m[999].value.i == 999);
        CHECK(jsonscan_find(m, n, "k1000") == NULL);
        free(s);

        static const char *const dups[] = { ",\"k500\":1", ",\"k0\":1", ",\"\\u006b998\":1", ",\"k1\\u0030\":1" };
        for (size_t i = 0; i < sizeof(dups) / sizeof(dups[0]); i++) {
                s = many(999, dups[i]);
                reject_text(s, strlen(s));
                CHECK_CONTAINS(err, "same member name twice");
                free(s);
        }
        /* the same inside a nested object */
        s = many(1000, ",\"n\":{\"a\":1,\"b\":2}");
        accept_text(s, strlen(s));
        free(s);
        char *inner = many(1000, ",\"k7\":0");
        s = malloc(strlen(inner) + 16);
        CHECK(s);
        sprintf(s, "{\"x\":[%s]}", inner);
        reject_text(s, strlen(s));
        free(s);
        free(inner);
}

/* json-c 0.16 reads the surrogate pairs of U+xD800..U+xDFFF (x = 1..10, as
 * \ud836\udc00 for U+1D800) as U+FFFD; jsonparse works around it. Every
 * high half, with the lowest and highest low half, decodes the same in both,
 * and two such member names stay two. */
static void test_pairs_json_c_misreads(void)
{
        for (unsigned hi = 0xd800; hi <= 0xdbff; hi++) {
                for (unsigned lo = 0xdc00; lo <= 0xdfff; lo += 0x3ff) {
                        char text[64];
                        struct jsonscan_value root;
                        struct json_object *o = NULL, *v = NULL;
                        int n = snprintf(text, sizeof(text), "{\"\\u%04x\\u%04x\":\"\\u%04x\\u%04x\"}", hi, lo, hi, lo);
                        const struct jsonscan_member *m;
                        size_t nm;
                        CHECK_EQ_INT(jsonscan_parse(S, text, (size_t)n, &root, &m, &nm, err, sizeof(err)), 0);
                        CHECK_EQ_INT(nm, 1);
                        CHECK_EQ_INT(m[0].value.str_len, 4);
                        CHECK_EQ_INT(jsonparse_parse(P, text, (size_t)n, &o, err, sizeof(err)), 0);
                        CHECK(json_object_object_get_ex(o, m[0].key, &v));
                        CHECK_EQ_INT(json_object_get_string_len(v), 4);
                        CHECK(memcmp(json_object_get_string(v), m[0].value.str, 4) == 0);
                        json_object_put(o);
                        CHECK_EQ_INT(jsonparse_tree(m[0].value.raw.s, m[0].value.raw.len, &o), 0);
                        CHECK(memcmp(json_object_get_string(o), m[0].value.str, 5) == 0);
                        json_object_put(o);
                }
        }
        struct jsonscan_value root;
        const struct jsonscan_member *m;
        size_t n;
        scan("{\"\\ud836\\udc00\":1,\"\\ud836\\udc01\":2,\"\\ufffd\":3,\"x\":\"\\ud836\\ude0a\"}", &root, &m, &n);
        CHECK_EQ_INT(n, 4);
        CHECK_STREQ(m[0].key, "\xf0\x9d\xa0\x80"); /* U+1D800 */
        CHECK_STREQ(m[1].key, "\xf0\x9d\xa0\x81");
        CHECK_STREQ(m[2].key, "\xef\xbf\xbd");
        CHECK_STREQ(m[3].value.str, "\xf0\x9d\xa8\x8a"); /* U+1DA0A */
        reject_text("{\"\\ud836\\udc00\":1,\"\xf0\x9d\xa0\x80\":2}", 27);
        CHECK_CONTAINS(err, "same member name twice");
}

/* One scanner, many texts: nothing of one carries over to the next. */
static void test_reuse(void)
{
        struct jsonscan_value root;
        const struct jsonscan_member *m;
        size_t n;
        char *big = many(1000, "");

        scan(big, &root, &m, &n);
        /* a text cut inside a surrogate pair, then one starting with the low half */
        CHECK_EQ_INT(jsonscan_parse(S, "{\"a\":\"\\ud83d", 12, &root, &m, &n, err, sizeof(err)), -EINVAL);
        reject_text("{\"b\":\"\\ude00\"}", 14);
        /* a failure deep inside an object with many names, then a small object */
        big[strlen(big) - 1] = ',';
        reject_text(big, strlen(big));
        scan("{\"k1\":\"x\",\"k2\":{\"k1\":1}}", &root, &m, &n);
        CHECK_EQ_INT(n, 2);
        CHECK_STREQ(m[0].key, "k1");
        CHECK_STREQ(m[0].value.str, "x");
        CHECK(jsonscan_find(m, n, "k2") == &m[1]);
        free(big);
}

int main(void)
{
        P = jsonparse_new(BUS_MAX_DEPTH);
        S = jsonscan_new(BUS_MAX_DEPTH);
        CHECK(P && S);
        test_accept_reject();
        test_depth();
        test_members();
        test_compact();
        test_many_members();
        test_pairs_json_c_misreads();
        test_reuse();
        jsonscan_free(S);
        jsonparse_free(P);
        return 0;
}
