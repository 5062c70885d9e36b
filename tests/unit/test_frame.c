/* test_frame.c: proto/frame.c, the stream framer (docs/protocol.md §1): lines
 * split across feeds at every position, several lines per feed, CRLF, blank
 * lines, the size limit (also before the newline arrives), pause/resume, and
 * memory released when idle. Also a seeded random comparison against a
 * plain reference splitter. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "frame.h"
#include "test.h"

/* What the callback saw: lines joined with '|' (no test line contains '|'). */
struct sink {
        char out[1 << 16];
        size_t len;
        unsigned lines;
        unsigned pause_every; /* pause after every n-th line (0: never) */
        const char *lo, *hi;  /* caller data of the current feed, for the in-place check */
        unsigned in_place;
};

static int on_line(const char *line, size_t len, void *ud)
{
        struct sink *s = ud;

        CHECK(s->len + len + 1 < sizeof(s->out));
        CHECK(memchr(line, '\n', len) == NULL);
        memcpy(s->out + s->len, line, len);
        s->len += len;
        s->out[s->len++] = '|';
        s->out[s->len] = 0;
        s->lines++;
        if (s->lo && line >= s->lo && line + len <= s->hi)
                s->in_place++;
        return s->pause_every && s->lines % s->pause_every == 0;
}

static void sink_reset(struct sink *s)
{
        s->len = 0;
        s->out[0] = 0;
        s->lines = 0;
        s->in_place = 0;
        s->lo = s->hi = NULL;
}

/* Feeds data in chunks split at the given positions (sorted, within len),
 * resuming after each pause. Returns the first non-OK, non-PAUSED result. */
static int feed_split(struct frame *f, struct sink *s, const char *data, size_t len, const size_t *cuts, size_t ncuts)
{
        size_t start = 0;

        for (size_t i = 0; i <= ncuts; i++) {
                size_t end = i < ncuts ? cuts[i] : len;
                int r = frame_feed(f, data + start, end - start, on_line, s);
                while (r == FRAME_PAUSED)
                        r = frame_resume(f, on_line, s);
                if (r != FRAME_OK)
                        return r;
                start = end;
        }
        return FRAME_OK;
}

static const char stream[] = "{\"type\":\"hello\"}\nab\r\n\n  \t\n\r\nc\n \tx \n{\"a\":\"b\\nc\"}\r\nlast\n";
static const char expected[] = "{\"type\":\"hello\"}|ab|c| \tx |{\"a\":\"b\\nc\"}|last|";

static void test_whole(void)
{
        struct frame f;
        struct sink s = { 0 };

        frame_init(&f, 1024);
        s.lo = stream;
        s.hi = stream + sizeof(stream) - 1;
        CHECK_EQ_INT(frame_feed(&f, stream, sizeof(stream) - 1, on_line, &s), FRAME_OK);
        CHECK_STREQ(s.out, expected);
        CHECK_EQ_INT(s.lines, 6);
        /* complete lines are handed out in place, not copied */
        CHECK_EQ_INT(s.in_place, 6);
        CHECK_EQ_INT(frame_pending(&f), 0);
        frame_deinit(&f);
}

/* Every split into two and three chunks gives the same lines. */
static void test_every_split(void)
{
        size_t n = sizeof(stream) - 1;
        struct sink s = { 0 };

        for (size_t i = 0; i <= n; i++) {
                for (size_t j = i; j <= n; j++) {
                        struct frame f;
                        size_t cuts[2] = { i, j };
                        frame_init(&f, 1024);
                        sink_reset(&s);
                        CHECK_EQ_INT(feed_split(&f, &s, stream, n, cuts, 2), FRAME_OK);
                        if (strcmp(s.out, expected) != 0) {
                                fprintf(stderr, "split at %zu,%zu: got \"%s\"\n", i, j, s.out);
                                exit(1);
                        }
                        CHECK_EQ_INT(frame_pending(&f), 0);
                        frame_deinit(&f);
                }
        }
        /* one byte at a time */
        struct frame f;
        frame_init(&f, 1024);
        sink_reset(&s);
        for (size_t i = 0; i < n; i++)
                CHECK_EQ_INT(frame_feed(&f, stream + i, 1, on_line, &s), FRAME_OK);
        CHECK_STREQ(s.out, expected);
        frame_deinit(&f);
}

