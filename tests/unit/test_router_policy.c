/* test_router_policy.c: the access policy in the routing core (busd/core/
 * access.c and the paths that ask it) through router_handle() and
 * router_set_policy() only, with in-memory peers (test_core_fake.c):
 *   - a policy change takes back names and subscriptions (`revoked`, then
 *     `name_lost`; the name passes on), and holds a pending call's answer to
 *     the new policy;
 *   - what `see` hides is indistinguishable from what does not exist: the
 *     $bus.name events, list, stats, owner/introspect/pidfd and the error of a
 *     denied call (docs/policy.md, "What see hides"); router_stats() (the
 *     metrics) shows the whole daemon.
 * The policies are built from JSON text with policy_parse(), naming the fake
 * peers' uids. */
#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "activate.h"
#include "policy.h"
#include "test.h"
#include "test_core_fake.h"
#include "test_router_common.h"

#define ALLOW_ALL                                                                                    \
        "{\"connect\": \"allow\", \"own\": \"allow\", \"call\": \"allow\", \"publish\": \"allow\", " \
        "\"subscribe\": \"allow\", \"see\": \"allow\"}"

/* A policy from one file's text (printf format). */
__attribute__((format(printf, 1, 2))) static struct policy *policy_of(const char *fmt, ...)
{
        char text[2048], err[512];
        struct policy *pol = NULL;
        va_list ap;

        va_start(ap, fmt);
        int n = vsnprintf(text, sizeof(text), fmt, ap);
        va_end(ap);
        CHECK(n > 0 && (size_t)n < sizeof(text));
        struct policy_source src = { "test.json", text, (size_t)n };
        if (policy_parse(&src, 1, fake_no_names, NULL, &pol, err, sizeof(err)) < 0) {
                fprintf(stderr, "policy: %s\n", err);
                CHECK(!"the test's policy parses");
        }
        return pol;
}

/* The result of a call from f to org.busd (id 900), or NULL after checking
 * it was an error with `code`; *ret_message gets the error's message. */
static struct json_object *busd_call(struct router *r, struct fake *f, const char *method, const char *params,
                                     const char *code, char *ret_message, size_t len)
{
        fake_in(r, f, "{\"type\":\"call\",\"id\":900,\"dest\":\"org.busd\",\"method\":\"%s\",\"params\":%s}", method,
                params);
        if (code) {
                struct json_object *e = expect_error(f, code);
                CHECK_EQ_INT(jint(e, "id"), 900);
                snprintf(ret_message, len, "%s", jstr(e, "message"));
                return NULL;
        }
        return jget(fake_expect(f, "reply"), "result");
}

/* Replaces every `name` in s (a buffer of MSG_MAX) with NAME. */
#define MSG_MAX 1024
static void mask(char *s, const char *name)
{
        char out[MSG_MAX];
        size_t o = 0, nl = strlen(name);

        for (const char *p = s; *p && o + 5 < sizeof(out);) {
                if (strncmp(p, name, nl) == 0) {
                        memcpy(out + o, "NAME", 4);
                        o += 4;
                        p += nl;
                } else {
                        out[o++] = *p++;
                }
        }
        out[o] = 0;
        snprintf(s, MSG_MAX, "%s", out);
}

/* f's error for asking `method` about `hidden` is the one for `absent`, but
 * for the name. */
static void same_as_absent(struct router *r, struct fake *f, const char *method, const char *key, const char *hidden,
                           const char *absent)
{
        char params[300], a[MSG_MAX], h[MSG_MAX];

        snprintf(params, sizeof(params), "{\"%s\":\"%s\"}", key, absent);
        busd_call(r, f, method, params, "no_owner", a, sizeof(a));
        snprintf(params, sizeof(params), "{\"%s\":\"%s\"}", key, hidden);
        busd_call(r, f, method, params, "no_owner", h, sizeof(h));
        mask(a, absent);
        mask(h, hidden);
        CHECK_STREQ(h, a);
}

static bool array_has(struct json_object *a, const char *key, const char *value)
{
        for (size_t i = 0; i < json_object_array_length(a); i++) {
                struct json_object *v, *o = json_object_array_get_idx(a, i);
                if (json_object_object_get_ex(o, key, &v) && strcmp(json_object_get_string(v), value) == 0)
                        return true;
        }
        return false;
}

static bool array_has_uid(struct json_object *a, uid_t uid)
{
        for (size_t i = 0; i < json_object_array_length(a); i++)
                if (jint(json_object_array_get_idx(a, i), "uid") == (int64_t)uid)
                        return true;
        return false;
}

