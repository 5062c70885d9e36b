/* test_libbus_common.h: helpers for the libbus integration tests: a busd per
 * test binary, services running bus_run() in a thread, forked clients.
 * Synchronisation is by blocking calls and pipes, never by sleeping. */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>

#include "bus.h"
#include "harness.h"
#include "test.h"

/* Starts a busd and runs body(address, seqpacket) over the stream and then
 * the seqpacket transport of it. */
void run_both(const char *test, void (*body)(const char *addr, bool seqpacket));

/* bus_open() that must succeed. */
struct bus *open_bus(const char *addr, const char *display_name);

/* A service: a bus of its own driven by bus_run() in a thread. It has a
 * method "quit" (makes bus_run() return), used by service_stop(). */
struct service {
        struct bus *bus;
        const char *name;
        pthread_t thread;
        int result;
};

/* Opens a bus, requests `name` (NULL: none; must become primary owner), runs
 * setup(bus, userdata) (NULL: none) in the calling thread, waits until the
 * daemon has handled all of it, then starts bus_run() in a thread. */
void service_start(struct service *s, const char *addr, const char *name, void (*setup)(struct bus *, void *),
                   void *userdata);
/* Calls "quit" on the service from `client`, joins the thread, releases the
 * name (so that the next test can have it at once) and closes the bus. */
void service_stop(struct service *s, struct bus *client);

/* Forks a child that runs fn(addr, ready_fd, userdata) and then _exit(0).
 * The child writes to ready_fd (child_ready) when it is ready; child_start
 * returns once it did, with the bytes the child wrote in buf (len <= 255). */
pid_t child_start(const char *addr, void (*fn)(const char *addr, int ready_fd, void *userdata), void *userdata,
                  char *buf, size_t len);
void child_ready(int ready_fd, const char *msg);
/* waitpid; returns the exit status (or 128 + signal). */
int child_wait(pid_t pid);

/* A blocking round trip to the daemon: when it returns, the daemon has
 * handled everything this bus sent before, and everything the daemon queued
 * for this bus before it is in the bus's incoming queue. */
void sync_bus(struct bus *bus);
/* Dispatches until nothing is left (bus_process() == 0). */
void drain(struct bus *bus);
long long now_ms(void);
/* The daemon's count of events it dropped for bus's connection (org.busd stats). */
long long drops_in_daemon(struct bus *bus);
/* Methods several tests serve: "square" answers params * params (an
 * integer); "never" defers the call and never answers it. */
int method_square(struct bus *bus, struct bus_call *call, void *userdata);
int method_never(struct bus *bus, struct bus_call *call, void *userdata);
