/* test_libbus_reconnect_fake.c: the reconnection of libbus against a scripted fake
 * daemon: the backoff schedule, and the state machine — the end of a
 * connection (what is dispatched before it, pending calls failing, the
 * notice), failed attempts, a slow, refused or missing welcome, the
 * restoration of names (with their flags), methods and subscriptions and how
 * its outcome is reported, a connection lost during restoration, blocking-only
 * use, turning reconnection off, and the epoll fd bus_get_fd() returns. The
 * connector is replaced by one that hands out socketpairs (bus-internal.h),
 * and due steps are made due by setting retry_at: no sleeping. Every test
 * runs over stream and seqpacket. */
#include <errno.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bus-internal.h"
#include "test.h"
#include "test_libbus_fake.h"

/* ---- the fake network ----------------------------------------------------- */

static struct {
        bool seq;
        int errors[8]; /* what the next attempts return before one connects */
        int n_errors;
        struct fake d[8]; /* the daemon's end of each connection made */
        int n;
} net;

static int fake_connect(struct bus *bus, int *ret_fd)
{
        if (net.n_errors > 0) {
                int e = net.errors[0];
                memmove(net.errors, net.errors + 1, sizeof(net.errors) - sizeof(net.errors[0]));
                net.n_errors--;
                return e;
        }
        CHECK(net.n < 8);
        *ret_fd = fake_pair(&net.d[net.n++], net.seq);
        return 0;
}

static void net_reset(bool seq)
{
        for (int i = 0; i < net.n; i++)
                fake_close(&net.d[i]);
        memset(&net, 0, sizeof(net));
        net.seq = seq;
}

static const char *limits(bool seq)
{
        return seq ? "{\"max_message\":65536,\"max_recv\":66560}" : "{\"max_message\":1048576,\"max_recv\":1049600}";
}

static void welcome(struct fake *f, long long id, const char *unique)
{
        fake_send(
                f,
                "{\"type\":\"welcome\",\"id\":%lld,\"unique\":\"%s\",\"protocol\":1,\"server\":\"fake\",\"limits\":%s,"
                "\"names\":{}}",
                id, unique, limits(f->seqpacket));
}

static void reply(struct fake *f, long long id, const char *result)
{
        fake_send(f, "{\"type\":\"reply\",\"id\":%lld,\"result\":%s,\"sender\":\"org.busd\"}", id, result);
}

/* A reconnecting bus on a fake daemon d0 (hello id 1, unique :7). */
static struct bus *open_reconnecting(bool seq, struct fake *d0)
{
        struct bus *bus;
        int fd = fake_pair(d0, seq);

        welcome(d0, 1, ":7");
        CHECK_EQ_INT(bus__open_reconnecting(fd, "unit test", fake_connect, &bus), 0);
        json_object_put(fake_expect(d0, "hello"));
        CHECK(bus_is_connected(bus));
        return bus;
}

/* The daemon goes away. */
static void hang_up(struct fake *f)
{
        close(f->fd);
        f->fd = -1;
}

static void make_due(struct bus *bus)
{
        bus->retry_at = bus__now_ms();
}

static int process_all(struct bus *bus)
{
        int r;

        while ((r = bus_process(bus)) > 0)
                ;
        return r;
}

/* Receives a message of the given type and returns its id. */
static long long expect_id(struct fake *f, const char *type, struct json_object **ret)
{
        struct json_object *o = fake_expect(f, type);
        long long id = fake_int(o, "id");

        if (ret)
                *ret = o;
        else
                json_object_put(o);
        return id;
}

static bool has_true(struct json_object *o, const char *key)
{
        struct json_object *v;

        return json_object_object_get_ex(o, key, &v) && json_object_get_boolean(v);
}

/* ---- what the application sees -------------------------------------------- */

struct log {
        char text[1024];
};

static void add(struct log *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct log *l, const char *fmt, ...)
{
        size_t n = strlen(l->text);
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(l->text + n, sizeof(l->text) - n, fmt, ap);
        va_end(ap);
        n = strlen(l->text);
        snprintf(l->text + n, sizeof(l->text) - n, " ");
}

static void on_disconnect(struct bus *bus, int error, const char *why, bool reconnecting, void *userdata)
{
        CHECK(why && *why);
        add(userdata, "disconnected(%d,%d)", error, reconnecting);
}