/* ---- a policy change takes back what it no longer allows ----------------------------- */

static void test_revocation(void)
{
        struct router *r = fake_router(NULL);
        struct fake a, b, c, x;
        struct json_object *m;

        fake_add(r, &a);
        fake_add(r, &b);
        fake_add(r, &c);
        struct policy *p1 = policy_of("{\"default\": " ALLOW_ALL "}");
        router_set_policy(r, p1);
        fake_hello(r, &x);
        fake_in(r, &x, "{\"type\":\"subscribe\",\"id\":1,\"pattern\":\"$bus.name.>\"}");
        fake_expect(&x, "reply");
        fake_in(r, &a, "{\"type\":\"hello\",\"names\":[\"org.ex.Svc\",\"org.ex.Keep\"]}");
        CHECK_STREQ(jstr(fake_expect(&a, "welcome"), "names/org.ex.Svc"), "primary_owner");
        fake_in(r, &a, "{\"type\":\"subscribe\",\"id\":2,\"pattern\":\"secret.>\"}");
        fake_in(r, &a, "{\"type\":\"subscribe\",\"id\":3,\"pattern\":\"public.x\"}");
        fake_skip(&a);
        fake_in(r, &b, "{\"type\":\"hello\",\"names\":[\"org.ex.Svc\"]}");
        CHECK_STREQ(jstr(fake_expect(&b, "welcome"), "names/org.ex.Svc"), "in_queue");
        fake_in(r, &c, "{\"type\":\"hello\"}");
        fake_expect(&c, "welcome");
        fake_skip(&x);
        /* a call pending across the change, by unique id */
        fake_in(r, &c, "{\"type\":\"call\",\"id\":7,\"dest\":\"%s\",\"method\":\"m\"}", a.peer.unique);
        int64_t serial = jint(fake_expect(&a, "call"), "id");

        struct policy *p2 = policy_of(
                "{\"default\": " ALLOW_ALL ", \"rules\": ["
                "{\"for\": {\"uid\": %u}, \"deny\": {\"own\": [\"org.ex.Svc\"], \"subscribe\": [\"secret.>\"]}},"
                "{\"for\": {\"uid\": %u}, \"deny\": {\"call\": [\"org.ex.Keep\"]}}]}",
                (unsigned)a.peer.uid, (unsigned)c.peer.uid);
        router_set_policy(r, p2);

        /* the name: revoked, then name_lost; the next in line gets it */
        m = expect_error(&a, "revoked");
        CHECK(jnull(m, "id"));
        CHECK_STREQ(jstr(m, "name"), "org.ex.Svc");
        CHECK_CONTAINS(jstr(m, "message"), "test.json: rules[0] (deny own org.ex.Svc)");
        CHECK_STREQ(jstr(fake_expect(&a, "name_lost"), "name"), "org.ex.Svc");
        CHECK_STREQ(jstr(fake_expect(&b, "name_acquired"), "name"), "org.ex.Svc");
        m = fake_expect(&x, "event");
        CHECK_STREQ(jstr(m, "topic"), "$bus.name.org.ex.Svc");
        CHECK_STREQ(jstr(m, "data/old_owner"), a.peer.unique);
        CHECK_STREQ(jstr(m, "data/new_owner"), b.peer.unique);
        /* the subscription it may no longer have; the other stays */
        m = expect_error(&a, "revoked");
        CHECK(jnull(m, "id"));
        CHECK_STREQ(jstr(m, "pattern"), "secret.>");
        fake_expect_none(&a, "after the revocations");
        fake_expect_none(&c, "the caller waits");
        fake_in(r, &x, "{\"type\":\"publish\",\"id\":4,\"topic\":\"secret.keys\"}");
        CHECK_EQ_INT(jint(fake_expect(&x, "reply"), "result/delivered"), 0);
        fake_in(r, &x, "{\"type\":\"publish\",\"id\":5,\"topic\":\"public.x\"}");
        CHECK_EQ_INT(jint(fake_expect(&x, "reply"), "result/delivered"), 1);
        CHECK_STREQ(jstr(fake_expect(&a, "event"), "topic"), "public.x");
        /* and it may not take them again */
        fake_in(r, &a, "{\"type\":\"request_name\",\"id\":6,\"name\":\"org.ex.Svc\"}");
        CHECK_EQ_INT(jint(expect_error(&a, "denied"), "id"), 6);
        fake_in(r, &a, "{\"type\":\"subscribe\",\"id\":7,\"pattern\":\"secret.>\"}");
        CHECK_EQ_INT(jint(expect_error(&a, "denied"), "id"), 7);

        /* the pending call's answer is held to the new policy */
        fake_in(r, &a, "{\"type\":\"reply\",\"id\":%lld,\"result\":1}", (long long)serial);
        m = expect_error(&c, "denied");
        CHECK_EQ_INT(jint(m, "id"), 7);
        CHECK_CONTAINS(jstr(m, "message"), "withheld");
        m = expect_error(&a, "denied");
        CHECK(jnull(m, "id"));
        CHECK_EQ_INT(jint(m, "call"), serial);
        CHECK_EQ_INT(router_pending_calls(r), 0);
        /* new calls get the new policy at once */
        fake_in(r, &c, "{\"type\":\"call\",\"id\":8,\"dest\":\"org.ex.Keep\",\"method\":\"m\"}");
        CHECK_CONTAINS(jstr(expect_error(&c, "denied"), "message"), "rules[1] (deny call org.ex.Keep)");
        fake_expect_none(&a, "a denied call is not delivered");

        /* a change that takes nothing back says nothing */
        struct policy *p3 = policy_of("{\"default\": " ALLOW_ALL "}");
        router_set_policy(r, p3);
        fake_expect_none(&a, "nothing to take back");
        fake_expect_none(&b, "nothing to take back");

        fake_remove(r, &a);
        fake_remove(r, &b);
        fake_remove(r, &c);
        fake_remove(r, &x);
        router_free(r);
        policy_free(p1);
        policy_free(p2);
        policy_free(p3);
}

