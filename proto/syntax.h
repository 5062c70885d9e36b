/* syntax.h: syntax of names, unique ids, methods, topics, patterns and error
 * codes (docs/protocol.md §2.2), and topic/pattern matching.
 *
 * Pure functions on byte strings; no allocation, no I/O.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

bool syntax_is_name(const char *s, size_t len);
/* ":<decimal>" with no leading zeros; stores the number in *ret_id. */
bool syntax_parse_unique(const char *s, size_t len, uint64_t *ret_id);
bool syntax_is_method(const char *s, size_t len);
bool syntax_is_code(const char *s, size_t len);
/* A bus's name on the bridge (its certificate name): 1-63 bytes of
 * [A-Za-z0-9._-], starting with a letter or digit. */
bool syntax_is_bus(const char *s, size_t len);
/* BUS/NAME: a well-known name on one bus of the bridge. */
bool syntax_is_remote_dest(const char *s, size_t len);
/* A topic (no wildcards). */
bool syntax_is_topic(const char *s, size_t len);
/* A subscription pattern: a topic whose segments may be `*`, or `>` last. */
bool syntax_is_pattern(const char *s, size_t len);
/* True if a name or topic is reserved to the daemon. */
bool syntax_name_is_reserved(const char *s, size_t len);
bool syntax_topic_is_reserved(const char *s, size_t len);
/* Reference matcher: does valid `topic` match valid `pattern`? The daemon uses
 * a trie (busd/core/subs.c); this is the plain definition, used by tests and
 * clients. */
bool syntax_pattern_matches(const char *pattern, const char *topic);
