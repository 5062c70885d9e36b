/* jsonscan.c: see jsonscan.h. A recursive descent over the text, bounded by
 * the nesting limit; the only memory it takes is scratch that it keeps
 * between calls (decoded strings, member names of open objects, a hash table
 * for objects with many members). No I/O. */
#include "jsonscan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH_LIMIT 1024
/* Objects with at most this many members are checked for a repeated name
 * pair by pair; larger ones through a hash table. */
#define PAIRWISE_MAX 16
#define GROW(n) ((n) < 16 ? 16 : (n)*2)

/* A member name of an object being scanned: decoded bytes (the raw bytes
 * when the name had no escape). */
struct key {
        const char *p;
        size_t len;
        uint32_t hash;
};

struct jsonscan {
        int max_depth;
        int deepest; /* the deepest nesting of the text scanned last (jsonscan_depth()) */
        char *buf;   /* decoded strings: never more bytes than the text */
        size_t buf_cap, buf_used;
        struct key *keys; /* names of the objects open at the scan position */
        size_t nkeys, keys_cap;
        struct jsonscan_member *members; /* the root object's members */
        size_t nmembers, members_cap;
        uint32_t *table; /* open addressing, indices + 1 into keys */
        size_t table_cap;
        /* the text being scanned */
        const char *s;
        size_t len, pos;
        size_t ws; /* whitespace bytes skipped so far */
        const char *why;
        size_t err_pos;
        bool oom;
};

enum mode {
        NESTED, /* validate only */
        MEMBER, /* a member of the root object: decode a scalar */
        ROOT,   /* the text's value: decode a scalar, collect an object's members */
};

static int value(struct jsonscan *sc, int depth, struct jsonscan_value *v, enum mode mode);

struct jsonscan *jsonscan_new(int max_depth)
{
        struct jsonscan *sc;

        if (max_depth < 1 || max_depth > MAX_DEPTH_LIMIT)
                return NULL;
        sc = calloc(1, sizeof(*sc));
        if (sc)
                sc->max_depth = max_depth;
        return sc;
}

void jsonscan_free(struct jsonscan *sc)
{
        if (!sc)
                return;
        free(sc->buf);
        free(sc->keys);
        free(sc->members);
        free(sc->table);
        free(sc);
}

/* Records the first failure (the reason is a static string). Returns -1. */
static int fail(struct jsonscan *sc, size_t pos, const char *why)
{
        if (!sc->why) {
                sc->why = why;
                sc->err_pos = pos;
        }
        return -1;
}

static int out_of_memory(struct jsonscan *sc)
{
        sc->oom = true;
        return fail(sc, sc->pos, "out of memory");
}

