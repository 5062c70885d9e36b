/* subs.c: see subs.h. Trie nodes use json-c linkhash tables for their literal
 * children, created on first use. No I/O. */
#include "subs.h"

#include <errno.h>
#include <json-c/linkhash.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "buslimits.h"
#include "list.h"
#include "peer.h"
#include "quota.h"
#include "syntax.h"

/* Buckets of a trie node's table of literal children to start with (it
 * grows as children come; most nodes have few). */
#define CHILDREN_TABLE_SIZE 4

struct node {
        struct node *parent;
        char *seg;                 /* key in the parent (NULL for root, star and gt) */
        struct lh_table *children; /* seg -> struct node*, or NULL */
        struct node *star, *gt;
        struct list subs; /* struct sub ending here */
};

struct sub {
        struct peer *peer;
        struct node *node;
        struct list node_link;
        struct list peer_link;
        bool lossy; /* drops instead of holding the publisher (flow.c) */
        char pattern[];
};

struct subs {
        struct node root;
        size_t count;
        uint64_t mark; /* per-match generation for deduplication */
};

static void node_init(struct node *n, struct node *parent)
{
        memset(n, 0, sizeof(*n));
        n->parent = parent;
        list_init(&n->subs);
}

struct subs *subs_new(void)
{
        struct subs *s = calloc(1, sizeof(*s));

        if (s)
                node_init(&s->root, NULL);
        return s;
}

void subs_free(struct subs *s)
{
        if (!s)
                return;
        /* only the root can remain: empty nodes are pruned as subscriptions go */
        if (s->root.children)
                lh_table_free(s->root.children);
        free(s);
}

static bool node_unused(const struct node *n)
{
        return list_empty(&n->subs) && !n->star && !n->gt && (!n->children || lh_table_length(n->children) == 0);
}

/* Frees empty nodes from n up towards the root. */
static void prune(struct node *n)
{
        while (n->parent && node_unused(n)) {
                struct node *parent = n->parent;
                if (parent->star == n)
                        parent->star = NULL;
                else if (parent->gt == n)
                        parent->gt = NULL;
                else
                        lh_table_delete(parent->children, n->seg);
                if (n->children)
                        lh_table_free(n->children);
                free(n->seg);
                free(n);
                n = parent;
        }
}

static struct node *child(struct node *n, const char *seg, size_t len, bool create)
{
        struct node **slot = NULL, *c;
        char key[BUS_MAX_TOPIC + 1];
        void *v;

        if (len == 1 && seg[0] == '*')
                slot = &n->star;
        else if (len == 1 && seg[0] == '>')
                slot = &n->gt;
        if (slot) {
                if (!*slot && create) {
                        *slot = malloc(sizeof(**slot));
                        if (*slot)
                                node_init(*slot, n);
                }
                return *slot;
        }
        memcpy(key, seg, len);
        key[len] = 0;
        if (n->children && lh_table_lookup_ex(n->children, key, &v))
                return v;
        if (!create)
                return NULL;
        if (!n->children && !(n->children = lh_kchar_table_new(CHILDREN_TABLE_SIZE, NULL)))
                return NULL;
        c = malloc(sizeof(*c));
        if (!c)
                return NULL;
        node_init(c, n);
        c->seg = strdup(key);
        if (!c->seg || lh_table_insert(n->children, c->seg, c) < 0) {
                free(c->seg);
                free(c);
                return NULL;
        }
        return c;
}

/* Walks (and optionally builds) the path of a pattern. */
static struct node *walk(struct subs *s, const char *pattern, bool create)
{
        struct node *n = &s->root;
        const char *p = pattern;

        for (;;) {
                const char *dot = strchr(p, '.');
                size_t len = dot ? (size_t)(dot - p) : strlen(p);
                struct node *c = child(n, p, len, create);
                if (!c) {
                        if (create)
                                prune(n);
                        return NULL;
                }
                n = c;
                if (!dot)
                        return n;
                p = dot + 1;
        }
}

bool subs_has(const struct peer *p, const char *pattern)
{
        list_for_each(l, &p->subs)
        {
                if (strcmp(list_entry(l, struct sub, peer_link)->pattern, pattern) == 0)
                        return true;
        }
        return false;
}

