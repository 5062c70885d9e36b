/* test_libbus_outmsg.c: serialising client messages into the output buffer:
 * escaping, the checks that keep the daemon from answering a parse_error
 * without an id, the size limit, and the framing of stream and seqpacket. */
#include <errno.h>
#include <json-c/json.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bus-internal.h"
#include "test.h"

/* A transport over one end of a socketpair; the other end is unused. */
static void open_transport(struct transport *t, bool seqpacket, int *ret_peer)
{
        int sv[2];

        CHECK(socketpair(AF_UNIX, seqpacket ? SOCK_SEQPACKET : SOCK_STREAM, 0, sv) == 0);
        CHECK_EQ_INT(transport_init(t, sv[0]), 0);
        CHECK_EQ_INT(t->seqpacket, seqpacket);
        *ret_peer = sv[1];
}

/* The queued bytes as a string. */
static const char *queued(struct transport *t)
{
        static char s[4096];
        size_t n = transport_queued(t);

        CHECK(n < sizeof(s));
        memcpy(s, t->out->data + t->out_head, n);
        s[n] = 0;
        return s;
}

static void test_escaping(void)
{
        struct transport t;
        struct outmsg m;
        int peer;

        open_transport(&t, false, &peer);
        outmsg_begin(&m, &t, 32, "error");
        outmsg_uint(&m, "id", 9007199254740991ull);
        outmsg_string(&m, "code", "x.y");
        outmsg_string(&m, "message", "quote\" back\\ nl\n tab\t bell\x07 \xc3\xa9");
        outmsg_bool(&m, "flag", false);
        CHECK_EQ_INT(outmsg_end(&m, 1000), 0);
        CHECK_STREQ(queued(&t), "{\"type\":\"error\",\"id\":9007199254740991,\"code\":\"x.y\",\"message\":\"quote\\\" "
                                "back\\\\ nl\\n tab\\t bell\\u0007 \xc3\xa9\",\"flag\":false}\n");
        /* what we wrote parses back to the same string */
        struct json_object *o = json_tokener_parse(queued(&t)), *v;
        CHECK(o && json_object_object_get_ex(o, "message", &v));
        CHECK_STREQ(json_object_get_string(v), "quote\" back\\ nl\n tab\t bell\x07 \xc3\xa9");
        json_object_put(o);
        transport_deinit(&t);
        close(peer);
}

static void test_values(void)
{
        struct transport t;
        struct outmsg m;
        int peer;

        open_transport(&t, false, &peer);
        struct json_object *params = json_tokener_parse("{\"a\":[1,2.5,\"x/y\"],\"b\":null}");
        outmsg_begin(&m, &t, 32, "call");
        outmsg_json(&m, "params", params);
        outmsg_json(&m, "none", NULL);
        CHECK_EQ_INT(outmsg_end(&m, 1000), 0);
        CHECK_STREQ(queued(&t), "{\"type\":\"call\",\"params\":{\"a\":[1,2.5,\"x/y\"],\"b\":null},\"none\":null}\n");
        json_object_put(params);
        transport_deinit(&t);
        close(peer);
}

/* A refused value leaves nothing behind and says why. */
static void check_refused(struct transport *t, struct json_object *v, int max_depth, const char *why)
{
        struct outmsg m;
        size_t before = transport_queued(t);

        outmsg_begin(&m, t, max_depth, "publish");
        outmsg_string(&m, "topic", "a.b");
        outmsg_json(&m, "data", v);
        CHECK_EQ_INT(outmsg_end(&m, 1 << 20), -EINVAL);
        CHECK_CONTAINS(m.why, why);
        CHECK_EQ_INT(transport_queued(t), before);
        json_object_put(v);
}

