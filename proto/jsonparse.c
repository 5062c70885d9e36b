/* jsonparse.c: see jsonparse.h. No I/O. */
#include "jsonparse.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct jsonparse {
        struct json_tokener *tok;
        int max_depth;
};

struct jsonparse *jsonparse_new(int max_depth)
{
        struct jsonparse *p = calloc(1, sizeof(*p));

        if (!p)
                return NULL;
        /* json-c's depth counts one more level than the containers it allows. */
        p->tok = json_tokener_new_ex(max_depth + 1);
        if (!p->tok) {
                free(p);
                return NULL;
        }
        json_tokener_set_flags(p->tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        p->max_depth = max_depth;
        return p;
}

void jsonparse_free(struct jsonparse *p)
{
        if (!p)
                return;
        json_tokener_free(p->tok);
        free(p);
}

/* Compares the digit string d (n digits, no sign) with the decimal limit. */
static bool digits_exceed(const char *d, size_t n, const char *limit)
{
        size_t ln = strlen(limit);

        if (n != ln)
                return n > ln;
        return memcmp(d, limit, n) > 0;
}

/* Is the token d[0..n) a number of RFC 8259 (json-c also takes "1.", "-.5",
 * "00" and "-01", which other parsers refuse: relayed as sent, they must be
 * valid for every receiver)? */
static bool rfc_number(const char *d, size_t n)
{
        size_t i = 0;

        if (i < n && d[i] == '-')
                i++;
        if (i >= n || d[i] < '0' || d[i] > '9')
                return false;
        if (d[i] == '0')
                i++;
        else
                while (i < n && d[i] >= '0' && d[i] <= '9')
                        i++;
        if (i < n && d[i] == '.') {
                if (++i >= n || d[i] < '0' || d[i] > '9')
                        return false;
                while (i < n && d[i] >= '0' && d[i] <= '9')
                        i++;
        }
        if (i < n && (d[i] == 'e' || d[i] == 'E')) {
                i++;
                if (i < n && (d[i] == '+' || d[i] == '-'))
                        i++;
                if (i >= n || d[i] < '0' || d[i] > '9')
                        return false;
                while (i < n && d[i] >= '0' && d[i] <= '9')
                        i++;
        }
        return i == n;
}

/* Scans a number token starting at s[i]; returns the index after it, or 0 with
 * *why set when it is not an RFC 8259 number or an integer out of range. */
static size_t scan_number(const char *s, size_t len, size_t i, const char **why)
{
        bool neg = false, is_int = true;
        size_t start, token = i;

        if (s[i] == '-') {
                neg = true;
                i++;
        }
        start = i;
        while (i < len && s[i] >= '0' && s[i] <= '9')
                i++;
        size_t ndigits = i - start;
        while (i < len && (s[i] == '.' || s[i] == 'e' || s[i] == 'E' || s[i] == '+' || s[i] == '-' ||
                           (s[i] >= '0' && s[i] <= '9'))) {
                is_int = false;
                i++;
        }
        /* a lone '-' is left to the character after it ("-Infinity": the I) */
        if (i - token > 1 && !rfc_number(s + token, i - token)) {
                *why = "invalid number";
                return 0;
        }
        if (is_int && ndigits > 0) {
                const char *d = s + start;
                if (digits_exceed(d, ndigits, neg ? "9223372036854775808" : "18446744073709551615")) {
                        *why = "integer out of 64-bit range";
                        return 0;
                }
        }
        return i;
}

/* Length of the valid UTF-8 sequence at s (RFC 3629 table 3-7: no overlong
 * forms, no surrogates, nothing above U+10FFFF), or 0. json-c's own check only
 * counts continuation bytes. */
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

/* The code point of the \\u escape at s[i] (a backslash), or -1 when s[i] does
 * not start one with four hex digits (json-c rejects a bad one). */
static long u_escape(const char *s, size_t len, size_t i)
{
        long cp = 0;

        if (i + 6 > len || s[i] != '\\' || s[i + 1] != 'u')
                return -1;
        for (size_t j = i + 2; j < i + 6; j++) {
                char c = s[j];
                int d = c >= '0' && c <= '9'   ? c - '0'
                        : c >= 'a' && c <= 'f' ? c - 'a' + 10
                        : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                               : -1;
                if (d < 0)
                        return -1;
                cp = cp * 16 + d;
        }
        return cp;
}

/* json-c 0.16 decodes a UTF-16 surrogate pair and then tests the code point
 * for a surrogate with the mask 0xfc00, so that U+xD800 to U+xDFFF (x from 1
 * to 10; the pairs whose high half has (hi & 0x3e) == 0x36, as \ud836\udc00
 * for U+1D800) come out as U+FFFD: the value is not what was sent, and two
 * different member names may turn into one. feed() gives json-c such a pair
 * as its UTF-8 bytes instead, in pieces (the tokener is incremental), so that
 * no copy of the text is needed and offsets outside strings stay the text's.
 * Returns what json_tokener_parse_ex() returned last; *ret_end is the offset
 * in s where json-c stopped (only meaningful when it did not want more). */
static struct json_object *feed(struct json_tokener *tok, const char *s, size_t len, size_t *ret_end)
{
        struct json_object *o;
        size_t from = 0;
        bool in_string = false;

