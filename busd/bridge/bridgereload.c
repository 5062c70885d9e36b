/* bridgereload.c: the bridge's configuration re-read on SIGHUP, applied to
 * the running links (bridgereload.h). What happens to each link is decided
 * by bridgediff.c; here it is done, on the carrier's state
 * (bridgeio_private.h).
 */
#include "bridgereload.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridgediff.h"
#include "bridgeio_private.h"
#include "tls.h"

static struct bdial *dial_of(struct bridge_io *io, const struct bridge_link_config *lc)
{
        for (size_t i = 0; i < io->ndials; i++)
                if (io->dials[i]->lc == lc)
                        return io->dials[i];
        return NULL;
}

/* Closes link lc's connections (pending calls fail with link_down) and stops
 * dialling it. */
static void close_link(struct bridge_io *io, const struct bridge_link_config *lc, const char *why)
{
        struct bdial *d = dial_of(io, lc);

        if (d) {
                d->retired = true; /* bridgeio_conn_close() dials no more */
                if (d->conn) {
                        struct bconn *c = d->conn;
                        bridgeio_conn_close(c, why);
                        c->dial = NULL;
                }
                uv_close((uv_handle_t *)&d->timer, bridgeio_free_handle);
                for (size_t i = 0; i < io->ndials; i++)
                        if (io->dials[i] == d)
                                io->dials[i] = io->dials[--io->ndials];
        }
        list_for_each_safe(l, tmp, &io->conns)
        {
                struct bconn *c = list_entry(l, struct bconn, link);
                if (c->lc == lc)
                        bridgeio_conn_close(c, why);
        }
}

static bool has_listener(struct bridge_io *io, const char *addr)
{
        for (size_t i = 0; i < io->nlisteners; i++)
                if (strcmp(io->listeners[i]->addr, addr) == 0)
                        return true;
        return false;
}

/* The listen addresses of the new configuration that are not served yet, in
 * opened[]. Returns 0, or a negative errno (nothing left open). */
static int open_new_listeners(struct bridge_io *io, const struct bridge_config *cfg, struct blisten **opened,
                              size_t *ret_n, char *err, size_t errlen)
{
        size_t n = 0;

        for (size_t i = 0; i < cfg->nlisten; i++) {
                if (has_listener(io, cfg->listen[i]))
                        continue;
                int r = bridgeio_listen(io, cfg->listen[i], &opened[n++], err, errlen);
                if (r < 0) {
                        while (n)
                                bridgeio_unlisten(opened[--n]);
                        return r;
                }
        }
        *ret_n = n;
        return 0;
}

/* Serves exactly cfg's listen addresses: closes the others, adds opened[]. */
static void swap_listeners(struct bridge_io *io, struct blisten **opened, size_t nopened)
{
        for (size_t i = 0; i < io->nlisteners;) {
                struct blisten *ls = io->listeners[i];
                if (bridgediff_strv_has(io->cfg.listen, io->cfg.nlisten, ls->addr)) {
                        i++;
                        continue;
                }
                io->env.log(io->env.log_ud, "SIGHUP: bridge: no longer listening on %s", ls->addr);
                bridgeio_unlisten(ls);
                io->listeners[i] = io->listeners[--io->nlisteners];
        }
        for (size_t i = 0; i < nopened; i++) {
                io->listeners[io->nlisteners++] = opened[i];
                io->env.log(io->env.log_ud, "SIGHUP: bridge: listening on %s (tcp, TLS)", opened[i]->addr);
        }
}

static const char *const action_text[] = {
        [BRIDGEDIFF_ADD] = "added",
        [BRIDGEDIFF_KEEP] = "kept",
        [BRIDGEDIFF_REFILTER] = "kept, its filters swapped in place",
        [BRIDGEDIFF_RESTART] = "restarted",
};

