/* subs.h: subscriptions and topic matching (docs/protocol.md §4.3).
 *
 * Patterns live in a trie of segments: a node has literal children (a hash
 * table), a `*` child and a `>` child, and the subscriptions whose pattern ends
 * there. Matching a topic walks one path per wildcard, so its cost depends on
 * the topic's length and the wildcards present, not on the number of
 * subscribers. Each matching peer is reported once per event, however many of
 * its patterns match. Pure: no I/O.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct peer;
struct subs;

/* lossy: none of p's subscriptions matching the topic is lossless. */
typedef void (*subs_match_fn)(struct peer *p, bool lossy, void *userdata);

struct subs *subs_new(void);
/* All subscriptions must be gone. Accepts NULL. */
void subs_free(struct subs *s);
/* Does p have exactly this pattern? */
bool subs_has(const struct peer *p, const char *pattern);
/* Adds a valid pattern for p, lossy (its events drop for a full queue) or
 * not (they hold the publisher: flow.h). Returns 0, -EEXIST (p already has
 * it: its mode is set to `lossy`) or -ENOMEM. */
int subs_add(struct subs *s, struct peer *p, const char *pattern, bool lossy);
/* Returns 0 or -ENOENT. */
int subs_remove(struct subs *s, struct peer *p, const char *pattern);
void subs_peer_gone(struct subs *s, struct peer *p);
/* Removes p's patterns for which keep() says false (it must not change p's
 * subscriptions itself). Returns how many went. */
size_t subs_filter(struct subs *s, struct peer *p, bool (*keep)(void *ud, const char *pattern), void *ud);
/* Calls fn once for each peer with a pattern matching the valid topic.
 * Returns the number of peers reported. */
size_t subs_match(struct subs *s, const char *topic, size_t len, subs_match_fn fn, void *userdata);
/* Total subscriptions. */
size_t subs_count(const struct subs *s);
