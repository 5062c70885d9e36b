/* test_libbus_calls.c: calls through a real busd, over stream and seqpacket:
 * blocking, asynchronous and one-way calls; replies and error replies with
 * their code and message; caller identity; deferred answers; client-side
 * timeouts (and the cancel that frees the daemon's slot); a callee that dies
 * with a call pending; declarations seen through introspect. */
#include <errno.h>
#include <json-c/json.h>
#include <unistd.h>

#include "test_libbus_common.h"

#define CALC "org.example.Calc"

struct calc {
        struct bus_call *held; /* deferred by "hold", answered by "release" */
        int pokes, oneway_pokes;
};

static int m_add(struct bus *bus, struct bus_call *call, void *userdata)
{
        struct json_object *p = bus_call_params(call), *a, *b;

        if (!json_object_object_get_ex(p, "a", &a) || !json_object_object_get_ex(p, "b", &b))
                return bus_reply_error(call, "org.example.BadParams", "add needs {\"a\": int, \"b\": int}");
        struct json_object *res = json_object_new_object();
        json_object_object_add(res, "sum", json_object_new_int64(json_object_get_int64(a) + json_object_get_int64(b)));
        bus_reply(call, res);
        json_object_put(res);
        return 0;
}

static int m_echo(struct bus *bus, struct bus_call *call, void *userdata)
{
        return bus_reply(call, bus_call_params(call));
}

static int m_fail(struct bus *bus, struct bus_call *call, void *userdata)
{
        return bus_reply_error(call, "org.example.Failed", "failed on purpose: %d", 42);
}

static int m_errno(struct bus *bus, struct bus_call *call, void *userdata)
{
        return -EACCES; /* no answer: libbus answers "failed" */
}

static int m_whoami(struct bus *bus, struct bus_call *call, void *userdata)
{
        uid_t uid;
        gid_t gid;
        pid_t pid;
        struct json_object *res = json_object_new_object();

        bus_call_creds(call, &uid, &gid, &pid);
        json_object_object_add(res, "sender", json_object_new_string(bus_call_sender(call)));
        json_object_object_add(res, "dest", json_object_new_string(bus_call_dest(call)));
        json_object_object_add(res, "uid", json_object_new_int64(uid));
        json_object_object_add(res, "gid", json_object_new_int64(gid));
        json_object_object_add(res, "pid", json_object_new_int64(pid));
        bus_reply(call, res);
        json_object_put(res);
        return 0;
}

static int m_never(struct bus *bus, struct bus_call *call, void *userdata)
{
        bus_call_defer(call); /* freed by bus_close() */
        return 0;
}

static int m_hold(struct bus *bus, struct bus_call *call, void *userdata)
{
        struct calc *c = userdata;

        c->held = bus_call_defer(call);
        return 0;
}

static int m_release(struct bus *bus, struct bus_call *call, void *userdata)
{
        struct calc *c = userdata;
        struct json_object *res = json_object_new_string("released later");

        CHECK(c->held);
        CHECK_EQ_INT(bus_reply(c->held, res), 0);
        c->held = NULL;
        json_object_put(res);
        return 0; /* null result */
}

static int m_poke(struct bus *bus, struct bus_call *call, void *userdata)
{
        struct calc *c = userdata;

        c->pokes++;
        if (bus_call_is_oneway(call))
                c->oneway_pokes++;
        return 0;
}

static int m_pokes(struct bus *bus, struct bus_call *call, void *userdata)
{
        struct calc *c = userdata;
        struct json_object *res = json_object_new_int(c->oneway_pokes * 1000 + c->pokes);

        bus_reply(call, res);
        json_object_put(res);
        return 0;
}

