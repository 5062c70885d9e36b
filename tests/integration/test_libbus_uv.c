/* test_libbus_uv.c: libbus in a libuv loop (libbus/adapters/bus-uv.h), the
 * scenario of test_libbus_adapters.h. */
#include <uv.h>

#include "bus-uv.h"
#include "test.h"
#include "test_libbus_adapters.h"

static void *attach(struct bus *bus)
{
        struct bus_uv *a = NULL;

        CHECK_EQ_INT(bus_attach_uv(bus, uv_default_loop(), &a), 0);
        return a;
}

static void detach(void *a)
{
        bus_detach_uv(a);
}

static void on_cap(uv_timer_t *t)
{
        (void)t;
}

static void iterate(int max_ms)
{
        uv_timer_t cap;

        uv_timer_init(uv_default_loop(), &cap);
        uv_timer_start(&cap, on_cap, (uint64_t)max_ms, 0);
        uv_run(uv_default_loop(), UV_RUN_ONCE);
        uv_close((uv_handle_t *)&cap, NULL);
        uv_run(uv_default_loop(), UV_RUN_NOWAIT); /* its close callback */
}

int main(void)
{
        static const struct loop_ops ops = { "libuv", attach, detach, iterate };

        adapters_scenario(&ops);
        CHECK_EQ_INT(uv_loop_close(uv_default_loop()), 0); /* every handle was closed */
        return 0;
}
