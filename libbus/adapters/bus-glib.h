/* bus-glib.h: libbus in a GLib main loop (docs/libbus.md, "Event loops").
 *
 * Header only: include it and link libbus and glib-2.0 (pkg-config
 * libbus-glib). A GSource of its own: prepare() gives GLib the bus's timeout
 * (bus_get_timeout()) and the events to watch on its fd, check() says
 * whether the fd is ready or the timeout due, dispatch() runs bus_process().
 * Reconnection (bus_open()) needs nothing more: the fd stays the same.
 *
 *   struct bus_glib *a;
 *   bus_attach_glib(bus, NULL, &a);      // NULL: the default main context
 *   g_main_loop_run(loop);
 *   bus_detach_glib(a);                  // the bus stays open
 *
 * When bus_process() fails for good (a bus without reconnection whose
 * connection ended), the source is destroyed and `on_end` runs if set.
 */
#pragma once

#include <errno.h>
#include <glib.h>
#include <poll.h>

#include "bus.h"

/* bus_process() rounds dispatched in one go before the loop polls again. */
#define BUS_GLIB_ROUNDS 64

struct bus_glib {
        GSource source; /* first: GLib allocates the struct (g_source_new()) */
        struct bus *bus;
        gpointer tag; /* the fd, as g_source_add_unix_fd() knows it */
        void (*on_end)(struct bus_glib *a, int error, void *userdata);
        void *userdata;
};

static inline gboolean bus_glib_prepare_(GSource *s, gint *timeout)
{
        struct bus_glib *a = (struct bus_glib *)s;
        int t = bus_get_timeout(a->bus);

        g_source_modify_unix_fd(s, a->tag, G_IO_IN | (bus_get_events(a->bus) & POLLOUT ? G_IO_OUT : 0));
        *timeout = t;
        return t == 0;
}

static inline gboolean bus_glib_check_(GSource *s)
{
        struct bus_glib *a = (struct bus_glib *)s;

        return g_source_query_unix_fd(s, a->tag) != 0 || bus_get_timeout(a->bus) == 0;
}

static inline gboolean bus_glib_dispatch_(GSource *s, GSourceFunc callback, gpointer user_data)
{
        struct bus_glib *a = (struct bus_glib *)s;
        int r = bus_process(a->bus);

        (void)callback;
        (void)user_data;
        for (int i = 1; i < BUS_GLIB_ROUNDS && r > 0 && bus_get_timeout(a->bus) == 0; i++)
                r = bus_process(a->bus);
        if (r < 0) {
                if (a->on_end)
                        a->on_end(a, r, a->userdata);
                return G_SOURCE_REMOVE;
        }
        return G_SOURCE_CONTINUE;
}

/* Drives bus from context (NULL: the default one) from now on. Returns 0
 * with *ret, or -ENOMEM. */
static inline int bus_attach_glib(struct bus *bus, GMainContext *context, struct bus_glib **ret)
{
        static GSourceFuncs funcs = {
                .prepare = bus_glib_prepare_,
                .check = bus_glib_check_,
                .dispatch = bus_glib_dispatch_,
        };
        struct bus_glib *a = (struct bus_glib *)g_source_new(&funcs, sizeof(*a));

        if (!a)
                return -ENOMEM;
        a->bus = bus;
        a->tag = g_source_add_unix_fd(&a->source, bus_get_fd(bus), G_IO_IN);
        g_source_set_name(&a->source, "libbus");
        g_source_attach(&a->source, context);
        *ret = a;
        return 0;
}

/* Stops driving the bus and frees the adapter. Accepts NULL. */
static inline void bus_detach_glib(struct bus_glib *a)
{
        if (!a)
                return;
        g_source_destroy(&a->source);
        g_source_unref(&a->source);
}
