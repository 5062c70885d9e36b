/* test_bridge.c: the bridge's core (busd/bridge/bridge.c) between several routers
 * joined by in-memory links: events cross once in a line, a ring and a mesh;
 * calls, answers and errors cross, local owners win, BUS/NAME addresses one
 * bus; a link that goes down fails its pending calls at once; filters keep
 * out what is not exported; forged identity fields are refused. No sockets:
 * the carrier is a queue per direction pumped by the test. */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge.h"
#include "buf.h"
#include "test.h"
#include "test_bridge_common.h"
#include "test_core_fake.h"

static void test_line_events_cross_once_with_remote_identity(void)
{
        struct host a, b, c;
        struct mlink ab, ba, bc, cb;
        struct fake pub = { 0 }, sub = { 0 }, subb = { 0 };

        host_init(&a, "busd-a");
        host_init(&b, "busd-b");
        host_init(&c, "busd-c");
        connect_pair(&ab, &ba, &a, &b, &everything, &everything);
        connect_pair(&bc, &cb, &b, &c, &everything, &everything);
        struct mlink *all[] = { &ab, &ba, &bc, &cb };
        pump(all, 4);
        fake_hello(a.r, &pub);
        fake_hello(c.r, &sub);
        fake_hello(b.r, &subb);
        fake_in(c.r, &sub, "{\"type\":\"subscribe\",\"id\":1,\"pattern\":\"sensors.>\"}");
        fake_in(b.r, &subb, "{\"type\":\"subscribe\",\"id\":1,\"pattern\":\"sensors.>\"}");
        fake_skip(&sub);
        fake_skip(&subb);
        fake_in(a.r, &pub, "{\"type\":\"publish\",\"topic\":\"sensors.kitchen\",\"data\":21}");
        pump(all, 4);
        struct json_object *ev = fake_expect(&sub, "event");
        CHECK_STREQ(jstr(ev, "topic"), "sensors.kitchen");
        CHECK_EQ_INT(jint(ev, "data"), 21);
        char want[64];
        snprintf(want, sizeof(want), "busd-a/%s", pub.peer.unique);
        CHECK_STREQ(jstr(ev, "sender"), want);
        CHECK_STREQ(jstr(ev, "remote/bus"), "busd-a");
        CHECK_STREQ(jstr(ev, "remote/via"), "busd-b");
        CHECK_EQ_INT(jint(ev, "remote/creds/uid"), pub.peer.uid);
        CHECK_EQ_INT(jint(ev, "remote/creds/pid"), pub.peer.pid);
        CHECK(!jhas(ev, "creds")); /* never passes as a local uid */
        fake_expect_none(&sub, "one event at c");
        ev = fake_expect(&subb, "event");
        CHECK_STREQ(jstr(ev, "remote/via"), "busd-a");
        fake_expect_none(&subb, "one event at b");
        /* a's own $bus events stay on a */
        fake_in(c.r, &sub, "{\"type\":\"subscribe\",\"id\":2,\"pattern\":\"$bus.>\"}");
        fake_skip(&sub);
        fake_in(a.r, &pub, "{\"type\":\"request_name\",\"id\":3,\"name\":\"org.example.A\"}");
        pump(all, 4);
        fake_expect_none(&sub, "no $bus event from a at c");

        disconnect_pair(&ab, &ba);
        disconnect_pair(&bc, &cb);
        fake_remove(a.r, &pub);
        fake_remove(c.r, &sub);
        fake_remove(b.r, &subb);
        host_deinit(&a);
        host_deinit(&b);
        host_deinit(&c);
}

/* n buses, links between the pairs in `edges`; one subscriber per bus; each
 * bus publishes once; every subscriber must see every event exactly once. */