/* ---- what `see` hides ------------------------------------------------------------ */

static struct activatable acts[] = {
        { "org.ex.HiddenAct", 1000, NULL },
        { "org.ex.Act", 1000, NULL },
};

static void test_see_hides(void)
{
        struct router *r = fake_router(NULL);
        struct fake w, all, h, v;
        struct json_object *m, *res;
        char msg[MSG_MAX], absent[MSG_MAX];

        CHECK_EQ_INT(router_set_activatable(r, acts, 2), 0);
        fake_add(r, &w);
        struct policy *pol = policy_of("{\"default\": " ALLOW_ALL ", \"rules\": [{\"for\": {\"uid\": %u}, \"deny\": {"
                                       "\"see\": [\"org.ex.Hidden\", \"org.ex.HiddenAct\"],"
                                       "\"call\": [\"org.ex.Hidden\", \"org.ex.HiddenAct\", \"org.ex.Denied\"]}}]}",
                                       (unsigned)w.peer.uid);
        router_set_policy(r, pol);
        fake_in(r, &w, "{\"type\":\"hello\"}");
        fake_expect(&w, "welcome");
        fake_hello(r, &all);
        fake_in(r, &w, "{\"type\":\"subscribe\",\"pattern\":\"$bus.name.>\"}");
        fake_in(r, &all, "{\"type\":\"subscribe\",\"pattern\":\"$bus.name.>\"}");
        fake_add(r, &h);
        fake_in(r, &h, "{\"type\":\"hello\",\"names\":[\"org.ex.Hidden\"],\"methods\":[{\"name\":\"Secret\"}]}");
        fake_add(r, &v);
        fake_in(r, &v, "{\"type\":\"hello\",\"names\":[\"org.ex.Visible\",\"org.ex.Denied\"]}");
        fake_skip(&h);
        fake_skip(&v);

        /* $bus.name events: only about the names it may see */
        CHECK_STREQ(jstr(fake_expect(&w, "event"), "data/name"), "org.ex.Visible");
        CHECK_STREQ(jstr(fake_expect(&w, "event"), "data/name"), "org.ex.Denied");
        fake_expect_none(&w, "no event about org.ex.Hidden");
        CHECK_STREQ(jstr(fake_expect(&all, "event"), "data/name"), "org.ex.Hidden");
        fake_skip(&all);

        /* list: neither the name nor its connection nor the activatable name */
        res = busd_call(r, &w, "list", "{}", NULL, NULL, 0);
        CHECK(!array_has(jget(res, "names"), "name", "org.ex.Hidden"));
        CHECK(array_has(jget(res, "names"), "name", "org.ex.Visible"));
        CHECK(!array_has(jget(res, "peers"), "unique", h.peer.unique));
        CHECK(array_has(jget(res, "peers"), "unique", w.peer.unique));
        CHECK(!array_has(jget(res, "activatable"), "name", "org.ex.HiddenAct"));
        CHECK(array_has(jget(res, "activatable"), "name", "org.ex.Act"));

        /* stats: the same connections, their uids, and counts of them */
        res = busd_call(r, &w, "stats", "{}", NULL, NULL, 0);
        CHECK(!array_has(jget(res, "peers"), "unique", h.peer.unique));
        CHECK(array_has(jget(res, "peers"), "unique", v.peer.unique));
        CHECK(!array_has_uid(jget(res, "uids"), h.peer.uid));
        CHECK(array_has_uid(jget(res, "uids"), v.peer.uid));
        CHECK(array_has_uid(jget(res, "uids"), w.peer.uid));
        CHECK_EQ_INT(jint(res, "peers_total"), 3);
        CHECK_EQ_INT(jint(res, "connections"), 3);
        CHECK_EQ_INT(jint(res, "names"), 2);
        int64_t denials = jint(res, "denials");
        res = busd_call(r, &all, "stats", "{}", NULL, NULL, 0);
        CHECK_EQ_INT(jint(res, "peers_total"), 4);
        CHECK_EQ_INT(jint(res, "connections"), 4);
        CHECK_EQ_INT(jint(res, "names"), 3);
        CHECK(array_has_uid(jget(res, "uids"), h.peer.uid));
        /* router_stats() (busd's /metrics): everything, and no peers list */
        struct json_object *whole = router_stats(r);
        CHECK_EQ_INT(jint(whole, "connections"), 4);
        CHECK_EQ_INT(jint(whole, "names"), 3);
        CHECK(array_has_uid(jget(whole, "uids"), h.peer.uid));
        CHECK(!json_object_object_get_ex(whole, "peers", NULL));
        CHECK_EQ_INT(jint(whole, "denials"), jint(res, "denials"));
        json_object_put(whole);

        /* owner, introspect, pidfd: the answer for what does not exist */
        same_as_absent(r, &w, "owner", "name", "org.ex.Hidden", "org.ex.Absent");
        same_as_absent(r, &w, "introspect", "name", "org.ex.Hidden", "org.ex.Absent");
        same_as_absent(r, &w, "pidfd", "peer", "org.ex.Hidden", "org.ex.Absent");
        same_as_absent(r, &w, "owner", "name", h.peer.unique, ":99999");
        same_as_absent(r, &w, "introspect", "name", h.peer.unique, ":99999");
        same_as_absent(r, &w, "pidfd", "peer", h.peer.unique, ":99999");
        /* others see it, and so does its owner */
        res = busd_call(r, &all, "owner", "{\"name\":\"org.ex.Hidden\"}", NULL, NULL, 0);
        CHECK_STREQ(jstr(res, "owner"), h.peer.unique);
        fake_in(r, &h,
                "{\"type\":\"call\",\"id\":1,\"dest\":\"org.busd\",\"method\":\"owner\",\"params\":"
                "{\"name\":\"org.ex.Hidden\"}}");
        CHECK_STREQ(jstr(fake_expect(&h, "reply"), "result/owner"), h.peer.unique);

        /* a denied call to a hidden name or connection: as to one that does
         * not exist, naming no unique id */
        fake_in(r, &w, "{\"type\":\"call\",\"id\":2,\"dest\":\"org.ex.Absent\",\"method\":\"m\"}");
        snprintf(absent, sizeof(absent), "%s", jstr(expect_error(&w, "no_owner"), "message"));
        mask(absent, "org.ex.Absent");
        fake_in(r, &w, "{\"type\":\"call\",\"id\":3,\"dest\":\"org.ex.Hidden\",\"method\":\"Secret\"}");
        m = expect_error(&w, "no_owner");
        CHECK_EQ_INT(jint(m, "id"), 3);
        snprintf(msg, sizeof(msg), "%s", jstr(m, "message"));
        mask(msg, "org.ex.Hidden");
        CHECK_STREQ(msg, absent);
        fake_in(r, &w, "{\"type\":\"call\",\"id\":4,\"dest\":\"org.ex.HiddenAct\",\"method\":\"m\"}");
        snprintf(msg, sizeof(msg), "%s", jstr(expect_error(&w, "no_owner"), "message"));
        mask(msg, "org.ex.HiddenAct");
        CHECK_STREQ(msg, absent);
        fake_in(r, &w, "{\"type\":\"call\",\"id\":5,\"dest\":\":99999\",\"method\":\"m\"}");
        snprintf(absent, sizeof(absent), "%s", jstr(expect_error(&w, "no_owner"), "message"));
        mask(absent, ":99999");
        fake_in(r, &w, "{\"type\":\"call\",\"id\":6,\"dest\":\"%s\",\"method\":\"m\"}", h.peer.unique);
        snprintf(msg, sizeof(msg), "%s", jstr(expect_error(&w, "no_owner"), "message"));
        mask(msg, h.peer.unique);
        CHECK_STREQ(msg, absent);
        fake_expect_none(&h, "no call was delivered");
        /* not counted either: the count is there for anyone to read */
        res = busd_call(r, &w, "stats", "{}", NULL, NULL, 0);
        CHECK_EQ_INT(jint(res, "denials"), denials);
        /* a denied call to a name it may see: denied, naming the rule, counted */
        fake_in(r, &w, "{\"type\":\"call\",\"id\":7,\"dest\":\"org.ex.Denied\",\"method\":\"m\"}");
        m = expect_error(&w, "denied");
        CHECK_CONTAINS(jstr(m, "message"), "test.json: rules[0] (deny call org.ex.Denied)");
        CHECK_CONTAINS(jstr(m, "message"), v.peer.unique);
        res = busd_call(r, &w, "stats", "{}", NULL, NULL, 0);
        CHECK_EQ_INT(jint(res, "denials"), denials + 1);
        fake_expect_none(&v, "no call was delivered");

        /* the name going away is not published to it either */
        fake_remove(r, &h);
        fake_expect_none(&w, "no event about org.ex.Hidden");
        CHECK_STREQ(jstr(fake_expect(&all, "event"), "data/name"), "org.ex.Hidden");
        fake_remove(r, &v);
        CHECK_EQ_INT(fake_unread(&w), 2); /* org.ex.Visible and org.ex.Denied */

        fake_remove(r, &w);
        fake_remove(r, &all);
        router_free(r);
        policy_free(pol);
}

