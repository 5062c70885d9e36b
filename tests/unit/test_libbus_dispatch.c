/* test_libbus_dispatch.c: libbus against a scripted fake daemon: serving
 * methods (declarations, answers, defer), events and subscriptions,
 * notifications, names, and what happens when the daemon misbehaves or goes
 * away. Every test runs over stream and seqpacket. */
#include <errno.h>
#include <json-c/json.h>
#include <poll.h>
#include <unistd.h>

#include "bus.h"
#include "test.h"
#include "test_libbus_fake.h"

#define CREDS "\"sender\":\":9\",\"creds\":{\"uid\":11,\"gid\":22,\"pid\":33}"

static struct bus_call *kept;

static int h_get(struct bus *bus, struct bus_call *call, void *userdata)
{
        uid_t uid;
        gid_t gid;
        pid_t pid;

        bus_call_creds(call, &uid, &gid, &pid);
        CHECK(uid == 11 && gid == 22 && pid == 33);
        CHECK_STREQ(bus_call_sender(call), ":9");
        CHECK_STREQ(bus_call_method(call), "get");
        CHECK_STREQ(bus_call_dest(call), "org.example.Clock");
        struct json_object *res = json_object_new_object();
        json_object_object_add(res, "tz", json_object_get(json_object_object_get(bus_call_params(call), "tz")));
        CHECK_EQ_INT(bus_reply(call, res), 0);
        json_object_put(res);
        ++*(int *)userdata;
        return 0;
}

static int h_fail(struct bus *bus, struct bus_call *call, void *userdata)
{
        return -ENOENT;
}

static int h_silent(struct bus *bus, struct bus_call *call, void *userdata)
{
        ++*(int *)userdata;
        return 0;
}

static int h_defer(struct bus *bus, struct bus_call *call, void *userdata)
{
        kept = bus_call_defer(call);
        return 0;
}

static int h_big(struct bus *bus, struct bus_call *call, void *userdata)
{
        static char text[2000];
        memset(text, 'x', sizeof(text) - 1);
        struct json_object *s = json_object_new_string(text);
        CHECK_EQ_INT(bus_reply(call, s), bus_max_message(bus) < sizeof(text) ? -EMSGSIZE : 0);
        json_object_put(s);
        return 0;
}

static void expect_answer(struct fake *f, const char *type, long long id, const char *code, const char *part)
{
        struct json_object *m = fake_expect(f, type);

        CHECK_EQ_INT(fake_int(m, "id"), id);
        if (code)
                CHECK_STREQ(fake_str(m, "code"), code);
        if (part)
                CHECK_CONTAINS(json_object_to_json_string_ext(m, JSON_C_TO_STRING_PLAIN), part);
        json_object_put(m);
}

