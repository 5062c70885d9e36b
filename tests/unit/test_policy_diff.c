/* test_policy_diff.c: policy_check() (busd/policy/policy.c) against a brute-force
 * reference model, on seeded random policies written as JSON and read with
 * policy_parse() (so the parser is covered too).
 *
 * Small alphabets make collisions frequent: names of 2-3 elements from
 * {a, b, c}, methods {m, n}, patterns of 1-3 segments from {a, b, *, >, $s},
 * uids {0, 1, 2, 3}, gids {10, 11, 12, 13}. The model decides subscribe's
 * "covers" and "intersects" by enumerating topics: every topic over the
 * segments {a, b, z} (plus `$s` first) of 1 to 4 segments. That is sound:
 * `z` stands for every literal no pattern names (patterns treat all of those
 * alike), a `$` topic other than `$s` matches no pattern here, and since
 * patterns have at most 3 segments, whether a topic of 4 or more segments
 * matches depends only on its first 3 (and on its having more than 3), so one
 * of length 4 stands for all longer ones. Names are matched element by element
 * in the model, not with the daemon's string compare. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "syntax.h"
#include "test.h"

#define POLICIES 3000
#define QUERIES 320 /* per policy, 40 per verb: 120,000 per verb, 960,000 in all */

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static unsigned rnd(unsigned n)
{
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        return (unsigned)(rng % n);
}

/* ---- the universes ------------------------------------------------------------ */

static char names_[64][16];
static size_t nnames;
static char prefixes[16][16]; /* "a.*", "a.b.*" */
static size_t nprefixes;
static char patterns[128][16];
static size_t npatterns;
static char topics[256][16];
static size_t ntopics;
#define TOPIC_WORDS 4
static uint64_t match_bits[128][TOPIC_WORDS]; /* pattern i matches topic j */

static void build_universes(void)
{
        static const char *const el[] = { "a", "b", "c" };
        for (int i = 0; i < 3; i++)
                for (int j = 0; j < 3; j++) {
                        snprintf(names_[nnames++], 16, "%s.%s", el[i], el[j]);
                        snprintf(prefixes[nprefixes++], 16, "%s.%s.*", el[i], el[j]);
                        for (int k = 0; k < 3; k++)
                                snprintf(names_[nnames++], 16, "%s.%s.%s", el[i], el[j], el[k]);
                }
        for (int i = 0; i < 3; i++)
                snprintf(prefixes[nprefixes++], 16, "%s.*", el[i]);

        static const char *const first[] = { "a", "b", "*", "$s" }, *const mid[] = { "a", "b", "*" };
        /* patterns: 1-3 segments, `>` only last */
        for (int len = 1; len <= 3; len++) {
                unsigned total = 1;
                for (int k = 0; k < len; k++)
                        total *= 5;
                for (unsigned code = 0; code < total; code++) {
                        char buf[16] = "";
                        unsigned c = code;
                        bool ok = true;
                        for (int k = 0; k < len; k++, c /= 5) {
                                unsigned d = c % 5;
                                const char *seg;
                                if (d == 4)
                                        seg = ">";
                                else if (k == 0)
                                        seg = first[d];
                                else
                                        seg = d == 3 ? NULL : mid[d];
                                if (!seg || (d == 4 && k != len - 1)) {
                                        ok = false;
                                        break;
                                }
                                strcat(buf, k ? "." : "");
                                strcat(buf, seg);
                        }
                        if (!ok)
                                continue;
                        CHECK(syntax_is_pattern(buf, strlen(buf)));
                        CHECK(npatterns < 128);
                        snprintf(patterns[npatterns++], 16, "%s", buf);
                }
        }
        /* topics: 1-4 segments over {a, b, z}, `$s` also first */
        static const char *const tfirst[] = { "a", "b", "z", "$s" }, *const tmid[] = { "a", "b", "z" };
        for (int len = 1; len <= 4; len++) {
                unsigned total = 4;
                for (int k = 1; k < len; k++)
                        total *= 3;
                for (unsigned code = 0; code < total; code++) {
                        char buf[16];
                        unsigned c = code;
                        snprintf(buf, sizeof(buf), "%s", tfirst[c % 4]);
                        c /= 4;
                        for (int k = 1; k < len; k++, c /= 3) {
                                strcat(buf, ".");
                                strcat(buf, tmid[c % 3]);
                        }
                        CHECK(syntax_is_topic(buf, strlen(buf)));
                        CHECK(ntopics < TOPIC_WORDS * 64);
                        snprintf(topics[ntopics++], 16, "%s", buf);
                }
        }
        for (size_t i = 0; i < npatterns; i++)
                for (size_t j = 0; j < ntopics; j++)
                        if (syntax_pattern_matches(patterns[i], topics[j]))
                                match_bits[i][j / 64] |= 1ull << (j % 64);
}

