/* test_bridge_common.c: see test_bridge_common.h. */
#include "test_bridge_common.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "test.h"
#include "test_core_fake.h"

static int m_send(struct blink *l, struct buf *b, bool droppable)
{
        struct mlink *m = (struct mlink *)l;

        if (!m->up)
                return -ENOTCONN;
        if (droppable && m->event_cap && m->n >= m->event_cap)
                return -ENOBUFS;
        CHECK(m->n < MLINK_QUEUE);
        m->q[m->n++] = buf_ref(b);
        return 0;
}

static void m_close(struct blink *l, const char *why)
{
        struct mlink *m = (struct mlink *)l;

        m->closed = true;
        snprintf(m->closed_why, sizeof(m->closed_why), "%s", why);
}

static bool m_room(struct blink *l)
{
        struct mlink *m = (struct mlink *)l;
        return !m->event_cap || m->n <= m->event_cap / 2;
}

static void m_resume(struct blink *l)
{
        struct mlink *m = (struct mlink *)l;

        m->resumes++;
        m->paused = false; /* pump() reads it again */
}

const struct blink_ops mlink_ops = { .send = m_send, .close = m_close, .room = m_room, .resume = m_resume };

static char *all_topics[] = { ">" };
static char *all_names[] = { "*" };
const struct bridge_filter everything = { all_topics, 1, all_names, 1, NULL };

void host_init(struct host *h, const char *name)
{
        host_init_ex(h, name, NULL);
}

void host_init_ex(struct host *h, const char *name, const struct router_limits *limits)
{
        h->name = name;
        h->r = fake_router(limits);
        h->b = bridge_new(h->r, name, 0, 42);
        CHECK(h->b);
}

void host_deinit(struct host *h)
{
        bridge_free(h->b);
        router_free(h->r);
}

bool pump_one(struct mlink *m)
{
        struct mlink *o = m->other;
        char why[300];

        if (!m->n || o->paused)
                return false;
        struct buf *b = m->q[0];
        memmove(m->q, m->q + 1, (m->n - 1) * sizeof(*m->q));
        m->n--;
        if (getenv("TRACE"))
                fprintf(stderr, "%s -> %s: %.*s", m->h->name, o->h->name, (int)b->len, b->data);
        if (o->up && !o->closed) {
                int r = bridge_link_input(o->h->b, &o->bl, b->data, b->len - 1, why, sizeof(why));
                if (r < 0)
                        m_close(&o->bl, why);
                if (r == BRIDGE_INPUT_PAUSE) {
                        o->paused = true;
                        o->pauses++;
                }
        }
        buf_unref(b);
        return true;
}

void pump(struct mlink **links, size_t n)
{
        bool moved = true;

        while (moved) {
                moved = false;
                for (size_t i = 0; i < n; i++) {
                        struct mlink *m = links[i];
                        bool any = false;
                        while (pump_one(m))
                                any = true;
                        if (!any)
                                continue;
                        moved = true;
                        if (m->up && !m->closed)
                                bridge_link_wrote(m->h->b, &m->bl);
                        if (m->other->up && !m->other->closed)
                                bridge_link_read(m->other->h->b, &m->other->bl);
                }
        }
}

void connect_pair(struct mlink *x, struct mlink *y, struct host *hx, struct host *hy, const struct bridge_filter *x_exp,
                  const struct bridge_filter *y_exp)
{
        memset(x, 0, sizeof(*x));
        memset(y, 0, sizeof(*y));
        x->h = hx, y->h = hy;
        x->other = y, y->other = x;
        x->up = y->up = true;
        CHECK_EQ_INT(bridge_link_up(hx->b, &x->bl, hy->name, "l", x_exp, &everything, &mlink_ops, x), 0);
        CHECK_EQ_INT(bridge_link_up(hy->b, &y->bl, hx->name, "l", y_exp, &everything, &mlink_ops, y), 0);
}

void disconnect_pair(struct mlink *x, struct mlink *y)
{
        x->up = y->up = false;
        bridge_link_down(x->h->b, &x->bl, "cut");
        bridge_link_down(y->h->b, &y->bl, "cut");
        for (size_t i = 0; i < x->n; i++)
                buf_unref(x->q[i]);
        for (size_t i = 0; i < y->n; i++)
                buf_unref(y->q[i]);
        x->n = y->n = 0;
}

size_t count_events(struct fake *f, const char *topic)
{
        size_t n = 0;
        struct json_object *m;

        while ((m = fake_next(f)))
                if (strcmp(jstr(m, "type"), "event") == 0 && strcmp(jstr(m, "topic"), topic) == 0)
                        n++;
        return n;
}

void pair_up(struct host *a, struct host *b, struct mlink *ab, struct mlink *ba, const struct router_limits *b_limits)
{
        host_init(a, "busd-a");
        host_init_ex(b, "busd-b", b_limits);
        connect_pair(ab, ba, a, b, &everything, &everything);
        struct mlink *all[] = { ab, ba };
        pump(all, 2);
}

void pair_down(struct host *a, struct host *b, struct mlink *ab, struct mlink *ba)
{
        disconnect_pair(ab, ba);
        host_deinit(a);
        host_deinit(b);
}