        if (!memchr(s, '\\', len)) {
                o = json_tokener_parse_ex(tok, s, (int)len);
                *ret_end = json_tokener_get_parse_end(tok);
                return o;
        }
        for (size_t i = 0; i < len; i++) {
                if (s[i] == '"')
                        in_string = !in_string;
                if (!in_string || s[i] != '\\')
                        continue;
                long hi = u_escape(s, len, i);
                long lo = (hi & 0xfc3e) == 0xd836 ? u_escape(s, len, i + 6) : -1;
                if (lo < 0xdc00 || lo > 0xdfff) {
                        i++; /* the escaped character */
                        continue;
                }
                o = json_tokener_parse_ex(tok, s + from, (int)(i - from));
                if (o || json_tokener_get_error(tok) != json_tokener_continue) {
                        *ret_end = from + json_tokener_get_parse_end(tok);
                        return o;
                }
                unsigned long cp = 0x10000 + (((unsigned long)hi - 0xd800) << 10) + ((unsigned long)lo - 0xdc00);
                char utf8[4] = { (char)(0xf0 | (cp >> 18)), (char)(0x80 | ((cp >> 12) & 0x3f)),
                                 (char)(0x80 | ((cp >> 6) & 0x3f)), (char)(0x80 | (cp & 0x3f)) };
                o = json_tokener_parse_ex(tok, utf8, 4);
                from = i + 12;
                if (o || json_tokener_get_error(tok) != json_tokener_continue) {
                        *ret_end = from; /* not reached: the string goes on */
                        return o;
                }
                i += 11;
        }
        o = json_tokener_parse_ex(tok, s + from, (int)(len - from));
        *ret_end = from + json_tokener_get_parse_end(tok);
        return o;
}

/* The lexical pass; max_depth > 0 also limits nesting (json-c does not count
 * an empty innermost container). */
static int check(const char *s, size_t len, int max_depth, size_t *ret_pos, const char **ret_why, size_t *ret_members)
{
        const char *why = NULL;
        size_t i = 0, members = 0;
        int depth = 0;

        while (i < len) {
                unsigned char c = (unsigned char)s[i];

                if (c == '"') {
                        /* string: no raw control characters; escapes are checked by json-c */
                        size_t start = i;
                        bool nul = false;
                        i++;
                        while (i < len && s[i] != '"') {
                                unsigned char k = (unsigned char)s[i];
                                if (k < 0x20) {
                                        why = k == 0 ? "NUL byte in string" : "raw control character in string";
                                        goto fail;
                                }
                                if (k >= 0x80) {
                                        size_t n = utf8_len((const unsigned char *)s + i, len - i);
                                        if (!n) {
                                                why = "invalid UTF-8 in string";
                                                goto fail;
                                        }
                                        i += n;
                                        continue;
                                }
                                if (k == '\\' && i + 5 < len && memcmp(s + i + 1, "u0000", 5) == 0)
                                        nul = true;
                                /* json-c puts U+FFFD for a lone surrogate; relayed as sent,
                                 * it would be refused by strict receivers */
                                long cp = k == '\\' ? u_escape(s, len, i) : -1;
                                if (cp >= 0xdc00 && cp <= 0xdfff) {
                                        why = "lone UTF-16 surrogate in a \\u escape";
                                        goto fail;
                                }
                                if (cp >= 0xd800 && cp <= 0xdbff) {
                                        long lo = u_escape(s, len, i + 6);
                                        if (lo < 0xdc00 || lo > 0xdfff) {
                                                why = "lone UTF-16 surrogate in a \\u escape";
                                                goto fail;
                                        }
                                        i += 12;
                                        continue;
                                }
                                i += (k == '\\' && i + 1 < len) ? 2 : 1;
                        }
                        i++;
                        if (nul) {
                                /* json-c keeps member names as C strings: a name with
                                 * U+0000 would reach receivers cut short */
                                size_t j = i;
                                while (j < len && (s[j] == ' ' || s[j] == '\t' || s[j] == '\r' || s[j] == '\n'))
                                        j++;
                                if (j < len && s[j] == ':') {
                                        i = start;
                                        why = "member name with U+0000";
                                        goto fail;
                                }
                        }
                        continue;
                }
                if (c == '-' || (c >= '0' && c <= '9')) {
                        size_t next = scan_number(s, len, i, &why);
                        if (!next)
                                goto fail;
                        i = next;
                        continue;
                }
                if ((c == '{' || c == '[') && max_depth > 0 && ++depth > max_depth) {
                        why = "nesting too deep (more than max_depth levels)";
                        goto fail;
                }
                if ((c == '}' || c == ']') && depth > 0)
                        depth--;
                /* outside strings, ':' only separates an object member's name and value */
                members += c == ':';
                switch (c) {
                case '{':
                case '}':
                case '[':
                case ']':
                case ':':
                case ',':
                case ' ':
                case '\t':
                case '\r':
                case '\n':
                case 't':
                case 'r':
                case 'u':
                case 'e':
                case 'f':
                case 'a':
                case 'l':
                case 's':
                case 'n':
                        i++;
                        continue;
                case '\0':
                        why = "NUL byte";
                        goto fail;
                case '\'':
                        why = "single-quoted string";
                        goto fail;
                default:
                        why = "unexpected character";
                        goto fail;
                }
        }
        if (ret_members)
                *ret_members = members;
        return 0;
fail:
        *ret_pos = i;
        *ret_why = why;
        return -EINVAL;
}

int jsonparse_check(const char *s, size_t len, size_t *ret_pos, const char **ret_why)
{
        return check(s, len, 0, ret_pos, ret_why, NULL);
}

int jsonparse_check_depth(const char *s, size_t len, int max_depth, size_t *ret_pos, const char **ret_why)
{
        return check(s, len, max_depth, ret_pos, ret_why, NULL);
}

/* json-c keeps a pending UTF-16 high surrogate across json_tokener_reset()
 * (so that a surrogate pair may be split between chunks of one text): after a
 * text that ended inside a pair, the next text parsed, from any client, would
 * start with it (`"\ude00"` read as U+1F600). A failed parse gets a fresh
 * tokener instead. Out of memory, the old one stays. */
static void fresh_tokener(struct jsonparse *p)
{
        struct json_tokener *tok = json_tokener_new_ex(p->max_depth + 1);

        if (!tok)
                return;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        json_tokener_free(p->tok);
        p->tok = tok;
}

/* Members json-c kept: fewer than the text has means a name was repeated
 * (json-c keeps the last one silently). */
static size_t count_members(struct json_object *o)
{
        size_t n = 0;

        if (json_object_is_type(o, json_type_object)) {
                json_object_object_foreach(o, key, val)
                {
                        (void)key;
                        n += 1 + count_members(val);
                }
        } else if (json_object_is_type(o, json_type_array)) {
                size_t len = json_object_array_length(o);
                for (size_t i = 0; i < len; i++)
                        n += count_members(json_object_array_get_idx(o, i));
        }
        return n;
}

int jsonparse_parse(struct jsonparse *p, const char *s, size_t len, struct json_object **ret_obj, char *errbuf,
                    size_t errlen)
{
        struct json_object *obj;
        const char *why;
        size_t pos;

        if (len > (size_t)INT32_MAX) {
                snprintf(errbuf, errlen, "invalid JSON: text too long");
                return -EINVAL;
        }
        size_t members;
        if (check(s, len, p->max_depth, &pos, &why, &members) < 0) {
                snprintf(errbuf, errlen, "invalid JSON at byte %zu: %s", pos, why);
                return -EINVAL;
        }
        json_tokener_reset(p->tok);
        size_t end;
        obj = feed(p->tok, s, len, &end);
        enum json_tokener_error jerr = json_tokener_get_error(p->tok);
        bool consumed_all = false;
        if (!obj && jerr == json_tokener_continue) {
                /* A bare number at the end of input: feed the terminator json-c needs. */
                obj = json_tokener_parse_ex(p->tok, " ", 1);
                jerr = json_tokener_get_error(p->tok);
                consumed_all = true;
        }
        if (!obj && jerr == json_tokener_success) {
                /* the text `null`: valid JSON, represented by json-c as NULL */
                pos = consumed_all ? len : end;
                for (; pos < len; pos++)
                        if (s[pos] != ' ' && s[pos] != '\t' && s[pos] != '\r' && s[pos] != '\n') {
                                snprintf(errbuf, errlen, "invalid JSON at byte %zu: data after the JSON text", pos);
                                return -EINVAL;
                        }
                *ret_obj = NULL;
                return 0;
        }
        if (!obj) {
                if (jerr == json_tokener_continue)
                        snprintf(errbuf, errlen, "invalid JSON: incomplete text");
                else
                        snprintf(errbuf, errlen, "invalid JSON at byte %zu: %s", consumed_all ? len : end,
                                 json_tokener_error_desc(jerr));
                fresh_tokener(p);
                return -EINVAL;
        }
        pos = consumed_all ? len : end;
        for (; pos < len; pos++) {
                char c = s[pos];
                if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
                        json_object_put(obj);
                        snprintf(errbuf, errlen, "invalid JSON at byte %zu: data after the JSON text", pos);
                        return -EINVAL;
                }
        }
        if (count_members(obj) != members) {
                json_object_put(obj);
                snprintf(errbuf, errlen, "invalid JSON: an object has the same member name twice");
                return -EINVAL;
        }
        *ret_obj = obj;
        return 0;
}

int jsonparse_tree(const char *s, size_t len, struct json_object **ret)
{
        /* valid RFC 8259 text within the nesting limit: json-c reads it as is */
        struct json_tokener *tok = json_tokener_new_ex(JSON_TOKENER_DEFAULT_DEPTH * 32);
        struct json_object *o;

        if (!tok || len > (size_t)INT32_MAX) {
                json_tokener_free(tok);
                return -ENOMEM;
        }
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        size_t end;
        o = feed(tok, s, len, &end);
        enum json_tokener_error jerr = json_tokener_get_error(tok);
        if (!o && jerr == json_tokener_continue) {
                /* a bare number at the end: feed the terminator json-c needs */
                o = json_tokener_parse_ex(tok, " ", 1);
                jerr = json_tokener_get_error(tok);
        }
        json_tokener_free(tok);
        if (jerr != json_tokener_success) {
                json_object_put(o);
                return -EINVAL;
        }
        *ret = o;
        return 0;
}
