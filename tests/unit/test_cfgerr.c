/* test_cfgerr.c: util/cfgerr.c, the "file: place: why" text of the
 * configuration parsers: each part left out when empty, cut to the buffer,
 * nothing written into a buffer of size 0. */
#include <errno.h>
#include <string.h>

#include "cfgerr.h"
#include "test.h"

int main(void)
{
        char err[128];

        CHECK_EQ_INT(cfgerr_fail(err, sizeof(err), "/etc/busd/policy.json", "rules[2].for", "unknown user '%s'",
                                 "alise"),
                     -EINVAL);
        CHECK_STREQ(err, "/etc/busd/policy.json: rules[2].for: unknown user 'alise'");
        cfgerr_fail(err, sizeof(err), "/etc/busd/policy.json", "", "out of memory");
        CHECK_STREQ(err, "/etc/busd/policy.json: out of memory");
        cfgerr_fail(err, sizeof(err), NULL, "limits.queue_bytes", "must be an integer from %d to %d", 1, 2);
        CHECK_STREQ(err, "limits.queue_bytes: must be an integer from 1 to 2");
        cfgerr_fail(err, sizeof(err), "", "", "larger than %u bytes", 1048576u);
        CHECK_STREQ(err, "larger than 1048576 bytes");

        /* cut, terminated */
        char small[12];
        cfgerr_fail(small, sizeof(small), "file", "place", "why");
        CHECK_STREQ(small, "file: place");
        /* errlen 0: untouched */
        small[0] = 'x';
        CHECK_EQ_INT(cfgerr_fail(small, 0, "file", "place", "why"), -EINVAL);
        CHECK_EQ_INT(small[0], 'x');

        /* the reason alone is cut at CFGERR_MAX_WHY - 1 bytes */
        char big[1000], longwhy[600];
        memset(longwhy, 'w', sizeof(longwhy) - 1);
        longwhy[sizeof(longwhy) - 1] = 0;
        cfgerr_fail(big, sizeof(big), NULL, "", "%s", longwhy);
        CHECK_EQ_INT(strlen(big), CFGERR_MAX_WHY - 1);
        return 0;
}
