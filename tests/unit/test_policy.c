/* test_policy.c: busd/policy/policy.c and busd/policy/policy_parse.c, the access-control
 * policy (docs/policy.md): every verb under allow, deny, deny over allow (in
 * either order and across files), no rule, an empty file, prefixes and `*`;
 * subjects by uid, user, gid and group (primary and supplementary); root and
 * the bus owner; verdict texts; the subscribe relations (covers, intersects);
 * quotas and overrides; multi-file merging; every class of parse error.
 * Pure: no files, names resolved from a table. */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "syntax.h"
#include "test.h"

/* ---- helpers ------------------------------------------------------------------ */

static const struct {
        const char *name;
        bool group;
        unsigned id;
} names[] = {
        { "root", false, 0 },  { "alice", false, 1000 }, { "bob", false, 1001 }, { "backup", false, 34 },
        { "audio", true, 29 }, { "video", true, 44 },    { "wheel", true, 10 },  { "weird", false, 4294967295u },
};

static int resolve(void *userdata, bool group, const char *name, unsigned *ret_id)
{
        (*(int *)userdata)++;
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
                if (names[i].group == group && strcmp(names[i].name, name) == 0) {
                        *ret_id = names[i].id;
                        return 0;
                }
        return -ENOENT;
}

static int resolved; /* calls to resolve() */

static struct policy *load_n(const char *const *texts, const char *const *paths, size_t n)
{
        struct policy_source src[4];
        struct policy *p = NULL;
        char err[512];

        for (size_t i = 0; i < n; i++) {
                src[i].path = paths[i];
                src[i].text = texts[i];
                src[i].len = strlen(texts[i]);
        }
        int r = policy_parse(src, n, resolve, &resolved, &p, err, sizeof(err));
        if (r != 0)
                fprintf(stderr, "parse failed: %s\n", err);
        CHECK_EQ_INT(r, 0);
        CHECK(p);
        return p;
}

static struct policy *load(const char *text)
{
        const char *path = "policy.json";
        return load_n(&text, &path, 1);
}

static struct policy *load2(const char *a, const char *b)
{
        const char *texts[2] = { a, b }, *paths[2] = { "policy.json", "policy.d/50-x.json" };
        return load_n(texts, paths, 2);
}

/* Parsing must fail with -EINVAL, leave *ret alone and say `want`. */
static void bad(const char *text, const char *want)
{
        struct policy_source src = { "policy.json", text, strlen(text) };
        struct policy *p = (struct policy *)(uintptr_t)0x1234;
        char err[512];

        memset(err, 'x', sizeof(err));
        int r = policy_parse(&src, 1, resolve, &resolved, &p, err, sizeof(err));
        if (r != -EINVAL)
                fprintf(stderr, "accepted or wrong code (%d): %s\n", r, text);
        CHECK_EQ_INT(r, -EINVAL);
        CHECK(p == (struct policy *)(uintptr_t)0x1234);
        CHECK(memchr(err, 0, sizeof(err)));
        if (!strstr(err, want))
                fprintf(stderr, "for %s\n", text);
        CHECK_CONTAINS(err, want);
        CHECK(strncmp(err, "policy.json: ", 13) == 0);
}

static const gid_t no_groups[1] = { 0 };

static struct policy_subject user(uid_t uid)
{
        return (struct policy_subject){ .uid = uid, .gid = uid, .groups = no_groups, .ngroups = 0 };
}

/* Checks one decision and, when `rule` is not NULL, its verdict text. */
static void expect(const struct policy *p, struct policy_subject who, enum policy_verb verb, const char *object,
                   const char *method, bool allowed, const char *rule)
{
        struct policy_verdict v;

        memset(&v, 'x', sizeof(v));
        bool got = policy_check(p, &who, verb, object, method, &v);
        if (got != allowed || v.allowed != allowed || (rule && strcmp(v.rule, rule) != 0))
                fprintf(stderr, "uid %u %s %s %s: got %s (%s), want %s (%s)\n", (unsigned)who.uid,
                        policy_verb_name(verb), object ? object : "-", method ? method : "-", got ? "allow" : "deny",
                        v.rule, allowed ? "allow" : "deny", rule ? rule : "?");
        CHECK(got == allowed);
        CHECK(v.allowed == allowed);
        CHECK(memchr(v.rule, 0, sizeof(v.rule)));
        if (rule)
                CHECK_STREQ(v.rule, rule);
        /* a NULL verdict gives the same answer */
        CHECK(policy_check(p, &who, verb, object, method, NULL) == allowed);
}

static bool by_default(const struct policy *p, struct policy_subject who, enum policy_verb verb, const char *object,
                       const char *method)
{
        struct policy_verdict v;
        policy_check(p, &who, verb, object, method, &v);
        return v.by_default;
}

/* ---- the embedded defaults ---------------------------------------------------- */

static void test_default_system(void)
{
        struct policy *p = policy_default(true, 1000);
        CHECK(p);
        expect(p, user(1000), POLICY_OWN, "org.example.A", NULL, false, "built-in default (own: deny)");
        CHECK(by_default(p, user(1000), POLICY_OWN, "org.example.A", NULL));
        expect(p, user(1000), POLICY_CONNECT, NULL, NULL, true, "built-in default (connect: allow)");
        expect(p, user(1000), POLICY_CALL, "org.example.A", "m", true, "built-in default (call: allow)");
        expect(p, user(1000), POLICY_CALL, "", "m", true, NULL);
        expect(p, user(1001), POLICY_PUBLISH, "a.b", NULL, true, "built-in default (publish: allow)");
        expect(p, user(1001), POLICY_SUBSCRIBE, ">", NULL, true, "built-in default (subscribe: allow)");
        expect(p, user(1001), POLICY_SEE, "org.example.A", NULL, true, "built-in default (see: allow)");
        /* an unprivileged subscriber may not hold system publishers back */
        expect(p, user(1001), POLICY_BACKPRESSURE, ">", NULL, false, "built-in default (backpressure: deny)");
        CHECK(by_default(p, user(1001), POLICY_BACKPRESSURE, "a.b", NULL));
        expect(p, user(0), POLICY_BACKPRESSURE, ">", NULL, true, "root");
        /* only root sees all the traffic of the system bus */
        expect(p, user(1001), POLICY_MONITOR, NULL, NULL, false, "built-in default (monitor: deny)");
        expect(p, user(0), POLICY_MONITOR, NULL, NULL, true, "root");
        /* root may do everything, on every bus */
        expect(p, user(0), POLICY_OWN, "org.example.A", NULL, true, "root");
        CHECK(!by_default(p, user(0), POLICY_OWN, "org.example.A", NULL));
        policy_free(p);
}

static void test_default_user(void)
{
        struct policy *p = policy_default(false, 1000);
        CHECK(p);
        for (int v = 0; v < POLICY_VERB_COUNT; v++) {
                const char *obj = v == POLICY_CONNECT || v == POLICY_MONITOR     ? NULL
                                  : v == POLICY_PUBLISH || v == POLICY_SUBSCRIBE ? "a.b"
                                                                                 : "org.x.Y";
                expect(p, user(1000), (enum policy_verb)v, obj, "m", true, "bus owner");
                CHECK(!by_default(p, user(1000), (enum policy_verb)v, obj, "m"));
                char want[80];
                snprintf(want, sizeof(want), "built-in default (%s: deny)", policy_verb_name((enum policy_verb)v));
                expect(p, user(1001), (enum policy_verb)v, obj, "m", false, want);
                expect(p, user(0), (enum policy_verb)v, obj, "m", true, "root");
        }
        /* the owner's group is no key: only the uid is */
        struct policy_subject s = { .uid = 1001, .gid = 1000 };
        expect(p, s, POLICY_CONNECT, NULL, NULL, false, NULL);
        policy_free(p);
}

