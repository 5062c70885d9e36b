/* actfile.h: the activation file format (docs/busd.md, "Service activation").
 *
 * One JSON file per activatable name, named <name>.json:
 *   {"name": "org.example.Clock", "exec": ["/usr/bin/clock", "--quiet"], "timeout_ms": 10000}
 *   {"name": "org.example.Clock", "systemd_unit": "clock.service"}
 * Exactly one of exec (a non-empty array of strings, the first an absolute
 * path) and systemd_unit; timeout_ms optional (1..600000, default
 * ACTFILE_DEFAULT_TIMEOUT_MS). Unknown members are errors. Pure: text in,
 * struct out; no I/O.
 */
#pragma once

#include <stddef.h>

#define ACTFILE_DEFAULT_TIMEOUT_MS 25000u
#define ACTFILE_MAX_ARGS 64

struct actfile {
        char *name;
        char **argv; /* NULL-terminated, or NULL for a systemd unit */
        char *unit;  /* or NULL */
        unsigned timeout_ms;
};

/* Parses one file's text. expected_name: the name the file's name implies
 * (the file must declare the same), or NULL. Returns 0 with *ret filled (free
 * with actfile_deinit), or -EINVAL with a reason in errbuf, or -ENOMEM. */
int actfile_parse(const char *text, size_t len, const char *expected_name, struct actfile *ret, char *errbuf,
                  size_t errlen);
void actfile_deinit(struct actfile *a);