static void calc_setup(struct bus *bus, void *userdata)
{
        CHECK_EQ_INT(bus_add_method(bus, "add", "adds two integers", "{\"a\":\"int\",\"b\":\"int\"}",
                                    "{\"sum\":\"int\"}", m_add, userdata),
                     0);
        CHECK_EQ_INT(bus_add_method(bus, "echo", "returns its params", NULL, NULL, m_echo, userdata), 0);
        CHECK_EQ_INT(bus_add_method(bus, "fail", NULL, NULL, NULL, m_fail, userdata), 0);
        CHECK_EQ_INT(bus_add_method(bus, "errno", NULL, NULL, NULL, m_errno, userdata), 0);
        CHECK_EQ_INT(bus_add_method(bus, "whoami", NULL, NULL, NULL, m_whoami, userdata), 0);
        CHECK_EQ_INT(bus_add_method(bus, "never", "never answers", NULL, NULL, m_never, userdata), 0);
        CHECK_EQ_INT(bus_add_method(bus, "hold", NULL, NULL, NULL, m_hold, userdata), 0);
        CHECK_EQ_INT(bus_add_method(bus, "release", NULL, NULL, NULL, m_release, userdata), 0);
        CHECK_EQ_INT(bus_add_method(bus, "poke", NULL, NULL, NULL, m_poke, userdata), 0);
        CHECK_EQ_INT(bus_add_method(bus, "pokes", NULL, NULL, NULL, m_pokes, userdata), 0);
}

static struct json_object *call_ok(struct bus *bus, const char *dest, const char *method, const char *params)
{
        struct json_object *p = params ? json_tokener_parse(params) : NULL, *res = NULL;
        int r = bus_call(bus, dest, method, p, 10000, &res);

        if (r < 0)
                fprintf(stderr, "%s.%s: %s: %s\n", dest, method, bus_last_error_code(bus), bus_last_error(bus));
        CHECK_EQ_INT(r, 0);
        json_object_put(p);
        return res;
}

static const char *plain(struct json_object *o)
{
        return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
}

static void test_blocking(const char *addr, bool seq)
{
        struct calc c = { 0 };
        struct service s;
        struct bus *bus = open_bus(addr, "caller");
        struct json_object *res;

        service_start(&s, addr, CALC, calc_setup, &c);
        res = call_ok(bus, CALC, "add", "{\"a\":40,\"b\":2}");
        CHECK_STREQ(plain(res), "{\"sum\":42}");
        json_object_put(res);
        /* by unique id too; JSON goes through unchanged */
        const char *v = "{\"s\":\"\\u00e9\\n\\\"\",\"n\":[1,-2,3.25,18446744073709551615,null,true],\"o\":{}}";
        res = call_ok(bus, bus_unique_id(s.bus), "echo", v);
        CHECK_STREQ(plain(res), "{\"s\":\"é\\n\\\"\",\"n\":[1,-2,3.25,18446744073709551615,null,true],\"o\":{}}");
        json_object_put(res);

        /* the callee's error passes with its code and message */
        CHECK_EQ_INT(bus_call(bus, CALC, "fail", NULL, 10000, &res), -EREMOTEIO);
        CHECK_STREQ(bus_last_error_code(bus), "org.example.Failed");
        CHECK_STREQ(bus_last_error(bus), "failed on purpose: 42");
        CHECK_EQ_INT(bus_call(bus, CALC, "errno", NULL, 10000, &res), -EREMOTEIO);
        CHECK_STREQ(bus_last_error_code(bus), "failed");
        CHECK_STREQ(bus_last_error(bus), strerror(EACCES));
        CHECK_EQ_INT(bus_call(bus, CALC, "nosuch", NULL, 10000, &res), -EREMOTEIO);
        CHECK_STREQ(bus_last_error_code(bus), "unknown_method");
        CHECK_EQ_INT(bus_call(bus, "org.example.Nobody", "x", NULL, 10000, &res), -EREMOTEIO);
        CHECK_STREQ(bus_last_error_code(bus), "no_owner");
        CHECK_EQ_INT(bus_call(bus, ":999999", "x", NULL, 10000, &res), -EREMOTEIO);
        CHECK_STREQ(bus_last_error_code(bus), "no_owner");
        CHECK_EQ_INT(bus_call(bus, "org.busd", "nosuch", NULL, 10000, &res), -EREMOTEIO);
        CHECK_STREQ(bus_last_error_code(bus), "unknown_method");

        /* identity is stamped by the daemon */
        res = call_ok(bus, CALC, "whoami", NULL);
        CHECK_STREQ(json_object_get_string(json_object_object_get(res, "sender")), bus_unique_id(bus));
        CHECK_STREQ(json_object_get_string(json_object_object_get(res, "dest")), CALC);
        CHECK_EQ_INT(json_object_get_int64(json_object_object_get(res, "pid")), getpid());
        CHECK_EQ_INT(json_object_get_int64(json_object_object_get(res, "uid")), getuid());
        CHECK_EQ_INT(json_object_get_int64(json_object_object_get(res, "gid")), getgid());
        json_object_put(res);

        /* params too large for this connection are refused before sending */
        size_t big = bus_max_message(bus) + 10;
        char *text = malloc(big);
        memset(text, 'x', big - 1);
        text[big - 1] = 0;
        struct json_object *p = json_object_new_string(text);
        CHECK_EQ_INT(bus_call(bus, CALC, "echo", p, 10000, &res), -EMSGSIZE);
        json_object_put(p);
        free(text);

        service_stop(&s, bus);
        bus_close(bus);
}