/* `{}` denies everything it does not grant: fail closed. */
static void test_empty_file(void)
{
        struct policy *p = load("{}");
        for (int v = 0; v < POLICY_VERB_COUNT; v++) {
                char want[80];
                snprintf(want, sizeof(want), "built-in default (%s: deny)", policy_verb_name((enum policy_verb)v));
                expect(p, user(1000), (enum policy_verb)v,
                       v == POLICY_CONNECT || v == POLICY_MONITOR ? NULL : "org.x.Y", "m", false, want);
                expect(p, user(0), (enum policy_verb)v, "org.x.Y", "m", true, "root");
        }
        policy_free(p);
        /* an empty rules list and empty default too; whitespace around */
        p = load(" \n{\"rules\": [], \"default\": {}, \"quotas\": {}}\n");
        expect(p, user(1000), POLICY_CONNECT, NULL, NULL, false, "built-in default (connect: deny)");
        policy_free(p);
        /* a rule with an empty list grants nothing */
        p = load("{\"rules\": [{\"for\": \"*\", \"allow\": {\"own\": []}}]}");
        expect(p, user(1000), POLICY_OWN, "org.x.Y", NULL, false, "built-in default (own: deny)");
        policy_free(p);
        /* no file at all: no rule, every default deny */
        struct policy *q = NULL;
        CHECK_EQ_INT(policy_parse(NULL, 0, resolve, &resolved, &q, NULL, 0), 0);
        expect(q, user(1000), POLICY_CONNECT, NULL, NULL, false, NULL);
        policy_free(q);
}

/* ---- the verb matrix ---------------------------------------------------------- */

struct verb_case {
        enum policy_verb verb;
        const char *entries;  /* JSON value of the verb in allow/deny */
        const char *yes, *no; /* an object the entries match and one they do not (NULL: none) */
        const char *method;
        const char *shown; /* the entry in the verdict text */
};

static const struct verb_case verb_cases[] = {
        { POLICY_CONNECT, "true", NULL, NULL, NULL, "" },
        { POLICY_OWN, "[\"org.example.Audio\"]", "org.example.Audio", "org.example.Video", NULL, " org.example.Audio" },
        { POLICY_CALL, "[\"org.example.Audio\"]", "org.example.Audio", "org.example.Video", "Play",
          " org.example.Audio" },
        { POLICY_PUBLISH, "[\"sensors.*.temp\"]", "sensors.kitchen.temp", "sensors.kitchen.hum", NULL,
          " sensors.*.temp" },
        { POLICY_SUBSCRIBE, "[\"sensors.>\"]", "sensors.*.temp", "public.*", NULL, " sensors.>" },
        { POLICY_SEE, "[\"org.example.*\"]", "org.example.A.B", "org.example", NULL, " org.example.*" },
        /* a pattern, compared as for subscribe */
        { POLICY_BACKPRESSURE, "[\"sensors.>\"]", "sensors.*.temp", "public.*", NULL, " sensors.>" },
};

static void test_verb_matrix(void)
{
        for (size_t i = 0; i < sizeof(verb_cases) / sizeof(verb_cases[0]); i++) {
                const struct verb_case *c = &verb_cases[i];
                const char *vn = policy_verb_name(c->verb);
                char a[600], b[600], rule[300], dflt[100];
                struct policy *p;

                /* allow: granted, else the default (deny in a file) */
                snprintf(a, sizeof(a), "{\"rules\": [{\"for\": \"*\", \"allow\": {\"%s\": %s}}]}", vn, c->entries);
                p = load(a);
                snprintf(rule, sizeof(rule), "policy.json: rules[0] (allow %s%s)", vn, c->shown);
                expect(p, user(1000), c->verb, c->yes, c->method, true, rule);
                CHECK(!by_default(p, user(1000), c->verb, c->yes, c->method));
                snprintf(dflt, sizeof(dflt), "built-in default (%s: deny)", vn);
                if (c->no) {
                        expect(p, user(1000), c->verb, c->no, c->method, false, dflt);
                        CHECK(by_default(p, user(1000), c->verb, c->no, c->method));
                }
                policy_free(p);

                /* deny under an allowing default */
                snprintf(a, sizeof(a),
                         "{\"default\": {\"%s\": \"allow\"}, \"rules\": [{\"for\": \"*\", \"deny\": {\"%s\": %s}}]}",
                         vn, vn, c->entries);
                p = load(a);
                snprintf(rule, sizeof(rule), "policy.json: rules[0] (deny %s%s)", vn, c->shown);
                expect(p, user(1000), c->verb, c->yes, c->method, false, rule);
                CHECK(!by_default(p, user(1000), c->verb, c->yes, c->method));
                snprintf(dflt, sizeof(dflt), "default (%s: allow) from policy.json", vn);
                if (c->no)
                        expect(p, user(1000), c->verb, c->no, c->method, true, dflt);
                policy_free(p);

                /* deny over allow, either order, one file */
                for (int order = 0; order < 2; order++) {
                        snprintf(a, sizeof(a),
                                 "{\"rules\": [{\"for\": \"*\", \"%s\": {\"%s\": %s}},"
                                 " {\"for\": {\"uid\": 1000}, \"%s\": {\"%s\": %s}}]}",
                                 order ? "deny" : "allow", vn, c->entries, order ? "allow" : "deny", vn, c->entries);
                        p = load(a);
                        snprintf(rule, sizeof(rule), "policy.json: rules[%d] (deny %s%s)", order ? 0 : 1, vn, c->shown);
                        expect(p, user(1000), c->verb, c->yes, c->method, false, order ? rule : rule);
                        /* the other uid only has the "*" rule */
                        expect(p, user(1001), c->verb, c->yes, c->method, order == 0, NULL);
                        policy_free(p);
                }
                /* deny over allow across files, either order */
                for (int order = 0; order < 2; order++) {
                        snprintf(a, sizeof(a), "{\"rules\": [{\"for\": \"*\", \"%s\": {\"%s\": %s}}]}",
                                 order ? "deny" : "allow", vn, c->entries);
                        snprintf(b, sizeof(b), "{\"rules\": [{\"for\": \"*\", \"%s\": {\"%s\": %s}}]}",
                                 order ? "allow" : "deny", vn, c->entries);
                        p = load2(a, b);
                        snprintf(rule, sizeof(rule), "%s: rules[0] (deny %s%s)",
                                 order ? "policy.json" : "policy.d/50-x.json", vn, c->shown);
                        expect(p, user(1000), c->verb, c->yes, c->method, false, rule);
                        policy_free(p);
                }
                /* no rule for the verb: the default, whatever other verbs say */
                snprintf(a, sizeof(a),
                         "{\"default\": {\"%s\": \"allow\"}, \"rules\": [{\"for\": \"*\", \"deny\": {\"%s\": %s}}]}",
                         vn, c->verb == POLICY_OWN ? "see" : "own", c->verb == POLICY_OWN ? "[\"*\"]" : "[\"*\"]");
                p = load(a);
                snprintf(dflt, sizeof(dflt), "default (%s: allow) from policy.json", vn);
                expect(p, user(1000), c->verb, c->yes, c->method, true, dflt);
                policy_free(p);
        }
}

/* ---- forms of entries --------------------------------------------------------- */

