/* fuzz_message.c: one message through the daemon's input path: strict JSON
 * (proto/jsonparse.c) then validation (proto/msg.c).
 *
 * Invariants: the lexical pre-check never accepts what the full parse
 * rejects for lexical reasons; what it accepts, the daemon's validating pass
 * (proto/jsonscan.c, held to it by fuzz_jsonscan) accepts, and msg.c checks; an accepted text re-serialised the way the
 * daemon relays payloads (busd/core/wire.h flags) is accepted again by the same
 * rules and is the same value; a valid message has the members its type
 * requires, with valid syntax; an invalid one has an error text and a wire
 * code. Nothing of one message carries over to the next (the daemon parses
 * every client's messages with one parser): after each input, probe messages
 * parse exactly as they do with a fresh parser. */
#include <json-c/json.h>
#include <string.h>

#include "buslimits.h"
#include "fuzz.h"
#include "jsonparse.h"
#include "jsonscan.h"
#include "msg.h"
#include "syntax.h"
#include "wire.h"

static bool str_ok(const struct msg_str *s)
{
        return s->s && strlen(s->s) <= s->len; /* may hold \u0000, never more */
}

static void check_valid(const struct msg *m)
{
        uint64_t u;

        FUZZ_CHECK(m->type < MSG_TYPE_COUNT);
        FUZZ_CHECK(!m->has_id || m->id <= BUS_MAX_ID);
        switch (m->type) {
        case MSG_CALL:
                FUZZ_CHECK(m->has_id && str_ok(&m->dest) && str_ok(&m->method));
                FUZZ_CHECK(syntax_is_name(m->dest.s, m->dest.len) || syntax_parse_unique(m->dest.s, m->dest.len, &u) ||
                           syntax_is_remote_dest(m->dest.s, m->dest.len)); /* BUS/NAME across the bridge */
                FUZZ_CHECK(syntax_is_method(m->method.s, m->method.len));
                /* what wire_call splices unescaped needs no escaping */
                FUZZ_CHECK(strlen(m->dest.s) == m->dest.len && !strpbrk(m->dest.s, "\"\\"));
                break;
        case MSG_REPLY:
        case MSG_CANCEL:
                FUZZ_CHECK(m->has_id);
                break;
        case MSG_ERROR:
                FUZZ_CHECK(m->has_id && str_ok(&m->code) && syntax_is_code(m->code.s, m->code.len));
                FUZZ_CHECK(str_ok(&m->message) && m->message.len <= BUS_MAX_ERROR_MESSAGE);
                break;
        case MSG_PUBLISH:
                FUZZ_CHECK(str_ok(&m->topic) && syntax_is_topic(m->topic.s, m->topic.len));
                FUZZ_CHECK(strlen(m->topic.s) == m->topic.len && !strpbrk(m->topic.s, "\"\\"));
                break;
        case MSG_SUBSCRIBE:
        case MSG_UNSUBSCRIBE:
                FUZZ_CHECK(str_ok(&m->pattern) && syntax_is_pattern(m->pattern.s, m->pattern.len));
                break;
        case MSG_REQUEST_NAME:
        case MSG_RELEASE_NAME:
                FUZZ_CHECK(str_ok(&m->name) && syntax_is_name(m->name.s, m->name.len));
                break;
        case MSG_DECLARE:
                FUZZ_CHECK(json_object_is_type(m->methods, json_type_array));
                FUZZ_CHECK(json_object_array_length(m->methods) <= BUS_MAX_METHODS);
                break;
        case MSG_HELLO:
                FUZZ_CHECK(!m->display.s || (m->display.len >= 1 && m->display.len <= BUS_MAX_DISPLAY_NAME));
                FUZZ_CHECK(!m->names || json_object_is_type(m->names, json_type_array));
                break;
        default:
                break;
        }
}

/* Sensitive to what a parser might keep from an earlier text: a leading low
 * surrogate (json-c keeps a pending high one across resets), escaped and
 * plain member names (duplicate check), a nesting depth at the limit. */
static const char *const probes[] = {
        "{\"type\":\"publish\",\"topic\":\"a.b\",\"data\":[\"\\ude00\",\"x\\u0041y\",{\"ab\":1,\"\\u0061c\":2}]}",
        "{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
        "{\"ab\":1,\"\\u0061b\":2}",
};
#define NPROBES (sizeof(probes) / sizeof(probes[0]))

struct probe_result {
        int r;
        struct json_object *v;
};

