/* cfgerr.h: the "where: why" error text of the configuration parsers (the
 * configuration file, busd/config/config.c; policy files,
 * busd/policy/policy_parse.c; the bridge file, busd/bridge/bridgecfg.c), in
 * one format:
 *
 *   FILE: PLACE: why     e.g. "/etc/busd/policy.json: rules[2].for: unknown user 'alise'"
 *   PLACE: why           when the parser has no file name (it is told text)
 *   why                  when the error is about the whole text
 *
 * PLACE is a dotted path into the JSON ("limits.queue_bytes", "links[0].peers[1]").
 * Pure: formats into the caller's buffer, no I/O, no allocation.
 */
#pragma once

#include <stdarg.h>
#include <stddef.h>

/* Writes "[file: ][at: ]why" into err, `why` formatted from fmt; file NULL or
 * "" and at "" leave their part out. The reason is cut at CFGERR_MAX_WHY - 1
 * bytes, the whole at errlen - 1 (nothing is written when errlen is 0). */
#define CFGERR_MAX_WHY 400
void cfgerr_vformat(char *err, size_t errlen, const char *file, const char *at, const char *fmt, va_list ap)
        __attribute__((format(printf, 5, 0)));
/* The same, returning -EINVAL: `return cfgerr_fail(...)` in a parser. */
int cfgerr_fail(char *err, size_t errlen, const char *file, const char *at, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));