static void on_reconnect(struct bus *bus, unsigned attempts, unsigned not_restored, void *userdata)
{
        add(userdata, "reconnected(%u,%u,%s)", attempts, not_restored, bus_unique_id(bus));
}

static void on_name(struct bus *bus, const char *name, bool acquired, void *userdata)
{
        add(userdata, "%s:%s", acquired ? "acquired" : "lost", name);
}

static void on_event(struct bus *bus, const struct bus_event *ev, void *userdata)
{
        add(userdata, "event:%s", ev->topic);
}

static void on_error(struct bus *bus, const char *code, const char *message, void *userdata)
{
        add(userdata, "error:%s", code);
}

static void on_reply(struct bus *bus, const struct bus_reply *r, void *userdata)
{
        if (r->error)
                add(userdata, "reply:%d:%s", r->error, r->code);
        else
                add(userdata, "reply:ok");
}

static void watch(struct bus *bus, struct log *l)
{
        bus_on_disconnect(bus, on_disconnect, l);
        bus_on_reconnect(bus, on_reconnect, l);
        bus_on_name(bus, on_name, l);
        bus_on_error(bus, on_error, l);
}

static struct bus_call *deferred;

static int m_defer(struct bus *bus, struct bus_call *call, void *userdata)
{
        deferred = bus_call_defer(call);
        return 0;
}

/* ---- tests ---------------------------------------------------------------- */

/* 50 ms doubling to 2 s, each delay drawn from [50%, 150%) of it. */
static void test_backoff(void)
{
        static const int64_t base[] = { 50, 100, 200, 400, 800, 1600, 2000, 2000, 2000 };

        for (unsigned n = 1; n <= 9; n++) {
                int64_t b = base[n - 1];
                CHECK_EQ_INT(reconnect_delay_ms(n, 0), b / 2);
                CHECK_EQ_INT(reconnect_delay_ms(n, (uint64_t)b - 1), b / 2 + b - 1);
                CHECK_EQ_INT(reconnect_delay_ms(n, UINT64_MAX), b / 2 + (int64_t)(UINT64_MAX % (uint64_t)b));
                for (uint64_t r = 0; r < 100000; r += 997) {
                        int64_t d = reconnect_delay_ms(n, r * 0x9E3779B97F4A7C15ULL);
                        CHECK(d >= b / 2 && d < b + b / 2);
                }
        }
        CHECK_EQ_INT(reconnect_delay_ms(1000, 0), 1000);
        CHECK_EQ_INT(reconnect_delay_ms(UINT32_MAX, 0), 1000);
}

