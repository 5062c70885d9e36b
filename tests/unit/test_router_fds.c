/* test_router_fds.c: descriptors in output queues (busd/core/send.c:
 * send_fd_room(), send_enqueue_fd(); router.c: router_peer_fds_gone(),
 * router_peer_fd_refused()) through router_handle() and in-memory peers
 * whose carrier passes descriptors (test_core_fake.c: fake_add_fds()):
 *   - the bounds: per connection (max_queued_fds, announced in welcome), per
 *     uid (the queued_fds quota), for the daemon (router_config
 *     .max_queued_fds): each reached is answered with `limit` naming it;
 *   - a queued descriptor costs BUS_QUEUED_FD_COST bytes of queue_bytes;
 *   - a descriptor the kernel refuses becomes the fallback error with the
 *     request's id;
 *   - the counters come back to zero as descriptors are written, refused, or
 *     go with a connection (also one that had left the router first).
 * docs/protocol.md §4.6 and docs/guarantees.md are the reference. */
#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "buslimits.h"
#include "policy.h"
#include "test.h"
#include "test_core_fake.h"
#include "test_router_common.h"

#define UID_A 1001u
#define UID_B 1002u

/* A router with the default limits whose queues may hold max_fds
 * descriptors in all (0: the default). */
static struct router *router_with_fds(size_t max_fds)
{
        struct router_config cfg = { .uid = 0, .gid = 0, .pid = 1, .max_queued_fds = max_fds };

        router_limits_default(&cfg.limits);
        struct router *r = router_new(&cfg);
        CHECK(r);
        router_set_time(r, 1000000);
        return r;
}

/* f joins as uid and says hello; returns the welcome's max_queued_fds. */
static int64_t join(struct router *r, struct fake *f, uid_t uid)
{
        fake_add_fds(r, f, uid);
        CHECK_EQ_INT(fake_in(r, f, "{\"type\":\"hello\"}"), ROUTER_OK);
        return jint(fake_expect(f, "welcome"), "limits/max_queued_fds");
}

/* f asks for its own pidfd (request id). */
static void ask(struct router *r, struct fake *f, int id)
{
        fake_in(r, f,
                "{\"type\":\"call\",\"id\":%d,\"dest\":\"org.busd\",\"method\":\"pidfd\",\"params\":{\"peer\":\"%s\"}}",
                id, f->peer.unique);
}

/* The next message of f: a reply to request id with a descriptor passed. */
static void expect_pidfd(struct fake *f, int id)
{
        size_t i = f->read;
        struct json_object *m = fake_expect(f, "reply");
        CHECK_EQ_INT(jint(m, "id"), id);
        CHECK_STREQ(jstr(m, "result/peer"), f->peer.unique);
        CHECK(f->fds[i] >= 0);
}

/* The next message of f: `limit` for request id, its message containing what. */
static void expect_limit(struct fake *f, int id, const char *what)
{
        size_t i = f->read;
        struct json_object *e = expect_error(f, "limit");
        CHECK_EQ_INT(jint(e, "id"), id);
        CHECK_CONTAINS(jstr(e, "message"), what);
        CHECK(f->fds[i] < 0);
}

/* stats as seen by f (consumed): the result, valid until f's next read. */
static struct json_object *stats(struct router *r, struct fake *f)
{
        fake_in(r, f, "{\"type\":\"call\",\"id\":999,\"dest\":\"org.busd\",\"method\":\"stats\"}");
        return jget(fake_expect(f, "reply"), "result");
}

/* The entry of f in stats' peers. */
static struct json_object *peer_entry(struct json_object *st, const struct fake *f)
{
        struct json_object *peers = jget(st, "peers");
        for (size_t i = 0; i < json_object_array_length(peers); i++) {
                struct json_object *p = json_object_array_get_idx(peers, i);
                if (strcmp(jstr(p, "unique"), f->peer.unique) == 0)
                        return p;
        }
        CHECK(!"the peer is in stats");
        return NULL;
}

/* The per-connection bound, the cost in queue bytes, and everything back to
 * zero once written. */