/* ---- admission -------------------------------------------------------------------- */

static int drop_send(struct peer *p, struct buf *b)
{
        (void)p, (void)b;
        return 0;
}

static void no_kill(struct peer *p, const char *reason)
{
        (void)p, (void)reason;
}

/* A uid at its quota of connections is refused, told what it has open; a
 * uid the policy keeps out is told the rule. */
static void test_admission(void)
{
        static const struct peer_ops ops = { .send = drop_send, .kill = no_kill };
        struct router *r = fake_router(NULL);
        struct policy *pol = policy_of(
                "{\"default\": " ALLOW_ALL ", \"rules\": ["
                "{\"for\": {\"uid\": 5001}, \"deny\": {\"connect\": true}}],"
                "\"quotas\": {\"overrides\": [{\"for\": {\"uid\": 5000}, \"connections\": 2}]}}");
        const struct peer_cred cred = { 5000, 5000, 42, NULL, 0 }, kept_out = { 5001, 5001, 43, NULL, 0 };
        struct peer p[4];
        char why[256];

        router_set_policy(r, pol);
        CHECK_EQ_INT(router_peer_admit(r, &p[0], &ops, "stream", &cred, 1024, 2048, why, sizeof(why)), 0);
        CHECK_EQ_INT(router_peer_admit(r, &p[1], &ops, "stream", &cred, 1024, 2048, why, sizeof(why)), 0);
        CHECK_EQ_INT(router_peer_admit(r, &p[2], &ops, "stream", &cred, 1024, 2048, why, sizeof(why)), -EUSERS);
        CHECK_STREQ(why, "uid 5000 already has 2 connections (quota connections: 2)");
        CHECK_EQ_INT(router_peer_count(r), 2);
        CHECK_EQ_INT(router_peer_admit(r, &p[3], &ops, "stream", &kept_out, 1024, 2048, why, sizeof(why)), -EACCES);
        CHECK_STREQ(why, "uid 5001 may not connect to this bus: test.json: rules[0] (deny connect)");
        /* one closes: room for one again */
        router_peer_remove(r, &p[0]);
        CHECK_EQ_INT(router_peer_admit(r, &p[2], &ops, "stream", &cred, 1024, 2048, why, sizeof(why)), 0);
        router_peer_remove(r, &p[1]);
        router_peer_remove(r, &p[2]);
        CHECK_EQ_INT(router_peer_count(r), 0);
        router_free(r);
        policy_free(pol);
}

int main(void)
{
        test_revocation();
        test_see_hides();
        test_admission();
        return 0;
}
