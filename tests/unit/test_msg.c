/* test_msg.c: proto/msg.c, validation of client messages against the tables
 * of docs/protocol.md §2.3 and §2.5: required and optional members of every
 * type, unknown and forged members, member types, the id range, the protocol
 * version and method declarations. */
#include <json-c/json.h>
#include <stdint.h>
#include <string.h>

#include "jsonscan.h"
#include "msg.h"
#include "test.h"

static struct jsonscan *P; /* the last struct msg borrows from it */
static struct msg M;
static char err[1024];

static enum msg_error parse(const char *text)
{
        const struct jsonscan_member *members;
        struct jsonscan_value root;
        char perr[256];
        size_t n;

        msg_release(&M);
        if (jsonscan_parse(P, text, strlen(text), &root, &members, &n, perr, sizeof(perr)) < 0) {
                fprintf(stderr, "test input is not JSON: %s (%s)\n", text, perr);
                exit(1);
        }
        err[0] = 0;
        return msg_parse(&root, members, n, &M, err, sizeof(err));
}

/* A payload member: absent, or the text it was sent as. */
static bool absent(struct jsonscan_span sp)
{
        return sp.s == NULL;
}

static bool sent_as(struct jsonscan_span sp, const char *text)
{
        return sp.s && sp.len == strlen(text) && memcmp(sp.s, text, sp.len) == 0;
}

static void expect(const char *text, enum msg_error want, const char *err_part)
{
        enum msg_error got = parse(text);
        if (got != want) {
                fprintf(stderr, "%s: expected %s, got %s (%s)\n", text, want == MSG_OK ? "ok" : msg_error_code(want),
                        got == MSG_OK ? "ok" : msg_error_code(got), err);
                exit(1);
        }
        if (err_part)
                CHECK_CONTAINS(err, err_part);
}

#define OK(text) expect(text, MSG_OK, NULL)
#define INVALID(text, part) expect(text, MSG_E_INVALID, part)