static void test_methods(bool seq)
{
        struct bus *bus;
        struct fake f;
        int gets = 0, silent = 0;

        fake_open(&f, seq, seq ? "{\"max_message\":1000,\"max_recv\":2000}" : NULL, &bus);
        CHECK_EQ_INT(bus_add_method(bus, "get", "current time", "{\"tz\":\"string\"}", "{\"iso\":\"string\"}", h_get,
                                    &gets),
                     0);
        CHECK_EQ_INT(bus_flush(bus), 0);
        struct json_object *d = fake_expect(&f, "declare");
        CHECK_STREQ(json_object_to_json_string_ext(json_object_object_get(d, "methods"), JSON_C_TO_STRING_PLAIN),
                    "[{\"name\":\"get\",\"description\":\"current time\",\"params\":{\"tz\":\"string\"},"
                    "\"result\":{\"iso\":\"string\"}}]");
        CHECK(!json_object_object_get_ex(d, "id", NULL)); /* refusals come as unsolicited errors */
        json_object_put(d);
        /* each addition declares the whole list */
        CHECK_EQ_INT(bus_add_method(bus, "fail", NULL, NULL, NULL, h_fail, NULL), 0);
        CHECK_EQ_INT(bus_add_method(bus, "silent", NULL, NULL, NULL, h_silent, &silent), 0);
        CHECK_EQ_INT(bus_add_method(bus, "defer", NULL, NULL, NULL, h_defer, NULL), 0);
        CHECK_EQ_INT(bus_add_method(bus, "big", NULL, NULL, NULL, h_big, NULL), 0);
        CHECK_EQ_INT(bus_flush(bus), 0);
        for (int n = 2; n <= 5; n++) {
                d = fake_expect(&f, "declare");
                CHECK_EQ_INT(json_object_array_length(json_object_object_get(d, "methods")), n);
                json_object_put(d);
        }
        /* refused locally: nothing declared */
        CHECK_EQ_INT(bus_add_method(bus, "x", NULL, "{bad", NULL, h_fail, NULL), -EINVAL);
        CHECK_CONTAINS(bus_last_error(bus), "params shape");
        CHECK_EQ_INT(bus_add_method(bus, "9x", NULL, NULL, NULL, h_fail, NULL), -EINVAL);
        CHECK_EQ_INT(bus_add_method(bus, "x", "\xff", NULL, NULL, h_fail, NULL), -EINVAL);
        CHECK_EQ_INT(bus_add_method(bus, "x", NULL, NULL, NULL, NULL, NULL), -EINVAL);
        CHECK(bus_flush(bus) == 0 && fake_idle(&f));

        fake_send(
                &f,
                "{\"type\":\"call\",\"id\":40,\"dest\":\"org.example.Clock\",\"method\":\"get\",\"params\":{\"tz\":\"UTC\"}," CREDS
                "}");
        fake_send(&f, "{\"type\":\"call\",\"id\":41,\"dest\":\":7\",\"method\":\"nope\",\"params\":null," CREDS "}");
        fake_send(&f, "{\"type\":\"call\",\"id\":42,\"dest\":\":7\",\"method\":\"fail\"," CREDS "}");
        fake_send(&f, "{\"type\":\"call\",\"id\":43,\"dest\":\":7\",\"method\":\"silent\"," CREDS "}");
        fake_send(&f, "{\"type\":\"call\",\"oneway\":true,\"dest\":\":7\",\"method\":\"silent\"," CREDS "}");
        fake_send(&f, "{\"type\":\"call\",\"id\":44,\"dest\":\":7\",\"method\":\"defer\"," CREDS "}");
        fake_send(&f, "{\"type\":\"call\",\"id\":45,\"dest\":\":7\",\"method\":\"big\"," CREDS "}");
        CHECK(bus_process(bus) > 0);
        CHECK_EQ_INT(gets, 1);
        CHECK_EQ_INT(silent, 2);
        expect_answer(&f, "reply", 40, NULL, "\"result\":{\"tz\":\"UTC\"}");
        expect_answer(&f, "error", 41, "unknown_method", "nope");
        expect_answer(&f, "error", 42, "failed", "No such file or directory");
        expect_answer(&f, "reply", 43, NULL, "{\"type\":\"reply\",\"id\":43}"); /* result null: omitted */
        if (!seq)
                expect_answer(&f, "reply", 45, NULL, "xxxx"); /* fits the stream limit */
        else
                expect_answer(&f, "error", 45, "failed", "max_message"); /* the caller is not left waiting */
        CHECK(fake_idle(&f)); /* nothing for the one-way call or the deferred one */
        CHECK(kept);
        CHECK_EQ_INT(bus_reply_error(kept, "org.example.Later", "after %d ms", 5), 0);
        CHECK_EQ_INT(bus_flush(bus), 0);
        expect_answer(&f, "error", 44, "org.example.Later", "after 5 ms");

        /* a deferred call still open at bus_close() is freed by it */
        fake_send(&f, "{\"type\":\"call\",\"id\":46,\"dest\":\":7\",\"method\":\"defer\"," CREDS "}");
        CHECK(bus_process(bus) > 0);
        bus_close(bus);
        fake_close(&f);
}

struct seen {
        int n;
        char log[512];
};

static void on_event(struct bus *bus, const struct bus_event *ev, void *userdata)
{
        struct seen *s = userdata;
        size_t len = strlen(s->log);

        s->n++;
        snprintf(s->log + len, sizeof(s->log) - len, "%s=%s/%s/%d ", ev->topic,
                 bus_event_data(ev) ? json_object_to_json_string(bus_event_data(ev)) : "null", ev->sender,
                 (int)ev->pid);
}