static void check_topology(const char *what, size_t n, const int (*edges)[2], size_t nedges)
{
        struct host h[6];
        struct mlink *links[30];
        struct fake subs[6];
        char names[6][32];

        memset(subs, 0, sizeof(subs));
        for (size_t i = 0; i < n; i++) {
                snprintf(names[i], sizeof(names[i]), "bus%zu", i);
                host_init(&h[i], names[i]);
        }
        for (size_t e = 0; e < nedges; e++) {
                links[2 * e] = calloc(1, sizeof(struct mlink));
                links[2 * e + 1] = calloc(1, sizeof(struct mlink));
                connect_pair(links[2 * e], links[2 * e + 1], &h[edges[e][0]], &h[edges[e][1]], &everything,
                             &everything);
        }
        pump(links, 2 * nedges);
        for (size_t i = 0; i < n; i++) {
                fake_hello(h[i].r, &subs[i]);
                fake_in(h[i].r, &subs[i], "{\"type\":\"subscribe\",\"id\":1,\"pattern\":\"t.>\"}");
                fake_skip(&subs[i]);
        }
        for (size_t i = 0; i < n; i++)
                fake_in(h[i].r, &subs[i], "{\"type\":\"publish\",\"topic\":\"t.from%zu\"}", i);
        pump(links, 2 * nedges);
        for (size_t i = 0; i < n; i++) {
                size_t got[6] = { 0 };
                struct json_object *m;
                while ((m = fake_next(&subs[i]))) {
                        int from = -1;
                        CHECK(sscanf(jstr(m, "topic"), "t.from%d", &from) == 1);
                        got[from]++;
                }
                for (size_t j = 0; j < n; j++)
                        if (got[j] != 1) {
                                fprintf(stderr, "%s: bus%zu got %zu events from bus%zu\n", what, i, got[j], j);
                                CHECK(got[j] == 1);
                        }
        }
        for (size_t e = 0; e < nedges; e++) {
                disconnect_pair(links[2 * e], links[2 * e + 1]);
                free(links[2 * e]);
                free(links[2 * e + 1]);
        }
        for (size_t i = 0; i < n; i++) {
                fake_remove(h[i].r, &subs[i]);
                host_deinit(&h[i]);
        }
}

static void test_topologies_deliver_each_event_exactly_once(void)
{
        static const int line[][2] = { { 0, 1 }, { 1, 2 }, { 2, 3 } };
        static const int ring[][2] = { { 0, 1 }, { 1, 2 }, { 2, 0 } };
        static const int star[][2] = { { 0, 1 }, { 0, 2 }, { 0, 3 }, { 0, 4 } };
        static const int mesh[][2] = { { 0, 1 }, { 0, 2 }, { 0, 3 }, { 1, 2 }, { 1, 3 }, { 2, 3 } };
        static const int ring5[][2] = { { 0, 1 }, { 1, 2 }, { 2, 3 }, { 3, 4 }, { 4, 0 } };

        check_topology("line", 4, line, 3);
        check_topology("ring", 3, ring, 3);
        check_topology("star", 5, star, 4);
        check_topology("mesh", 4, mesh, 6);
        check_topology("ring5", 5, ring5, 5);
}