/* Every type: a minimal message (required members only) and a full one. */
static void test_valid(void)
{
        OK("{\"type\":\"hello\"}");
        CHECK_EQ_INT(M.type, MSG_HELLO);
        CHECK(!M.has_id);
        OK("{\"type\":\"hello\",\"id\":1,\"protocol\":1,\"name\":\"clock service\",\"names\":[\"org.example.Clock\"],"
           "\"methods\":[{\"name\":\"get\",\"description\":\"current time\",\"params\":{\"tz\":\"string\"},"
           "\"result\":{\"iso\":\"string\"}}]}");
        CHECK(M.has_id && M.id == 1);
        CHECK_STREQ(M.display.s, "clock service");
        CHECK_EQ_INT(M.display.len, 13);
        CHECK_EQ_INT(json_object_array_length(M.names), 1);
        CHECK_EQ_INT(json_object_array_length(M.methods), 1);

        OK("{\"type\":\"call\",\"id\":2,\"dest\":\"org.example.Echo\",\"method\":\"echo\"}");
        CHECK_EQ_INT(M.type, MSG_CALL);
        CHECK(absent(M.params) && !M.oneway);
        OK("{\"type\":\"call\",\"id\":2,\"dest\":\":17\",\"method\":\"echo\",\"params\":{\"x\":1},\"oneway\":true}");
        CHECK_STREQ(M.dest.s, ":17");
        CHECK_STREQ(M.method.s, "echo");
        CHECK(sent_as(M.params, "{\"x\":1}"));
        CHECK(M.oneway);
        OK("{\"type\":\"call\",\"id\":2,\"dest\":\"a.b\",\"method\":\"m\",\"params\":null,\"oneway\":false}");
        CHECK(sent_as(M.params, "null") && !M.oneway);

        OK("{\"type\":\"reply\",\"id\":1}");
        CHECK_EQ_INT(M.type, MSG_REPLY);
        CHECK(absent(M.result));
        OK("{\"type\":\"reply\",\"id\":1,\"result\":[1,2]}");
        CHECK(sent_as(M.result, "[1,2]"));

        OK("{\"type\":\"error\",\"id\":1,\"code\":\"my.code\",\"message\":\"\"}");
        CHECK_EQ_INT(M.type, MSG_ERROR);
        CHECK(absent(M.err_data));
        OK("{\"type\":\"error\",\"id\":1,\"code\":\"c\",\"message\":\"m\",\"data\":{\"k\":1}}");
        CHECK_STREQ(M.code.s, "c");
        CHECK_STREQ(M.message.s, "m");
        CHECK(sent_as(M.err_data, "{\"k\":1}"));
        /* "data": null is there, as null */
        OK("{\"type\":\"error\",\"id\":1,\"code\":\"c\",\"message\":\"m\",\"data\":null}");
        CHECK(sent_as(M.err_data, "null"));

        OK("{\"type\":\"cancel\",\"id\":9}");
        CHECK_EQ_INT(M.type, MSG_CANCEL);
        CHECK(M.has_id && M.id == 9);

        OK("{\"type\":\"publish\",\"topic\":\"a.b\"}");
        CHECK_EQ_INT(M.type, MSG_PUBLISH);
        CHECK(!M.has_id && absent(M.data));
        OK("{\"type\":\"publish\",\"topic\":\"sensors.kitchen.temp\",\"data\":21.5,\"id\":3}");
        CHECK_STREQ(M.topic.s, "sensors.kitchen.temp");
        CHECK(sent_as(M.data, "21.5"));

        OK("{\"type\":\"subscribe\",\"pattern\":\"sensors.*.temp\"}");
        CHECK_EQ_INT(M.type, MSG_SUBSCRIBE);
        OK("{\"type\":\"subscribe\",\"pattern\":\">\",\"id\":1}");
        OK("{\"type\":\"unsubscribe\",\"pattern\":\"a.>\"}");
        CHECK_EQ_INT(M.type, MSG_UNSUBSCRIBE);
        CHECK_STREQ(M.pattern.s, "a.>");
        OK("{\"type\":\"unsubscribe\",\"pattern\":\"a\",\"id\":0}");

        OK("{\"type\":\"monitor\"}");
        CHECK_EQ_INT(M.type, MSG_MONITOR);
        CHECK(!M.name.s && !M.from.s && !M.pattern.s && M.types == 0);
        OK("{\"type\":\"monitor\",\"id\":2,\"name\":\"a.b\",\"from\":\"busd-a/:5\",\"topic\":\"x.>\","
           "\"types\":[\"call\",\"event\",\"call\"]}");
        CHECK_STREQ(M.name.s, "a.b");
        CHECK_STREQ(M.from.s, "busd-a/:5");
        CHECK_STREQ(M.pattern.s, "x.>");
        CHECK(M.types == ((1u << msg_wire_type("call", 4)) | (1u << msg_wire_type("event", 5))));
        OK("{\"type\":\"monitor\",\"from\":\"org.busd\"}");
        OK("{\"type\":\"monitor\",\"from\":\":17\"}");
        CHECK_EQ_INT(msg_wire_type("name_lost", 9), MSG_WIRE_TYPES - 1);
        CHECK_STREQ(msg_wire_type_name(msg_wire_type("welcome", 7)), "welcome");
        CHECK_STREQ(msg_wire_type_name(MSG_WIRE_TYPES), "?");

        OK("{\"type\":\"request_name\",\"name\":\"org.example.Clock\"}");
        CHECK_EQ_INT(M.type, MSG_REQUEST_NAME);
        CHECK(!M.allow_replacement && !M.replace && M.queue); /* defaults */
        OK("{\"type\":\"request_name\",\"name\":\"a.b\",\"id\":1,\"allow_replacement\":true,\"replace\":true,"
           "\"queue\":false}");
        CHECK(M.allow_replacement && M.replace && !M.queue);

        OK("{\"type\":\"release_name\",\"name\":\"a.b\"}");
        CHECK_EQ_INT(M.type, MSG_RELEASE_NAME);
        OK("{\"type\":\"release_name\",\"name\":\"a.b\",\"id\":4}");

        OK("{\"type\":\"declare\",\"methods\":[]}");
        CHECK_EQ_INT(M.type, MSG_DECLARE);
        OK("{\"type\":\"declare\",\"id\":1,\"methods\":[{\"name\":\"a\"},{\"name\":\"b\",\"params\":null}]}");

        /* member order is not significant */
        OK("{\"method\":\"echo\",\"dest\":\"a.b\",\"id\":5,\"type\":\"call\"}");
        CHECK_EQ_INT(M.type, MSG_CALL);
}

