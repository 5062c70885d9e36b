/* test_registry.c: busd/core/registry.c, well-known names with the D-Bus rules
 * (docs/protocol.md §4.1): every combination of the owner's and the
 * requester's flags, queueing, release promoting the next in line, a peer
 * going away, and the change callback with the right old and new owner,
 * called when the registry is already consistent. */
#include <errno.h>
#include <string.h>

#include "peer.h"
#include "registry.h"
#include "test.h"

#define NPEERS 4
static struct peer peers[NPEERS];
static struct registry *reg;

struct change {
        char name[64];
        struct peer *old_owner, *new_owner;
};
static struct change changes[256];
static unsigned nchanges;

static void on_change(void *ud, const char *name, struct peer *old_owner, struct peer *new_owner)
{
        CHECK(ud == &nchanges);
        CHECK(nchanges < 256);
        snprintf(changes[nchanges].name, sizeof(changes[0].name), "%s", name);
        changes[nchanges].old_owner = old_owner;
        changes[nchanges].new_owner = new_owner;
        nchanges++;
        /* the registry is consistent when it calls back */
        CHECK(registry_owner(reg, name) == new_owner);
}

static void reset(void)
{
        registry_free(reg);
        reg = registry_new(on_change, &nchanges);
        CHECK(reg);
        memset(peers, 0, sizeof(peers));
        for (int i = 0; i < NPEERS; i++) {
                peers[i].id = (uint64_t)i + 1;
                list_init(&peers[i].owners);
        }
        nchanges = 0;
}

static void expect_change(unsigned i, const char *name, struct peer *old_owner, struct peer *new_owner)
{
        CHECK(i < nchanges);
        CHECK_STREQ(changes[i].name, name);
        CHECK(changes[i].old_owner == old_owner);
        CHECK(changes[i].new_owner == new_owner);
}

/* The line of a name (owner first) as peer indexes, e.g. "01" or "" if none. */
static const char *line(const char *name)
{
        static char out[NPEERS + 1];
        struct name *n = registry_lookup(reg, name);
        size_t k = 0;

        out[0] = 0;
        if (!n)
                return out;
        CHECK(!list_empty(&n->owners)); /* an empty name is deleted */
        list_for_each(l, &n->owners) out[k++] = (char)('0' + (list_entry(l, struct owner, name_link)->peer - peers));
        out[k] = 0;
        return out;
}

static void test_simple(void)
{
        struct peer *a = &peers[0], *b = &peers[1], *c = &peers[2];

        reset();
        CHECK(registry_owner(reg, "org.x") == NULL);
        CHECK_EQ_INT(registry_request(reg, a, "org.x", false, false, true), REGISTRY_PRIMARY_OWNER);
        CHECK_EQ_INT(nchanges, 1);
        expect_change(0, "org.x", NULL, a);
        CHECK(registry_owner(reg, "org.x") == a);
        CHECK_EQ_INT(registry_count(reg), 1);
        CHECK_EQ_INT(a->n_owners, 1);

        /* again: already_owner, flags updated, no change */
        CHECK_EQ_INT(registry_request(reg, a, "org.x", true, false, false), REGISTRY_ALREADY_OWNER);
        CHECK_EQ_INT(nchanges, 1);
        struct owner *o = list_entry(list_first(&registry_lookup(reg, "org.x")->owners), struct owner, name_link);
        CHECK(o->allow_replacement && !o->queue);
        CHECK_EQ_INT(a->n_owners, 1);

        /* b and c queue; the line is in request order */
        CHECK_EQ_INT(registry_request(reg, b, "org.x", false, false, true), REGISTRY_IN_QUEUE);
        CHECK_EQ_INT(registry_request(reg, c, "org.x", false, false, true), REGISTRY_IN_QUEUE);
        CHECK_STREQ(line("org.x"), "012");
        CHECK_EQ_INT(nchanges, 1);
        /* asking again while queued keeps the place */
        CHECK_EQ_INT(registry_request(reg, b, "org.x", false, false, true), REGISTRY_IN_QUEUE);
        CHECK_STREQ(line("org.x"), "012");
        CHECK_EQ_INT(b->n_owners, 1);
        /* asking again without queue leaves the line */
        CHECK_EQ_INT(registry_request(reg, b, "org.x", false, false, false), REGISTRY_EXISTS);
        CHECK_STREQ(line("org.x"), "02");
        CHECK_EQ_INT(b->n_owners, 0);

        /* release by a non-member */
        CHECK_EQ_INT(registry_release(reg, b, "org.x"), -ESRCH);
        CHECK_EQ_INT(registry_release(reg, b, "org.nope"), -ESRCH);
        /* release by the owner promotes the next in line */
        CHECK_EQ_INT(registry_release(reg, a, "org.x"), 0);
        CHECK_EQ_INT(nchanges, 2);
        expect_change(1, "org.x", a, c);
        CHECK_STREQ(line("org.x"), "2");
        CHECK_EQ_INT(a->n_owners, 0);
        /* release of a queued place changes no owner */
        CHECK_EQ_INT(registry_request(reg, a, "org.x", false, false, true), REGISTRY_IN_QUEUE);
        CHECK_EQ_INT(registry_release(reg, a, "org.x"), 0);
        CHECK_EQ_INT(nchanges, 2);
        /* the last one out deletes the name */
        CHECK_EQ_INT(registry_release(reg, c, "org.x"), 0);
        expect_change(2, "org.x", c, NULL);
        CHECK(registry_lookup(reg, "org.x") == NULL);
        CHECK_EQ_INT(registry_count(reg), 0);
        /* a request that does not queue on a free name still creates nothing stale */
        CHECK_EQ_INT(registry_request(reg, a, "org.y", false, false, false), REGISTRY_PRIMARY_OWNER);
        CHECK_EQ_INT(registry_request(reg, b, "org.y", false, false, false), REGISTRY_EXISTS);
        CHECK_STREQ(line("org.y"), "0");
        registry_peer_gone(reg, a);
        CHECK_EQ_INT(registry_count(reg), 0);
}

