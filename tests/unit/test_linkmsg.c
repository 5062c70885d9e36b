/* test_linkmsg.c: busd/bridge/linkmsg.c, the validation of what a peer daemon
 * sends over a bridge link (docs/bridge.md): for every link message type a
 * message that passes, with the members it yields, and the messages refused,
 * each with its reason; the order of the checks (the first member at fault
 * gives the reason); the identity rules that depend on the link's ends (only
 * the neighbour is one hop away, nobody is this bus, the hello names the
 * certificate's bus); names' elements one at a time. No bridge, no router. */
#include <errno.h>
#include <json-c/json.h>
#include <stdint.h>
#include <string.h>

#include "jsonparse.h"
#include "linkmsg.h"
#include "test.h"

/* This bus is busd-a; the link's other end busd-b; events may have crossed 4 links. */
static const struct linkmsg_link OPEN = { .self = "busd-a", .remote = "busd-b", .max_hops = 4, .hello_seen = true };
static const struct linkmsg_link FRESH = { .self = "busd-a", .remote = "busd-b", .max_hops = 4, .hello_seen = false };

#define ID ",\"origin\":\"busd-b\",\"hops\":1,\"sender\":\":5\",\"creds\":{\"uid\":1000,\"gid\":100,\"pid\":42}"
#define CREDS(c) ",\"origin\":\"busd-b\",\"hops\":1,\"sender\":\":5\",\"creds\":" c
#define EVENT "{\"type\":\"event\",\"topic\":\"t.x\",\"epoch\":7,\"seq\":3"
#define CALL "{\"type\":\"call\",\"id\":9,\"dest\":\"org.example.S\",\"method\":\"get\""

static struct jsonparse *P;
static struct json_object *root; /* the object the last struct linkmsg borrows from */
static struct linkmsg M;
static char why[400];

static int parse_on(const struct linkmsg_link *link, const char *text)
{
        char perr[256];

        json_object_put(root);
        root = NULL;
        if (jsonparse_parse(P, text, strlen(text), &root, perr, sizeof(perr)) < 0) {
                fprintf(stderr, "test input is not JSON: %s (%s)\n", text, perr);
                exit(1);
        }
        memset(&M, 0xa5, sizeof(M)); /* to see that a refusal leaves it untouched */
        strcpy(why, "<untouched>");
        return linkmsg_parse(root, link, &M, why, sizeof(why));
}

static void ok_on(const struct linkmsg_link *link, const char *text, enum linkmsg_type type)
{
        int r = parse_on(link, text);

        if (r != 0) {
                fprintf(stderr, "%s: expected ok, got %d (%s)\n", text, r, why);
                exit(1);
        }
        CHECK_EQ_INT(M.type, type);
}

/* Refused, with exactly this reason; M untouched. */
static void bad_on(const struct linkmsg_link *link, const char *text, const char *reason)
{
        int r = parse_on(link, text);

        if (r != -EPROTO) {
                fprintf(stderr, "%s: expected -EPROTO (%s), got %d\n", text, reason, r);
                exit(1);
        }
        CHECK_STREQ(why, reason);
        CHECK_EQ_INT(M.id, 0xa5a5a5a5a5a5a5a5ull);
}

#define OK(text, type) ok_on(&OPEN, text, type)
#define BAD(text, reason) bad_on(&OPEN, text, reason)

static void test_type(void)
{
        BAD("[1,2]", "not an object with a string 'type'");
        BAD("7", "not an object with a string 'type'");
        BAD("{}", "not an object with a string 'type'");
        BAD("{\"type\":null}", "not an object with a string 'type'");
        BAD("{\"type\":1}", "not an object with a string 'type'");
        BAD("{\"type\":\"nope\"}", "unknown link message type 'nope'");
        BAD("{\"type\":\"hello\"}", "unknown link message type 'hello'");
        /* the type is shown cut at 40 bytes */
        BAD("{\"type\":\"0123456789012345678901234567890123456789xyz\"}",
            "unknown link message type '0123456789012345678901234567890123456789'");
        /* members nobody names are ignored */
        OK("{\"type\":\"ping\",\"x\":[1,{}],\"sender\":\"whoever\"}", LINKMSG_PING);
}

