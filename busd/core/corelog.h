/* corelog.h: the routing core's log lines, through the sink the carrier
 * configured (router_config.log; none: nothing). Pure: the sink does the I/O.
 */
#pragma once

struct router;

/* One line, cut at CORELOG_LINE_MAX bytes. */
#define CORELOG_LINE_MAX 512
void corelog(struct router *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
