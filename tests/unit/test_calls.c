/* test_calls.c: busd/core/calls.c, pending calls: serials unique and increasing,
 * lookup by serial and by the caller's id, links into both peers' lists,
 * removal. */
#include <string.h>

#include "calls.h"
#include "peer.h"
#include "test.h"

static void init(struct peer *p)
{
        memset(p, 0, sizeof(*p));
        list_init(&p->calls_in);
        list_init(&p->calls_out);
}

int main(void)
{
        struct peer a, b;
        struct calls *c = calls_new();

        CHECK(c);
        init(&a);
        init(&b);
        struct pcall *p1 = calls_add(c, &a, 7, &b, "org.x", "m");
        struct pcall *p2 = calls_add(c, &a, 8, &b, NULL, "m");
        struct pcall *p3 = calls_add(c, &b, 7, &a, NULL, "m"); /* same caller id, other caller */
        CHECK(p1 && p2 && p3);
        CHECK(p1->serial >= 1);
        CHECK(p2->serial > p1->serial && p3->serial > p2->serial);
        CHECK_STREQ(p1->name, "org.x");
        CHECK(p2->name == NULL);
        CHECK_EQ_INT(calls_count(c), 3);
        CHECK_EQ_INT(a.n_calls_out, 2);
        CHECK_EQ_INT(b.n_calls_out, 1);

        CHECK(calls_lookup(c, p2->serial) == p2);
        CHECK(calls_lookup(c, p3->serial + 1) == NULL);
        CHECK(calls_lookup(c, 0) == NULL);
        CHECK(calls_find_by_caller(&a, 7) == p1);
        CHECK(calls_find_by_caller(&b, 7) == p3);
        CHECK(calls_find_by_caller(&a, 9) == NULL);

        uint64_t s1 = p1->serial;
        calls_remove(c, p1);
        CHECK(calls_lookup(c, s1) == NULL);
        CHECK(calls_find_by_caller(&a, 7) == NULL);
        CHECK_EQ_INT(a.n_calls_out, 1);
        CHECK_EQ_INT(calls_count(c), 2);
        /* serials are never reused */
        struct pcall *p4 = calls_add(c, &a, 7, &b, NULL, "m");
        CHECK(p4->serial > p3->serial);

        /* b's incoming calls: p2 and p4 */
        int in = 0;
        list_for_each(l, &b.calls_in) in++;
        CHECK_EQ_INT(in, 2);
        list_for_each_safe(l, tmp, &b.calls_in) calls_remove(c, list_entry(l, struct pcall, callee_link));
        list_for_each_safe(l, tmp, &a.calls_in) calls_remove(c, list_entry(l, struct pcall, callee_link));
        CHECK_EQ_INT(calls_count(c), 0);
        CHECK(list_empty(&a.calls_out) && list_empty(&b.calls_out));
        CHECK_EQ_INT(a.n_calls_out + b.n_calls_out, 0);

        /* many: the table grows and every serial is found */
        uint64_t serials[2000];
        for (int i = 0; i < 2000; i++)
                serials[i] = calls_add(c, &a, (uint64_t)i, &b, NULL, "m")->serial;
        for (int i = 0; i < 2000; i++)
                CHECK(calls_lookup(c, serials[i])->caller_id == (uint64_t)i);
        list_for_each_safe(l, tmp, &a.calls_out) calls_remove(c, list_entry(l, struct pcall, caller_link));
        CHECK_EQ_INT(calls_count(c), 0);
        calls_free(c);
        calls_free(NULL);
        return 0;
}