static void test_link_hello(void)
{
        ok_on(&FRESH, "{\"type\":\"link_hello\",\"protocol\":2,\"bus\":\"busd-b\",\"epoch\":77}", LINKMSG_LINK_HELLO);
        CHECK_EQ_INT(M.epoch, 77);
        ok_on(&FRESH, "{\"type\":\"link_hello\",\"protocol\":2,\"bus\":\"busd-b\",\"epoch\":18446744073709551615}",
              LINKMSG_LINK_HELLO);
        CHECK(M.epoch == UINT64_MAX);
        /* before the hello, nothing else */
        bad_on(&FRESH, "{\"type\":\"ping\"}", "the first message must be link_hello, not 'ping'");
        bad_on(&FRESH, EVENT ID "}", "the first message must be link_hello, not 'event'");
        bad_on(&FRESH, "{\"type\":[]}", "not an object with a string 'type'");
        /* protocol: the version, or 0 when it is no integer up to 1000 */
        bad_on(&FRESH, "{\"type\":\"link_hello\",\"protocol\":3,\"bus\":\"busd-b\",\"epoch\":1}",
               "link protocol 3 is not 2");
        bad_on(&FRESH, "{\"type\":\"link_hello\",\"protocol\":1000,\"bus\":\"busd-b\",\"epoch\":1}",
               "link protocol 1000 is not 2");
        bad_on(&FRESH, "{\"type\":\"link_hello\",\"protocol\":1001,\"bus\":\"busd-b\",\"epoch\":1}",
               "link protocol 0 is not 2");
        bad_on(&FRESH, "{\"type\":\"link_hello\",\"protocol\":\"1\",\"bus\":\"busd-b\",\"epoch\":1}",
               "link protocol 0 is not 2");
        bad_on(&FRESH, "{\"type\":\"link_hello\",\"bus\":\"busd-b\",\"epoch\":1}", "link protocol 0 is not 2");
        /* bus: the certificate's */
        bad_on(&FRESH, "{\"type\":\"link_hello\",\"protocol\":2,\"bus\":\"busd-c\",\"epoch\":1}",
               "forged identity: the link_hello says 'busd-c', the certificate 'busd-b'");
        bad_on(&FRESH, "{\"type\":\"link_hello\",\"protocol\":2,\"epoch\":1}",
               "forged identity: the link_hello says '', the certificate 'busd-b'");
        bad_on(&FRESH, "{\"type\":\"link_hello\",\"protocol\":2,\"bus\":7,\"epoch\":1}",
               "forged identity: the link_hello says '', the certificate 'busd-b'");
        /* epoch */
        bad_on(&FRESH, "{\"type\":\"link_hello\",\"protocol\":2,\"bus\":\"busd-b\"}",
               "link_hello: 'epoch' must be a number");
        bad_on(&FRESH, "{\"type\":\"link_hello\",\"protocol\":2,\"bus\":\"busd-b\",\"epoch\":-1}",
               "link_hello: 'epoch' must be a number");
        bad_on(&FRESH, "{\"type\":\"link_hello\",\"protocol\":2,\"bus\":\"busd-b\",\"epoch\":1.5}",
               "link_hello: 'epoch' must be a number");
        /* the order: protocol, then bus, then epoch */
        bad_on(&FRESH, "{\"type\":\"link_hello\",\"protocol\":3,\"bus\":\"busd-c\"}", "link protocol 3 is not 2");
        bad_on(&FRESH, "{\"type\":\"link_hello\",\"protocol\":2,\"bus\":\"busd-c\"}",
               "forged identity: the link_hello says 'busd-c', the certificate 'busd-b'");
        /* and after it, a second one is no link message */
        BAD("{\"type\":\"link_hello\",\"protocol\":2,\"bus\":\"busd-b\",\"epoch\":1}",
            "unknown link message type 'link_hello'");
}