static void test_name_forms(void)
{
        struct policy *p = load(
                "{\"rules\": [{\"for\": \"*\", \"allow\": {\"own\": [\"org.example.*\"],"
                " \"see\": [\"*\"], \"call\": [\"org.example.Audio\","
                " {\"name\": \"org.other.*\", \"method\": \"Get\"}, {\"name\": \"*\", \"method\": \"Ping\"}]}}]}");
        struct policy_subject s = user(1000);

        /* a prefix: strictly below, any depth */
        expect(p, s, POLICY_OWN, "org.example.A", NULL, true, "policy.json: rules[0] (allow own org.example.*)");
        expect(p, s, POLICY_OWN, "org.example.A.B", NULL, true, NULL);
        expect(p, s, POLICY_OWN, "org.example", NULL, false, NULL);
        expect(p, s, POLICY_OWN, "org.exampleX.A", NULL, false, NULL);
        expect(p, s, POLICY_OWN, "org.examples.A", NULL, false, NULL);
        expect(p, s, POLICY_OWN, "org", NULL, false, NULL);
        expect(p, s, POLICY_OWN, "", NULL, false, NULL);
        /* "*": every name */
        expect(p, s, POLICY_SEE, "a.b", NULL, true, "policy.json: rules[0] (allow see *)");
        expect(p, s, POLICY_SEE, "org.busd", NULL, true, NULL);
        /* call: a whole name, a method under a prefix, a method of anyone */
        expect(p, s, POLICY_CALL, "org.example.Audio", "Play", true,
               "policy.json: rules[0] (allow call org.example.Audio)");
        expect(p, s, POLICY_CALL, "org.example.Audio.X", "Play", false, NULL);
        expect(p, s, POLICY_CALL, "org.other.A", "Get", true,
               "policy.json: rules[0] (allow call org.other.* method Get)");
        expect(p, s, POLICY_CALL, "org.other.A", "Set", false, NULL);
        expect(p, s, POLICY_CALL, "org.other.A", "Ge", false, NULL);
        expect(p, s, POLICY_CALL, "org.other.A", "GetX", false, NULL);
        expect(p, s, POLICY_CALL, "org.other.A", NULL, false, NULL);
        expect(p, s, POLICY_CALL, "org.other", "Get", false, NULL);
        /* a callee without a name: only "*" entries */
        expect(p, s, POLICY_CALL, "", "Ping", true, "policy.json: rules[0] (allow call * method Ping)");
        expect(p, s, POLICY_CALL, "", "Get", false, NULL);
        expect(p, s, POLICY_CALL, NULL, "Ping", true, NULL);
        expect(p, s, POLICY_CALL, "x.y", "Ping", true, NULL);
        policy_free(p);

        /* a deny of "*" names covers the nameless callee too */
        p = load("{\"default\": {\"call\": \"allow\"}, \"rules\": [{\"for\": \"*\", \"deny\": {\"call\": [\"*\"]}}]}");
        expect(p, s, POLICY_CALL, "", "m", false, "policy.json: rules[0] (deny call *)");
        policy_free(p);
        /* a deny of a prefix does not reach the nameless callee */
        p = load(
                "{\"default\": {\"call\": \"allow\"}, \"rules\": [{\"for\": \"*\", \"deny\": {\"call\": [\"a.*\"]}}]}");
        expect(p, s, POLICY_CALL, "", "m", true, NULL);
        expect(p, s, POLICY_CALL, "a.b", "m", false, NULL);
        policy_free(p);

        /* publish: patterns match topics */
        p = load("{\"rules\": [{\"for\": \"*\", \"allow\": {\"publish\": [\"logs.>\", \"a.*\", \">\"]}},"
                 " {\"for\": \"*\", \"deny\": {\"publish\": [\"logs.secret.*\"]}}]}");
        expect(p, s, POLICY_PUBLISH, "logs.x", NULL, true, "policy.json: rules[0] (allow publish logs.>)");
        expect(p, s, POLICY_PUBLISH, "logs.secret.k", NULL, false,
               "policy.json: rules[1] (deny publish logs.secret.*)");
        expect(p, s, POLICY_PUBLISH, "logs.secret", NULL, true, NULL);
        expect(p, s, POLICY_PUBLISH, "a.b", NULL, true, "policy.json: rules[0] (allow publish a.*)");
        expect(p, s, POLICY_PUBLISH, "q", NULL, true, "policy.json: rules[0] (allow publish >)");
        /* `>` and `*` first match no `$` topic */
        expect(p, s, POLICY_PUBLISH, "$bus.x", NULL, false, NULL);
        expect(p, s, POLICY_PUBLISH, "", NULL, false, NULL);
        policy_free(p);
}

/* subscribe: an allow entry must cover the pattern, a deny entry hits when it
 * intersects it. */
static void test_subscribe(void)
{
        struct policy *p = load(
                "{\"rules\": [{\"for\": \"*\", \"allow\": {\"subscribe\": [\"sensors.>\", \"pub.*\", \">\"]}},"
                " {\"for\": \"*\", \"deny\": {\"subscribe\": [\"secret.>\", \"a.private\"]}}]}");
        struct policy_subject s = user(1000);

        expect(p, s, POLICY_SUBSCRIBE, "public.>", NULL, true, "policy.json: rules[0] (allow subscribe >)");
        expect(p, s, POLICY_SUBSCRIBE, "sensors.*.temp", NULL, true,
               "policy.json: rules[0] (allow subscribe sensors.>)");
        expect(p, s, POLICY_SUBSCRIBE, ">", NULL, false, "policy.json: rules[1] (deny subscribe secret.>)");
        expect(p, s, POLICY_SUBSCRIBE, "*.x", NULL, false, "policy.json: rules[1] (deny subscribe secret.>)");
        expect(p, s, POLICY_SUBSCRIBE, "*", NULL, true, NULL);
        expect(p, s, POLICY_SUBSCRIBE, "a.*", NULL, false, "policy.json: rules[1] (deny subscribe a.private)");
        expect(p, s, POLICY_SUBSCRIBE, "a.*.b", NULL, true, NULL);
        expect(p, s, POLICY_SUBSCRIBE, "secret", NULL, true, NULL);
        expect(p, s, POLICY_SUBSCRIBE, "secret.x", NULL, false, NULL);
        expect(p, s, POLICY_SUBSCRIBE, "$bus.>", NULL, false, "built-in default (subscribe: deny)");
        policy_free(p);

        p = load("{\"rules\": [{\"for\": \"*\", \"allow\": {\"subscribe\": [\"sensors.>\"]}}]}");
        expect(p, s, POLICY_SUBSCRIBE, "sensors.*.temp", NULL, true, NULL);
        expect(p, s, POLICY_SUBSCRIBE, "sensors.>", NULL, true, NULL);
        expect(p, s, POLICY_SUBSCRIBE, "sensors", NULL, false, NULL);
        expect(p, s, POLICY_SUBSCRIBE, ">", NULL, false, NULL);
        expect(p, s, POLICY_SUBSCRIBE, "*.temp", NULL, false, NULL);
        expect(p, s, POLICY_SUBSCRIBE, "", NULL, false, NULL);
        policy_free(p);
}

struct rel {
        const char *a, *s;
        bool covers, intersects;
};

