/* test_libbus_client.c: libbus against a scripted fake daemon: handshake,
 * blocking/asynchronous/one-way calls, timeouts and cancel, serving methods
 * and declarations. Every test runs over stream and seqpacket. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bus.h"
#include "test.h"
#include "test_libbus_fake.h"

static void test_refused_hello(bool seq)
{
        struct bus *bus = (struct bus *)0x1;
        struct fake f = { .seqpacket = seq };
        int sv[2];

        CHECK(socketpair(AF_UNIX, seq ? SOCK_SEQPACKET : SOCK_STREAM, 0, sv) == 0);
        f.fd = sv[1];
        fake_send(
                &f,
                "{\"type\":\"error\",\"id\":1,\"code\":\"unsupported_version\",\"message\":\"no\",\"sender\":\"org.busd\"}");
        CHECK_EQ_INT(bus_open_fd(sv[0], NULL, &bus), -EPROTO);
        CHECK(bus == (struct bus *)0x1);
        CHECK_CONTAINS(bus_open_error(), "unsupported_version");
        CHECK(fcntl(sv[0], F_GETFD) >= 0); /* the caller still owns the fd */

        /* an answer that is not a welcome at all */
        fake_send(&f, "{\"type\":\"name_lost\",\"name\":\"a.b\"}");
        CHECK_EQ_INT(bus_open_fd(sv[0], NULL, &bus), -EPROTO);
        CHECK_CONTAINS(bus_open_error(), "name_lost");

        /* garbage */
        fake_send(&f, "{]");
        CHECK_EQ_INT(bus_open_fd(sv[0], NULL, &bus), -EPROTO);
        CHECK_CONTAINS(bus_open_error(), "invalid message");
        CHECK_EQ_INT(bus_open_fd(-1, NULL, &bus), -EBADF);
        close(sv[0]);
        close(sv[1]);
}

static void test_blocking_call(bool seq)
{
        struct json_object *res = NULL, *params = json_tokener_parse("{\"x\":[1,\"two\"]}"), *c;
        struct bus *bus;
        struct fake f;

        fake_open(&f, seq, NULL, &bus);
        CHECK_EQ_INT(bus_max_message(bus), seq ? 65536 : 1048576);
        /* the answer is queued before the call is made: ids are predictable */
        fake_send(&f, "{\"type\":\"reply\",\"id\":2,\"result\":{\"ok\":true},\"sender\":\":3\"}");
        CHECK_EQ_INT(bus_call(bus, "org.example.Echo", "echo", params, 5000, &res), 0);
        CHECK_STREQ(json_object_to_json_string(res), "{ \"ok\": true }");
        json_object_put(res);
        c = fake_expect(&f, "call");
        CHECK_EQ_INT(fake_int(c, "id"), 2);
        CHECK_STREQ(fake_str(c, "dest"), "org.example.Echo");
        CHECK_STREQ(fake_str(c, "method"), "echo");
        CHECK_STREQ(json_object_to_json_string(json_object_object_get(c, "params")), "{ \"x\": [ 1, \"two\" ] }");
        json_object_put(c);

        /* a null result, and ret_result NULL */
        fake_send(&f, "{\"type\":\"reply\",\"id\":3,\"result\":null,\"sender\":\":3\"}");
        res = (struct json_object *)0x1;
        CHECK_EQ_INT(bus_call(bus, ":3", "m", NULL, 5000, &res), 0);
        CHECK(res == NULL);
        json_object_put(fake_expect(&f, "call"));
        fake_send(&f, "{\"type\":\"reply\",\"id\":4,\"result\":5,\"sender\":\":3\"}");
        CHECK_EQ_INT(bus_call(bus, ":3", "m", NULL, 5000, NULL), 0);
        json_object_put(fake_expect(&f, "call"));

        /* an error answer passes code and message */
        fake_send(
                &f,
                "{\"type\":\"error\",\"id\":5,\"code\":\"org.example.Nope\",\"message\":\"nope!\",\"sender\":\":3\"}");
        CHECK_EQ_INT(bus_call(bus, ":3", "m", NULL, 5000, &res), -EREMOTEIO);
        CHECK_STREQ(bus_last_error_code(bus), "org.example.Nope");
        CHECK_STREQ(bus_last_error(bus), "nope!");
        json_object_put(fake_expect(&f, "call"));

        /* local validation: nothing is sent */
        CHECK_EQ_INT(bus_call(bus, "nodots", "m", NULL, 5000, &res), -EINVAL);
        CHECK(bus_last_error_code(bus) == NULL);
        CHECK_EQ_INT(bus_call(bus, "a.b", "9bad", NULL, 5000, &res), -EINVAL);
        struct json_object *nan = json_object_new_double(0.0 / 0.0);
        CHECK_EQ_INT(bus_call(bus, "a.b", "m", nan, 5000, &res), -EINVAL);
        json_object_put(nan);
        CHECK(bus_flush(bus) == 0 && fake_idle(&f));

        json_object_put(params);
        bus_close(bus);
        fake_close(&f);
}

