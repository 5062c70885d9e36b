/* test_libbus_glib.c: libbus in a GLib main loop
 * (libbus/adapters/bus-glib.h), the scenario of test_libbus_adapters.h. */
#include <glib.h>

#include "bus-glib.h"
#include "test.h"
#include "test_libbus_adapters.h"

static void *attach(struct bus *bus)
{
        struct bus_glib *a = NULL;

        CHECK_EQ_INT(bus_attach_glib(bus, NULL, &a), 0);
        return a;
}

static void detach(void *a)
{
        bus_detach_glib(a);
}

static gboolean on_cap(gpointer unused)
{
        (void)unused;
        return G_SOURCE_REMOVE;
}

static void iterate(int max_ms)
{
        guint cap = g_timeout_add((guint)max_ms, on_cap, NULL);

        g_main_context_iteration(NULL, TRUE);
        GSource *s = g_main_context_find_source_by_id(NULL, cap);
        if (s)
                g_source_destroy(s);
}

int main(void)
{
        static const struct loop_ops ops = { "GLib", attach, detach, iterate };

        return adapters_scenario(&ops);
}
