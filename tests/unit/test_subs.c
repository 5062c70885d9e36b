/* test_subs.c: busd/core/subs.c, the subscription trie: matching by literal, `*`
 * and `>` segments, the `$` rule, one report per peer however many of its
 * patterns match, removal (and pruning of emptied nodes), per-peer cleanup.
 * The random comparison with the reference matcher is test_subs_diff.c. */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "peer.h"
#include "subs.h"
#include "test.h"

#define NPEERS 4
static struct peer peers[NPEERS];
static unsigned hits[NPEERS];

static void on_match(struct peer *p, bool lossy, void *ud)
{
        (*(unsigned *)ud)++;
        hits[p - peers]++;
}

/* Matches topic and returns a bitmask of the peers reported, checking each
 * was reported once and the return value counts them. */
static unsigned match(struct subs *s, const char *topic)
{
        unsigned calls = 0, mask = 0;

        memset(hits, 0, sizeof(hits));
        size_t n = subs_match(s, topic, strlen(topic), on_match, &calls);
        CHECK_EQ_INT(n, calls);
        for (int i = 0; i < NPEERS; i++) {
                CHECK(hits[i] <= 1);
                if (hits[i])
                        mask |= 1u << i;
        }
        return mask;
}

static void init_peers(void)
{
        memset(peers, 0, sizeof(peers));
        for (int i = 0; i < NPEERS; i++) {
                peers[i].id = (uint64_t)i + 1;
                list_init(&peers[i].subs);
        }
}

static void test_basic(void)
{
        struct subs *s = subs_new();
        CHECK(s);
        init_peers();
        struct peer *a = &peers[0], *b = &peers[1], *c = &peers[2];

        CHECK_EQ_INT(match(s, "a.b"), 0);
        CHECK_EQ_INT(subs_add(s, a, "a.b", false), 0);
        CHECK_EQ_INT(subs_add(s, b, "a.*", false), 0);
        CHECK_EQ_INT(subs_add(s, c, "a.>", false), 0);
        CHECK_EQ_INT(subs_count(s), 3);
        CHECK_EQ_INT(a->n_subs, 1);

        CHECK_EQ_INT(match(s, "a.b"), 0x7);
        CHECK_EQ_INT(match(s, "a.c"), 0x6);
        CHECK_EQ_INT(match(s, "a.b.c"), 0x4);
        CHECK_EQ_INT(match(s, "a"), 0x0);
        CHECK_EQ_INT(match(s, "b.b"), 0x0);
        CHECK_EQ_INT(match(s, "ab"), 0x0);

        /* twice the same pattern for one peer: -EEXIST; other peers may share it */
        CHECK_EQ_INT(subs_add(s, a, "a.b", false), -EEXIST);
        CHECK_EQ_INT(subs_add(s, b, "a.b", false), 0);
        CHECK_EQ_INT(subs_count(s), 4);
        CHECK_EQ_INT(match(s, "a.b"), 0x7);

        /* removal: exactly that pattern of that peer */
        CHECK_EQ_INT(subs_remove(s, a, "a.*"), -ENOENT);
        CHECK_EQ_INT(subs_remove(s, a, "a.b"), 0);
        CHECK_EQ_INT(subs_remove(s, a, "a.b"), -ENOENT);
        CHECK_EQ_INT(match(s, "a.b"), 0x6);
        CHECK_EQ_INT(subs_remove(s, b, "a.*"), 0);
        CHECK_EQ_INT(match(s, "a.b"), 0x6); /* b still has a.b */
        CHECK_EQ_INT(match(s, "a.c"), 0x4);
        CHECK_EQ_INT(subs_count(s), 2);

        subs_peer_gone(s, b);
        subs_peer_gone(s, c);
        CHECK_EQ_INT(subs_count(s), 0);
        CHECK_EQ_INT(match(s, "a.b"), 0);
        subs_free(s);
        subs_free(NULL);
}

/* One peer with several matching patterns is reported once. */
static void test_dedup(void)
{
        struct subs *s = subs_new();
        init_peers();
        struct peer *a = &peers[0], *b = &peers[1];
        const char *pats[] = { "a.b.c", "a.*.c", "a.>", "*.b.>", ">", "*.*.*", "a.b.*" };

        for (size_t i = 0; i < sizeof(pats) / sizeof(pats[0]); i++)
                CHECK_EQ_INT(subs_add(s, a, pats[i], false), 0);
        CHECK_EQ_INT(subs_add(s, b, "a.b.c", false), 0);
        CHECK_EQ_INT(subs_add(s, b, ">", false), 0);
        for (int round = 0; round < 3; round++) { /* and again on the next event */
                unsigned calls = 0;
                memset(hits, 0, sizeof(hits));
                CHECK_EQ_INT(subs_match(s, "a.b.c", 5, on_match, &calls), 2);
                CHECK_EQ_INT(hits[0], 1);
                CHECK_EQ_INT(hits[1], 1);
        }
        CHECK_EQ_INT(match(s, "x"), 0x3); /* only > matches */
        subs_peer_gone(s, a);
        CHECK_EQ_INT(a->n_subs, 0);
        CHECK(list_empty(&a->subs));
        CHECK_EQ_INT(match(s, "a.b.c"), 0x2);
        subs_peer_gone(s, b);
        subs_free(s);
}