static void test_timeout_and_cancel(bool seq)
{
        struct bus *bus;
        struct fake f;
        struct json_object *c;

        fake_open(&f, seq, NULL, &bus);
        CHECK_EQ_INT(bus_call(bus, "org.example.Slow", "wait", NULL, 50, NULL), -ETIMEDOUT);
        CHECK_STREQ(bus_last_error_code(bus), "timeout");
        c = fake_expect(&f, "call");
        CHECK_EQ_INT(fake_int(c, "id"), 2);
        json_object_put(c);
        c = fake_expect(&f, "cancel");
        CHECK_EQ_INT(fake_int(c, "id"), 2);
        json_object_put(c);

        /* a late reply is dropped quietly; the next call gets its own answer */
        fake_send(&f, "{\"type\":\"reply\",\"id\":2,\"result\":\"late\",\"sender\":\":3\"}");
        fake_send(&f, "{\"type\":\"reply\",\"id\":3,\"result\":\"fresh\",\"sender\":\":3\"}");
        struct json_object *res = NULL;
        CHECK_EQ_INT(bus_call(bus, "org.example.Slow", "wait", NULL, 5000, &res), 0);
        CHECK_STREQ(json_object_get_string(res), "fresh");
        json_object_put(res);
        CHECK(bus_process(bus) > 0); /* the late reply, ignored */
        CHECK_EQ_INT(bus_process(bus), 0);
        bus_close(bus);
        fake_close(&f);
}

struct outcome {
        int calls;
        int error;
        char code[64], message[128], sender[32], result[128];
};

static void on_reply(struct bus *bus, const struct bus_reply *r, void *userdata)
{
        struct outcome *o = userdata;

        o->calls++;
        o->error = r->error;
        snprintf(o->code, sizeof(o->code), "%s", r->code ? r->code : "");
        snprintf(o->message, sizeof(o->message), "%s", r->message ? r->message : "");
        snprintf(o->sender, sizeof(o->sender), "%s", r->sender ? r->sender : "");
        snprintf(o->result, sizeof(o->result), "%s", r->result ? json_object_to_json_string(r->result) : "null");
}

/* Runs a plain poll() loop on the bus until cond or 5 s. */
static void poll_until(struct bus *bus, const int *counter, int want)
{
        for (int i = 0; i < 1000 && *counter < want; i++) {
                struct pollfd p = { .fd = bus_get_fd(bus), .events = (short)bus_get_events(bus) };
                int t = bus_get_timeout(bus);
                CHECK(poll(&p, 1, t < 0 || t > 5000 ? 5000 : t) >= 0);
                CHECK(bus_process(bus) >= 0);
        }
        CHECK_EQ_INT(*counter, want);
}

