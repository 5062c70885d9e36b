/* test_libbus_inmsg.c: checking what the daemon sends (docs/protocol.md
 * §2.4): every type parses into its fields; malformed input of every kind is
 * refused with a reason, never a crash. */
#include <errno.h>
#include <json-c/json.h>

#include "bus-internal.h"
#include "jsonscan.h"
#include "test.h"

static struct jsonscan *parser;

static struct inmsg *ok(const char *s)
{
        struct inmsg *m = NULL;
        char why[256] = "";
        int r = inmsg_parse(parser, s, strlen(s), &m, why, sizeof(why));

        if (r != 0)
                fprintf(stderr, "refused %s: %s\n", s, why);
        CHECK_EQ_INT(r, 0);
        CHECK(m);
        CHECK_EQ_INT(m->size, strlen(s));
        return m;
}

static void refused(const char *s, const char *why_part)
{
        struct inmsg *m = (struct inmsg *)0x1;
        char why[256] = "";

        CHECK_EQ_INT(inmsg_parse(parser, s, strlen(s), &m, why, sizeof(why)), -EPROTO);
        CHECK(m == (struct inmsg *)0x1);
        CHECK_CONTAINS(why, why_part);
}

static void test_valid(void)
{
        struct inmsg *m;

        m = ok("{\"type\":\"welcome\",\"id\":1,\"unique\":\":5\",\"protocol\":1,\"server\":\"busd 0.1.0\","
               "\"limits\":{\"max_message\":1048576,\"max_recv\":1049600,\"max_depth\":32,\"max_pending_calls\":256,"
               "\"queue_bytes\":4194304,\"max_names\":256,\"max_subscriptions\":1024,\"max_methods\":256,"
               "\"stall_timeout_ms\":15000},\"names\":{}}");
        CHECK_EQ_INT(m->type, INMSG_WELCOME);
        CHECK_STREQ(m->unique, ":5");
        CHECK_EQ_INT(m->limits.max_recv, 1049600);
        CHECK_EQ_INT(m->limits.max_pending_calls, 256);
        CHECK_EQ_INT(m->limits.stall_timeout_ms, 15000);
        inmsg_free(m);

        /* optional limits take the defaults; unknown members are ignored */
        m = ok("{\"type\":\"welcome\",\"unique\":\":9\",\"protocol\":1,\"limits\":{\"max_message\":65536,"
               "\"max_recv\":66560,\"future\":1},\"future\":[1]}");
        CHECK(!m->has_id);
        CHECK_EQ_INT(m->limits.max_depth, BUS_MAX_DEPTH);
        inmsg_free(m);

        m = ok("{\"type\":\"reply\",\"id\":7,\"result\":{\"x\":1},\"sender\":\":3\"}");
        CHECK_EQ_INT(m->type, INMSG_REPLY);
        CHECK_EQ_INT(m->id, 7);
        CHECK_EQ_INT(m->json_len, 7);
        CHECK_STREQ(m->json, "{\"x\":1}");
        struct json_object *t1, *t2;
        CHECK_EQ_INT(inmsg_tree(m, &t1), 0);
        CHECK_STREQ(json_object_to_json_string(t1), "{ \"x\": 1 }");
        CHECK_EQ_INT(inmsg_tree(m, &t2), 0);
        CHECK(t1 == t2); /* built once */
        CHECK(json_object_is_type(inmsg_member(m, "x"), json_type_int));
        CHECK(inmsg_answers(m, 7));
        CHECK(!inmsg_answers(m, 8));
        inmsg_free(m);

        m = ok("{\"type\":\"reply\",\"id\":7,\"result\":null,\"sender\":\"org.busd\"}");
        CHECK_STREQ(m->json, "null");
        CHECK_EQ_INT(inmsg_tree(m, &t1), 0);
        CHECK(t1 == NULL);
        CHECK(inmsg_member(m, "x") == NULL);
        inmsg_free(m);

        m = ok("{\"type\":\"error\",\"id\":null,\"code\":\"parse_error\",\"message\":\"bad\",\"sender\":\"org.busd\"}");
        CHECK_EQ_INT(m->type, INMSG_ERROR);
        CHECK(!m->has_id);
        CHECK_STREQ(m->code, "parse_error");
        inmsg_free(m);

        m = ok("{\"type\":\"error\",\"id\":3,\"code\":\"e.x\",\"message\":\"m\",\"sender\":\":4\",\"data\":[1]}");
        CHECK(m->has_id && m->id == 3);
        CHECK_STREQ(m->json, "[1]");
        CHECK_EQ_INT(inmsg_tree(m, &t1), 0);
        CHECK(json_object_is_type(t1, json_type_array));
        CHECK(inmsg_answers(m, 3));
        inmsg_free(m);

        /* no_such_call is about our answers or a cancel, never an answer to a request */
        m = ok("{\"type\":\"error\",\"id\":3,\"code\":\"no_such_call\",\"message\":\"m\",\"sender\":\"org.busd\"}");
        CHECK(!inmsg_answers(m, 3));
        inmsg_free(m);

        m = ok("{\"type\":\"call\",\"id\":12,\"dest\":\"org.example.Clock\",\"method\":\"get\",\"params\":{\"tz\":\"UTC\"},"
               "\"sender\":\":2\",\"creds\":{\"uid\":1000,\"gid\":100,\"pid\":4242}}");
        CHECK_EQ_INT(m->type, INMSG_CALL);
        CHECK(!m->oneway);
        CHECK_STREQ(m->method, "get");
        CHECK_STREQ(m->dest, "org.example.Clock");
        CHECK_EQ_INT(m->uid, 1000);
        CHECK_EQ_INT(m->gid, 100);
        CHECK_EQ_INT(m->pid, 4242);
        inmsg_free(m);

        m = ok("{\"type\":\"call\",\"oneway\":true,\"dest\":\":1\",\"method\":\"poke\",\"params\":null,\"sender\":\":2\","
               "\"creds\":{\"uid\":0,\"gid\":0,\"pid\":1}}");
        CHECK(m->oneway && !m->has_id);
        CHECK_STREQ(m->json, "null");
        CHECK_EQ_INT(m->json_len, 4);
        inmsg_free(m);

        m = ok("{\"type\":\"event\",\"topic\":\"sensors.kitchen.temp\",\"data\":21.5,\"sender\":\":1\","
               "\"creds\":{\"uid\":1,\"gid\":2,\"pid\":3}}");
        CHECK_EQ_INT(m->type, INMSG_EVENT);
        CHECK_STREQ(m->topic, "sensors.kitchen.temp");
        CHECK_EQ_INT(m->pid, 3);
        inmsg_free(m);

        m = ok("{\"type\":\"event\",\"topic\":\"$bus.name.org.x.Y\",\"data\":{},\"sender\":\"org.busd\"}");
        CHECK_STREQ(m->sender, "org.busd");
        inmsg_free(m);

        m = ok("{\"type\":\"dropped\",\"count\":5,\"total\":17}");
        CHECK_EQ_INT(m->count, 5);
        CHECK_EQ_INT(m->total, 17);
        inmsg_free(m);

        m = ok("{\"type\":\"name_acquired\",\"name\":\"org.example.Clock\"}");
        CHECK_EQ_INT(m->type, INMSG_NAME_ACQUIRED);
        CHECK_STREQ(m->name, "org.example.Clock");
        inmsg_free(m);
        m = ok("{\"type\":\"name_lost\",\"name\":\"org.example.Clock\"}");
        CHECK_EQ_INT(m->type, INMSG_NAME_LOST);
        inmsg_free(m);
}

