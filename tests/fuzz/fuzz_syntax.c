/* fuzz_syntax.c: names, topics and patterns (proto/syntax.c), and the
 * subscription trie (busd/core/subs.c) against the reference matcher.
 *
 * Input: lines. Every line goes through every syntax check (they must not
 * crash and must agree with each other: a topic is a pattern, a unique id
 * parses back to itself). Lines that are patterns are subscribed, by eight
 * fake peers in turn; every line that is a topic is then matched, and the
 * set of peers the trie reports must be exactly the set the reference
 * matcher finds, each reported once. Then half of the patterns are removed
 * (pruning the trie) and the comparison is made again. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "buslimits.h"
#include "fuzz.h"
#include "peer.h"
#include "subs.h"
#include "syntax.h"

#define NPEERS 8
#define MAXLINES 64

struct item {
        char s[BUS_MAX_TOPIC + 1];
        size_t len;
        bool pattern, topic, subscribed;
        int peer;
};

static struct peer *peers_base;
static unsigned reported[NPEERS];

static void on_match(struct peer *p, bool lossy, void *ud)
{
        (void)ud;
        reported[p - peers_base]++;
}

static void syntax_checks(const char *s, size_t len)
{
        bool topic = syntax_is_topic(s, len), pattern = syntax_is_pattern(s, len);
        uint64_t id;

        FUZZ_CHECK(!topic || pattern);
        if (syntax_is_name(s, len))
                FUZZ_CHECK(len <= BUS_MAX_NAME && memchr(s, '.', len) && !syntax_parse_unique(s, len, &id));
        if (syntax_is_method(s, len) && len <= BUS_MAX_CODE)
                FUZZ_CHECK(syntax_is_code(s, len));
        if (syntax_parse_unique(s, len, &id)) {
                char back[32];
                snprintf(back, sizeof(back), ":%" PRIu64, id);
                FUZZ_CHECK(strlen(back) == len && memcmp(back, s, len) == 0);
        }
        (void)syntax_name_is_reserved(s, len);
        (void)syntax_topic_is_reserved(s, len);
        if (pattern)
                FUZZ_CHECK(len <= BUS_MAX_TOPIC && s[0] != '.' && s[len - 1] != '.');
}

static void compare(struct subs *subs, struct item *items, size_t n)
{
        for (size_t t = 0; t < n; t++) {
                if (!items[t].topic)
                        continue;
                bool want[NPEERS] = { false };
                for (size_t k = 0; k < n; k++)
                        if (items[k].subscribed && syntax_pattern_matches(items[k].s, items[t].s))
                                want[items[k].peer] = true;
                memset(reported, 0, sizeof(reported));
                size_t got = subs_match(subs, items[t].s, items[t].len, on_match, NULL), nwant = 0;
                for (int i = 0; i < NPEERS; i++) {
                        nwant += want[i];
                        if (reported[i] != (unsigned)want[i]) {
                                fprintf(stderr, "topic \"%s\": peer %d reported %u times, reference %d\n", items[t].s,
                                        i, reported[i], want[i]);
                                FUZZ_CHECK(!"trie agrees with the reference matcher");
                        }
                }
                FUZZ_CHECK(got == nwant);
                /* a topic matches itself as a pattern; > matches it unless reserved */
                FUZZ_CHECK(syntax_pattern_matches(items[t].s, items[t].s));
                FUZZ_CHECK(syntax_pattern_matches(">", items[t].s) == (items[t].s[0] != '$'));
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct item *items = calloc(MAXLINES, sizeof(*items));
        struct peer peers[NPEERS];
        struct subs *subs = subs_new();
        size_t n = 0;

        FUZZ_CHECK(items && subs);
        memset(peers, 0, sizeof(peers));
        for (int i = 0; i < NPEERS; i++)
                list_init(&peers[i].subs);
        peers_base = peers;

        const char *s = (const char *)data, *end = s + size;
        while (s < end) {
                const char *nl = memchr(s, '\n', (size_t)(end - s));
                size_t len = nl ? (size_t)(nl - s) : (size_t)(end - s);
                syntax_checks(s, len);
                if (n < MAXLINES && len <= BUS_MAX_TOPIC) {
                        struct item *it = &items[n];
                        memcpy(it->s, s, len);
                        it->s[len] = 0;
                        it->len = len;
                        it->pattern = syntax_is_pattern(s, len);
                        it->topic = syntax_is_topic(s, len);
                        it->peer = (int)(n % NPEERS);
                        if (it->pattern) {
                                int r = subs_add(subs, &peers[it->peer], it->s, false);
                                FUZZ_CHECK(r == 0 || r == -EEXIST);
                                it->subscribed = r == 0;
                        }
                        n++;
                }
                s += len + 1;
        }
        compare(subs, items, n);
        /* remove every other subscription: the trie prunes, the rest still match */
        for (size_t k = 0; k < n; k += 2) {
                if (items[k].subscribed) {
                        FUZZ_CHECK(subs_remove(subs, &peers[items[k].peer], items[k].s) == 0);
                        FUZZ_CHECK(subs_remove(subs, &peers[items[k].peer], items[k].s) == -ENOENT);
                        items[k].subscribed = false;
                }
        }
        compare(subs, items, n);
        size_t left = 0;
        for (int i = 0; i < NPEERS; i++)
                left += peers[i].n_subs;
        FUZZ_CHECK(subs_count(subs) == left);
        for (int i = 0; i < NPEERS; i++)
                subs_peer_gone(subs, &peers[i]);
        FUZZ_CHECK(subs_count(subs) == 0);
        subs_free(subs); /* LeakSanitizer: pruning left nothing behind */
        free(items);
        return 0;
}
