/* openmetrics.h: the daemon's counters as OpenMetrics text, the one renderer
 * of `bus metrics` and of busd's `GET /metrics` (docs/busd.md, METRICS).
 *
 * Input is an `org.busd stats` answer (docs/protocol.md §4.6) as a json-c
 * tree: the daemon-wide counters, the `uids` accounts and the `bridge`
 * section's links. Output is the OpenMetrics 1.0.0 text exposition (or, when
 * a scraper asks for it, Prometheus' text format 0.0.4). Members a daemon of
 * another version does not send are left out, never made up. Pure: no I/O;
 * the only allocation is the output text.
 */
#pragma once

#include <stddef.h>

struct json_object;

#define OPENMETRICS_CONTENT_TYPE "application/openmetrics-text; version=1.0.0; charset=utf-8"
#define OPENMETRICS_PROMETHEUS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

enum openmetrics_format {
        OPENMETRICS_TEXT,       /* OpenMetrics 1.0.0: UNIT lines, counters named without _total, "# EOF" */
        OPENMETRICS_PROMETHEUS, /* Prometheus text 0.0.4 */
};

/* Renders `stats` (an org.busd stats answer; not changed) in format f.
 * Returns 0 with *ret a NUL-terminated text the caller frees and *ret_len
 * its length, -EINVAL when stats is not an object, or -ENOMEM. ret and
 * ret_len are untouched on failure. */
int openmetrics_render(struct json_object *stats, enum openmetrics_format f, char **ret, size_t *ret_len);

/* The format to answer an HTTP Accept header with (NULL: none): OpenMetrics
 * unless the header asks for text/plain and not for OpenMetrics. */
enum openmetrics_format openmetrics_negotiate(const char *accept);

/* The Content-Type of format f. */
const char *openmetrics_content_type(enum openmetrics_format f);
