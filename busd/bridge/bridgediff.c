/* bridgediff.c: what a reload does to each link (bridgediff.h). Pure. */
#include "bridgediff.h"

#include <string.h>

bool bridgediff_strv_has(char *const *v, size_t n, const char *s)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(v[i], s) == 0)
                        return true;
        return false;
}

/* The same strings, in any order. */
static bool same_set(char *const *a, size_t na, char *const *b, size_t nb)
{
        for (size_t i = 0; i < na; i++)
                if (!bridgediff_strv_has(b, nb, a[i]))
                        return false;
        for (size_t i = 0; i < nb; i++)
                if (!bridgediff_strv_has(a, na, b[i]))
                        return false;
        return true;
}

static bool same_str(const char *a, const char *b)
{
        return a == b || (a && b && strcmp(a, b) == 0);
}

static bool same_filter(const struct bridge_filter *a, const struct bridge_filter *b)
{
        return same_set(a->topics, a->ntopics, b->topics, b->ntopics) &&
               same_set(a->names, a->nnames, b->names, b->nnames) && same_str(a->prefix, b->prefix);
}

/* What to do with a link that is in both, and why. */
static enum bridgediff_action compare(const struct bridge_link_config *o, const struct bridge_link_config *n,
                                      const char **why)
{
        if (!same_str(o->connect, n->connect))
                *why = "its connect address changed";
        else if (!same_set(o->peers, o->npeers, n->peers, n->npeers))
                *why = "its peers changed";
        else if (!same_set(o->imp.names, o->imp.nnames, n->imp.names, n->imp.nnames))
                *why = "its import names changed (the other bus tells its names again)";
        else if (!same_filter(&o->exp, &n->exp) || !same_filter(&o->imp, &n->imp))
                return BRIDGEDIFF_REFILTER;
        else
                return BRIDGEDIFF_KEEP;
        return BRIDGEDIFF_RESTART;
}

void bridgediff_plan(const struct bridge_config *old, const struct bridge_config *new, bool creds_same,
                     struct bridgediff_plan *ret)
{
        memset(ret, 0, sizeof(*ret));
        if (!creds_same || !same_str(old->cert, new->cert) || !same_str(old->key, new->key) ||
            !same_str(old->ca, new->ca))
                ret->restart_all = "the credentials (cert, key, ca) changed";
        else if (old->max_hops != new->max_hops)
                ret->restart_all = "max_hops changed";
        ret->tuning = old->queue_bytes != new->queue_bytes || old->keepalive_ms != new->keepalive_ms ||
                      old->timeout_ms != new->timeout_ms || old->handshake_timeout_ms != new->handshake_timeout_ms ||
                      old->max_half_open != new->max_half_open || old->reconnect_min_ms != new->reconnect_min_ms ||
                      old->reconnect_max_ms != new->reconnect_max_ms;
        ret->listen = !same_set(old->listen, old->nlisten, new->listen, new->nlisten);
        for (size_t i = 0; i < old->nlinks; i++)
                ret->removed[i] = true;
        for (size_t i = 0; i < new->nlinks; i++) {
                ret->act[i] = BRIDGEDIFF_ADD;
                ret->from[i] = BRIDGEDIFF_NONE;
                for (size_t j = 0; j < old->nlinks; j++) {
                        if (strcmp(old->links[j].name, new->links[i].name) != 0)
                                continue;
                        ret->from[i] = j;
                        ret->removed[j] = false;
                        ret->act[i] = compare(&old->links[j], &new->links[i], &ret->why[i]);
                        if (ret->restart_all && ret->act[i] != BRIDGEDIFF_RESTART) {
                                ret->act[i] = BRIDGEDIFF_RESTART;
                                ret->why[i] = ret->restart_all;
                        }
                        break;
                }
        }
}