/* The payload is kept as the daemon sent it: numbers, escapes and all;
 * strings are decoded; remote senders' strings are copies too. */
static void test_payload(void)
{
        struct json_object *t;
        struct inmsg *m;

        m = ok("{\"type\":\"event\",\"topic\":\"a.b\",\"data\":{\"z\":-0,\"f\":1.50e3,\"s\":\"\\u00e9\\n\"},"
               "\"sender\":\":1\",\"creds\":{\"uid\":1,\"gid\":2,\"pid\":3}}");
        CHECK_STREQ(m->json, "{\"z\":-0,\"f\":1.50e3,\"s\":\"\\u00e9\\n\"}");
        CHECK_EQ_INT(m->json_len, strlen(m->json));
        CHECK_EQ_INT(inmsg_tree(m, &t), 0);
        CHECK_STREQ(json_object_get_string(json_object_object_get(t, "s")), "\xc3\xa9\n");
        CHECK_EQ_INT(json_object_get_int(json_object_object_get(t, "z")), 0);
        inmsg_free(m);

        /* a string with escapes in the envelope arrives decoded */
        m = ok("{\"type\":\"error\",\"id\":null,\"code\":\"x\",\"message\":\"caf\\u00e9 \\\"q\\\"\",\"sender\":\"org.busd\"}");
        CHECK_STREQ(m->message, "caf\xc3\xa9 \"q\"");
        inmsg_free(m);

        m = ok("{\"type\":\"call\",\"id\":2,\"dest\":\":1\",\"method\":\"m\",\"params\":\"p\",\"sender\":\"b2/:7\","
               "\"remote\":{\"bus\":\"b2\",\"via\":\"b3\",\"creds\":{\"uid\":5,\"gid\":6,\"pid\":7}}}");
        CHECK_STREQ(m->sender, "b2/:7");
        CHECK_STREQ(m->remote_bus, "b2");
        CHECK_STREQ(m->remote_via, "b3");
        CHECK_EQ_INT(m->remote_uid, 5);
        CHECK_EQ_INT(m->remote_pid, 7);
        CHECK_EQ_INT(m->uid, (uid_t)-1);
        CHECK_STREQ(m->json, "\"p\"");
        inmsg_free(m);

        refused("{\"type\":\"call\",\"id\":2,\"dest\":\":1\",\"method\":\"m\",\"sender\":\"b2/:7\","
                "\"remote\":{\"bus\":\"b2\",\"via\":\"b3\",\"creds\":{\"uid\":5,\"gid\":6,\"pid\":7}},"
                "\"creds\":{\"uid\":5,\"gid\":6,\"pid\":7}}",
                "cannot have 'creds'");
        refused("{\"type\":\"call\",\"id\":2,\"dest\":\":1\",\"method\":\"m\",\"sender\":\"b2/:7\","
                "\"remote\":{\"bus\":\"b2\",\"via\":\"b3\",\"creds\":{\"uid\":5,\"gid\":6}}}",
                "missing member 'pid'");
        refused("{\"type\":\"call\",\"id\":2,\"dest\":\":1\",\"method\":\"m\",\"sender\":\"b2/:7\","
                "\"creds\":{\"uid\":5,\"gid\":6,\"pid\":7}}",
                "needs a member 'remote'");
        /* the daemon's rules: a repeated member name, a lone surrogate */
        refused("{\"type\":\"reply\",\"id\":1,\"id\":2,\"sender\":\":1\"}", "same member name");
        refused("{\"type\":\"reply\",\"id\":1,\"sender\":\":1\",\"result\":\"\\ud800\"}", "surrogate");
        refused("{\"type\":\"dropped\",\"count\":1.0,\"total\":1}", "'count' must be an integer");
        refused("{\"type\":\"dropped\",\"count\":18446744073709551615,\"total\":-1}", "'total' is out of range");
}