/* The whole cycle: lost, two failed attempts, a slow welcome, restored. */
static void test_cycle(bool seq)
{
        struct json_object *o;
        struct log l = { "" };
        struct fake d0;
        long long id;

        net_reset(seq);
        struct bus *bus = open_reconnecting(seq, &d0);
        int fd = bus_get_fd(bus);
        watch(bus, &l);
        CHECK_EQ_INT(bus_get_events(bus), POLLIN);

        reply(&d0, 2, "{\"name\":\"a.a\",\"status\":\"primary_owner\"}");
        CHECK_EQ_INT(bus_request_name(bus, "a.a", BUS_NAME_ALLOW_REPLACEMENT), BUS_NAME_PRIMARY_OWNER);
        json_object_put(fake_expect(&d0, "request_name"));
        reply(&d0, 3, "{\"name\":\"b.b\",\"status\":\"in_queue\"}");
        CHECK_EQ_INT(bus_request_name(bus, "b.b", 0), BUS_NAME_IN_QUEUE);
        json_object_put(fake_expect(&d0, "request_name"));
        reply(&d0, 4, "{\"name\":\"c.c\",\"status\":\"primary_owner\"}");
        CHECK_EQ_INT(bus_request_name(bus, "c.c", BUS_NAME_NO_QUEUE), BUS_NAME_PRIMARY_OWNER);
        json_object_put(fake_expect(&d0, "request_name"));
        CHECK_EQ_INT(bus_add_method(bus, "m", "defers", NULL, NULL, m_defer, NULL), 0);
        CHECK_EQ_INT(bus_flush(bus), 0);
        json_object_put(fake_expect(&d0, "declare"));
        reply(&d0, 5, "{\"pattern\":\"a.>\"}");
        CHECK_EQ_INT(bus_subscribe(bus, "a.>", on_event, &l), 0);
        json_object_put(fake_expect(&d0, "subscribe"));
        CHECK_EQ_INT(bus_call_async(bus, ":3", "x", NULL, 60000, on_reply, &l, NULL), 0);
        CHECK_EQ_INT(bus_flush(bus), 0);
        CHECK_EQ_INT(expect_id(&d0, "call", NULL), 6);

        /* a call to us and an event, then the daemon dies */
        fake_send(&d0,
                  "{\"type\":\"call\",\"id\":77,\"dest\":\":7\",\"method\":\"m\",\"params\":null,\"sender\":\":3\","
                  "\"creds\":{\"uid\":1,\"gid\":1,\"pid\":1}}");
        fake_send(&d0,
                  "{\"type\":\"event\",\"topic\":\"a.b\",\"data\":1,\"sender\":\":3\",\"creds\":{\"uid\":1,\"gid\":1,"
                  "\"pid\":1}}");
        hang_up(&d0);
        deferred = NULL;
        CHECK_EQ_INT(process_all(bus), 0);
        /* what came before the end first, then the pending call fails, then the notice */
        CHECK_STREQ(l.text, "event:a.b reply:-104:disconnected disconnected(-104,1) ");
        CHECK(deferred);

        /* between connections */
        CHECK(!bus_is_connected(bus));
        CHECK_STREQ(bus_unique_id(bus), "");
        CHECK_EQ_INT(bus_get_fd(bus), fd);
        CHECK_EQ_INT(bus_publish(bus, "a.b", NULL), -ENOTCONN);
        CHECK_STREQ(bus_last_error_code(bus), "disconnected");
        CHECK_EQ_INT(bus_call_async(bus, ":3", "x", NULL, 60000, on_reply, &l, NULL), -ENOTCONN);
        CHECK_EQ_INT(bus_request_name(bus, "d.d", 0), -ENOTCONN);
        int t = bus_get_timeout(bus);
        CHECK(t >= 0 && t <= 75); /* first attempt: 25..75 ms */
        struct pollfd p = { .fd = fd, .events = POLLIN };
        CHECK_EQ_INT(poll(&p, 1, 0), 0); /* nothing to watch but the timer */

        /* two attempts fail; each waits longer */
        net.errors[0] = -ECONNREFUSED;
        net.errors[1] = -ENOENT;
        net.n_errors = 2;
        make_due(bus);
        CHECK_EQ_INT(process_all(bus), 0);
        t = bus_get_timeout(bus);
        CHECK(t > 0 && t <= 150);
        CHECK_EQ_INT(bus_publish(bus, "a.b", NULL), -ENOTCONN);
        CHECK_CONTAINS(bus_last_error(bus), "attempt 1 failed: Connection refused");
        make_due(bus);
        CHECK_EQ_INT(process_all(bus), 0);
        t = bus_get_timeout(bus);
        CHECK(t > 0 && t <= 300);
        CHECK_EQ_INT(net.n, 0);

        /* the third connects and says hello; the welcome is slow */
        make_due(bus);
        CHECK_EQ_INT(process_all(bus), 0);
        CHECK_EQ_INT(net.n, 1);
        struct fake *d1 = &net.d[0];
        long long hello = expect_id(d1, "hello", &o);
        CHECK_EQ_INT(hello, 7);
        CHECK_STREQ(fake_str(o, "name"), "unit test");
        json_object_put(o);
        CHECK(bus_get_timeout(bus) > BUS_HELLO_TIMEOUT_MS - 5000);
        for (int i = 0; i < 3; i++)
                CHECK_EQ_INT(process_all(bus), 0);
        CHECK(!bus_is_connected(bus));
        CHECK_EQ_INT(bus_publish(bus, "a.b", NULL), -ENOTCONN);
        CHECK(fake_idle(d1));

        /* the welcome: everything is requested again at once, in order */
        welcome(d1, hello, ":9");
        CHECK_EQ_INT(poll(&p, 1, 1000), 1); /* the same fd tells */
        CHECK_EQ_INT(process_all(bus), 0);
        CHECK(bus_is_connected(bus));
        CHECK_STREQ(bus_unique_id(bus), ":9");
        id = expect_id(d1, "request_name", &o);
        CHECK_EQ_INT(id, 8);
        CHECK_STREQ(fake_str(o, "name"), "a.a");
        CHECK(has_true(o, "allow_replacement") && !has_true(o, "replace"));
        json_object_put(o);
        CHECK_EQ_INT(expect_id(d1, "request_name", &o), 9);
        CHECK_STREQ(fake_str(o, "name"), "b.b");
        CHECK(!has_true(o, "allow_replacement") && !json_object_object_get_ex(o, "queue", NULL));
        json_object_put(o);
        CHECK_EQ_INT(expect_id(d1, "request_name", &o), 10);
        CHECK_STREQ(fake_str(o, "name"), "c.c");
        CHECK(json_object_object_get_ex(o, "queue", NULL) && !has_true(o, "queue"));
        json_object_put(o);
        CHECK_EQ_INT(expect_id(d1, "declare", &o), 11);
        CHECK_STREQ(json_object_to_json_string(json_object_object_get(o, "methods")),
                    "[ { \"name\": \"m\", \"description\": \"defers\" } ]");
        json_object_put(o);
        CHECK_EQ_INT(expect_id(d1, "subscribe", &o), 12);
        CHECK_STREQ(fake_str(o, "pattern"), "a.>");
        json_object_put(o);
        CHECK(fake_idle(d1));

        /* an application call made meanwhile goes after them */
        CHECK_EQ_INT(bus_call_async(bus, ":3", "x", NULL, 60000, on_reply, &l, NULL), 0);
        CHECK_EQ_INT(bus_flush(bus), 0);
        CHECK_EQ_INT(expect_id(d1, "call", NULL), 13);

        /* a.a went to someone else (we queue), b.b came to us, c.c (no queue) is taken */
        reply(d1, 8, "{\"name\":\"a.a\",\"status\":\"in_queue\"}");
        reply(d1, 9, "{\"name\":\"b.b\",\"status\":\"primary_owner\"}");
        reply(d1, 10, "{\"name\":\"c.c\",\"status\":\"exists\"}");
        reply(d1, 11, "null");
        CHECK_EQ_INT(process_all(bus), 0);
        CHECK_STREQ(l.text, "event:a.b reply:-104:disconnected disconnected(-104,1) lost:a.a acquired:b.b lost:c.c ");
        reply(d1, 12, "{\"pattern\":\"a.>\"}");
        reply(d1, 13, "1");
        CHECK_EQ_INT(process_all(bus), 0);
        CHECK_STREQ(l.text, "event:a.b reply:-104:disconnected disconnected(-104,1) lost:a.a acquired:b.b lost:c.c "
                            "reconnected(3,2,:9) reply:ok ");

        /* the deferred call of the old connection: its answer goes nowhere */
        CHECK_EQ_INT(bus_reply(deferred, NULL), -ECONNRESET);
        CHECK_EQ_INT(bus_flush(bus), 0);
        CHECK(fake_idle(d1));

        /* the subscription works; c.c is not held any more, a.a is (queued) */
        l.text[0] = 0;
        fake_send(d1,
                  "{\"type\":\"event\",\"topic\":\"a.c\",\"data\":1,\"sender\":\":3\",\"creds\":{\"uid\":1,\"gid\":1,"
                  "\"pid\":1}}");
        fake_send(d1, "{\"type\":\"name_acquired\",\"name\":\"a.a\"}");
        CHECK_EQ_INT(process_all(bus), 0);
        CHECK_STREQ(l.text, "event:a.c acquired:a.a ");

        /* lost again: the names held now are requested on the next connection */
        hang_up(d1);
        CHECK_EQ_INT(process_all(bus), 0);
        make_due(bus);
        CHECK_EQ_INT(process_all(bus), 0);
        CHECK_EQ_INT(net.n, 2);
        hello = expect_id(&net.d[1], "hello", NULL);
        welcome(&net.d[1], hello, ":10");
        CHECK_EQ_INT(process_all(bus), 0);
        CHECK_EQ_INT(expect_id(&net.d[1], "request_name", &o), hello + 1);
        CHECK_STREQ(fake_str(o, "name"), "a.a");
        json_object_put(o);
        CHECK_EQ_INT(expect_id(&net.d[1], "request_name", &o), hello + 2);
        CHECK_STREQ(fake_str(o, "name"), "b.b");
        json_object_put(o);
        json_object_put(fake_expect(&net.d[1], "declare"));
        json_object_put(fake_expect(&net.d[1], "subscribe"));
        CHECK(fake_idle(&net.d[1]));
        bus_close(bus);
        fake_close(&d0);
}