int bridgereload_apply(struct bridge_io *io, struct bridge_config *cfg, char *err, size_t errlen)
{
        const struct tls_config tc = { cfg->cert, cfg->key, cfg->ca };
        struct tls_ctx *tls = NULL;
        struct blisten *opened[BRIDGECFG_MAX_LISTEN];
        struct bridgediff_plan plan;
        size_t nopened = 0, creds_len = 0;
        char *creds = NULL;
        int r = 0;

        if (io->stopping) {
                snprintf(err, errlen, "the bridge is stopping");
                return -ESHUTDOWN;
        }
        /* everything that can fail, first: then nothing has changed */
        if (cfg->nlinks && (r = bridgecfg_check(cfg, err, errlen)) == 0 &&
            (r = tls_ctx_new(&tc, &tls, err, errlen)) == 0 &&
            strcmp(tls_ctx_own_name(tls), bridge_self(io->core)) != 0) {
                snprintf(err, errlen, "%s names this bus '%s', not '%s': restart busd to rename it on the bridge",
                         cfg->cert, tls_ctx_own_name(tls), bridge_self(io->core));
                r = -EINVAL;
        }
        if (r == 0)
                r = open_new_listeners(io, cfg, opened, &nopened, err, errlen);
        if (r < 0) {
                tls_ctx_free(tls);
                return r;
        }
        if (tls && bridgeio_read_creds(cfg, &creds, &creds_len) < 0)
                creds = NULL; /* counts as changed */
        bool creds_same = !tls || (creds && io->creds && creds_len == io->creds_len &&
                                   memcmp(creds, io->creds, creds_len) == 0);
        bridgediff_plan(&io->cfg, cfg, creds_same, &plan);

        /* what goes: removed links, restarted ones (with the old configuration's names in the log) */
        struct bridge_config old = io->cfg;
        for (size_t j = 0; j < old.nlinks; j++)
                if (plan.removed[j]) {
                        io->env.log(io->env.log_ud, "SIGHUP: bridge: link %s removed", old.links[j].name);
                        close_link(io, &old.links[j], "the link was removed from the configuration (SIGHUP)");
                }
        for (size_t i = 0; i < cfg->nlinks; i++)
                if (plan.act[i] == BRIDGEDIFF_RESTART)
                        close_link(io, &old.links[plan.from[i]],
                                   "the link restarts: its configuration changed (SIGHUP)");
        if (plan.restart_all)
                list_for_each_safe(l, tmp, &io->conns) /* accepted, not authenticated yet: the old credentials */
                        bridgeio_conn_close(list_entry(l, struct bconn, link), "the credentials changed (SIGHUP)");

        /* the new configuration in force */
        uint64_t ups[BRIDGECFG_MAX_LINKS] = { 0 }, lost[BRIDGECFG_MAX_LINKS] = { 0 };
        for (size_t i = 0; i < cfg->nlinks; i++) {
                bool kept = plan.from[i] != BRIDGEDIFF_NONE;
                ups[i] = kept ? io->ups[plan.from[i]] : 0;
                lost[i] = kept ? io->lost[plan.from[i]] : 0;
        }
        memcpy(io->ups, ups, sizeof(ups));
        memcpy(io->lost, lost, sizeof(lost));
        io->cfg = *cfg;
        memset(cfg, 0, sizeof(*cfg)); /* taken over */
        if (bridgeio_set_accept_peers(io) < 0)
                io->env.log(io->env.log_ud, "SIGHUP: bridge: out of memory: some peers cannot connect to us");
        if (tls) {
                tls_ctx_free(io->tls); /* the connections up keep their own reference */
                io->tls = tls;
                free(io->creds);
                io->creds = creds;
                io->creds_len = creds_len;
        }
        bridge_set_max_hops(io->core, io->cfg.max_hops);
        for (size_t i = 0; i < io->cfg.nlinks; i++) {
                const struct bridge_link_config *lc = &io->cfg.links[i];
                if (plan.act[i] == BRIDGEDIFF_KEEP || plan.act[i] == BRIDGEDIFF_REFILTER) {
                        const struct bridge_link_config *was = &old.links[plan.from[i]];
                        struct bdial *d = dial_of(io, was);
                        if (d)
                                d->lc = lc;
                        list_for_each(l, &io->conns)
                        {
                                struct bconn *c = list_entry(l, struct bconn, link);
                                if (c->lc != was)
                                        continue;
                                c->lc = lc;
                                if (c->up)
                                        bridge_link_refilter(io->core, &c->bl, lc->name, &lc->exp, &lc->imp);
                                if (c->up && plan.tuning)
                                        bridgeio_keepalive(c);
                        }
                } else if (lc->connect && bridgeio_dial(io, lc, false) < 0) {
                        io->env.log(io->env.log_ud, "SIGHUP: bridge: link %s: out of memory", lc->name);
                }
                io->env.log(io->env.log_ud, "SIGHUP: bridge: link %s %s%s%s", lc->name, action_text[plan.act[i]],
                            plan.act[i] == BRIDGEDIFF_RESTART ? ": " : "",
                            plan.act[i] == BRIDGEDIFF_RESTART ? plan.why[i] : "");
        }
        swap_listeners(io, opened, nopened);
        bridgecfg_free(&old);
        return 0;
}
