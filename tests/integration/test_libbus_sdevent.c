/* test_libbus_sdevent.c: libbus in an sd-event loop
 * (libbus/adapters/bus-sdevent.h), the scenario of test_libbus_adapters.h. */
#include <systemd/sd-event.h>

#include "bus-sdevent.h"
#include "test.h"
#include "test_libbus_adapters.h"

static sd_event *event;

static void *attach(struct bus *bus)
{
        struct bus_sdevent *a = NULL;

        CHECK_EQ_INT(bus_attach_sdevent(bus, event, &a), 0);
        return a;
}

static void detach(void *a)
{
        bus_detach_sdevent(a);
}

static void iterate(int max_ms)
{
        CHECK(sd_event_run(event, (uint64_t)max_ms * 1000) >= 0);
}

int main(void)
{
        static const struct loop_ops ops = { "sd-event", attach, detach, iterate };

        CHECK(sd_event_new(&event) >= 0);
        adapters_scenario(&ops);
        sd_event_unref(event);
        return 0;
}