struct answers {
        int n;
        int errors;
        long long sum;
        char last_code[64], last_message[128];
};

static void on_answer(struct bus *bus, const struct bus_reply *r, void *userdata)
{
        struct answers *a = userdata;

        a->n++;
        if (r->error) {
                a->errors++;
                snprintf(a->last_code, sizeof(a->last_code), "%s", r->code);
                snprintf(a->last_message, sizeof(a->last_message), "%s", r->message);
                return;
        }
        if (r->result && json_object_is_type(r->result, json_type_object))
                a->sum += json_object_get_int64(json_object_object_get(r->result, "sum"));
}

static void wait_answers(struct bus *bus, struct answers *a, int want)
{
        long long until = now_ms() + 10000;

        while (a->n < want && now_ms() < until) {
                CHECK(bus_wait(bus, 1000) >= 0);
                CHECK(bus_process(bus) >= 0);
        }
        CHECK_EQ_INT(a->n, want);
}

static void test_async(const char *addr, bool seq)
{
        struct calc c = { 0 };
        struct answers a = { 0 }, e = { 0 }, t = { 0 }, d = { 0 }, x = { 0 };
        struct service s;
        struct bus *bus = open_bus(addr, "async caller");

        service_start(&s, addr, CALC, calc_setup, &c);
        for (int i = 1; i <= 100; i++) {
                struct json_object *p = json_object_new_object();
                json_object_object_add(p, "a", json_object_new_int(i));
                json_object_object_add(p, "b", json_object_new_int(0));
                CHECK_EQ_INT(bus_call_async(bus, CALC, "add", p, -1, on_answer, &a, NULL), 0);
                json_object_put(p);
        }
        CHECK_EQ_INT(bus_call_async(bus, CALC, "fail", NULL, -1, on_answer, &e, NULL), 0);
        CHECK_EQ_INT(bus_call_async(bus, CALC, "never", NULL, 200, on_answer, &t, NULL), 0);
        uint64_t cookie;
        CHECK_EQ_INT(bus_call_async(bus, CALC, "never", NULL, 100, on_answer, &x, &cookie), 0);
        CHECK_EQ_INT(bus_call_cancel(bus, cookie), 0);
        wait_answers(bus, &a, 100);
        CHECK_EQ_INT(a.errors, 0);
        CHECK_EQ_INT(a.sum, 5050);
        wait_answers(bus, &e, 1);
        CHECK_STREQ(e.last_code, "org.example.Failed");
        CHECK_STREQ(e.last_message, "failed on purpose: 42");
        long long t0 = now_ms();
        wait_answers(bus, &t, 1);
        CHECK_STREQ(t.last_code, "timeout");
        CHECK(now_ms() - t0 < 5000);
        CHECK_EQ_INT(x.n, 0); /* cancelled: its callback never runs */

        /* a deferred call answered later; one sender's calls arrive in order, so
         * "hold" is held when "release" runs */
        CHECK_EQ_INT(bus_call_async(bus, CALC, "hold", NULL, -1, on_answer, &d, NULL), 0);
        struct json_object *res = NULL;
        CHECK_EQ_INT(bus_call(bus, CALC, "release", NULL, 10000, &res), 0);
        CHECK(res == NULL);
        CHECK_EQ_INT(d.n, 0); /* the answer waits in the queue: blocking calls dispatch nothing */
        drain(bus);
        CHECK_EQ_INT(d.n, 1);
        CHECK_EQ_INT(d.errors, 0);

        service_stop(&s, bus);
        bus_close(bus);
}