static void test_malformed(void)
{
        refused("", "incomplete");
        refused("{\"type\":\"reply\"", "incomplete");
        refused("[1,2]", "'type'");
        refused("{\"type\":7}", "'type'");
        refused("{\"type\":\"hello\"}", "unknown message type 'hello'");
        refused("{\"type\":\"(local dropped)\"}", "unknown message type");
        refused("{\"type\":\"reply\",\"id\":1,\"sender\":\":1\"} {}", "at byte 38");
        refused("{\"type\":\"reply\",\"id\":1,\"sender\":\":1\",\"result\":NaN}", "unexpected character");
        refused("{\"type\":\"reply\",\"id\":1,\"sender\":\":1\",\"result\":\"\xff\"}", "invalid JSON");
        refused("{\"type\":\"reply\",\"id\":99999999999999999999,\"sender\":\":1\"}", "64-bit");

        refused("{\"type\":\"reply\",\"sender\":\":1\"}", "missing member 'id'");
        refused("{\"type\":\"reply\",\"id\":\"1\",\"sender\":\":1\"}", "'id' must be an integer");
        refused("{\"type\":\"reply\",\"id\":-1,\"sender\":\":1\"}", "'id' is out of range");
        refused("{\"type\":\"reply\",\"id\":9007199254740992,\"sender\":\":1\"}", "'id' is out of range");
        refused("{\"type\":\"reply\",\"id\":1}", "missing member 'sender'");
        refused("{\"type\":\"reply\",\"id\":1,\"sender\":\"mallory\"}", "'sender' is not valid");
        refused("{\"type\":\"error\",\"code\":\"x\",\"message\":\"m\",\"sender\":\":1\"}", "missing member 'id'");
        refused("{\"type\":\"error\",\"id\":1,\"code\":\"bad code\",\"message\":\"m\",\"sender\":\":1\"}",
                "'code' is not valid");
        refused("{\"type\":\"error\",\"id\":1,\"code\":\"x\",\"message\":5,\"sender\":\":1\"}", "'message'");
        refused("{\"type\":\"call\",\"dest\":\"org.x.Y\",\"method\":\"m\",\"sender\":\":1\","
                "\"creds\":{\"uid\":0,\"gid\":0,\"pid\":1}}",
                "missing member 'id'");
        refused("{\"type\":\"call\",\"id\":1,\"dest\":\"nodots\",\"method\":\"m\",\"sender\":\":1\","
                "\"creds\":{\"uid\":0,\"gid\":0,\"pid\":1}}",
                "'dest'");
        refused("{\"type\":\"call\",\"id\":1,\"dest\":\"org.x.Y\",\"method\":\"9m\",\"sender\":\":1\","
                "\"creds\":{\"uid\":0,\"gid\":0,\"pid\":1}}",
                "'method'");
        refused("{\"type\":\"call\",\"id\":1,\"dest\":\"org.x.Y\",\"method\":\"m\",\"sender\":\":1\"}",
                "missing member 'creds'");
        refused("{\"type\":\"call\",\"id\":1,\"dest\":\"org.x.Y\",\"method\":\"m\",\"sender\":\":1\","
                "\"creds\":{\"uid\":0,\"gid\":0}}",
                "missing member 'pid'");
        refused("{\"type\":\"call\",\"id\":1,\"oneway\":1,\"dest\":\"org.x.Y\",\"method\":\"m\",\"sender\":\":1\","
                "\"creds\":{\"uid\":0,\"gid\":0,\"pid\":1}}",
                "'oneway'");
        refused("{\"type\":\"event\",\"topic\":\"a..b\",\"sender\":\":1\",\"creds\":{\"uid\":0,\"gid\":0,\"pid\":1}}",
                "'topic'");
        refused("{\"type\":\"event\",\"topic\":\"a.*\",\"sender\":\":1\",\"creds\":{\"uid\":0,\"gid\":0,\"pid\":1}}",
                "'topic'");
        refused("{\"type\":\"event\",\"topic\":\"a\",\"sender\":\":1\"}", "missing member 'creds'");
        refused("{\"type\":\"dropped\",\"count\":1}", "missing member 'total'");
        refused("{\"type\":\"name_lost\",\"name\":\"x\"}", "'name'");
        refused("{\"type\":\"welcome\",\"unique\":\"5\",\"protocol\":1,\"limits\":{\"max_message\":100,"
                "\"max_recv\":200}}",
                "'unique'");
        refused("{\"type\":\"welcome\",\"unique\":\":5\",\"protocol\":2,\"limits\":{\"max_message\":100,"
                "\"max_recv\":200}}",
                "protocol version 2");
        refused("{\"type\":\"welcome\",\"unique\":\":5\",\"protocol\":1}", "'limits'");
        refused("{\"type\":\"welcome\",\"unique\":\":5\",\"protocol\":1,\"limits\":{\"max_message\":100}}",
                "missing member 'max_recv'");
        refused("{\"type\":\"welcome\",\"unique\":\":5\",\"protocol\":1,\"limits\":{\"max_message\":1000,"
                "\"max_recv\":999}}",
                "inconsistent");
        refused("{\"type\":\"welcome\",\"unique\":\":5\",\"protocol\":1,\"limits\":{\"max_message\":1000,"
                "\"max_recv\":4294967295}}",
                "inconsistent");
        /* max_depth within what libbus's parser takes (jsonscan: 1024 levels at most) */
        refused("{\"type\":\"welcome\",\"unique\":\":5\",\"protocol\":1,\"limits\":{\"max_message\":1000,"
                "\"max_recv\":2000,\"max_depth\":1025}}",
                "max_depth 1025");
        refused("{\"type\":\"welcome\",\"unique\":\":5\",\"protocol\":1,\"limits\":{\"max_message\":1000,"
                "\"max_recv\":2000,\"max_depth\":1}}",
                "max_depth 1)");

        /* nesting beyond the parser's depth */
        char deep[200] = "{\"type\":\"reply\",\"id\":1,\"sender\":\":1\",\"result\":";
        size_t n = strlen(deep);
        for (int i = 0; i < 40; i++)
                deep[n++] = '[';
        for (int i = 0; i < 40; i++)
                deep[n++] = ']';
        deep[n++] = '}';
        deep[n] = 0;
        refused(deep, "invalid JSON");
}

int main(void)
{
        parser = jsonscan_new(BUS_MAX_DEPTH);
        CHECK(parser);
        test_valid();
        test_malformed();
        test_payload();
        jsonscan_free(parser);
        return 0;
}
