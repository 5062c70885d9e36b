/* bus-uv.h: libbus in a libuv loop (docs/libbus.md, "Event loops").
 *
 * Header only: include it in one or more of your files and link libbus and
 * libuv (pkg-config libbus-uv). It drives a bus from the loop with what any
 * loop needs (bus_get_fd(), bus_get_events(), bus_get_timeout(),
 * bus_process()): a uv_poll_t on the bus's fd, a uv_timer_t for its
 * timeouts, and a uv_prepare_t that, before the loop waits, dispatches what
 * is ready now (messages buffered by calls made outside a callback, queued
 * input) and re-arms the poll and the timer. Reconnection (bus_open()) needs
 * nothing more: the fd stays the same across connections.
 *
 *   struct bus_uv *a;
 *   bus_attach_uv(bus, uv_default_loop(), &a);   // 0 or a negative errno
 *   uv_run(uv_default_loop(), UV_RUN_DEFAULT);
 *   bus_detach_uv(a);                            // then run the loop once to close
 *
 * bus_detach_uv() closes the handles; the struct is freed by their close
 * callbacks (the loop must run once more); the bus stays open (close it
 * yourself, after detaching). When bus_process() fails for good (a bus
 * without reconnection whose connection ended), the adapter stops watching
 * and calls `on_end` if set. Not thread-safe: use the bus and the loop from
 * one thread.
 */
#pragma once

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <uv.h>

#include "bus.h"

/* Dispatches at most this many bus_process() rounds in one go, then lets the
 * loop poll (a zero timer brings it back at once). */
#define BUS_UV_ROUNDS 64

struct bus_uv {
        struct bus *bus;
        uv_poll_t poll;
        uv_timer_t timer;
        uv_prepare_t prepare;
        int events; /* UV_READABLE/UV_WRITABLE the poll watches now */
        int closing;
        /* the bus failed for good (error: bus_process()'s negative errno) */
        void (*on_end)(struct bus_uv *a, int error, void *userdata);
        void *userdata;
};

static inline void bus_uv_closed_(uv_handle_t *h)
{
        struct bus_uv *a = h->data;

        if (--a->closing == 0)
                free(a);
}

/* The bus failed for good: stop watching it, tell the application. */
static inline void bus_uv_end_(struct bus_uv *a, int error)
{
        uv_poll_stop(&a->poll);
        uv_timer_stop(&a->timer);
        uv_prepare_stop(&a->prepare);
        if (a->on_end)
                a->on_end(a, error, a->userdata);
}

static inline void bus_uv_timer_(uv_timer_t *t);
static inline void bus_uv_poll_(uv_poll_t *p, int status, int events);

/* Runs what is ready, then arms the poll and the timer for what comes next. */
static inline void bus_uv_dispatch_(struct bus_uv *a)
{
        int r = 1;

        for (int i = 0; i < BUS_UV_ROUNDS && r > 0 && bus_get_timeout(a->bus) == 0; i++)
                r = bus_process(a->bus);
        if (r < 0) {
                bus_uv_end_(a, r);
                return;
        }
        int want = UV_READABLE | (bus_get_events(a->bus) & POLLOUT ? UV_WRITABLE : 0);
        if (want != a->events) {
                a->events = want;
                uv_poll_start(&a->poll, want, bus_uv_poll_);
        }
        int t = bus_get_timeout(a->bus);
        if (t >= 0)
                uv_timer_start(&a->timer, bus_uv_timer_, (uint64_t)t, 0);
        else
                uv_timer_stop(&a->timer);
}

/* The fd is ready or a timeout is due: one round, then what is ready. */
static inline void bus_uv_wake_(struct bus_uv *a)
{
        int r = bus_process(a->bus);

        if (r < 0)
                bus_uv_end_(a, r);
        else
                bus_uv_dispatch_(a);
}

static inline void bus_uv_poll_(uv_poll_t *p, int status, int events)
{
        (void)status; /* an error on the fd: bus_process() finds it */
        (void)events;
        bus_uv_wake_(p->data);
}

static inline void bus_uv_timer_(uv_timer_t *t)
{
        bus_uv_wake_(t->data);
}

static inline void bus_uv_prepare_(uv_prepare_t *p)
{
        bus_uv_dispatch_(p->data);
}

/* Drives bus from loop from now on. Returns 0 with *ret, or a negative errno
 * (-ENOMEM, or libuv's for the fd). */
static inline int bus_attach_uv(struct bus *bus, uv_loop_t *loop, struct bus_uv **ret)
{
        struct bus_uv *a = calloc(1, sizeof(*a));
        int r;

        if (!a)
                return -ENOMEM;
        a->bus = bus;
        if ((r = uv_poll_init(loop, &a->poll, bus_get_fd(bus))) < 0) {
                free(a);
                return r;
        }
        uv_timer_init(loop, &a->timer);
        uv_prepare_init(loop, &a->prepare);
        a->poll.data = a->timer.data = a->prepare.data = a;
        a->events = UV_READABLE;
        uv_poll_start(&a->poll, UV_READABLE, bus_uv_poll_);
        uv_prepare_start(&a->prepare, bus_uv_prepare_);
        *ret = a;
        return 0;
}

/* Stops driving the bus; the adapter's memory goes once the loop has run the
 * close callbacks. Accepts NULL. */
static inline void bus_detach_uv(struct bus_uv *a)
{
        if (!a)
                return;
        a->closing = 3;
        uv_close((uv_handle_t *)&a->poll, bus_uv_closed_);
        uv_close((uv_handle_t *)&a->timer, bus_uv_closed_);
        uv_close((uv_handle_t *)&a->prepare, bus_uv_closed_);
}
