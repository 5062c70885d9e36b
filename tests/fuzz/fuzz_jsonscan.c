/* fuzz_jsonscan.c: proto/jsonscan.c against its oracle, proto/jsonparse.c
 * (json-c in strict mode behind the lexical pre-check).
 *
 * Input: one JSON text, as a client sends it. It is parsed twice by both:
 * with max_depth BUS_MAX_DEPTH, and with a small max_depth (1 to 4, from the
 * first byte). The scanners and parsers are kept across inputs, so nothing
 * of one text may carry over to the next.
 *
 * Invariants: both accept or both reject (out of memory aside); when both
 * accept, the root has json-c's type and value (json-c gives NULL for `null`,
 * json_type_int for JSONSCAN_INT with uint64 above INT64_MAX,
 * json_type_double for JSONSCAN_DOUBLE), its raw span is the text minus the
 * whitespace around it; for an object root: as many members as json-c kept,
 * in the same order, each name in the tree, each scalar decoded as json-c
 * decodes it, jsonscan_find() finds each; and every raw span (root, members)
 * begins and ends as its type does and, parsed alone by json-c (through
 * jsonparse_tree(), as relays do), gives a value equal to the tree's, as does its
 * jsonscan_compact() copy, which holds no whitespace outside strings and is
 * shorter exactly when the span is `spaced`. */
#include <errno.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <string.h>

#include "buslimits.h"
#include "fuzz.h"
#include "jsonparse.h"
#include "jsonscan.h"

#define SMALL_DEPTHS 4

struct pair {
        struct jsonparse *p;
        struct jsonscan *sc;
        int max_depth;
};

/* The input being checked, for the failure message. */
struct input {
        const char *s;
        size_t len;
        int max_depth;
};

static bool is_ws(char c)
{
        return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void print_input(const struct input *in)
{
        size_t n = in->len < 400 ? in->len : 400;

        fprintf(stderr, "input (%zu bytes, max_depth %d): \"", in->len, in->max_depth);
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)in->s[i];
                if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
                        fputc(c, stderr);
                else
                        fprintf(stderr, "\\x%02x", c);
        }
        fprintf(stderr, "\"%s\n", n < in->len ? "..." : "");
}

static void fail(const struct input *in, const char *what)
{
        print_input(in);
        fprintf(stderr, "jsonscan disagrees with jsonparse: %s\n", what);
        FUZZ_CHECK(!"jsonscan agrees with jsonparse");
}

/* json-c's parse of exactly s[0..len) as relays do it (jsonparse_tree(),
 * json-c in strict mode, with its misread surrogate pairs worked around):
 * *ret_obj, NULL for `null`. Returns false when it fails. */
static bool json_c_parse(const char *s, size_t len, struct json_object **ret_obj)
{
        *ret_obj = NULL;
        return jsonparse_tree(s, len, ret_obj) == 0;
}

/* Do the span's first and last bytes fit its type (so that it is neither cut
 * short nor runs into what follows)? */
static bool span_fits(const struct jsonscan_span *raw, enum jsonscan_type type)
{
        const char *s = raw->s;
        size_t n = raw->len;

        switch (type) {
        case JSONSCAN_NULL:
                return n == 4 && memcmp(s, "null", 4) == 0;
        case JSONSCAN_BOOL:
                return (n == 4 && memcmp(s, "true", 4) == 0) || (n == 5 && memcmp(s, "false", 5) == 0);
        case JSONSCAN_INT:
        case JSONSCAN_DOUBLE:
                for (size_t i = 0; i < n; i++)
                        if (!strchr("-+.eE0123456789", s[i]) || s[i] == '\0')
                                return false;
                return true;
        case JSONSCAN_STRING:
                return n >= 2 && s[0] == '"' && s[n - 1] == '"';
        case JSONSCAN_ARRAY:
                return n >= 2 && s[0] == '[' && s[n - 1] == ']';
        case JSONSCAN_OBJECT:
                return n >= 2 && s[0] == '{' && s[n - 1] == '}';
        }
        return false;
}

/* Checks a raw span against want (the tree's value): it has no whitespace
 * around it, json-c parses it (and its compact form) to an equal value, and
 * `spaced` says whether compacting removes anything. */
static void check_span(const struct input *in, const struct jsonscan_value *v, struct json_object *want)
{
        const struct jsonscan_span *raw = &v->raw;
        struct json_object *got;

        if (!raw->s || raw->len == 0 || raw->s < in->s || raw->s + raw->len > in->s + in->len)
                fail(in, "a raw span is outside the text");
        if (!span_fits(raw, v->type))
                fail(in, "a raw span does not begin and end as its type does");
        if (!json_c_parse(raw->s, raw->len, &got))
                fail(in, "json-c refuses a raw span alone");
        if (!json_object_equal(got, want))
                fail(in, "a raw span parses to another value than the tree's");
        json_object_put(got);

        char *c = malloc(raw->len);
        FUZZ_CHECK(c);
        size_t clen = jsonscan_compact(raw->s, raw->len, c);
        if (clen > raw->len || (clen != raw->len) != raw->spaced)
                fail(in, "raw.spaced is not whether compacting changes the span");
        bool in_string = false;
        for (size_t i = 0; i < clen; i++) {
                if (in_string && c[i] == '\\')
                        i++;
                else if (c[i] == '"')
                        in_string = !in_string;
                else if (!in_string && is_ws(c[i]))
                        fail(in, "whitespace outside strings after jsonscan_compact");
        }
        if (!json_c_parse(c, clen, &got))
                fail(in, "json-c refuses a compacted span");
        if (!json_object_equal(got, want))
                fail(in, "a compacted span parses to another value than the tree's");
        json_object_put(got);
        free(c);
}

