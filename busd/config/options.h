/* options.h: busd's command line and configuration file (docs/busd.md).
 *
 * Settings come in three layers, the later winning: the built-in defaults,
 * the configuration file (busd/config/config.c parses it), the command line. The
 * command line's layer is kept (cli) so that a reload (SIGHUP) re-reads the
 * file under it: an option given on the command line stays in force.
 * The flat fields below are the settings in force; the transport reads them.
 */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "address.h"
#include "config.h"
#include "metricsaddr.h"
#include "router.h"

#define OPTIONS_MAX_LISTEN CONFIG_MAX_LISTEN

struct options {
        /* settings in force: defaults < file < command line */
        bool verbose;
        struct address listen[OPTIONS_MAX_LISTEN];
        size_t nlisten;
        bool listen_given;                 /* from --listen or the file: no default sockets */
        struct metricsaddr metrics_listen; /* GET /metrics served here (set), at start only */
        unsigned max_connections;
        unsigned max_handshakes;   /* connections not past hello yet */
        unsigned hello_timeout_ms; /* time a connection has to say hello */
        struct router_limits limits;

        /* the command line only */
        bool system;
        int ready_fd; /* -1: none */
        bool check_config;
        char config_path[PATH_MAX]; /* "" when there is no default (no HOME) */
        bool config_required;       /* --config given: the file must exist */
        char *services_dirs[8];     /* --services-dir, in order (none: the defaults) */
        const char *policy_dir;     /* --policy-dir, or NULL for the default (policyload.h) */
        /* the bridge (docs/bridge.md): off unless one of these is given */
        const char *bridge_config; /* --bridge-config FILE */
        char *bridge_listen[8], *bridge_connect[16], *bridge_peers[16];
        size_t nbridge_listen, nbridge_connect, nbridge_peers;
        const char *bridge_cert, *bridge_key, *bridge_ca;
        size_t nservices_dirs;

        /* the layers */
        struct config cli;  /* what the command line set */
        struct config file; /* the file as last applied (given = 0 without a file) */
};

/* Parses argv into o (the settings in force are then defaults < command
 * line, and config_path is set). Returns 0 to run, 1 when it printed
 * help/version (exit 0), or -EINVAL after printing a usage error on stderr
 * (exit 64). */
int options_parse(struct options *o, int argc, char **argv);

/* Reads and parses o->config_path into *ret. Returns 0 when the file was
 * read, 1 when there is no file and none is required (*ret = the defaults,
 * given 0), or a negative errno with "PATH: reason" in err: a missing
 * --config file (-ENOENT), an unreadable one, or a bad one (-EINVAL). *ret is
 * untouched on failure. No change to o. */
int options_read_config(const struct options *o, struct config *ret, char *err, size_t errlen);

/* The settings that the file layer `file` gives under o's command line:
 * defaults < file < command line. */
void options_effective(const struct options *o, const struct config *file, struct config *ret);

/* Makes `file` the file layer and updates the settings in force. The listen
 * and metrics addresses are set only when with_listen (at start: sockets are never
 * reopened on a reload). */
void options_apply(struct options *o, const struct config *file, bool with_listen);
