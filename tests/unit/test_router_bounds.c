/* test_router_bounds.c: what one client can make the routing core hold
 * (issue 16), through router_handle() only, with in-memory peers
 * (test_core_fake.c):
 *   - method declarations are kept as text: introspect and list give them
 *     back, the bytes kept count against max_message per connection and the
 *     uid's declared_bytes quota (busd/core/decl.c, session.c);
 *   - name notices to a queue that is full are held back and merged, never
 *     queued past queue_bytes however often another client makes them
 *     (send.c: send_notice());
 *   - a uid over its queue_bytes quota has its connections paused like a
 *     connection over its own queue limit, so that it cannot make the daemon
 *     queue more answers (send.c: send_must_pause()).
 * The policies are built from JSON text with policy_parse(). */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "policy.h"
#include "quota.h"
#include "test.h"
#include "test_core_fake.h"
#include "test_router_common.h"

/* A fake of this uid, past hello (its welcome read and written). */
static void hello_as(struct router *r, struct fake *f, uid_t uid)
{
        fake_add_fds(r, f, uid);
        fake_in(r, f, "{\"type\":\"hello\"}");
        fake_expect(f, "welcome");
        fake_write(r, f, 1);
}

/* The result of org.busd `method` called by f with params (JSON text); it
 * lives until f's next read. */
static struct json_object *busd(struct router *r, struct fake *f, const char *method, const char *params)
{
        fake_in(r, f, "{\"type\":\"call\",\"id\":900,\"dest\":\"org.busd\",\"method\":\"%s\",\"params\":%s}", method,
                params);
        struct json_object *rep = fake_expect(f, "reply");
        CHECK_EQ_INT(jint(rep, "id"), 900);
        return jget(rep, "result");
}

/* What uid holds of quota kind `key`, from stats asked by f (-1: no account). */
static int64_t uid_used(struct router *r, struct fake *f, uid_t uid, const char *key)
{
        struct json_object *uids = jget(busd(r, f, "stats", "null"), "uids");

        for (size_t i = 0; i < json_object_array_length(uids); i++)
                if (jint(json_object_array_get_idx(uids, i), "uid") == (int64_t)uid)
                        return jint(json_object_array_get_idx(uids, i), key);
        return -1;
}

/* ---- declarations -------------------------------------------------------------- */

/* Declarations are kept as their compact text and given back by introspect
 * and list as they were declared; what is kept is counted in declared_bytes. */
static void test_declarations_kept_as_text(void)
{
        static const char decl[] = "[{\"description\":\"now\",\"name\":\"get\",\"params\":{\"tz\":\"string\","
                                   "\"deep\":[0, 0,[1,{\"a\":\"\\/\\u00e9\"}]]},\"result\":null},"
                                   "{\"params\":[1.5e3,true],\"name\":\"set\"},{\"name\":\"x.y-z_1\"}]";
        /* compact, the name first: the text kept, byte for byte */
        static const char kept[] = "[{\"name\":\"get\",\"description\":\"now\",\"params\":{\"tz\":\"string\","
                                   "\"deep\":[0,0,[1,{\"a\":\"/\xc3\xa9\"}]]},\"result\":null},"
                                   "{\"name\":\"set\",\"params\":[1.5e3,true]},{\"name\":\"x.y-z_1\"}]";
        struct router *r = fake_router(NULL);
        struct fake a, w;

        fake_hello(r, &a);
        fake_hello(r, &w);
        fake_in(r, &a, "{\"type\":\"request_name\",\"name\":\"org.example.Svc\"}");
        fake_in(r, &a, "{\"type\":\"declare\",\"id\":1,\"methods\":%s}", decl);
        CHECK_EQ_INT(jint(fake_expect(&a, "reply"), "result/methods"), 3);
        CHECK_EQ_INT(uid_used(r, &w, a.peer.uid, "declared_bytes"), strlen(kept));

        /* introspect splices the text into its answer */
        busd(r, &w, "introspect", "{\"name\":\"org.example.Svc\"}");
        struct buf *b = fake_buf(&w, w.read - 1);
        char *raw = strndup(b->data, b->len);
        char *at = strstr(raw, "\"methods\":");
        CHECK(at && strncmp(at + strlen("\"methods\":"), kept, strlen(kept)) == 0);
        free(raw);
        struct json_object *want = json_tokener_parse(decl);
        CHECK(json_object_equal(jget(busd(r, &w, "introspect", "{\"name\":\"org.example.Svc\"}"), "methods"), want));
        json_object_put(want);

        /* list names the methods */
        struct json_object *names = jget(busd(r, &w, "list", "null"), "names");
        CHECK_EQ_INT(json_object_array_length(names), 1);
        struct json_object *m = jget(json_object_array_get_idx(names, 0), "methods");
        CHECK_EQ_INT(json_object_array_length(m), 3);
        CHECK_STREQ(json_object_get_string(json_object_array_get_idx(m, 0)), "get");
        CHECK_STREQ(json_object_get_string(json_object_array_get_idx(m, 1)), "set");
        CHECK_STREQ(json_object_get_string(json_object_array_get_idx(m, 2)), "x.y-z_1");

        /* a declare replaces; [] withdraws them (2 bytes kept); a hello's count too */
        fake_in(r, &a, "{\"type\":\"declare\",\"id\":2,\"methods\":[]}");
        CHECK_EQ_INT(jint(fake_expect(&a, "reply"), "result/methods"), 0);
        CHECK_EQ_INT(uid_used(r, &w, a.peer.uid, "declared_bytes"), 2);
        CHECK_EQ_INT(json_object_array_length(
                             jget(busd(r, &w, "introspect", "{\"name\":\"org.example.Svc\"}"), "methods")),
                     0);
        struct fake c;
        fake_add(r, &c);
        fake_in(r, &c, "{\"type\":\"hello\",\"methods\":[{\"name\":\"ping\"}]}");
        fake_expect(&c, "welcome");
        CHECK_EQ_INT(uid_used(r, &w, c.peer.uid, "declared_bytes"), strlen("[{\"name\":\"ping\"}]"));
        fake_remove(r, &c);
        fake_remove(r, &a);
        CHECK_EQ_INT(uid_used(r, &w, a.peer.uid, "declared_bytes"), -1); /* nothing left of its uid */
        fake_remove(r, &w);
        router_free(r);
}