static void test_calls_cross_and_answers_come_back(void)
{
        struct host a, b, c;
        struct mlink ab, ba, bc, cb;
        struct fake cl = { 0 }, svc = { 0 }, local = { 0 };

        host_init(&a, "busd-a");
        host_init(&b, "busd-b");
        host_init(&c, "busd-c");
        connect_pair(&ab, &ba, &a, &b, &everything, &everything);
        connect_pair(&bc, &cb, &b, &c, &everything, &everything);
        struct mlink *all[] = { &ab, &ba, &bc, &cb };
        fake_hello(a.r, &cl);
        fake_hello(c.r, &svc);
        fake_in(c.r, &svc, "{\"type\":\"request_name\",\"id\":1,\"name\":\"org.example.Svc\"}");
        fake_skip(&svc);
        pump(all, 4);

        /* a lists what it can reach over the bridge */
        fake_in(a.r, &cl, "{\"type\":\"call\",\"id\":6,\"dest\":\"org.busd\",\"method\":\"list\"}");
        struct json_object *remote = jget(fake_expect(&cl, "reply"), "result/remote");
        CHECK_EQ_INT(json_object_array_length(remote), 1);
        CHECK_STREQ(jstr(json_object_array_get_idx(remote, 0), "name"), "org.example.Svc");
        CHECK_STREQ(jstr(json_object_array_get_idx(remote, 0), "bus"), "busd-c");
        CHECK_EQ_INT(jint(json_object_array_get_idx(remote, 0), "hops"), 2);
        CHECK_STREQ(jstr(json_object_array_get_idx(remote, 0), "via"), "busd-b");

        /* a -> b -> c and back */
        fake_in(a.r, &cl,
                "{\"type\":\"call\",\"id\":7,\"dest\":\"org.example.Svc\",\"method\":\"get\",\"params\":[1]}");
        pump(all, 4);
        struct json_object *call = fake_expect(&svc, "call");
        CHECK_STREQ(jstr(call, "dest"), "org.example.Svc");
        CHECK_STREQ(jstr(call, "remote/bus"), "busd-a");
        CHECK_STREQ(jstr(call, "remote/via"), "busd-b");
        CHECK(!jhas(call, "creds"));
        int64_t serial = jint(call, "id");
        fake_in(c.r, &svc, "{\"type\":\"reply\",\"id\":%lld,\"result\":\"ok\"}", (long long)serial);
        pump(all, 4);
        struct json_object *rep = fake_expect(&cl, "reply");
        CHECK_EQ_INT(jint(rep, "id"), 7);
        CHECK_STREQ(jstr(rep, "result"), "ok");
        char want[64];
        snprintf(want, sizeof(want), "busd-c/%s", svc.peer.unique);
        CHECK_STREQ(jstr(rep, "sender"), want);

        /* a callee's error passes through */
        fake_in(a.r, &cl, "{\"type\":\"call\",\"id\":8,\"dest\":\"org.example.Svc\",\"method\":\"get\"}");
        pump(all, 4);
        serial = jint(fake_expect(&svc, "call"), "id");
        fake_in(c.r, &svc, "{\"type\":\"error\",\"id\":%lld,\"code\":\"nope\",\"message\":\"no\"}", (long long)serial);
        pump(all, 4);
        struct json_object *err = fake_expect(&cl, "error");
        CHECK_EQ_INT(jint(err, "id"), 8);
        CHECK_STREQ(jstr(err, "code"), "nope");

        /* a local owner wins; BUS/NAME still reaches c */
        fake_hello(a.r, &local);
        fake_in(a.r, &local, "{\"type\":\"request_name\",\"id\":1,\"name\":\"org.example.Svc\"}");
        fake_skip(&local);
        pump(all, 4);
        fake_in(a.r, &cl, "{\"type\":\"call\",\"id\":9,\"dest\":\"org.example.Svc\",\"method\":\"get\"}");
        CHECK(jhas(fake_expect(&local, "call"), "creds"));
        fake_in(a.r, &cl, "{\"type\":\"call\",\"id\":10,\"dest\":\"busd-c/org.example.Svc\",\"method\":\"get\"}");
        pump(all, 4);
        CHECK_STREQ(jstr(fake_expect(&svc, "call"), "dest"), "busd-c/org.example.Svc");
        fake_in(a.r, &cl, "{\"type\":\"call\",\"id\":11,\"dest\":\"busd-a/org.example.Svc\",\"method\":\"get\"}");
        CHECK_STREQ(jstr(fake_expect(&local, "call"), "dest"), "busd-a/org.example.Svc"); /* this bus, by name */

        /* nobody: no_owner at once */
        fake_in(a.r, &cl, "{\"type\":\"call\",\"id\":12,\"dest\":\"org.example.Nobody\",\"method\":\"get\"}");
        CHECK_STREQ(jstr(fake_expect(&cl, "error"), "code"), "no_owner");

        /* the service leaves: its name is withdrawn everywhere */
        fake_remove(c.r, &svc);
        pump(all, 4);
        fake_skip(&cl);
        fake_in(a.r, &cl, "{\"type\":\"call\",\"id\":13,\"dest\":\"busd-c/org.example.Svc\",\"method\":\"get\"}");
        CHECK_STREQ(jstr(fake_expect(&cl, "error"), "code"), "no_owner");

        disconnect_pair(&ab, &ba);
        disconnect_pair(&bc, &cb);
        fake_remove(a.r, &cl);
        fake_remove(a.r, &local);
        host_deinit(&a);
        host_deinit(&b);
        host_deinit(&c);
}