/* a covers s / a intersects s */
static const struct rel rels[] = {
        { "a", "a", true, true },
        { "a", "b", false, false },
        { "a", "a.b", false, false },
        { "a.b", "a", false, false },
        { "*", "a", true, true },
        { "a", "*", false, true },
        { "*", "*", true, true },
        { "*", "a.b", false, false },
        { "*", ">", false, true },
        { ">", "*", true, true },
        { ">", ">", true, true },
        { ">", "a", true, true },
        { ">", "a.b.c", true, true },
        { "a.>", "a", false, false },
        { "a.>", "a.b", true, true },
        { "a.>", "a.>", true, true },
        { "a.>", "a.*", true, true },
        { "a.>", "a.*.c.>", true, true },
        { "a.>", ">", false, true },
        { "a.>", "*", false, false },
        { "a.>", "*.b", false, true },
        { "a.>", "b.>", false, false },
        { "a.*", "a.>", false, true },
        { "a.*.c", "a.>", false, true },
        { "a.*.c", "a.b.>", false, true },
        { "a.*.c", "a.b.c.>", false, false },
        { "a.*.c", "*.*.*", false, true },
        { "*.*.*", "a.*.c", true, true },
        { "*.*", "a.>", false, true },
        { "*.>", "a.b", true, true },
        { "*.>", "a", false, false },
        { "*.>", ">", false, true },
        { ">", "a.*.>", true, true },
        { "a.b", "a.*", false, true },
        { "a.b", "*.b", false, true },
        { "a.b", "*.c", false, false },
        { "secret.>", ">", false, true },
        { "secret.>", "*.x", false, true },
        { "secret.>", "public.>", false, false },
        { "sensors.>", "sensors.*.temp", true, true },
        /* `$`: a wildcard in the first segment matches no `$` topic */
        { ">", "$bus.>", false, false },
        { "*.>", "$bus.x", false, false },
        { "*", "$bus", false, false },
        { "$bus", "*", false, false },
        { "$bus.>", ">", false, false },
        { "$bus.>", "$bus.x", true, true },
        { "$bus.>", "$bus.*", true, true },
        { "$bus.*", "$bus.>", false, true },
        { "$bus.x", "$bus.x", true, true },
        { "$bus.x", "$bus.y", false, false },
        { "a.$b", "a.$b", true, true },
        /* a `$` after the first segment is an ordinary character (not valid
         * syntax, but handled without crashing) */
        { "a.*", "a.$b", true, true },
};

static void test_relations(void)
{
        for (size_t i = 0; i < sizeof(rels) / sizeof(rels[0]); i++) {
                const struct rel *r = &rels[i];
                bool c = policy_pattern_covers(r->a, r->s), x = policy_pattern_intersects(r->a, r->s);
                if (c != r->covers || x != r->intersects)
                        fprintf(stderr, "%s vs %s: covers %d (want %d), intersects %d (want %d)\n", r->a, r->s, c,
                                r->covers, x, r->intersects);
                CHECK(c == r->covers);
                CHECK(x == r->intersects);
                /* intersects is symmetric; covering (a topic exists) implies intersecting */
                CHECK(policy_pattern_intersects(r->s, r->a) == x);
                CHECK(!c || x);
        }
        /* on a topic both are the plain match */
        static const char *const pats[] = { "a", "a.b", "*", ">", "a.*", "*.b", "a.>", "$x.>", "$x.*" };
        static const char *const topics[] = { "a", "b", "a.b", "a.c", "a.b.c", "$x", "$x.y", "c.b" };
        for (size_t i = 0; i < sizeof(pats) / sizeof(pats[0]); i++)
                for (size_t j = 0; j < sizeof(topics) / sizeof(topics[0]); j++) {
                        bool m = syntax_pattern_matches(pats[i], topics[j]);
                        CHECK(policy_pattern_covers(pats[i], topics[j]) == m);
                        CHECK(policy_pattern_intersects(pats[i], topics[j]) == m);
                }
}

/* ---- subjects, root, owner ---------------------------------------------------- */

static void test_subjects(void)
{
        resolved = 0;
        struct policy *p = load(
                "{\"rules\": ["
                " {\"for\": {\"group\": \"audio\"}, \"allow\": {\"own\": [\"org.example.Audio\"]}},"
                " {\"for\": {\"gid\": 44}, \"allow\": {\"own\": [\"org.example.Video\"]}},"
                " {\"for\": {\"user\": \"alice\"}, \"allow\": {\"own\": [\"org.alice.A\"]}},"
                " {\"for\": {\"uid\": 1001}, \"allow\": {\"own\": [\"org.bob.B\"]}},"
                " {\"for\": {\"uid\": 0}, \"deny\": {\"own\": [\"*\"]}},"
                " {\"for\": \"*\", \"deny\": {\"own\": [\"org.busd.*\"]}}]}");
        CHECK_EQ_INT(resolved, 2); /* names are resolved once, at parse */
        gid_t supp[] = { 5, 29, 100 };
        struct policy_subject prim = { .uid = 2000, .gid = 29 };
        struct policy_subject sup = { .uid = 2000, .gid = 2000, .groups = supp, .ngroups = 3 };
        struct policy_subject none = { .uid = 2000, .gid = 2000, .groups = supp, .ngroups = 1 };
        struct policy_subject nullg = { .uid = 2000, .gid = 2000, .groups = NULL, .ngroups = 5 };

        expect(p, prim, POLICY_OWN, "org.example.Audio", NULL, true,
               "policy.json: rules[0] (allow own org.example.Audio)");
        expect(p, sup, POLICY_OWN, "org.example.Audio", NULL, true, NULL);
        expect(p, none, POLICY_OWN, "org.example.Audio", NULL, false, "built-in default (own: deny)");
        expect(p, nullg, POLICY_OWN, "org.example.Audio", NULL, false, NULL);
        struct policy_subject vid = { .uid = 2000, .gid = 1, .groups = (gid_t[]){ 44 }, .ngroups = 1 };
        expect(p, vid, POLICY_OWN, "org.example.Video", NULL, true,
               "policy.json: rules[1] (allow own org.example.Video)");
        expect(p, vid, POLICY_OWN, "org.example.Audio", NULL, false, NULL);
        /* the uid is no gid and the gid no uid */
        struct policy_subject g1000 = { .uid = 2000, .gid = 1000 };
        expect(p, user(1000), POLICY_OWN, "org.alice.A", NULL, true, "policy.json: rules[2] (allow own org.alice.A)");
        expect(p, g1000, POLICY_OWN, "org.alice.A", NULL, false, NULL);
        struct policy_subject u29 = { .uid = 29, .gid = 2000 };
        expect(p, u29, POLICY_OWN, "org.example.Audio", NULL, false, NULL);
        expect(p, user(1001), POLICY_OWN, "org.bob.B", NULL, true, NULL);
        expect(p, user(1001), POLICY_OWN, "org.alice.A", NULL, false, NULL);
        /* "*" is everyone; deny wins */
        struct policy_subject audio_busd = { .uid = 2000, .gid = 29 };
        expect(p, audio_busd, POLICY_OWN, "org.busd.X", NULL, false, "policy.json: rules[5] (deny own org.busd.*)");
        /* root: no rule applies to it, not even one naming uid 0 */
        expect(p, user(0), POLICY_OWN, "org.busd.X", NULL, true, "root");
        struct policy_subject root_grp = { .uid = 0, .gid = 29 };
        expect(p, root_grp, POLICY_OWN, "x.y", NULL, true, "root");
        policy_free(p);

        /* a gid rule never matches through a uid-less subject's fields by accident */
        p = load("{\"rules\": [{\"for\": {\"gid\": 0}, \"allow\": {\"connect\": true}}]}");
        struct policy_subject g0 = { .uid = 5, .gid = 0 };
        expect(p, g0, POLICY_CONNECT, NULL, NULL, true, "policy.json: rules[0] (allow connect)");
        expect(p, user(5), POLICY_CONNECT, NULL, NULL, false, NULL);
        policy_free(p);

        /* monitor is granted as connect is: `true`, for whom the rule names */
        p = load("{\"rules\": [{\"for\": {\"uid\": 1002}, \"allow\": {\"monitor\": true}}]}");
        expect(p, user(1002), POLICY_MONITOR, NULL, NULL, true, "policy.json: rules[0] (allow monitor)");
        expect(p, user(1003), POLICY_MONITOR, NULL, NULL, false, "built-in default (monitor: deny)");
        policy_free(p);
}