/* Attempts whose hello fails do not count as connections: one notice each way. */
static void test_hello_failures(bool seq)
{
        struct log l = { "" };
        struct fake d0;
        long long hello;

        net_reset(seq);
        struct bus *bus = open_reconnecting(seq, &d0);
        watch(bus, &l);
        hang_up(&d0);
        CHECK_EQ_INT(process_all(bus), 0);

        /* refused */
        make_due(bus);
        CHECK_EQ_INT(process_all(bus), 0);
        hello = expect_id(&net.d[0], "hello", NULL);
        fake_send(&net.d[0],
                  "{\"type\":\"error\",\"id\":%lld,\"code\":\"limit\",\"message\":\"too many\",\"sender\":"
                  "\"org.busd\"}",
                  hello);
        CHECK_EQ_INT(process_all(bus), 0);
        CHECK(!bus_is_connected(bus) && bus->state == BUS_WAITING);
        CHECK_EQ_INT(bus_publish(bus, "a.b", NULL), -ENOTCONN);
        CHECK_CONTAINS(bus_last_error(bus), "refused the hello: limit");

        /* closed without a word */
        make_due(bus);
        CHECK_EQ_INT(process_all(bus), 0);
        json_object_put(fake_expect(&net.d[1], "hello"));
        hang_up(&net.d[1]);
        CHECK_EQ_INT(process_all(bus), 0);
        CHECK(bus->state == BUS_WAITING);

        /* never answered: the hello times out */
        make_due(bus);
        CHECK_EQ_INT(process_all(bus), 0);
        json_object_put(fake_expect(&net.d[2], "hello"));
        CHECK(bus->state == BUS_HELLO);
        make_due(bus); /* the welcome's deadline */
        CHECK_EQ_INT(bus_get_timeout(bus), 0);
        CHECK_EQ_INT(process_all(bus), 0);
        CHECK(bus->state == BUS_WAITING);
        CHECK_EQ_INT(bus_publish(bus, "a.b", NULL), -ENOTCONN);
        CHECK_CONTAINS(bus_last_error(bus), "no welcome within");

        /* not a welcome */
        make_due(bus);
        CHECK_EQ_INT(process_all(bus), 0);
        json_object_put(fake_expect(&net.d[3], "hello"));
        fake_send(&net.d[3], "{\"type\":\"name_lost\",\"name\":\"a.b\"}");
        CHECK_EQ_INT(process_all(bus), 0);
        CHECK(bus->state == BUS_WAITING);

        /* the fifth: nothing to restore, so it is reconnected with the welcome */
        make_due(bus);
        CHECK_EQ_INT(process_all(bus), 0);
        hello = expect_id(&net.d[4], "hello", NULL);
        welcome(&net.d[4], hello, ":5");
        CHECK_EQ_INT(process_all(bus), 0);
        CHECK_STREQ(l.text, "disconnected(-104,1) reconnected(5,0,:5) ");
        CHECK(fake_idle(&net.d[4]));
        bus_close(bus);
        fake_close(&d0);
}