static void test_a_call_pending_over_a_link_that_goes_down_fails_at_once(void)
{
        struct host a, b;
        struct mlink ab, ba;
        struct fake cl = { 0 }, svc = { 0 };

        host_init(&a, "busd-a");
        host_init(&b, "busd-b");
        connect_pair(&ab, &ba, &a, &b, &everything, &everything);
        struct mlink *all[] = { &ab, &ba };
        fake_hello(a.r, &cl);
        fake_hello(b.r, &svc);
        fake_in(b.r, &svc, "{\"type\":\"request_name\",\"id\":1,\"name\":\"org.example.Svc\"}");
        pump(all, 2);
        fake_skip(&svc);
        fake_in(a.r, &cl, "{\"type\":\"call\",\"id\":5,\"dest\":\"org.example.Svc\",\"method\":\"slow\"}");
        pump(all, 2);
        fake_expect(&svc, "call");
        disconnect_pair(&ab, &ba);
        struct json_object *e = fake_expect(&cl, "error");
        CHECK_EQ_INT(jint(e, "id"), 5);
        CHECK_STREQ(jstr(e, "code"), "link_down");
        CHECK_CONTAINS(jstr(e, "message"), "busd-b");
        /* and the name is gone with the link */
        fake_in(a.r, &cl, "{\"type\":\"call\",\"id\":6,\"dest\":\"org.example.Svc\",\"method\":\"slow\"}");
        CHECK_STREQ(jstr(fake_expect(&cl, "error"), "code"), "no_owner");
        /* back up: names are advertised again */
        connect_pair(&ab, &ba, &a, &b, &everything, &everything);
        pump(all, 2);
        fake_in(a.r, &cl, "{\"type\":\"call\",\"id\":7,\"dest\":\"org.example.Svc\",\"method\":\"slow\"}");
        pump(all, 2);
        CHECK_STREQ(jstr(fake_expect(&svc, "call"), "method"), "slow");
        disconnect_pair(&ab, &ba);
        fake_remove(a.r, &cl);
        fake_remove(b.r, &svc);
        host_deinit(&a);
        host_deinit(&b);
}

