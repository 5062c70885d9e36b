/* test_libbus_open.c: how bus_open() and bus_open_timeout() end when the
 * address is not a working busd, over stream and seqpacket: a daemon stopped
 * with SIGSTOP (the timeout bounds the connect and the hello together), a
 * server that closes without answering the hello (as a D-Bus daemon's socket
 * does: -EPROTO, not a lost connection), a regular file at the address; and
 * bus_publish_acked(), the daemon's {delivered, dropped} acknowledgement. */
#include <errno.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "test_libbus_common.h"

/* A stopped daemon: its kernel socket accepts the connection (the backlog has
 * room), the hello is never answered. The bound is checked with a guard of
 * seconds, not as a timing: what matters is the error and that it comes. */
static void test_stopped_daemon(void)
{
        struct busdproc h;
        struct bus *bus = (struct bus *)0x1;

        CHECK_EQ_INT(harness_start(&h, NULL), 0);
        CHECK_EQ_INT(kill(h.pid, SIGSTOP), 0);
        for (int seq = 0; seq < 2; seq++) {
                long long t0 = now_ms();
                CHECK_EQ_INT(bus_open_timeout(harness_addr(&h, seq), "impatient", 300, &bus), -ETIMEDOUT);
                CHECK(now_ms() - t0 < 10000); /* not the 25 s of bus_open() */
                CHECK(bus == (struct bus *)0x1);
                CHECK_CONTAINS(bus_open_error(), "no answer within");
        }
        CHECK_EQ_INT(kill(h.pid, SIGCONT), 0);
        /* running again: the same call connects */
        for (int seq = 0; seq < 2; seq++) {
                CHECK_EQ_INT(bus_open_timeout(harness_addr(&h, seq), "patient", 10000, &bus), 0);
                struct json_object *res = NULL;
                CHECK_EQ_INT(bus_call(bus, "org.busd", "ping", NULL, 10000, &res), 0);
                json_object_put(res);
                bus_close(bus);
        }
        CHECK_EQ_INT(harness_stop(&h), 0);
}

/* A listener that accepts and closes at once, reading nothing. */
static void test_closes_without_answer(void)
{
        for (int seq = 0; seq < 2; seq++) {
                char dir[] = "/tmp/libbus-open-XXXXXX", addr[160];
                struct sockaddr_un sa = { .sun_family = AF_UNIX };
                struct bus *bus = NULL;

                CHECK(mkdtemp(dir) != NULL);
                snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/s", dir);
                int l = socket(AF_UNIX, seq ? SOCK_SEQPACKET : SOCK_STREAM, 0);
                CHECK(l >= 0);
                CHECK(bind(l, (struct sockaddr *)&sa, sizeof(sa)) == 0);
                CHECK(listen(l, 4) == 0);
                pid_t pid = fork();
                CHECK(pid >= 0);
                if (pid == 0) {
                        int c = accept(l, NULL, NULL);
                        close(c);
                        _exit(0);
                }
                snprintf(addr, sizeof(addr), "%s:%s", seq ? "seqpacket" : "unix", sa.sun_path);
                CHECK_EQ_INT(bus_open_timeout(addr, NULL, 10000, &bus), -EPROTO);
                CHECK_CONTAINS(bus_open_error(), "without answering the hello");
                CHECK_EQ_INT(child_wait(pid), 0);
                close(l);

                /* a regular file where the socket should be: refused, as the kernel says */
                unlink(sa.sun_path);
                FILE *f = fopen(sa.sun_path, "w");
                CHECK(f != NULL);
                fclose(f);
                CHECK_EQ_INT(bus_open(addr, NULL, &bus), -ECONNREFUSED);
                unlink(sa.sun_path);
                rmdir(dir);
        }
}

static void on_event(struct bus *bus, const struct bus_event *ev, void *userdata)
{
        ++*(int *)userdata;
}

static void test_publish_acked(const char *addr, bool seq)
{
        struct bus *pub = open_bus(addr, "acked publisher"), *sub = open_bus(addr, "subscriber");
        uint64_t delivered = 99, dropped = 99;
        int n = 0;

        CHECK_EQ_INT(bus_publish_acked(pub, "acked.nobody", NULL, -1, &delivered, &dropped), 0);
        CHECK_EQ_INT(delivered, 0);
        CHECK_EQ_INT(dropped, 0);
        CHECK_EQ_INT(bus_subscribe(sub, "acked.>", on_event, &n), 0);
        CHECK_EQ_INT(bus_subscribe(pub, "acked.*", on_event, &n), 0);
        struct json_object *d = json_object_new_int(7);
        CHECK_EQ_INT(bus_publish_acked(pub, "acked.two", d, 10000, &delivered, NULL), 0);
        json_object_put(d);
        CHECK_EQ_INT(delivered, 2);
        sync_bus(sub);
        drain(sub);
        drain(pub);
        CHECK_EQ_INT(n, 2);
        /* refused by the daemon or by libbus: an error, no acknowledgement */
        CHECK_EQ_INT(bus_publish_acked(pub, "$bus.x", NULL, -1, &delivered, &dropped), -EINVAL);
        CHECK_EQ_INT(bus_publish_acked(pub, "a..b", NULL, -1, NULL, NULL), -EINVAL);
        bus_close(sub);
        bus_close(pub);
}

int main(void)
{
        test_stopped_daemon();
        test_closes_without_answer();
        run_both("open", test_publish_acked);
        return 0;
}