static void test_crlf_and_blank(void)
{
        struct frame f;
        struct sink s = { 0 };
        static const char in[] = "a\r\nb\r\r\n\r\n \r\n\t\n \t \n\n";

        frame_init(&f, 64);
        CHECK_EQ_INT(frame_feed(&f, in, sizeof(in) - 1, on_line, &s), FRAME_OK);
        /* one CR before the LF is dropped, a second one is content */
        CHECK_STREQ(s.out, "a|b\r|");
        /* a lone CR not before LF is content */
        sink_reset(&s);
        CHECK_EQ_INT(frame_feed(&f, "x\ry\n", 4, on_line, &s), FRAME_OK);
        CHECK_STREQ(s.out, "x\ry|");
        /* the CR and LF in different feeds */
        sink_reset(&s);
        CHECK_EQ_INT(frame_feed(&f, "zz\r", 3, on_line, &s), FRAME_OK);
        CHECK_EQ_INT(s.lines, 0);
        CHECK_EQ_INT(frame_feed(&f, "\n", 1, on_line, &s), FRAME_OK);
        CHECK_STREQ(s.out, "zz|");
        /* an empty feed changes nothing */
        CHECK_EQ_INT(frame_feed(&f, "", 0, on_line, &s), FRAME_OK);
        CHECK_EQ_INT(frame_pending(&f), 0);
        frame_deinit(&f);
}

/* max = 8: 8 bytes pass, 9 do not, with or without CR, whole or split, and
 * an over-long line is refused before its newline arrives. */
static void test_limit(void)
{
        struct {
                const char *in;
                int result;
                const char *out;
        } cases[] = {
                { "12345678\n", FRAME_OK, "12345678|" },
                { "12345678\r\n", FRAME_OK, "12345678|" },
                { "123456789\n", FRAME_TOO_LARGE, "" },
                { "123456789\r\n", FRAME_TOO_LARGE, "" },
                { "1234567\r\r\n", FRAME_OK, "1234567\r|" },
                { "12345678\r\r\n", FRAME_TOO_LARGE, "" },
                { "ok\n123456789\nnext\n", FRAME_TOO_LARGE, "ok|" }, /* lines before it are delivered */
                { "         \n", FRAME_TOO_LARGE, "" },              /* even blank */
                /* no newline yet */
                { "123456789", FRAME_TOO_LARGE, "" },
                { "12345678\r", FRAME_OK, "" }, /* could still be 8 bytes and CRLF */
                { "12345678\rx", FRAME_TOO_LARGE, "" },
                { "12345678", FRAME_OK, "" },
                { "ok\n123456789", FRAME_TOO_LARGE, "ok|" },
        };
        struct sink s = { 0 };

        for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
                size_t n = strlen(cases[c].in);
                /* whole, then split at every position, then byte by byte */
                for (size_t cut = 0; cut <= n + 1; cut++) {
                        struct frame f;
                        frame_init(&f, 8);
                        sink_reset(&s);
                        int r;
                        if (cut == n + 1) {
                                r = FRAME_OK;
                                for (size_t i = 0; i < n && r == FRAME_OK; i++)
                                        r = frame_feed(&f, cases[c].in + i, 1, on_line, &s);
                        } else {
                                size_t cuts[1] = { cut };
                                r = feed_split(&f, &s, cases[c].in, n, cuts, 1);
                        }
                        if (r != cases[c].result || strcmp(s.out, cases[c].out) != 0) {
                                fprintf(stderr, "limit case %zu cut %zu: result %d lines \"%s\"\n", c, cut, r, s.out);
                                exit(1);
                        }
                        /* memory stays bounded by max + a chunk */
                        CHECK(frame_pending(&f) <= 8 + 1 + n);
                        frame_deinit(&f);
                }
        }
}

static size_t big_lines;
static size_t big_last;
static int count_only(const char *line, size_t len, void *ud)
{
        (void)line;
        (void)ud;
        big_lines++;
        big_last = len;
        return 0;
}