static void test_filters_keep_out_what_is_not_exported(void)
{
        static char *pub_topics[] = { "public.>" };
        static char *svc_names[] = { "org.example.Public.*" };
        static const struct bridge_filter narrow = { pub_topics, 1, svc_names, 1, NULL };
        struct host a, b;
        struct mlink ab, ba;
        struct fake pub = { 0 }, sub = { 0 }, svc = { 0 }, cl = { 0 };

        host_init(&a, "busd-a");
        host_init(&b, "busd-b");
        /* a exports only public.> and org.example.Public.*; b everything */
        connect_pair(&ab, &ba, &a, &b, &narrow, &everything);
        struct mlink *all[] = { &ab, &ba };
        fake_hello(a.r, &pub);
        fake_hello(b.r, &sub);
        fake_hello(a.r, &svc);
        fake_hello(b.r, &cl);
        fake_in(b.r, &sub, "{\"type\":\"subscribe\",\"id\":1,\"pattern\":\">\"}");
        fake_in(a.r, &svc, "{\"type\":\"request_name\",\"id\":1,\"name\":\"org.example.Secret\"}");
        fake_in(a.r, &svc, "{\"type\":\"request_name\",\"id\":2,\"name\":\"org.example.Public.Svc\"}");
        fake_skip(&sub);
        fake_skip(&svc);
        pump(all, 2);
        fake_in(a.r, &pub, "{\"type\":\"publish\",\"topic\":\"secret.x\"}");
        fake_in(a.r, &pub, "{\"type\":\"publish\",\"topic\":\"public.x\"}");
        pump(all, 2);
        CHECK_EQ_INT(count_events(&sub, "secret.x"), 0);
        fake_skip(&sub);
        /* count again from the start: exactly public.x crossed */
        size_t n = 0;
        for (size_t i = 0; i < sub.n; i++)
                n += memmem(fake_buf(&sub, i)->data, fake_buf(&sub, i)->len, "\"public.x\"", 10) != NULL;
        CHECK_EQ_INT(n, 1);
        fake_in(b.r, &cl, "{\"type\":\"call\",\"id\":1,\"dest\":\"org.example.Secret\",\"method\":\"m\"}");
        CHECK_STREQ(jstr(fake_expect(&cl, "error"), "code"), "no_owner");
        fake_in(b.r, &cl, "{\"type\":\"call\",\"id\":2,\"dest\":\"org.example.Public.Svc\",\"method\":\"m\"}");
        pump(all, 2);
        CHECK_STREQ(jstr(fake_expect(&svc, "call"), "method"), "m");
        /* a peer that calls a name it was not offered is refused by the exporting side */
        char why[300];
        const char *forged = "{\"type\":\"call\",\"id\":99,\"dest\":\"org.example.Secret\",\"method\":\"m\",\"origin\":"
                             "\"busd-b\",\"hops\":1,\"sender\":\":1\",\"creds\":{\"uid\":0,\"gid\":0,\"pid\":1}}";
        CHECK_EQ_INT(bridge_link_input(a.b, &ab.bl, forged, strlen(forged), why, sizeof(why)), 0);
        fake_expect_none(&svc, "the secret service gets nothing");
        CHECK(ab.n == 1 && memmem(ab.q[0]->data, ab.q[0]->len, "\"denied\"", 8));
        disconnect_pair(&ab, &ba);
        fake_remove(a.r, &pub);
        fake_remove(b.r, &sub);
        fake_remove(a.r, &svc);
        fake_remove(b.r, &cl);
        host_deinit(&a);
        host_deinit(&b);
}