static void test_event(void)
{
        OK(EVENT ID ",\"data\":{\"a\":[1]}}", LINKMSG_EVENT);
        CHECK_STREQ(M.topic, "t.x");
        CHECK_EQ_INT(M.epoch, 7);
        CHECK_EQ_INT(M.seq, 3);
        CHECK_STREQ(M.origin, "busd-b");
        CHECK_EQ_INT(M.hops, 1);
        CHECK_STREQ(M.sender, ":5");
        CHECK(M.creds.uid == 1000 && M.creds.gid == 100 && M.creds.pid == 42);
        CHECK(json_object_is_type(M.data, json_type_object));
        OK(EVENT ID "}", LINKMSG_EVENT);
        CHECK(M.data == NULL);
        OK(EVENT ID ",\"data\":null}", LINKMSG_EVENT);
        CHECK(M.data == NULL);
        /* relayed from further away, by org.busd */
        OK(EVENT ",\"origin\":\"busd-z\",\"hops\":5,\"sender\":\"org.busd\",\"creds\":{\"uid\":0,\"gid\":0,\"pid\":1}}",
           LINKMSG_EVENT);
        CHECK_EQ_INT(M.hops, 5);
        /* topic */
        BAD("{\"type\":\"event\",\"epoch\":7,\"seq\":3" ID "}", "event: 'topic' must be a topic");
        BAD("{\"type\":\"event\",\"topic\":\"$bus.x\",\"epoch\":7,\"seq\":3" ID "}", "event: 'topic' must be a topic");
        BAD("{\"type\":\"event\",\"topic\":\"a..b\",\"epoch\":7,\"seq\":3" ID "}", "event: 'topic' must be a topic");
        BAD("{\"type\":\"event\",\"topic\":\"t.*\",\"epoch\":7,\"seq\":3" ID "}", "event: 'topic' must be a topic");
        BAD("{\"type\":\"event\",\"topic\":5,\"epoch\":7,\"seq\":3" ID "}", "event: 'topic' must be a topic");
        /* epoch and seq (from 1) */
        BAD("{\"type\":\"event\",\"topic\":\"t\",\"seq\":3" ID "}", "event: 'epoch' and 'seq' must be numbers");
        BAD("{\"type\":\"event\",\"topic\":\"t\",\"epoch\":\"7\",\"seq\":3" ID "}",
            "event: 'epoch' and 'seq' must be numbers");
        BAD("{\"type\":\"event\",\"topic\":\"t\",\"epoch\":7,\"seq\":0" ID "}",
            "event: 'epoch' and 'seq' must be numbers");
        BAD("{\"type\":\"event\",\"topic\":\"t\",\"epoch\":7" ID "}", "event: 'epoch' and 'seq' must be numbers");
        /* the identity */
        BAD(EVENT ",\"origin\":\"no bus\",\"hops\":1,\"sender\":\":5\",\"creds\":{\"uid\":1,\"gid\":1,\"pid\":1}}",
            "'origin' must be a bus name");
        BAD(EVENT ",\"hops\":1,\"sender\":\":5\",\"creds\":{\"uid\":1,\"gid\":1,\"pid\":1}}",
            "'origin' must be a bus name");
        BAD(EVENT ",\"origin\":\"busd-b\",\"hops\":0,\"sender\":\":5\",\"creds\":{\"uid\":1,\"gid\":1,\"pid\":1}}",
            "'hops' must be a number from 1");
        BAD(EVENT ",\"origin\":\"busd-z\",\"hops\":6,\"sender\":\":5\",\"creds\":{\"uid\":1,\"gid\":1,\"pid\":1}}",
            "'hops' must be a number from 1"); /* over max_hops + 1 */
        BAD(EVENT ",\"origin\":\"busd-b\",\"sender\":\":5\",\"creds\":{\"uid\":1,\"gid\":1,\"pid\":1}}",
            "'hops' must be a number from 1");
        BAD(EVENT ",\"origin\":\"busd-c\",\"hops\":1,\"sender\":\":5\",\"creds\":{\"uid\":1,\"gid\":1,\"pid\":1}}",
            "forged identity: busd-b cannot relay a message from 'busd-c' at 1 hops");
        BAD(EVENT ",\"origin\":\"busd-b\",\"hops\":2,\"sender\":\":5\",\"creds\":{\"uid\":1,\"gid\":1,\"pid\":1}}",
            "forged identity: busd-b cannot relay a message from 'busd-b' at 2 hops");
        BAD(EVENT ",\"origin\":\"busd-b\",\"hops\":1,\"sender\":\"root\",\"creds\":{\"uid\":1,\"gid\":1,\"pid\":1}}",
            "'sender' must be a unique id");
        BAD(EVENT
            ",\"origin\":\"busd-b\",\"hops\":1,\"sender\":\"busd-b/:5\",\"creds\":{\"uid\":1,\"gid\":1,\"pid\":1}}",
            "'sender' must be a unique id");
        BAD(EVENT ",\"origin\":\"busd-b\",\"hops\":1,\"creds\":{\"uid\":1,\"gid\":1,\"pid\":1}}",
            "'sender' must be a unique id");
        BAD(EVENT CREDS("{\"uid\":-1,\"gid\":1,\"pid\":1}") "}", "'creds' must be {\"uid\", \"gid\", \"pid\"} numbers");
        BAD(EVENT CREDS("{\"uid\":4294967295,\"gid\":1,\"pid\":1}") "}",
            "'creds' must be {\"uid\", \"gid\", \"pid\"} numbers");
        BAD(EVENT CREDS("{\"uid\":1,\"gid\":1,\"pid\":2147483648}") "}",
            "'creds' must be {\"uid\", \"gid\", \"pid\"} numbers");
        BAD(EVENT CREDS("{\"uid\":1,\"gid\":1}") "}", "'creds' must be {\"uid\", \"gid\", \"pid\"} numbers");
        BAD(EVENT CREDS("{\"uid\":1,\"gid\":1,\"pid\":1,\"local\":true}") "}",
            "'creds' must be {\"uid\", \"gid\", \"pid\"} numbers");
        BAD(EVENT CREDS("[1,1,1]") "}", "'creds' must be {\"uid\", \"gid\", \"pid\"} numbers");
        BAD(EVENT ",\"origin\":\"busd-b\",\"hops\":1,\"sender\":\":5\"}",
            "'creds' must be {\"uid\", \"gid\", \"pid\"} numbers");
        OK(EVENT CREDS("{\"uid\":4294967294,\"gid\":0,\"pid\":2147483647}") "}", LINKMSG_EVENT);
        /* the order: a forged origin is reported before a bad sender */
        BAD(EVENT ",\"origin\":\"busd-c\",\"hops\":1,\"sender\":\"root\"}",
            "forged identity: busd-b cannot relay a message from 'busd-c' at 1 hops");
        /* our own event come around: not an error, whatever follows the hops */
        CHECK_EQ_INT(parse_on(&OPEN, EVENT ",\"origin\":\"busd-a\",\"hops\":2,\"sender\":\"root\"}"), LINKMSG_OURS);
        CHECK_EQ_INT(M.type, LINKMSG_EVENT);
        CHECK_EQ_INT(parse_on(&OPEN, EVENT ",\"origin\":\"busd-a\",\"hops\":1"
                                           ",\"sender\":\":1\"}"),
                     LINKMSG_OURS);
        /* ... but the members before it are checked */
        BAD("{\"type\":\"event\",\"topic\":\"t\",\"epoch\":7,\"seq\":0,\"origin\":\"busd-a\",\"hops\":2}",
            "event: 'epoch' and 'seq' must be numbers");
        BAD(EVENT ",\"origin\":\"busd-a\",\"hops\":9}", "'hops' must be a number from 1");
}