static void on_error(struct bus *bus, const char *code, const char *message, void *userdata)
{
        snprintf(userdata, 128, "%s", code);
}

static void test_oneway(const char *addr, bool seq)
{
        struct calc c = { 0 };
        struct service s;
        struct bus *bus = open_bus(addr, "oneway caller");
        char err[128] = "";

        service_start(&s, addr, CALC, calc_setup, &c);
        bus_on_error(bus, on_error, err);
        for (int i = 0; i < 3; i++)
                CHECK_EQ_INT(bus_call_oneway(bus, CALC, "poke", NULL), 0);
        /* one sender's messages keep their order: the pokes are handled first */
        struct json_object *res = call_ok(bus, CALC, "pokes", NULL);
        CHECK_EQ_INT(json_object_get_int(res), 3003);
        json_object_put(res);
        /* the daemon's own failure for a one-way call reaches bus_on_error */
        CHECK_EQ_INT(bus_call_oneway(bus, "org.example.Nobody", "poke", NULL), 0);
        sync_bus(bus);
        CHECK_STREQ(err, "");
        drain(bus);
        CHECK_STREQ(err, "no_owner");
        service_stop(&s, bus);
        bus_close(bus);
}

/* The pending_calls of this connection in the daemon's stats. */
static long long pending_in_daemon(struct bus *bus)
{
        struct json_object *res = call_ok(bus, "org.busd", "stats", NULL), *peers;
        long long n = -1;

        CHECK(json_object_object_get_ex(res, "peers", &peers));
        for (size_t i = 0; i < json_object_array_length(peers); i++) {
                struct json_object *p = json_object_array_get_idx(peers, i);
                if (strcmp(json_object_get_string(json_object_object_get(p, "unique")), bus_unique_id(bus)) == 0)
                        n = json_object_get_int64(json_object_object_get(p, "pending_calls"));
        }
        json_object_put(res);
        return n;
}

static void test_timeout(const char *addr, bool seq)
{
        struct calc c = { 0 };
        struct service s;
        struct bus *bus = open_bus(addr, "impatient caller");

        service_start(&s, addr, CALC, calc_setup, &c);
        long long t0 = now_ms();
        CHECK_EQ_INT(bus_call(bus, CALC, "never", NULL, 150, NULL), -ETIMEDOUT);
        long long took = now_ms() - t0;
        CHECK(took >= 150 && took < 3000);
        CHECK_STREQ(bus_last_error_code(bus), "timeout");
        /* libbus sent cancel: the daemon no longer counts the call */
        CHECK_EQ_INT(pending_in_daemon(bus), 0);
        /* and the service still answers */
        struct json_object *res = call_ok(bus, CALC, "add", "{\"a\":1,\"b\":2}");
        CHECK_STREQ(plain(res), "{\"sum\":3}");
        json_object_put(res);
        service_stop(&s, bus);
        bus_close(bus);
}

static int m_die(struct bus *bus, struct bus_call *call, void *userdata)
{
        _exit(0); /* with the call pending */
}

static void dying_child(const char *addr, int ready_fd, void *userdata)
{
        struct bus *bus = open_bus(addr, "dying callee");

        CHECK_EQ_INT(bus_request_name(bus, "org.example.Dying", 0), BUS_NAME_PRIMARY_OWNER);
        CHECK_EQ_INT(bus_add_method(bus, "die", NULL, NULL, NULL, m_die, NULL), 0);
        CHECK_EQ_INT(bus_flush(bus), 0);
        sync_bus(bus); /* the declaration is in */
        child_ready(ready_fd, bus_unique_id(bus));
        bus_run(bus);
        _exit(1);
}

