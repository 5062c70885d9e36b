/* test_libbus_payload.c: payloads as text, against a scripted fake daemon.
 * An event handler that never asks for the tree gets the data's text as the
 * daemon sent it (bus_event_json); bus_event_data() builds the tree once;
 * a method handler has params as text and as a tree, also for a deferred
 * call answered after the receive buffer was reused; bus_publish_json() and
 * bus_reply_json() send checked text as it is and refuse what the daemon
 * would not parse, sending nothing. Every test runs over stream and
 * seqpacket. */
#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>

#include "bus.h"
#include "test.h"
#include "test_libbus_fake.h"

#define CREDS "\"sender\":\":9\",\"creds\":{\"uid\":11,\"gid\":22,\"pid\":33}"
/* numbers and escapes that a json-c round trip would rewrite */
#define PAYLOAD "{\"z\":-0,\"f\":1.50e3,\"s\":\"\\u00e9\\/\",\"a\":[true,null,1e-7]}"

struct seen {
        int n;
        char json[256];
        size_t len;
        struct json_object *tree; /* a reference of our own */
        bool same;                /* bus_event_data() gave the same pointer twice */
        int null_errno;
};

/* Never asks for the tree. */
static void on_raw(struct bus *bus, const struct bus_event *ev, void *userdata)
{
        struct seen *s = userdata;
        size_t len;
        const char *j = bus_event_json(ev, &len);

        CHECK(j);
        CHECK_EQ_INT(strlen(j), len); /* NUL-terminated */
        CHECK(len < sizeof(s->json));
        memcpy(s->json, j, len + 1);
        s->len = len;
        CHECK(bus_event_json(ev, NULL) == j);
        s->n++;
}

static void on_tree(struct bus *bus, const struct bus_event *ev, void *userdata)
{
        struct seen *s = userdata;
        struct json_object *a, *b;

        errno = EBADF;
        a = bus_event_data(ev);
        s->null_errno = a ? -1 : errno;
        b = bus_event_data(ev);
        s->same = a == b;
        json_object_put(s->tree);
        s->tree = json_object_get(a);
        snprintf(s->json, sizeof(s->json), "%s", bus_event_json(ev, &s->len));
        s->n++;
}

static void subscribe(struct fake *f, struct bus *bus, long long id, const char *pattern, bus_event_fn fn,
                      struct seen *s)
{
        fake_send(f, "{\"type\":\"reply\",\"id\":%lld,\"result\":{\"pattern\":\"%s\"},\"sender\":\"org.busd\"}", id,
                  pattern);
        CHECK_EQ_INT(bus_subscribe(bus, pattern, fn, s), 0);
        json_object_put(fake_expect(f, "subscribe"));
}

static void test_events(bool seq)
{
        struct seen raw = { 0 }, tree = { 0 };
        struct bus *bus;
        struct fake f;

        fake_open(&f, seq, NULL, &bus);
        subscribe(&f, bus, 2, "a.>", on_raw, &raw);
        subscribe(&f, bus, 3, "a.*", on_tree, &tree);

        fake_send(&f, "{\"type\":\"event\",\"topic\":\"a.b\",\"data\":" PAYLOAD "," CREDS "}");
        CHECK(bus_process(bus) > 0);
        CHECK_EQ_INT(raw.n, 1);
        CHECK_EQ_INT(tree.n, 1);
        CHECK_STREQ(raw.json, PAYLOAD); /* as written, whatever the other handler did */
        CHECK_EQ_INT(raw.len, strlen(PAYLOAD));
        CHECK_STREQ(tree.json, PAYLOAD);
        CHECK(tree.same && tree.tree);
        struct json_object *want = json_tokener_parse(PAYLOAD);
        CHECK(want);
        CHECK(json_object_equal(tree.tree, want));
        CHECK_STREQ(json_object_get_string(json_object_object_get(tree.tree, "s")), "\xc3\xa9/");
        json_object_put(want);

        /* a handler that never asks builds nothing: only its subscription matches */
        fake_send(&f, "{\"type\":\"event\",\"topic\":\"a.b.c\",\"data\":[1,2.50]," CREDS "}");
        CHECK(bus_process(bus) > 0);
        CHECK_EQ_INT(raw.n, 2);
        CHECK_EQ_INT(tree.n, 1);
        CHECK_STREQ(raw.json, "[1,2.50]");

        /* null and absent data: "null", and a NULL tree with errno 0 */
        fake_send(&f, "{\"type\":\"event\",\"topic\":\"a.n\",\"data\":null," CREDS "}");
        CHECK(bus_process(bus) > 0);
        CHECK_STREQ(raw.json, "null");
        CHECK_STREQ(tree.json, "null");
        CHECK(tree.tree == NULL && tree.same);
        CHECK_EQ_INT(tree.null_errno, 0);
        fake_send(&f, "{\"type\":\"event\",\"topic\":\"a.n\"," CREDS "}");
        CHECK(bus_process(bus) > 0);
        CHECK_STREQ(raw.json, "null");
        CHECK_EQ_INT(raw.len, 4);
        CHECK(tree.tree == NULL);
        CHECK_EQ_INT(tree.n, 3);

        /* a string payload with an escaped U+0000 keeps it escaped */
        fake_send(&f, "{\"type\":\"event\",\"topic\":\"a.s\",\"data\":\"x\\u0000y\"," CREDS "}");
        CHECK(bus_process(bus) > 0);
        CHECK_STREQ(raw.json, "\"x\\u0000y\"");
        CHECK_EQ_INT(json_object_get_string_len(tree.tree), 3);

        json_object_put(tree.tree);
        bus_close(bus);
        fake_close(&f);
}

