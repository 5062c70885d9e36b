/* notify.h: telling the service manager how busd is doing (sd_notify(3)).
 *
 * A thin wrapper over libsystemd's sd_notify(), so that the rest of busd
 * neither includes <systemd/sd-daemon.h> nor depends on how the message
 * travels. Without $NOTIFY_SOCKET (not run by systemd as Type=notify) every
 * call is a no-op. The environment is left in place: sd_notify() reads
 * $NOTIFY_SOCKET at each call. Messages are best-effort: a failure to send is
 * not an error for busd (the manager, not busd, decides what a missing
 * notification means).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* True when a service manager listens ($NOTIFY_SOCKET is set). */
bool notify_enabled(void);
/* READY=1 with a STATUS= line (status may be NULL). */
void notify_ready(const char *status);
/* STATUS=... alone. */
void notify_status(const char *status);
/* RELOADING=1 (with MONOTONIC_USEC=, as systemd 253+ wants for
 * Type=notify-reload); READY=1 follows once the reload is done. */
void notify_reloading(void);
/* STOPPING=1 with a STATUS= line (may be NULL). */
void notify_stopping(const char *status);
/* WATCHDOG=1: the loop is alive. */
void notify_watchdog(void);
/* The watchdog interval in microseconds when the manager expects WATCHDOG=1
 * from this process ($WATCHDOG_USEC, and $WATCHDOG_PID is ours or unset),
 * else 0. */
uint64_t notify_watchdog_usec(void);
