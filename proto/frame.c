/* frame.c: see frame.h. */
#include "frame.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void frame_init(struct frame *f, size_t max)
{
        memset(f, 0, sizeof(*f));
        f->max = max;
}

void frame_deinit(struct frame *f)
{
        free(f->buf);
        memset(f, 0, sizeof(*f));
}

size_t frame_pending(const struct frame *f)
{
        return f->len;
}

static int keep(struct frame *f, const char *data, size_t n)
{
        if (f->cap - f->len < n) {
                size_t cap = f->cap ? f->cap : 256;
                while (cap - f->len < n)
                        cap *= 2;
                char *nb = realloc(f->buf, cap);
                if (!nb)
                        return -ENOMEM;
                f->buf = nb;
                f->cap = cap;
        }
        memcpy(f->buf + f->len, data, n);
        f->len += n;
        return 0;
}

/* Releases a large buffer once it is empty, so idle connections stay small. */
static void shrink(struct frame *f)
{
        if (f->len == 0 && f->cap > 4096) {
                free(f->buf);
                f->buf = NULL;
                f->cap = 0;
        }
}

/* An incomplete line is already too long when it exceeds max, unless its one
 * extra byte is the carriage return that may precede the line feed. */
static bool tail_too_long(const struct frame *f, const char *tail, size_t n)
{
        return n > f->max + 1 || (n == f->max + 1 && tail[n - 1] != '\r');
}

static bool blank(const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (s[i] != ' ' && s[i] != '\t')
                        return false;
        return true;
}

/* Delivers one line (without its line feed). */
static int emit(struct frame *f, const char *line, size_t n, frame_line_fn fn, void *ud)
{
        if (n > 0 && line[n - 1] == '\r')
                n--;
        if (n > f->max)
                return FRAME_TOO_LARGE;
        if (blank(line, n))
                return FRAME_OK;
        return fn(line, n, ud) ? FRAME_PAUSED : FRAME_OK;
}

/* Processes complete lines in data[0..n); keeps the tail (and everything after
 * a pause) in f->buf, which must be empty on entry unless data is f->buf. */
static int scan(struct frame *f, const char *data, size_t n, frame_line_fn fn, void *ud)
{
        size_t i = 0;
        int r = FRAME_OK;

        while (i < n) {
                const char *nl = memchr(data + i, '\n', n - i);
                if (!nl) {
                        if (tail_too_long(f, data + i, n - i))
                                return FRAME_TOO_LARGE;
                        break;
                }
                size_t ln = (size_t)(nl - (data + i));
                r = emit(f, data + i, ln, fn, ud);
                if (r == FRAME_TOO_LARGE)
                        return r;
                i += ln + 1;
                if (r == FRAME_PAUSED)
                        break;
        }
        f->paused = r == FRAME_PAUSED;
        if (data == f->buf) {
                memmove(f->buf, f->buf + i, n - i);
                f->len = n - i;
                shrink(f);
                return r;
        }
        if (i < n && keep(f, data + i, n - i) < 0)
                return -ENOMEM;
        return r;
}

int frame_feed(struct frame *f, const char *data, size_t n, frame_line_fn fn, void *ud)
{
        if (f->len > 0) {
                /* finish the kept partial line first */
                const char *nl = memchr(data, '\n', n);
                size_t take = nl ? (size_t)(nl - data) : n;
                if (f->len + take > f->max + 1)
                        return FRAME_TOO_LARGE;
                if (keep(f, data, take) < 0)
                        return -ENOMEM;
                if (!nl)
                        return tail_too_long(f, f->buf, f->len) ? FRAME_TOO_LARGE : FRAME_OK;
                size_t ln = f->len;
                f->len = 0;
                int r = emit(f, f->buf, ln, fn, ud);
                shrink(f);
                data += take + 1;
                n -= take + 1;
                if (r == FRAME_TOO_LARGE)
                        return r;
                if (r == FRAME_PAUSED) {
                        f->paused = true;
                        return keep(f, data, n) < 0 ? -ENOMEM : FRAME_PAUSED;
                }
        }
        return scan(f, data, n, fn, ud);
}

int frame_resume(struct frame *f, frame_line_fn fn, void *ud)
{
        f->paused = false;
        if (f->len == 0)
                return FRAME_OK;
        return scan(f, f->buf, f->len, fn, ud);
}

int frame_packet(size_t max, const char *data, size_t len, int truncated, size_t *ret_len)
{
        if (len > 0 && data[len - 1] == '\n')
                len--;
        if (truncated || len > max)
                return FRAME_TOO_LARGE;
        *ret_len = len;
        return FRAME_OK;
}
