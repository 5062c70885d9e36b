/* test_libbus_loop.c: event-loop integration. A service and a client live in
 * one thread and one plain poll() loop built only from bus_get_fd(),
 * bus_get_events(), bus_get_timeout() and bus_process(): asynchronous calls
 * answered by the service in the same loop, a timeout that fires because the
 * loop honours bus_get_timeout(), events, and bus_run()/bus_quit(). Over
 * stream and seqpacket. */
#include <errno.h>
#include <json-c/json.h>
#include <poll.h>

#include "test_libbus_common.h"

static int m_publish(struct bus *bus, struct bus_call *call, void *userdata)
{
        return bus_publish(bus, "loop.tick", bus_call_params(call));
}

struct state {
        int answers;
        int64_t sum;
        int timeouts;
        int ticks;
        long long timeout_at;
};

static void on_square(struct bus *bus, const struct bus_reply *r, void *userdata)
{
        struct state *st = userdata;

        CHECK_EQ_INT(r->error, 0);
        st->answers++;
        st->sum += json_object_get_int64(r->result);
}

static void on_timeout(struct bus *bus, const struct bus_reply *r, void *userdata)
{
        struct state *st = userdata;

        CHECK_EQ_INT(r->error, -ETIMEDOUT);
        CHECK_STREQ(r->code, "timeout");
        st->timeouts++;
        st->timeout_at = now_ms();
}

static void on_tick(struct bus *bus, const struct bus_event *ev, void *userdata)
{
        ((struct state *)userdata)->ticks++;
}

/* One round of the loop over n buses. Returns how many poll() reported. */
static int loop_once(struct bus **buses, int n, int max_ms)
{
        struct pollfd fds[4];
        int timeout = max_ms;

        for (int i = 0; i < n; i++) {
                int t = bus_get_timeout(buses[i]);
                fds[i] = (struct pollfd){ .fd = bus_get_fd(buses[i]), .events = (short)bus_get_events(buses[i]) };
                if (t >= 0 && t < timeout)
                        timeout = t;
        }
        int r = poll(fds, (nfds_t)n, timeout);
        CHECK(r >= 0);
        for (int i = 0; i < n; i++)
                CHECK(bus_process(buses[i]) >= 0);
        return r;
}

static void test_poll_loop(const char *addr, bool seq)
{
        struct bus *svc = open_bus(addr, "loop service"), *cli = open_bus(addr, "loop client");
        struct bus *buses[2] = { svc, cli };
        struct state st = { 0 };

        CHECK_EQ_INT(bus_request_name(svc, "org.example.Loop", 0), BUS_NAME_PRIMARY_OWNER);
        CHECK_EQ_INT(bus_add_method(svc, "square", NULL, "\"int\"", "\"int\"", method_square, NULL), 0);
        CHECK_EQ_INT(bus_add_method(svc, "never", NULL, NULL, NULL, method_never, NULL), 0);
        CHECK_EQ_INT(bus_add_method(svc, "publish", NULL, NULL, NULL, m_publish, NULL), 0);
        CHECK_EQ_INT(bus_subscribe(cli, "loop.*", on_tick, &st), 0);

        /* 200 calls in flight at once, answered by the service in this same loop */
        for (int i = 1; i <= 200; i++) {
                struct json_object *p = json_object_new_int(i);
                CHECK_EQ_INT(bus_call_async(cli, "org.example.Loop", "square", p, 10000, on_square, &st, NULL), 0);
                json_object_put(p);
        }
        CHECK_EQ_INT(bus_get_timeout(cli), 0); /* buffered until the loop runs, which it tells to run now */
        long long until = now_ms() + 10000;
        while (st.answers < 200 && now_ms() < until)
                loop_once(buses, 2, 1000);
        CHECK_EQ_INT(st.answers, 200);
        CHECK_EQ_INT(st.sum, 200LL * 201 * 401 / 6);

        /* a timeout fires from the loop: bus_get_timeout() told poll() when */
        long long t0 = now_ms();
        CHECK_EQ_INT(bus_call_async(cli, "org.example.Loop", "never", NULL, 100, on_timeout, &st, NULL), 0);
        CHECK_EQ_INT(bus_get_timeout(cli), 0); /* the call is to be written */
        CHECK(bus_process(cli) >= 0);
        CHECK(bus_get_timeout(cli) > 0 && bus_get_timeout(cli) <= 100);
        while (st.timeouts == 0 && now_ms() < t0 + 10000)
                loop_once(buses, 2, 5000); /* 5 s cap: only the bus timeout ends the wait early */
        CHECK_EQ_INT(st.timeouts, 1);
        CHECK(st.timeout_at - t0 >= 100 && st.timeout_at - t0 < 2000);
        CHECK_EQ_INT(bus_get_timeout(cli), -1);

        /* events published by a handler reach the client through the loop */
        for (int i = 0; i < 10; i++)
                CHECK_EQ_INT(bus_call_oneway(cli, "org.example.Loop", "publish", NULL), 0);
        until = now_ms() + 10000;
        while (st.ticks < 10 && now_ms() < until)
                loop_once(buses, 2, 1000);
        CHECK_EQ_INT(st.ticks, 10);

        CHECK_EQ_INT(bus_release_name(svc, "org.example.Loop"), 0);
        bus_close(cli);
        bus_close(svc);
}

static int m_stop(struct bus *bus, struct bus_call *call, void *userdata)
{
        bus_quit(bus, 7);
        return 0;
}

static void *caller_main(void *userdata)
{
        struct bus *bus = open_bus(userdata, "stopper");

        CHECK_EQ_INT(bus_call(bus, "org.example.Run", "stop", NULL, 10000, NULL), 0);
        bus_close(bus);
        return NULL;
}

/* bus_run() serves until a handler calls bus_quit(); it returns the code, and
 * the handler's answer has been written. */
static void test_run(const char *addr, bool seq)
{
        struct bus *svc = open_bus(addr, "runner");
        pthread_t th;

        CHECK_EQ_INT(bus_request_name(svc, "org.example.Run", 0), BUS_NAME_PRIMARY_OWNER);
        CHECK_EQ_INT(bus_add_method(svc, "stop", NULL, NULL, NULL, m_stop, NULL), 0);
        sync_bus(svc);
        CHECK_EQ_INT(pthread_create(&th, NULL, caller_main, (void *)addr), 0);
        CHECK_EQ_INT(bus_run(svc), 7);
        CHECK_EQ_INT(pthread_join(th, NULL), 0); /* the caller got its answer */
        CHECK_EQ_INT(bus_release_name(svc, "org.example.Run"), 0);
        bus_close(svc);
}

static void all(const char *addr, bool seq)
{
        test_poll_loop(addr, seq);
        test_run(addr, seq);
}

int main(void)
{
        run_both("loop", all);
        return 0;
}
