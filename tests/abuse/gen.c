/* gen.c: the malformed frames of every class, and for each what the daemon
 * must answer (docs/protocol.md §2.1-§2.3, §3, §5). Pure: no I/O.
 *
 * Every frame the daemon must refuse is answered with one error (the
 * connection stays open), except framing violations (too_large, then the
 * connection is closed). Frames that are valid get their normal answer; before
 * hello a valid message other than hello gets hello_required. Bases of the
 * generated messages put "id" first, so that a flipped bit cannot turn a
 * request into one that is not answered.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abuse.h"

/* ---- small helpers ---------------------------------------------------------- */

static bool chance(struct gen *g, unsigned one_in)
{
        return gen_below(g, one_in) == 0;
}

static uint64_t new_id(struct gen *g)
{
        uint64_t id = g->next_id++;

        if (g->next_id > 1000000000000ull)
                g->next_id = 1;
        return id;
}

static void bytes_fill(struct bytes *b, char c, size_t n)
{
        if (bytes_reserve(b, n) < 0)
                return;
        memset(b->p + b->len, c, n);
        b->len += n;
}

/* ---- valid JSON pieces -------------------------------------------------------- */

/* A JSON string with escapes and multi-byte UTF-8, never a raw control character. */
static void rand_string(struct gen *g, struct bytes *b, size_t max)
{
        static const char *const pieces[] = {
                "a",
                "Z",
                "0",
                "_",
                " ",
                ".",
                "\\n",
                "\\\"",
                "\\\\",
                "\\u00e9",
                "\\ud83d\\ude00",
                "\xc3\xa9",
                "\xe2\x82\xac",
                "\xf0\x9f\x98\x80",
                "\\t",
                "\\/",
                "x",
                "y"
        };
        size_t n = gen_below(g, max + 1);

        bytes_str(b, "\"");
        for (size_t i = 0; i < n; i++)
                bytes_str(b, pieces[gen_below(g, sizeof(pieces) / sizeof(pieces[0]))]);
        bytes_str(b, "\"");
}

static void rand_value(struct gen *g, struct bytes *b, int depth)
{
        unsigned k = (unsigned)gen_below(g, depth > 0 ? 9 : 6);

        switch (k) {
        case 0:
                bytes_printf(b, "%llu", (unsigned long long)gen_below(g, 1000000));
                break;
        case 1:
                bytes_printf(b, "-%llu.%02u", (unsigned long long)gen_below(g, 100000), (unsigned)gen_below(g, 100));
                break;
        case 2:
                rand_string(g, b, 12);
                break;
        case 3:
                bytes_str(b, chance(g, 2) ? "true" : "false");
                break;
        case 4:
                bytes_str(b, "null");
                break;
        case 5:
                bytes_str(b, "18446744073709551615");
                break;
        case 6:
        case 7: {
                size_t n = gen_below(g, 4);
                bytes_str(b, "[");
                for (size_t i = 0; i < n; i++) {
                        if (i)
                                bytes_str(b, ",");
                        rand_value(g, b, depth - 1);
                }
                bytes_str(b, "]");
                break;
        }
        default: {
                size_t n = gen_below(g, 4);
                bytes_str(b, "{");
                for (size_t i = 0; i < n; i++) /* keys distinct by construction */
                        bytes_printf(b, "%s\"k%zu\":", i ? "," : "", i), rand_value(g, b, depth - 1);
                bytes_str(b, "}");
                break;
        }
        }
}

/* A valid request with an id (first), answered with a reply. */
static void base_request(struct gen *g, struct bytes *b)
{
        uint64_t id = new_id(g);

        if (chance(g, 2)) {
                bytes_printf(b, "{\"id\":%llu,\"type\":\"call\",\"dest\":\"org.busd\",\"method\":\"ping\"}",
                             (unsigned long long)id);
                return;
        }
        bytes_printf(b, "{\"id\":%llu,\"type\":\"publish\",\"topic\":\"abuse.t%u\",\"data\":", (unsigned long long)id,
                     (unsigned)gen_below(g, 100));
        rand_value(g, b, 4);
        bytes_str(b, "}");
}

