/* ratelog.h: a rate limit for log lines, the one used by every logger of the
 * daemon (server_log, the policy's denial lines, the bridge's refused
 * connections). At most `burst` lines per window of `window_ms`; the lines
 * beyond are counted, and the count is handed back when the next window
 * opens so the caller can say how many were not logged. Pure: the caller
 * passes the time. Embedded in its owner (ratelog_init()), no allocation.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct ratelog {
        uint64_t window_ms;  /* length of a window */
        unsigned burst;      /* lines allowed per window */
        uint64_t start_ms;   /* when the current window opened */
        unsigned lines;      /* lines allowed in it so far */
        uint64_t suppressed; /* lines refused in it so far */
        bool started;
};

void ratelog_init(struct ratelog *rl, unsigned burst, uint64_t window_ms);
/* May a line be logged at now_ms? Returns true (and counts it) or false (and
 * counts it as suppressed). When a new window opens, *ret_suppressed is set to
 * the number of lines the previous window refused (0 if none): log that count
 * first. A clock that goes backwards opens a new window. */
bool ratelog_allow(struct ratelog *rl, uint64_t now_ms, uint64_t *ret_suppressed);