static void test_callee_gone(const char *addr, bool seq)
{
        struct bus *bus = open_bus(addr, "caller of the dying");
        char unique[64];
        pid_t pid = child_start(addr, dying_child, NULL, unique, sizeof(unique));

        long long t0 = now_ms();
        CHECK_EQ_INT(bus_call(bus, "org.example.Dying", "die", NULL, 20000, NULL), -EREMOTEIO);
        CHECK_STREQ(bus_last_error_code(bus), "callee_gone");
        CHECK(now_ms() - t0 < 5000); /* at once, not at the timeout */
        CHECK_EQ_INT(child_wait(pid), 0);
        CHECK_EQ_INT(bus_call(bus, unique, "die", NULL, 10000, NULL), -EREMOTEIO);
        CHECK_STREQ(bus_last_error_code(bus), "no_owner");
        bus_close(bus);
}

static void test_introspect(const char *addr, bool seq)
{
        struct calc c = { 0 };
        struct service s;
        struct bus *bus = open_bus(addr, "introspector");

        service_start(&s, addr, CALC, calc_setup, &c);
        struct json_object *res = call_ok(bus, "org.busd", "introspect", "{\"name\":\"" CALC "\"}"), *methods,
                           *add = NULL;
        CHECK_STREQ(json_object_get_string(json_object_object_get(res, "owner")), bus_unique_id(s.bus));
        CHECK(json_object_object_get_ex(res, "methods", &methods));
        CHECK_EQ_INT(json_object_array_length(methods), 11); /* quit + the ten of calc_setup */
        for (size_t i = 0; i < json_object_array_length(methods); i++) {
                struct json_object *m = json_object_array_get_idx(methods, i);
                if (strcmp(json_object_get_string(json_object_object_get(m, "name")), "add") == 0)
                        add = m;
        }
        CHECK(add);
        CHECK_STREQ(plain(add), "{\"name\":\"add\",\"description\":\"adds two integers\",\"params\":{\"a\":\"int\","
                                "\"b\":\"int\"},\"result\":{\"sum\":\"int\"}}");
        json_object_put(res);
        service_stop(&s, bus);
        bus_close(bus);
}

/* BUS/NAME (docs/protocol.md §4.9) is a destination libbus sends: without a
 * bridge the daemon answers no_owner, as for a name nobody owns. Calls across
 * a real bridge: tests/integration/test_bridge_cli.py. */
static void test_remote_dest(const char *addr, bool seq)
{
        struct answers a = { 0 };
        char code[128] = "";
        struct bus *bus = open_bus(addr, "caller of another bus");

        CHECK_EQ_INT(bus_call(bus, "busd-x/" CALC, "add", NULL, 10000, NULL), -EREMOTEIO);
        CHECK_STREQ(bus_last_error_code(bus), "no_owner");
        CHECK_EQ_INT(bus_call_async(bus, "busd-x/" CALC, "add", NULL, -1, on_answer, &a, NULL), 0);
        wait_answers(bus, &a, 1);
        CHECK_STREQ(a.last_code, "no_owner");
        bus_on_error(bus, on_error, code);
        CHECK_EQ_INT(bus_call_oneway(bus, "busd-x/" CALC, "add", NULL), 0);
        sync_bus(bus);
        drain(bus);
        CHECK_STREQ(code, "no_owner");
        /* what is neither: still refused before anything is sent */
        CHECK_EQ_INT(bus_call(bus, "busd-x/:3", "add", NULL, 10000, NULL), -EINVAL);
        CHECK_EQ_INT(bus_call(bus, "/" CALC, "add", NULL, 10000, NULL), -EINVAL);
        bus_close(bus);
}

static void all(const char *addr, bool seq)
{
        test_blocking(addr, seq);
        test_async(addr, seq);
        test_oneway(addr, seq);
        test_timeout(addr, seq);
        test_callee_gone(addr, seq);
        test_introspect(addr, seq);
        test_remote_dest(addr, seq);
}

int main(void)
{
        run_both("calls", all);
        return 0;
}
