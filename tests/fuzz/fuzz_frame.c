/* fuzz_frame.c: the stream framer (proto/frame.c) against a plain reference
 * splitter, fed whole and in random chunks with random pauses.
 *
 * Input: byte 0 picks max (1..80), bytes 1-4 seed the chunking and pausing,
 * the rest is the stream. Both feeds must give exactly the reference's lines
 * and the reference's verdict (ok / too large), and keep memory bounded by
 * max + one chunk. */
#include <stdbool.h>
#include <string.h>

#include "frame.h"
#include "fuzz.h"

struct out {
        char *s;
        size_t len, cap;
        unsigned lines;
        uint32_t rng; /* 0: never pause */
        size_t max;
};

static void append(struct out *o, const char *p, size_t n)
{
        if (o->len + n + 1 > o->cap) {
                o->cap = (o->len + n + 1) * 2;
                o->s = realloc(o->s, o->cap);
                FUZZ_CHECK(o->s);
        }
        memcpy(o->s + o->len, p, n);
        o->len += n;
}

static uint32_t next(uint32_t *x)
{
        *x ^= *x << 13;
        *x ^= *x >> 17;
        *x ^= *x << 5;
        return *x;
}

static int on_line(const char *line, size_t len, void *ud)
{
        struct out *o = ud;

        FUZZ_CHECK(len > 0 && len <= o->max);
        FUZZ_CHECK(memchr(line, '\n', len) == NULL);
        /* length-prefixed, so that lines containing any byte compare exactly */
        append(o, (const char *)&len, sizeof(len));
        append(o, line, len);
        o->lines++;
        return o->rng && next(&o->rng) % 3 == 0;
}

/* The rules of docs/protocol.md §1 written plainly. */
static int reference(const uint8_t *in, size_t n, struct out *o)
{
        size_t start = 0;

        for (size_t i = 0; i < n; i++) {
                if (in[i] != '\n')
                        continue;
                size_t len = i - start;
                if (len && in[start + len - 1] == '\r')
                        len--;
                if (len > o->max)
                        return FRAME_TOO_LARGE;
                bool blank = true;
                for (size_t k = 0; k < len; k++)
                        blank &= in[start + k] == ' ' || in[start + k] == '\t';
                if (!blank) {
                        append(o, (const char *)&len, sizeof(len));
                        append(o, (const char *)in + start, len);
                        o->lines++;
                }
                start = i + 1;
        }
        size_t tail = n - start;
        if (tail > o->max + 1 || (tail == o->max + 1 && in[n - 1] != '\r'))
                return FRAME_TOO_LARGE;
        return FRAME_OK;
}

/* Feeds in chunks chosen by rng (0: all at once), resuming after pauses. */
static int feed(const uint8_t *in, size_t n, uint32_t rng, struct out *o)
{
        struct frame f;
        size_t off = 0;
        int r = FRAME_OK;

        frame_init(&f, o->max);
        while (off < n && r == FRAME_OK) {
                size_t chunk = rng ? 1 + next(&rng) % (2 * o->max + 8) : n;
                if (chunk > n - off)
                        chunk = n - off;
                r = frame_feed(&f, (const char *)in + off, chunk, on_line, o);
                while (r == FRAME_PAUSED)
                        r = frame_resume(&f, on_line, o);
                off += chunk;
                /* kept bytes: at most a line and its CR, plus what a pause left */
                FUZZ_CHECK(r != FRAME_OK || frame_pending(&f) <= o->max + 1);
        }
        frame_deinit(&f);
        return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (size < 5)
                return 0;
        size_t max = 1 + data[0] % 80;
        uint32_t seed;
        memcpy(&seed, data + 1, 4);
        seed |= 1;
        data += 5;
        size -= 5;

        struct out want = { .max = max }, whole = { .max = max }, chunked = { .max = max, .rng = seed };
        int rw = reference(data, size, &want);
        int r1 = feed(data, size, 0, &whole);
        int r2 = feed(data, size, seed, &chunked);
        FUZZ_CHECK(r1 == rw);
        FUZZ_CHECK(r2 == rw);
        FUZZ_CHECK(whole.lines == want.lines && whole.len == want.len);
        FUZZ_CHECK(chunked.lines == want.lines && chunked.len == want.len);
        FUZZ_CHECK(want.len == 0 || memcmp(whole.s, want.s, want.len) == 0);
        FUZZ_CHECK(want.len == 0 || memcmp(chunked.s, want.s, want.len) == 0);
        free(want.s);
        free(whole.s);
        free(chunked.s);
        return 0;
}