static void test_events(bool seq)
{
        struct seen all = { 0 }, star = { 0 };
        struct json_object *m;
        struct bus *bus;
        struct fake f;

        fake_open(&f, seq, NULL, &bus);
        fake_send(&f, "{\"type\":\"reply\",\"id\":2,\"result\":{\"pattern\":\"a.>\"},\"sender\":\"org.busd\"}");
        CHECK_EQ_INT(bus_subscribe(bus, "a.>", on_event, &all), 0);
        m = fake_expect(&f, "subscribe");
        CHECK_EQ_INT(fake_int(m, "id"), 2);
        CHECK_STREQ(fake_str(m, "pattern"), "a.>");
        json_object_put(m);
        CHECK_EQ_INT(bus_subscribe(bus, "a.>", on_event, &all), -EEXIST);
        CHECK_EQ_INT(bus_subscribe(bus, "a.>.b", on_event, &all), -EINVAL);

        /* an event that arrives before the second pattern is confirmed reaches only the first */
        fake_send(&f, "{\"type\":\"event\",\"topic\":\"a.b\",\"data\":1," CREDS "}");
        fake_send(&f, "{\"type\":\"reply\",\"id\":3,\"result\":{\"pattern\":\"a.*\"},\"sender\":\"org.busd\"}");
        fake_send(&f, "{\"type\":\"event\",\"topic\":\"a.b\",\"data\":2," CREDS "}");
        fake_send(&f, "{\"type\":\"event\",\"topic\":\"a.b.c\",\"data\":3," CREDS "}");
        CHECK_EQ_INT(bus_subscribe(bus, "a.*", on_event, &star), 0);
        /* events wait in the queue while a blocking call runs */
        fake_send(&f, "{\"type\":\"event\",\"topic\":\"a.c\",\"data\":4," CREDS "}");
        fake_send(&f, "{\"type\":\"reply\",\"id\":4,\"result\":true,\"sender\":\":3\"}");
        CHECK_EQ_INT(bus_call(bus, ":3", "m", NULL, 5000, NULL), 0);
        CHECK_EQ_INT(all.n + star.n, 0);
        CHECK_EQ_INT(bus_get_timeout(bus), 0); /* work is ready */
        CHECK(bus_process(bus) > 0);
        CHECK_STREQ(all.log, "a.b=1/:9/33 a.b=2/:9/33 a.b.c=3/:9/33 a.c=4/:9/33 ");
        CHECK_STREQ(star.log, "a.b=2/:9/33 a.c=4/:9/33 ");

        fake_send(&f, "{\"type\":\"reply\",\"id\":5,\"result\":{\"pattern\":\"a.*\"},\"sender\":\"org.busd\"}");
        CHECK_EQ_INT(bus_unsubscribe(bus, "a.*"), 0);
        CHECK_EQ_INT(bus_unsubscribe(bus, "a.*"), -ENOENT);
        fake_send(
                &f,
                "{\"type\":\"error\",\"id\":6,\"code\":\"not_subscribed\",\"message\":\"no\",\"sender\":\"org.busd\"}");
        CHECK_EQ_INT(bus_unsubscribe(bus, "a.>"), -ENOENT);
        fake_send(&f, "{\"type\":\"event\",\"topic\":\"a.z\",\"data\":5," CREDS "}");
        CHECK(bus_process(bus) > 0);
        CHECK_EQ_INT(all.n + star.n, 6);

        /* publish: buffered; framing and members */
        struct json_object *data = json_tokener_parse("{\"t\":21.5}");
        CHECK_EQ_INT(bus_publish(bus, "sensors.kitchen.temp", data), 0);
        CHECK_EQ_INT(bus_publish(bus, "sensors.x", NULL), 0);
        CHECK_EQ_INT(bus_publish(bus, "$bus.x", NULL), -EINVAL);
        CHECK_EQ_INT(bus_publish(bus, "a.*", NULL), -EINVAL);
        json_object_put(data);
        json_object_put(fake_expect(&f, "subscribe"));
        json_object_put(fake_expect(&f, "call"));
        json_object_put(fake_expect(&f, "unsubscribe"));
        json_object_put(fake_expect(&f, "unsubscribe"));
        CHECK(fake_idle(&f)); /* the publishes are still buffered */
        CHECK_EQ_INT(bus_flush(bus), 0);
        m = fake_expect(&f, "publish");
        CHECK_STREQ(json_object_to_json_string_ext(m, JSON_C_TO_STRING_PLAIN),
                    "{\"type\":\"publish\",\"topic\":\"sensors.kitchen.temp\",\"data\":{\"t\":21.5}}");
        json_object_put(m);
        m = fake_expect(&f, "publish");
        CHECK(!json_object_object_get_ex(m, "id", NULL) && !json_object_object_get_ex(m, "data", NULL));
        json_object_put(m);
        bus_close(bus);
        fake_close(&f);
}

struct notes {
        char log[512];
};

static void note(struct notes *n, const char *s)
{
        size_t len = strlen(n->log);
        snprintf(n->log + len, sizeof(n->log) - len, "%s ", s);
}

