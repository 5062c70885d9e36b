/* cfgerr.c: see cfgerr.h. No I/O. */
#include "cfgerr.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>

void cfgerr_vformat(char *err, size_t errlen, const char *file, const char *at, const char *fmt, va_list ap)
{
        char why[CFGERR_MAX_WHY];
        bool has_file = file && file[0];

        if (errlen == 0)
                return;
        vsnprintf(why, sizeof(why), fmt, ap);
        snprintf(err, errlen, "%s%s%s%s%s", has_file ? file : "", has_file ? ": " : "", at, at[0] ? ": " : "", why);
}

int cfgerr_fail(char *err, size_t errlen, const char *file, const char *at, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        cfgerr_vformat(err, errlen, file, at, fmt, ap);
        va_end(ap);
        return -EINVAL;
}
