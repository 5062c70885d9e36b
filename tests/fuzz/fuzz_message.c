/* fuzz_message.c: one message through the daemon's input path: strict JSON
 * (proto/jsonparse.c) then validation (proto/msg.c).
 *
 * Invariants: the lexical pre-check never accepts what the full parse
 * rejects for lexical reasons; an accepted text re-serialised the way the
 * daemon relays payloads (busd/wire.h flags) is accepted again by the same
 * rules and is the same value; a valid message has the members its type
 * requires, with valid syntax; an invalid one has an error text and a wire
 * code. */
#include <json-c/json.h>
#include <string.h>

#include "buslimits.h"
#include "fuzz.h"
#include "jsonparse.h"
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
                FUZZ_CHECK(syntax_is_name(m->dest.s, m->dest.len) || syntax_parse_unique(m->dest.s, m->dest.len, &u));
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static struct jsonparse *p;
        struct json_object *root = NULL, *again = NULL;
        char err[512];
        size_t pos;
        const char *why;

        if (!p)
                p = jsonparse_new(BUS_MAX_DEPTH);
        FUZZ_CHECK(p);
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
                return 0;
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

        struct msg m;
        err[0] = 0;
        enum msg_error e = msg_parse(root, &m, err, sizeof(err));
        if (e == MSG_OK)
                check_valid(&m);
        else
                FUZZ_CHECK(err[0] && strcmp(msg_error_code(e), "ok") != 0);
        json_object_put(root);
        return 0;
}
