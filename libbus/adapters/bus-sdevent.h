/* bus-sdevent.h: libbus in an sd-event loop (systemd's; docs/libbus.md,
 * "Event loops").
 *
 * Header only: include it and link libbus and libsystemd (pkg-config
 * libbus-sdevent). An I/O source on bus_get_fd() whose prepare callback,
 * run before each wait of the loop, dispatches what is ready now (messages
 * buffered by calls made outside a callback, queued input) and sets the
 * events to watch, and a CLOCK_MONOTONIC time source for bus_get_timeout().
 * Reconnection (bus_open()) needs nothing more: the fd stays the same.
 *
 *   struct bus_sdevent *a;
 *   bus_attach_sdevent(bus, event, &a);   // 0 or a negative errno
 *   sd_event_loop(event);
 *   bus_detach_sdevent(a);                // frees it; the bus stays open
 *
 * When bus_process() fails for good (a bus without reconnection whose
 * connection ended), the sources are disabled and `on_end` runs if set.
 */
#pragma once

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <systemd/sd-event.h>
#include <time.h>

#include "bus.h"

/* bus_process() rounds dispatched in one go before the loop polls again. */
#define BUS_SDEVENT_ROUNDS 64

struct bus_sdevent {
        struct bus *bus;
        sd_event_source *io, *time;
        void (*on_end)(struct bus_sdevent *a, int error, void *userdata);
        void *userdata;
};

static inline void bus_sdevent_end_(struct bus_sdevent *a, int error)
{
        sd_event_source_set_enabled(a->io, SD_EVENT_OFF);
        sd_event_source_set_enabled(a->time, SD_EVENT_OFF);
        if (a->on_end)
                a->on_end(a, error, a->userdata);
}

/* Before the loop waits: what is ready runs now; then the events and the
 * deadline for what comes next. */
static inline int bus_sdevent_prepare_(sd_event_source *s, void *userdata)
{
        struct bus_sdevent *a = userdata;
        int r = 1;

        (void)s;
        for (int i = 0; i < BUS_SDEVENT_ROUNDS && r > 0 && bus_get_timeout(a->bus) == 0; i++)
                r = bus_process(a->bus);
        if (r < 0) {
                bus_sdevent_end_(a, r);
                return 0;
        }
        sd_event_source_set_io_events(a->io, EPOLLIN | (bus_get_events(a->bus) & POLLOUT ? EPOLLOUT : 0));
        int t = bus_get_timeout(a->bus);
        if (t < 0)
                return sd_event_source_set_enabled(a->time, SD_EVENT_OFF);
        uint64_t now;
        sd_event_now(sd_event_source_get_event(a->io), CLOCK_MONOTONIC, &now);
        sd_event_source_set_time(a->time, now + (uint64_t)t * 1000);
        return sd_event_source_set_enabled(a->time, SD_EVENT_ONESHOT);
}

static inline void bus_sdevent_wake_(struct bus_sdevent *a)
{
        int r = bus_process(a->bus);

        if (r < 0)
                bus_sdevent_end_(a, r);
}

static inline int bus_sdevent_io_(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        (void)s;
        (void)fd;
        (void)revents;
        bus_sdevent_wake_(userdata);
        return 0;
}

static inline int bus_sdevent_time_(sd_event_source *s, uint64_t usec, void *userdata)
{
        (void)s;
        (void)usec;
        bus_sdevent_wake_(userdata);
        return 0;
}

/* Stops driving the bus and frees the adapter. Accepts NULL. */
static inline void bus_detach_sdevent(struct bus_sdevent *a)
{
        if (!a)
                return;
        sd_event_source_disable_unref(a->io);
        sd_event_source_disable_unref(a->time);
        free(a);
}

/* Drives bus from event from now on. Returns 0 with *ret, or a negative errno. */
static inline int bus_attach_sdevent(struct bus *bus, sd_event *event, struct bus_sdevent **ret)
{
        struct bus_sdevent *a = calloc(1, sizeof(*a));
        int r;

        if (!a)
                return -ENOMEM;
        a->bus = bus;
        r = sd_event_add_io(event, &a->io, bus_get_fd(bus), EPOLLIN, bus_sdevent_io_, a);
        if (r >= 0)
                r = sd_event_source_set_prepare(a->io, bus_sdevent_prepare_);
        if (r >= 0)
                r = sd_event_add_time(event, &a->time, CLOCK_MONOTONIC, UINT64_MAX, 0, bus_sdevent_time_, a);
        if (r >= 0)
                r = sd_event_source_set_enabled(a->time, SD_EVENT_OFF);
        if (r < 0) {
                bus_detach_sdevent(a);
                return r;
        }
        *ret = a;
        return 0;
}