/* Any valid client message (never sent whole: cut, for CL_TRUNCATED). */
static void base_any(struct gen *g, struct bytes *b)
{
        uint64_t id = new_id(g);

        switch (gen_below(g, 6)) {
        case 0:
                bytes_printf(b, "{\"id\":%llu,\"type\":\"subscribe\",\"pattern\":\"abuse.*.x\"}",
                             (unsigned long long)id);
                break;
        case 1:
                bytes_printf(b, "{\"type\":\"hello\",\"id\":%llu,\"name\":\"abuser\",\"names\":[\"org.abuse.A\"]}",
                             (unsigned long long)id);
                break;
        case 2:
                bytes_printf(b,
                             "{\"id\":%llu,\"type\":\"call\",\"dest\":\"" CONTROL_NAME "\",\"method\":\"echo\","
                             "\"params\":",
                             (unsigned long long)id);
                rand_value(g, b, 3);
                bytes_str(b, "}");
                break;
        case 3:
                bytes_printf(b,
                             "{\"id\":%llu,\"type\":\"error\",\"code\":\"x.y\",\"message\":", (unsigned long long)id);
                rand_string(g, b, 20);
                bytes_str(b, "}");
                break;
        default:
                base_request(g, b);
                break;
        }
}

/* ---- what a frame must get ---------------------------------------------------- */

static void expect_error(struct expect *e, uint16_t codes)
{
        e->answer = A_ERROR;
        e->codes = codes;
}

/* A valid message: its answer after hello; hello_required before. */
static void expect_valid(struct expect *e, bool hello_done, enum answer a, uint16_t codes)
{
        if (!hello_done) {
                expect_error(e, CODE(C_HELLO_REQUIRED));
                return;
        }
        e->answer = (uint8_t)a;
        e->codes = codes;
}

/* ---- the classes ------------------------------------------------------------------ */

static void gen_truncated(struct gen *g, struct bytes *b, struct expect *e)
{
        struct bytes whole = { 0 };

        base_any(g, &whole);
        size_t cut = 1 + gen_below(g, whole.len - 1);
        bytes_add(b, whole.p, cut);
        bytes_free(&whole);
        expect_error(e, CODE(C_PARSE));
}

static void gen_bitflip(struct gen *g, struct bytes *b, bool seqpacket, struct expect *e)
{
        size_t start = b->len;
        unsigned flips = 1 + (unsigned)gen_below(g, 3);
        size_t done[3];

        base_request(g, b);
        size_t len = b->len - start;
        for (unsigned i = 0; i < flips; i++) {
                size_t bit;
                bool again;
                do {
                        bit = gen_below(g, len * 8);
                        again = false;
                        for (unsigned j = 0; j < i; j++)
                                again |= done[j] == bit; /* distinct bits: the frame always changes */
                        char c = (char)(b->p[start + bit / 8] ^ (1 << (bit % 8)));
                        /* a line feed would cut the line in two on stream */
                        again |= !seqpacket && c == '\n';
                } while (again);
                done[i] = bit;
                b->p[start + bit / 8] ^= (char)(1 << (bit % 8));
        }
        e->answer = A_ANY;
}

