/* options.h: busd's command line (docs/busd.md). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "address.h"
#include "router.h"

#define OPTIONS_MAX_LISTEN 8

struct options {
        bool system;
        bool verbose;
        int ready_fd; /* -1: none */
        struct address listen[OPTIONS_MAX_LISTEN];
        size_t nlisten;
        bool listen_given;
        unsigned max_connections;
        unsigned max_handshakes;   /* connections not past hello yet */
        unsigned hello_timeout_ms; /* time a connection has to say hello */
        struct router_limits limits;
};

/* Parses argv. Returns 0 to run, 1 when it printed help/version (exit 0), or
 * -EINVAL after printing a usage error on stderr (exit 64). */
int options_parse(struct options *o, int argc, char **argv);
