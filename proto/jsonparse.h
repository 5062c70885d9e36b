/* jsonparse.h: turn one framed message (bytes) into a json-c object, with the
 * rules of docs/protocol.md §2.1.
 *
 * json-c's strict mode still accepts single-quoted strings, NaN/Infinity and
 * raw control characters in strings, and it silently clamps integers beyond
 * 64 bits to INT64_MIN/UINT64_MAX. Relaying such input would corrupt data or
 * hand invalid JSON to receivers, so a single lexical pass (jsonparse_check)
 * rejects exactly those cases before json-c builds the tree. json-c remains
 * the parser; the check does not build anything.
 *
 * Pure: no I/O. One parser per thread (it owns a json_tokener).
 */
#pragma once

#include <stddef.h>

struct json_object;
struct jsonparse;

/* Returns NULL on allocation failure. `max_depth` counts the message object. */
struct jsonparse *jsonparse_new(int max_depth);
void jsonparse_free(struct jsonparse *p);

/* Parses exactly one JSON text of `len` bytes (surrounding whitespace allowed).
 * On success returns 0 and stores a new reference in *ret_obj (caller owns it,
 * release with json_object_put()); the text `null` gives NULL, as json-c
 * represents it. On failure returns -EINVAL, leaves *ret_obj
 * untouched and writes a human-readable reason ("invalid JSON at byte 7: ...")
 * into errbuf (always NUL-terminated when errlen > 0). */
int jsonparse_parse(struct jsonparse *p, const char *s, size_t len, struct json_object **ret_obj, char *errbuf,
                    size_t errlen);

/* The lexical pre-check alone, with a nesting limit (max_depth > 0; 0 for
 * none), for senders that check what they are about to send. */
int jsonparse_check_depth(const char *s, size_t len, int max_depth, size_t *ret_pos, const char **ret_why);
/* The lexical pre-check alone. Returns 0 if `s` passes, else -EINVAL with the
 * byte offset of the offending character in *ret_pos and a static reason
 * string in *ret_why. */
int jsonparse_check(const char *s, size_t len, size_t *ret_pos, const char **ret_why);

/* Builds json-c's tree of a text jsonscan_parse() accepted (or a part of one,
 * such as a member's raw span): *ret is NULL for `null`. Returns 0, -ENOMEM,
 * or -EINVAL if the text was not such a one (json-c 0.16 does not tell an
 * allocation failure inside the parse apart: it gives -EINVAL too). */
int jsonparse_tree(const char *s, size_t len, struct json_object **ret);
