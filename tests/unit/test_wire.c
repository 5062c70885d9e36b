/* test_wire.c: busd/core/wire.c, the messages the daemon sends (docs/protocol.md
 * §2.4): each builder's output is one line of valid JSON that json-c parses
 * back, with the members of the spec and nothing else, and text of any
 * content is escaped. */
#include <json-c/json.h>
#include <string.h>

#include "buf.h"
#include "jsonparse.h"
#include "jsonscan.h"
#include "test.h"
#include "wire.h"

/* A payload as a client sent it (no whitespace). */
#define SPAN(t) (&(struct jsonscan_span){ (t), strlen(t), false })

static struct jsonparse *P;
static struct json_object *last;

/* Checks b is one line of strict JSON (an object) and returns it parsed; the
 * object lives until the next call. Takes b's reference. */
static struct json_object *parse(struct buf *b)
{
        char err[256];

        CHECK(b);
        CHECK(b->len >= 3);
        CHECK_EQ_INT(b->data[b->len - 1], '\n');
        CHECK(memchr(b->data, '\n', b->len - 1) == NULL);
        json_object_put(last);
        last = NULL;
        /* our own strict parser: what a client would accept */
        if (jsonparse_parse(P, b->data, b->len - 1, &last, err, sizeof(err)) < 0) {
                fprintf(stderr, "invalid JSON from wire: %.*s (%s)\n", (int)b->len, b->data, err);
                exit(1);
        }
        CHECK(json_object_is_type(last, json_type_object));
        buf_unref(b);
        return last;
}

static struct json_object *member(struct json_object *o, const char *k)
{
        struct json_object *v;
        if (!json_object_object_get_ex(o, k, &v)) {
                fprintf(stderr, "no member '%s' in %s\n", k, json_object_to_json_string(o));
                exit(1);
        }
        return v;
}

static const char *str(struct json_object *o, const char *k)
{
        struct json_object *v = member(o, k);
        CHECK(json_object_is_type(v, json_type_string));
        return json_object_get_string(v);
}

static struct json_object *from(const char *text)
{
        struct json_object *o = NULL;
        char err[256];
        CHECK_EQ_INT(jsonparse_parse(P, text, strlen(text), &o, err, sizeof(err)), 0);
        return o;
}

static char *ident_s;
static const char *ident(size_t *len)
{
        free(ident_s);
        ident_s = wire_ident(":5", 1000, 100, 4242, len);
        CHECK(ident_s);
        return ident_s;
}

static void test_ident(void)
{
        size_t len;
        const char *s = ident(&len);
        CHECK_STREQ(s, ",\"sender\":\":5\",\"creds\":{\"uid\":1000,\"gid\":100,\"pid\":4242}");
        CHECK_EQ_INT(len, strlen(s));
}

static void test_event(void)
{
        size_t il;
        const char *id = ident(&il);
        const char *text = "{\"t\":21.5,\"s\":\"a\\\"b\\\\c\\n\\u0001/\xc3\xa9\",\"n\":null}";
        struct json_object *data = from(text);
        struct json_object *o = parse(wire_event("sensors.kitchen.temp", 20, SPAN(text), id, il));

        CHECK_EQ_INT(json_object_object_length(o), 5);
        CHECK_STREQ(str(o, "type"), "event");
        CHECK_STREQ(str(o, "topic"), "sensors.kitchen.temp");
        CHECK(json_object_equal(member(o, "data"), data));
        CHECK_STREQ(str(o, "sender"), ":5");
        struct json_object *creds = member(o, "creds");
        CHECK_EQ_INT(json_object_get_int64(member(creds, "uid")), 1000);
        CHECK_EQ_INT(json_object_get_int64(member(creds, "gid")), 100);
        CHECK_EQ_INT(json_object_get_int64(member(creds, "pid")), 4242);
        json_object_put(data);

        /* no data is null; the topic length is honoured */
        o = parse(wire_event("a.b.c", 3, NULL, id, il));
        CHECK_STREQ(str(o, "topic"), "a.b");
        CHECK(member(o, "data") == NULL);

        /* doubles are relayed with their original text */
        struct buf *b = wire_event("t", 1, SPAN("[1.50,1e5,-0.0,2.5E-3]"), id, il);
        CHECK(b && memmem(b->data, b->len, "[1.50,1e5,-0.0,2.5E-3]", 22) != NULL);
        parse(b);
        /* integers at the 64-bit bounds are not rounded */
        b = wire_event("t", 1, SPAN("[18446744073709551615,-9223372036854775808]"), id, il);
        CHECK(b && memmem(b->data, b->len, "[18446744073709551615,-9223372036854775808]", 43) != NULL);
        parse(b);
        /* strings with NUL and controls stay escaped, not cut */
        o = parse(wire_event("t", 1, SPAN("\"a\\u0000b\\u001f\\t\""), id, il));
        CHECK_EQ_INT(json_object_get_string_len(member(o, "data")), 5);
        CHECK(memcmp(json_object_get_string(member(o, "data")), "a\0b\x1f\t", 5) == 0);
        /* a payload is copied as sent, its whitespace outside strings removed
         * when it has some (a JSON Lines receiver never sees a line feed) */
        struct jsonscan_span spaced = { "[ 1,\n\t{\"a b\" : \" x \\\" y \"} ]", 0, true };
        spaced.len = strlen(spaced.s);
        b = wire_event("t", 1, &spaced, id, il);
        CHECK(b && memmem(b->data, b->len, "\"data\":[1,{\"a b\":\" x \\\" y \"}],", 28) != NULL);
        CHECK(memchr(b->data, '\n', b->len - 1) == NULL);
        parse(b);
        /* -0 and \u escapes arrive as written */
        b = wire_event("t", 1, SPAN("[-0,\"\\u00e9\"]"), id, il);
        CHECK(b && memmem(b->data, b->len, "[-0,\"\\u00e9\"]", 13) != NULL);
        parse(b);
}

