/* test_peertab.c: busd/core/peertab.c, the peers by id: every peer added is
 * found until it is removed, through growth and through removals that shift
 * the entries after them back (checked against a plain array, with ids in
 * the order the daemon gives them and scattered ones). */
#include <stdlib.h>
#include <string.h>

#include "peer.h"
#include "peertab.h"
#include "test.h"

#define N 5000

static struct peer peers[N];
static bool in[N];

static void check_all(const struct peertab *t)
{
        size_t count = 0, seen = 0, slot = 0;

        for (size_t i = 0; i < N; i++) {
                CHECK(peertab_get(t, peers[i].id) == (in[i] ? &peers[i] : NULL));
                count += in[i];
        }
        CHECK_EQ_INT(peertab_count(t), count);
        CHECK(t->count * 2 <= t->cap);
        while (peertab_next(t, &slot))
                seen++;
        CHECK_EQ_INT(seen, count);
}

static void run(uint64_t stride)
{
        struct peertab t;

        memset(in, 0, sizeof(in));
        for (size_t i = 0; i < N; i++)
                peers[i].id = 1 + i * stride;
        CHECK_EQ_INT(peertab_init(&t), 0);
        CHECK(peertab_get(&t, 1) == NULL);
        for (size_t i = 0; i < N; i++) {
                CHECK_EQ_INT(peertab_add(&t, &peers[i]), 0);
                in[i] = true;
        }
        check_all(&t);
        srand(7);
        for (int round = 0; round < 4; round++) {
                for (size_t k = 0; k < N / 2; k++) {
                        size_t i = (size_t)rand() % N;
                        peertab_remove(&t, peers[i].id); /* removing an absent id is a no-op */
                        in[i] = false;
                }
                check_all(&t);
                for (size_t i = 0; i < N; i += 3)
                        if (!in[i]) {
                                CHECK_EQ_INT(peertab_add(&t, &peers[i]), 0);
                                in[i] = true;
                        }
                check_all(&t);
        }
        peertab_deinit(&t);
}

int main(void)
{
        run(1);             /* :1, :2, :3 ... as the daemon numbers connections */
        run(0x10000001ull); /* ids far apart */
        return 0;
}