static void gen_wrong_type(struct gen *g, struct bytes *b, struct expect *e)
{
        static const char *const forms[][2] = {
                { "{\"id\":%s,\"type\":\"call\",\"dest\":\"org.busd\",\"method\":\"ping\"}",
                  "null|true|-1|1.5|\"7\"|[]|{}|-9223372036854775808|1e3" },
                { "{\"id\":#,\"type\":\"call\",\"dest\":%s,\"method\":\"ping\"}", "null|1|true|[]|{}|\"bad value!\"" },
                { "{\"id\":#,\"type\":\"call\",\"dest\":\"org.busd\",\"method\":%s}", "null|1|[]|\"a b\"|{}" },
                { "{\"id\":#,\"type\":\"call\",\"dest\":\"org.busd\",\"method\":\"ping\",\"oneway\":%s}",
                  "1|\"yes\"|null|[]" },
                { "{\"id\":#,\"type\":\"publish\",\"topic\":%s}", "null|1|[]|{}|true|\"a..b\"|\"a.*\"" },
                { "{\"id\":#,\"type\":\"subscribe\",\"pattern\":%s}", "1|null|\"a.>.b\"|[\"a\"]" },
                { "{\"id\":#,\"type\":\"request_name\",\"name\":%s}", "1|\"noDot\"|[]|\"1a.b\"" },
                { "{\"id\":#,\"type\":\"request_name\",\"name\":\"org.abuse.x\",\"queue\":%s}", "1|\"x\"|null" },
                { "{\"id\":#,\"type\":\"declare\",\"methods\":%s}", "1|{}|\"x\"|[1]|[{\"name\":1}]|[{}]" },
                { "{\"type\":\"cancel\",\"id\":%s}", "\"x\"|null|-5|[]" },
                { "{\"type\":\"reply\",\"id\":%s}", "\"x\"|null|{}" },
                { "{\"id\":#,\"type\":\"error\",\"code\":%s,\"message\":\"m\"}", "1|null|\"bad code!\"" },
                { "{\"id\":#,\"type\":\"error\",\"code\":\"x\",\"message\":%s}", "1|null|[]" },
                { "{\"type\":\"hello\",\"name\":%s}", "5|null|[]|{}" },
                { "{\"type\":\"hello\",\"names\":%s}", "5|\"org.a.b\"|[1]|[\"bad\"]" },
                { "{\"type\":%s,\"id\":#}", "1|null|[]|{}|true" },
                { "%s", "7|\"x\"|null|[1]|true|[]|{}|{\"id\":#}|{\"id\":#,\"type\":\"call\"}|"
                        "{\"id\":#,\"type\":\"publish\"}|{\"id\":#,\"type\":\"call\",\"dest\":\"org.busd\","
                        "\"method\":\"ping\",\"extra\":1}" },
        };
        size_t which = gen_below(g, sizeof(forms) / sizeof(forms[0]));
        const char *form = forms[which][0], *vals = forms[which][1];
        /* pick one of the |-separated values */
        size_t nv = 1;
        for (const char *p = vals; *p; p++)
                nv += *p == '|';
        size_t k = gen_below(g, nv);
        const char *v = vals;
        while (k--)
                v = strchr(v, '|') + 1;
        size_t vlen = strchr(v, '|') ? (size_t)(strchr(v, '|') - v) : strlen(v);
        /* expand: %s is the value, # a fresh id (also inside values) */
        for (const char *p = form; *p; p++) {
                if (p[0] == '%' && p[1] == 's') {
                        for (size_t i = 0; i < vlen; i++) {
                                if (v[i] == '#')
                                        bytes_printf(b, "%llu", (unsigned long long)new_id(g));
                                else
                                        bytes_add(b, &v[i], 1);
                        }
                        p++;
                } else if (*p == '#') {
                        bytes_printf(b, "%llu", (unsigned long long)new_id(g));
                } else {
                        bytes_add(b, p, 1);
                }
        }
        expect_error(e, CODE(C_INVALID));
}

static void gen_depth(struct gen *g, struct bytes *b, bool hello_done, struct expect *e)
{
        uint64_t id = new_id(g);

        switch (gen_below(g, 4)) {
        case 0: { /* closed arrays in data: 33 levels and more (the message object is one) */
                size_t d = chance(g, 4) ? 31 : 32 + gen_below(g, 200);
                bytes_printf(b, "{\"id\":%llu,\"type\":\"publish\",\"topic\":\"abuse.deep\",\"data\":",
                             (unsigned long long)id);
                bytes_fill(b, '[', d);
                bytes_fill(b, ']', d);
                bytes_str(b, "}");
                if (d <= 31) {
                        expect_valid(e, hello_done, A_REPLY, 0);
                        return;
                }
                break;
        }
        case 1: /* unclosed, very deep */
                bytes_fill(b, '[', 33 + gen_below(g, 30000));
                break;
        case 2: { /* objects in params */
                size_t d = 32 + gen_below(g, 500);
                bytes_printf(b, "{\"id\":%llu,\"type\":\"call\",\"dest\":\"org.busd\",\"method\":\"ping\",\"params\":",
                             (unsigned long long)id);
                for (size_t i = 0; i < d; i++)
                        bytes_str(b, "{\"a\":");
                bytes_str(b, "1");
                bytes_fill(b, '}', d + 1);
                break;
        }
        default: { /* mixed, closed */
                size_t d = 17 + gen_below(g, 100);
                bytes_printf(b, "{\"id\":%llu,\"type\":\"publish\",\"topic\":\"abuse.deep\",\"data\":",
                             (unsigned long long)id);
                for (size_t i = 0; i < d; i++)
                        bytes_str(b, "[{\"a\":");
                bytes_str(b, "0");
                for (size_t i = 0; i < d; i++)
                        bytes_str(b, "}]");
                bytes_str(b, "}");
                break;
        }
        }
        expect_error(e, CODE(C_PARSE));
}

static const char *const bad_utf8[] = {
        "\xff",
        "\xfe",
        "\xc3",
        "\xc0\xaf",
        "\xe0\x80\xaf",
        "\xed\xa0\x80",
        "\xf4\x90\x80\x80",
        "\xe2\x82",
        "\x80",
        "\xf8\x88\x80\x80\x80",
        "\xc3\x28",
        "\xc1\xbf",
        "\xef\xbf"
};