static void test_async(bool seq)
{
        struct outcome a = { 0 }, b = { 0 }, c = { 0 }, d = { 0 };
        uint64_t ca, cb, cc, cd;
        struct bus *bus;
        struct fake f;

        fake_open(&f, seq, NULL, &bus);
        CHECK_EQ_INT(bus_call_async(bus, ":3", "m", NULL, -1, on_reply, &a, &ca), 0);
        CHECK_EQ_INT(bus_call_async(bus, ":3", "m", NULL, -1, on_reply, &b, &cb), 0);
        CHECK_EQ_INT(bus_call_async(bus, ":3", "m", NULL, 30, on_reply, &c, &cc), 0);
        CHECK_EQ_INT(bus_call_async(bus, ":3", "m", NULL, -1, on_reply, &d, &cd), 0);
        CHECK(ca == 2 && cb == 3 && cc == 4 && cd == 5);
        CHECK_EQ_INT(bus_get_events(bus), POLLIN | POLLOUT); /* buffered, not written yet */
        CHECK(fake_idle(&f));
        CHECK_EQ_INT(bus_flush(bus), 0);
        CHECK_EQ_INT(bus_get_events(bus), POLLIN);
        for (int i = 0; i < 4; i++)
                json_object_put(fake_expect(&f, "call"));
        CHECK_EQ_INT(bus_call_cancel(bus, cd), 0);
        CHECK_EQ_INT(bus_call_cancel(bus, cd), -ENOENT);
        CHECK(bus_get_timeout(bus) > 0 && bus_get_timeout(bus) <= 30);
        /* answers out of order */
        fake_send(
                &f,
                "{\"type\":\"error\",\"id\":3,\"code\":\"x.y\",\"message\":\"bad\",\"sender\":\":3\",\"data\":{\"k\":1}}");
        fake_send(&f, "{\"type\":\"reply\",\"id\":2,\"result\":[1],\"sender\":\":3\"}");
        fake_send(&f, "{\"type\":\"reply\",\"id\":5,\"result\":[5],\"sender\":\":3\"}"); /* cancelled: ignored */
        poll_until(bus, &c.calls, 1); /* the timeout of the third call */
        CHECK_EQ_INT(a.calls, 1);
        CHECK_EQ_INT(a.error, 0);
        CHECK_STREQ(a.result, "[ 1 ]");
        CHECK_STREQ(a.sender, ":3");
        CHECK_EQ_INT(b.calls, 1);
        CHECK_EQ_INT(b.error, -EREMOTEIO);
        CHECK_STREQ(b.code, "x.y");
        CHECK_STREQ(b.message, "bad");
        CHECK_STREQ(b.result, "{ \"k\": 1 }");
        CHECK_EQ_INT(c.error, -ETIMEDOUT);
        CHECK_STREQ(c.code, "timeout");
        CHECK_STREQ(c.sender, "");
        CHECK_EQ_INT(d.calls, 0);
        CHECK_EQ_INT(bus_get_timeout(bus), -1);
        struct json_object *m = fake_expect(&f, "cancel");
        CHECK_EQ_INT(fake_int(m, "id"), 5);
        json_object_put(m);
        m = fake_expect(&f, "cancel");
        CHECK_EQ_INT(fake_int(m, "id"), 4);
        json_object_put(m);

        /* bus_close fails what is still pending with "disconnected" */
        CHECK_EQ_INT(bus_call_async(bus, ":3", "m", NULL, -1, on_reply, &d, NULL), 0);
        bus_close(bus);
        CHECK_EQ_INT(d.calls, 1);
        CHECK_EQ_INT(d.error, -ECONNRESET);
        CHECK_STREQ(d.code, "disconnected");
        fake_close(&f);
}

static void on_error(struct bus *bus, const char *code, const char *message, void *userdata)
{
        snprintf(userdata, 256, "%s: %s", code, message);
}

static void test_oneway(bool seq)
{
        struct bus *bus;
        struct fake f;
        char errs[256] = "";

        fake_open(&f, seq, NULL, &bus);
        bus_on_error(bus, on_error, errs);
        CHECK_EQ_INT(bus_call_oneway(bus, "org.example.Sink", "poke", NULL), 0);
        CHECK_EQ_INT(bus_flush(bus), 0);
        struct json_object *c = fake_expect(&f, "call");
        CHECK(json_object_get_boolean(json_object_object_get(c, "oneway")));
        long long id = fake_int(c, "id");
        json_object_put(c);
        /* the daemon's failure report for it answers no pending call */
        fake_send(
                &f,
                "{\"type\":\"error\",\"id\":%lld,\"code\":\"no_owner\",\"message\":\"nobody\",\"sender\":\"org.busd\"}",
                id);
        CHECK(bus_process(bus) > 0);
        CHECK_STREQ(errs, "no_owner: nobody");
        bus_close(bus);
        fake_close(&f);
}

int main(void)
{
        for (int seq = 0; seq < 2; seq++) {
                test_refused_hello(seq);
                test_blocking_call(seq);
                test_timeout_and_cancel(seq);
                test_async(seq);
                test_oneway(seq);
        }
        return 0;
}
