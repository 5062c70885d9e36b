/* test_linkwire.c: busd/bridge/linkwire.c, the link messages that relay an
 * event or a call, written as text. Every message built is one line (a
 * single line feed, at the end), is read back by jsonscan and passes
 * linkmsg_parse() with the values it was built from: payloads absent, null,
 * spaced (compacted) and holding escapes (copied as sent), one-way calls,
 * every number at its largest, the longest topic, name and method, a payload
 * of the largest message and one nested as deep as allowed. Strings that
 * need escaping come out escaped (what linkmsg then says of them). No
 * bridge, no router. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "buslimits.h"
#include "jsonscan.h"
#include "linkmsg.h"
#include "linkwire.h"
#include "test.h"

/* This bus is busd-a, reading from busd-b; events may have crossed 4 links. */
static const struct linkmsg_link LINK = { .self = "busd-a", .remote = "busd-b", .max_hops = 4, .hello_seen = true };

static struct jsonscan *P, *N;
static struct buf *last; /* the text M borrows from */
static struct linkmsg M;
static char why[400];

/* b is one line; reads it back into M (b kept until the next call). Returns
 * linkmsg_parse()'s answer. */
static int read_back(struct buf *b)
{
        const struct jsonscan_member *members;
        struct jsonscan_value root;
        char perr[256];
        size_t n;

        CHECK(b != NULL);
        buf_unref(last);
        last = b;
        CHECK(b->len > 1 && b->data[b->len - 1] == '\n');
        CHECK(memchr(b->data, '\n', b->len - 1) == NULL);
        CHECK(b->refs == 1);
        int r = jsonscan_parse(P, b->data, b->len - 1, &root, &members, &n, perr, sizeof(perr));
        if (r < 0) {
                fprintf(stderr, "not JSON (%s): %.*s", perr, (int)b->len, b->data);
                exit(1);
        }
        r = linkmsg_parse(&root, members, n, &LINK, N, &M, why, sizeof(why));
        if (r == 0)
                linkmsg_release(&M); /* nothing to free in an event or call */
        return r;
}

static void span_is(struct jsonscan_span sp, const char *text, size_t len)
{
        if (!text) {
                CHECK(sp.s == NULL);
                return;
        }
        CHECK(sp.s != NULL && !sp.spaced);
        CHECK_EQ_INT(sp.len, len);
        CHECK(memcmp(sp.s, text, len) == 0);
}

static struct jsonscan_span span(const char *s)
{
        struct jsonscan_span sp = { s, strlen(s), false };