static struct bus_call *kept;
static struct json_object *kept_tree;

static int h_echo(struct bus *bus, struct bus_call *call, void *userdata)
{
        size_t len;
        const char *j = bus_call_params_json(call, &len);
        struct json_object *p = bus_call_params(call);

        CHECK(p == bus_call_params(call)); /* built once */
        CHECK(bus_call_params_json(call, NULL) == j);
        CHECK_EQ_INT(strlen(j), len);
        if (strcmp(j, "null") == 0) {
                CHECK(!p);
        } else {
                struct json_object *want = json_tokener_parse(j);
                CHECK(json_object_equal(p, want));
                json_object_put(want);
        }
        CHECK_EQ_INT(bus_reply_json(call, j, len), 0);
        ++*(int *)userdata;
        return 0;
}

/* Keeps the call; its params are read after other messages went through. */
static int h_defer(struct bus *bus, struct bus_call *call, void *userdata)
{
        kept = bus_call_defer(call);
        kept_tree = bus_call_params(call); /* built now, must live as long as the call */
        return 0;
}

static int h_bad(struct bus *bus, struct bus_call *call, void *userdata)
{
        CHECK_EQ_INT(bus_reply_json(call, "[1,]", 4), -EINVAL);
        CHECK_CONTAINS(bus_last_error(bus), "could not be sent");
        return 0;
}

/* The answer's text must hold `part` byte for byte. */
static void expect_text(struct fake *f, const char *part)
{
        char *t = fake_recv_text(f, 5000);

        CHECK(t);
        CHECK_CONTAINS(t, part);
        free(t);
}

static void test_calls(bool seq)
{
        struct bus *bus;
        struct fake f;
        int echoes = 0;

        fake_open(&f, seq, NULL, &bus);
        CHECK_EQ_INT(bus_add_method(bus, "echo", NULL, NULL, NULL, h_echo, &echoes), 0);
        CHECK_EQ_INT(bus_add_method(bus, "defer", NULL, NULL, NULL, h_defer, NULL), 0);
        CHECK_EQ_INT(bus_add_method(bus, "bad", NULL, NULL, NULL, h_bad, NULL), 0);
        CHECK_EQ_INT(bus_flush(bus), 0);
        for (int i = 0; i < 3; i++)
                json_object_put(fake_expect(&f, "declare"));

        fake_send(&f,
                  "{\"type\":\"call\",\"id\":40,\"dest\":\":7\",\"method\":\"echo\",\"params\":" PAYLOAD "," CREDS "}");
        fake_send(&f, "{\"type\":\"call\",\"id\":41,\"dest\":\":7\",\"method\":\"echo\"," CREDS "}");
        fake_send(&f,
                  "{\"type\":\"call\",\"id\":42,\"dest\":\":7\",\"method\":\"defer\",\"params\":{\"k\":\"v\\u00e9\"},"
                  "\"future\":1," CREDS "}");
        fake_send(&f, "{\"type\":\"call\",\"id\":43,\"dest\":\":7\",\"method\":\"bad\"," CREDS "}");
        CHECK(bus_process(bus) > 0);
        CHECK_EQ_INT(echoes, 2);
        expect_text(&f, "{\"type\":\"reply\",\"id\":40,\"result\":" PAYLOAD "}");
        expect_text(&f, "{\"type\":\"reply\",\"id\":41,\"result\":null}");
        expect_text(&f, "{\"type\":\"error\",\"id\":43,\"code\":\"failed\"");

        /* more traffic through the receive buffer before the deferred answer */
        for (int i = 0; i < 20; i++)
                fake_send(
                        &f,
                        "{\"type\":\"call\",\"id\":%d,\"dest\":\":7\",\"method\":\"echo\",\"params\":[%d,\"%040d\"]," CREDS
                        "}",
                        50 + i, i, i);
        CHECK(bus_process(bus) > 0);
        CHECK_EQ_INT(echoes, 22);
        for (int i = 0; i < 20; i++)
                json_object_put(fake_expect(&f, "reply"));
        CHECK(kept);
        size_t len;
        CHECK_STREQ(bus_call_params_json(kept, &len), "{\"k\":\"v\\u00e9\"}");
        CHECK_EQ_INT(len, 15);
        CHECK(bus_call_params(kept) == kept_tree);
        CHECK_STREQ(json_object_get_string(json_object_object_get(kept_tree, "k")), "v\xc3\xa9");
        /* the reply's text: whitespace outside strings goes, the rest stays */
        const char *spaced = " [ \"a b\",\n1.0 ]\n";
        CHECK_EQ_INT(bus_reply_json(kept, spaced, strlen(spaced)), 0);
        CHECK_EQ_INT(bus_flush(bus), 0);
        expect_text(&f, "{\"type\":\"reply\",\"id\":42,\"result\":[\"a b\",1.0]}");
        CHECK(fake_idle(&f));

        bus_close(bus);
        fake_close(&f);
}