/* A connection lost before its restoration is complete is one more failed
 * attempt; calls made on it still fail. */
static void test_lost_while_restoring(bool seq)
{
        struct log l = { "" };
        struct fake d0;
        long long hello;

        net_reset(seq);
        struct bus *bus = open_reconnecting(seq, &d0);
        watch(bus, &l);
        reply(&d0, 2, "{\"pattern\":\"a.>\"}");
        CHECK_EQ_INT(bus_subscribe(bus, "a.>", on_event, &l), 0);
        hang_up(&d0);
        CHECK_EQ_INT(process_all(bus), 0);

        make_due(bus);
        CHECK_EQ_INT(process_all(bus), 0);
        hello = expect_id(&net.d[0], "hello", NULL);
        welcome(&net.d[0], hello, ":2");
        CHECK_EQ_INT(process_all(bus), 0);
        json_object_put(fake_expect(&net.d[0], "subscribe"));
        CHECK(bus_is_connected(bus));
        CHECK_EQ_INT(bus_call_async(bus, ":3", "x", NULL, 60000, on_reply, &l, NULL), 0);
        CHECK_EQ_INT(bus_flush(bus), 0);
        hang_up(&net.d[0]);
        CHECK_EQ_INT(process_all(bus), 0);
        CHECK_STREQ(l.text, "disconnected(-104,1) reply:-104:disconnected ");
        CHECK(bus->state == BUS_WAITING);

        make_due(bus);
        CHECK_EQ_INT(process_all(bus), 0);
        hello = expect_id(&net.d[1], "hello", NULL);
        welcome(&net.d[1], hello, ":3");
        CHECK_EQ_INT(process_all(bus), 0);
        long long sub = expect_id(&net.d[1], "subscribe", NULL);
        fake_send(&net.d[1],
                  "{\"type\":\"error\",\"id\":%lld,\"code\":\"limit\",\"message\":\"too many subscriptions\","
                  "\"sender\":\"org.busd\"}",
                  sub);
        CHECK_EQ_INT(process_all(bus), 0);
        CHECK_STREQ(l.text, "disconnected(-104,1) reply:-104:disconnected error:limit reconnected(2,1,:3) ");
        /* the refused subscription is gone: it can be made again */
        reply(&net.d[1], sub + 1, "{\"pattern\":\"a.>\"}");
        CHECK_EQ_INT(bus_subscribe(bus, "a.>", on_event, &l), 0);
        bus_close(bus);
        fake_close(&d0);
}