static void test_per_connection(void)
{
        struct router *r = router_with_fds(0);
        struct fake a;

        CHECK_EQ_INT(join(r, &a, UID_A), BUS_MAX_QUEUED_FDS);
        size_t before = fake_unwritten_bytes(&a);
        for (int i = 1; i <= (int)BUS_MAX_QUEUED_FDS; i++) {
                ask(r, &a, i);
                expect_pidfd(&a, i);
        }
        CHECK_EQ_INT(a.peer.queued_fds, BUS_MAX_QUEUED_FDS);
        CHECK_EQ_INT(fake_fds_held(&a), BUS_MAX_QUEUED_FDS);
        /* each descriptor costs its message's bytes and BUS_QUEUED_FD_COST */
        CHECK_EQ_INT(a.peer.queued_bytes, fake_unwritten_bytes(&a) + BUS_MAX_QUEUED_FDS * BUS_QUEUED_FD_COST);
        CHECK(fake_unwritten_bytes(&a) > before);
        ask(r, &a, 100);
        expect_limit(&a, 100, "64 descriptors are already waiting for you to read them (max_queued_fds)");
        struct json_object *st = stats(r, &a);
        CHECK_EQ_INT(jint(st, "queued_fds"), BUS_MAX_QUEUED_FDS);
        CHECK_EQ_INT(jint(st, "queued_fds_limit"), BUS_MAX_QUEUED_FDS_TOTAL);
        CHECK_EQ_INT(jint(peer_entry(st, &a), "queued_fds"), BUS_MAX_QUEUED_FDS);
        /* the carrier writes them: every counter comes back down, and there
         * is room again */
        fake_write(r, &a, a.n - a.written);
        CHECK_EQ_INT(a.peer.queued_fds, 0);
        CHECK_EQ_INT(a.peer.queued_bytes, 0);
        CHECK_EQ_INT(fake_fds_held(&a), 0);
        ask(r, &a, 101);
        expect_pidfd(&a, 101);
        st = stats(r, &a);
        CHECK_EQ_INT(jint(st, "queued_fds"), 1);
        fake_remove(r, &a);
        router_free(r);
}

/* The uid's queued_fds quota, over all its connections; another uid is not
 * affected; `stats` shows what the uid holds against its quota. */
static void test_per_uid(void)
{
        struct router *r = router_with_fds(0);
        char text[1024];
        snprintf(text, sizeof(text),
                 "{\"default\": {\"connect\": \"allow\", \"own\": \"allow\", \"call\": \"allow\", \"publish\": "
                 "\"allow\", \"subscribe\": \"allow\", \"see\": \"allow\"}, \"quotas\": {\"overrides\": "
                 "[{\"for\": {\"uid\": %u}, \"queued_fds\": 5}]}}",
                 UID_A);
        struct policy_source src = { "test.json", text, strlen(text) };
        struct policy *pol = NULL;
        char err[256];
        CHECK_EQ_INT(policy_parse(&src, 1, fake_no_names, NULL, &pol, err, sizeof(err)), 0);
        router_set_policy(r, pol);
        struct fake a1, a2, b;

        join(r, &a1, UID_A);
        join(r, &a2, UID_A);
        join(r, &b, UID_B);
        for (int i = 1; i <= 3; i++) {
                ask(r, &a1, i);
                expect_pidfd(&a1, i);
        }
        for (int i = 1; i <= 2; i++) {
                ask(r, &a2, i);
                expect_pidfd(&a2, i);
        }
        ask(r, &a2, 3);
        expect_limit(&a2, 3,
                     "uid 1001 already has 5 descriptors waiting in its connections' queues (quota queued_fds)");
        ask(r, &b, 1);
        expect_pidfd(&b, 1);
        struct json_object *st = stats(r, &b), *uids = jget(st, "uids");
        bool seen = false;
        for (size_t i = 0; i < json_object_array_length(uids); i++) {
                struct json_object *u = json_object_array_get_idx(uids, i);
                if (jint(u, "uid") != UID_A)
                        continue;
                seen = true;
                CHECK_EQ_INT(jint(u, "queued_fds"), 5);
                CHECK_EQ_INT(jint(u, "quota/queued_fds"), 5);
                CHECK(jint(u, "refused") >= 1);
        }
        CHECK(seen);
        CHECK(jint(st, "quota_refusals") >= 1);
        /* a1 reads its answers: the uid has room again */
        fake_write(r, &a1, a1.n - a1.written);
        ask(r, &a2, 4);
        expect_pidfd(&a2, 4);
        fake_remove(r, &a1);
        fake_remove(r, &a2);
        fake_remove(r, &b);
        router_set_policy(r, NULL);
        policy_free(pol);
        router_free(r);
}

