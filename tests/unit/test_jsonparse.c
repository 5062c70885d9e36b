/* test_jsonparse.c: proto/jsonparse.c, the JSON accepted from clients
 * (docs/protocol.md §2.1): what passes, what is rejected, and that the error
 * text names the byte offset of the fault. */
#include <errno.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "jsonparse.h"
#include "test.h"

static struct jsonparse *P;
static char err[512];

/* Parses s (len bytes); returns the object or NULL (err then holds why). */
static struct json_object *parse_n(const char *s, size_t len)
{
        struct json_object *o = (struct json_object *)(uintptr_t)1; /* must stay untouched on failure */

        err[0] = 0;
        int r = jsonparse_parse(P, s, len, &o, err, sizeof(err));
        if (r < 0) {
                CHECK_EQ_INT(r, -EINVAL);
                CHECK(o == (struct json_object *)(uintptr_t)1);
                CHECK(err[0] != 0);
                return NULL;
        }
        CHECK_EQ_INT(r, 0);
        return o;
}

static struct json_object *parse(const char *s)
{
        return parse_n(s, strlen(s));
}

static void accept_n(const char *s, size_t len)
{
        struct json_object *o = parse_n(s, len);
        if (!o) {
                fprintf(stderr, "rejected but valid: %.*s (%s)\n", (int)len, s, err);
                exit(1);
        }
        json_object_put(o);
}

static void accept(const char *s)
{
        accept_n(s, strlen(s));
}

/* Checks s is rejected and, when `at` >= 0, that the error names byte `at`. */
static void reject_n(const char *s, size_t len, long at)
{
        struct json_object *o = parse_n(s, len);
        if (o) {
                fprintf(stderr, "accepted but invalid: %.*s\n", (int)len, s);
                exit(1);
        }
        CHECK_CONTAINS(err, "invalid JSON");
        if (at >= 0) {
                char want[64];
                snprintf(want, sizeof(want), "at byte %ld:", at);
                if (!strstr(err, want)) {
                        fprintf(stderr, "%.*s: error \"%s\" does not name byte %ld\n", (int)len, s, err, at);
                        exit(1);
                }
        }
}

static void reject(const char *s, long at)
{
        reject_n(s, strlen(s), at);
}

/* Checks s is rejected with an error that says `why`. */
static void reject_text(const char *s, const char *why)
{
        reject(s, -1);
        CHECK_CONTAINS(err, why);
}

static void test_accepted(void)
{
        accept("{}");
        accept(" {} ");
        accept("\t\r\n{\"a\":1}\r\n\t ");
        accept("{\"type\":\"hello\",\"id\":1,\"names\":[\"org.example.Clock\"]}");
        accept("{\"a\":[1,-2,3.5,-0.25e-3,1E+2,true,false,null,{\"b\":\"c\"},[]]}");
        accept("{\"a\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0041\\u00e9\"}");
        accept("{\"a\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}"); /* 2-, 3- and 4-byte UTF-8 */
        accept("{\"a\":\"\xef\xbf\xbf\xf4\x8f\xbf\xbf\"}");         /* U+FFFF, U+10FFFF */
        accept("{\"a\":\"\\u0000\"}"); /* an escaped NUL is JSON; the syntax checks reject it where it matters */
        accept("{\"a\":0,\"b\":-0}");
        accept("[1,2]"); /* any JSON text: "must be an object" is msg.c's rule */
        accept("5");     /* a bare number at the very end of input */
        accept("-12 ");
        accept("\"s\"");
        accept("true");
        /* integers at the 64-bit bounds */
        accept("{\"a\":9223372036854775807}");
        accept("{\"a\":-9223372036854775808}");
        accept("{\"a\":18446744073709551615}");
        accept("{\"a\":-9223372036854775808,\"b\":18446744073709551615}");
        /* doubles have no range rule of ours */
        accept("{\"a\":1.8446744073709551616e19}");
        accept("{\"a\":99999999999999999999.0}");
}