/* Owner flags (allow_replacement, queue) x requester flags
 * (allow_replacement, replace, queue): 4 x 8 combinations. */
static void test_flag_combinations(void)
{
        struct peer *a = &peers[0], *b = &peers[1], *c = &peers[2];

        for (int of = 0; of < 4; of++) {
                for (int rf = 0; rf < 8; rf++) {
                        bool o_allow = of & 1, o_queue = of & 2;
                        bool r_allow = rf & 1, r_replace = rf & 2, r_queue = rf & 4;
                        reset();
                        CHECK_EQ_INT(registry_request(reg, a, "org.x", o_allow, false, o_queue),
                                     REGISTRY_PRIMARY_OWNER);
                        /* c waits in line, so a promoted or queued peer has company */
                        CHECK_EQ_INT(registry_request(reg, c, "org.x", false, false, true), REGISTRY_IN_QUEUE);
                        nchanges = 0;
                        int st = registry_request(reg, b, "org.x", r_allow, r_replace, r_queue);
                        const char *want_line;
                        int want_st;
                        if (r_replace && o_allow) {
                                want_st = REGISTRY_PRIMARY_OWNER;
                                /* the old owner goes to the head of the queue if it asked to queue */
                                want_line = o_queue ? "102" : "12";
                        } else if (r_queue) {
                                want_st = REGISTRY_IN_QUEUE;
                                want_line = "021";
                        } else {
                                want_st = REGISTRY_EXISTS;
                                want_line = "02";
                        }
                        if (st != want_st || strcmp(line("org.x"), want_line) != 0) {
                                fprintf(stderr,
                                        "owner allow=%d queue=%d, request allow=%d replace=%d queue=%d: "
                                        "status %d line %s (want %d %s)\n",
                                        o_allow, o_queue, r_allow, r_replace, r_queue, st, line("org.x"), want_st,
                                        want_line);
                                exit(1);
                        }
                        if (want_st == REGISTRY_PRIMARY_OWNER) {
                                CHECK_EQ_INT(nchanges, 1);
                                expect_change(0, "org.x", a, b);
                                CHECK_EQ_INT(a->n_owners, o_queue ? 1 : 0);
                        } else {
                                CHECK_EQ_INT(nchanges, 0);
                        }
                        CHECK_EQ_INT(b->n_owners, want_st == REGISTRY_EXISTS ? 0 : 1);
                        /* the new owner's flags are its own: can it be replaced in turn? */
                        if (want_st == REGISTRY_PRIMARY_OWNER) {
                                int st2 = registry_request(reg, c, "org.x", false, true, true);
                                CHECK_EQ_INT(st2, r_allow ? REGISTRY_PRIMARY_OWNER : REGISTRY_IN_QUEUE);
                        }
                        for (int i = 0; i < NPEERS; i++)
                                registry_peer_gone(reg, &peers[i]);
                        CHECK_EQ_INT(registry_count(reg), 0);
                }
        }
}