static void test_call(void)
{
        OK(CALL ",\"params\":[1,2]" ID "}", LINKMSG_CALL);
        CHECK_EQ_INT(M.id, 9);
        CHECK(!M.oneway);
        CHECK_STREQ(M.dest, "org.example.S");
        CHECK_STREQ(M.method, "get");
        CHECK(json_object_is_type(M.params, json_type_array));
        CHECK_STREQ(M.origin, "busd-b");
        CHECK_STREQ(M.sender, ":5");
        OK(CALL ID "}", LINKMSG_CALL);
        CHECK(M.params == NULL);
        /* BUS/NAME */
        OK("{\"type\":\"call\",\"id\":1,\"dest\":\"busd-a/org.example.S\",\"method\":\"m\"" ID "}", LINKMSG_CALL);
        CHECK_STREQ(M.dest, "busd-a/org.example.S");
        /* one-way: no id, and one there is not looked at */
        OK("{\"type\":\"call\",\"oneway\":true,\"dest\":\"org.example.S\",\"method\":\"m\"" ID "}", LINKMSG_CALL);
        CHECK(M.oneway);
        CHECK_EQ_INT(M.id, 0);
        OK("{\"type\":\"call\",\"oneway\":true,\"id\":\"x\",\"dest\":\"org.example.S\",\"method\":\"m\"" ID "}",
           LINKMSG_CALL);
        CHECK_EQ_INT(M.id, 0);
        /* oneway as json-c reads it: a non-empty string or a number but 0 is true */
        OK("{\"type\":\"call\",\"oneway\":1,\"dest\":\"org.example.S\",\"method\":\"m\"" ID "}", LINKMSG_CALL);
        CHECK(M.oneway);
        BAD("{\"type\":\"call\",\"oneway\":false,\"dest\":\"org.example.S\",\"method\":\"m\"" ID "}",
            "call: 'id' must be a number");
        BAD("{\"type\":\"call\",\"oneway\":0,\"dest\":\"org.example.S\",\"method\":\"m\"" ID "}",
            "call: 'id' must be a number");
        /* dest, method, id */
        BAD("{\"type\":\"call\",\"id\":1,\"method\":\"m\"" ID "}", "call: 'dest' must be a name or BUS/NAME");
        BAD("{\"type\":\"call\",\"id\":1,\"dest\":\":7\",\"method\":\"m\"" ID "}",
            "call: 'dest' must be a name or BUS/NAME");
        BAD("{\"type\":\"call\",\"id\":1,\"dest\":\"nodots\",\"method\":\"m\"" ID "}",
            "call: 'dest' must be a name or BUS/NAME");
        BAD("{\"type\":\"call\",\"id\":1,\"dest\":\"org.example.S\"" ID "}", "call: 'method' must be a method name");
        BAD("{\"type\":\"call\",\"id\":1,\"dest\":\"org.example.S\",\"method\":\"1m\"" ID "}",
            "call: 'method' must be a method name");
        BAD("{\"type\":\"call\",\"dest\":\"org.example.S\",\"method\":\"m\"" ID "}", "call: 'id' must be a number");
        BAD("{\"type\":\"call\",\"id\":-1,\"dest\":\"org.example.S\",\"method\":\"m\"" ID "}",
            "call: 'id' must be a number");
        /* the same identity rules as an event's */
        BAD(CALL ",\"origin\":\"busd-b\",\"hops\":3,\"sender\":\":5\",\"creds\":{\"uid\":1,\"gid\":1,\"pid\":1}}",
            "forged identity: busd-b cannot relay a message from 'busd-b' at 3 hops");
        BAD(CALL ",\"origin\":\"busd-b\",\"hops\":1,\"sender\":\":x\",\"creds\":{\"uid\":1,\"gid\":1,\"pid\":1}}",
            "'sender' must be a unique id");
        BAD(CALL ",\"origin\":\"busd-b\",\"hops\":1,\"sender\":\":5\",\"creds\":{}}",
            "'creds' must be {\"uid\", \"gid\", \"pid\"} numbers");
        CHECK_EQ_INT(parse_on(&OPEN, CALL ",\"origin\":\"busd-a\",\"hops\":3}"), LINKMSG_OURS);
        CHECK_EQ_INT(M.type, LINKMSG_CALL);
}

