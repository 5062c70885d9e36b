/* notify.c: see notify.h. The only file that talks to the service manager. */
#include "notify.h"

#include <stdlib.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#define USEC_PER_SEC 1000000ull
#define NSEC_PER_USEC 1000ull

bool notify_enabled(void)
{
        const char *s = getenv("NOTIFY_SOCKET");

        return s && *s;
}

void notify_ready(const char *status)
{
        if (status)
                sd_notifyf(0, "READY=1\nSTATUS=%s", status);
        else
                sd_notify(0, "READY=1");
}

void notify_status(const char *status)
{
        sd_notifyf(0, "STATUS=%s", status);
}

void notify_reloading(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        sd_notifyf(0, "RELOADING=1\nSTATUS=Reloading the configuration\nMONOTONIC_USEC=%llu",
                   (unsigned long long)ts.tv_sec * USEC_PER_SEC + (unsigned long long)ts.tv_nsec / NSEC_PER_USEC);
}

void notify_stopping(const char *status)
{
        if (status)
                sd_notifyf(0, "STOPPING=1\nSTATUS=%s", status);
        else
                sd_notify(0, "STOPPING=1");
}

void notify_watchdog(void)
{
        sd_notify(0, "WATCHDOG=1");
}

uint64_t notify_watchdog_usec(void)
{
        uint64_t usec = 0;

        return sd_watchdog_enabled(0, &usec) > 0 ? usec : 0;
}
