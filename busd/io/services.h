/* services.h: service activation, the process side (docs/busd.md).
 *
 * Reads the activation files of the configured directories into the router's
 * table of activatable names, and starts a service when the router asks:
 * `exec` services are spawned (uv_spawn) with BUS_ADDRESS pointing at this
 * bus; `systemd_unit` services are started with `systemctl [--user] start`.
 * A service process that exits before its name is owned, or a systemctl that
 * fails, fails every call waiting for it (router_activation_failed()).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "actfile.h"
#include "list.h"

struct activatable;
struct router;

#define SERVICES_MAX_DIRS 8

struct services {
        uv_loop_t *loop;
        struct router *router;
        bool system;
        char bus_address[128];
        char *dirs[SERVICES_MAX_DIRS];
        size_t ndirs;
        struct actfile *files;
        struct activatable *table;
        size_t n;
        struct list children; /* struct child: service processes we started */
        void (*log)(void *userdata, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
        void *log_userdata;
};

/* Default directories: system: $sysconfdir/busd/services,
 * $datadir/busd/services (/etc and /usr/share for a /usr install); user:
 * $XDG_DATA_HOME/busd/services (~/.local/share/...),
 * $datadir/busd/user-services. Earlier directories win. Fills dirs (malloc'd
 * strings) and returns how many. */
size_t services_default_dirs(bool system, char **dirs, size_t max);
/* dirs are copied. bus_address: the stream address services get as
 * BUS_ADDRESS. Returns 0 or -ENOMEM. */
int services_init(struct services *s, uv_loop_t *loop, struct router *r, bool system, char *const *dirs, size_t ndirs,
                  const char *bus_address);
/* (Re)reads every directory and hands the table to the router. A bad file is
 * logged and skipped; the others load. Returns the number of names loaded. */
size_t services_load(struct services *s);
/* The router's activate callback (userdata: struct services *). */
int services_activate(void *userdata, const struct activatable *e);
/* Stops watching the processes we started (they keep running: they are
 * clients, and reconnect to the next busd). Call before the loop ends. */
void services_stop(struct services *s);
/* Frees the table (after services_stop() and the loop's end). */
void services_deinit(struct services *s);