static void test_answers(void)
{
        OK("{\"type\":\"reply\",\"id\":4,\"result\":{\"ok\":true},\"sender\":\":5\"}", LINKMSG_REPLY);
        CHECK_EQ_INT(M.id, 4);
        CHECK_STREQ(M.sender, ":5");
        CHECK(json_object_is_type(M.result, json_type_object));
        CHECK(M.code == NULL && M.message == NULL && M.data == NULL);
        OK("{\"type\":\"reply\",\"id\":4,\"sender\":\"org.busd\"}", LINKMSG_REPLY);
        CHECK(M.result == NULL);
        /* answered further away: BUS/ID, BUS never this bus */
        OK("{\"type\":\"reply\",\"id\":4,\"sender\":\"busd-c/:9\"}", LINKMSG_REPLY);
        CHECK_STREQ(M.sender, "busd-c/:9");
        OK("{\"type\":\"reply\",\"id\":4,\"sender\":\"busd-c/org.busd\"}", LINKMSG_REPLY);
        BAD("{\"type\":\"reply\",\"id\":4,\"sender\":\"busd-a/:1\"}", "forged identity: answer sender 'busd-a/:1'");
        BAD("{\"type\":\"reply\",\"id\":4,\"sender\":\"no bus/:1\"}", "forged identity: answer sender 'no bus/:1'");
        BAD("{\"type\":\"reply\",\"id\":4,\"sender\":\"busd-c/root\"}", "forged identity: answer sender 'busd-c/root'");
        BAD("{\"type\":\"reply\",\"id\":4,\"sender\":\"/:1\"}", "forged identity: answer sender '/:1'");
        BAD("{\"type\":\"reply\",\"id\":4,\"sender\":\"root\"}", "answer sender must be a unique id");
        BAD("{\"type\":\"reply\",\"id\":4}", "reply: 'sender' missing");
        BAD("{\"type\":\"reply\",\"id\":4,\"sender\":5}", "reply: 'sender' missing");
        BAD("{\"type\":\"reply\",\"sender\":\":5\"}", "reply: 'id' must be a number");
        BAD("{\"type\":\"reply\",\"id\":null,\"sender\":\":5\"}", "reply: 'id' must be a number");
        /* the order: id before sender */
        BAD("{\"type\":\"reply\",\"id\":\"4\"}", "reply: 'id' must be a number");

        OK("{\"type\":\"error\",\"id\":4,\"code\":\"no_owner\",\"message\":\"none\",\"sender\":\":5\",\"data\":[1]}",
           LINKMSG_ERROR);
        CHECK_STREQ(M.code, "no_owner");
        CHECK_STREQ(M.message, "none");
        CHECK(json_object_is_type(M.data, json_type_array));
        CHECK(M.result == NULL);
        OK("{\"type\":\"error\",\"id\":4,\"code\":\"x.y\",\"message\":\"\",\"sender\":\"busd-c/:9\"}", LINKMSG_ERROR);
        CHECK(M.data == NULL);
        BAD("{\"type\":\"error\",\"code\":\"x\",\"message\":\"m\",\"sender\":\":5\"}", "error: 'id' must be a number");
        BAD("{\"type\":\"error\",\"id\":4,\"code\":\"x\",\"message\":\"m\"}", "error: 'sender' missing");
        BAD("{\"type\":\"error\",\"id\":4,\"code\":\"x\",\"message\":\"m\",\"sender\":\"busd-a/:5\"}",
            "forged identity: answer sender 'busd-a/:5'");
        BAD("{\"type\":\"error\",\"id\":4,\"message\":\"m\",\"sender\":\":5\"}",
            "error: 'code' and 'message' must be strings");
        BAD("{\"type\":\"error\",\"id\":4,\"code\":\"bad code\",\"message\":\"m\",\"sender\":\":5\"}",
            "error: 'code' and 'message' must be strings");
        BAD("{\"type\":\"error\",\"id\":4,\"code\":\"x\",\"sender\":\":5\"}",
            "error: 'code' and 'message' must be strings");
        BAD("{\"type\":\"error\",\"id\":4,\"code\":\"x\",\"message\":7,\"sender\":\":5\"}",
            "error: 'code' and 'message' must be strings");
}