static size_t pattern_index(const char *p)
{
        for (size_t i = 0; i < npatterns; i++)
                if (strcmp(patterns[i], p) == 0)
                        return i;
        CHECK(!"pattern in the universe");
        return 0;
}

/* every topic of s is one of a */
static bool ref_covers(size_t a, size_t s)
{
        for (int w = 0; w < TOPIC_WORDS; w++)
                if (match_bits[s][w] & ~match_bits[a][w])
                        return false;
        return true;
}

static bool ref_intersects(size_t a, size_t s)
{
        for (int w = 0; w < TOPIC_WORDS; w++)
                if (match_bits[s][w] & match_bits[a][w])
                        return true;
        return false;
}

/* ---- the model ---------------------------------------------------------------- */

enum { S_ANY, S_UID, S_GID, S_NOT_UID, S_NOT_GID };

struct m_entry {
        char text[16];  /* name form, pattern */
        char method[4]; /* "" for every method */
        int kind;       /* 0 exact, 1 prefix, 2 "*", 3 pattern, 4 connect */
};

struct m_rule {
        int file, index, subject;
        unsigned id;
        bool deny;
        int nentries[POLICY_VERB_COUNT];
        struct m_entry entries[POLICY_VERB_COUNT][3];
};

struct model {
        struct m_rule rules[24];
        int nrules;
        int default_file[POLICY_VERB_COUNT]; /* -1: none */
        bool allow[POLICY_VERB_COUNT];
};

/* Element-wise: does the name form match the name? */
static bool m_name(const struct m_entry *e, const char *name)
{
        if (e->kind == 2)
                return true;
        if (e->kind == 0)
                return strcmp(e->text, name) == 0;
        /* prefix "x.y.*": the name's elements start with x, y and go on */
        const char *p = e->text, *n = name;
        for (;;) {
                if (p[0] == '*')
                        return n[0] != 0 && n != name; /* one more element at least */
                size_t pl = strcspn(p, "."), nl = strcspn(n, ".");
                if (pl != nl || memcmp(p, n, pl) != 0 || n[nl] != '.')
                        return false;
                p += pl + 1;
                n += nl + 1;
        }
}

static bool m_entry_matches(const struct m_entry *e, bool deny, int verb, const char *obj, const char *method)
{
        switch (verb) {
        case POLICY_CONNECT:
        case POLICY_MONITOR:
                return true;
        case POLICY_OWN:
        case POLICY_SEE:
                return m_name(e, obj);
        case POLICY_CALL:
                return m_name(e, obj) && (!e->method[0] || strcmp(e->method, method) == 0);
        case POLICY_PUBLISH: {
                size_t a = pattern_index(e->text);
                for (size_t j = 0; j < ntopics; j++)
                        if (strcmp(topics[j], obj) == 0)
                                return (match_bits[a][j / 64] >> (j % 64)) & 1;
                CHECK(!"topic in the universe");
                return false;
        }
        default: {
                size_t a = pattern_index(e->text), s = pattern_index(obj);
                return deny ? ref_intersects(a, s) : ref_covers(a, s);
        }
        }
}

static bool m_in_group(const struct policy_subject *who, unsigned gid)
{
        if (who->gid == gid)
                return true;
        for (size_t i = 0; i < who->ngroups; i++)
                if (who->groups[i] == gid)
                        return true;
        return false;
}

