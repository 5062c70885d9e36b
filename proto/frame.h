/* frame.h: the stream transport's framer (JSON Lines, docs/protocol.md §1).
 *
 * Bytes go in as they were read; complete lines come out through a callback,
 * without the line feed, with a trailing carriage return removed, blank lines
 * skipped. Lines are handed out in place from the caller's data whenever they
 * are complete within it; only an incomplete tail is copied. Memory held per
 * framer is bounded by max + one chunk. Pure: no I/O.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

enum {
        FRAME_OK = 0,
        FRAME_PAUSED = 1,    /* the callback asked to stop; call frame_resume() later */
        FRAME_TOO_LARGE = 2, /* a line is longer than max: a framing violation */
};

/* Called with each complete line. Return 0 to go on, non-zero to pause: the
 * rest of the input is kept and delivered by frame_resume(). */
typedef int (*frame_line_fn)(const char *line, size_t len, void *userdata);

struct frame {
        char *buf;  /* kept bytes: complete lines not yet delivered, then a partial line */
        size_t len; /* bytes in buf */
        size_t cap;
        size_t max;  /* longest line accepted, line feed and carriage return excluded */
        bool paused; /* buf may hold complete lines */
};

void frame_init(struct frame *f, size_t max);
void frame_deinit(struct frame *f);
/* Feeds n bytes. Must not be called while paused. Returns FRAME_OK,
 * FRAME_PAUSED, FRAME_TOO_LARGE or -ENOMEM. */
int frame_feed(struct frame *f, const char *data, size_t n, frame_line_fn fn, void *userdata);
/* Delivers kept complete lines after a pause. Same returns as frame_feed. */
int frame_resume(struct frame *f, frame_line_fn fn, void *userdata);
/* The seqpacket transport's framing: one packet is one message. Given a
 * received packet of len bytes (truncated: the kernel reported MSG_TRUNC),
 * returns FRAME_OK with the message length in *ret_len (a single trailing
 * line feed removed), or FRAME_TOO_LARGE when the packet was truncated or
 * its message is longer than max. */
int frame_packet(size_t max, const char *data, size_t len, int truncated, size_t *ret_len);
/* Bytes kept (for accounting). */
size_t frame_pending(const struct frame *f);