/* The 1 MiB default: exactly max is one line, max + 1 is refused. */
static void test_limit_large(void)
{
        size_t max = 1u << 20;
        char *big = malloc(max + 2);
        struct frame f;

        CHECK(big);
        memset(big, 'x', max + 2);
        frame_init(&f, max);
        big[max] = '\n';
        CHECK_EQ_INT(frame_feed(&f, big, max + 1, count_only, NULL), FRAME_OK);
        CHECK_EQ_INT(big_lines, 1);
        CHECK_EQ_INT(big_last, max);
        /* split: half, then the rest and the newline */
        CHECK_EQ_INT(frame_feed(&f, big, max / 2, count_only, NULL), FRAME_OK);
        CHECK_EQ_INT(frame_feed(&f, big + max / 2, max / 2 + 1, count_only, NULL), FRAME_OK);
        CHECK_EQ_INT(big_lines, 2);
        CHECK_EQ_INT(big_last, max);
        frame_deinit(&f);

        big[max] = 'x';
        big[max + 1] = '\n';
        frame_init(&f, max);
        CHECK_EQ_INT(frame_feed(&f, big, max + 2, count_only, NULL), FRAME_TOO_LARGE);
        frame_deinit(&f);
        frame_init(&f, max);
        CHECK_EQ_INT(frame_feed(&f, big, max, count_only, NULL), FRAME_OK);
        CHECK_EQ_INT(frame_feed(&f, big, 1, count_only, NULL), FRAME_TOO_LARGE); /* before the newline */
        frame_deinit(&f);
        CHECK_EQ_INT(big_lines, 2);
        free(big);
}

static void test_idle_memory(void)
{
        size_t n = 100000;
        char *big = malloc(n + 1);
        struct frame f;

        CHECK(big);
        big_lines = 0;
        memset(big, 'y', n);
        big[n] = '\n';
        frame_init(&f, 1u << 20);
        /* a long partial line is kept ... */
        CHECK_EQ_INT(frame_feed(&f, big, n, count_only, NULL), FRAME_OK);
        CHECK_EQ_INT(frame_pending(&f), n);
        CHECK(f.cap >= n);
        /* ... and released once the line is complete */
        CHECK_EQ_INT(frame_feed(&f, big + n, 1, count_only, NULL), FRAME_OK);
        CHECK_EQ_INT(big_lines, 1);
        CHECK_EQ_INT(big_last, n);
        CHECK_EQ_INT(frame_pending(&f), 0);
        CHECK(f.buf == NULL && f.cap == 0);

        /* also after a pause that kept many complete lines */
        struct sink s = { .pause_every = 1 };
        char *many = malloc(20000);
        CHECK(many);
        for (size_t i = 0; i < 20000; i += 2) {
                many[i] = 'l';
                many[i + 1] = '\n';
        }
        CHECK_EQ_INT(frame_feed(&f, many, 20000, on_line, &s), FRAME_PAUSED);
        CHECK(frame_pending(&f) > 4096);
        int r;
        while ((r = frame_resume(&f, on_line, &s)) == FRAME_PAUSED)
                ;
        CHECK_EQ_INT(r, FRAME_OK);
        CHECK_EQ_INT(s.lines, 10000);
        CHECK_EQ_INT(frame_pending(&f), 0);
        CHECK(f.buf == NULL && f.cap == 0);
        frame_deinit(&f);
        frame_deinit(&f); /* deinit twice is harmless */
        free(many);
        free(big);
}

static void test_pause_resume(void)
{
        struct frame f;
        struct sink s = { .pause_every = 1 };

        frame_init(&f, 64);
        CHECK_EQ_INT(frame_feed(&f, "a\nb\n\nc\npart", 11, on_line, &s), FRAME_PAUSED);
        CHECK_STREQ(s.out, "a|");
        CHECK(f.paused);
        CHECK_EQ_INT(frame_pending(&f), 9); /* "b\n\nc\npart" */
        CHECK_EQ_INT(frame_resume(&f, on_line, &s), FRAME_PAUSED);
        CHECK_STREQ(s.out, "a|b|");
        CHECK_EQ_INT(frame_resume(&f, on_line, &s), FRAME_PAUSED);
        CHECK_STREQ(s.out, "a|b|c|");
        CHECK_EQ_INT(frame_resume(&f, on_line, &s), FRAME_OK); /* only the partial line is left */
        CHECK(!f.paused);
        CHECK_EQ_INT(frame_pending(&f), 4);
        CHECK_EQ_INT(frame_feed(&f, "ial\nd\n", 6, on_line, &s), FRAME_PAUSED);
        CHECK_STREQ(s.out, "a|b|c|partial|");
        CHECK_EQ_INT(frame_resume(&f, on_line, &s), FRAME_PAUSED);
        CHECK_STREQ(s.out, "a|b|c|partial|d|");
        CHECK_EQ_INT(frame_resume(&f, on_line, &s), FRAME_OK);
        CHECK_EQ_INT(frame_pending(&f), 0);
        CHECK_EQ_INT(frame_resume(&f, on_line, &s), FRAME_OK); /* nothing kept: a no-op */
        CHECK_STREQ(s.out, "a|b|c|partial|d|");

        /* a pause on the line completed from a kept tail keeps the rest */
        sink_reset(&s);
        CHECK_EQ_INT(frame_feed(&f, "xx", 2, on_line, &s), FRAME_OK);
        CHECK_EQ_INT(frame_feed(&f, "x\ny\nz", 5, on_line, &s), FRAME_PAUSED);
        CHECK_STREQ(s.out, "xxx|");
        CHECK_EQ_INT(frame_pending(&f), 3);
        CHECK_EQ_INT(frame_resume(&f, on_line, &s), FRAME_PAUSED);
        CHECK_STREQ(s.out, "xxx|y|");
        CHECK_EQ_INT(frame_resume(&f, on_line, &s), FRAME_OK);
        CHECK_EQ_INT(frame_feed(&f, "\n", 1, on_line, &s), FRAME_PAUSED);
        CHECK_STREQ(s.out, "xxx|y|z|");
        CHECK_EQ_INT(frame_resume(&f, on_line, &s), FRAME_OK);

        /* a too-long kept line is still refused on resume */
        frame_deinit(&f);
        frame_init(&f, 4);
        sink_reset(&s);
        CHECK_EQ_INT(frame_feed(&f, "a\nbbbbbbbb", 10, on_line, &s), FRAME_PAUSED);
        CHECK_EQ_INT(frame_resume(&f, on_line, &s), FRAME_TOO_LARGE);
        frame_deinit(&f);
}