static void probe(struct jsonparse *p, size_t i, struct probe_result *ret)
{
        char err[256];

        ret->v = NULL;
        ret->r = jsonparse_parse(p, probes[i], strlen(probes[i]), &ret->v, err, sizeof(err));
}

/* p parses the probes as a fresh parser does. */
static void check_probes(struct jsonparse *p)
{
        static struct probe_result want[NPROBES];
        static bool have;

        if (!have) {
                struct jsonparse *fresh = jsonparse_new(BUS_MAX_DEPTH);
                FUZZ_CHECK(fresh);
                for (size_t i = 0; i < NPROBES; i++)
                        probe(fresh, i, &want[i]);
                jsonparse_free(fresh);
                have = true;
        }
        for (size_t i = 0; i < NPROBES; i++) {
                struct probe_result got;
                probe(p, i, &got);
                if (got.r != want[i].r || !json_object_equal(got.v, want[i].v)) {
                        fprintf(stderr, "after this input, %s parses as %s\n", probes[i],
                                got.r < 0 ? "an error" : json_object_to_json_string(got.v));
                        FUZZ_CHECK(!"a message's parse does not depend on the one before");
                }
                json_object_put(got.v);
        }
}

static void check_message(struct jsonparse *p, const uint8_t *data, size_t size);

/* U+0000 characters in the strings of a valid JSON text: \u0000 escapes
 * (raw NUL bytes are refused). */
static size_t nul_escapes(const char *s, size_t len)
{
        size_t n = 0;
        bool in_string = false;

        for (size_t i = 0; i < len; i++) {
                if (s[i] == '"') {
                        in_string = !in_string;
                } else if (in_string && s[i] == '\\' && i + 1 < len) {
                        if (s[i + 1] == 'u' && i + 5 < len && memcmp(s + i + 2, "0000", 4) == 0)
                                n++;
                        i++; /* the escaped character */
                }
        }
        return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static struct jsonparse *p;

        if (!p)
                p = jsonparse_new(BUS_MAX_DEPTH);
        FUZZ_CHECK(p);
        check_message(p, data, size);
        check_probes(p);
        return 0;
}

static void check_message(struct jsonparse *p, const uint8_t *data, size_t size)
{
        struct json_object *root = NULL, *again = NULL;
        char err[512];
        size_t pos;
        const char *why;

        err[0] = 0;
        int r = jsonparse_parse(p, (const char *)data, size, &root, err, sizeof(err));
        int c = jsonparse_check((const char *)data, size, &pos, &why);
        if (c < 0) {
                FUZZ_CHECK(pos < size && why);
                FUZZ_CHECK(r < 0); /* what the pre-check refuses never gets through */
        }
        if (r < 0) {
                FUZZ_CHECK(root == NULL && err[0]);
                FUZZ_CHECK(strncmp(err, "invalid JSON", 12) == 0);
                return;
        }
        FUZZ_CHECK(root || size >= 4); /* only "null" parses to NULL, and it is refused */

        /* relayed payloads are re-serialised: the result must pass the same rules */
        size_t len;
        const char *s = json_object_to_json_string_length(root, WIRE_JSON_FLAGS, &len);
        FUZZ_CHECK(s);
        FUZZ_CHECK(memchr(s, '\n', len) == NULL); /* fits one line */
        if (jsonparse_parse(p, s, len, &again, err, sizeof(err)) < 0) {
                fprintf(stderr, "re-serialised text refused: %s\n%.*s\n", err, (int)(len < 300 ? len : 300), s);
                FUZZ_CHECK(!"re-serialised JSON is accepted");
        }
        FUZZ_CHECK(json_object_equal(root, again));
        json_object_put(again);
        /* nothing was cut at a U+0000 (json-c keeps member names as C strings) */
        FUZZ_CHECK(nul_escapes(s, len) == nul_escapes((const char *)data, size));

        /* the daemon's own pass (jsonscan) accepts it too, and validates it */
        static struct jsonscan *sc;
        if (!sc)
                sc = jsonscan_new(BUS_MAX_DEPTH);
        FUZZ_CHECK(sc);
        struct jsonscan_value v;
        const struct jsonscan_member *members;
        size_t n;
        FUZZ_CHECK(jsonscan_parse(sc, (const char *)data, size, &v, &members, &n, err, sizeof(err)) == 0);
        struct msg m;
        err[0] = 0;
        enum msg_error e = msg_parse(&v, members, n, &m, err, sizeof(err));
        if (e == MSG_OK)
                check_valid(&m);
        else
                FUZZ_CHECK(err[0] && strcmp(msg_error_code(e), "ok") != 0);
        msg_release(&m);
        json_object_put(root);
}