static void gen_utf8(struct gen *g, struct bytes *b, struct expect *e)
{
        const char *bad = bad_utf8[gen_below(g, sizeof(bad_utf8) / sizeof(bad_utf8[0]))];
        uint64_t id = new_id(g);

        switch (gen_below(g, 5)) {
        case 0:
                bytes_printf(b, "{\"id\":%llu,\"type\":\"publish\",\"topic\":\"abuse.u\",\"data\":\"ok%sok\"}",
                             (unsigned long long)id, bad);
                break;
        case 1:
                bytes_printf(b, "{\"id\":%llu,\"type\":\"publish\",\"topic\":\"abuse.%s\"}", (unsigned long long)id,
                             bad);
                break;
        case 2:
                bytes_printf(b, "{\"id\":%llu,\"type\":\"publish\",\"topic\":\"abuse.u\",\"data\":{\"k%s\":1}}",
                             (unsigned long long)id, bad);
                break;
        case 3:
                bytes_printf(b, "{\"id\":%llu,\"type\":\"call\",\"dest\":\"org.busd\",\"method\":\"p%sing\"}",
                             (unsigned long long)id, bad);
                break;
        default: /* between tokens */
                bytes_printf(b, "{\"id\":%llu,%s\"type\":\"call\",\"dest\":\"org.busd\",\"method\":\"ping\"}",
                             (unsigned long long)id, bad);
                break;
        }
        expect_error(e, CODE(C_PARSE));
}

static void gen_nul(struct gen *g, struct bytes *b, bool hello_done, struct expect *e)
{
        static const char *const escaped[] = {
                "{\"id\":#,\"type\":\"publish\",\"topic\":\"abuse.\\u0000\"}",
                "{\"id\":#,\"type\":\"call\",\"dest\":\"org.busd\",\"method\":\"pi\\u0000ng\"}",
                "{\"id\":#,\"type\":\"call\",\"dest\":\"org.bu\\u0000sd\",\"method\":\"ping\"}",
                "{\"id\":#,\"type\":\"error\",\"code\":\"x\",\"message\":\"a\\u0000b\"}",
                "{\"id\":#,\"type\":\"error\",\"code\":\"x\\u0000\",\"message\":\"m\"}",
                "{\"type\":\"hello\",\"name\":\"ab\\u0000\"}",
                "{\"id\":#,\"type\":\"subscribe\",\"pattern\":\"abuse.\\u0000\"}",
                "{\"id\":#,\"type\":\"request_name\",\"name\":\"org.abuse.\\u0000\"}",
        };
        unsigned k = (unsigned)gen_below(g, 4);
        uint64_t id = new_id(g);

        if (k == 0) { /* \u0000 where text must not hold it */
                const char *f = escaped[gen_below(g, sizeof(escaped) / sizeof(escaped[0]))];
                for (const char *p = f; *p; p++)
                        if (*p == '#')
                                bytes_printf(b, "%llu", (unsigned long long)id);
                        else
                                bytes_add(b, p, 1);
                expect_error(e, CODE(C_INVALID));
                return;
        }
        if (k == 1 && chance(g, 4)) { /* \u0000 in data is fine */
                bytes_printf(b, "{\"id\":%llu,\"type\":\"publish\",\"topic\":\"abuse.n\",\"data\":\"a\\u0000b\"}",
                             (unsigned long long)id);
                expect_valid(e, hello_done, A_REPLY, 0);
                return;
        }
        static const char raw[] = "{\"id\":1,\"type\":\"publish\",\"topic\":\"abuse.n\",\"data\":\"ab\"}";
        size_t at = k == 3 ? 0 : 1 + gen_below(g, sizeof(raw) - 2);
        if (k == 3 && chance(g, 2)) {
                bytes_add(b, "\0", 1); /* a frame that is only a NUL */
        } else {
                bytes_add(b, raw, at);
                bytes_add(b, "\0", 1);
                bytes_add(b, raw + at, sizeof(raw) - 1 - at);
        }
        expect_error(e, CODE(C_PARSE));
}