static void test_publish_json(bool seq)
{
        struct bus *bus;
        struct fake f;
        char big[3000];

        /* max_depth 4: a value inside the message may nest 3 levels */
        fake_open(&f, seq, "{\"max_message\":2048,\"max_recv\":4096,\"max_depth\":4}", &bus);
        CHECK_EQ_INT(bus_publish_json(bus, "t.a", PAYLOAD, strlen(PAYLOAD)), 0);
        CHECK_EQ_INT(bus_publish_json(bus, "t.b", "[[[1]]]xyz", 7), 0); /* len bytes only, no NUL needed */
        const char *spaced = "{ \"a\" :\n[1, \"x y\"] }\n";
        CHECK_EQ_INT(bus_publish_json(bus, "t.c", spaced, strlen(spaced)), 0);
        CHECK_EQ_INT(bus_publish_json(bus, "t.d", "null", 4), 0);
        CHECK_EQ_INT(bus_flush(bus), 0);
        expect_text(&f, "{\"type\":\"publish\",\"topic\":\"t.a\",\"data\":" PAYLOAD "}");
        expect_text(&f, "{\"type\":\"publish\",\"topic\":\"t.b\",\"data\":[[[1]]]}");
        expect_text(&f, "{\"type\":\"publish\",\"topic\":\"t.c\",\"data\":{\"a\":[1,\"x y\"]}}");
        expect_text(&f, "{\"type\":\"publish\",\"topic\":\"t.d\",\"data\":null}");

        /* refused before anything is queued */
        static const char *const invalid[] = {
                "NaN",  "[1] x",   "\"\\ud800\"",          "[[[[1]]]]", "",         "{\"a\":1,\"a\":2}", "\"\xff\"",
                "[1,]", "{'a':1}", "99999999999999999999", "\"a\nb\"",  "Infinity",
        };
        for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
                CHECK_EQ_INT(bus_publish_json(bus, "t.x", invalid[i], strlen(invalid[i])), -EINVAL);
                CHECK_CONTAINS(bus_last_error(bus), "cannot be sent");
        }
        CHECK_EQ_INT(bus_publish_json(bus, "t.x", NULL, 0), -EINVAL);
        CHECK_EQ_INT(bus_publish_json(bus, "t.*", "1", 1), -EINVAL);
        CHECK_EQ_INT(bus_publish_json(bus, "$bus.x", "1", 1), -EINVAL);
        memset(big, 'x', sizeof(big));
        big[0] = big[sizeof(big) - 1] = '"';
        CHECK_EQ_INT(bus_publish_json(bus, "t.x", big, sizeof(big)), -EMSGSIZE);
        CHECK_EQ_INT(bus_flush(bus), 0);
        CHECK(fake_idle(&f)); /* nothing was sent */

        bus_close(bus);
        fake_close(&f);
}

int main(void)
{
        for (int seq = 0; seq < 2; seq++) {
                test_events(seq);
                test_calls(seq);
                test_publish_json(seq);
        }
        return 0;
}