static void test_required(void)
{
        INVALID("{\"type\":\"call\",\"dest\":\"a.b\",\"method\":\"m\"}", "missing member 'id'");
        INVALID("{\"type\":\"call\",\"id\":1,\"method\":\"m\"}", "missing member 'dest'");
        INVALID("{\"type\":\"call\",\"id\":1,\"dest\":\"a.b\"}", "missing member 'method'");
        INVALID("{\"type\":\"reply\"}", "missing member 'id'");
        INVALID("{\"type\":\"error\",\"code\":\"c\",\"message\":\"m\"}", "missing member 'id'");
        INVALID("{\"type\":\"error\",\"id\":1,\"message\":\"m\"}", "missing member 'code'");
        INVALID("{\"type\":\"error\",\"id\":1,\"code\":\"c\"}", "missing member 'message'");
        INVALID("{\"type\":\"cancel\"}", "missing member 'id'");
        INVALID("{\"type\":\"publish\",\"id\":1}", "missing member 'topic'");
        INVALID("{\"type\":\"subscribe\"}", "missing member 'pattern'");
        INVALID("{\"type\":\"unsubscribe\",\"id\":1}", "missing member 'pattern'");
        INVALID("{\"type\":\"request_name\"}", "missing member 'name'");
        INVALID("{\"type\":\"release_name\"}", "missing member 'name'");
        INVALID("{\"type\":\"declare\"}", "missing member 'methods'");
        /* the type itself */
        INVALID("{}", "missing member 'type'");
        INVALID("{\"id\":1}", "'type'");
        INVALID("{\"type\":1}", "must be a string");
        INVALID("{\"type\":null}", "must be a string");
        /* not an object */
        INVALID("[]", "JSON object");
        INVALID("\"hello\"", "JSON object");
        INVALID("1", "JSON object");
}

static void test_unknown(void)
{
        static const char *msgs[] = {
                "{\"type\":\"hello\",\"x\":1}",
                "{\"type\":\"call\",\"id\":1,\"dest\":\"a.b\",\"method\":\"m\",\"x\":1}",
                "{\"type\":\"reply\",\"id\":1,\"x\":1}",
                "{\"type\":\"error\",\"id\":1,\"code\":\"c\",\"message\":\"m\",\"x\":1}",
                "{\"type\":\"cancel\",\"id\":1,\"x\":1}",
                "{\"type\":\"publish\",\"topic\":\"t\",\"x\":1}",
                "{\"type\":\"subscribe\",\"pattern\":\"t\",\"x\":1}",
                "{\"type\":\"unsubscribe\",\"pattern\":\"t\",\"x\":1}",
                "{\"type\":\"request_name\",\"name\":\"a.b\",\"x\":1}",
                "{\"type\":\"release_name\",\"name\":\"a.b\",\"x\":1}",
                "{\"type\":\"declare\",\"methods\":[],\"x\":1}",
        };
        for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++)
                INVALID(msgs[i], "unknown member 'x'");
        /* members of another type are unknown too */
        INVALID("{\"type\":\"reply\",\"id\":1,\"data\":1}", "unknown member 'data'");
        /* a failed answer still says what it answers (the error carries "call") */
        CHECK(M.type == MSG_REPLY && M.has_id && M.id == 1);
        INVALID("{\"type\":\"error\",\"id\":2,\"code\":\"a b\",\"message\":\"\"}", "'code'");
        CHECK(M.type == MSG_ERROR && M.has_id && M.id == 2);
        INVALID("{\"type\":\"publish\",\"topic\":\"t\",\"params\":1}", "unknown member 'params'");
        INVALID("{\"type\":\"call\",\"id\":1,\"dest\":\"a.b\",\"method\":\"m\",\"result\":1}", "unknown member");
        /* a long unknown member name is shortened in the message */
        char text[600];
        snprintf(text, sizeof(text), "{\"type\":\"hello\",\"%0300d\":1}", 0);
        INVALID(text, "unknown member");
        CHECK(strlen(err) < 200);
        /* unknown types, including daemon-to-client ones */
        expect("{\"type\":\"welcome\"}", MSG_E_UNKNOWN_TYPE, "welcome");
        expect("{\"type\":\"event\",\"topic\":\"a\"}", MSG_E_UNKNOWN_TYPE, NULL);
        expect("{\"type\":\"\"}", MSG_E_UNKNOWN_TYPE, NULL);
        expect("{\"type\":\"HELLO\"}", MSG_E_UNKNOWN_TYPE, NULL);
        expect("{\"type\":\"hello\\u0000x\"}", MSG_E_UNKNOWN_TYPE, NULL);
        expect("{\"type\":\"nope\",\"id\":12}", MSG_E_UNKNOWN_TYPE, NULL);
        CHECK(M.has_id && M.id == 12); /* the error can answer the id */
}