static void test_cancel_ping_pong(void)
{
        OK("{\"type\":\"cancel\",\"id\":12}", LINKMSG_CANCEL);
        CHECK_EQ_INT(M.id, 12);
        BAD("{\"type\":\"cancel\"}", "cancel: 'id' must be a number");
        BAD("{\"type\":\"cancel\",\"id\":true}", "cancel: 'id' must be a number");
        OK("{\"type\":\"ping\"}", LINKMSG_PING);
        OK("{\"type\":\"pong\"}", LINKMSG_PONG);
}

static void test_names(void)
{
        struct linkmsg_offer off;
        const char *name;

        OK("{\"type\":\"names\",\"add\":[{\"name\":\"org.x.Y\",\"origin\":\"busd-b\",\"hops\":1},"
           "{\"name\":\"org.x.W\",\"origin\":\"busd-d\",\"hops\":3}],\"remove\":[\"org.x.Z\"]}",
           LINKMSG_NAMES);
        CHECK_EQ_INT(M.nadd, 2);
        CHECK_EQ_INT(M.nremove, 1);
        CHECK_EQ_INT(linkmsg_names_remove(&M, 0, &name, why, sizeof(why)), 0);
        CHECK_STREQ(name, "org.x.Z");
        CHECK_EQ_INT(linkmsg_names_add(&M, 0, &OPEN, &off, why, sizeof(why)), 0);
        CHECK(strcmp(off.name, "org.x.Y") == 0 && strcmp(off.origin, "busd-b") == 0 && off.hops == 1);
        CHECK_EQ_INT(linkmsg_names_add(&M, 1, &OPEN, &off, why, sizeof(why)), 0);
        CHECK(strcmp(off.name, "org.x.W") == 0 && strcmp(off.origin, "busd-d") == 0 && off.hops == 3);
        /* past the end */
        CHECK_EQ_INT(linkmsg_names_add(&M, 2, &OPEN, &off, why, sizeof(why)), -EPROTO);
        CHECK_STREQ(why, "names: add[2] must be {\"name\", \"origin\", \"hops\"}");
        CHECK_EQ_INT(linkmsg_names_remove(&M, 1, &name, why, sizeof(why)), -EPROTO);
        CHECK_STREQ(why, "names: remove[1] must be a name");
        /* neither, or null: nothing */
        OK("{\"type\":\"names\"}", LINKMSG_NAMES);
        CHECK(M.add == NULL && M.remove == NULL && M.nadd == 0 && M.nremove == 0);
        OK("{\"type\":\"names\",\"add\":null,\"remove\":[]}", LINKMSG_NAMES);
        CHECK(M.add == NULL && M.nremove == 0);
        BAD("{\"type\":\"names\",\"add\":{}}", "names: 'add' and 'remove' must be arrays");
        BAD("{\"type\":\"names\",\"add\":[],\"remove\":\"org.x.Z\"}", "names: 'add' and 'remove' must be arrays");
        /* the elements, one at a time: a bad one does not stop the ones before it */
        OK("{\"type\":\"names\",\"remove\":[\"org.x.Z\",\"nodots\",7]}", LINKMSG_NAMES);
        CHECK_EQ_INT(linkmsg_names_remove(&M, 0, &name, why, sizeof(why)), 0);
        CHECK_EQ_INT(linkmsg_names_remove(&M, 1, &name, why, sizeof(why)), -EPROTO);
        CHECK_STREQ(why, "names: remove[1] must be a name");
        CHECK_EQ_INT(linkmsg_names_remove(&M, 2, &name, why, sizeof(why)), -EPROTO);
        CHECK_STREQ(why, "names: remove[2] must be a name");
        static const char *const bad_offers[] = {
                "7",
                "{\"origin\":\"busd-b\",\"hops\":1}",
                "{\"name\":\"org.busd\",\"origin\":\"busd-b\",\"hops\":1}",   /* reserved */
                "{\"name\":\"org.busd.X\",\"origin\":\"busd-b\",\"hops\":1}", /* reserved */
                "{\"name\":\"nodots\",\"origin\":\"busd-b\",\"hops\":1}",
                "{\"name\":\"org.x.Y\",\"hops\":1}",
                "{\"name\":\"org.x.Y\",\"origin\":\"no bus\",\"hops\":1}",
                "{\"name\":\"org.x.Y\",\"origin\":\"busd-b\"}",
                "{\"name\":\"org.x.Y\",\"origin\":\"busd-b\",\"hops\":0}",
                "{\"name\":\"org.x.Y\",\"origin\":\"busd-z\",\"hops\":4294967296}",
                "{\"name\":\"org.x.Y\",\"origin\":\"busd-z\",\"hops\":\"2\"}",
        };
        for (size_t i = 0; i < sizeof(bad_offers) / sizeof(bad_offers[0]); i++) {
                char text[300];
                snprintf(text, sizeof(text),
                         "{\"type\":\"names\",\"add\":[{\"name\":\"org.x.A\",\"origin\":\"busd-b\","
                         "\"hops\":1},%s]}",
                         bad_offers[i]);
                OK(text, LINKMSG_NAMES);
                CHECK_EQ_INT(linkmsg_names_add(&M, 0, &OPEN, &off, why, sizeof(why)), 0);
                CHECK_EQ_INT(linkmsg_names_add(&M, 1, &OPEN, &off, why, sizeof(why)), -EPROTO);
                CHECK_STREQ(why, "names: add[1] must be {\"name\", \"origin\", \"hops\"}");
        }
        /* far away is fine (the bridge decides what is too far), and so is an
         * offer of ours come around (the bridge drops it) */
        OK("{\"type\":\"names\",\"add\":[{\"name\":\"org.x.Y\",\"origin\":\"busd-z\",\"hops\":4294967295},"
           "{\"name\":\"org.x.Y\",\"origin\":\"busd-a\",\"hops\":2}]}",
           LINKMSG_NAMES);
        CHECK_EQ_INT(linkmsg_names_add(&M, 0, &OPEN, &off, why, sizeof(why)), 0);
        CHECK(off.hops == UINT32_MAX);
        CHECK_EQ_INT(linkmsg_names_add(&M, 1, &OPEN, &off, why, sizeof(why)), 0);
        /* only the neighbour itself is one hop away */
        OK("{\"type\":\"names\",\"add\":[{\"name\":\"org.x.Y\",\"origin\":\"busd-z\",\"hops\":1},"
           "{\"name\":\"org.x.Y\",\"origin\":\"busd-b\",\"hops\":2}]}",
           LINKMSG_NAMES);
        CHECK_EQ_INT(linkmsg_names_add(&M, 0, &OPEN, &off, why, sizeof(why)), -EPROTO);
        CHECK_STREQ(why, "forged identity: busd-b offers 'org.x.Y' of 'busd-z' at 1 hops");
        CHECK_EQ_INT(linkmsg_names_add(&M, 1, &OPEN, &off, why, sizeof(why)), -EPROTO);
        CHECK_STREQ(why, "forged identity: busd-b offers 'org.x.Y' of 'busd-b' at 2 hops");
}

int main(void)
{
        P = jsonparse_new(32);
        CHECK(P);
        test_type();
        test_link_hello();
        test_event();
        test_call();
        test_answers();
        test_cancel_ping_pong();
        test_names();
        json_object_put(root);
        jsonparse_free(P);
        return 0;
}
