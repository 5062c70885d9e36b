/* harness.c: see harness.h. */
#include "harness.h"

#include <stdlib.h>

#ifndef BUSD_PATH
#define BUSD_PATH "busd"
#endif

int harness_start(struct busdproc *h, const char *const *extra_args)
{
        const char *busd = getenv("BUSD");

        return busdproc_start(h, busd && *busd ? busd : BUSD_PATH, "busd-test", extra_args, false);
}

int harness_stop(struct busdproc *h)
{
        return busdproc_stop(h);
}

void harness_kill(struct busdproc *h)
{
        busdproc_kill(h);
}

int harness_restart(struct busdproc *h, const char *const *extra_args)
{
        const char *busd = getenv("BUSD");

        return busdproc_restart(h, busd && *busd ? busd : BUSD_PATH, "busd-test", extra_args);
}

const char *harness_addr(const struct busdproc *h, bool seqpacket)
{
        return seqpacket ? h->seq_addr : h->stream_addr;
}

long harness_rss_kib(const struct busdproc *h)
{
        return busdproc_rss_kib(h->pid);
}
