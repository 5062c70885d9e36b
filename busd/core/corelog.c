/* corelog.c: see corelog.h. */
#include "corelog.h"

#include <stdarg.h>
#include <stdio.h>

#include "state.h"

void corelog(struct router *r, const char *fmt, ...)
{
        char line[CORELOG_LINE_MAX];
        va_list ap;

        if (!r->cfg.log)
                return;
        va_start(ap, fmt);
        vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
        r->cfg.log(r->cfg.log_userdata, "%s", line);
}