static void test_forged_identity_is_refused(void)
{
        struct host a, b;
        struct mlink ab, ba;
        struct fake sub = { 0 };
        char why[300];

        host_init(&a, "busd-a");
        host_init(&b, "busd-b");
        connect_pair(&ab, &ba, &a, &b, &everything, &everything);
        struct mlink *all[] = { &ab, &ba };
        pump(all, 2);
        fake_hello(a.r, &sub);
        fake_in(a.r, &sub, "{\"type\":\"subscribe\",\"id\":1,\"pattern\":\">\"}");
        fake_skip(&sub);
        static const struct {
                const char *line;
                const char *why;
        } bad[] = {
                { "{\"type\":\"event\",\"origin\":\"busd-x\",\"epoch\":1,\"seq\":1,\"hops\":1,\"topic\":\"t\",\"sender\":\":1\","
                  "\"creds\":{\"uid\":0,\"gid\":0,\"pid\":1}}",
                  "forged identity" },
                { "{\"type\":\"event\",\"origin\":\"busd-b\",\"epoch\":1,\"seq\":1,\"hops\":2,\"topic\":\"t\",\"sender\":\":1\","
                  "\"creds\":{\"uid\":0,\"gid\":0,\"pid\":1}}",
                  "forged identity" },
                { "{\"type\":\"event\",\"origin\":\"busd-b\",\"epoch\":1,\"seq\":1,\"hops\":1,\"topic\":\"t\",\"sender\":\"root\","
                  "\"creds\":{\"uid\":0,\"gid\":0,\"pid\":1}}",
                  "sender" },
                { "{\"type\":\"event\",\"origin\":\"busd-b\",\"epoch\":1,\"seq\":1,\"hops\":1,\"topic\":\"t\",\"sender\":\":1\","
                  "\"creds\":{\"uid\":-1,\"gid\":0,\"pid\":1}}",
                  "creds" },
                { "{\"type\":\"event\",\"origin\":\"busd-b\",\"epoch\":1,\"seq\":1,\"hops\":1,\"topic\":\"t\",\"sender\":\":1\","
                  "\"creds\":{\"uid\":0,\"gid\":0,\"pid\":1,\"local\":true}}",
                  "creds" },
                { "{\"type\":\"reply\",\"id\":1,\"result\":1,\"sender\":\"busd-a/:1\"}", "forged identity" },
                { "{\"type\":\"names\",\"add\":[{\"name\":\"org.x.Y\",\"origin\":\"busd-z\",\"hops\":1}]}",
                  "forged identity" },
                { "{\"type\":\"link_hello\",\"protocol\":2,\"bus\":\"busd-a\",\"epoch\":1}", "unknown link message" },
                { "{\"type\":\"event\",\"origin\":\"busd-b\",\"epoch\":1,\"seq\":1,\"hops\":1,\"topic\":\"$bus.x\","
                  "\"sender\":\":1\",\"creds\":{\"uid\":0,\"gid\":0,\"pid\":1}}",
                  "topic" },
                { "[1,2]", "type" },
                { "{\"type\":\"event\"", "not JSON" },
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                why[0] = '\0';
                CHECK_EQ_INT(bridge_link_input(a.b, &ab.bl, bad[i].line, strlen(bad[i].line), why, sizeof(why)),
                             -EPROTO);
                CHECK_CONTAINS(why, bad[i].why);
        }
        fake_expect_none(&sub, "nothing forged was delivered");
        /* our own event come around is dropped quietly */
        const char *own = "{\"type\":\"event\",\"origin\":\"busd-a\",\"epoch\":42,\"seq\":1,\"hops\":2,\"topic\":\"t\","
                          "\"sender\":\":1\",\"creds\":{\"uid\":0,\"gid\":0,\"pid\":1}}";
        CHECK_EQ_INT(bridge_link_input(a.b, &ab.bl, own, strlen(own), why, sizeof(why)), 0);
        fake_expect_none(&sub, "own event dropped");
        /* a fresh link whose hello names another bus than its certificate */
        disconnect_pair(&ab, &ba);
        memset(&ab, 0, sizeof(ab));
        ab.up = true;
        ab.h = &a;
        CHECK_EQ_INT(bridge_link_up(a.b, &ab.bl, "busd-b", "l", &everything, &everything, &mlink_ops, &ab), 0);
        const char *hello = "{\"type\":\"link_hello\",\"protocol\":2,\"bus\":\"busd-c\",\"epoch\":1}";
        CHECK_EQ_INT(bridge_link_input(a.b, &ab.bl, hello, strlen(hello), why, sizeof(why)), -EPROTO);
        CHECK_CONTAINS(why, "forged identity");
        /* nor may a link claim this bus's own name */
        struct mlink self = { 0 };
        self.up = true;
        CHECK_EQ_INT(bridge_link_up(a.b, &self.bl, "busd-a", "l", &everything, &everything, &mlink_ops, &self),
                     -EEXIST);
        ab.up = false;
        bridge_link_down(a.b, &ab.bl, "end");
        for (size_t i = 0; i < ab.n; i++)
                buf_unref(ab.q[i]);
        fake_remove(a.r, &sub);
        host_deinit(&a);
        host_deinit(&b);
}

static void test_a_full_link_drops_events_and_counts_them(void)
{
        struct host a, b;
        struct mlink ab, ba;
        struct fake pub = { 0 };

        host_init(&a, "busd-a");
        host_init(&b, "busd-b");
        connect_pair(&ab, &ba, &a, &b, &everything, &everything);
        struct mlink *all[] = { &ab, &ba };
        pump(all, 2);
        fake_hello(a.r, &pub);
        ab.event_cap = 5;
        int64_t acked_drops = 0;
        for (int i = 0; i < 20; i++) {
                fake_in(a.r, &pub, "{\"type\":\"publish\",\"id\":%d,\"topic\":\"t.x\"}", i + 1);
                acked_drops += jint(fake_expect(&pub, "reply"), "result/dropped");
        }
        CHECK_EQ_INT(ab.bl.st.events_out, 5);
        CHECK_EQ_INT(ab.bl.st.dropped, 15);
        /* and the publisher was told, event by event */
        CHECK_EQ_INT(acked_drops, 15);
        disconnect_pair(&ab, &ba);
        fake_remove(a.r, &pub);
        host_deinit(&a);
        host_deinit(&b);
}