static bool m_subject(const struct m_rule *r, const struct policy_subject *who)
{
        switch (r->subject) {
        case S_ANY:
                return true;
        case S_UID:
                return who->uid == r->id;
        case S_NOT_UID:
                return who->uid != r->id;
        case S_NOT_GID:
                return !m_in_group(who, r->id);
        default:
                return m_in_group(who, r->id);
        }
}

/* Returns the decision; *ret_rule: the deciding rule, -1 default, -2 root. */
static bool m_check(const struct model *m, const struct policy_subject *who, int verb, const char *obj,
                    const char *method, int *ret_rule)
{
        if (who->uid == 0) {
                *ret_rule = -2;
                return true;
        }
        int first_deny = -1, first_allow = -1;
        for (int i = 0; i < m->nrules; i++) {
                const struct m_rule *r = &m->rules[i];
                if (!m_subject(r, who))
                        continue;
                for (int k = 0; k < r->nentries[verb]; k++)
                        if (m_entry_matches(&r->entries[verb][k], r->deny, verb, obj, method)) {
                                if (r->deny && first_deny < 0)
                                        first_deny = i;
                                if (!r->deny && first_allow < 0)
                                        first_allow = i;
                        }
        }
        if (first_deny >= 0) {
                *ret_rule = first_deny;
                return false;
        }
        if (first_allow >= 0) {
                *ret_rule = first_allow;
                return true;
        }
        *ret_rule = -1;
        return m->allow[verb];
}

/* ---- random policies ---------------------------------------------------------- */

struct out {
        char *buf;
        size_t len, used;
};

__attribute__((format(printf, 2, 3))) static void put(struct out *o, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(o->buf + o->used, o->len - o->used, fmt, ap);
        va_end(ap);
        CHECK(n >= 0 && (size_t)n < o->len - o->used);
        o->used += (size_t)n;
}

static const char *const users[] = { "u1", "u2", "u3" };
static const char *const groups[] = { "g10", "g11", "g12" };

static int resolve(void *userdata, bool group, const char *name, unsigned *ret_id)
{
        (void)userdata;
        const char *const *t = group ? groups : users;
        for (unsigned i = 0; i < 3; i++)
                if (strcmp(t[i], name) == 0) {
                        *ret_id = group ? 10 + i : 1 + i;
                        return 0;
                }
        return -ENOENT;
}

static void random_entry(int verb, struct m_entry *e, struct out *o)
{
        memset(e, 0, sizeof(*e));
        if (verb == POLICY_PUBLISH || verb == POLICY_SUBSCRIBE || verb == POLICY_BACKPRESSURE) {
                e->kind = 3;
                snprintf(e->text, sizeof(e->text), "%s", patterns[rnd((unsigned)npatterns)]);
                put(o, "\"%s\"", e->text);
                return;
        }
        unsigned k = rnd(10);
        if (k < 5) {
                e->kind = 0;
                snprintf(e->text, sizeof(e->text), "%s", names_[rnd((unsigned)nnames)]);
        } else if (k < 8) {
                e->kind = 1;
                snprintf(e->text, sizeof(e->text), "%s", prefixes[rnd((unsigned)nprefixes)]);
        } else {
                e->kind = 2;
                snprintf(e->text, sizeof(e->text), "*");
        }
        if (verb == POLICY_CALL && rnd(2)) {
                snprintf(e->method, sizeof(e->method), "%s", rnd(2) ? "m" : "n");
                put(o, "{\"method\": \"%s\", \"name\": \"%s\"}", e->method, e->text);
        } else {
                put(o, "\"%s\"", e->text);
        }
}