static void test_rejected(void)
{
        reject("", -1);
        reject("   ", -1);
        reject("{", -1);
        reject("{\"a\":", -1);
        {
                /* `null` is valid JSON: success with NULL (the router then says invalid_message) */
                struct json_object *o = (struct json_object *)1;
                char e[200];
                CHECK_EQ_INT(jsonparse_parse(P, "null", 4, &o, e, sizeof(e)), 0);
                CHECK(o == NULL);
                CHECK_EQ_INT(jsonparse_parse(P, " null x", 7, &o, e, sizeof(e)), -EINVAL);
        }
        /* single quotes */
        reject("{'a':1}", 1);
        reject("{\"a\":'x'}", 5);
        /* NaN and Infinity */
        reject("{\"a\":NaN}", 5);
        reject("{\"a\":Infinity}", 5);
        reject("{\"a\":-Infinity}", 6);
        reject("{\"a\":nan}", -1);
        /* raw control characters inside strings */
        reject("{\"a\":\"x\x01\"}", 7);
        reject("{\"a\":\"\tx\"}", 6);
        reject("{\"a\":\"x\ny\"}", 7);
        reject("{\"a\":\"\x1f\"}", 6);
        reject("{\"\x7f\x01\":1}", 3);
        /* NUL bytes, inside and outside strings */
        reject_n("{\"a\":\"x\0\"}", 10, 7);
        reject_n("{\"a\":1}\0", 8, 7);
        reject_n("\0{}", 3, 0);
        /* comments and other non-JSON */
        reject("{/*c*/\"a\":1}", 1);
        reject("{\"a\":1}//c", 7);
        reject("{\"a\":1,}", -1);
        reject("{\"a\":01}", -1);
        reject("{\"a\":True}", 5);
        reject("{\"a\":tru}", -1);
        reject("{\"a\":\"\\x\"}", -1);
        reject("{a:1}", -1);
        reject("{\"a\" 1}", -1);
        reject("{\"a\":+1}", 5);
        reject("{\"a\":.5}", 5);
        /* nothing but whitespace after the object */
        reject("{\"a\":1}{}", 7);
        reject("{\"a\":1} x", 8);
        reject("{} []", 3);
        reject("{\"a\":1}\x0b", 7);
        reject("5 6", -1);
        /* integers beyond the 64-bit bounds: rejected, never clamped */
        reject("{\"a\":18446744073709551616}", 5);
        reject("{\"a\":-9223372036854775809}", 5);
        reject("{\"a\":99999999999999999999999}", 5);
        reject("{\"a\":-18446744073709551615}", 5);
        reject("{\"a\":[1,2,36893488147419103232]}", 10);
        reject("{\"a\":000018446744073709551616}", 5);
        /* bytes outside strings that are not JSON */
        reject("{\"a\":1}\xff", 7);
        reject("\xef\xbb\xbf{}", 0); /* a byte order mark */
}

/* Invalid UTF-8 inside strings (RFC 3629): stray continuation bytes,
 * truncated sequences, bytes that never occur, overlong encodings, UTF-16
 * surrogates encoded in UTF-8, and code points above U+10FFFF. */
static void test_utf8(void)
{
        static const char *bad[] = {
                "\x80", /* lone continuation byte */
                "a\xbf",
                "\xc3", /* truncated 2-byte sequence */
                "\xc3x",
                "\xe2\x82",     /* truncated 3-byte sequence */
                "\xf0\x9f\x98", /* truncated 4-byte sequence */
                "\xff",         /* never valid */
                "\xfe",
                "\xf8\x88\x80\x80\x80", /* 5-byte form */
                "\xc0\x80",             /* overlong NUL */
                "\xc1\xbf",             /* overlong 2-byte */
                "\xe0\x80\xaf",         /* overlong 3-byte '/' */
                "\xf0\x80\x80\xaf",     /* overlong 4-byte '/' */
                "\xed\xa0\x80",         /* U+D800, a surrogate */
                "\xed\xbf\xbf",         /* U+DFFF */
                "\xf4\x90\x80\x80",     /* U+110000 */
                "\xf5\x80\x80\x80",
        };
        char text[64];

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                snprintf(text, sizeof(text), "{\"a\":\"%s\"}", bad[i]);
                struct json_object *o = parse(text);
                if (o) {
                        fprintf(stderr, "invalid UTF-8 accepted: bad[%zu] (", i);
                        for (const char *c = bad[i]; *c; c++)
                                fprintf(stderr, "%s%02x", c == bad[i] ? "" : " ", (unsigned char)*c);
                        fprintf(stderr, ")\n");
                        exit(1);
                }
                CHECK_CONTAINS(err, "at byte ");
        }
        /* also in member names */
        reject("{\"\xff\":1}", -1);
}

/* A lone UTF-16 surrogate in a \u escape is refused (json-c would put
 * U+FFFD, but a payload is relayed as sent, to receivers that refuse it). */
static void test_lone_surrogate(void)
{
        struct json_object *o, *v;
        reject("{\"a\":\"x\\ud800y\"}", 7);
        reject("{\"a\":\"\\udc00\"}", 6);
        reject("{\"a\":\"\\ud800\\u0041\"}", 6);
        reject("{\"a\":\"\\ud800\\n\"}", 6);
        o = parse("{\"a\":\"\\ud83d\\ude00\"}"); /* a valid pair */
        CHECK(o);
        CHECK(json_object_object_get_ex(o, "a", &v));
        CHECK_STREQ(json_object_get_string(v), "\xf0\x9f\x98\x80");
        json_object_put(o);
}

/* Builds `n` nested containers, the outer one an object; the innermost holds
 * a value or is empty. */
