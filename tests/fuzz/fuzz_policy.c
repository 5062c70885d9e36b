/* fuzz_policy.c: the policy file parser and checker (busd/policy/policy_parse.c,
 * busd/policy/policy.c).
 *
 * Input: 1 to 3 policy files separated by the byte 0x1e (ASCII record
 * separator; anything after a third separator belongs to the third file).
 * Names resolve from a small table (users root, alice, bob; groups audio,
 * wheel). policy_parse must answer 0 or -EINVAL (-ENOMEM aside); on failure
 * the error is a terminated, non-empty line starting with the failing file's
 * path and the output is untouched; a small error buffer is never overrun. On
 * success a set of checks on every verb runs: the verdict is terminated and
 * agrees with the return value, root is always allowed with "root", a check
 * that a rule decided is never by_default, a uid with no rule and no group
 * gets the verb's default, and quotas are never 0. No leaks (ASan). */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "fuzz.h"
#include "policy.h"

static int resolve(void *userdata, bool group, const char *name, unsigned *ret_id)
{
        static const struct {
                const char *name;
                bool group;
                unsigned id;
        } t[] = { { "root", false, 0 },
                  { "alice", false, 1000 },
                  { "bob", false, 1001 },
                  { "audio", true, 29 },
                  { "wheel", true, 10 } };
        (void)userdata;
        for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
                if (t[i].group == group && strcmp(t[i].name, name) == 0) {
                        *ret_id = t[i].id;
                        return 0;
                }
        return -ENOENT;
}

static const char *const objects[] = {
        "org.example.Audio",
        "org.example.A.B",
        "org.example",
        "a.b",
        "",
        "a",
        "sensors.kitchen.temp",
        "sensors.>",
        ">",
        "*",
        "secret.*.x",
        "$bus.x",
        "x.y.z.w"
};

static void checks(const struct policy *p)
{
        static const gid_t supp[] = { 29, 10 };
        const struct policy_subject who[] = {
                { .uid = 0, .gid = 0 },
                { .uid = 1000, .gid = 1000, .groups = supp, .ngroups = 2 },
                { .uid = 1001, .gid = 29 },
                { .uid = 4242, .gid = 4242 }, /* in no table: only "*" rules */
        };
        struct policy_verdict v;

        for (size_t w = 0; w < sizeof(who) / sizeof(who[0]); w++)
                for (int verb = 0; verb < POLICY_VERB_COUNT; verb++)
                        for (size_t o = 0; o < sizeof(objects) / sizeof(objects[0]); o++) {
                                memset(&v, 'x', sizeof(v));
                                bool r = policy_check(p, &who[w], (enum policy_verb)verb, objects[o],
                                                      o % 2 ? "Play" : "m", &v);
                                FUZZ_CHECK(r == v.allowed);
                                FUZZ_CHECK(memchr(v.rule, 0, sizeof(v.rule)) != NULL);
                                FUZZ_CHECK(v.rule[0] != 0);
                                if (who[w].uid == 0)
                                        FUZZ_CHECK(r && !v.by_default && strcmp(v.rule, "root") == 0);
                                if (v.by_default)
                                        FUZZ_CHECK(strstr(v.rule, "default (") != NULL);
                                else
                                        FUZZ_CHECK(strstr(v.rule, "rules[") || who[w].uid == 0);
                                FUZZ_CHECK(policy_check(p, &who[w], (enum policy_verb)verb, objects[o],
                                                        o % 2 ? "Play" : "m", NULL) == r);
                        }
        struct policy_quota q;
        const uid_t uids[] = { 0, 1000, 1001, 4242 };
        for (size_t i = 0; i < sizeof(uids) / sizeof(uids[0]); i++) {
                policy_quota(p, uids[i], &q);
                FUZZ_CHECK(q.connections && q.handshakes && q.pending_calls && q.names && q.subscriptions &&
                           q.queue_bytes);
                if (uids[i] != 0)
                        FUZZ_CHECK(q.connections <= (1u << 31) && q.queue_bytes <= (size_t)1 << 48);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static const char *const paths[] = { "policy.json", "policy.d/10-a.json", "policy.d/20-b.json" };
        struct policy_source src[3];
        size_t n = 0, start = 0;

        for (size_t i = 0; i <= size && n < 3; i++) {
                if (i == size || (data[i] == 0x1e && n < 2)) {
                        src[n] = (struct policy_source){ paths[n], (const char *)data + start, i - start };
                        n++;
                        start = i + 1;
                }
        }
        struct policy *p = (struct policy *)(uintptr_t)1;
        char err[512], tiny[9];
        memset(err, 'x', sizeof(err));
        int r = policy_parse(src, n, resolve, NULL, &p, err, sizeof(err));
        FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ENOMEM);
        FUZZ_CHECK(memchr(err, 0, sizeof(err)) != NULL);
        if (r < 0) {
                FUZZ_CHECK(p == (struct policy *)(uintptr_t)1);
                FUZZ_CHECK(err[0] != 0);
                bool named = false;
                for (size_t i = 0; i < n; i++)
                        named |= strncmp(err, paths[i], strlen(paths[i])) == 0 && err[strlen(paths[i])] == ':';
                FUZZ_CHECK(named);
        } else {
                FUZZ_CHECK(p != NULL && p != (struct policy *)(uintptr_t)1);
                checks(p);
                policy_free(p);
        }
        memset(tiny, 'x', sizeof(tiny));
        p = NULL;
        r = policy_parse(src, n, resolve, NULL, &p, tiny, sizeof(tiny) - 1);
        FUZZ_CHECK(tiny[sizeof(tiny) - 1] == 'x');
        FUZZ_CHECK(memchr(tiny, 0, sizeof(tiny) - 1) != NULL);
        policy_free(p);
        return 0;
}