static void test_forged(void)
{
        static const char *types[] = {
                "hello",     "call",        "reply",        "error",        "cancel",  "publish",
                "subscribe", "unsubscribe", "request_name", "release_name", "declare", "monitor"
        };
        char text[256];

        for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
                snprintf(text, sizeof(text), "{\"type\":\"%s\",\"id\":5,\"sender\":\":1\"}", types[i]);
                expect(text, MSG_E_FORGED, "sender");
                CHECK(M.has_id && M.id == 5);
                snprintf(text, sizeof(text), "{\"type\":\"%s\",\"creds\":{\"uid\":0,\"gid\":0,\"pid\":1}}", types[i]);
                expect(text, MSG_E_FORGED, "creds");
        }
        /* forged even when the message is otherwise complete and valid */
        expect("{\"type\":\"publish\",\"topic\":\"a\",\"data\":1,\"sender\":\"org.busd\"}", MSG_E_FORGED, NULL);
        expect("{\"type\":\"reply\",\"id\":1,\"result\":null,\"creds\":null}", MSG_E_FORGED, NULL);
        CHECK_STREQ(msg_error_code(MSG_E_FORGED), "forged_identity");
}

/* Each member kind with values of the wrong JSON type or syntax. */
static void test_types(void)
{
        /* ids */
        INVALID("{\"type\":\"call\",\"id\":\"1\",\"dest\":\"a.b\",\"method\":\"m\"}", "'id'");
        INVALID("{\"type\":\"reply\",\"id\":null}", "'id'");
        INVALID("{\"type\":\"reply\",\"id\":true}", "'id'");
        INVALID("{\"type\":\"reply\",\"id\":[1]}", "'id'");
        INVALID("{\"type\":\"publish\",\"topic\":\"t\",\"id\":{}}", "'id'");
        /* strings with syntax */
        INVALID("{\"type\":\"call\",\"id\":1,\"dest\":\"nodots\",\"method\":\"m\"}", "'dest'");
        INVALID("{\"type\":\"call\",\"id\":1,\"dest\":\":01\",\"method\":\"m\"}", "'dest'");
        INVALID("{\"type\":\"call\",\"id\":1,\"dest\":5,\"method\":\"m\"}", "'dest'");
        INVALID("{\"type\":\"call\",\"id\":1,\"dest\":\"a.b\",\"method\":\"1m\"}", "'method'");
        INVALID("{\"type\":\"call\",\"id\":1,\"dest\":\"a.b\",\"method\":[\"m\"]}", "'method'");
        INVALID("{\"type\":\"call\",\"id\":1,\"dest\":\"a.b\\u0000\",\"method\":\"m\"}", "'dest'");
        INVALID("{\"type\":\"call\",\"id\":1,\"dest\":\"a.b\",\"method\":\"m\",\"oneway\":1}", "'oneway'");
        INVALID("{\"type\":\"call\",\"id\":1,\"dest\":\"a.b\",\"method\":\"m\",\"oneway\":\"true\"}", "'oneway'");
        INVALID("{\"type\":\"call\",\"id\":1,\"dest\":\"a.b\",\"method\":\"m\",\"oneway\":null}", "'oneway'");
        INVALID("{\"type\":\"error\",\"id\":1,\"code\":\"a b\",\"message\":\"m\"}", "'code'");
        INVALID("{\"type\":\"error\",\"id\":1,\"code\":\"c\",\"message\":null}", "'message'");
        INVALID("{\"type\":\"error\",\"id\":1,\"code\":\"c\",\"message\":1}", "'message'");
        INVALID("{\"type\":\"publish\",\"topic\":\"a.*\"}", "'topic'");
        INVALID("{\"type\":\"publish\",\"topic\":\"\"}", "'topic'");
        INVALID("{\"type\":\"publish\",\"topic\":[\"a\"]}", "'topic'");
        INVALID("{\"type\":\"subscribe\",\"pattern\":\"a.>.b\"}", "'pattern'");
        INVALID("{\"type\":\"subscribe\",\"pattern\":\"\"}", "'pattern'");
        INVALID("{\"type\":\"unsubscribe\",\"pattern\":1}", "'pattern'");
        INVALID("{\"type\":\"request_name\",\"name\":\":5\"}", "'name'");
        INVALID("{\"type\":\"request_name\",\"name\":\"a.b\",\"queue\":0}", "'queue'");
        INVALID("{\"type\":\"request_name\",\"name\":\"a.b\",\"replace\":\"yes\"}", "'replace'");
        INVALID("{\"type\":\"request_name\",\"name\":\"a.b\",\"allow_replacement\":[]}", "'allow_replacement'");
        INVALID("{\"type\":\"release_name\",\"name\":\"a\"}", "'name'");
        INVALID("{\"type\":\"monitor\",\"types\":[]}", "at least one type");
        INVALID("{\"type\":\"monitor\",\"types\":[\"call\",\"revoked\"]}", "types[1]");
        INVALID("{\"type\":\"monitor\",\"types\":[1]}", "types[0]");
        INVALID("{\"type\":\"monitor\",\"types\":\"call\"}", "'types'");
        INVALID("{\"type\":\"monitor\",\"from\":\"org.example.A\"}", "'from'");
        INVALID("{\"type\":\"monitor\",\"from\":\"busd-a/org.example.A\"}", "'from'");
        INVALID("{\"type\":\"monitor\",\"name\":\":5\"}", "'name'");
        INVALID("{\"type\":\"monitor\",\"topic\":\"a.>.b\"}", "'topic'");
        INVALID("{\"type\":\"monitor\",\"pattern\":\"a\"}", "unknown member");
        /* hello members */
        INVALID("{\"type\":\"hello\",\"name\":\"\"}", "'name'");
        INVALID("{\"type\":\"hello\",\"name\":7}", "'name'");
        INVALID("{\"type\":\"hello\",\"names\":\"org.a.b\"}", "'names'");
        INVALID("{\"type\":\"hello\",\"names\":[\"bad\"]}", "names[0]");
        INVALID("{\"type\":\"hello\",\"names\":[\"a.b\",1]}", "names[1]");
        INVALID("{\"type\":\"hello\",\"names\":{}}", "'names'");
        OK("{\"type\":\"hello\",\"names\":[]}");
        INVALID("{\"type\":\"hello\",\"methods\":{}}", "methods");
        /* any JSON is any JSON */
        OK("{\"type\":\"reply\",\"id\":1,\"result\":\"s\"}");
        OK("{\"type\":\"publish\",\"topic\":\"t\",\"data\":[[[]]]}");
}

