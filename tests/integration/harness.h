/* harness.h: start a real busd on temporary sockets for a test.
 *
 * harness_start() makes a private directory under $TMPDIR, starts the busd
 * binary (path from $BUSD, default: the build tree's busd) listening on
 * <dir>/bus (stream) and <dir>/bus.seq (seqpacket), and returns once busd has
 * written its readiness line to a pipe (--ready-fd): no sleeps, no polling.
 * The daemon gets PR_SET_PDEATHSIG so it dies with the test.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

struct harness {
        char dir[256];
        char stream_path[300];
        char seq_path[300];
        char stream_addr[320]; /* "unix:<dir>/bus" */
        char seq_addr[320];    /* "seqpacket:<dir>/bus.seq" */
        pid_t pid;
};

/* extra_args: NULL-terminated extra busd arguments, or NULL. Returns 0 or a
 * negative errno (after printing why to stderr). */
int harness_start(struct harness *h, const char *const *extra_args);
/* SIGTERM, wait for exit; returns the exit status as from waitpid (or -1).
 * Removes the directory. Safe to call twice. */
int harness_stop(struct harness *h);
/* SIGKILL without cleanup of sockets (for crash tests). */
void harness_kill(struct harness *h);
/* Address of the given transport ("unix" or "seqpacket"). */
const char *harness_addr(const struct harness *h, bool seqpacket);
/* Resident set size of the daemon in KiB (from /proc), or -1. */
long harness_rss_kib(const struct harness *h);