static void gen_dupkey(struct gen *g, struct bytes *b, struct expect *e)
{
        uint64_t id = new_id(g);

        switch (gen_below(g, 5)) {
        case 0:
                bytes_printf(b,
                             "{\"id\":%llu,\"type\":\"call\",\"type\":\"call\",\"dest\":\"org.busd\","
                             "\"method\":\"ping\"}",
                             (unsigned long long)id);
                break;
        case 1:
                bytes_printf(b, "{\"id\":%llu,\"type\":\"call\",\"dest\":\"org.busd\",\"method\":\"ping\",\"id\":%llu}",
                             (unsigned long long)id, (unsigned long long)id);
                break;
        case 2: { /* deep inside data */
                size_t d = gen_below(g, 20);
                bytes_printf(b, "{\"id\":%llu,\"type\":\"publish\",\"topic\":\"abuse.d\",\"data\":",
                             (unsigned long long)id);
                for (size_t i = 0; i < d; i++)
                        bytes_str(b, "[{\"x\":0,\"a\":");
                bytes_str(b, "{\"k\":1,\"k\":2}");
                for (size_t i = 0; i < d; i++)
                        bytes_str(b, "}]");
                bytes_str(b, "}");
                break;
        }
        case 3: /* the same name once escaped */
                bytes_printf(b,
                             "{\"id\":%llu,\"type\":\"publish\",\"topic\":\"abuse.d\",\"data\":{\"ab\":1,"
                             "\"\\u0061b\":2}}",
                             (unsigned long long)id);
                break;
        default:
                bytes_printf(b, "{\"id\":%llu,\"type\":\"declare\",\"methods\":[{\"name\":\"a\",\"name\":\"b\"}]}",
                             (unsigned long long)id);
                break;
        }
        expect_error(e, CODE(C_PARSE));
}

static void gen_hugenum(struct gen *g, struct bytes *b, bool hello_done, struct expect *e)
{
        static const char *const doubles[] = {
                "1e999",
                "-1e999",
                "1.5e308",
                "1e-999",
                "123456789012345678901234567890.5",
                "0.0000000000000000000000000000001",
                "-0.0e+00"
        };
        uint64_t id = new_id(g);

        switch (gen_below(g, 5)) {
        case 0: { /* an integer of 20 to 5000 digits in data */
                size_t n = 20 + gen_below(g, 4981);
                bytes_printf(b, "{\"id\":%llu,\"type\":\"publish\",\"topic\":\"abuse.h\",\"data\":%s",
                             (unsigned long long)id, chance(g, 2) ? "-" : "");
                bytes_str(b, "9");
                bytes_fill(b, '9', n - 1);
                bytes_str(b, "}");
                expect_error(e, CODE(C_PARSE));
                break;
        }
        case 1:
                bytes_printf(b, "{\"id\":%llu,\"type\":\"publish\",\"topic\":\"abuse.h\",\"data\":[%s]}",
                             (unsigned long long)id, chance(g, 2) ? "18446744073709551616" : "-9223372036854775809");
                expect_error(e, CODE(C_PARSE));
                break;
        case 2: /* an id beyond 2^53-1 but within 64 bits */
                bytes_printf(b, "{\"id\":%llu,\"type\":\"call\",\"dest\":\"org.busd\",\"method\":\"ping\"}",
                             9007199254740992ull + gen_below(g, 1ull << 62));
                expect_error(e, CODE(C_INVALID));
                break;
        case 3:
                bytes_str(b,
                          "{\"id\":18446744073709551616,\"type\":\"call\",\"dest\":\"org.busd\",\"method\":\"ping\"}");
                expect_error(e, CODE(C_PARSE));
                break;
        default: /* doubles are relayed with their text: valid */
                bytes_printf(b, "{\"id\":%llu,\"type\":\"publish\",\"topic\":\"abuse.h\",\"data\":%s}",
                             (unsigned long long)id, doubles[gen_below(g, sizeof(doubles) / sizeof(doubles[0]))]);
                expect_valid(e, hello_done, A_REPLY, 0);
                break;
        }
}