static void test_refused(void)
{
        struct transport t;
        struct outmsg m;
        int peer;

        open_transport(&t, false, &peer);
        check_refused(&t, json_object_new_double(0.0 / 0.0), 32, "data");
        check_refused(&t, json_object_new_double(1.0 / 0.0), 32, "data");
        check_refused(&t, json_object_new_string("bad \xff utf8"), 32, "UTF-8");
        check_refused(&t, json_object_new_string("surrogate \xed\xa0\x80"), 32, "UTF-8");
        check_refused(&t, json_object_new_string("overlong \xc0\xaf"), 32, "UTF-8");

        /* nesting: the message object counts, so a value may be max_depth - 1 deep */
        struct json_object *deep = json_object_new_array(), *in = deep;
        for (int i = 1; i < 3; i++) {
                struct json_object *n = json_object_new_array();
                json_object_array_add(in, n);
                in = n;
        }
        outmsg_begin(&m, &t, 4, "publish");
        outmsg_json(&m, "data", deep); /* 3 levels inside the message: depth 4 */
        CHECK_EQ_INT(outmsg_end(&m, 1000), 0);
        check_refused(&t, deep, 3, "max_depth");

        /* a string key with invalid UTF-8 */
        outmsg_begin(&m, &t, 32, "hello");
        outmsg_string(&m, "name", "\xfe");
        CHECK_EQ_INT(outmsg_end(&m, 1000), -EINVAL);
        CHECK_CONTAINS(m.why, "'name'");
        transport_deinit(&t);
        close(peer);
}

static void test_size_limit(void)
{
        struct transport t;
        struct outmsg m;
        char big[200];
        int peer;

        open_transport(&t, false, &peer);
        memset(big, 'x', sizeof(big) - 1);
        big[sizeof(big) - 1] = 0;
        /* {"type":"publish","topic":"<199 x>"} is 29 + 199 = 228 bytes */
        outmsg_begin(&m, &t, 32, "publish");
        outmsg_string(&m, "topic", big);
        CHECK_EQ_INT(outmsg_end(&m, 227), -EMSGSIZE);
        CHECK_CONTAINS(m.why, "228");
        CHECK_EQ_INT(transport_queued(&t), 0);
        outmsg_begin(&m, &t, 32, "publish");
        outmsg_string(&m, "topic", big);
        CHECK_EQ_INT(outmsg_end(&m, 228), 0);
        CHECK_EQ_INT(transport_queued(&t), 229); /* with the line feed */
        transport_deinit(&t);
        close(peer);
}

/* Seqpacket: one packet per message, no line feed; sendmmsg sends them all. */
static void test_seqpacket_framing(void)
{
        struct transport t;
        struct outmsg m;
        char pkt[256];
        int peer;

        open_transport(&t, true, &peer);
        for (int i = 0; i < 3; i++) {
                outmsg_begin(&m, &t, 32, "publish");
                outmsg_string(&m, "topic", "t");
                outmsg_uint(&m, "data", (uint64_t)i);
                CHECK_EQ_INT(outmsg_end(&m, 1000), 0);
        }
        CHECK_EQ_INT(t.pkt_n - t.pkt_head, 3);
        CHECK(transport_flush(&t) > 0);
        CHECK_EQ_INT(t.writes, 1);
        CHECK_EQ_INT(transport_queued(&t), 0);
        for (int i = 0; i < 3; i++) {
                char want[64];
                ssize_t n = recv(peer, pkt, sizeof(pkt), MSG_DONTWAIT);
                snprintf(want, sizeof(want), "{\"type\":\"publish\",\"topic\":\"t\",\"data\":%d}", i);
                CHECK_EQ_INT(n, strlen(want));
                CHECK(memcmp(pkt, want, (size_t)n) == 0);
        }
        CHECK(recv(peer, pkt, sizeof(pkt), MSG_DONTWAIT) < 0 && errno == EAGAIN);
        transport_deinit(&t);
        close(peer);
}

int main(void)
{
        test_escaping();
        test_values();
        test_refused();
        test_size_limit();
        test_seqpacket_framing();
        return 0;
}