static bool is_ws(char c)
{
        return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

static void skip_ws(struct jsonscan *sc)
{
        size_t p = sc->pos;

        while (p < sc->len && is_ws(sc->s[p]))
                p++;
        sc->ws += p - sc->pos;
        sc->pos = p;
}

static bool is_digit(char c)
{
        return c >= '0' && c <= '9';
}

static int hex_digit(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* The four hex digits at s (n bytes available), or -1. */
static long hex4(const char *s, size_t n)
{
        long v = 0;

        if (n < 4)
                return -1;
        for (int i = 0; i < 4; i++) {
                int d = hex_digit(s[i]);
                if (d < 0)
                        return -1;
                v = v * 16 + d;
        }
        return v;
}

/* Length of the valid UTF-8 sequence at s (RFC 3629 table 3-7: no overlong
 * forms, no surrogates, nothing above U+10FFFF), or 0. Written again here,
 * as the \u escape checks are, rather than shared with jsonparse.c's
 * pre-check: the two are each other's oracle (fuzz_jsonscan), and one helper
 * for both would hide a bug in it from the differential fuzzing. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
        unsigned char c = s[0], lo = 0x80, hi = 0xbf;
        size_t len;

        if (c >= 0xc2 && c <= 0xdf)
                len = 2;
        else if (c >= 0xe0 && c <= 0xef)
                len = 3, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
        else if (c >= 0xf0 && c <= 0xf4)
                len = 4, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
        else
                return 0;
        if (n < len || s[1] < lo || s[1] > hi)
                return 0;
        for (size_t i = 2; i < len; i++)
                if (s[i] < 0x80 || s[i] > 0xbf)
                        return 0;
        return len;
}

/* Checks the escape at s[p] ('\\'). Returns its length, or 0 after fail().
 * *nul is set for \u0000. */
static size_t escape(struct jsonscan *sc, size_t p, bool *nul)
{
        const char *s = sc->s;
        size_t left = sc->len - p;

        if (left < 2)
                return fail(sc, p, "incomplete text (unterminated string)"), 0;
        switch (s[p + 1]) {
        case '"':
        case '\\':
        case '/':
        case 'b':
        case 'f':
        case 'n':
        case 'r':
        case 't':
                return 2;
        case 'u':
                break;
        default:
                return fail(sc, p, "invalid escape in string"), 0;
        }
        long cp = hex4(s + p + 2, left - 2);
        if (cp < 0)
                return fail(sc, p, "invalid \\u escape (four hex digits expected)"), 0;
        if (cp >= 0xdc00 && cp <= 0xdfff)
                return fail(sc, p, "lone UTF-16 surrogate in a \\u escape"), 0;
        if (cp >= 0xd800 && cp <= 0xdbff) {
                long lo = left >= 12 && s[p + 6] == '\\' && s[p + 7] == 'u' ? hex4(s + p + 8, left - 8) : -1;
                if (lo < 0xdc00 || lo > 0xdfff)
                        return fail(sc, p, "lone UTF-16 surrogate in a \\u escape"), 0;
                return 12;
        }
        if (cp == 0)
                *nul = true;
        return 6;
}

static size_t put_utf8(char *out, unsigned long cp)
{
        if (cp < 0x80) {
                out[0] = (char)cp;
                return 1;
        }
        if (cp < 0x800) {
                out[0] = (char)(0xc0 | (cp >> 6));
                out[1] = (char)(0x80 | (cp & 0x3f));
                return 2;
        }
        if (cp < 0x10000) {
                out[0] = (char)(0xe0 | (cp >> 12));
                out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
                out[2] = (char)(0x80 | (cp & 0x3f));
                return 3;
        }
        out[0] = (char)(0xf0 | (cp >> 18));
        out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[3] = (char)(0x80 | (cp & 0x3f));
        return 4;
}

/* Decodes the validated string content s[0..n) into out (NUL-terminated).
 * Returns the decoded length. */
static size_t decode(const char *s, size_t n, char *out)
{
        size_t o = 0;

        for (size_t i = 0; i < n;) {
                if (s[i] != '\\') {
                        out[o++] = s[i++];
                        continue;
                }
                char e = s[i + 1];
                i += 2;
                switch (e) {
                case 'b':
                        out[o++] = '\b';
                        break;
                case 'f':
                        out[o++] = '\f';
                        break;
                case 'n':
                        out[o++] = '\n';
                        break;
                case 'r':
                        out[o++] = '\r';
                        break;
                case 't':
                        out[o++] = '\t';
                        break;
                case 'u': {
                        unsigned long cp = (unsigned long)hex4(s + i, 4);
                        i += 4;
                        if (cp >= 0xd800 && cp <= 0xdbff) {
                                unsigned long lo = (unsigned long)hex4(s + i + 2, 4);
                                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                                i += 6;
                        }
                        o += put_utf8(out + o, cp);
                        break;
                }
                default: /* " \ / */
                        out[o++] = e;
                        break;
                }
        }
        out[o] = '\0';
        return o;
}

/* Are the 8 bytes at s all plain string bytes (0x20-0x7f but '"' and '\\')?
 * Word-at-a-time tests, exact for "any byte": below 0x20, from 0x80, equal. */
static bool plain8(const char *s)
{
        const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
        uint64_t v, quote, bslash;

        memcpy(&v, s, sizeof(v));
        quote = v ^ (ones * '"');
        bslash = v ^ (ones * '\\');
        return !((v | ((v - ones * 0x20) & ~v) | ((quote - ones) & ~quote) | ((bslash - ones) & ~bslash)) & high);
}

/* Scans the string at sc->pos. With `decode` its decoded bytes go to the
 * scanner's buffer (NUL-terminated); without, *ret is the raw content (not
 * terminated) when it had no escape, else decoded too if `escaped_decode`.
 * A member name (is_key) may not hold U+0000. */
static int string(struct jsonscan *sc, bool decode_it, bool is_key, const char **ret, size_t *ret_len)
{
        const char *s = sc->s;
        size_t start = sc->pos, p = start + 1, len = sc->len;
        bool escaped = false, nul = false;

        for (;;) {
                /* eight plain bytes at a time: most of a payload's strings */
                while (len - p >= 8 && plain8(s + p))
                        p += 8;
                if (p >= len)
                        return fail(sc, start, "incomplete text (unterminated string)");
                unsigned char c = (unsigned char)s[p];
                if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
                        p++;
                        continue;
                }
                if (c == '"')
                        break;
                if (c == '\\') {
                        size_t n = escape(sc, p, &nul);
                        if (!n)
                                return -1;
                        escaped = true;
                        p += n;
                        continue;
                }
                if (c < 0x20)
                        return fail(sc, p, c == 0 ? "NUL byte in string" : "raw control character in string");
                size_t n = utf8_len((const unsigned char *)s + p, len - p);
                if (!n)
                        return fail(sc, p, "invalid UTF-8 in string");
                p += n;
        }
        if (is_key && nul)
                return fail(sc, start, "member name with U+0000");
        const char *content = s + start + 1;
        size_t n = p - start - 1;
        sc->pos = p + 1;
        if (!ret)
                return 0;
        if (!decode_it && !escaped) {
                *ret = content;
                *ret_len = n;
                return 0;
        }
        /* decoded + NUL <= content + two quotes: the buffer sized to the text holds every string */
        char *out = sc->buf + sc->buf_used;
        *ret_len = escaped ? decode(content, n, out) : (memcpy(out, content, n), out[n] = '\0', n);
        sc->buf_used += *ret_len + 1;
        *ret = out;
        return 0;
}

/* An RFC 8259 number; an integer must fit 64 bits (json-c would clamp it). */
static int number(struct jsonscan *sc, struct jsonscan_value *v)
{
        const char *s = sc->s;
        size_t start = sc->pos, p = start, len = sc->len;
        bool neg = false, is_int = true;

        if (s[p] == '-') {
                neg = true;
                p++;
        }
        if (p >= len || !is_digit(s[p]))
                return fail(sc, p, p >= len ? "incomplete text" : "invalid number"); /* "-Infinity": the I */
        size_t digits = p;
        if (s[p] == '0') {
                /* no leading zero: say so, rather than "expected ','" after it */
                if (++p < len && is_digit(s[p]))
                        return fail(sc, start, "invalid number");
        } else
                while (p < len && is_digit(s[p]))
                        p++;
        size_t digits_end = p;
        if (p < len && s[p] == '.') {
                p++;
                if (p >= len || !is_digit(s[p]))
                        return fail(sc, start, "invalid number");
                while (p < len && is_digit(s[p]))
                        p++;
                is_int = false;
        }
        if (p < len && (s[p] == 'e' || s[p] == 'E')) {
                p++;
                if (p < len && (s[p] == '+' || s[p] == '-'))
                        p++;
                if (p >= len || !is_digit(s[p]))
                        return fail(sc, start, "invalid number");
                while (p < len && is_digit(s[p]))
                        p++;
                is_int = false;
        }
        sc->pos = p;
        if (!is_int) {
                if (v)
                        v->type = JSONSCAN_DOUBLE;
                return 0;
        }
        uint64_t u = 0;
        for (size_t i = digits; i < digits_end; i++) {
                unsigned d = (unsigned)(s[i] - '0');
                if (u > (UINT64_MAX - d) / 10)
                        return fail(sc, start, "integer out of 64-bit range");
                u = u * 10 + d;
        }
        if (neg && u > (uint64_t)INT64_MAX + 1)
                return fail(sc, start, "integer out of 64-bit range");
        if (v) {
                v->type = JSONSCAN_INT;
                if (neg)
                        v->i = u == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)u;
                else if (u <= INT64_MAX)
                        v->i = (int64_t)u;
                else
                        v->big = true, v->u = u;
        }
        return 0;
}