static void test_wildcards(void)
{
        struct subs *s = subs_new();
        init_peers();
        struct peer *a = &peers[0], *b = &peers[1], *c = &peers[2], *d = &peers[3];

        CHECK_EQ_INT(subs_add(s, a, ">", false), 0);
        CHECK_EQ_INT(subs_add(s, b, "*", false), 0);
        CHECK_EQ_INT(subs_add(s, c, "*.>", false), 0);
        CHECK_EQ_INT(subs_add(s, d, "$bus.>", false), 0);
        CHECK_EQ_INT(match(s, "x"), 0x3);
        CHECK_EQ_INT(match(s, "x.y"), 0x5);
        CHECK_EQ_INT(match(s, "x.y.z"), 0x5);
        /* reserved topics: no first-segment wildcard matches */
        CHECK_EQ_INT(match(s, "$bus"), 0x0);
        CHECK_EQ_INT(match(s, "$bus.name.a.b"), 0x8);
        CHECK_EQ_INT(subs_add(s, a, "$bus.*.x", false), 0);
        CHECK_EQ_INT(subs_add(s, b, "$bus", false), 0);
        CHECK_EQ_INT(match(s, "$bus.name.x"), 0x9);
        CHECK_EQ_INT(match(s, "$bus"), 0x2);
        /* a wildcard after the first segment still matches in $ topics */
        CHECK_EQ_INT(subs_add(s, c, "$bus.name.>", false), 0);
        CHECK_EQ_INT(match(s, "$bus.name"), 0x8); /* d: $bus.> */
        CHECK_EQ_INT(match(s, "$bus.name.q"), 0xc);
        CHECK_EQ_INT(match(s, "$bus.other.q"), 0x8);
        /* the longest topic: 32 segments */
        char t[80] = "";
        for (int i = 0; i < 32; i++)
                strcat(t, i ? ".s" : "s");
        CHECK_EQ_INT(match(s, t), 0x5);
        for (int i = 0; i < NPEERS; i++)
                subs_peer_gone(s, &peers[i]);
        CHECK_EQ_INT(subs_count(s), 0);
        subs_free(s);
}

/* Removing subscriptions frees the trie nodes they needed: after adding and
 * removing many deep patterns, the heap is back where it was, to the byte.
 * (Under ASan mallinfo2 reports nothing and the leak checker does this job.) */
static void test_prune(void)
{
        struct subs *s = subs_new();
        init_peers();
        char pat[64];

        /* warm up: the root's child table stays once created, at the size it
         * grew to (37 first segments below) */
        for (int i = 0; i < 37; i++) {
                snprintf(pat, sizeof(pat), "p%d", i);
                CHECK_EQ_INT(subs_add(s, &peers[0], pat, false), 0);
        }
        for (int i = 0; i < 37; i++) {
                snprintf(pat, sizeof(pat), "p%d", i);
                CHECK_EQ_INT(subs_remove(s, &peers[0], pat), 0);
        }
        size_t before = mallinfo2().uordblks;

        for (int i = 0; i < 500; i++) {
                snprintf(pat, sizeof(pat), "p%d.*.q%d.>", i % 37, i);
                CHECK_EQ_INT(subs_add(s, &peers[i % NPEERS], pat, false), 0);
                snprintf(pat, sizeof(pat), "p%d.x%d.*", i % 37, i);
                CHECK_EQ_INT(subs_add(s, &peers[i % NPEERS], pat, false), 0);
        }
        CHECK_EQ_INT(subs_count(s), 1000);
        size_t full = mallinfo2().uordblks;
        CHECK(before == 0 || full > before);
        for (int i = 0; i < 500; i++) {
                snprintf(pat, sizeof(pat), "p%d.*.q%d.>", i % 37, i);
                CHECK_EQ_INT(subs_remove(s, &peers[i % NPEERS], pat), 0);
                snprintf(pat, sizeof(pat), "p%d.x%d.*", i % 37, i);
                CHECK_EQ_INT(subs_remove(s, &peers[i % NPEERS], pat), 0);
        }
        CHECK_EQ_INT(subs_count(s), 0);
        CHECK_EQ_INT(mallinfo2().uordblks, before);

        /* a removed pattern's path is gone: a sibling sharing a prefix still matches */
        CHECK_EQ_INT(subs_add(s, &peers[0], "a.b.c", false), 0);
        CHECK_EQ_INT(subs_add(s, &peers[1], "a.b", false), 0);
        CHECK_EQ_INT(subs_remove(s, &peers[0], "a.b.c"), 0);
        CHECK_EQ_INT(match(s, "a.b"), 0x2);
        CHECK_EQ_INT(match(s, "a.b.c"), 0x0);
        /* and per-peer cleanup prunes as well */
        for (int i = 0; i < 200; i++) {
                snprintf(pat, sizeof(pat), "z.%d.*.>", i);
                CHECK_EQ_INT(subs_add(s, &peers[2], pat, false), 0);
        }
        CHECK_EQ_INT(peers[2].n_subs, 200);
        subs_peer_gone(s, &peers[2]);
        CHECK_EQ_INT(peers[2].n_subs, 0);
        subs_peer_gone(s, &peers[1]);
        CHECK_EQ_INT(mallinfo2().uordblks, before);
        subs_free(s);
}

/* mallinfo2() counts blocks parked in glibc's per-thread cache as in use, so
 * the heap figure is exact only with that cache off: re-run with it off. Not
 * under valgrind, whose malloc replaces glibc's (and whose /proc/self/exe is
 * valgrind itself): scripts/valgrind.sh. */
static void no_tcache(char **argv)
{
        const char *t = getenv("GLIBC_TUNABLES");
        const char *preload = getenv("LD_PRELOAD");

        if ((t && strstr(t, "glibc.malloc.tcache_count=0")) || (preload && strstr(preload, "vgpreload")))
                return;
        setenv("GLIBC_TUNABLES", "glibc.malloc.tcache_count=0", 1);
        execv("/proc/self/exe", argv);
        perror("execv");
        exit(1);
}

int main(int argc, char **argv)
{
        (void)argc;
        no_tcache(argv);
        test_basic();
        test_dedup();
        test_wildcards();
        test_prune();
        return 0;
}