/* The first deny rule in file order is named, else the first allow rule. */
static void test_verdicts(void)
{
        struct policy *p = load2(
                "{\"rules\": [{\"for\": \"*\", \"allow\": {\"call\": [\"a.b\"]}},"
                " {\"for\": {\"uid\": 1000}, \"allow\": {\"call\": [\"a.*\"]}},"
                " {\"for\": \"*\", \"deny\": {\"call\": [{\"name\": \"a.b\", \"method\": \"Kill\"}]}}]}",
                "{\"rules\": [{\"for\": \"*\", \"deny\": {\"call\": [\"a.*\"]}}],"
                " \"default\": {\"call\": \"allow\"}}");
        expect(p, user(1000), POLICY_CALL, "a.b", "Kill", false, "policy.json: rules[2] (deny call a.b method Kill)");
        expect(p, user(1000), POLICY_CALL, "a.b", "Play", false, "policy.d/50-x.json: rules[0] (deny call a.*)");
        expect(p, user(1000), POLICY_CALL, "x.y", "Play", true, "default (call: allow) from policy.d/50-x.json");
        policy_free(p);

        p = load("{\"rules\": [{\"for\": \"*\", \"allow\": {\"call\": [\"x.*\"]}},"
                 " {\"for\": \"*\", \"allow\": {\"call\": [\"*\"]}}]}");
        expect(p, user(1000), POLICY_CALL, "x.y", "m", true, "policy.json: rules[0] (allow call x.*)");
        expect(p, user(1000), POLICY_CALL, "z.y", "m", true, "policy.json: rules[1] (allow call *)");
        policy_free(p);

        /* a long path: cut, terminated, within the buffer */
        char path[600], text[200];
        memset(path, 'p', sizeof(path) - 1);
        path[sizeof(path) - 1] = 0;
        const char *pp = path, *tp = text;
        snprintf(text, sizeof(text), "{\"rules\": [{\"for\": \"*\", \"deny\": {\"own\": [\"a.b\"]}}]}");
        p = load_n(&tp, &pp, 1);
        struct policy_verdict v;
        struct policy_subject s = user(1000);
        CHECK(!policy_check(p, &s, POLICY_OWN, "a.b", NULL, &v));
        CHECK(strlen(v.rule) == sizeof(v.rule) - 1);
        CHECK(strncmp(v.rule, path, 100) == 0);
        CHECK(!policy_check(p, &s, POLICY_OWN, "c.d", NULL, &v));
        CHECK(strlen(v.rule) < sizeof(v.rule));
        /* out-of-range verb: denied, not a crash */
        CHECK(!policy_check(p, &s, POLICY_VERB_COUNT, "a.b", NULL, &v));
        CHECK(!policy_check(p, &s, (enum policy_verb) - 1, "a.b", NULL, &v));
        policy_free(p);

        CHECK_STREQ(policy_verb_name(POLICY_CONNECT), "connect");
        CHECK_STREQ(policy_verb_name(POLICY_SEE), "see");
        CHECK_STREQ(policy_verb_name(POLICY_VERB_COUNT), "?");
}

/* ---- quotas ------------------------------------------------------------------- */

static void check_quota(const struct policy_quota *q, unsigned conn, unsigned hs, unsigned pend, unsigned names_,
                        unsigned subs, size_t bytes)
{
        CHECK_EQ_INT(q->connections, conn);
        CHECK_EQ_INT(q->handshakes, hs);
        CHECK_EQ_INT(q->pending_calls, pend);
        CHECK_EQ_INT(q->names, names_);
        CHECK_EQ_INT(q->subscriptions, subs);
        CHECK(q->queue_bytes == bytes);
}

static void test_quotas(void)
{
        struct policy_quota q;
        struct policy *p = policy_default(true, 1000);

        policy_quota(p, 1000, &q);
        check_quota(&q, 256, 64, 4096, 512, 8192, 268435456);
        policy_quota(p, 0, &q);
        check_quota(&q, UINT_MAX, UINT_MAX, UINT_MAX, UINT_MAX, UINT_MAX, SIZE_MAX);
        policy_free(p);
        p = policy_default(false, 1000);
        policy_quota(p, 1000, &q);
        check_quota(&q, 256, 64, 4096, 512, 8192, 268435456);
        policy_free(p);

        p = load("{\"quotas\": {\"default\": {\"connections\": 10, \"queue_bytes\": 281474976710656},"
                 " \"overrides\": [{\"for\": {\"user\": \"backup\"}, \"connections\": 1024, \"names\": 1},"
                 " {\"for\": {\"uid\": 1000}, \"subscriptions\": 2147483648},"
                 " {\"for\": {\"uid\": 34}, \"connections\": 5},"
                 " {\"for\": {\"user\": \"root\"}, \"connections\": 7}]}}");
        policy_quota(p, 1001, &q);
        check_quota(&q, 10, 64, 4096, 512, 8192, (size_t)1 << 48);
        policy_quota(p, 34, &q); /* later wins per key */
        check_quota(&q, 5, 64, 4096, 1, 8192, (size_t)1 << 48);
        policy_quota(p, 1000, &q);
        check_quota(&q, 10, 64, 4096, 512, 2147483648u, (size_t)1 << 48);
        policy_quota(p, 0, &q); /* root: unlimited but what an override names */
        check_quota(&q, 7, UINT_MAX, UINT_MAX, UINT_MAX, UINT_MAX, SIZE_MAX);
        policy_free(p);

        /* across files: defaults per key, overrides concatenated */
        p = load2("{\"quotas\": {\"default\": {\"connections\": 10, \"handshakes\": 3},"
                  " \"overrides\": [{\"for\": {\"uid\": 5}, \"names\": 9, \"handshakes\": 2}]}}",
                  "{\"quotas\": {\"default\": {\"connections\": 20, \"pending_calls\": 1},"
                  " \"overrides\": [{\"for\": {\"uid\": 5}, \"names\": 8}]}}");
        policy_quota(p, 6, &q);
        check_quota(&q, 20, 3, 1, 512, 8192, 268435456);
        policy_quota(p, 5, &q);
        check_quota(&q, 20, 2, 1, 8, 8192, 268435456);
        policy_free(p);
}

/* ---- merging files ------------------------------------------------------------ */

static void test_merge(void)
{
        struct policy *p = load2("{\"default\": {\"own\": \"allow\", \"call\": \"deny\", \"connect\": \"allow\"},"
                                 " \"rules\": [{\"for\": \"*\", \"deny\": {\"own\": [\"a.b\"]}}]}",
                                 "{\"default\": {\"own\": \"deny\"},"
                                 " \"rules\": [{\"for\": \"*\", \"allow\": {\"own\": [\"c.d\"]}},"
                                 " {\"for\": \"*\", \"allow\": {\"own\": [\"a.b\"]}}]}");
        struct policy_subject s = user(1000);
        expect(p, s, POLICY_OWN, "x.y", NULL, false, "default (own: deny) from policy.d/50-x.json");
        expect(p, s, POLICY_CALL, "x.y", "m", false, "default (call: deny) from policy.json");
        expect(p, s, POLICY_CONNECT, NULL, NULL, true, "default (connect: allow) from policy.json");
        expect(p, s, POLICY_PUBLISH, "x", NULL, false, "built-in default (publish: deny)");
        expect(p, s, POLICY_OWN, "c.d", NULL, true, "policy.d/50-x.json: rules[0] (allow own c.d)");
        expect(p, s, POLICY_OWN, "a.b", NULL, false, "policy.json: rules[0] (deny own a.b)");
        policy_free(p);
}

