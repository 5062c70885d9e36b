/* util.c: names of classes and codes, the random generator and the byte
 * buffers of bus-abuse. Pure: no I/O. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abuse.h"

static const char *const cls_names[CL_COUNT] = {
        [CL_TRUNCATED] = "truncated",
        [CL_BITFLIP] = "bit-flipped",
        [CL_WRONG_TYPE] = "wrong types",
        [CL_DEPTH] = "depth",
        [CL_UTF8] = "invalid UTF-8",
        [CL_NUL] = "NUL bytes",
        [CL_DUPKEY] = "duplicate keys",
        [CL_HUGENUM] = "huge numbers",
        [CL_EMPTY] = "empty",
        [CL_MAXIMAL] = "maximal strings",
        [CL_DAEMON_TYPE] = "daemon-only types",
        [CL_FORGED] = "forged identity",
        [CL_GARBAGE] = "random garbage",
        [CL_STRAY] = "stray answers",
        [CL_PREHELLO] = "before hello",
        [CL_OVERSIZE] = "oversize",
};

static const char *const code_names[C_COUNT] = {
        [C_PARSE] = "parse_error",           [C_INVALID] = "invalid_message",
        [C_UNKNOWN_TYPE] = "unknown_type",   [C_FORGED] = "forged_identity",
        [C_VERSION] = "unsupported_version", [C_HELLO_REQUIRED] = "hello_required",
        [C_NO_SUCH_CALL] = "no_such_call",   [C_UNKNOWN_METHOD] = "unknown_method",
        [C_NO_OWNER] = "no_owner",           [C_RESERVED] = "reserved",
        [C_TOO_LARGE] = "too_large",         [C_LIMIT] = "limit",
        [C_HELLO_TIMEOUT] = "hello_timeout", [C_OTHER] = "(other)",
};

const char *cls_name(enum cls c)
{
        return c < CL_COUNT ? cls_names[c] : "?";
}

const char *code_name(enum code c)
{
        return c < C_COUNT ? code_names[c] : "?";
}

enum code code_parse(const char *s)
{
        for (int i = 0; s && i < C_OTHER; i++)
                if (strcmp(s, code_names[i]) == 0)
                        return (enum code)i;
        return C_OTHER;
}

/* ---- randomness and bytes --------------------------------------------------- */

void gen_init(struct gen *g, uint64_t seed)
{
        g->rng = seed ? seed : 0x9e3779b97f4a7c15ull;
        g->next_id = 1;
}

uint64_t gen_rand(struct gen *g)
{
        /* xorshift64*: fast, and reproducible from --seed */
        uint64_t x = g->rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        g->rng = x;
        return x * 0x2545f4914f6cdd1dull;
}

uint64_t gen_below(struct gen *g, uint64_t n)
{
        return n ? gen_rand(g) % n : 0;
}

int bytes_reserve(struct bytes *b, size_t more)
{
        if (b->cap - b->len >= more)
                return 0;
        size_t cap = b->cap ? b->cap : 4096;
        while (cap - b->len < more)
                cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
                return -ENOMEM;
        b->p = p;
        b->cap = cap;
        return 0;
}

int bytes_add(struct bytes *b, const void *p, size_t n)
{
        if (bytes_reserve(b, n) < 0)
                return -ENOMEM;
        memcpy(b->p + b->len, p, n);
        b->len += n;
        return 0;
}

int bytes_str(struct bytes *b, const char *s)
{
        return bytes_add(b, s, strlen(s));
}

int bytes_printf(struct bytes *b, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        int n = vsnprintf(NULL, 0, fmt, ap);
        va_end(ap);
        if (n < 0 || bytes_reserve(b, (size_t)n + 1) < 0)
                return -ENOMEM;
        va_start(ap, fmt);
        vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
        va_end(ap);
        b->len += (size_t)n;
        return 0;
}

void bytes_free(struct bytes *b)
{
        free(b->p);
        memset(b, 0, sizeof(*b));
}