static void on_name(struct bus *bus, const char *name, bool acquired, void *userdata)
{
        char s[128];
        snprintf(s, sizeof(s), "%s:%s", acquired ? "acquired" : "lost", name);
        note(userdata, s);
}

static void on_dropped(struct bus *bus, uint64_t count, uint64_t total, void *userdata)
{
        char s[64];
        snprintf(s, sizeof(s), "dropped:%llu/%llu", (unsigned long long)count, (unsigned long long)total);
        note(userdata, s);
}

static void on_error(struct bus *bus, const char *code, const char *message, void *userdata)
{
        char s[128];
        snprintf(s, sizeof(s), "error:%s:%s", code, message);
        note(userdata, s);
}

static void test_notifications(bool seq)
{
        struct notes n = { "" };
        struct bus *bus;
        struct fake f;

        fake_open(&f, seq, NULL, &bus);
        bus_on_name(bus, on_name, &n);
        bus_on_dropped(bus, on_dropped, &n);
        bus_on_error(bus, on_error, &n);
        fake_send(&f, "{\"type\":\"name_acquired\",\"name\":\"org.example.A\"}");
        fake_send(&f, "{\"type\":\"dropped\",\"count\":3,\"total\":3}");
        fake_send(&f, "{\"type\":\"name_lost\",\"name\":\"org.example.A\"}");
        fake_send(&f,
                  "{\"type\":\"error\",\"id\":null,\"code\":\"reserved\",\"message\":\"no\",\"sender\":\"org.busd\"}");
        fake_send(&f, "{\"type\":\"dropped\",\"count\":2,\"total\":5}");
        /* about one of our answers, whatever the id: never an answer to a request of ours */
        fake_send(
                &f,
                "{\"type\":\"error\",\"id\":1,\"code\":\"no_such_call\",\"message\":\"late\",\"sender\":\"org.busd\"}");
        CHECK(bus_process(bus) > 0);
        CHECK_STREQ(n.log, "acquired:org.example.A dropped:3/3 lost:org.example.A error:reserved:no dropped:2/5 "
                           "error:no_such_call:late ");
        bus_close(bus);
        fake_close(&f);
}

static void test_names(bool seq)
{
        struct json_object *m;
        struct bus *bus;
        struct fake f;

        fake_open(&f, seq, NULL, &bus);
        const char *st[] = { "primary_owner", "in_queue", "exists", "already_owner" };
        for (int i = 0; i < 4; i++) {
                fake_send(
                        &f,
                        "{\"type\":\"reply\",\"id\":%d,\"result\":{\"name\":\"a.b\",\"status\":\"%s\"},\"sender\":\"org.busd\"}",
                        i + 2, st[i]);
                CHECK_EQ_INT(bus_request_name(bus, "a.b",
                                              i == 0 ? BUS_NAME_ALLOW_REPLACEMENT | BUS_NAME_REPLACE | BUS_NAME_NO_QUEUE
                                                     : 0),
                             i + 1);
        }
        m = fake_expect(&f, "request_name");
        CHECK_STREQ(json_object_to_json_string_ext(m, JSON_C_TO_STRING_PLAIN),
                    "{\"type\":\"request_name\",\"id\":2,\"name\":\"a.b\",\"allow_replacement\":true,\"replace\":true,"
                    "\"queue\":false}");
        json_object_put(m);
        for (int i = 0; i < 3; i++)
                json_object_put(fake_expect(&f, "request_name"));
        fake_send(&f,
                  "{\"type\":\"error\",\"id\":6,\"code\":\"reserved\",\"message\":\"mine\",\"sender\":\"org.busd\"}");
        CHECK_EQ_INT(bus_request_name(bus, "org.busd.x", 0), -EREMOTEIO);
        CHECK_STREQ(bus_last_error_code(bus), "reserved");
        CHECK_EQ_INT(bus_request_name(bus, "nodot", 0), -EINVAL);
        CHECK_EQ_INT(bus_request_name(bus, "a.b", 1u << 7), -EINVAL);
        fake_send(
                &f,
                "{\"type\":\"reply\",\"id\":7,\"result\":{\"name\":\"a.b\",\"status\":\"released\"},\"sender\":\"org.busd\"}");
        CHECK_EQ_INT(bus_release_name(bus, "a.b"), 0);
        fake_send(
                &f,
                "{\"type\":\"reply\",\"id\":8,\"result\":{\"name\":\"a.b\",\"status\":\"not_owner\"},\"sender\":\"org.busd\"}");
        CHECK_EQ_INT(bus_release_name(bus, "a.b"), -ESRCH);
        fake_send(&f, "{\"type\":\"reply\",\"id\":9,\"result\":{\"name\":\"a.b\"},\"sender\":\"org.busd\"}");
        CHECK_EQ_INT(bus_release_name(bus, "a.b"), -EPROTO);
        bus_close(bus);
        fake_close(&f);
}