/* Lengths: display name 1..64, error message at most 1024, code 1..128. */
static void test_lengths(void)
{
        char text[2048], s[1100];

        memset(s, 'x', 64);
        s[64] = 0;
        snprintf(text, sizeof(text), "{\"type\":\"hello\",\"name\":\"%s\"}", s);
        OK(text);
        snprintf(text, sizeof(text), "{\"type\":\"hello\",\"name\":\"%sx\"}", s);
        INVALID(text, "'name'");

        memset(s, 'm', 1024);
        s[1024] = 0;
        snprintf(text, sizeof(text), "{\"type\":\"error\",\"id\":1,\"code\":\"c\",\"message\":\"%s\"}", s);
        OK(text);
        CHECK_EQ_INT(M.message.len, 1024);
        snprintf(text, sizeof(text), "{\"type\":\"error\",\"id\":1,\"code\":\"c\",\"message\":\"%sm\"}", s);
        INVALID(text, "'message'");

        memset(s, 'c', 128);
        s[128] = 0;
        snprintf(text, sizeof(text), "{\"type\":\"error\",\"id\":1,\"code\":\"%s\",\"message\":\"\"}", s);
        OK(text);
        snprintf(text, sizeof(text), "{\"type\":\"error\",\"id\":1,\"code\":\"%sc\",\"message\":\"\"}", s);
        INVALID(text, "'code'");
}