/* A program that only makes blocking calls: sending drives the reconnection. */
static void test_blocking_only(bool seq)
{
        struct fake d0;
        struct json_object *res = NULL;

        net_reset(seq);
        struct bus *bus = open_reconnecting(seq, &d0);
        hang_up(&d0);
        /* the end is noticed by the blocking call itself */
        CHECK_EQ_INT(bus_call(bus, ":3", "x", NULL, 60000, NULL), -ECONNRESET);
        CHECK_STREQ(bus_last_error_code(bus), "disconnected");
        CHECK_EQ_INT(bus_call(bus, ":3", "x", NULL, 60000, NULL), -ENOTCONN);
        make_due(bus);
        CHECK_EQ_INT(bus_call(bus, ":3", "x", NULL, 60000, NULL), -ENOTCONN); /* connected, hello sent */
        CHECK_EQ_INT(net.n, 1);
        long long hello = expect_id(&net.d[0], "hello", NULL);
        welcome(&net.d[0], hello, ":4");
        CHECK_EQ_INT(bus_publish(bus, "a.b", NULL), 0); /* takes the welcome, then publishes */
        reply(&net.d[0], hello + 1, "42");
        CHECK_EQ_INT(bus_call(bus, ":3", "x", NULL, 60000, &res), 0);
        CHECK_EQ_INT(json_object_get_int(res), 42);
        json_object_put(res);
        CHECK_STREQ(bus_unique_id(bus), ":4");
        bus_close(bus);
        fake_close(&d0);
}