static int literal(struct jsonscan *sc, const char *word, size_t n)
{
        size_t left = sc->len - sc->pos;

        if (left < n || memcmp(sc->s + sc->pos, word, n) != 0)
                return fail(sc, sc->pos,
                            left < n && memcmp(sc->s + sc->pos, word, left) == 0 ? "incomplete text"
                                                                                 : "unexpected character");
        sc->pos += n;
        return 0;
}

static uint32_t hash_of(const char *p, size_t len)
{
        uint32_t h = 2166136261u;

        for (size_t i = 0; i < len; i++)
                h = (h ^ (unsigned char)p[i]) * 16777619u;
        return h;
}

static bool same_key(const struct key *a, const struct key *b)
{
        return a->len == b->len && memcmp(a->p, b->p, a->len) == 0;
}

/* Has the object whose names are keys[base..nkeys) one twice? -1 after fail(). */
static int check_repeats(struct jsonscan *sc, size_t base, size_t at)
{
        struct key *k = sc->keys + base;
        size_t n = sc->nkeys - base;

        if (n <= PAIRWISE_MAX) {
                for (size_t i = 1; i < n; i++)
                        for (size_t j = 0; j < i; j++)
                                if (same_key(&k[i], &k[j]))
                                        return fail(sc, at, "an object has the same member name twice");
                return 0;
        }
        size_t cap = 1;
        while (cap < 2 * n)
                cap *= 2;
        if (cap > sc->table_cap) {
                uint32_t *t = realloc(sc->table, cap * sizeof(*t));
                if (!t)
                        return out_of_memory(sc);
                sc->table = t;
                sc->table_cap = cap;
        }
        memset(sc->table, 0, cap * sizeof(*sc->table));
        for (size_t i = 0; i < n; i++)
                k[i].hash = hash_of(k[i].p, k[i].len);
        for (size_t i = 0; i < n; i++) {
                size_t slot = k[i].hash & (cap - 1);
                while (sc->table[slot]) {
                        const struct key *o = &k[sc->table[slot] - 1];
                        if (o->hash == k[i].hash && same_key(o, &k[i]))
                                return fail(sc, at, "an object has the same member name twice");
                        slot = (slot + 1) & (cap - 1);
                }
                sc->table[slot] = (uint32_t)(i + 1);
        }
        return 0;
}

