/* test_linkmsg.c: busd/bridge/linkmsg.c, the validation of what a peer daemon
 * sends over a bridge link (docs/bridge.md): for every link message type a
 * message that passes, with the members it yields, and the messages refused,
 * each with its reason; the order of the checks (the first member at fault
 * gives the reason); the identity rules that depend on the link's ends (only
 * the neighbour is one hop away, nobody is this bus, the hello names the
 * certificate's bus); names' elements one at a time; payloads kept as the
 * text the peer sent; json-c's reading of strings (up to a \u0000) and of a
 * one-way flag kept from when messages were parsed into trees. Each message
 * is scanned by jsonscan first, as bridge.c does. No bridge, no router. */
#include <errno.h>
#include <json-c/json.h>
#include <stdint.h>
#include <string.h>

#include "jsonscan.h"
#include "linkmsg.h"
#include "test.h"

/* This bus is busd-a; the link's other end busd-b; events may have crossed 4 links. */
static const struct linkmsg_link OPEN = { .self = "busd-a", .remote = "busd-b", .max_hops = 4, .hello_seen = true };
static const struct linkmsg_link FRESH = { .self = "busd-a", .remote = "busd-b", .max_hops = 4, .hello_seen = false };

#define ID ",\"origin\":\"busd-b\",\"hops\":1,\"sender\":\":5\",\"creds\":{\"uid\":1000,\"gid\":100,\"pid\":42}"
#define CREDS(c) ",\"origin\":\"busd-b\",\"hops\":1,\"sender\":\":5\",\"creds\":" c
#define EVENT "{\"type\":\"event\",\"topic\":\"t.x\",\"epoch\":7,\"seq\":3"
#define CALL "{\"type\":\"call\",\"id\":9,\"dest\":\"org.example.S\",\"method\":\"get\""

static struct jsonscan *P; /* the scanner the last struct linkmsg borrows from */
static struct jsonscan *N; /* for what is nested */
static struct linkmsg M;
static bool M_owns; /* M was filled (linkmsg_release() it) */
static char why[400];

static int parse_on(const struct linkmsg_link *link, const char *text)
{
        const struct jsonscan_member *members;
        struct jsonscan_value root;
        char perr[256];
        size_t n;

        if (M_owns)
                linkmsg_release(&M);
        M_owns = false;
        if (jsonscan_parse(P, text, strlen(text), &root, &members, &n, perr, sizeof(perr)) < 0) {
                fprintf(stderr, "test input is not JSON: %s (%s)\n", text, perr);
                exit(1);
        }
        memset(&M, 0xa5, sizeof(M)); /* to see that a refusal leaves it untouched */
        strcpy(why, "<untouched>");
        int r = linkmsg_parse(&root, members, n, link, N, &M, why, sizeof(why));
        M_owns = r == 0;
        return r;
}

