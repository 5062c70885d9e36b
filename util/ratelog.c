/* ratelog.c: see ratelog.h. No I/O. */
#include "ratelog.h"

void ratelog_init(struct ratelog *rl, unsigned burst, uint64_t window_ms)
{
        *rl = (struct ratelog){ .window_ms = window_ms, .burst = burst };
}

bool ratelog_allow(struct ratelog *rl, uint64_t now_ms, uint64_t *ret_suppressed)
{
        *ret_suppressed = 0;
        if (!rl->started || now_ms - rl->start_ms >= rl->window_ms || now_ms < rl->start_ms) {
                *ret_suppressed = rl->suppressed;
                rl->start_ms = now_ms;
                rl->lines = 0;
                rl->suppressed = 0;
                rl->started = true;
        }
        if (rl->lines >= rl->burst) {
                rl->suppressed++;
                return false;
        }
        rl->lines++;
        return true;
}