static void gen_empty(struct gen *g, struct bytes *b, bool seqpacket, struct expect *e)
{
        static const char *const forms[] = {
                "{\"id\":#,\"type\":\"publish\",\"topic\":\"\"}",
                "{\"id\":#,\"type\":\"call\",\"dest\":\"\",\"method\":\"ping\"}",
                "{\"id\":#,\"type\":\"call\",\"dest\":\"org.busd\",\"method\":\"\"}",
                "{\"id\":#,\"type\":\"subscribe\",\"pattern\":\"\"}",
                "{\"id\":#,\"type\":\"request_name\",\"name\":\"\"}",
                "{\"id\":#,\"type\":\"error\",\"code\":\"\",\"message\":\"m\"}",
                "{\"type\":\"hello\",\"name\":\"\"}",
                "{}",
                "{\"\":1}",
        };
        static const char *const blanks[] = { " ", "\t", "  \t ", "\r" };
        uint64_t id = new_id(g);

        if (chance(g, 5)) { /* a blank line is ignored on stream, a blank packet is a parse error */
                bytes_str(b, blanks[gen_below(g, sizeof(blanks) / sizeof(blanks[0]))]);
                if (seqpacket)
                        expect_error(e, CODE(C_PARSE));
                else
                        e->answer = A_NONE;
                return;
        }
        const char *f = forms[gen_below(g, sizeof(forms) / sizeof(forms[0]))];
        for (const char *p = f; *p; p++)
                if (*p == '#')
                        bytes_printf(b, "%llu", (unsigned long long)id);
                else
                        bytes_add(b, p, 1);
        expect_error(e, CODE(C_INVALID));
}

/* A message of exactly `size` bytes: a publish whose data string fills it. */
static void exact_publish(struct gen *g, struct bytes *b, size_t size)
{
        size_t start = b->len;

        bytes_printf(b, "{\"id\":%llu,\"type\":\"publish\",\"topic\":\"abuse.big\",\"data\":\"",
                     (unsigned long long)new_id(g));
        size_t head = b->len - start;
        bytes_fill(b, 'x', size > head + 2 ? size - head - 2 : 0);
        bytes_str(b, "\"}");
}

static void gen_maximal(struct gen *g, struct bytes *b, bool hello_done, size_t max_message, struct expect *e)
{
        uint64_t id = new_id(g);
        bool over = chance(g, 2);
        enum answer valid_answer = A_REPLY;
        uint16_t valid_codes = 0;

        if (chance(g, 1024)) { /* a whole message of exactly max_message bytes */
                exact_publish(g, b, max_message);
                expect_valid(e, hello_done, A_REPLY, 0);
                return;
        }
        switch (gen_below(g, 7)) {
        case 0: /* topic of 255 bytes; 256 */
                bytes_printf(b, "{\"id\":%llu,\"type\":\"publish\",\"topic\":\"abuse.", (unsigned long long)id);
                bytes_fill(b, 'm', 255 - 6 + over);
                bytes_str(b, "\"}");
                break;
        case 1: /* 32 topic segments; 33 */
                bytes_printf(b, "{\"id\":%llu,\"type\":\"publish\",\"topic\":\"a", (unsigned long long)id);
                for (int i = 1; i < 32 + over; i++)
                        bytes_str(b, ".a");
                bytes_str(b, "\"}");
                break;
        case 2: /* method of 255 bytes (unknown to org.busd); 256 */
                bytes_printf(b, "{\"id\":%llu,\"type\":\"call\",\"dest\":\"org.busd\",\"method\":\"",
                             (unsigned long long)id);
                bytes_fill(b, 'm', 255 + over);
                bytes_str(b, "\"}");
                valid_answer = A_ERROR;
                valid_codes = CODE(C_UNKNOWN_METHOD);
                break;
        case 3: /* well-known name of 255 bytes (nobody owns it); 256 */
                bytes_printf(b, "{\"id\":%llu,\"type\":\"call\",\"dest\":\"org.", (unsigned long long)id);
                bytes_fill(b, 'n', 255 - 4 + over);
                bytes_str(b, "\",\"method\":\"m\"}");
                valid_answer = A_ERROR;
                valid_codes = CODE(C_NO_OWNER);
                break;
        case 4: { /* error code of 128 bytes and message of 1024; one of them one longer */
                bool code_over = over && chance(g, 2), message_over = over && !code_over;
                bytes_printf(b, "{\"id\":%llu,\"type\":\"error\",\"code\":\"", (unsigned long long)id);
                bytes_fill(b, 'c', 128 + code_over);
                bytes_str(b, "\",\"message\":\"");
                bytes_fill(b, 'm', 1024 + message_over);
                bytes_str(b, "\"}");
                valid_answer = A_ERROR;
                valid_codes = CODE(C_NO_SUCH_CALL);
                break;
        }
        case 5: /* display name of 65 bytes; description of 257: always one too long */
                over = true;
                if (chance(g, 2)) {
                        bytes_str(b, "{\"type\":\"hello\",\"name\":\"");
                        bytes_fill(b, 'd', 65);
                        bytes_str(b, "\"}");
                } else {
                        bytes_printf(
                                b, "{\"id\":%llu,\"type\":\"declare\",\"methods\":[{\"name\":\"m\",\"description\":\"",
                                (unsigned long long)id);
                        bytes_fill(b, 'd', 257);
                        bytes_str(b, "\"}]}");
                }
                break;
        default: /* a declaration shape 17 levels deep (max 16) */
                over = true;
                bytes_printf(b, "{\"id\":%llu,\"type\":\"declare\",\"methods\":[{\"name\":\"m\",\"params\":",
                             (unsigned long long)id);
                bytes_fill(b, '[', 17);
                bytes_fill(b, ']', 17);
                bytes_str(b, "}]}");
                break;
        }
        if (over)
                expect_error(e, CODE(C_INVALID));
        else
                expect_valid(e, hello_done, valid_answer, valid_codes);
}