/* The payload sp is exactly this text (NULL: absent or null). */
static void span_is(struct jsonscan_span sp, const char *text)
{
        if (!text) {
                CHECK(sp.s == NULL);
                return;
        }
        CHECK(sp.s != NULL);
        CHECK_EQ_INT(sp.len, strlen(text));
        CHECK(memcmp(sp.s, text, sp.len) == 0);
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
        span_is(M.data, "{\"a\":[1]}");
        CHECK(M.has_data && !M.data.spaced);
        OK(EVENT ID "}", LINKMSG_EVENT);
        span_is(M.data, NULL);
        CHECK(!M.has_data);
        OK(EVENT ID ",\"data\":null}", LINKMSG_EVENT);
        span_is(M.data, NULL);
        CHECK(M.has_data);
        /* the payload as sent: spaced (the relay compacts it), escapes kept */
        OK(EVENT ID ",\"data\": { \"a\" :\n[1, \"\\u00e9\\n\"] } }", LINKMSG_EVENT);
        span_is(M.data, "{ \"a\" :\n[1, \"\\u00e9\\n\"] }");
        CHECK(M.data.spaced);
        OK(EVENT ID ",\"data\":1.50e3}", LINKMSG_EVENT);
        span_is(M.data, "1.50e3");
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
        span_is(M.params, "[1,2]");
        CHECK_STREQ(M.origin, "busd-b");
        CHECK_STREQ(M.sender, ":5");
        OK(CALL ID "}", LINKMSG_CALL);
        span_is(M.params, NULL);
        OK(CALL ",\"params\":null" ID "}", LINKMSG_CALL);
        span_is(M.params, NULL);
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
        span_is(M.result, "{\"ok\":true}");
        CHECK(M.code == NULL && M.message == NULL && M.data.s == NULL && !M.has_data);
        OK("{\"type\":\"reply\",\"id\":4,\"sender\":\"org.busd\"}", LINKMSG_REPLY);
        span_is(M.result, NULL);
        /* a reply's data is no member of it */
        OK("{\"type\":\"reply\",\"id\":4,\"sender\":\"org.busd\",\"data\":1}", LINKMSG_REPLY);
        CHECK(M.data.s == NULL && !M.has_data);
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
        span_is(M.data, "[1]");
        CHECK(M.has_data);
        span_is(M.result, NULL);
        OK("{\"type\":\"error\",\"id\":4,\"code\":\"x.y\",\"message\":\"\",\"sender\":\"busd-c/:9\"}", LINKMSG_ERROR);
        span_is(M.data, NULL);
        CHECK(!M.has_data);
        /* data null: there (relayed as null), no payload */
        OK("{\"type\":\"error\",\"id\":4,\"code\":\"x\",\"message\":\"m\",\"sender\":\":5\",\"data\":null}",
           LINKMSG_ERROR);
        span_is(M.data, NULL);
        CHECK(M.has_data);
        /* the message decoded */
        OK("{\"type\":\"error\",\"id\":4,\"code\":\"x\",\"message\":\"\\\"\\u00e9\\n\",\"sender\":\":5\"}",
           LINKMSG_ERROR);
        CHECK_STREQ(M.message, "\"\xc3\xa9\n");
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
        /* spaced and escaped: json-c reads the array's text as sent */
        OK("{\"type\":\"names\", \"remove\" : [ \"org.x.\\u005a\" ,\n \"org.x.W\" ] }", LINKMSG_NAMES);
        CHECK_EQ_INT(M.nremove, 2);
        CHECK_EQ_INT(linkmsg_names_remove(&M, 0, &name, why, sizeof(why)), 0);
        CHECK_STREQ(name, "org.x.Z");
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

/* What jsonscan decodes is read as json-c read it when messages were trees. */
static void test_json_c_reading(void)
{
        /* strings as C strings: up to a \u0000 */
        OK("{\"type\":\"ping\\u0000x\"}", LINKMSG_PING);
        OK("{\"type\":\"event\",\"topic\":\"t.x\\u0000$bus\",\"epoch\":7,\"seq\":3" ID "}", LINKMSG_EVENT);
        CHECK_STREQ(M.topic, "t.x");
        /* escapes decoded, in values and in member names */
        OK("{\"\\u0074ype\":\"event\",\"topic\":\"t\\u002ey\",\"epoch\":7,\"seq\":3"
           ",\"origin\":\"busd-b\",\"hops\":1,\"sender\":\"\\u003a5\","
           "\"creds\":{\"\\u0075id\":1, \"gid\" : 2 ,\"pid\":\n3}}",
           LINKMSG_EVENT);
        CHECK_STREQ(M.topic, "t.y");
        CHECK_STREQ(M.sender, ":5");
        CHECK(M.creds.uid == 1 && M.creds.gid == 2 && M.creds.pid == 3);
        /* creds: integers only, no fraction */
        BAD(EVENT CREDS("{\"uid\":1.0,\"gid\":1,\"pid\":1}") "}",
            "'creds' must be {\"uid\", \"gid\", \"pid\"} numbers");
        BAD(EVENT CREDS("{\"uid\":1,\"gid\":1,\"pid\":null}") "}",
            "'creds' must be {\"uid\", \"gid\", \"pid\"} numbers");
        BAD(EVENT CREDS("{\"uid\":1,\"gid\":1,\"Pid\":1}") "}", "'creds' must be {\"uid\", \"gid\", \"pid\"} numbers");
        /* integers beyond INT64_MAX, and -0 */
        OK("{\"type\":\"cancel\",\"id\":18446744073709551615}", LINKMSG_CANCEL);
        CHECK(M.id == UINT64_MAX);
        OK("{\"type\":\"cancel\",\"id\":9223372036854775808}", LINKMSG_CANCEL);
        CHECK(M.id == 9223372036854775808ull);
        OK("{\"type\":\"cancel\",\"id\":-0}", LINKMSG_CANCEL);
        CHECK_EQ_INT(M.id, 0);
        BAD("{\"type\":\"cancel\",\"id\":-9223372036854775808}", "cancel: 'id' must be a number");
        BAD("{\"type\":\"cancel\",\"id\":1e2}", "cancel: 'id' must be a number");
        /* oneway as json_object_get_boolean() reads it */
        static const struct {
                const char *v;
                bool oneway;
        } flags[] = {
                { "true", true },       { "false", false },      { "2", true },
                { "-1", true },         { "0", false },          { "-0", false },
                { "0.5", true },        { "0.0", false },        { "-0.0", false },
                { "1e-400", false },    { "1E+2", true },        { "\"x\"", true },
                { "\"\"", false },      { "\"\\u0000\"", true }, { "[1]", false },
                { "{\"a\":1}", false }, { "null", false },       { "18446744073709551615", true },
        };
        for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
                char text[300];
                snprintf(text, sizeof(text),
                         "{\"type\":\"call\",\"oneway\":%s,\"id\":5,\"dest\":\"org.example.S\",\"method\":\"m\"" ID "}",
                         flags[i].v);
                OK(text, LINKMSG_CALL);
                if (M.oneway != flags[i].oneway) {
                        fprintf(stderr, "oneway %s: expected %d\n", flags[i].v, flags[i].oneway);
                        exit(1);
                }
                CHECK_EQ_INT(M.id, flags[i].oneway ? 0 : 5);
        }
}

int main(void)
{
        P = jsonscan_new(32);
        N = jsonscan_new(32);
        CHECK(P && N);
        test_type();
        test_link_hello();
        test_event();
        test_call();
        test_answers();
        test_cancel_ping_pong();
        test_names();
        test_json_c_reading();
        if (M_owns)
                linkmsg_release(&M);
        jsonscan_free(P);
        jsonscan_free(N);
        return 0;
}