static char *nested(int n, bool arrays, bool empty)
{
        size_t cap = (size_t)n * 8 + 16, len = 0;
        char *s = malloc(cap);
        CHECK(s);
        len += (size_t)sprintf(s + len, n == 1 && empty ? "{" : "{\"a\":");
        for (int i = 1; i < n; i++)
                len += (size_t)sprintf(s + len, arrays ? "[" : (i == n - 1 && empty) ? "{" : "{\"a\":");
        if (!empty)
                len += (size_t)sprintf(s + len, "1");
        for (int i = 1; i < n; i++)
                len += (size_t)sprintf(s + len, arrays ? "]" : "}");
        sprintf(s + len, "}");
        return s;
}

static void test_depth(void)
{
        for (int arrays = 0; arrays < 2; arrays++) {
                for (int empty = 0; empty < 2; empty++) {
                        char *ok = nested(32, arrays, empty), *bad = nested(33, arrays, empty);
                        accept(ok);
                        reject(bad, -1);
                        CHECK_CONTAINS(err, "deep");
                        free(ok);
                        free(bad);
                }
        }
        /* a parser with another limit counts the same way */
        struct jsonparse *p2 = jsonparse_new(2);
        CHECK(p2);
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
        for (size_t i = 0; i < sizeof(two) / sizeof(two[0]); i++) {
                struct json_object *o = NULL;
                int r = jsonparse_parse(p2, two[i].text, strlen(two[i].text), &o, err, sizeof(err));
                if (r != two[i].result) {
                        fprintf(stderr, "depth 2: %s: %d (%s)\n", two[i].text, r, err);
                        exit(1);
                }
                json_object_put(o);
        }
        jsonparse_free(p2);
}

static void test_values(void)
{
        struct json_object *o, *v;

        /* integers keep their exact value at the bounds */
        o = parse("{\"max\":18446744073709551615,\"min\":-9223372036854775808,\"i\":9223372036854775807}");
        CHECK(o);
        CHECK(json_object_object_get_ex(o, "max", &v));
        CHECK(json_object_get_uint64(v) == UINT64_MAX);
        CHECK(json_object_object_get_ex(o, "min", &v));
        CHECK(json_object_get_int64(v) == INT64_MIN);
        CHECK(json_object_object_get_ex(o, "i", &v));
        CHECK(json_object_get_int64(v) == INT64_MAX);
        json_object_put(o);

        /* duplicate member names are refused, at any depth; the same name in
         * different objects is fine */
        reject_text("{\"a\":1,\"b\":2,\"a\":\"last\"}", "same member name twice");
        reject_text("{\"x\":[{\"k\":1},{\"k\":2,\"k\":3}]}", "same member name twice");
        o = parse("{\"a\":{\"a\":1},\"b\":[{\"a\":2},{\"a\":3}],\"s\":\"a:b\"}");
        CHECK(o);
        json_object_put(o);

        /* the parser is reusable after an error and keeps no state */
        CHECK(!parse("{\"a\":"));
        o = parse("{\"ok\":true}");
        CHECK(o);
        CHECK(json_object_object_get_ex(o, "ok", &v));
        json_object_put(o);
        /* length is honoured: bytes after len are not read */
        o = parse_n("{}garbage", 2);
        CHECK(o);
        json_object_put(o);
}

static void test_check_alone(void)
{
        size_t pos = 99;
        const char *why = NULL;

        CHECK_EQ_INT(jsonparse_check("{\"a\":[1,2]}", 11, &pos, &why), 0);
        CHECK_EQ_INT(pos, 99); /* untouched on success */
        CHECK_EQ_INT(jsonparse_check("{\"a\":'b'}", 9, &pos, &why), -EINVAL);
        CHECK_EQ_INT(pos, 5);
        CHECK_CONTAINS(why, "single-quoted");
        CHECK_EQ_INT(jsonparse_check("{\"a\":\"\x02\"}", 9, &pos, &why), -EINVAL);
        CHECK_EQ_INT(pos, 6);
        CHECK_CONTAINS(why, "control character");
        CHECK_EQ_INT(jsonparse_check("{\"a\":\"\0\"}", 9, &pos, &why), -EINVAL);
        CHECK_CONTAINS(why, "NUL");
        CHECK_EQ_INT(jsonparse_check("[18446744073709551616]", 22, &pos, &why), -EINVAL);
        CHECK_EQ_INT(pos, 1);
        CHECK_CONTAINS(why, "64-bit");
        CHECK_EQ_INT(jsonparse_check("[NaN]", 5, &pos, &why), -EINVAL);
        CHECK_EQ_INT(pos, 1);
}

int main(void)
{
        P = jsonparse_new(32);
        CHECK(P);
        test_accepted();
        test_rejected();
        test_utf8();
        test_lone_surrogate();
        test_depth();
        test_values();
        test_check_alone();
        jsonparse_free(P);
        jsonparse_free(NULL);
        return 0;
}
