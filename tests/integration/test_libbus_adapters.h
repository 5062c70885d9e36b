/* test_libbus_adapters.h: one scenario run in each event loop libbus has an
 * adapter for (libbus/adapters/, docs/libbus.md "Event loops"): a service
 * and a client on the same loop, over stream and seqpacket, against a real
 * busd (harness.h): asynchronous calls answered in the loop, events
 * published outside any callback (the adapter must flush them), a call
 * timeout fired by the loop's timer, and the daemon killed and restarted:
 * both buses reconnect through the loop and the call works again. */
#pragma once

struct bus;

/* One loop, as the scenario drives it. */
struct loop_ops {
        const char *name;
        /* Attaches bus to the loop; returns the adapter (the test fails if it cannot). */
        void *(*attach)(struct bus *bus);
        void (*detach)(void *adapter);
        /* Runs the loop until something happened, at most about max_ms. */
        void (*iterate)(int max_ms);
};

/* Runs the scenario; returns 0 (a failed check exits). */
int adapters_scenario(const struct loop_ops *ops);