/* A queued peer that asks again with replace takes over from an owner that
 * allows it, leaving its old place in the line. */
static void test_queued_replace(void)
{
        struct peer *a = &peers[0], *b = &peers[1], *c = &peers[2];

        reset();
        registry_request(reg, a, "org.x", true, false, true);
        registry_request(reg, b, "org.x", false, false, true);
        registry_request(reg, c, "org.x", false, false, true);
        CHECK_STREQ(line("org.x"), "012");
        nchanges = 0;
        CHECK_EQ_INT(registry_request(reg, c, "org.x", false, true, true), REGISTRY_PRIMARY_OWNER);
        CHECK_STREQ(line("org.x"), "201");
        expect_change(0, "org.x", a, c);
        CHECK_EQ_INT(c->n_owners, 1);
        /* c did not allow replacement: a's attempt queues */
        CHECK_EQ_INT(registry_request(reg, a, "org.x", false, true, true), REGISTRY_IN_QUEUE);
        CHECK_STREQ(line("org.x"), "201");
        for (int i = 0; i < NPEERS; i++)
                registry_peer_gone(reg, &peers[i]);
}

static void test_peer_gone(void)
{
        struct peer *a = &peers[0], *b = &peers[1], *c = &peers[2];

        reset();
        registry_request(reg, a, "org.x", false, false, true);
        registry_request(reg, a, "org.y", false, false, true);
        registry_request(reg, b, "org.z", false, false, true);
        registry_request(reg, b, "org.x", false, false, true);
        registry_request(reg, c, "org.x", false, false, true);
        registry_request(reg, a, "org.z", false, false, true); /* a waits for z */
        CHECK_EQ_INT(a->n_owners, 3);
        nchanges = 0;
        registry_peer_gone(reg, a);
        CHECK_EQ_INT(a->n_owners, 0);
        CHECK(list_empty(&a->owners));
        /* x passes to b, y is gone, z is unchanged (a only waited) */
        CHECK_EQ_INT(nchanges, 2);
        expect_change(0, "org.x", a, b);
        expect_change(1, "org.y", a, NULL);
        CHECK_STREQ(line("org.x"), "12");
        CHECK_STREQ(line("org.z"), "1");
        CHECK(registry_lookup(reg, "org.y") == NULL);
        CHECK_EQ_INT(registry_count(reg), 2);
        registry_peer_gone(reg, a); /* idempotent */
        CHECK_EQ_INT(nchanges, 2);
        registry_peer_gone(reg, b); /* in the order b asked: z, then x */
        expect_change(2, "org.z", b, NULL);
        expect_change(3, "org.x", b, c);
        registry_peer_gone(reg, c);
        expect_change(4, "org.x", c, NULL);
        CHECK_EQ_INT(registry_count(reg), 0);
}

static int count_names(struct name *n, void *ud)
{
        (*(int *)ud)++;
        CHECK(!list_empty(&n->owners));
        return 0;
}

static int stop_at_first(struct name *n, void *ud)
{
        (void)n;
        (*(int *)ud)++;
        return 1;
}

static void test_foreach(void)
{
        char name[32];
        int count = 0;

        reset();
        for (int i = 0; i < 100; i++) {
                snprintf(name, sizeof(name), "org.n%d", i);
                CHECK_EQ_INT(registry_request(reg, &peers[i % NPEERS], name, false, false, true),
                             REGISTRY_PRIMARY_OWNER);
        }
        registry_foreach(reg, count_names, &count);
        CHECK_EQ_INT(count, 100);
        count = 0;
        registry_foreach(reg, stop_at_first, &count);
        CHECK_EQ_INT(count, 1);
        for (int i = 0; i < NPEERS; i++) {
                CHECK_EQ_INT(peers[i].n_owners, 25);
                registry_peer_gone(reg, &peers[i]);
        }
        CHECK_EQ_INT(registry_count(reg), 0);
}

int main(void)
{
        test_simple();
        test_flag_combinations();
        test_queued_replace();
        test_peer_gone();
        test_foreach();
        registry_free(reg);
        registry_free(NULL);
        return 0;
}
