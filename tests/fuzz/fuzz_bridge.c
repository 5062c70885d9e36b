/* fuzz_bridge.c: what a bridge peer sends over a link (busd/bridge/bridge.c).
 *
 * Input: lines, each a message from the other bus on one of two links (the
 * first byte of a line picks the link: even, busd-b; odd, busd-c). The bus
 * has a local subscriber to ">" and a local service owning a name, so that
 * events, calls and answers reach the router. Every input must be answered
 * 0 or -EPROTO with a reason (the carrier then closes the link; here the link
 * is taken down and brought up again), nothing may crash or leak, and a
 * delivered message never carries top-level "creds" for a remote sender. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "bridge.h"
#include "buf.h"
#include "fuzz.h"
#include "router.h"

struct fl {
        struct blink bl;
        bool up;
};

static int fl_send(struct blink *l, struct buf *b, bool droppable)
{
        (void)droppable;
        FUZZ_CHECK(b->len > 0 && b->data[b->len - 1] == '\n');
        return ((struct fl *)l)->up ? 0 : -ENOTCONN;
}

static void fl_close(struct blink *l, const char *why)
{
        (void)l;
        FUZZ_CHECK(why && why[0]);
}

static const struct blink_ops fl_ops = { .send = fl_send, .close = fl_close };

struct lp {
        struct peer peer;
};

static int lp_send(struct peer *p, struct buf *b)
{
        (void)p;
        /* what reaches a local client from a remote sender is marked remote */
        /* the identity is the last thing in a delivered event or call: after
         * the last ,"sender":"X" comes ,"creds" for a local X and ,"remote"
         * for BUS/X, never the other way round */
        const char *at = NULL, *q = b->data, *end = b->data + b->len;
        while ((q = memmem(q, (size_t)(end - q), ",\"sender\":\"", 11))) {
                at = q + 11;
                q = at;
        }
        if (at) {
                const char *close = memchr(at, '"', (size_t)(end - at));
                FUZZ_CHECK(close);
                bool remote = memchr(at, '/', (size_t)(close - at)) != NULL;
                size_t left = (size_t)(end - close - 1);
                if (left >= 10 && memcmp(close + 1, ",\"remote\":", 10) == 0)
                        FUZZ_CHECK(remote);
                if (left >= 9 && memcmp(close + 1, ",\"creds\":", 9) == 0)
                        FUZZ_CHECK(!remote);
        }
        return 0;
}

static void lp_kill(struct peer *p, const char *reason)
{
        (void)p;
        (void)reason;
}

static const struct peer_ops lp_ops = { .send = lp_send, .kill = lp_kill };

static char *all_t[] = { ">" }, *all_n[] = { "*" };
static const struct bridge_filter all = { all_t, 1, all_n, 1, NULL };

static void up(struct bridge *b, struct fl *l, const char *name)
{
        memset(l, 0, sizeof(*l));
        l->up = true;
        FUZZ_CHECK(bridge_link_up(b, &l->bl, name, "fuzz", &all, &all, &fl_ops, l) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct router_config cfg = { .uid = 0, .gid = 0, .pid = 1 };
        struct lp sub, svc;
        struct fl links[2];
        static const char *const names[2] = { "busd-b", "busd-c" };
        char why[400];

        router_limits_default(&cfg.limits);
        struct router *r = router_new(&cfg);
        FUZZ_CHECK(r);
        struct bridge *b = bridge_new(r, "busd-a", 4, 7);
        FUZZ_CHECK(b);
        router_peer_add(r, &sub.peer, &lp_ops, "stream", 1000, 1000, 10, 1 << 20, 1 << 20);
        router_peer_add(r, &svc.peer, &lp_ops, "stream", 1001, 1001, 11, 1 << 20, 1 << 20);
        static const char hello[] = "{\"type\":\"hello\"}", subm[] = "{\"type\":\"subscribe\",\"pattern\":\">\"}",
                          own[] = "{\"type\":\"request_name\",\"name\":\"org.example.S\"}";
        router_handle(r, &sub.peer, hello, sizeof(hello) - 1);
        router_handle(r, &sub.peer, subm, sizeof(subm) - 1);
        router_handle(r, &svc.peer, hello, sizeof(hello) - 1);
        router_handle(r, &svc.peer, own, sizeof(own) - 1);
        for (int i = 0; i < 2; i++) {
                up(b, &links[i], names[i]);
                char h[120];
                int n = snprintf(h, sizeof(h), "{\"type\":\"link_hello\",\"protocol\":2,\"bus\":\"%s\",\"epoch\":1}",
                                 names[i]);
                FUZZ_CHECK(bridge_link_input(b, &links[i].bl, h, (size_t)n, why, sizeof(why)) == 0);
        }
        const char *p = (const char *)data, *end = p + size;
        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
                if (len > 0) {
                        struct fl *l = &links[(unsigned char)p[0] % 2];
                        why[0] = '\0';
                        int rc = bridge_link_input(b, &l->bl, p + 1, len - 1, why, sizeof(why));
                        FUZZ_CHECK(rc == 0 || rc == -EPROTO || rc == -ENOMEM);
                        if (rc == -EPROTO) {
                                FUZZ_CHECK(why[0] != '\0');
                                l->up = false;
                                bridge_link_down(b, &l->bl, why);
                                up(b, l, names[l - links]);
                        }
                }
                p += len + (nl ? 1 : 0);
        }
        for (int i = 0; i < 2; i++) {
                links[i].up = false;
                bridge_link_down(b, &links[i].bl, "end");
        }
        router_peer_remove(r, &sub.peer);
        router_peer_remove(r, &svc.peer);
        bridge_free(b);
        router_free(r);
        return 0;
}