/* ---- parse errors ------------------------------------------------------------- */

static void test_errors(void)
{
        /* JSON itself, with a line and column */
        bad("{\n  \"rules\": [\n    {,}\n  ]\n}", "policy.json: line 3, column 6: invalid JSON");
        bad("", "invalid JSON");
        bad("{\"rules\": [", "invalid JSON");
        bad("{\"default\": {}} x", "invalid JSON");
        bad("{'rules': []}", "single-quoted");
        bad("{\"rules\": [], \"rules\": []}", "same member name twice");
        bad("{\"default\": {\"own\": \"allow\", \"own\": \"deny\"}}", "same member name twice");
        bad("{\"rules\": [{\"for\": \"*\", \"allow\": {\"own\": [\"a.\xff\"]}}]}", "invalid UTF-8");
        bad("{\"quotas\": {\"default\": {\"connections\": 1e3}}}", "quotas.default.connections: must be an integer");
        bad("{\"quotas\": {\"default\": {\"names\": 99999999999999999999999}}}", "64-bit range");
        bad("[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]", "nesting too deep");
        bad("null", "a policy file holds one JSON object");
        bad("[]", "a policy file holds one JSON object");
        /* unknown keys, at every level */
        bad("{\"rule\": []}", "policy.json: unknown key 'rule' (known here: default, rules, quotas)");
        bad("{\"default\": {\"read\": \"allow\"}}", "default: unknown verb 'read'");
        bad("{\"rules\": [{\"for\": \"*\", \"allow\": {}, \"why\": 1}]}", "rules[0]: unknown key 'why'");
        bad("{\"rules\": [{\"for\": \"*\", \"allow\": {\"send\": []}}]}", "rules[0].allow: unknown verb 'send'");
        bad("{\"rules\": [{\"for\": \"*\", \"allow\": {\"call\": [{\"name\": \"a.b\", \"method\": \"m\", \"x\": 1}]}}]}",
            "rules[0].allow.call[0]: unknown key 'x'");
        bad("{\"rules\": [{\"for\": {\"uid\": 1, \"gid\": 2}, \"allow\": {}}]}", "rules[0].for: must be");
        bad("{\"rules\": [{\"for\": {\"name\": \"x\"}, \"allow\": {}}]}", "rules[0].for: unknown key 'name'");
        bad("{\"quotas\": {\"limits\": {}}}", "quotas: unknown key 'limits'");
        bad("{\"quotas\": {\"default\": {\"bytes\": 1}}}", "quotas.default: unknown key 'bytes'");
        bad("{\"quotas\": {\"overrides\": [{\"for\": {\"uid\": 1}, \"conns\": 1}]}}",
            "quotas.overrides[0]: unknown key 'conns'");
        /* wrong types */
        bad("{\"rules\": {}}", "rules: must be an array");
        bad("{\"rules\": [1]}", "rules[0]: must be an object");
        bad("{\"default\": []}", "default: must be an object");
        bad("{\"default\": {\"own\": true}}", "default.own: must be \"allow\" or \"deny\"");
        bad("{\"default\": {\"own\": \"Allow\"}}", "default.own: must be \"allow\" or \"deny\"");
        bad("{\"default\": {\"own\": \"allow\\u0000\"}}", "default.own: must be");
        bad("{\"rules\": [{\"for\": \"*\", \"allow\": []}]}", "rules[0].allow: must be an object");
        bad("{\"rules\": [{\"for\": \"*\", \"allow\": {\"own\": \"a.b\"}}]}", "rules[0].allow.own: must be an array");
        bad("{\"rules\": [{\"for\": \"*\", \"allow\": {\"own\": [1]}}]}", "rules[0].allow.own[0]: must be a string");
        bad("{\"rules\": [{\"for\": \"*\", \"allow\": {\"connect\": false}}]}", "connect takes the value true");
        bad("{\"rules\": [{\"for\": \"*\", \"allow\": {\"connect\": [\"*\"]}}]}", "connect takes the value true");
        bad("{\"rules\": [{\"for\": \"*\", \"allow\": {\"monitor\": [\"*\"]}}]}", "monitor takes the value true");
        bad("{\"rules\": [{\"for\": \"*\", \"deny\": {\"publish\": [null]}}]}",
            "rules[0].deny.publish[0]: must be a topic pattern");
        bad("{\"rules\": [{\"for\": \"*\", \"allow\": {\"call\": [{\"name\": \"a.b\"}]}}]}",
            "rules[0].allow.call[0]: a method entry needs both");
        bad("{\"rules\": [{\"for\": \"*\", \"allow\": {\"call\": [{\"name\": \"a.b\", \"method\": 1}]}}]}",
            "rules[0].allow.call[0].method: must be a method name");
        bad("{\"rules\": [{\"for\": \"*\", \"allow\": {\"call\": [{\"name\": \"a.b\", \"method\": \"1x\"}]}}]}",
            "rules[0].allow.call[0].method: '1x' is not a method name");
        bad("{\"rules\": [{\"for\": \"*\", \"allow\": {\"call\": [{\"name\": \"a.b\", \"method\": \"\"}]}}]}",
            "is not a method name");
        bad("{\"quotas\": []}", "quotas: must be an object");
        bad("{\"quotas\": {\"default\": 5}}", "quotas.default: must be an object");
        bad("{\"quotas\": {\"overrides\": {}}}", "quotas.overrides: must be an array");
        bad("{\"quotas\": {\"overrides\": [5]}}", "quotas.overrides[0]: must be an object");
        bad("{\"quotas\": {\"default\": {\"connections\": \"5\"}}}", "must be an integer from 1 to 2147483648");
        /* ranges */
        bad("{\"quotas\": {\"default\": {\"connections\": 0}}}",
            "quotas.default.connections: must be an integer from 1");
        bad("{\"quotas\": {\"default\": {\"names\": -1}}}", "quotas.default.names: must be");
        bad("{\"quotas\": {\"default\": {\"handshakes\": 2147483649}}}", "quotas.default.handshakes");
        bad("{\"quotas\": {\"default\": {\"queue_bytes\": 281474976710657}}}", "quotas.default.queue_bytes");
        bad("{\"rules\": [{\"for\": {\"uid\": 4294967295}, \"allow\": {}}]}",
            "rules[0].for.uid: must be an integer from 0 to 4294967294");
        bad("{\"rules\": [{\"for\": {\"gid\": -1}, \"allow\": {}}]}", "rules[0].for.gid: must be an integer");
        bad("{\"rules\": [{\"for\": {\"uid\": \"1000\"}, \"allow\": {}}]}", "rules[0].for.uid: must be an integer");
        /* rules' shape */
        bad("{\"rules\": [{\"allow\": {}}]}", "rules[0]: missing \"for\"");
        bad("{\"rules\": [{\"for\": \"*\"}]}", "rules[0]: needs exactly one of \"allow\" and \"deny\"");
        bad("{\"rules\": [{\"for\": \"*\", \"allow\": {}, \"deny\": {}}]}", "rules[0]: needs exactly one");
        bad("{\"rules\": [{\"for\": \"all\", \"allow\": {}}]}", "rules[0].for: must be \"*\" or an object");
        bad("{\"rules\": [{\"for\": \"\", \"allow\": {}}]}", "rules[0].for: must be");
        bad("{\"rules\": [{\"for\": {}, \"allow\": {}}]}", "rules[0].for: must be");
        bad("{\"rules\": [{\"for\": [\"*\"], \"allow\": {}}]}", "rules[0].for: must be");
        /* names: unknown, empty, odd */
        bad("{\"rules\": [{\"for\": {\"user\": \"alise\"}, \"allow\": {}}]}",
            "policy.json: rules[0].for: unknown user 'alise'");
        bad("{\"rules\": [{}, {\"for\": {\"group\": \"audi\"}, \"allow\": {}}]}", "rules[0]: missing");
        bad("{\"rules\": [{\"for\": \"*\", \"allow\": {}}, {\"for\": {\"group\": \"audi\"}, \"allow\": {}}]}",
            "rules[1].for: unknown group 'audi'");
        bad("{\"rules\": [{\"for\": {\"group\": \"alice\"}, \"allow\": {}}]}", "unknown group 'alice'");
        bad("{\"rules\": [{\"for\": {\"user\": \"\"}, \"allow\": {}}]}", "rules[0].for.user: '' is not a user name");
        bad("{\"rules\": [{\"for\": {\"user\": \"ali\\u0000ce\"}, \"allow\": {}}]}", "is not a user name");
        bad("{\"rules\": [{\"for\": {\"user\": 1000}, \"allow\": {}}]}", "rules[0].for.user: must be a user name");
        bad("{\"rules\": [{\"for\": {\"user\": \"weird\"}, \"allow\": {}}]}", "resolves to the invalid id");
        /* names and patterns: no widening */
        static const char *const bad_names[] = {
                "org.*.x",
                "org*",
                "",
                ".*",
                "*.x",
                "*.*",
                "org.example.**",
                "org.example.*.*",
                "**",
                "org",
                "org.",
                ".org.x",
                "org..x",
                "a.1b",
                "a.b.*x",
                "a.b*",
                "org.example.>",
                ">",
                "a b.c",
                "a.b ",
                "org.ex\\u0000.*",
                "*\\u0000"
        };
        for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
                /* each form is the text before and after the bad name */
                static const char *const forms[][2] = {
                        { "{\"rules\": [{\"for\": \"*\", \"allow\": {\"own\": [\"a.b\", \"", "\"]}}]}" },
                        { "{\"rules\": [{\"for\": \"*\", \"deny\": {\"see\": [\"a.b\", \"", "\"]}}]}" },
                        { "{\"rules\": [{\"for\": \"*\", \"allow\": {\"call\": [\"a.b\", \"", "\"]}}]}" },
                        { "{\"rules\": [{\"for\": \"*\", \"allow\": {\"call\": [\"a.b\", {\"name\": \"",
                          "\", \"method\": \"m\"}]}}]}" },
                };
                static const char *const where[] = { "rules[0].allow.own[1]: '", "rules[0].deny.see[1]: '",
                                                     "rules[0].allow.call[1]: '", "rules[0].allow.call[1].name: '" };
                for (size_t f = 0; f < 4; f++) {
                        char text[300];
                        snprintf(text, sizeof(text), "%s%s%s", forms[f][0], bad_names[i], forms[f][1]);
                        bad(text, where[f]);
                        bad(text, "' is not a name, a prefix 'a.b.*' or '*'");
                }
        }
        bad("{\"rules\": [{\"for\": \"*\", \"allow\": {\"own\": [\"a.b\", \"org.*.x\"]}}]}",
            "policy.json: rules[0].allow.own[1]: 'org.*.x' is not a name, a prefix 'a.b.*' or '*'");
        static const char *const bad_patterns[] = { "",   ".",    "a.", ".a",  "a..b", ">.a", "a.>.b",
                                                    "a*", "a.b>", "*>", "a b", "a.$b", "$",   "a\\u0000" };
        for (size_t i = 0; i < sizeof(bad_patterns) / sizeof(bad_patterns[0]); i++) {
                char text[300];
                snprintf(text, sizeof(text), "{\"rules\": [{\"for\": \"*\", \"allow\": {\"publish\": [\"%s\"]}}]}",
                         bad_patterns[i]);
                bad(text, "rules[0].allow.publish[0]: '");
                snprintf(text, sizeof(text), "{\"rules\": [{\"for\": \"*\", \"deny\": {\"subscribe\": [\"%s\"]}}]}",
                         bad_patterns[i]);
                bad(text, "is not a topic pattern");
        }
        /* a long bad entry is cut in the message; control characters do not reach it */
        char text[2000];
        snprintf(text, sizeof(text), "{\"rules\": [{\"for\": \"*\", \"allow\": {\"own\": [\"\\u0001%01200d\"]}}]}", 0);
        bad(text, "'?0000");
        bad(text, "...' is not a name");
        /* quotas: per uid only */
        bad("{\"quotas\": {\"overrides\": [{\"for\": {\"group\": \"audio\"}, \"names\": 1}]}}",
            "quotas.overrides[0].for.group: quotas are per uid: use uid or user");
        bad("{\"quotas\": {\"overrides\": [{\"for\": {\"gid\": 5}, \"names\": 1}]}}", "quotas are per uid");
        bad("{\"quotas\": {\"overrides\": [{\"for\": \"*\", \"names\": 1}]}}", "quotas.default is for everyone");
        bad("{\"quotas\": {\"overrides\": [{\"names\": 1}]}}", "quotas.overrides[0]: missing \"for\"");
        bad("{\"quotas\": {\"overrides\": [{\"for\": {\"user\": \"nobody-here\"}}]}}", "unknown user 'nobody-here'");
        bad("{\"quotas\": {\"overrides\": [{\"for\": {\"uid\": 1}, \"names\": 0}]}}",
            "quotas.overrides[0].names: must be");
}