/* What a connection keeps is at most its max_message; its uid's connections
 * together keep at most the declared_bytes quota. Refusals are `limit` and
 * leave the earlier declarations in place. */
static void test_declaration_limits(void)
{
        struct router *r = fake_router(NULL);
        struct policy *pol = fake_policy_with_quotas("\"declared_bytes\": 100");
        struct fake a, b, c, w;
        char big[300];

        snprintf(big, sizeof(big), "[{\"name\":\"m\",\"description\":\"%0200d\"}]", 0);
        fake_add_ex(r, &a, 200, 2000);
        fake_in(r, &a, "{\"type\":\"hello\",\"methods\":[{\"name\":\"first\"}]}");
        fake_expect(&a, "welcome");
        fake_hello(r, &w);
        /* the message is read whole here (no framing): the text kept is what counts */
        fake_in(r, &a, "{\"type\":\"declare\",\"id\":1,\"methods\":%s}", big);
        CHECK_CONTAINS(jstr(expect_error(&a, "limit"), "message"), "max_message: 200");
        char who[64];
        snprintf(who, sizeof(who), "{\"name\":\"%s\"}", a.peer.unique);
        struct json_object *m = jget(busd(r, &w, "introspect", who), "methods");
        CHECK_EQ_INT(json_object_array_length(m), 1); /* the earlier one stays */
        fake_remove(r, &a);

        router_set_policy(r, pol);
        hello_as(r, &b, 7000);
        hello_as(r, &c, 7000);
        /* 60 bytes each: one fits the quota of 100, two do not */
        static const char sixty[] = "[{\"name\":\"m\",\"description\":\"01234567890123456789012345678\"}]";
        CHECK_EQ_INT(strlen(sixty), 60);
        fake_in(r, &b, "{\"type\":\"declare\",\"id\":1,\"methods\":%s}", sixty);
        CHECK_EQ_INT(jint(fake_expect(&b, "reply"), "result/methods"), 1);
        fake_in(r, &c, "{\"type\":\"declare\",\"id\":1,\"methods\":%s}", sixty);
        struct json_object *e = expect_error(&c, "limit");
        CHECK_CONTAINS(jstr(e, "message"), "quota declared_bytes (100)");
        CHECK_EQ_INT(jint(e, "id"), 1);
        /* replacing one's own by one as large is fine; by a smaller one too */
        fake_in(r, &b, "{\"type\":\"declare\",\"id\":2,\"methods\":%s}", sixty);
        CHECK_EQ_INT(jint(fake_expect(&b, "reply"), "result/methods"), 1);
        fake_in(r, &b, "{\"type\":\"declare\",\"id\":3,\"methods\":[{\"name\":\"m\"}]}");
        CHECK_EQ_INT(jint(fake_expect(&b, "reply"), "result/methods"), 1);
        fake_in(r, &c, "{\"type\":\"declare\",\"id\":2,\"methods\":%s}", sixty);
        CHECK_EQ_INT(jint(fake_expect(&c, "reply"), "result/methods"), 1);
        CHECK_EQ_INT(uid_used(r, &w, 7000, "declared_bytes"), 60 + strlen("[{\"name\":\"m\"}]"));

        /* a hello whose declarations would pass the quota fails whole */
        struct fake d;
        fake_add_fds(r, &d, 7000);
        fake_in(r, &d, "{\"type\":\"hello\",\"id\":5,\"methods\":%s}", sixty);
        CHECK_CONTAINS(jstr(expect_error(&d, "limit"), "message"), "declared_bytes");
        CHECK(!d.peer.hello_done);
        fake_remove(r, &c); /* its 60 bytes are given back */
        fake_in(r, &d, "{\"type\":\"hello\",\"id\":6,\"methods\":%s}", sixty);
        fake_expect(&d, "welcome");
        fake_remove(r, &b);
        fake_remove(r, &d);
        fake_remove(r, &w);
        router_free(r);
        policy_free(pol);
}