static void gen_daemon_type(struct gen *g, struct bytes *b, struct expect *e)
{
        static const char *const forms[] = {
                "{\"id\":#,\"type\":\"welcome\",\"unique\":\":1\",\"protocol\":1}",
                "{\"type\":\"event\",\"topic\":\"abuse.e\",\"data\":1}",
                "{\"type\":\"dropped\",\"count\":1,\"total\":1}",
                "{\"type\":\"name_acquired\",\"name\":\"org.abuse.A\"}",
                "{\"type\":\"name_lost\",\"name\":\"org.abuse.A\"}",
                "{\"id\":#,\"type\":\"HELLO\"}",
                "{\"id\":#,\"type\":\"Call\",\"dest\":\"org.busd\",\"method\":\"ping\"}",
                "{\"id\":#,\"type\":\"hello \"}",
                "{\"id\":#,\"type\":\"stats\"}",
                "{\"id\":#,\"type\":\"\"}",
        };
        const char *f = forms[gen_below(g, sizeof(forms) / sizeof(forms[0]))];
        uint64_t id = new_id(g);

        for (const char *p = f; *p; p++)
                if (*p == '#')
                        bytes_printf(b, "%llu", (unsigned long long)id);
                else
                        bytes_add(b, p, 1);
        expect_error(e, CODE(C_UNKNOWN_TYPE));
}

static void gen_forged(struct gen *g, struct bytes *b, struct expect *e)
{
        static const char *const forms[] = {
                "{\"id\":#,\"type\":\"publish\",\"topic\":\"abuse.f\",\"sender\":\"org.busd\"}",
                "{\"id\":#,\"type\":\"publish\",\"topic\":\"abuse.f\",\"creds\":{\"uid\":0,\"gid\":0,\"pid\":1}}",
                "{\"id\":#,\"type\":\"call\",\"dest\":\"org.busd\",\"method\":\"ping\",\"sender\":\":1\"}",
                "{\"id\":#,\"type\":\"subscribe\",\"pattern\":\"a.b\",\"sender\":\":1\",\"creds\":{}}",
                "{\"type\":\"hello\",\"sender\":\":1\"}",
                "{\"id\":#,\"type\":\"reply\",\"result\":1,\"sender\":\":1\"}",
        };
        const char *f = forms[gen_below(g, sizeof(forms) / sizeof(forms[0]))];
        uint64_t id = new_id(g);

        for (const char *p = f; *p; p++)
                if (*p == '#')
                        bytes_printf(b, "%llu", (unsigned long long)id);
                else
                        bytes_add(b, p, 1);
        expect_error(e, CODE(C_FORGED));
}

static void gen_garbage(struct gen *g, struct bytes *b, struct expect *e)
{
        static const char first[] = "#{[\"}]:,x0-\\@~";
        size_t n = chance(g, 100) ? 1 + gen_below(g, 60000) : 1 + gen_below(g, 300);

        if (bytes_reserve(b, n) < 0)
                return;
        char *p = b->p + b->len;
        for (size_t i = 0; i < n; i++) {
                char c = (char)gen_rand(g);
                p[i] = c == '\n' ? '~' : c;
        }
        /* never blank: blank lines are not messages on stream */
        p[0] = first[gen_below(g, sizeof(first) - 1)];
        b->len += n;
        /* random bytes may be valid JSON that is not a message (e.g. a number) */
        expect_error(e, CODE(C_PARSE) | CODE(C_INVALID));
}