/* The error of the second file names it; the first file's rules are gone too
 * (no partial policy). */
static void test_errors_multi(void)
{
        struct policy_source src[2] = {
                { "/etc/busd/policy.json", "{\"rules\": [{\"for\": \"*\", \"allow\": {\"connect\": true}}]}", 0 },
                { "/etc/busd/policy.d/x.json", "{\"rules\": [{\"for\": {\"user\": \"alise\"}, \"allow\": {}}]}", 0 },
        };
        src[0].len = strlen(src[0].text);
        src[1].len = strlen(src[1].text);
        struct policy *p = NULL;
        char err[300], tiny[8];
        CHECK_EQ_INT(policy_parse(src, 2, resolve, &resolved, &p, err, sizeof(err)), -EINVAL);
        CHECK(!p);
        CHECK_STREQ(err, "/etc/busd/policy.d/x.json: rules[0].for: unknown user 'alise'");
        /* no buffer, a tiny buffer: still refused, never overrun */
        CHECK_EQ_INT(policy_parse(src, 2, resolve, &resolved, &p, NULL, 0), -EINVAL);
        memset(tiny, 'x', sizeof(tiny));
        CHECK_EQ_INT(policy_parse(src, 2, resolve, &resolved, &p, tiny, sizeof(tiny) - 1), -EINVAL);
        CHECK(tiny[sizeof(tiny) - 1] == 'x' && memchr(tiny, 0, sizeof(tiny) - 1));
        /* no resolver: names cannot be used */
        CHECK_EQ_INT(policy_parse(src + 1, 1, NULL, NULL, &p, err, sizeof(err)), -EINVAL);
        CHECK_CONTAINS(err, "unknown user 'alise'");
        /* the text is `len` bytes, not a C string */
        struct policy_source cut = { "p.json", "{}garbage", 2 };
        CHECK_EQ_INT(policy_parse(&cut, 1, NULL, NULL, &p, err, sizeof(err)), 0);
        policy_free(p);
        cut.len = 3;
        CHECK_EQ_INT(policy_parse(&cut, 1, NULL, NULL, &p, err, sizeof(err)), -EINVAL);
        CHECK_CONTAINS(err, "p.json: line 1, column 3: invalid JSON");
}

