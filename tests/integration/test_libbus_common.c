/* test_libbus_common.c: see test_libbus_common.h. */
#include "test_libbus_common.h"

#include <errno.h>
#include <json-c/json.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void run_both(const char *test, void (*body)(const char *addr, bool seqpacket))
{
        struct busdproc h;

        CHECK_EQ_INT(harness_start(&h, NULL), 0);
        for (int seq = 0; seq < 2; seq++) {
                fprintf(stderr, "== %s over %s\n", test, seq ? "seqpacket" : "stream");
                body(harness_addr(&h, seq), seq);
        }
        CHECK_EQ_INT(harness_stop(&h), 0);
}

struct bus *open_bus(const char *addr, const char *display_name)
{
        struct bus *bus = NULL;
        int r = bus_open(addr, display_name, &bus);

        if (r < 0)
                fprintf(stderr, "bus_open(%s): %s\n", addr, bus_open_error());
        CHECK_EQ_INT(r, 0);
        return bus;
}

static int on_quit(struct bus *bus, struct bus_call *call, void *userdata)
{
        bus_quit(bus, 0);
        return 0;
}

static void *service_main(void *userdata)
{
        struct service *s = userdata;

        s->result = bus_run(s->bus);
        return NULL;
}

void service_start(struct service *s, const char *addr, const char *name, void (*setup)(struct bus *, void *),
                   void *userdata)
{
        s->bus = open_bus(addr, "test service");
        s->name = name;
        if (name)
                CHECK_EQ_INT(bus_request_name(s->bus, name, 0), BUS_NAME_PRIMARY_OWNER);
        CHECK_EQ_INT(bus_add_method(s->bus, "quit", "stop the test service", NULL, NULL, on_quit, NULL), 0);
        if (setup)
                setup(s->bus, userdata);
        sync_bus(s->bus); /* the daemon has the declarations before anyone calls */
        CHECK_EQ_INT(pthread_create(&s->thread, NULL, service_main, s), 0);
}

void service_stop(struct service *s, struct bus *client)
{
        CHECK_EQ_INT(bus_call(client, bus_unique_id(s->bus), "quit", NULL, 10000, NULL), 0);
        CHECK_EQ_INT(pthread_join(s->thread, NULL), 0);
        CHECK_EQ_INT(s->result, 0);
        if (s->name)
                CHECK_EQ_INT(bus_release_name(s->bus, s->name), 0);
        bus_close(s->bus);
        s->bus = NULL;
}

pid_t child_start(const char *addr, void (*fn)(const char *addr, int ready_fd, void *userdata), void *userdata,
                  char *buf, size_t len)
{
        int p[2];
        pid_t parent = getpid();

        CHECK(pipe(p) == 0);
        fflush(NULL);
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (getppid() != parent)
                        _exit(127);
                close(p[0]);
                fn(addr, p[1], userdata);
                _exit(0);
        }
        close(p[1]);
        ssize_t n;
        do
                n = read(p[0], buf, len - 1);
        while (n < 0 && errno == EINTR);
        close(p[0]);
        CHECK(n > 0);
        buf[n] = 0;
        return pid;
}

void child_ready(int ready_fd, const char *msg)
{
        CHECK(write(ready_fd, msg, strlen(msg)) == (ssize_t)strlen(msg));
        close(ready_fd);
}

int child_wait(pid_t pid)
{
        int st;

        while (waitpid(pid, &st, 0) < 0)
                CHECK(errno == EINTR);
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

void sync_bus(struct bus *bus)
{
        CHECK_EQ_INT(bus_call(bus, "org.busd", "ping", NULL, 10000, NULL), 0);
}

void drain(struct bus *bus)
{
        int r;

        while ((r = bus_process(bus)) > 0)
                ;
        CHECK_EQ_INT(r, 0);
}

long long now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The daemon's count of events it dropped for this connection. */
long long drops_in_daemon(struct bus *bus)
{
        struct json_object *res = NULL, *peers;
        long long n = -1;

        CHECK_EQ_INT(bus_call(bus, "org.busd", "stats", NULL, 10000, &res), 0);
        CHECK(json_object_object_get_ex(res, "peers", &peers));
        for (size_t i = 0; i < json_object_array_length(peers); i++) {
                struct json_object *p = json_object_array_get_idx(peers, i);
                if (strcmp(json_object_get_string(json_object_object_get(p, "unique")), bus_unique_id(bus)) == 0)
                        n = json_object_get_int64(json_object_object_get(p, "drops"));
        }
        json_object_put(res);
        return n;
}

int method_square(struct bus *bus, struct bus_call *call, void *userdata)
{
        int64_t x = json_object_get_int64(bus_call_params(call));
        struct json_object *res = json_object_new_int64(x * x);

        bus_reply(call, res);
        json_object_put(res);
        return 0;
}

int method_never(struct bus *bus, struct bus_call *call, void *userdata)
{
        bus_call_defer(call);
        return 0;
}
