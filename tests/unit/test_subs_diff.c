/* test_subs_diff.c: the subscription trie (busd/core/subs.c) against the reference
 * matcher (syntax_pattern_matches) on seeded random patterns and topics:
 * 200,000 topics, each checked against every live pattern, while patterns are
 * added and removed between rounds. Every disagreement is a failure. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "peer.h"
#include "subs.h"
#include "syntax.h"
#include "test.h"

#define NPEERS 16
#define NPATS 64 /* live patterns per round */
#define ROUNDS 2000
#define TOPICS 100 /* per round: 200,000 in all */

static uint64_t rng = 0x2545f4914f6cdd1dull;
static unsigned rnd(unsigned n)
{
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        return (unsigned)(rng % n);
}

/* Segments from a small alphabet so that matches are frequent. */
static const char *const lits[] = { "a", "b", "c", "ab", "x-1" };

static void random_pattern(char *out, bool pattern)
{
        unsigned nseg = 1 + rnd(rnd(8) == 0 ? 32 : 5);
        size_t n = 0;

        out[0] = 0;
        for (unsigned i = 0; i < nseg; i++) {
                if (i)
                        out[n++] = '.';
                const char *seg;
                unsigned k = rnd(10);
                if (i == 0 && k == 0)
                        seg = rnd(2) ? "$bus" : "$x";
                else if (pattern && k <= 2)
                        seg = "*";
                else if (pattern && k == 3 && i == nseg - 1)
                        seg = ">";
                else
                        seg = lits[rnd(sizeof(lits) / sizeof(lits[0]))];
                n += (size_t)sprintf(out + n, "%s", seg);
        }
}

struct live {
        char pattern[200];
        unsigned peer;
        bool used;
};

static struct live live[NPATS];
static struct peer peers[NPEERS];
static unsigned reported[NPEERS];

static void on_match(struct peer *p, bool lossy, void *ud)
{
        (void)ud;
        reported[p - peers]++;
}

int main(void)
{
        struct subs *s = subs_new();
        char topic[200];
        unsigned long checked = 0, matched = 0;

        CHECK(s);
        for (int i = 0; i < NPEERS; i++)
                list_init(&peers[i].subs);
        for (int round = 0; round < ROUNDS; round++) {
                /* replace a few patterns */
                for (int k = 0; k < 8; k++) {
                        struct live *l = &live[rnd(NPATS)];
                        if (l->used) {
                                CHECK_EQ_INT(subs_remove(s, &peers[l->peer], l->pattern), 0);
                                l->used = false;
                        }
                        random_pattern(l->pattern, true);
                        if (!syntax_is_pattern(l->pattern, strlen(l->pattern)))
                                continue; /* too long, e.g. */
                        l->peer = rnd(NPEERS);
                        int r = subs_add(s, &peers[l->peer], l->pattern, false);
                        CHECK(r == 0 || r == -EEXIST);
                        l->used = r == 0;
                }
                for (int t = 0; t < TOPICS; t++) {
                        random_pattern(topic, false);
                        if (!syntax_is_topic(topic, strlen(topic)))
                                continue;
                        bool want[NPEERS] = { false };
                        for (int i = 0; i < NPATS; i++)
                                if (live[i].used && syntax_pattern_matches(live[i].pattern, topic))
                                        want[live[i].peer] = true;
                        memset(reported, 0, sizeof(reported));
                        size_t n = subs_match(s, topic, strlen(topic), on_match, NULL), nwant = 0;
                        for (int i = 0; i < NPEERS; i++) {
                                nwant += want[i];
                                if (reported[i] != (unsigned)want[i]) {
                                        fprintf(stderr, "topic \"%s\": peer %d reported %u times, reference says %d\n",
                                                topic, i, reported[i], want[i]);
                                        for (int j = 0; j < NPATS; j++)
                                                if (live[j].used && live[j].peer == (unsigned)i)
                                                        fprintf(stderr, "  pattern \"%s\"\n", live[j].pattern);
                                        exit(1);
                                }
                        }
                        CHECK_EQ_INT(n, nwant);
                        checked++;
                        matched += nwant > 0;
                }
        }
        /* the generator must have exercised both outcomes */
        CHECK(checked > 150000);
        CHECK(matched > checked / 20 && matched < checked);
        printf("%lu topics checked, %lu matched at least one peer\n", checked, matched);
        for (int i = 0; i < NPEERS; i++)
                subs_peer_gone(s, &peers[i]);
        CHECK_EQ_INT(subs_count(s), 0);
        subs_free(s);
        return 0;
}