static void test_id_range(void)
{
        OK("{\"type\":\"reply\",\"id\":0}");
        CHECK(M.has_id && M.id == 0);
        OK("{\"type\":\"reply\",\"id\":9007199254740991}");
        CHECK(M.has_id && M.id == 9007199254740991ull);

        static const char *bad[] = {
                "9007199254740992",
                "9223372036854775807",
                "18446744073709551615",
                "-1",
                "-9223372036854775808",
                "1.0",
                "1e3",
                "0.5",
                "-0.0"
        };
        char text[128];
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                snprintf(text, sizeof(text), "{\"type\":\"reply\",\"id\":%s}", bad[i]);
                INVALID(text, "'id'");
                CHECK(!M.has_id); /* an invalid id is never answered */
                snprintf(text, sizeof(text), "{\"type\":\"publish\",\"topic\":\"t\",\"id\":%s}", bad[i]);
                INVALID(text, "'id'");
        }
        /* a valid id is kept when something else is wrong, to answer it */
        INVALID("{\"type\":\"call\",\"id\":77,\"dest\":\"bad\",\"method\":\"m\"}", "'dest'");
        CHECK(M.has_id && M.id == 77);
        INVALID("{\"type\":\"call\",\"id\":78}", "missing");
        CHECK(M.has_id && M.id == 78);
        INVALID("{\"id\":79}", "'type'");
        CHECK(M.has_id && M.id == 79);
}

static void test_protocol(void)
{
        OK("{\"type\":\"hello\",\"protocol\":1}");
        OK("{\"type\":\"hello\",\"id\":3,\"protocol\":1}");
        CHECK(M.has_id && M.id == 3); /* protocol does not overwrite the id */
        expect("{\"type\":\"hello\",\"protocol\":2}", MSG_E_VERSION, "version 2");
        expect("{\"type\":\"hello\",\"protocol\":0}", MSG_E_VERSION, NULL);
        expect("{\"type\":\"hello\",\"protocol\":-1}", MSG_E_VERSION, NULL);
        expect("{\"type\":\"hello\",\"protocol\":18446744073709551615}", MSG_E_VERSION, NULL);
        INVALID("{\"type\":\"hello\",\"protocol\":\"1\"}", "'protocol'");
        INVALID("{\"type\":\"hello\",\"protocol\":1.0}", "'protocol'");
        INVALID("{\"type\":\"hello\",\"protocol\":null}", "'protocol'");
        CHECK_STREQ(msg_error_code(MSG_E_VERSION), "unsupported_version");
        /* protocol belongs to hello only */
        INVALID("{\"type\":\"publish\",\"topic\":\"t\",\"protocol\":1}", "unknown member 'protocol'");
}