/* Checks v's type and (for scalars) decoded value against json-c's o. */
static void check_value(const struct input *in, const struct jsonscan_value *v, struct json_object *o)
{
        switch (v->type) {
        case JSONSCAN_NULL:
                if (o)
                        fail(in, "null is not json-c's NULL");
                break;
        case JSONSCAN_BOOL:
                if (!json_object_is_type(o, json_type_boolean) || json_object_get_boolean(o) != v->b)
                        fail(in, "another boolean");
                break;
        case JSONSCAN_INT:
                if (!json_object_is_type(o, json_type_int))
                        fail(in, "an integer that json-c does not see as json_type_int");
                if (v->big ? json_object_get_uint64(o) != v->u || v->u <= INT64_MAX
                           : json_object_get_int64(o) != v->i ||
                                     (v->i >= 0 && json_object_get_uint64(o) != (uint64_t)v->i))
                        fail(in, "another integer value");
                break;
        case JSONSCAN_DOUBLE:
                if (!json_object_is_type(o, json_type_double))
                        fail(in, "a double that json-c does not see as json_type_double");
                break;
        case JSONSCAN_STRING:
                if (!json_object_is_type(o, json_type_string))
                        fail(in, "a string that json-c does not see as json_type_string");
                if (!v->str || v->str[v->str_len] != '\0' || (size_t)json_object_get_string_len(o) != v->str_len ||
                    memcmp(json_object_get_string(o), v->str, v->str_len) != 0)
                        fail(in, "another decoded string");
                break;
        case JSONSCAN_ARRAY:
                if (!json_object_is_type(o, json_type_array))
                        fail(in, "an array that json-c does not see as json_type_array");
                break;
        case JSONSCAN_OBJECT:
                if (!json_object_is_type(o, json_type_object))
                        fail(in, "an object that json-c does not see as json_type_object");
                break;
        default:
                fail(in, "unknown jsonscan type");
        }
}

/* The root object's members against json-c's tree: same count, order, names
 * and values. */
static void check_members(const struct input *in, const struct jsonscan_member *m, size_t n, struct json_object *o)
{
        if ((size_t)json_object_object_length(o) != n)
                fail(in, "another member count");
        if (n && !m)
                fail(in, "members but no array");
        size_t i = 0;
        json_object_object_foreach(o, key, val)
        {
                if (i >= n)
                        break;
                if (strlen(m[i].key) != m[i].key_len || strcmp(m[i].key, key) != 0)
                        fail(in, "a member name differs from json-c's (or its order)");
                struct json_object *child;
                if (!json_object_object_get_ex(o, m[i].key, &child) || child != val)
                        fail(in, "a member is not in the tree");
                if (jsonscan_find(m, n, m[i].key) != &m[i])
                        fail(in, "jsonscan_find misses a member");
                check_value(in, &m[i].value, child);
                check_span(in, &m[i].value, child);
                i++;
        }
}

static void check_pair(struct pair *pp, const char *s, size_t len)
{
        struct input in = { s, len, pp->max_depth };
        struct json_object *obj = NULL;
        struct jsonscan_value root;
        const struct jsonscan_member *members = NULL;
        size_t n = 0;
        char perr[256], serr[256];

        perr[0] = serr[0] = '\0';
        int pr = jsonparse_parse(pp->p, s, len, &obj, perr, sizeof(perr));
        int sr = jsonscan_parse(pp->sc, s, len, &root, &members, &n, serr, sizeof(serr));
        if (sr == -ENOMEM || pr == -ENOMEM) {
                json_object_put(obj);
                return;
        }
        if ((pr == 0) != (sr == 0)) {
                print_input(&in);
                fprintf(stderr, "jsonparse: %s\njsonscan:  %s\n", pr == 0 ? "accepts" : perr,
                        sr == 0 ? "accepts" : serr);
                FUZZ_CHECK(!"jsonscan and jsonparse give the same verdict");
        }
        if (sr < 0) {
                FUZZ_CHECK(sr == -EINVAL && strncmp(serr, "invalid JSON", 12) == 0);
                return;
        }
        size_t lead = 0, trail = 0;
        while (lead < len && is_ws(s[lead]))
                lead++;
        while (trail < len - lead && is_ws(s[len - 1 - trail]))
                trail++;
        if (root.raw.s != s + lead || root.raw.len != len - lead - trail)
                fail(&in, "the root's raw span is not the text without the whitespace around it");
        check_value(&in, &root, obj);
        check_span(&in, &root, obj);
        if (root.type == JSONSCAN_OBJECT)
                check_members(&in, members, n, obj);
        else if (members || n)
                fail(&in, "members for a root that is not an object");
        json_object_put(obj);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static struct pair full, small[SMALL_DEPTHS];

        if (!full.p) {
                full = (struct pair){ jsonparse_new(BUS_MAX_DEPTH), jsonscan_new(BUS_MAX_DEPTH), BUS_MAX_DEPTH };
                FUZZ_CHECK(full.p && full.sc);
                for (int d = 1; d <= SMALL_DEPTHS; d++) {
                        small[d - 1] = (struct pair){ jsonparse_new(d), jsonscan_new(d), d };
                        FUZZ_CHECK(small[d - 1].p && small[d - 1].sc);
                }
        }
        check_pair(&full, (const char *)data, size);
        if (size > 0)
                check_pair(&small[data[0] % SMALL_DEPTHS], (const char *)data, size);
        return 0;
}
