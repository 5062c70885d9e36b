/* clock-service.c: a small libbus service, as an example.
 *
 * Owns org.example.Clock, declares its methods with descriptions and shapes
 * (see `bus introspect org.example.Clock`), answers "get" at once and
 * "sleep" later (a deferred call), and publishes clock.tick every second.
 * It runs its own poll() loop around the bus, the way a program with other
 * file descriptors and timers would.
 *
 *   clock-service [ADDRESS]      (default: $BUS_ADDRESS, then the user bus)
 */
#include <errno.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus.h"

#define MAX_SLEEPERS 64

struct sleeper {
        struct bus_call *call; /* deferred; NULL when the slot is free */
        long long wake_ms;
};

struct clock {
        struct sleeper sleepers[MAX_SLEEPERS];
        long long next_tick_ms;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
        stop = sig;
}

static long long now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* {"iso": "2024-05-01T12:00:00Z", "unix": 1714564800} */
static struct json_object *time_now(void)
{
        struct json_object *o = json_object_new_object();
        time_t t = time(NULL);
        struct tm tm;
        char iso[32];

        gmtime_r(&t, &tm);
        strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%SZ", &tm);
        json_object_object_add(o, "iso", json_object_new_string(iso));
        json_object_object_add(o, "unix", json_object_new_int64((int64_t)t));
        return o;
}

static int on_get(struct bus *bus, struct bus_call *call, void *userdata)
{
        struct json_object *tz = NULL, *now;

        json_object_object_get_ex(bus_call_params(call), "tz", &tz);
        if (tz && strcmp(json_object_get_string(tz), "UTC") != 0)
                return bus_reply_error(call, "org.example.Clock.UnknownZone", "only UTC is known, not '%s'",
                                       json_object_get_string(tz));
        now = time_now();
        bus_reply(call, now);
        json_object_put(now);
        return 0;
}

/* Answers after params.ms milliseconds: the call is deferred and answered
 * from the loop. */
static int on_sleep(struct bus *bus, struct bus_call *call, void *userdata)
{
        struct clock *c = userdata;
        struct json_object *ms = NULL;

        json_object_object_get_ex(bus_call_params(call), "ms", &ms);
        if (!json_object_is_type(ms, json_type_int) || json_object_get_int64(ms) < 0 ||
            json_object_get_int64(ms) > 60000)
                return bus_reply_error(call, "org.example.Clock.BadParams", "sleep takes {\"ms\": 0..60000}");
        for (int i = 0; i < MAX_SLEEPERS; i++) {
                if (!c->sleepers[i].call) {
                        c->sleepers[i].call = bus_call_defer(call);
                        c->sleepers[i].wake_ms = now_ms() + json_object_get_int64(ms);
                        return 0;
                }
        }
        return bus_reply_error(call, "org.example.Clock.Busy", "%d sleepers already", MAX_SLEEPERS);
}

/* Answers due sleepers and publishes a tick when it is time; returns the
 * milliseconds until the next of these. */
static int run_timers(struct bus *bus, struct clock *c)
{
        long long now = now_ms(), next = c->next_tick_ms;

        if (now >= c->next_tick_ms) {
                struct json_object *t = time_now();
                if (bus_publish(bus, "clock.tick", t) < 0)
                        fprintf(stderr, "clock-service: publish: %s\n", bus_last_error(bus));
                json_object_put(t);
                c->next_tick_ms += 1000;
                next = c->next_tick_ms;
        }
        for (int i = 0; i < MAX_SLEEPERS; i++) {
                struct sleeper *s = &c->sleepers[i];
                if (!s->call)
                        continue;
                if (now >= s->wake_ms) {
                        struct json_object *t = time_now();
                        bus_reply(s->call, t); /* frees the call */
                        json_object_put(t);
                        s->call = NULL;
                } else if (s->wake_ms < next) {
                        next = s->wake_ms;
                }
        }
        return (int)(next - now);
}

int main(int argc, char **argv)
{
        struct clock c = { .next_tick_ms = now_ms() };
        struct bus *bus;
        int r;

        if (bus_open(argc > 1 ? argv[1] : NULL, "clock service", &bus) < 0) {
                fprintf(stderr, "clock-service: %s\n", bus_open_error());
                return 1;
        }
        r = bus_request_name(bus, "org.example.Clock", BUS_NAME_NO_QUEUE);
        if (r != BUS_NAME_PRIMARY_OWNER) {
                fprintf(stderr, "clock-service: org.example.Clock: %s\n",
                        r < 0 ? bus_last_error(bus) : "already owned by another connection");
                bus_close(bus);
                return 1;
        }
        if (bus_add_method(bus, "get", "the current time (UTC)", "{\"tz\":\"string, optional: UTC\"}",
                           "{\"iso\":\"string\",\"unix\":\"int\"}", on_get, &c) < 0 ||
            bus_add_method(bus, "sleep", "answers with the time after ms milliseconds", "{\"ms\":\"int 0..60000\"}",
                           "{\"iso\":\"string\",\"unix\":\"int\"}", on_sleep, &c) < 0) {
                fprintf(stderr, "clock-service: %s\n", bus_last_error(bus));
                bus_close(bus);
                return 1;
        }
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
        printf("clock-service: %s owns org.example.Clock\n", bus_unique_id(bus));
        fflush(stdout);

        while (!stop) {
                int timeout = run_timers(bus, &c), t = bus_get_timeout(bus);
                if (t >= 0 && t < timeout)
                        timeout = t;
                struct pollfd p = { .fd = bus_get_fd(bus), .events = (short)bus_get_events(bus) };
                if (poll(&p, 1, timeout) < 0 && errno != EINTR)
                        break;
                /* process until there is nothing left, then wait again */
                while ((r = bus_process(bus)) > 0)
                        ;
                if (r < 0) {
                        fprintf(stderr, "clock-service: %s\n", bus_last_error(bus));
                        break;
                }
        }
        bus_close(bus); /* deferred sleepers are dropped; their callers get callee_gone */
        return stop ? 0 : 1;
}