static void random_file(struct model *m, int file, struct out *o)
{
        put(o, "{");
        bool comma = false;
        if (rnd(3)) {
                put(o, "\"default\": {");
                bool c2 = false;
                for (int v = 0; v < POLICY_VERB_COUNT; v++) {
                        if (rnd(2))
                                continue;
                        bool allow = rnd(2);
                        put(o, "%s\"%s\": \"%s\"", c2 ? ", " : "", policy_verb_name((enum policy_verb)v),
                            allow ? "allow" : "deny");
                        m->allow[v] = allow;
                        m->default_file[v] = file;
                        c2 = true;
                }
                put(o, "}");
                comma = true;
        }
        int nrules = (int)rnd(7);
        if (nrules || rnd(2)) {
                put(o, "%s\"rules\": [", comma ? ", " : "");
                for (int i = 0; i < nrules; i++) {
                        struct m_rule *r = &m->rules[m->nrules++];
                        memset(r, 0, sizeof(*r));
                        r->file = file;
                        r->index = i;
                        r->deny = rnd(2);
                        put(o, "%s{\"for\": ", i ? ", " : "");
                        switch (rnd(7)) {
                        case 5:
                                r->subject = S_NOT_UID;
                                r->id = 1 + rnd(3);
                                if (rnd(2))
                                        put(o, "{\"not_uid\": %u}", r->id);
                                else
                                        put(o, "{\"not_user\": \"%s\"}", users[r->id - 1]);
                                break;
                        case 6:
                                r->subject = S_NOT_GID;
                                r->id = 10 + rnd(3);
                                put(o, "{\"not_gid\": %u}", r->id);
                                break;
                        case 0:
                                r->subject = S_ANY;
                                put(o, "\"*\"");
                                break;
                        case 1:
                                r->subject = S_UID;
                                r->id = 1 + rnd(3);
                                put(o, "{\"uid\": %u}", r->id);
                                break;
                        case 2:
                                r->subject = S_UID;
                                r->id = 1 + rnd(3);
                                put(o, "{\"user\": \"%s\"}", users[r->id - 1]);
                                break;
                        case 3:
                                r->subject = S_GID;
                                r->id = 10 + rnd(3);
                                put(o, "{\"gid\": %u}", r->id);
                                break;
                        default:
                                r->subject = S_GID;
                                r->id = 10 + rnd(3);
                                put(o, "{\"group\": \"%s\"}", groups[r->id - 10]);
                                break;
                        }
                        put(o, ", \"%s\": {", r->deny ? "deny" : "allow");
                        bool c3 = false;
                        for (int v = 0; v < POLICY_VERB_COUNT; v++) {
                                if (rnd(3))
                                        continue;
                                put(o, "%s\"%s\": ", c3 ? ", " : "", policy_verb_name((enum policy_verb)v));
                                c3 = true;
                                if (v == POLICY_CONNECT || v == POLICY_MONITOR) {
                                        put(o, "true");
                                        r->nentries[v] = 1;
                                        r->entries[v][0].kind = 4;
                                        continue;
                                }
                                int n = (int)rnd(4);
                                put(o, "[");
                                for (int k = 0; k < n; k++) {
                                        put(o, "%s", k ? ", " : "");
                                        random_entry(v, &r->entries[v][k], o);
                                }
                                put(o, "]");
                                r->nentries[v] = n;
                        }
                        put(o, "}}");
                }
                put(o, "]");
        }
        put(o, "}");
}

/* ---- the run ------------------------------------------------------------------ */

static void random_object(int verb, char *obj, const char **method)
{
        *method = rnd(2) ? "m" : "n";
        switch (verb) {
        case POLICY_CONNECT:
        case POLICY_MONITOR:
                obj[0] = 0;
                break;
        case POLICY_CALL:
                if (rnd(8) == 0) {
                        obj[0] = 0; /* a callee without a name */
                        break;
                }
                /* fall through */
        case POLICY_OWN:
        case POLICY_SEE:
                snprintf(obj, 16, "%s", names_[rnd((unsigned)nnames)]);
                break;
        case POLICY_PUBLISH:
                snprintf(obj, 16, "%s", topics[rnd((unsigned)ntopics)]);
                break;
        default:
                snprintf(obj, 16, "%s", patterns[rnd((unsigned)npatterns)]);
                break;
        }
}

