/* harness.h: a real busd on temporary sockets for a test (tests/util/busdproc.h),
 * with the binary taken from $BUSD or, by default, the build tree's. */
#pragma once

#include <stdbool.h>

#include "busdproc.h"

/* extra_args: NULL-terminated extra busd arguments, or NULL. busd's stderr is
 * inherited (it shows in the test's output). Returns 0 or a negative errno. */
int harness_start(struct busdproc *h, const char *const *extra_args);
/* SIGTERM, wait, remove the directory; returns the wait status (or -1). */
int harness_stop(struct busdproc *h);
/* SIGKILL without cleanup of sockets (for crash tests). */
void harness_kill(struct busdproc *h);
/* Starts busd again on the same socket paths (after harness_kill). */
int harness_restart(struct busdproc *h, const char *const *extra_args);
/* Address of the given transport. */
const char *harness_addr(const struct busdproc *h, bool seqpacket);
/* Resident set size of the daemon in KiB, or -1. */
long harness_rss_kib(const struct busdproc *h);