static int push_key(struct jsonscan *sc, const char *p, size_t len)
{
        if (sc->nkeys == sc->keys_cap) {
                size_t cap = GROW(sc->keys_cap);
                struct key *k = realloc(sc->keys, cap * sizeof(*k));
                if (!k)
                        return out_of_memory(sc);
                sc->keys = k;
                sc->keys_cap = cap;
        }
        sc->keys[sc->nkeys++] = (struct key){ p, len, 0 }; /* hashed only in a large object */
        return 0;
}

static struct jsonscan_member *push_member(struct jsonscan *sc)
{
        if (sc->nmembers == sc->members_cap) {
                size_t cap = GROW(sc->members_cap);
                struct jsonscan_member *m = realloc(sc->members, cap * sizeof(*m));
                if (!m)
                        return out_of_memory(sc), NULL;
                sc->members = m;
                sc->members_cap = cap;
        }
        struct jsonscan_member *m = &sc->members[sc->nmembers++];
        memset(m, 0, sizeof(*m));
        return m;
}

static int enter(struct jsonscan *sc, int depth)
{
        if (depth > sc->max_depth)
                return fail(sc, sc->pos, "nesting too deep (more than max_depth levels)");
        if (depth > sc->deepest)
                sc->deepest = depth;
        sc->pos++;
        skip_ws(sc);
        return 0;
}