int main(void)
{
        static char texts[3][16384];
        unsigned long cases[POLICY_VERB_COUNT] = { 0 }, decided_by[3] = { 0 }, allowed = 0, total = 0;

        build_universes();
        printf("test_policy_diff: %zu names, %zu prefixes, %zu patterns, %zu topics\n", nnames, nprefixes, npatterns,
               ntopics);
        for (int n = 0; n < POLICIES; n++) {
                struct model m;
                struct policy_source src[3];
                static const char *const paths[] = { "policy.json", "policy.d/10-a.json", "policy.d/20-b.json" };
                memset(&m, 0, sizeof(m));
                for (int v = 0; v < POLICY_VERB_COUNT; v++)
                        m.default_file[v] = -1;
                int nfiles = 1 + (int)rnd(3);
                for (int f = 0; f < nfiles; f++) {
                        struct out o = { texts[f], sizeof(texts[f]), 0 };
                        random_file(&m, f, &o);
                        src[f] = (struct policy_source){ paths[f], texts[f], o.used };
                }
                struct policy *p = NULL;
                char err[512];
                int r = policy_parse(src, (size_t)nfiles, resolve, NULL, &p, err, sizeof(err));
                if (r != 0)
                        fprintf(stderr, "policy %d: %s\n%s\n", n, err, texts[0]);
                CHECK_EQ_INT(r, 0);

                for (int q = 0; q < QUERIES; q++) {
                        int verb = q % POLICY_VERB_COUNT;
                        gid_t grp[3];
                        struct policy_subject who = {
                                .uid = rnd(16) == 0 ? 0 : 1 + rnd(3), .gid = 10 + rnd(4), .groups = grp, .ngroups = 0
                        };
                        for (unsigned g = 0; g < 3; g++)
                                if (rnd(3) == 0)
                                        grp[who.ngroups++] = 10 + g;
                        char obj[16];
                        const char *method;
                        random_object(verb, obj, &method);

                        int rule;
                        bool want = m_check(&m, &who, verb, obj, method, &rule);
                        struct policy_verdict v;
                        bool got = policy_check(p, &who, (enum policy_verb)verb,
                                                verb == POLICY_CONNECT || verb == POLICY_MONITOR ? NULL : obj, method,
                                                &v);
                        char expect[300];
                        if (rule == -2)
                                snprintf(expect, sizeof(expect), "root");
                        else if (rule == -1 && m.default_file[verb] >= 0)
                                snprintf(expect, sizeof(expect), "default (%s: %s) from %s",
                                         policy_verb_name((enum policy_verb)verb), want ? "allow" : "deny",
                                         paths[m.default_file[verb]]);
                        else if (rule == -1)
                                snprintf(expect, sizeof(expect), "built-in default (%s: deny)",
                                         policy_verb_name((enum policy_verb)verb));
                        else
                                snprintf(expect, sizeof(expect), "%s: rules[%d] (%s %s", paths[m.rules[rule].file],
                                         m.rules[rule].index, m.rules[rule].deny ? "deny" : "allow",
                                         policy_verb_name((enum policy_verb)verb));
                        bool text_ok = rule < 0 ? strcmp(v.rule, expect) == 0
                                                : strncmp(v.rule, expect, strlen(expect)) == 0;
                        if (got != want || v.allowed != want || v.by_default != (rule == -1) || !text_ok) {
                                fprintf(stderr,
                                        "MISMATCH policy %d: uid %u gid %u (%zu groups) %s '%s' %s: got %d (%s), "
                                        "model %d (%s)\n",
                                        n, (unsigned)who.uid, (unsigned)who.gid, who.ngroups,
                                        policy_verb_name((enum policy_verb)verb), obj, method, got, v.rule, want,
                                        expect);
                                for (int f = 0; f < nfiles; f++)
                                        fprintf(stderr, "%s: %s\n", paths[f], texts[f]);
                                CHECK(0);
                        }
                        cases[verb]++;
                        total++;
                        allowed += want;
                        decided_by[rule == -2 ? 2 : rule == -1 ? 1 : 0]++;
                }
                policy_free(p);
        }
        for (int v = 0; v < POLICY_VERB_COUNT; v++)
                CHECK(cases[v] >= 100000);
        /* the mix is worth something only if every outcome is common */
        CHECK(allowed > total / 5 && allowed < total * 4 / 5);
        CHECK(decided_by[0] > total / 5 && decided_by[1] > total / 10);
        printf("test_policy_diff: %lu cases (%lu per verb), 0 mismatches; %lu allowed; decided by a rule %lu, by "
               "a default %lu, root %lu\n",
               total, cases[0], allowed, decided_by[0], decided_by[1], decided_by[2]);
        return 0;
}