int subs_add(struct subs *s, struct peer *p, const char *pattern, bool lossy)
{
        struct node *n;
        struct sub *sb;
        size_t len = strlen(pattern);

        /* a peer's own list is short (bounded by its limit): check it first, so
         * that a popular pattern's long subscriber list is never scanned */
        list_for_each(l, &p->subs)
        {
                sb = list_entry(l, struct sub, peer_link);
                if (strcmp(sb->pattern, pattern) == 0) {
                        /* subscribing again sets its mode */
                        p->n_lossy_subs += (unsigned)lossy - (unsigned)sb->lossy;
                        sb->lossy = lossy;
                        return -EEXIST;
                }
        }
        n = walk(s, pattern, true);
        if (!n)
                return -ENOMEM;
        sb = malloc(sizeof(*sb) + len + 1);
        if (!sb) {
                prune(n);
                return -ENOMEM;
        }
        sb->peer = p;
        sb->node = n;
        sb->lossy = lossy;
        p->n_lossy_subs += lossy;
        memcpy(sb->pattern, pattern, len + 1);
        list_append(&n->subs, &sb->node_link);
        list_append(&p->subs, &sb->peer_link);
        p->n_subs++;
        quota_add(p->acct, QUOTA_SUBSCRIPTIONS, 1);
        s->count++;
        return 0;
}

static void drop(struct subs *s, struct sub *sb)
{
        struct node *n = sb->node;

        list_unlink(&sb->node_link);
        list_unlink(&sb->peer_link);
        sb->peer->n_subs--;
        sb->peer->n_lossy_subs -= sb->lossy;
        quota_sub(sb->peer->acct, QUOTA_SUBSCRIPTIONS, 1);
        s->count--;
        free(sb);
        prune(n);
}

int subs_remove(struct subs *s, struct peer *p, const char *pattern)
{
        list_for_each(l, &p->subs)
        {
                struct sub *sb = list_entry(l, struct sub, peer_link);
                if (strcmp(sb->pattern, pattern) == 0) {
                        drop(s, sb);
                        return 0;
                }
        }
        return -ENOENT;
}

size_t subs_filter(struct subs *s, struct peer *p, bool (*keep)(void *ud, const char *pattern), void *ud)
{
        size_t n = 0;

        list_for_each_safe(l, tmp, &p->subs)
        {
                struct sub *sb = list_entry(l, struct sub, peer_link);
                if (!keep(ud, sb->pattern)) {
                        drop(s, sb);
                        n++;
                }
        }
        return n;
}

void subs_peer_gone(struct subs *s, struct peer *p)
{
        list_for_each_safe(l, tmp, &p->subs) drop(s, list_entry(l, struct sub, peer_link));
}

struct match {
        struct subs *s;
        subs_match_fn fn;
        void *userdata;
        size_t reported;
        const char *topic; /* whole, NUL-terminated */
        const char *segs[BUS_MAX_TOPIC_SEGMENTS];
        size_t nsegs;
};

/* Has p a lossless subscription matching the topic? */
static bool lossless_match(const struct peer *p, const char *topic)
{
        list_for_each(l, &p->subs)
        {
                const struct sub *sb = list_entry(l, struct sub, peer_link);
                if (!sb->lossy && syntax_pattern_matches(sb->pattern, topic))
                        return true;
        }
        return false;
}

static void report(struct match *m, struct node *n)
{
        list_for_each(l, &n->subs)
        {
                const struct sub *sb = list_entry(l, struct sub, node_link);
                struct peer *p = sb->peer;
                if (p->event_mark == m->s->mark)
                        continue;
                p->event_mark = m->s->mark;
                m->reported++;
                /* reported once: lossless if any of its matching patterns is */
                bool lossy = sb->lossy && (p->n_lossy_subs == p->n_subs || !lossless_match(p, m->topic));
                m->fn(p, lossy, m->userdata);
        }
}

static void match_from(struct match *m, struct node *n, size_t i)
{
        void *v;

        if (i == m->nsegs) {
                report(m, n);
                return;
        }
        /* wildcards in the first segment do not match reserved ($) topics */
        bool wild = !(i == 0 && m->segs[0][0] == '$');
        if (wild && n->gt)
                report(m, n->gt);
        if (wild && n->star)
                match_from(m, n->star, i + 1);
        if (n->children && lh_table_lookup_ex(n->children, m->segs[i], &v))
                match_from(m, v, i + 1);
}

size_t subs_match(struct subs *s, const char *topic, size_t len, subs_match_fn fn, void *userdata)
{
        struct match m = { .s = s, .fn = fn, .userdata = userdata };
        char copy[BUS_MAX_TOPIC + 1], whole[BUS_MAX_TOPIC + 1];

        if (len > BUS_MAX_TOPIC)
                return 0;
        memcpy(copy, topic, len);
        copy[len] = 0;
        memcpy(whole, copy, len + 1);
        m.topic = whole;
        m.segs[m.nsegs++] = copy;
        for (size_t i = 0; i < len; i++) {
                if (copy[i] != '.')
                        continue;
                copy[i] = 0;
                if (m.nsegs == BUS_MAX_TOPIC_SEGMENTS)
                        return 0;
                m.segs[m.nsegs++] = copy + i + 1;
        }
        s->mark++;
        match_from(&m, &s->root, 0);
        return m.reported;
}

size_t subs_count(const struct subs *s)
{
        return s->count;
}