static void on_reply(struct bus *bus, const struct bus_reply *r, void *userdata)
{
        *(int *)userdata = r->error;
        CHECK_STREQ(r->code, "disconnected");
}

/* A malformed message ends the connection with -EPROTO: no crash, pending
 * calls fail with "disconnected", later calls fail at once. */
static void test_malformed(bool seq)
{
        const char *bad[] = {
                "{\"type\":\"reply\",\"id\":2,\"result\":1}", /* no sender */
                "{\"type\":\"surprise\"}",
                "not json at all",
                "{\"type\":\"welcome\",\"unique\":\":1\",\"protocol\":1,\"limits\":{\"max_message\":100,\"max_recv\":200}}",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                struct bus *bus;
                struct fake f;
                int err = 0;

                fake_open(&f, seq, NULL, &bus);
                CHECK_EQ_INT(bus_call_async(bus, ":3", "m", NULL, -1, on_reply, &err, NULL), 0);
                fake_send(&f, "%s", bad[i]);
                CHECK_EQ_INT(bus_process(bus), -EPROTO);
                CHECK_EQ_INT(err, -ECONNRESET);
                CHECK_EQ_INT(bus_process(bus), -EPROTO);
                CHECK_EQ_INT(bus_call(bus, ":3", "m", NULL, 1000, NULL), -ECONNRESET);
                CHECK_STREQ(bus_last_error_code(bus), "disconnected");
                CHECK(strstr(bus_last_error(bus), "invalid message") || strstr(bus_last_error(bus), "second welcome"));
                CHECK_EQ_INT(bus_publish(bus, "a.b", NULL), -ECONNRESET);
                bus_close(bus);
                fake_close(&f);
        }
}

/* Messages that arrived before the daemon hung up are still dispatched. */
static void test_eof(bool seq)
{
        struct notes n = { "" };
        struct bus *bus;
        struct fake f;
        int err = 0;

        fake_open(&f, seq, NULL, &bus);
        bus_on_name(bus, on_name, &n);
        CHECK_EQ_INT(bus_call_async(bus, ":3", "m", NULL, -1, on_reply, &err, NULL), 0);
        fake_send(&f, "{\"type\":\"name_acquired\",\"name\":\"a.b\"}");
        close(f.fd);
        f.fd = -1;
        int r;
        while ((r = bus_process(bus)) > 0)
                ;
        CHECK_EQ_INT(r, -ECONNRESET);
        CHECK_STREQ(n.log, "acquired:a.b ");
        CHECK_EQ_INT(err, -ECONNRESET);
        CHECK_CONTAINS(bus_last_error(bus), "closed");
        bus_close(bus);
        fake_close(&f);
}

/* A message over max_recv: a truncated packet (MSG_TRUNC) or an overlong line. */
static void test_too_large(bool seq)
{
        char big[400];
        struct bus *bus;
        struct fake f;

        fake_open(&f, seq, "{\"max_message\":100,\"max_recv\":300}", &bus);
        snprintf(big, sizeof(big), "{\"type\":\"name_lost\",\"name\":\"a.b\",\"pad\":\"%0330d\"}", 0);
        fake_send(&f, "%s", big);
        CHECK_EQ_INT(bus_process(bus), -EMSGSIZE);
        CHECK_CONTAINS(bus_last_error(bus), "max_recv");
        bus_close(bus);
        fake_close(&f);

        /* and what we may send is bounded by max_message */
        fake_open(&f, seq, "{\"max_message\":100,\"max_recv\":300}", &bus);
        struct json_object *s = json_object_new_string(big);
        CHECK_EQ_INT(bus_publish(bus, "a.b", s), -EMSGSIZE);
        CHECK_CONTAINS(bus_last_error(bus), "max_message");
        json_object_put(s);
        CHECK(bus_flush(bus) == 0 && fake_idle(&f));
        bus_close(bus);
        fake_close(&f);
}

int main(void)
{
        for (int seq = 0; seq < 2; seq++) {
                test_methods(seq);
                test_events(seq);
                test_notifications(seq);
                test_names(seq);
                test_malformed(seq);
                test_eof(seq);
                test_too_large(seq);
        }
        return 0;
}