static void test_call(void)
{
        size_t il;
        const char *id = ident(&il);
        const char *text = "{\"x\":[1,{\"y\":\"</script>\"}]}";
        struct json_object *params = from(text);
        struct json_object *o = parse(wire_call(false, 77, "org.example.Echo", "echo", SPAN(text), id, il));

        CHECK_EQ_INT(json_object_object_length(o), 7);
        CHECK_STREQ(str(o, "type"), "call");
        CHECK_EQ_INT(json_object_get_int64(member(o, "id")), 77);
        CHECK(!json_object_object_get_ex(o, "oneway", NULL));
        CHECK_STREQ(str(o, "dest"), "org.example.Echo");
        CHECK_STREQ(str(o, "method"), "echo");
        CHECK(json_object_equal(member(o, "params"), params));
        CHECK_STREQ(str(o, "sender"), ":5");
        CHECK(json_object_object_get_ex(o, "creds", NULL));

        /* one-way: no id, oneway true */
        o = parse(wire_call(true, 78, ":3", "m.x-y_z", NULL, id, il));
        CHECK(!json_object_object_get_ex(o, "id", NULL));
        CHECK(json_object_get_boolean(member(o, "oneway")));
        CHECK_STREQ(str(o, "dest"), ":3");
        CHECK(member(o, "params") == NULL);
        /* the largest id a client may use */
        o = parse(wire_call(false, 9007199254740991ull, "a.b", "m", SPAN(text), id, il));
        CHECK(json_object_get_int64(member(o, "id")) == 9007199254740991ll);
        json_object_put(params);
}

static void test_reply(void)
{
        const char *text = "{\"a\":[true,false,null,\"\\\\\"]}";
        struct json_object *res = from(text);
        struct json_object *o = parse(wire_reply(12, SPAN(text), ":9"));

        CHECK_EQ_INT(json_object_object_length(o), 4);
        CHECK_STREQ(str(o, "type"), "reply");
        CHECK_EQ_INT(json_object_get_int64(member(o, "id")), 12);
        CHECK(json_object_equal(member(o, "result"), res));
        CHECK_STREQ(str(o, "sender"), ":9");
        json_object_put(res);
        o = parse(wire_reply(0, NULL, "org.busd"));
        CHECK(member(o, "result") == NULL);
        o = parse(wire_reply_tree(0, NULL, "org.busd"));
        CHECK(member(o, "result") == NULL);
        CHECK_STREQ(str(o, "sender"), "org.busd");
}