/* Entries, rules and overrides are bounded (all files together). */
static void test_limits(void)
{
        size_t cap = 65536 * 6 + 200;
        char *text = malloc(cap);
        CHECK(text);
        /* 65536 entries pass, one more fails */
        for (int extra = 0; extra < 2; extra++) {
                size_t n = (size_t)snprintf(text, cap, "{\"rules\": [{\"for\": \"*\", \"allow\": {\"own\": [");
                for (int i = 0; i < 65536 + extra; i++)
                        n += (size_t)snprintf(text + n, cap - n, "%s\"*\"", i ? "," : "");
                snprintf(text + n, cap - n, "]}}]}");
                struct policy_source src = { "policy.json", text, strlen(text) };
                struct policy *p = NULL;
                char err[300];
                int r = policy_parse(&src, 1, NULL, NULL, &p, err, sizeof(err));
                if (extra) {
                        CHECK_EQ_INT(r, -EINVAL);
                        CHECK_CONTAINS(err, "policy.json: rules[0].allow.own[65536]: more than 65536 entries");
                } else {
                        CHECK_EQ_INT(r, 0);
                        policy_free(p);
                }
        }
        /* rules: 65537 across two files */
        cap = 65537 * 40 + 100;
        char *a = malloc(cap), *b = malloc(200);
        CHECK(a && b);
        size_t n = (size_t)snprintf(a, cap, "{\"rules\": [");
        for (int i = 0; i < 65536; i++)
                n += (size_t)snprintf(a + n, cap - n, "%s{\"for\":\"*\",\"allow\":{}}", i ? "," : "");
        snprintf(a + n, cap - n, "]}");
        snprintf(b, 200, "{\"rules\": [{\"for\":\"*\",\"deny\":{}}]}");
        struct policy_source src[2] = { { "policy.json", a, strlen(a) }, { "policy.d/b.json", b, strlen(b) } };
        struct policy *p = NULL;
        char err[300];
        CHECK_EQ_INT(policy_parse(src, 1, NULL, NULL, &p, err, sizeof(err)), 0);
        policy_free(p);
        CHECK_EQ_INT(policy_parse(src, 2, NULL, NULL, &p, err, sizeof(err)), -EINVAL);
        CHECK_CONTAINS(err, "policy.d/b.json: rules[0]: more than 65536 rules");
        free(a);
        free(b);
        free(text);
}

/* The example of docs/policy.md: a service's name and methods for one group. */
static void test_doc_example(void)
{
        struct policy *p = load(
                "{\n"
                "  \"default\": {\"connect\": \"allow\", \"own\": \"deny\", \"call\": \"allow\",\n"
                "              \"publish\": \"allow\", \"subscribe\": \"allow\", \"see\": \"allow\"},\n"
                "  \"rules\": [\n"
                "    {\"for\": {\"group\": \"audio\"},\n"
                "     \"allow\": {\"own\": [\"org.example.Audio\"],\n"
                "               \"call\": [{\"name\": \"org.example.Audio\", \"method\": \"Play\"}]}},\n"
                "    {\"for\": \"*\", \"deny\": {\"call\": [\"org.example.Audio\"], \"subscribe\": [\"secret.>\"]}}\n"
                "  ]\n"
                "}\n");
        struct policy_subject member = { .uid = 1000, .gid = 1000, .groups = (gid_t[]){ 29 }, .ngroups = 1 };
        expect(p, member, POLICY_OWN, "org.example.Audio", NULL, true,
               "policy.json: rules[0] (allow own org.example.Audio)");
        expect(p, user(1001), POLICY_OWN, "org.example.Audio", NULL, false, "default (own: deny) from policy.json");
        /* deny wins, even for the group: the "*" deny of every method */
        expect(p, member, POLICY_CALL, "org.example.Audio", "Play", false,
               "policy.json: rules[1] (deny call org.example.Audio)");
        expect(p, user(1001), POLICY_SUBSCRIBE, ">", NULL, false, "policy.json: rules[1] (deny subscribe secret.>)");
        expect(p, user(1001), POLICY_SUBSCRIBE, "public.>", NULL, true, "default (subscribe: allow) from policy.json");
        policy_free(p);
}

/* docs/policy.md, "Restrict a service's name and its methods to one group":
 * the two files as written there. */
static void test_doc_recipe(void)
{
        struct policy *p = load2(
                "{\n"
                "  \"default\": { \"connect\": \"allow\", \"own\": \"deny\", \"call\": \"deny\",\n"
                "               \"publish\": \"allow\", \"subscribe\": \"allow\", \"see\": \"allow\" },\n"
                "  \"rules\": [\n"
                "    { \"for\": \"*\", \"allow\": { \"call\": [\"org.example.Clock\", \"org.example.public.*\"] } }\n"
                "  ]\n"
                "}\n",
                "{\n"
                "  \"rules\": [\n"
                "    { \"for\": {\"group\": \"audio\"},\n"
                "      \"allow\": { \"own\": [\"org.example.Audio\"],\n"
                "                 \"call\": [{\"name\": \"org.example.Audio\", \"method\": \"Play\"},\n"
                "                          {\"name\": \"org.example.Audio\", \"method\": \"Stop\"}] } }\n"
                "  ]\n"
                "}\n");
        struct policy_subject member = { .uid = 1000, .gid = 1000, .groups = (gid_t[]){ 29 }, .ngroups = 1 };
        struct policy_subject other = user(1001);
        expect(p, member, POLICY_OWN, "org.example.Audio", NULL, true,
               "policy.d/50-x.json: rules[0] (allow own org.example.Audio)");
        expect(p, member, POLICY_CALL, "org.example.Audio", "Play", true,
               "policy.d/50-x.json: rules[0] (allow call org.example.Audio method Play)");
        expect(p, member, POLICY_CALL, "org.example.Audio", "Kill", false, "default (call: deny) from policy.json");
        expect(p, other, POLICY_OWN, "org.example.Audio", NULL, false, "default (own: deny) from policy.json");
        expect(p, other, POLICY_CALL, "org.example.Audio", "Play", false, "default (call: deny) from policy.json");
        expect(p, other, POLICY_CALL, "org.example.Clock", "now", true,
               "policy.json: rules[0] (allow call org.example.Clock)");
        expect(p, other, POLICY_CALL, "org.example.public.X", "now", true, NULL);
        expect(p, other, POLICY_CONNECT, NULL, NULL, true, "default (connect: allow) from policy.json");
        policy_free(p);

        /* "Keep a topic tree away from everyone" */
        p = load2(
                "{\"default\": {\"publish\": \"allow\", \"subscribe\": \"allow\"}}",
                "{ \"rules\": [ { \"for\": \"*\", \"deny\": { \"publish\": [\"secret.>\"], \"subscribe\": [\"secret.>\"] } } ] }");
        static const char *const denied[] = { "secret.keys", ">", "*.keys", "*.*", "*.*.*", "secret.>" };
        static const char *const allowed[] = { "public.>", "secret", "*" };
        for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++)
                expect(p, other, POLICY_SUBSCRIBE, denied[i], NULL, false, NULL);
        for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
                expect(p, other, POLICY_SUBSCRIBE, allowed[i], NULL, true, NULL);
        expect(p, other, POLICY_PUBLISH, "secret.x", NULL, false, NULL);
        policy_free(p);
}

int main(void)
{
        test_default_system();
        test_default_user();
        test_empty_file();
        test_verb_matrix();
        test_name_forms();
        test_subscribe();
        test_relations();
        test_subjects();
        test_verdicts();
        test_quotas();
        test_merge();
        test_errors();
        test_errors_multi();
        test_limits();
        test_doc_example();
        test_doc_recipe();
        printf("test_policy: ok\n");
        return 0;
}