/* ---- name notices ---------------------------------------------------------------- */

#define QUEUE 2000

static struct router *small_queue_router(void)
{
        struct router_limits lim;

        router_limits_default(&lim);
        lim.queue_bytes = QUEUE;
        return fake_router(&lim);
}

/* Reads f's unread name notices (about `name`, checked to alternate, the
 * first after *last) up to the first other message, which it returns (NULL:
 * none). Counts them by kind; *last is the last one's type. */
static struct json_object *read_notices(struct fake *f, const char *name, int *ret_lost, int *ret_acquired,
                                        const char **last)
{
        struct json_object *n;

        *ret_lost = *ret_acquired = 0;
        while ((n = fake_next(f))) {
                const char *type = jstr(n, "type");
                if (strcmp(type, "name_lost") != 0 && strcmp(type, "name_acquired") != 0)
                        return n;
                CHECK_STREQ(jstr(n, "name"), name);
                CHECK(!*last || strcmp(*last, type) != 0); /* they alternate */
                *last = strcmp(type, "name_lost") == 0 ? "name_lost" : "name_acquired";
                (*(strcmp(type, "name_lost") == 0 ? ret_lost : ret_acquired))++;
        }
        return NULL;
}

/* A client that takes over and releases a name over and over cannot grow the
 * queue of its owner (allow_replacement, queued) past queue_bytes: notices that
 * do not fit are held back and merged; the owner learns where it stands once
 * it reads, before anything queued later. */