/* Turning reconnection off makes the end final; bus_open_fd() buses cannot. */
static void test_off(bool seq)
{
        struct log l = { "" };
        struct fake d0;

        net_reset(seq);
        struct bus *bus = open_reconnecting(seq, &d0);
        watch(bus, &l);
        hang_up(&d0);
        CHECK_EQ_INT(process_all(bus), 0);
        CHECK_EQ_INT(bus_set_reconnect(bus, false), 0);
        CHECK_EQ_INT(bus_get_timeout(bus), 0);
        CHECK_EQ_INT(bus_process(bus), -ECONNRESET);
        CHECK_EQ_INT(bus_publish(bus, "a.b", NULL), -ECONNRESET);
        make_due(bus);
        CHECK_EQ_INT(bus_process(bus), -ECONNRESET);
        CHECK_EQ_INT(net.n, 0);
        /* and on again: it starts over at once */
        CHECK_EQ_INT(bus_set_reconnect(bus, true), 0);
        CHECK_EQ_INT(process_all(bus), 0);
        CHECK_EQ_INT(net.n, 1);
        welcome(&net.d[0], expect_id(&net.d[0], "hello", NULL), ":8");
        CHECK_EQ_INT(process_all(bus), 0);
        CHECK_STREQ(l.text, "disconnected(-104,1) reconnected(1,0,:8) ");
        bus_close(bus);
        fake_close(&d0);

        /* off before the end: the notice says so and bus_process() reports the end */
        l.text[0] = 0;
        net_reset(seq);
        bus = open_reconnecting(seq, &d0);
        watch(bus, &l);
        CHECK_EQ_INT(bus_set_reconnect(bus, false), 0);
        hang_up(&d0);
        CHECK_EQ_INT(process_all(bus), -ECONNRESET);
        CHECK_STREQ(l.text, "disconnected(-104,0) ");
        bus_close(bus);
        fake_close(&d0);

        /* bus_open_fd(): no address, no reconnection; the fd is the socket */
        l.text[0] = 0;
        fake_open(&d0, seq, NULL, &bus);
        watch(bus, &l);
        int type = 0;
        socklen_t len = sizeof(type);
        CHECK(getsockopt(bus_get_fd(bus), SOL_SOCKET, SO_TYPE, &type, &len) == 0);
        CHECK_EQ_INT(bus_set_reconnect(bus, true), -EOPNOTSUPP);
        CHECK_EQ_INT(bus_set_reconnect(bus, false), 0);
        hang_up(&d0);
        CHECK_EQ_INT(process_all(bus), -ECONNRESET);
        CHECK_STREQ(l.text, "disconnected(-104,0) ");
        bus_close(bus);
        fake_close(&d0);
}

/* Reads everything the bus has written (without parsing it). */
static size_t drain_raw(struct fake *f)
{
        static char buf[1 << 17];
        size_t total = 0;
        ssize_t n;

        while ((n = recv(f->fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
                total += (size_t)n;
        return total;
}

/* The epoll fd: readable when the socket is, writable-ready only while output
 * waits for room (then POLLIN on the epoll fd), quiet otherwise. */
static void test_epoll_fd(bool seq)
{
        struct fake d0;
        char data[2000];

        net_reset(seq);
        struct bus *bus = open_reconnecting(seq, &d0);
        int fd = bus_get_fd(bus);
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int type = 0;
        socklen_t len = sizeof(type);
        CHECK(getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 && errno == ENOTSOCK);
        CHECK_EQ_INT(poll(&p, 1, 0), 0);
        fake_send(&d0, "{\"type\":\"name_lost\",\"name\":\"a.b\"}");
        CHECK_EQ_INT(poll(&p, 1, 1000), 1);
        CHECK_EQ_INT(process_all(bus), 0);
        CHECK_EQ_INT(poll(&p, 1, 0), 0);

        /* fill the socket: the bus waits for room, the fd says when there is some */
        memset(data, 'x', sizeof(data) - 1);
        data[sizeof(data) - 1] = 0;
        struct json_object *s = json_object_new_string(data);
        for (int i = 0; i < 1000; i++)
                CHECK_EQ_INT(bus_publish(bus, "a.b", s), 0);
        json_object_put(s);
        CHECK_EQ_INT(process_all(bus), 0);
        CHECK(transport_queued(&bus->t) > 0 && bus->out_blocked);
        CHECK_EQ_INT(bus_get_timeout(bus), -1); /* nothing to do until there is room */
        CHECK_EQ_INT(poll(&p, 1, 0), 0);
        size_t got = 0;
        for (int round = 0; round < 10000 && transport_queued(&bus->t) > 0; round++) {
                got += drain_raw(&d0);
                CHECK_EQ_INT(poll(&p, 1, 1000), 1);
                CHECK_EQ_INT(process_all(bus), 0);
        }
        CHECK_EQ_INT(transport_queued(&bus->t), 0);
        CHECK(!bus->out_blocked && !bus->ep_out);
        got += drain_raw(&d0);
        CHECK(got > 1000 * sizeof(data));
        CHECK_EQ_INT(poll(&p, 1, 0), 0);
        bus_close(bus);
        fake_close(&d0);
}

int main(void)
{
        test_backoff();
        for (int seq = 0; seq < 2; seq++) {
                fprintf(stderr, "== %s\n", seq ? "seqpacket" : "stream");
                test_cycle(seq);
                test_hello_failures(seq);
                test_lost_while_restoring(seq);
                test_blocking_only(seq);
                test_off(seq);
                test_epoll_fd(seq);
        }
        net_reset(false);
        return 0;
}
