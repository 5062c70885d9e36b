/* busdproc.h: run a busd for a test or a benchmark.
 *
 * busdproc_start() makes a private directory under $TMPDIR, starts busd
 * listening on <dir>/bus (stream) and <dir>/bus.seq (seqpacket), and returns
 * once busd has written its readiness line to a pipe (--ready-fd): no sleeps,
 * no polling. The daemon gets PR_SET_PDEATHSIG so it dies with its parent.
 * If $BUSD_WRAPPER is set (e.g. "valgrind --error-exitcode=99 --quiet"), busd
 * is exec'd through it: its words, split at blanks, come before busd's argv.
 * Shared by tests/integration and tests/bench; not part of the product.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

struct busdproc {
        char dir[256];
        char stream_path[300];
        char seq_path[300];
        char stream_addr[320]; /* "unix:<dir>/bus" */
        char seq_addr[320];    /* "seqpacket:<dir>/bus.seq" */
        char log_path[300];    /* busd's stderr when logged to a file, else "" */
        pid_t pid;
};

/* busd: the binary. prefix: the temporary directory's name prefix.
 * extra_args: NULL-terminated extra busd arguments, or NULL. log_to_file:
 * send busd's stderr to <dir>/busd.log instead of inheriting it.
 * Returns 0 or a negative errno (after printing why to stderr). */
int busdproc_start(struct busdproc *d, const char *busd, const char *prefix, const char *const *extra_args,
                   bool log_to_file);
/* SIGTERM and wait; returns the wait status (or -1 if it was not running);
 * says so on stderr when it is the wrapper's --error-exitcode.
 * Removes the directory (not the log: see busdproc_cleanup). Safe twice. */
int busdproc_stop(struct busdproc *d);
/* SIGKILL and wait, leaving the socket files behind (crash tests). */
void busdproc_kill(struct busdproc *d);
/* Starts busd again on the same paths (after busdproc_kill, which leaves the
 * stale socket files: busd replaces them), as busdproc_start(). Returns 0,
 * -EINVAL if it is still running or was never started, or a negative errno. */
int busdproc_restart(struct busdproc *d, const char *busd, const char *prefix, const char *const *extra_args);
/* Removes the directory and what busd leaves in it, the log included. */
void busdproc_cleanup(struct busdproc *d);
/* Resident set size of a process in KiB (from /proc), or -1. */
long busdproc_rss_kib(pid_t pid);