static void gen_stray(struct gen *g, struct bytes *b, bool hello_done, struct expect *e)
{
        uint64_t id = new_id(g);

        switch (gen_below(g, 3)) {
        case 0:
                bytes_printf(b, "{\"id\":%llu,\"type\":\"reply\",\"result\":", (unsigned long long)id);
                rand_value(g, b, 3);
                bytes_str(b, "}");
                break;
        case 1:
                bytes_printf(b, "{\"id\":%llu,\"type\":\"error\",\"code\":\"x.y\",\"message\":\"m\",\"data\":",
                             (unsigned long long)id);
                rand_value(g, b, 3);
                bytes_str(b, "}");
                break;
        default: /* cancel of a call that is not pending: never answered */
                bytes_printf(b, "{\"id\":%llu,\"type\":\"cancel\"}", (unsigned long long)id);
                expect_valid(e, hello_done, A_NONE, 0);
                return;
        }
        expect_valid(e, hello_done, A_ERROR, CODE(C_NO_SUCH_CALL));
}

static void gen_prehello(struct gen *g, struct bytes *b, struct expect *e)
{
        uint64_t id = new_id(g);

        switch (gen_below(g, 3)) {
        case 0:
                base_request(g, b);
                break;
        case 1:
                bytes_printf(b, "{\"id\":%llu,\"type\":\"subscribe\",\"pattern\":\"abuse.>\"}", (unsigned long long)id);
                break;
        default:
                bytes_printf(b, "{\"id\":%llu,\"type\":\"request_name\",\"name\":\"org.abuse.Pre\"}",
                             (unsigned long long)id);
                break;
        }
        expect_error(e, CODE(C_HELLO_REQUIRED));
}

static void gen_oversize(struct gen *g, struct bytes *b, bool seqpacket, size_t max_message, struct expect *e)
{
        size_t size = max_message + 1;

        if (seqpacket && chance(g, 2))
                size = 100000 > size ? 100000 : size + 1; /* larger than the daemon's receive slot */
        else if (!seqpacket)
                size += gen_below(g, 1000);
        exact_publish(g, b, size);
        e->answer = A_FATAL;
        e->codes = CODE(C_TOO_LARGE);
}

int gen_frame(struct gen *g, enum cls cls, bool seqpacket, bool hello_done, size_t max_message, struct bytes *out,
              struct expect *ret)
{
        struct expect e = { 0 };
        size_t start = out->len;

        if (cls >= CL_COUNT) {
                do
                        cls = (enum cls)gen_below(g, CL_COUNT);
                while (cls == CL_OVERSIZE || cls == CL_PREHELLO);
        }
        e.cls = (uint8_t)cls;
        switch (cls) {
        case CL_TRUNCATED:
                gen_truncated(g, out, &e);
                break;
        case CL_BITFLIP:
                gen_bitflip(g, out, seqpacket, &e);
                break;
        case CL_WRONG_TYPE:
                gen_wrong_type(g, out, &e);
                break;
        case CL_DEPTH:
                gen_depth(g, out, hello_done, &e);
                break;
        case CL_UTF8:
                gen_utf8(g, out, &e);
                break;
        case CL_NUL:
                gen_nul(g, out, hello_done, &e);
                break;
        case CL_DUPKEY:
                gen_dupkey(g, out, &e);
                break;
        case CL_HUGENUM:
                gen_hugenum(g, out, hello_done, &e);
                break;
        case CL_EMPTY:
                gen_empty(g, out, seqpacket, &e);
                break;
        case CL_MAXIMAL:
                gen_maximal(g, out, hello_done, max_message, &e);
                break;
        case CL_DAEMON_TYPE:
                gen_daemon_type(g, out, &e);
                break;
        case CL_FORGED:
                gen_forged(g, out, &e);
                break;
        case CL_GARBAGE:
                gen_garbage(g, out, &e);
                break;
        case CL_STRAY:
                gen_stray(g, out, hello_done, &e);
                break;
        case CL_PREHELLO:
                gen_prehello(g, out, &e);
                break;
        default:
                gen_oversize(g, out, seqpacket, max_message, &e);
                break;
        }
        /* framing: a line feed on stream (sometimes CR LF), and sometimes the
         * tolerated trailing line feed on seqpacket */
        bool plain = cls == CL_OVERSIZE || cls == CL_MAXIMAL || e.answer == A_NONE;
        if (!seqpacket) {
                if (!plain && chance(g, 8))
                        bytes_str(out, "\r");
                bytes_str(out, "\n");
        } else if (!plain && out->len > start && chance(g, 8)) {
                bytes_str(out, "\n");
        }
        if (!out->p)
                return -ENOMEM;
        e.off = (uint32_t)start;
        e.len = (uint32_t)(out->len - start);
        *ret = e;
        return 0;
}
