/* config.h: busd's configuration file (docs/busd.md, CONFIGURATION).
 *
 * One JSON object, parsed strictly (proto/jsonparse: no duplicate members,
 * no NaN, no single quotes, integers within 64 bits), then checked against a
 * table of keys: every key must be known, every value of the right type and
 * within its range. Sections are nested objects with their own table, so a new
 * section is one more table. Errors name the key's path and the reason
 * ("limits.queue_bytes: must be an integer from 4096 to 4294967296, not -1").
 *
 * Pure: text in, struct out. The caller reads the file; nothing here does I/O.
 * The command line (options.c) fills the same struct, with the same ranges,
 * so that the layers merge with config_merge(): defaults < file < command line.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "address.h"
#include "buslimits.h"
#include "metricsaddr.h"
#include "router.h"

#define CONFIG_MAX_LISTEN 8
#define CONFIG_SYSTEM_PATH "/etc/busd/busd.json"
#define CONFIG_USER_PATH "busd/busd.json"        /* under $XDG_CONFIG_HOME or ~/.config */
#define CONFIG_MAX_FILE_SIZE BUS_MAX_CONFIG_FILE /* larger files are refused before parsing */

/* Which keys a source gave (struct config.given). */
enum {
        CONFIG_QUEUE_BYTES = 1u << 0,
        CONFIG_MAX_PENDING_CALLS = 1u << 1,
        CONFIG_MAX_NAMES = 1u << 2,
        CONFIG_MAX_SUBSCRIPTIONS = 1u << 3,
        CONFIG_STALL_TIMEOUT_MS = 1u << 4,
        CONFIG_MAX_CONNECTIONS = 1u << 5,
        CONFIG_MAX_HANDSHAKES = 1u << 6,
        CONFIG_HELLO_TIMEOUT_MS = 1u << 7,
        CONFIG_VERBOSE = 1u << 8,
        CONFIG_LISTEN = 1u << 9,
        CONFIG_METRICS_LISTEN = 1u << 10,
};

struct config {
        struct router_limits limits;
        unsigned max_connections;
        unsigned max_handshakes;
        unsigned hello_timeout_ms;
        bool verbose;
        struct address listen[CONFIG_MAX_LISTEN];
        size_t nlisten;
        struct metricsaddr metrics_listen; /* set = false: no metrics served */
        uint32_t given;                    /* CONFIG_* bits: the keys this source set */
};

enum config_type {
        CONFIG_T_UINT,    /* unsigned */
        CONFIG_T_SIZE,    /* size_t */
        CONFIG_T_BOOL,    /* bool */
        CONFIG_T_LISTEN,  /* array of 1 to CONFIG_MAX_LISTEN address strings */
        CONFIG_T_METRICS, /* a metrics address string (metricsaddr.h) */
        CONFIG_T_SECTION, /* an object with its own table of keys */
};

struct config_key {
        const char *name;
        enum config_type type;
        size_t offset;                    /* of the value in struct config */
        uint64_t min, max;                /* numbers: the accepted range */
        uint32_t bit;                     /* CONFIG_*; 0 for a section */
        const struct config_key *section; /* CONFIG_T_SECTION: its keys, ended by a NULL name */
};

/* The built-in defaults; given = 0. */
void config_defaults(struct config *c);

/* Parses the text of a configuration file (len bytes, need not be
 * NUL-terminated). On success returns 0 and fills *ret with the defaults
 * overlaid by the file's values, `given` telling which keys the file set. On
 * failure returns -EINVAL (bad JSON, unknown key, bad value, file too large)
 * or -ENOMEM, leaves *ret untouched and writes "path: reason" into err
 * (always NUL-terminated when errlen > 0). */
int config_parse(const char *text, size_t len, struct config *ret, char *err, size_t errlen);

/* The key at a dotted path ("limits.queue_bytes", "verbose"), or NULL. */
const struct config_key *config_key(const char *path);
/* Stores a number for a CONFIG_T_UINT or CONFIG_T_SIZE key and marks it
 * given. The caller has checked v against k->min and k->max. */
void config_set_number(struct config *c, const struct config_key *k, uint64_t v);

/* The default file: CONFIG_SYSTEM_PATH for the system bus; for a user bus
 * $XDG_CONFIG_HOME/busd/busd.json (when set and absolute) or
 * $HOME/.config/busd/busd.json. The environment comes in as arguments (may
 * be NULL). Returns 0, -ENOENT (a user bus with neither variable usable) or
 * -ENAMETOOLONG. */
int config_default_path(bool system, const char *xdg_config_home, const char *home, char *buf, size_t len);

/* Describes what differs between two configurations, listen and metrics_listen excluded
 * ("limits.queue_bytes 4194304 -> 8192, verbose false -> true"; "" when
 * nothing). Returns the number of keys that differ. */
size_t config_diff(const struct config *old, const struct config *new_, char *buf, size_t len);
/* Lists the paths of the keys in `bits` ("limits.max_names, verbose"; "" for none). */
void config_key_names(uint32_t bits, char *buf, size_t len);
/* Whether two configurations serve the same listen addresses (in any order). */
bool config_same_listen(const struct config *a, const struct config *b);

/* Copies into dst every value that src gave (src->given), and adds those bits
 * to dst->given: config_merge(&eff, &file); config_merge(&eff, &cli). */
void config_merge(struct config *dst, const struct config *src);