/* After a member or an element: ',' (more follow) returns 1, `close` 0. */
static int separator(struct jsonscan *sc, char close)
{
        skip_ws(sc);
        if (sc->pos >= sc->len)
                return fail(sc, sc->pos, "incomplete text");
        char c = sc->s[sc->pos++];
        if (c == ',') {
                skip_ws(sc);
                return 1;
        }
        if (c == close)
                return 0;
        return fail(sc, sc->pos - 1, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
}

/* The object at sc->pos; `root` collects its members. */
static int object(struct jsonscan *sc, int depth, bool root)
{
        size_t start = sc->pos, base = sc->nkeys;
        int more;

        if (enter(sc, depth) < 0)
                return -1;
        if (sc->pos < sc->len && sc->s[sc->pos] == '}') {
                sc->pos++;
                return 0;
        }
        do {
                if (sc->pos >= sc->len)
                        return fail(sc, sc->pos, "incomplete text");
                if (sc->s[sc->pos] != '"')
                        return fail(sc, sc->pos,
                                    sc->s[sc->pos] == '\'' ? "single-quoted string" : "expected a member name");
                const char *key;
                size_t key_len;
                if (string(sc, root, true, &key, &key_len) < 0 || push_key(sc, key, key_len) < 0)
                        return -1;
                skip_ws(sc);
                if (sc->pos >= sc->len || sc->s[sc->pos] != ':')
                        return fail(sc, sc->pos, "expected ':' after a member name");
                sc->pos++;
                skip_ws(sc);
                if (root) {
                        struct jsonscan_member *m = push_member(sc);
                        if (!m)
                                return -1;
                        m->key = key;
                        m->key_len = key_len;
                        if (value(sc, depth, &m->value, MEMBER) < 0)
                                return -1;
                } else if (value(sc, depth, NULL, NESTED) < 0) {
                        return -1;
                }
                more = separator(sc, '}');
                if (more < 0)
                        return -1;
        } while (more);
        if (check_repeats(sc, base, start) < 0)
                return -1;
        sc->nkeys = base;
        return 0;
}

static int array(struct jsonscan *sc, int depth)
{
        int more;

        if (enter(sc, depth) < 0)
                return -1;
        if (sc->pos < sc->len && sc->s[sc->pos] == ']') {
                sc->pos++;
                return 0;
        }
        do {
                if (value(sc, depth, NULL, NESTED) < 0)
                        return -1;
                more = separator(sc, ']');
                if (more < 0)
                        return -1;
        } while (more);
        return 0;
}

/* The value at sc->pos, `depth` containers deep. v (MEMBER, ROOT) receives
 * its description. */
static int value(struct jsonscan *sc, int depth, struct jsonscan_value *v, enum mode mode)
{
        size_t start = sc->pos, ws = sc->ws;
        struct jsonscan_value scratch;
        int r;

        if (!v)
                v = &scratch;
        if (start >= sc->len)
                return fail(sc, start, "incomplete text");
        switch (sc->s[start]) {
        case '{':
                v->type = JSONSCAN_OBJECT;
                r = object(sc, depth + 1, mode == ROOT);
                break;
        case '[':
                v->type = JSONSCAN_ARRAY;
                r = array(sc, depth + 1);
                break;
        case '"':
                v->type = JSONSCAN_STRING;
                r = mode == NESTED ? string(sc, false, false, NULL, NULL)
                                   : string(sc, true, false, &v->str, &v->str_len);
                break;
        case 't':
                v->type = JSONSCAN_BOOL;
                v->b = true;
                r = literal(sc, "true", 4);
                break;
        case 'f':
                v->type = JSONSCAN_BOOL;
                v->b = false;
                r = literal(sc, "false", 5);
                break;
        case 'n':
                v->type = JSONSCAN_NULL;
                r = literal(sc, "null", 4);
                break;
        case '-':
        case '0':
        case '1':
        case '2':
        case '3':
        case '4':
        case '5':
        case '6':
        case '7':
        case '8':
        case '9':
                r = number(sc, mode == NESTED ? NULL : v);
                break;
        case '\'':
                return fail(sc, start, "single-quoted string");
        case '\0':
                return fail(sc, start, "NUL byte");
        default:
                return fail(sc, start, "unexpected character");
        }
        if (r < 0)
                return -1;
        v->raw.s = sc->s + start;
        v->raw.len = sc->pos - start;
        v->raw.spaced = sc->ws != ws;
        return 0;
}

int jsonscan_parse(struct jsonscan *sc, const char *text, size_t len, struct jsonscan_value *ret_root,
                   const struct jsonscan_member **ret_members, size_t *ret_n, char *errbuf, size_t errlen)
{
        struct jsonscan_value root;

        if (errlen > 0)
                errbuf[0] = '\0';
        if (len > (size_t)INT32_MAX) {
                snprintf(errbuf, errlen, "invalid JSON: text too long");
                return -EINVAL;
        }
        if (sc->buf_cap < len + 1) {
                size_t cap = len + 1 < 256 ? 256 : len + 1;
                char *b = realloc(sc->buf, cap);
                if (!b)
                        return -ENOMEM;
                sc->buf = b;
                sc->buf_cap = cap;
        }
        sc->s = text;
        sc->len = len;
        sc->pos = 0;
        sc->ws = 0;
        sc->deepest = 0;
        sc->why = NULL;
        sc->oom = false;
        sc->buf_used = 0;
        sc->nkeys = 0;
        sc->nmembers = 0;
        memset(&root, 0, sizeof(root));
        skip_ws(sc);
        int r = value(sc, 0, &root, ROOT);
        if (r == 0) {
                skip_ws(sc);
                if (sc->pos < len)
                        r = fail(sc, sc->pos, sc->s[sc->pos] == '\0' ? "NUL byte" : "data after the JSON text");
        }
        if (r < 0) {
                if (sc->oom)
                        return -ENOMEM;
                snprintf(errbuf, errlen, "invalid JSON at byte %zu: %s", sc->err_pos, sc->why);
                return -EINVAL;
        }
        if (ret_root)
                *ret_root = root;
        if (ret_members)
                *ret_members = root.type == JSONSCAN_OBJECT ? sc->members : NULL;
        if (ret_n)
                *ret_n = root.type == JSONSCAN_OBJECT ? sc->nmembers : 0;
        return 0;
}

size_t jsonscan_compact(const char *s, size_t len, char *dst)
{
        size_t o = 0;
        bool in_string = false;

        for (size_t i = 0; i < len; i++) {
                char c = s[i];
                if (in_string) {
                        dst[o++] = c;
                        if (c == '\\')
                                dst[o++] = s[++i];
                        else if (c == '"')
                                in_string = false;
                        continue;
                }
                if (is_ws(c))
                        continue;
                in_string = c == '"';
                dst[o++] = c;
        }
        return o;
}

const struct jsonscan_member *jsonscan_find(const struct jsonscan_member *members, size_t n, const char *key)
{
        size_t klen = strlen(key);

        for (size_t i = 0; i < n; i++)
                if (members[i].key_len == klen && memcmp(members[i].key, key, klen) == 0)
                        return &members[i];
        return NULL;
}

int jsonscan_depth(const struct jsonscan *sc)
{
        return sc->deepest;
}