/* The daemon's bound over all connections; what a connection leaving with
 * descriptors queued held comes back, also when it left the router first
 * and its queue went later (a closing connection draining). */
static void test_daemon_total(void)
{
        struct router *r = router_with_fds(5);
        struct fake a, b, c;

        join(r, &a, UID_A);
        join(r, &b, UID_B);
        join(r, &c, UID_B + 1);
        for (int i = 1; i <= 3; i++) {
                ask(r, &a, i);
                expect_pidfd(&a, i);
        }
        for (int i = 1; i <= 2; i++) {
                ask(r, &b, i);
                expect_pidfd(&b, i);
        }
        ask(r, &c, 1);
        expect_limit(&c, 1, "the daemon already holds 5 descriptors waiting for their clients to read them");
        /* a leaves the router; its queue still holds its descriptors until
         * the carrier drops them */
        router_peer_remove(r, &a.peer);
        ask(r, &c, 2);
        expect_limit(&c, 2, "the daemon already holds 5");
        fake_remove(r, &a); /* the carrier closes it: its 3 descriptors go */
        ask(r, &c, 3);
        expect_pidfd(&c, 3);
        CHECK_EQ_INT(jint(stats(r, &c), "queued_fds"), 3);
        fake_remove(r, &b);
        fake_remove(r, &c);
        /* nobody left: a new peer sees none held */
        struct fake d;
        join(r, &d, UID_A);
        CHECK_EQ_INT(jint(stats(r, &d), "queued_fds"), 0);
        fake_remove(r, &d);
        router_free(r);
}

/* The kernel refuses a descriptor: the fallback, a `limit` error with the
 * request's id naming ETOOMANYREFS, goes in the reply's place; the queue's
 * accounting follows the swap. */
static void test_refused(void)
{
        struct router *r = router_with_fds(0);
        struct fake a;

        join(r, &a, UID_A);
        ask(r, &a, 7);
        ask(r, &a, 8);
        size_t i = a.read;
        fake_refuse(r, &a, i);
        CHECK_EQ_INT(a.peer.queued_fds, 1);
        CHECK_EQ_INT(a.peer.queued_bytes, fake_unwritten_bytes(&a) + BUS_QUEUED_FD_COST);
        struct json_object *e = expect_error(&a, "limit");
        CHECK_EQ_INT(jint(e, "id"), 7);
        CHECK_CONTAINS(jstr(e, "message"), "ETOOMANYREFS");
        CHECK_CONTAINS(jstr(e, "message"), "descriptor 1 ");
        expect_pidfd(&a, 8);
        fake_write(r, &a, a.n - a.written);
        CHECK_EQ_INT(a.peer.queued_bytes, 0);
        struct json_object *st = stats(r, &a);
        CHECK_EQ_INT(jint(st, "fds_refused"), 1);
        CHECK_EQ_INT(jint(st, "queued_fds"), 0);
        fake_remove(r, &a);
        router_free(r);
}

/* A carrier that cannot pass descriptors gets `unsupported`, and nothing is
 * counted. */
static void test_no_fd_carrier(void)
{
        struct router *r = router_with_fds(0);
        struct fake a;

        fake_hello(r, &a);
        fake_in(r, &a,
                "{\"type\":\"call\",\"id\":1,\"dest\":\"org.busd\",\"method\":\"pidfd\",\"params\":{\"peer\":\"%s\"}}",
                a.peer.unique);
        expect_error(&a, "unsupported");
        CHECK_EQ_INT(a.peer.queued_fds, 0);
        fake_remove(r, &a);
        router_free(r);
}

int main(void)
{
        test_per_connection();
        test_per_uid();
        test_daemon_total();
        test_refused();
        test_no_fd_carrier();
        return 0;
}