static void test_prefixes_rename_topics_per_direction(void)
{
        static char *all_t[] = { ">" }, *all_n[] = { "*" };
        static const struct bridge_filter out_a = { all_t, 1, all_n, 1, "site-a." };
        static const struct bridge_filter in_b = { all_t, 1, all_n, 1, "in." };
        struct host a, b, c;
        struct mlink ab, ba, bc, cb;
        struct fake pub = { 0 }, subb = { 0 }, subc = { 0 };
        char long_topic[BUS_MAX_TOPIC + 1];

        host_init(&a, "busd-a");
        host_init(&b, "busd-b");
        host_init(&c, "busd-c");
        /* a -> b: a adds "site-a." on the way out, b adds "in." on the way in */
        memset(&ab, 0, sizeof(ab));
        memset(&ba, 0, sizeof(ba));
        ab.h = &a, ba.h = &b, ab.other = &ba, ba.other = &ab, ab.up = ba.up = true;
        CHECK_EQ_INT(bridge_link_up(a.b, &ab.bl, "busd-b", "l", &out_a, &everything, &mlink_ops, &ab), 0);
        CHECK_EQ_INT(bridge_link_up(b.b, &ba.bl, "busd-a", "l", &everything, &in_b, &mlink_ops, &ba), 0);
        connect_pair(&bc, &cb, &b, &c, &everything, &everything);
        struct mlink *all[] = { &ab, &ba, &bc, &cb };
        pump(all, 4);
        fake_hello(a.r, &pub);
        fake_hello(b.r, &subb);
        fake_hello(c.r, &subc);
        fake_in(b.r, &subb, "{\"type\":\"subscribe\",\"id\":1,\"pattern\":\">\"}");
        fake_in(c.r, &subc, "{\"type\":\"subscribe\",\"id\":1,\"pattern\":\">\"}");
        fake_skip(&subb);
        fake_skip(&subc);
        fake_in(a.r, &pub, "{\"type\":\"publish\",\"topic\":\"t.x\"}");
        pump(all, 4);
        CHECK_STREQ(jstr(fake_expect(&subb, "event"), "topic"), "in.site-a.t.x");
        /* b passes it on under its own name for it */
        CHECK_STREQ(jstr(fake_expect(&subc, "event"), "topic"), "in.site-a.t.x");
        /* a topic the prefix would make too long does not cross, and is counted */
        memset(long_topic, 'x', BUS_MAX_TOPIC - 2);
        long_topic[BUS_MAX_TOPIC - 2] = '\0';
        fake_in(a.r, &pub, "{\"type\":\"publish\",\"topic\":\"%s\"}", long_topic);
        pump(all, 4);
        CHECK_EQ_INT(ab.bl.st.filtered, 1);
        fake_expect_none(&subb, "the long topic stayed at home");
        disconnect_pair(&ab, &ba);
        disconnect_pair(&bc, &cb);
        fake_remove(a.r, &pub);
        fake_remove(b.r, &subb);
        fake_remove(c.r, &subc);
        host_deinit(&a);
        host_deinit(&b);
        host_deinit(&c);
}

int main(void)
{
        test_line_events_cross_once_with_remote_identity();
        test_topologies_deliver_each_event_exactly_once();
        test_calls_cross_and_answers_come_back();
        test_a_call_pending_over_a_link_that_goes_down_fails_at_once();
        test_filters_keep_out_what_is_not_exported();
        test_forged_identity_is_refused();
        test_a_full_link_drops_events_and_counts_them();
        test_prefixes_rename_topics_per_direction();
        printf("test_bridge: ok\n");
        return 0;
}