/* ---- random streams against a reference splitter ------------------------- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next_rand(void)
{
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        return rng;
}

/* The rules of §1 written plainly: lines end at LF, one CR before it goes,
 * blank lines are skipped, a line longer than max is a violation, and so is
 * an unterminated tail that can no longer become a valid line. */
static int reference(const char *in, size_t n, size_t max, char *out, size_t outcap)
{
        size_t start = 0, o = 0;

        out[0] = 0;
        for (size_t i = 0; i < n; i++) {
                if (in[i] != '\n')
                        continue;
                size_t len = i - start;
                if (len && in[start + len - 1] == '\r')
                        len--;
                if (len > max)
                        return FRAME_TOO_LARGE;
                bool blank = true;
                for (size_t k = 0; k < len; k++)
                        blank &= in[start + k] == ' ' || in[start + k] == '\t';
                if (!blank) {
                        CHECK(o + len + 2 < outcap);
                        memcpy(out + o, in + start, len);
                        o += len;
                        out[o++] = '|';
                        out[o] = 0;
                }
                start = i + 1;
        }
        size_t tail = n - start;
        if (tail > max + 1 || (tail == max + 1 && in[n - 1] != '\r'))
                return FRAME_TOO_LARGE;
        return FRAME_OK;
}

static void test_random(void)
{
        static const char alphabet[] = "ab \t\r\n\n{}";
        char in[600], want[1200];
        size_t cuts[8];
        struct sink s = { 0 };

        for (int iter = 0; iter < 20000; iter++) {
                size_t n = next_rand() % sizeof(in);
                size_t max = 1 + next_rand() % 24;
                for (size_t i = 0; i < n; i++)
                        in[i] = alphabet[next_rand() % (sizeof(alphabet) - 1)];
                size_t ncuts = n ? next_rand() % 8 : 0;
                for (size_t k = 0; k < ncuts; k++)
                        cuts[k] = next_rand() % (n + 1);
                for (size_t a = 1; a < ncuts; a++) /* insertion sort */
                        for (size_t b = a; b > 0 && cuts[b - 1] > cuts[b]; b--) {
                                size_t t = cuts[b];
                                cuts[b] = cuts[b - 1];
                                cuts[b - 1] = t;
                        }
                int wr = reference(in, n, max, want, sizeof(want));
                struct frame f;
                frame_init(&f, max);
                sink_reset(&s);
                s.pause_every = (unsigned)(next_rand() % 4);
                int r = feed_split(&f, &s, in, n, cuts, ncuts);
                if (r != wr || strcmp(s.out, want) != 0) {
                        fprintf(stderr, "random case %d (max %zu): result %d want %d\n got  \"%s\"\n want \"%s\"\n",
                                iter, max, r, wr, s.out, want);
                        exit(1);
                }
                frame_deinit(&f);
        }
}

int main(void)
{
        test_whole();
        test_every_split();
        test_crlf_and_blank();
        test_limit();
        test_limit_large();
        test_idle_memory();
        test_pause_resume();
        test_random();
        return 0;
}