static void test_name_notices_held_back(void)
{
        struct router *r = small_queue_router();
        struct fake v, a;
        int lost, acquired;
        const char *last = "name_acquired"; /* it owns the name */

        fake_hello(r, &v);
        fake_hello(r, &a);
        fake_write(r, &v, v.n);
        fake_write(r, &a, a.n);
        fake_in(r, &v, "{\"type\":\"request_name\",\"name\":\"org.example.V\",\"allow_replacement\":true}");
        for (int i = 0; i < 5000; i++) {
                fake_in(r, &a, "{\"type\":\"request_name\",\"id\":1,\"name\":\"org.example.V\",\"replace\":true}");
                CHECK_STREQ(jstr(fake_expect(&a, "reply"), "result/status"), "primary_owner");
                fake_in(r, &a, "{\"type\":\"release_name\",\"id\":2,\"name\":\"org.example.V\"}");
                fake_expect(&a, "reply");
                fake_write(r, &a, 2); /* the attacker reads its answers */
                CHECK(v.peer.queued_bytes <= QUEUE);
        }
        CHECK_EQ_INT(v.peer.queued_bytes, fake_unwritten_bytes(&v));
        CHECK(v.peer.full_since_ms != 0); /* not keeping up: its stall clock runs */
        size_t queued = fake_unread(&v);

        /* it reads: the rest comes merged, [lost then] acquired: it owns the name again */
        CHECK(fake_write(r, &v, v.n - v.written));
        CHECK(fake_unread(&v) == queued + 1 || fake_unread(&v) == queued + 2);
        CHECK(!read_notices(&v, "org.example.V", &lost, &acquired, &last));
        CHECK_STREQ(last, "name_acquired");
        CHECK_EQ_INT(lost, acquired);

        /* again until notices are held, then once more taken: merged, the
         * notices say only that it lost the name; an answer to its own request
         * comes after them */
        while (list_empty(&v.peer.notices)) {
                fake_in(r, &a, "{\"type\":\"request_name\",\"name\":\"org.example.V\",\"replace\":true}");
                fake_in(r, &a, "{\"type\":\"release_name\",\"name\":\"org.example.V\"}");
        }
        fake_in(r, &a, "{\"type\":\"request_name\",\"name\":\"org.example.V\",\"replace\":true}");
        CHECK(v.peer.queued_bytes <= QUEUE);
        fake_in(r, &v, "{\"type\":\"call\",\"id\":77,\"dest\":\"org.busd\",\"method\":\"ping\"}");
        struct json_object *after = read_notices(&v, "org.example.V", &lost, &acquired, &last);
        CHECK(after && jint(after, "id") == 77);
        CHECK_STREQ(last, "name_lost");
        fake_expect_none(&v, "nothing after the answer");
        CHECK(list_empty(&v.peer.notices));
        /* held notices of a connection that goes are forgotten (ASan: no leak) */
        fake_write(r, &v, v.n - v.written);
        while (list_empty(&v.peer.notices)) {
                fake_in(r, &a, "{\"type\":\"release_name\",\"name\":\"org.example.V\"}");
                fake_in(r, &a, "{\"type\":\"request_name\",\"name\":\"org.example.V\",\"replace\":true}");
        }
        fake_remove(r, &v);
        fake_remove(r, &a);
        router_free(r);
}

/* ---- the uid's queue quota ----------------------------------------------------------- */

/* A uid whose connections' queues together pass its queue_bytes quota has
 * them paused as if their own queues were full: each that holds part of it is
 * read no further until that is written; one with nothing queued is read up
 * to its next answer. */
static void test_uid_quota_pauses(void)
{
        struct router *r = fake_router(NULL);
        struct policy *pol = fake_policy_with_quotas("\"queue_bytes\": 3000");
        struct fake x, y, z;
        int res = ROUTER_OK, asked = 0;

        router_set_policy(r, pol);
        hello_as(r, &x, 7000);
        hello_as(r, &y, 7000);
        hello_as(r, &z, 7001); /* another uid */
        /* x asks and never reads: far below its own queue_bytes (4 MiB), its
         * uid's quota stops it */
        while (res == ROUTER_OK) {
                CHECK(asked < 1000);
                res = fake_in(r, &x, "{\"type\":\"call\",\"id\":%d,\"dest\":\"org.busd\",\"method\":\"ping\"}",
                              ++asked);
        }
        CHECK_EQ_INT(res, ROUTER_PAUSE);
        CHECK(x.peer.queued_bytes > 3000 && x.peer.queued_bytes < 3200);
        /* y, same uid, nothing queued: its request is answered, then it pauses */
        CHECK_EQ_INT(fake_in(r, &y, "{\"type\":\"call\",\"id\":1,\"dest\":\"org.busd\",\"method\":\"ping\"}"),
                     ROUTER_PAUSE);
        CHECK_EQ_INT(jint(fake_expect(&y, "reply"), "id"), 1);
        /* another uid is not concerned */
        CHECK_EQ_INT(fake_in(r, &z, "{\"type\":\"call\",\"id\":1,\"dest\":\"org.busd\",\"method\":\"ping\"}"),
                     ROUTER_OK);
        /* y wrote everything: read again (for its next answer), though its uid is still over */
        CHECK(fake_write(r, &y, 1));
        /* x resumes once its uid is at half its quota */
        bool resumed = false;
        while (!resumed && x.written < x.n)
                resumed = fake_write(r, &x, 1);
        CHECK(resumed);
        CHECK(x.peer.acct->used[QUOTA_QUEUE_BYTES] <= 1500);
        CHECK_EQ_INT(fake_in(r, &x, "{\"type\":\"call\",\"id\":9999,\"dest\":\"org.busd\",\"method\":\"ping\"}"),
                     ROUTER_OK);
        fake_remove(r, &x);
        fake_remove(r, &y);
        fake_remove(r, &z);
        router_free(r);
        policy_free(pol);
}

int main(void)
{
        test_declarations_kept_as_text();
        test_declaration_limits();
        test_name_notices_held_back();
        test_uid_quota_pauses();
        return 0;
}