        for (const char *p = s; *p; p++)
                if (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
                        sp.spaced = true; /* good enough for the texts here */
        return sp;
}

static const struct linkwire_ident NEIGHBOUR = {
        .origin = "busd-b", .hops = 1, .sender = ":5", .uid = 1000, .gid = 100, .pid = 42
};

static void check_ident(const struct linkwire_ident *id)
{
        CHECK_STREQ(M.origin, id->origin);
        CHECK(M.hops == id->hops);
        CHECK_STREQ(M.sender, id->sender);
        CHECK(M.creds.uid == id->uid && M.creds.gid == id->gid && M.creds.pid == (uint64_t)id->pid);
}

static void test_event(void)
{
        struct jsonscan_span d = span("{\"a\":[1,true,null],\"b\":\"x\"}");

        CHECK_EQ_INT(read_back(linkwire_event("t.x", 7, 3, &d, &NEIGHBOUR)), 0);
        CHECK_EQ_INT(M.type, LINKMSG_EVENT);
        CHECK_STREQ(M.topic, "t.x");
        CHECK_EQ_INT(M.epoch, 7);
        CHECK_EQ_INT(M.seq, 3);
        check_ident(&NEIGHBOUR);
        span_is(M.data, d.s, d.len);
        CHECK(M.has_data);
        /* the members and their order */
        struct buf *b = linkwire_event("t.x", 7, 3, &d, &NEIGHBOUR);
        static const char want[] = "{\"type\":\"event\",\"origin\":\"busd-b\",\"epoch\":7,\"seq\":3,\"hops\":1,"
                                   "\"topic\":\"t.x\",\"data\":{\"a\":[1,true,null],\"b\":\"x\"},\"sender\":\":5\","
                                   "\"creds\":{\"uid\":1000,\"gid\":100,\"pid\":42}}\n";
        CHECK_EQ_INT(b->len, sizeof(want) - 1);
        CHECK(memcmp(b->data, want, b->len) == 0);
        buf_unref(b);
        /* data absent (a NULL span or s NULL) or null: null */
        CHECK_EQ_INT(read_back(linkwire_event("t", 1, 1, NULL, &NEIGHBOUR)), 0);
        span_is(M.data, NULL, 0);
        CHECK(M.has_data);
        struct jsonscan_span none = { NULL, 0, false }, null = span("null");
        CHECK_EQ_INT(read_back(linkwire_event("t", 1, 1, &none, &NEIGHBOUR)), 0);
        span_is(M.data, NULL, 0);
        CHECK_EQ_INT(read_back(linkwire_event("t", 1, 1, &null, &NEIGHBOUR)), 0);
        span_is(M.data, NULL, 0);
        /* spaced: compacted, strings untouched; escapes copied as sent */
        struct jsonscan_span sp = span(" {\n\"a b\" : [ 1 ,\t\"x\\n\\\" \\u00e9 y\" ] }\r\n");
        CHECK_EQ_INT(read_back(linkwire_event("t", 1, 1, &sp, &NEIGHBOUR)), 0);
        static const char compact[] = "{\"a b\":[1,\"x\\n\\\" \\u00e9 y\"]}";
        span_is(M.data, compact, sizeof(compact) - 1);
        /* a scalar, a string */
        struct jsonscan_span num = span("-1.5e300"), str = span("\"\\ud83d\\ude00\"");
        CHECK_EQ_INT(read_back(linkwire_event("t", 1, 1, &num, &NEIGHBOUR)), 0);
        span_is(M.data, num.s, num.len);
        CHECK_EQ_INT(read_back(linkwire_event("t", 1, 1, &str, &NEIGHBOUR)), 0);
        span_is(M.data, str.s, str.len);
        /* relayed from further away, by org.busd; our own come around */
        const struct linkwire_ident far = {
                .origin = "busd-z", .hops = 5, .sender = "org.busd", .uid = 0, .gid = 0, .pid = 1
        };
        CHECK_EQ_INT(read_back(linkwire_event("t", 1, 1, NULL, &far)), 0);
        check_ident(&far);
        const struct linkwire_ident ours = { .origin = "busd-a", .hops = 2, .sender = ":1" };
        CHECK_EQ_INT(read_back(linkwire_event("t", 1, 1, NULL, &ours)), LINKMSG_OURS);
}

static void test_call(void)
{
        struct jsonscan_span p = span("[1,{\"k\":\"v\"}]");

        CHECK_EQ_INT(read_back(linkwire_call(false, 9, "org.example.S", "get", &p, &NEIGHBOUR)), 0);
        CHECK_EQ_INT(M.type, LINKMSG_CALL);
        CHECK(!M.oneway);
        CHECK_EQ_INT(M.id, 9);
        CHECK_STREQ(M.dest, "org.example.S");
        CHECK_STREQ(M.method, "get");
        span_is(M.params, p.s, p.len);
        check_ident(&NEIGHBOUR);
        struct buf *b = linkwire_call(false, 9, "busd-c/org.example.S", "get", NULL, &NEIGHBOUR);
        static const char want[] = "{\"type\":\"call\",\"id\":9,\"dest\":\"busd-c/org.example.S\",\"method\":\"get\","
                                   "\"params\":null,\"origin\":\"busd-b\",\"hops\":1,\"sender\":\":5\","
                                   "\"creds\":{\"uid\":1000,\"gid\":100,\"pid\":42}}\n";
        CHECK_EQ_INT(b->len, sizeof(want) - 1);
        CHECK(memcmp(b->data, want, b->len) == 0);
        buf_unref(b);
        /* one-way: no id */
        b = linkwire_call(true, 77, "org.example.S", "m", NULL, &NEIGHBOUR);
        CHECK(memmem(b->data, b->len, "\"oneway\":true", 13) && !memmem(b->data, b->len, "\"id\"", 4));
        CHECK_EQ_INT(read_back(b), 0);
        CHECK(M.oneway);
        CHECK_EQ_INT(M.id, 0);
        span_is(M.params, NULL, 0);
        /* spaced params compacted */
        struct jsonscan_span sp = span("{ \"a\" :\n 1 }");
        CHECK_EQ_INT(read_back(linkwire_call(false, 1, "org.example.S", "m", &sp, &NEIGHBOUR)), 0);
        span_is(M.params, "{\"a\":1}", 7);
}

/* Every number at its largest, the longest strings, the largest payload, the deepest. */
static void test_limits(void)
{
        char topic[BUS_MAX_TOPIC + 1], name[BUS_MAX_NAME + 1], method[BUS_MAX_METHOD + 1];
        const struct linkwire_ident max = {
                .origin = "busd-z",
                .hops = 5,
                .sender = ":18446744073709551615",
                .uid = 4294967294u,
                .gid = 4294967294u,
                .pid = INT32_MAX
        };

        memset(topic, 'a', BUS_MAX_TOPIC);
        topic[BUS_MAX_TOPIC] = '\0';
        memcpy(name, "org.", 4);
        memset(name + 4, 'n', BUS_MAX_NAME - 4);
        name[BUS_MAX_NAME] = '\0';
        memset(method, 'm', BUS_MAX_METHOD);
        method[BUS_MAX_METHOD] = '\0';
        CHECK_EQ_INT(read_back(linkwire_event(topic, UINT64_MAX, UINT64_MAX, NULL, &max)), 0);
        CHECK(M.epoch == UINT64_MAX && M.seq == UINT64_MAX);
        CHECK_STREQ(M.topic, topic);
        check_ident(&max);
        CHECK_EQ_INT(read_back(linkwire_call(false, UINT64_MAX, name, method, NULL, &max)), 0);
        CHECK(M.id == UINT64_MAX);
        CHECK_STREQ(M.dest, name);
        CHECK_STREQ(M.method, method);
        check_ident(&max);
        /* a payload as large as a message may be: a string of that many bytes */
        size_t big = BUS_MAX_MESSAGE_STREAM;
        char *text = malloc(big + 1);
        CHECK(text);
        memset(text, 'x', big);
        text[0] = text[big - 1] = '"';
        text[big] = '\0';
        struct jsonscan_span bs = { text, big, false };
        CHECK_EQ_INT(read_back(linkwire_event("t", 1, 1, &bs, &NEIGHBOUR)), 0);
        span_is(M.data, text, big);
        CHECK_EQ_INT(read_back(linkwire_call(false, 1, "org.example.S", "m", &bs, &NEIGHBOUR)), 0);
        span_is(M.params, text, big);
        /* nested as deep as a client may nest it: the link message is no deeper */
        size_t depth = BUS_MAX_DEPTH - 1, k = 0;
        for (size_t i = 0; i < depth; i++)
                text[k++] = '[';
        for (size_t i = 0; i < depth; i++)
                text[k++] = ']';
        struct jsonscan_span deep = { text, k, false };
        CHECK_EQ_INT(read_back(linkwire_event("t", 1, 1, &deep, &NEIGHBOUR)), 0);
        span_is(M.data, text, k);
        free(text);
}

/* Strings that need escaping come out as JSON strings that decode to them. */
static void test_escapes(void)
{
        static const char odd[] = "a\"b\\c\nd\x01\xc3\xa9/";
        const struct linkwire_ident id = { .origin = odd, .hops = 1, .sender = odd };
        const struct jsonscan_member *members;
        struct jsonscan_value root;
        size_t n;

        struct buf *b = linkwire_call(false, 1, odd, odd, NULL, &id);
        CHECK(b && memchr(b->data, '\n', b->len - 1) == NULL);
        CHECK_EQ_INT(jsonscan_parse(P, b->data, b->len - 1, &root, &members, &n, why, sizeof(why)), 0);
        static const char *const keys[] = { "dest", "method", "origin", "sender" };
        for (size_t i = 0; i < 4; i++) {
                const struct jsonscan_member *m = jsonscan_find(members, n, keys[i]);
                CHECK(m && m->value.type == JSONSCAN_STRING);
                CHECK_STREQ(m->value.str, odd);
        }
        buf_unref(b);
        /* which linkmsg refuses, as it refuses any string that is no name */
        CHECK_EQ_INT(read_back(linkwire_call(false, 1, odd, "m", NULL, &NEIGHBOUR)), -EPROTO);
        CHECK_STREQ(why, "call: 'dest' must be a name or BUS/NAME");
        CHECK_EQ_INT(read_back(linkwire_event(odd, 1, 1, NULL, &NEIGHBOUR)), -EPROTO);
        CHECK_STREQ(why, "event: 'topic' must be a topic");
}

int main(void)
{
        P = jsonscan_new(BUS_MAX_DEPTH);
        N = jsonscan_new(BUS_MAX_DEPTH);
        CHECK(P && N);
        test_event();
        test_call();
        test_limits();
        test_escapes();
        buf_unref(last);
        jsonscan_free(P);
        jsonscan_free(N);
        return 0;
}