static void test_error(void)
{
        /* a message needing every kind of escape */
        const char *msg = "quote \" backslash \\ newline \n tab \t bell \a del \x7f slash / \xe2\x82\xac";
        struct json_object *o = parse(wire_error(true, 5, -1, "no_owner", msg, "org.busd", NULL));

        CHECK_EQ_INT(json_object_object_length(o), 5);
        CHECK_STREQ(str(o, "type"), "error");
        CHECK_EQ_INT(json_object_get_int64(member(o, "id")), 5);
        CHECK(!json_object_object_get_ex(o, "call", NULL));
        CHECK(!json_object_object_get_ex(o, "data", NULL));
        CHECK_STREQ(str(o, "code"), "no_owner");
        CHECK_STREQ(str(o, "message"), msg);
        CHECK_STREQ(str(o, "sender"), "org.busd");

        /* unknown id: null; about an answer: call N */
        o = parse(wire_error(false, 5, 31, "no_such_call", "", "org.busd", NULL));
        CHECK_EQ_INT(json_object_object_length(o), 6);
        CHECK(member(o, "id") == NULL);
        CHECK_EQ_INT(json_object_get_int64(member(o, "call")), 31);
        CHECK_STREQ(str(o, "message"), "");
        o = parse(wire_error(false, 0, 0, "c", "m", ":1", NULL));
        CHECK_EQ_INT(json_object_get_int64(member(o, "call")), 0);

        /* a callee's error with data */
        struct json_object *data = from("{\"why\":[1,2,3]}");
        o = parse(wire_error(true, 9, -1, "my.error-code", "m", ":4", data));
        CHECK_EQ_INT(json_object_object_length(o), 6);
        CHECK(json_object_equal(member(o, "data"), data));
        CHECK_STREQ(str(o, "sender"), ":4");
        json_object_put(data);
        /* JSON null is a NULL pointer in json-c: no data member */
        data = from("[null]");
        o = parse(wire_error(true, 9, -1, "c", "m", ":4", json_object_array_get_idx(data, 0)));
        CHECK(!json_object_object_get_ex(o, "data", NULL));
        json_object_put(data);
        /* a relayed error says whether the callee gave data: "data": null */
        o = parse(wire_relayed_error(9, "c", "m", ":4", SPAN("null")));
        CHECK_EQ_INT(json_object_object_length(o), 6);
        CHECK(json_object_object_get_ex(o, "data", NULL) && member(o, "data") == NULL);
        CHECK_EQ_INT(json_object_get_int64(member(o, "id")), 9);
        o = parse(wire_relayed_error(9, "c", "m", ":4", &(struct jsonscan_span){ NULL, 0, false }));
        CHECK(!json_object_object_get_ex(o, "data", NULL));
        data = from("[1]");
        o = parse(wire_relayed_error(9, "c", "m", ":4", SPAN("[1]")));
        CHECK(json_object_equal(member(o, "data"), data));
        json_object_put(data);

        /* a long message is not cut */
        char big[3000];
        memset(big, 'x', sizeof(big) - 1);
        big[sizeof(big) - 1] = 0;
        o = parse(wire_error(true, 1, -1, "c", big, "org.busd", NULL));
        CHECK_EQ_INT(strlen(str(o, "message")), sizeof(big) - 1);
}

static void test_object(void)
{
        struct json_object *w = from("{\"type\":\"welcome\",\"names\":{\"a.b\":\"primary_owner\"},\"s\":\"\\n\"}");
        struct buf *b = wire_object(w);
        CHECK(b && b->len == strlen("{\"type\":\"welcome\",\"names\":{\"a.b\":\"primary_owner\"},\"s\":\"\\n\"}\n"));
        struct json_object *o = parse(b);
        CHECK(json_object_equal(o, w));
        json_object_put(w);

        /* larger than the first allocation, so the buf moves while it is built
         * (a welcome is about 400 bytes) */
        w = json_object_new_object();
        char big[2000];
        memset(big, 'w', sizeof(big) - 1);
        big[sizeof(big) - 1] = 0;
        json_object_object_add(w, "type", json_object_new_string("welcome"));
        json_object_object_add(w, "big", json_object_new_string(big));
        o = parse(wire_object(w));
        CHECK_EQ_INT(strlen(str(o, "big")), sizeof(big) - 1);
        CHECK(json_object_equal(o, w));
        json_object_put(w);
}

int main(void)
{
        P = jsonparse_new(32);
        CHECK(P);
        test_ident();
        test_event();
        test_call();
        test_reply();
        test_error();
        test_object();
        json_object_put(last);
        jsonparse_free(P);
        free(ident_s);
        return 0;
}