static char *decls(size_t n)
{
        size_t cap = n * 32 + 64, len = 0;
        char *s = malloc(cap);
        CHECK(s);
        len += (size_t)snprintf(s + len, cap - len, "{\"type\":\"declare\",\"methods\":[");
        for (size_t i = 0; i < n; i++)
                len += (size_t)snprintf(s + len, cap - len, "%s{\"name\":\"m%zu\"}", i ? "," : "", i);
        snprintf(s + len, cap - len, "]}");
        return s;
}

static void test_methods(void)
{
        char *s = decls(256);
        OK(s);
        CHECK_EQ_INT(json_object_array_length(M.methods), 256);
        free(s);
        s = decls(257);
        INVALID(s, "257 declarations");
        free(s);

        INVALID("{\"type\":\"declare\",\"methods\":[{\"name\":\"a\"},{\"name\":\"b\"},{\"name\":\"a\"}]}",
                "'a' is declared twice");
        INVALID("{\"type\":\"declare\",\"methods\":[{\"name\":\"a\",\"returns\":1}]}", "unknown member 'returns'");
        INVALID("{\"type\":\"declare\",\"methods\":[{\"description\":\"x\"}]}", "methods[0].name");
        INVALID("{\"type\":\"declare\",\"methods\":[{\"name\":\"a\"},{\"name\":\"1a\"}]}", "methods[1].name");
        INVALID("{\"type\":\"declare\",\"methods\":[{\"name\":5}]}", "methods[0].name");
        INVALID("{\"type\":\"declare\",\"methods\":[\"a\"]}", "methods[0] must be an object");
        INVALID("{\"type\":\"declare\",\"methods\":[{\"name\":\"a\",\"description\":1}]}", "description");
        INVALID("{\"type\":\"declare\",\"methods\":{\"name\":\"a\"}}", "methods");
        INVALID("{\"type\":\"declare\",\"methods\":null}", "methods");
        /* description at most 256 bytes */
        char text[1024], d[300];
        memset(d, 'd', 256);
        d[256] = 0;
        snprintf(text, sizeof(text), "{\"type\":\"declare\",\"methods\":[{\"name\":\"a\",\"description\":\"%s\"}]}", d);
        OK(text);
        snprintf(text, sizeof(text), "{\"type\":\"declare\",\"methods\":[{\"name\":\"a\",\"description\":\"%sd\"}]}",
                 d);
        INVALID(text, "description");
        /* the same rules in hello */
        INVALID("{\"type\":\"hello\",\"methods\":[{\"name\":\"a\"},{\"name\":\"a\"}]}", "declared twice");
        OK("{\"type\":\"hello\",\"methods\":[{\"name\":\"a\",\"params\":[1],\"result\":{\"deep\":[{}]}}]}");
        /* msg_check_methods alone */
        struct json_object *a = json_object_new_array();
        CHECK_EQ_INT(msg_check_methods(a, err, sizeof(err)), 0);
        json_object_put(a);
        CHECK(msg_check_methods(NULL, err, sizeof(err)) < 0);
}

static void test_names(void)
{
        CHECK_STREQ(msg_type_name(MSG_HELLO), "hello");
        CHECK_STREQ(msg_type_name(MSG_REQUEST_NAME), "request_name");
        CHECK_STREQ(msg_type_name(MSG_DECLARE), "declare");
        CHECK_STREQ(msg_type_name(MSG_TYPE_COUNT), "?");
        CHECK_STREQ(msg_error_code(MSG_E_INVALID), "invalid_message");
        CHECK_STREQ(msg_error_code(MSG_E_UNKNOWN_TYPE), "unknown_type");
}

int main(void)
{
        P = jsonscan_new(32);
        CHECK(P);
        test_valid();
        test_required();
        test_unknown();
        test_forged();
        test_types();
        test_lengths();
        test_id_range();
        test_protocol();
        test_methods();
        test_names();
        msg_release(&M);
        jsonscan_free(P);
        return 0;
}
