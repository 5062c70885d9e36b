/* serve_job.h: one run of the command of `bus serve` for one call.
 *
 * A job starts the command with the call's params on its stdin, collects its
 * stdout and the tail of its stderr through non-blocking pipes that the
 * caller polls, and, once the command has exited and closed both pipes,
 * turns the outcome into the call's answer. No polling or bus I/O here
 * besides bus_reply*() in serve_job_answer(); verb_serve.c runs the loop.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "list.h"

struct bus_call;
struct jsonparse;

struct serve_job {
        struct list link;      /* in the waiting or running list of verb_serve.c */
        struct bus_call *call; /* deferred; answered and cleared by serve_job_answer() */
        pid_t pid;             /* the command's pid (and process group); 0 before start */
        bool reaped;
        int status;                /* waitpid() status once reaped */
        int fd_in, fd_out, fd_err; /* our ends of the pipes; -1 once closed */
        char *in;                  /* params as JSON text plus "\n" */
        size_t in_len, in_off;
        char *out; /* stdout so far */
        size_t out_len, out_cap;
        bool out_too_large; /* stdout passed the limit; the rest was discarded */
        char err[512];      /* the last bytes of stderr */
        size_t err_len;
        long long deadline_ms; /* CLOCK_MONOTONIC; 0 for none */
        bool timed_out;
};

/* Takes ownership of call (deferred by the caller). Returns NULL when out of
 * memory (the call is then untouched). */
struct serve_job *serve_job_new(struct bus_call *call);
/* Closes the pipes and frees. The call must have been answered; the command
 * must have been reaped (or never started). Accepts NULL. */
void serve_job_free(struct serve_job *j);

/* Starts argv with the params on stdin and these environment variables added:
 * BUS_ADDRESS (address), BUS_METHOD, BUS_DEST, BUS_SENDER, BUS_SENDER_UID,
 * BUS_SENDER_GID, BUS_SENDER_PID, and BUS_ONEWAY=1 for one-way calls. The
 * command runs in its own process group with default signal handling.
 * deadline_ms: when serve_job_expire() is due (CLOCK_MONOTONIC), or 0.
 * Returns 0 or a negative errno. */
int serve_job_start(struct serve_job *j, char *const *argv, const char *address, long long deadline_ms);
/* Handles poll() readiness (revents) of one of the job's fds; keeps at most
 * max_out bytes of stdout. */
void serve_job_io(struct serve_job *j, int fd, short revents, size_t max_out);
/* Records the exit status from waitpid(). */
void serve_job_reaped(struct serve_job *j, int status);
/* The time limit passed: kills the process group and stops waiting for its
 * pipes. */
void serve_job_expire(struct serve_job *j);
/* Sends sig to the job's process group (if still running). */
void serve_job_kill(struct serve_job *j, int sig);
/* True when the command has exited and both output pipes are closed. */
bool serve_job_done(const struct serve_job *j);
/* Answers the call from the outcome: stdout as JSON (or as a JSON string when
 * it is not JSON; null when empty) on exit status 0, else the error
 * "command_failed" with the status and stderr's last line. max_message: the
 * connection's limit. p parses stdout. */
void serve_job_answer(struct serve_job *j, struct jsonparse *p, size_t max_message, int timeout_ms);
