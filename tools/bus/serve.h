/* serve.h: the running state of `bus serve` (verb_serve.c sets it up,
 * serve_loop.c runs it). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "list.h"

struct bus;
struct bus_call;
struct cli;
struct jsonparse;
struct pollfd;
struct serve_job;

struct serve {
        struct cli *cli;
        struct bus *bus;
        const char *name;
        char **argv;              /* the command */
        struct jsonparse *parser; /* for the commands' stdout */
        struct list waiting;      /* deferred calls not started yet */
        struct list running;
        unsigned nrunning, max_jobs;
        size_t max_message;
        int sigfd;  /* SIGCHLD, SIGINT, SIGTERM, SIGHUP (blocked) */
        bool queue; /* --queue: losing the name is not the end */
        bool stop;
        int status; /* exit code once stopped */
};

/* The method handler (userdata: the struct serve): queues the call. */
int serve_on_call(struct bus *bus, struct bus_call *call, void *userdata);
/* bus_on_name() callback (userdata: the struct serve). */
void serve_on_name(struct bus *bus, const char *name, bool acquired, void *userdata);
/* Runs until a signal, the loss of the name (without --queue) or of the
 * connection. pfd and owner have room for 2 + 3 * max_jobs entries. Returns
 * the exit code. */
int serve_loop(struct serve *s, struct pollfd *pfd, struct serve_job **owner);
/* Stops the commands still running (SIGTERM, SIGKILL after a grace period)
 * and answers every call not answered yet. */
void serve_stop_all(struct serve *s);
