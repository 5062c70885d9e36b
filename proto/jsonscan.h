/* jsonscan.h: one validating pass over a JSON text that builds no tree.
 *
 * jsonscan_parse() enforces every rule of docs/protocol.md §2.1 (RFC 8259
 * grammar, strict UTF-8, the nesting limit, integers within 64 bits, no lone
 * UTF-16 surrogate escapes, no member name with U+0000, no object with the
 * same member name twice at any depth) and accepts exactly what jsonparse
 * (json-c strict mode behind its lexical pre-check) accepts; the differential
 * fuzz target tests/fuzz/fuzz_jsonscan.c holds the two to that. For a text
 * that is an object it also yields the object's members: scalars decoded
 * (strings as json-c decodes them, integers as numbers), and every value's
 * raw bytes as sent, so that a relay can copy `params`, `result` and `data`
 * into the message it sends without building a json-c tree.
 *
 * Pure: no I/O. A scanner is reusable scratch memory: what one call returns
 * points into the text or into the scanner and is valid until the next call
 * or jsonscan_free().
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A JSON text's bytes as sent. s NULL: absent. */
struct jsonscan_span {
        const char *s;
        size_t len;
        bool spaced; /* holds whitespace outside strings (a line feed may be among it) */
};

enum jsonscan_type {
        JSONSCAN_NULL,
        JSONSCAN_BOOL,
        JSONSCAN_INT,    /* no fraction, no exponent */
        JSONSCAN_DOUBLE, /* a fraction or an exponent */
        JSONSCAN_STRING,
        JSONSCAN_ARRAY,
        JSONSCAN_OBJECT,
};

struct jsonscan_value {
        enum jsonscan_type type;
        struct jsonscan_span raw;
        bool b; /* JSONSCAN_BOOL */
        /* JSONSCAN_INT: the value is `i` when it fits int64_t (json-c's int
         * type, -0 included as 0), else `u` (above INT64_MAX) with big set */
        bool big;
        int64_t i;
        uint64_t u;
        /* JSONSCAN_STRING: decoded, NUL-terminated (len counts any U+0000) */
        const char *str;
        size_t str_len;
};

struct jsonscan_member {
        const char *key; /* decoded, NUL-terminated; never holds U+0000 */
        size_t key_len;
        struct jsonscan_value value;
};

struct jsonscan;

/* max_depth: the nesting limit, counting the outermost container (1..1024).
 * Returns NULL on allocation failure or a limit out of range. */
struct jsonscan *jsonscan_new(int max_depth);
void jsonscan_free(struct jsonscan *sc);

/* Validates exactly one JSON text of len bytes (whitespace around it
 * allowed). On success returns 0 and describes the value in *ret_root; when
 * it is an object, *ret_members points to its ret_n members in the order of
 * the text (both may be NULL when the caller wants validation only). On
 * failure returns -EINVAL with "invalid JSON at byte N: reason" in errbuf
 * (NUL-terminated when errlen > 0), or -ENOMEM. */
int jsonscan_parse(struct jsonscan *sc, const char *text, size_t len, struct jsonscan_value *ret_root,
                   const struct jsonscan_member **ret_members, size_t *ret_n, char *errbuf, size_t errlen);

/* How deeply the text the last jsonscan_parse() accepted nests: 0 for a
 * scalar, 1 for a flat object or array, as max_depth counts. A relay that
 * puts that text inside a container of its own checks it stays within the
 * limit (busd/core/monitor.c). */
int jsonscan_depth(const struct jsonscan *sc);

/* Copies a validated JSON text without its whitespace outside strings (a
 * relay writes a `spaced` span so, never splitting a JSON Lines stream) to
 * dst, which has room for len bytes. Returns the bytes written. */
size_t jsonscan_compact(const char *s, size_t len, char *dst);

/* The member `key` of an object's members (the last one: there is at most
 * one), or NULL. */
const struct jsonscan_member *jsonscan_find(const struct jsonscan_member *members, size_t n, const char *key);
