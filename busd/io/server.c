/* server.c: see server.h. The loop's shape: read callbacks hand messages to
 * the router, which only queues output; the check phase then flushes every
 * connection that has something queued, so each connection gets at most a
 * few write system calls per loop iteration whatever the traffic. */
#include "server.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bridgeio.h"
#include "bridgereload.h"
#include "buslimits.h"
#include "conn.h"
#include "httpmetrics.h"
#include "notify.h"
#include "policy.h"
#include "policyload.h"
#include "readfile.h"
#include "router.h"

/* server_log()'s bound: at most LOG_BURST lines per LOG_INTERVAL_MS, so a
 * flood of events (clients refused, disconnecting...) cannot flood the log. */
#define LOG_INTERVAL_MS 1000
#define LOG_BURST 20
/* The longest line router_log() passes on (the rest is cut). */
#define LOG_LINE_MAX 600
/* How often STATUS= is refreshed for the service manager (only if changed). */
#define STATUS_INTERVAL_MS 2000
/* Connections accepted from one seqpacket listener per readiness event,
 * before the loop serves the others. */
#define ACCEPT_BURST 64
/* Out of descriptors or memory: how long accepting pauses before retrying. */
#define ACCEPT_RETRY_MS 100
/* WATCHDOG=1 pings per WATCHDOG_USEC interval (sd_watchdog_enabled(3) advises 2). */
#define WATCHDOG_PINGS_PER_INTERVAL 2
/* The tick runs TICKS_PER_TIMEOUT times per the shorter of the stall and hello
 * timeouts, and between TICK_MIN_MS and TICK_MAX_MS apart. */
#define TICKS_PER_TIMEOUT 4
#define TICK_MIN_MS 10
#define TICK_MAX_MS 1000
/* Permissions of the socket files: anyone may connect to the system bus (the
 * policy decides), only the user to a user bus. */
#define SOCKET_MODE_SYSTEM 0666
#define SOCKET_MODE_USER 0600
/* A seqpacket message must fit half the socket's send buffer, less the relay
 * overhead and this much for the kernel's per-packet bookkeeping; never less
 * than SEQPACKET_MIN_MESSAGE. */
#define SNDBUF_SHARE 2
#define SEQPACKET_KERNEL_SLACK 1024
#define SEQPACKET_MIN_MESSAGE 1024
/* An address as address_format() writes it. */
#define ADDRESS_TEXT_MAX 160

__attribute__((format(printf, 2, 0))) static void server_vlog(struct server *srv, const char *fmt, va_list ap)
{
        uint64_t now = srv->loop ? uv_now(srv->loop) : 0, suppressed;
        bool allowed = ratelog_allow(&srv->log_rate, now, &suppressed);

        if (suppressed)
                fprintf(stderr, "busd: (%llu log lines suppressed)\n", (unsigned long long)suppressed);
        if (!allowed)
                return;
        fputs("busd: ", stderr);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
}

void server_log(struct server *srv, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        server_vlog(srv, fmt, ap);
        va_end(ap);
}

/* The connections' log (conn_env): server_log() itself, lines uncut. */
__attribute__((format(printf, 2, 3))) static void conn_log(void *userdata, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        server_vlog(userdata, fmt, ap);
        va_end(ap);
}

__attribute__((format(printf, 2, 3))) static void router_log(void *userdata, const char *fmt, ...)
{
        struct server *srv = userdata;
        char line[LOG_LINE_MAX];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
        server_log(srv, "%s", line);
}

/* Descriptors the router may hold in queues for all connections together:
 * BUS_MAX_QUEUED_FDS_TOTAL, and never more than 1/BUS_QUEUED_FDS_NOFILE_SHARE
 * of the descriptors the process may open (at least one), so that queued
 * descriptors cannot take those connections need. */
static size_t queued_fds_budget(void)
{
        struct rlimit rl;
        size_t max = BUS_MAX_QUEUED_FDS_TOTAL;

        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
            rl.rlim_cur / BUS_QUEUED_FDS_NOFILE_SHARE < max)
                max = rl.rlim_cur / BUS_QUEUED_FDS_NOFILE_SHARE;
        return max ? max : 1;
}

int server_init(struct server *srv, uv_loop_t *loop, struct options *opt)
{
        struct router_config cfg = {
                .limits = opt->limits,
                .max_queued_fds = queued_fds_budget(),
                .uid = getuid(),
                .gid = getgid(),
                .pid = getpid(),
                .log = router_log,
                .log_userdata = srv,
                .activate = services_activate,
                .activate_userdata = &srv->services,
        };

        memset(srv, 0, sizeof(*srv));
        for (size_t i = 0; i < OPTIONS_MAX_LISTEN; i++)
                srv->listeners[i].pending_fd = -1;
        srv->loop = loop;
        srv->opt = opt;
        ratelog_init(&srv->log_rate, LOG_BURST, LOG_INTERVAL_MS);
        list_init(&srv->services.children);
        srv->router = router_new(&cfg);
        if (srv->router) {
                const struct conn_env env = {
                        .loop = loop, .router = srv->router, .opt = opt, .log = conn_log, .log_ud = srv
                };
                if (conn_set_new(&env, &srv->conns) < 0)
                        srv->conns = NULL;
        }
        if (!srv->router || !srv->conns) {
                server_deinit(srv);
                return -ENOMEM;
        }
        router_set_time(srv->router, uv_now(loop));
        return 0;
}

void server_deinit(struct server *srv)
{
        services_deinit(&srv->services);
        bridgeio_free(srv->bridge); /* before the router it is hooked into */
        srv->bridge = NULL;
        router_free(srv->router);
        srv->router = NULL;
        policy_free(srv->policy);
        srv->policy = NULL;
        conn_set_free(srv->conns);
        srv->conns = NULL;
}

static void on_stream_connection(uv_stream_t *s, int status)
{
        struct listener *l = s->data;

        if (status < 0) {
                server_log(l->srv, "accept on %s: %s", l->sock.addr.path, uv_strerror(status));
                return;
        }
        if (!conn_set_handshake_room(l->srv->conns)) {
                /* not accepted: libuv holds this one and stops watching the
                 * listener until on_check() takes it */
                l->waiting = true;
                return;
        }
        int r = conn_new_stream(l->srv->conns, &l->h.pipe);
        /* refusals (limits, the policy) are told to the client and counted;
         * logging each would let a client fill the log */
        if (r < 0 && r != -EMFILE && r != -EACCES && r != -EUSERS)
                server_log(l->srv, "new connection on %s: %s", l->sock.addr.path, strerror(-r));
}

static void on_seq_accept(uv_poll_t *h, int status, int events);

static void on_accept_retry(uv_timer_t *t)
{
        struct server *srv = t->data;

        for (size_t i = 0; i < srv->nlisteners; i++) {
                struct listener *l = &srv->listeners[i];
                if (l->sock.addr.seqpacket && l->active && !l->waiting)
                        uv_poll_start(&l->h.poll, UV_READABLE, on_seq_accept);
        }
}

static void on_seq_accept(uv_poll_t *h, int status, int events)
{
        struct listener *l = h->data;
        struct server *srv = l->srv;

        for (int i = 0; i < ACCEPT_BURST; i++) {
                int fd = accept4(l->sock.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd < 0) {
                        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                                /* out of descriptors: wait a little instead of spinning */
                                server_log(srv, "accept on %s: %s; retrying in %d ms", l->sock.addr.path,
                                           strerror(errno), ACCEPT_RETRY_MS);
                                uv_poll_stop(&l->h.poll);
                                uv_timer_start(&srv->accept_retry, on_accept_retry, ACCEPT_RETRY_MS, 0);
                        }
                        return;
                }
                if (!conn_set_handshake_room(srv->conns)) {
                        /* held until on_check() finds room, as libuv holds a
                         * stream connection; the kernel's accept queue holds the rest */
                        l->pending_fd = fd;
                        l->waiting = true;
                        uv_poll_stop(&l->h.poll);
                        return;
                }
                int r = conn_new_seqpacket(srv->conns, fd, l->max_message);
                if (r < 0 && r != -EMFILE && r != -EACCES && r != -EUSERS)
                        server_log(srv, "new connection on %s: %s", l->sock.addr.path, strerror(-r));
        }
}

/* Accepting again on the listeners that stopped for want of room in the
 * handshake table (docs/guarantees.md, "Limits"), once there is some. */
static void resume_accepting(struct server *srv)
{
        for (size_t i = 0; i < srv->nlisteners; i++) {
                struct listener *l = &srv->listeners[i];
                if (!l->waiting || srv->stopping || !conn_set_handshake_room(srv->conns))
                        continue;
                l->waiting = false;
                int r;
                if (l->sock.addr.seqpacket) {
                        r = conn_new_seqpacket(srv->conns, l->pending_fd, l->max_message);
                        l->pending_fd = -1;
                        uv_poll_start(&l->h.poll, UV_READABLE, on_seq_accept);
                } else {
                        /* the connection libuv held: accepting it watches the listener again */
                        r = conn_new_stream(srv->conns, &l->h.pipe);
                }
                if (r < 0 && r != -EMFILE && r != -EACCES && r != -EUSERS)
                        server_log(srv, "new connection on %s: %s", l->sock.addr.path, strerror(-r));
        }
}

static void on_check(uv_check_t *h)
{
        struct server *srv = h->data;

        router_set_time(srv->router, uv_now(srv->loop));
        resume_accepting(srv); /* first: what it evicts is told why in the flush */
        conn_set_flush(srv->conns);
}

static void on_tick(uv_timer_t *t)
{
        struct server *srv = t->data;
        uint64_t now = uv_now(srv->loop);

        router_set_time(srv->router, now);
        router_tick(srv->router);
        conn_set_tick(srv->conns, now);
}

/* ---- the service manager ---------------------------------------------------- */

/* The live figures: connections, messages per second since the last call, drops. */
static void status_text(struct server *srv, char *buf, size_t len)
{
        uint64_t now = uv_now(srv->loop), messages, drops;

        router_counters(srv->router, &messages, &drops);
        uint64_t elapsed = now - srv->status_ms;
        uint64_t rate = elapsed ? (messages - srv->status_messages) * 1000 / elapsed : 0;
        srv->status_messages = messages;
        srv->status_ms = now;
        size_t nconns = conn_set_count(srv->conns);
        snprintf(buf, len, "Serving %zu connection%s, %" PRIu64 " messages/s, %" PRIu64 " events dropped", nconns,
                 nconns == 1 ? "" : "s", rate, drops);
}

static void on_status(uv_timer_t *t)
{
        struct server *srv = t->data;
        char text[sizeof(srv->status)];

        status_text(srv, text, sizeof(text));
        if (strcmp(text, srv->status) != 0) {
                memcpy(srv->status, text, sizeof(text));
                notify_status(text);
        }
}

static void on_watchdog(uv_timer_t *t)
{
        notify_watchdog();
}

/* READY=1 (and --ready-fd) once every socket serves; the status and
 * watchdog timers start here. */
static void announce_ready(struct server *srv)
{
        static const char line[] = "READY=1\n";
        int fd = srv->opt->ready_fd;

        if (fd >= 0) {
                if (write(fd, line, sizeof(line) - 1) < 0)
                        server_log(srv, "--ready-fd %d: %s", fd, strerror(errno));
                close(fd);
                srv->opt->ready_fd = -1;
        }
        if (!notify_enabled())
                return;
        srv->status_ms = uv_now(srv->loop);
        status_text(srv, srv->status, sizeof(srv->status));
        notify_ready(srv->status);
        uv_timer_start(&srv->status_timer, on_status, STATUS_INTERVAL_MS, STATUS_INTERVAL_MS);
        uint64_t usec = notify_watchdog_usec();
        if (usec) {
                uint64_t ms = usec / (1000 * WATCHDOG_PINGS_PER_INTERVAL);
                ms = ms ? ms : 1;
                notify_watchdog();
                uv_timer_start(&srv->watchdog, on_watchdog, ms, ms);
                server_log(srv, "watchdog: pinging every %" PRIu64 " ms", ms);
        }
}

/* The tick serves the stall and hello timeouts: a quarter of the shorter one
 * (TICKS_PER_TIMEOUT), within 10 ms to 1 s (TICK_MIN_MS, TICK_MAX_MS).
 * Restarted when a reload changes them. */
static void start_tick(struct server *srv)
{
        const struct options *opt = srv->opt;
        unsigned shortest = opt->limits.stall_timeout_ms < opt->hello_timeout_ms ? opt->limits.stall_timeout_ms
                                                                                 : opt->hello_timeout_ms;
        unsigned period = shortest / TICKS_PER_TIMEOUT;

        period = period < TICK_MIN_MS ? TICK_MIN_MS : period > TICK_MAX_MS ? TICK_MAX_MS : period;
        uv_timer_start(&srv->tick, on_tick, period, period);
}

static void format_listen(const struct address *a, size_t n, char *buf, size_t len)
{
        size_t used = 0;

        buf[0] = 0;
        for (size_t i = 0; i < n && used < len; i++) {
                char one[ADDRESS_TEXT_MAX];
                address_format(&a[i], one, sizeof(one));
                int k = snprintf(buf + used, len - used, "%s%s", i ? " " : "", one);
                used += k > 0 ? (size_t)k : 0;
        }
}

/* Listen addresses are never reopened by a reload: says so when the file
 * asks for others than those served. */
static void check_listen(struct server *srv, const struct config *file)
{
        const struct options *o = srv->opt;
        char now[600], want[600];

        if (!(file->given & CONFIG_LISTEN)) {
                if (o->file.given & CONFIG_LISTEN && !srv->activated && !(o->cli.given & CONFIG_LISTEN)) {
                        format_listen(o->listen, o->nlisten, now, sizeof(now));
                        server_log(srv, "SIGHUP: listen was removed from %s; still serving %s until busd restarts",
                                   o->config_path, now);
                }
                return;
        }
        if (srv->activated || (o->cli.given & CONFIG_LISTEN)) {
                server_log(srv, "SIGHUP: listen in %s is ignored: the sockets come from %s", o->config_path,
                           srv->activated ? "systemd" : "--listen");
                return;
        }
        struct config served;
        config_defaults(&served);
        memcpy(served.listen, o->listen, sizeof(served.listen));
        served.nlisten = o->nlisten;
        if (config_same_listen(&served, file))
                return;
        format_listen(o->listen, o->nlisten, now, sizeof(now));
        format_listen(file->listen, file->nlisten, want, sizeof(want));
        server_log(srv, "SIGHUP: listen addresses cannot change on reload: still serving %s; restart busd to serve %s",
                   now, want);
}

int server_load_policy(struct server *srv, char *err, size_t errlen)
{
        const struct options *o = srv->opt;
        char dir[PATH_MAX];
        struct policy *pol = NULL;
        struct policyload_info from = { 0, false };
        int r;

        if (o->policy_dir)
                snprintf(dir, sizeof(dir), "%s", o->policy_dir);
        else if ((r = policyload_default_dir(o->system, dir, sizeof(dir))) < 0)
                dir[0] = '\0'; /* no home directory: the built-in policy */
        if (dir[0]) {
                r = policyload(dir, o->system, getuid(), &pol, &from, err, errlen);
                if (r < 0)
                        return r;
        } else if (!(pol = policy_default(o->system, getuid()))) {
                snprintf(err, errlen, "out of memory");
                return -ENOMEM;
        }
        if (srv->policy && srv->policy_from.files && (!from.files || (srv->policy_from.base && !from.base))) {
                /* a file that vanished (moved away, a package half removed) is
                 * no decision to fall back to a wider policy */
                snprintf(err, errlen,
                         "%s %s%s: a missing file never widens access; put it back (or write the built-in defaults "
                         "into policy.json), or restart busd to start from the built-in policy",
                         srv->policy_from.base ? "the policy file" : "no policy file is left in",
                         dir[0] ? dir : "(no home directory)", srv->policy_from.base ? "/policy.json is gone" : "");
                policy_free(pol);
                return -ENOENT;
        }
        router_set_policy(srv->router, pol);
        policy_free(srv->policy);
        srv->policy = pol;
        srv->policy_from = from;
        size_t nfiles = from.files;
        if (nfiles)
                server_log(srv, "policy: %zu file%s from %s", nfiles, nfiles == 1 ? "" : "s", dir);
        else
                server_log(srv, "policy: the built-in %s-bus policy (no file in %s)", o->system ? "system" : "user",
                           dir[0] ? dir : "(no home directory)");
        return 0;
}

/* Nor is the metrics address: says so when the file asks for another. */
static void check_metrics(struct server *srv, const struct config *file)
{
        const struct options *o = srv->opt;
        struct config want;

        options_effective(o, file, &want);
        if (metricsaddr_same(&want.metrics_listen, &o->metrics_listen))
                return;
        server_log(srv, "SIGHUP: metrics_listen cannot change on reload: %s%s; restart busd to %s%s",
                   o->metrics_listen.set ? "still serving metrics on " : "metrics are still not served",
                   o->metrics_listen.text, want.metrics_listen.set ? "serve them on " : "stop serving them",
                   want.metrics_listen.text);
}

static void reload_bridge(struct server *srv);

int server_reload(struct server *srv)
{
        struct options *o = srv->opt;
        struct config file, before, after;
        char err[800], changes[600], kept[300];

        notify_reloading();
        int r = options_read_config(o, &file, err, sizeof(err));
        if (r < 0) {
                server_log(srv, "SIGHUP: reload failed, keeping the current configuration: %s", err);
        } else {
                options_effective(o, &o->file, &before);
                options_effective(o, &file, &after);
                config_diff(&before, &after, changes, sizeof(changes));
                config_key_names(file.given & o->cli.given & ~(uint32_t)(CONFIG_LISTEN | CONFIG_METRICS_LISTEN), kept,
                                 sizeof(kept));
                check_listen(srv, &file);
                check_metrics(srv, &file);
                options_apply(o, &file, false);
                router_set_limits(srv->router, &o->limits);
                start_tick(srv);
                char source[PATH_MAX + 64];
                if (r == 0)
                        snprintf(source, sizeof(source), "%s", o->config_path);
                else if (o->config_path[0])
                        snprintf(source, sizeof(source), "the built-in defaults (no file at %s)", o->config_path);
                else
                        snprintf(source, sizeof(source), "the built-in defaults (no home directory for a file)");
                server_log(srv, "SIGHUP: reloaded %s: %s%s%s", source, changes[0] ? changes : "no change",
                           kept[0] ? "; the command line still sets " : "", kept);
        }
        size_t loaded = services_load(&srv->services);
        server_log(srv, "SIGHUP: %zu activatable names", loaded);
        reload_bridge(srv);
        int pr = server_load_policy(srv, err, sizeof(err));
        if (pr == -ENOENT)
                server_log(srv, "SIGHUP: WARNING: the policy was not reloaded, the one in force stays: %s", err);
        else if (pr < 0)
                server_log(srv, "SIGHUP: the policy was not reloaded, the one in force stays: %s", err);
        char text[sizeof(srv->status)];
        status_text(srv, text, sizeof(text));
        memcpy(srv->status, text, sizeof(text));
        if (notify_enabled())
                notify_ready(text);
        return r < 0 ? r : 0;
}

static void on_signal(uv_signal_t *s, int signum)
{
        struct server *srv = s->data;
        const char *name = signum == SIGINT ? "SIGINT" : signum == SIGTERM ? "SIGTERM" : "SIGHUP";

        if (signum == SIGHUP) {
                server_reload(srv);
                return;
        }
        server_log(srv, "%s: shutting down", name);
        if (notify_enabled()) {
                char text[64];
                snprintf(text, sizeof(text), "Shutting down (%s)", name);
                notify_stopping(text);
        }
        server_stop(srv);
}

/* Largest seqpacket message the socket buffers can carry, capped by the protocol's default. */
static size_t seqpacket_max_message(int fd)
{
        int sndbuf = 0;
        socklen_t len = sizeof(sndbuf);
        size_t max = BUS_MAX_MESSAGE_SEQPACKET;

        if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &len) == 0 && sndbuf > 0) {
                /* keep room for the relay overhead and the kernel's per-packet bookkeeping */
                size_t fit = (size_t)sndbuf / SNDBUF_SHARE;
                fit = fit > BUS_RELAY_OVERHEAD + SEQPACKET_KERNEL_SLACK
                              ? fit - BUS_RELAY_OVERHEAD - SEQPACKET_KERNEL_SLACK
                              : SEQPACKET_MIN_MESSAGE;
                if (fit < max)
                        max = fit;
        }
        return max;
}

/* Serves l->sock, bound here or received from systemd. */
static int serve_listener(struct server *srv, struct listener *l)
{
        const struct address *a = &l->sock.addr;
        int r;

        l->srv = srv;
        l->pending_fd = -1;
        if (a->seqpacket) {
                l->max_message = seqpacket_max_message(l->sock.fd);
                r = uv_poll_init(srv->loop, &l->h.poll, l->sock.fd);
                l->active = r == 0;
                if (r == 0) {
                        l->h.poll.data = l;
                        r = uv_poll_start(&l->h.poll, UV_READABLE, on_seq_accept);
                }
        } else {
                l->max_message = BUS_MAX_MESSAGE_STREAM;
                r = uv_pipe_init(srv->loop, &l->h.pipe, 0);
                l->active = r == 0;
                if (r == 0 && (r = uv_pipe_open(&l->h.pipe, l->sock.fd)) == 0) {
                        l->sock.fd = -1; /* libuv owns it now */
                        l->h.pipe.data = l;
                        r = uv_listen((uv_stream_t *)&l->h.pipe, SOMAXCONN, on_stream_connection);
                }
        }
        if (r < 0)
                server_log(srv, "cannot serve %s: %s", a->path, uv_strerror(r));
        return r;
}

static int start_listener(struct server *srv, struct listener *l, const struct address *a)
{
        char err[400];
        mode_t mode = srv->opt->system ? SOCKET_MODE_SYSTEM : SOCKET_MODE_USER;
        int r = listen_open(&l->sock, a, mode, err, sizeof(err));

        if (r < 0) {
                server_log(srv, "%s", err);
                return r;
        }
        return serve_listener(srv, l);
}

static struct json_object *bridge_stats(void *ud)
{
        return bridgeio_status(ud);
}

/* The bridge's configuration: the file (--bridge-config) and the command
 * line's --bridge-* flags. Returns 0 with *ret (the caller frees it), or a
 * negative errno with the reason ("FILE: why") in err. */
static int read_bridge_config(struct server *srv, struct bridge_config *ret, char *err, size_t errlen)
{
        const struct options *o = srv->opt;
        struct bridge_config cfg;
        char why[700];
        int r;

        bridgecfg_defaults(&cfg);
        if (o->bridge_config) {
                char *text;
                size_t len;
                r = readfile(o->bridge_config, BUS_MAX_BRIDGE_FILE, &text, &len, why, sizeof(why));
                if (r < 0) {
                        if (r == -EFBIG || r == -EISDIR || r == -EINVAL || r == -ENOMEM)
                                snprintf(err, errlen, "%s", why); /* "PATH: reason" */
                        else
                                snprintf(err, errlen, "cannot read %s: %s", o->bridge_config, strerror(-r));
                        return r;
                }
                r = bridgecfg_parse(text, len, &cfg, why, sizeof(why));
                free(text);
                if (r < 0) {
                        snprintf(err, errlen, "%s: %s", o->bridge_config, why);
                        return r;
                }
        }
        r = bridgecfg_add_cli(&cfg, o->bridge_listen, o->nbridge_listen, o->bridge_connect, o->nbridge_connect,
                              o->bridge_peers, o->nbridge_peers, o->bridge_cert, o->bridge_key, o->bridge_ca, err,
                              errlen);
        if (r < 0) {
                bridgecfg_free(&cfg);
                return r;
        }
        *ret = cfg;
        return 0;
}

/* Starts the bridge on cfg (taken over). Returns 0 or a negative errno with
 * the reason in err. */
static int bridge_on(struct server *srv, struct bridge_config *cfg, char *err, size_t errlen)
{
        const struct bridgeio_env env = { .loop = srv->loop, .router = srv->router, .log = router_log, .log_ud = srv };
        int r = bridgeio_start(&env, cfg, &srv->bridge, err, errlen);

        if (r == 0)
                router_set_stats_hook(srv->router, "bridge", bridge_stats, srv->bridge);
        return r;
}

/* The bridge (docs/bridge.md), when --bridge-config or --bridge-* asks for it:
 * before READY=1, so that a ready bus also listens for its links. A file with
 * no link (and no --bridge-* link) leaves the bridge off until a reload
 * finds one. */
static int start_bridge(struct server *srv)
{
        const struct options *o = srv->opt;
        struct bridge_config cfg;
        char err[800];
        int r;

        if (!o->bridge_config && !o->nbridge_listen && !o->nbridge_connect)
                return 0;
        r = read_bridge_config(srv, &cfg, err, sizeof(err));
        if (r < 0) {
                server_log(srv, "bridge: %s", err);
                return r;
        }
        if (cfg.nlinks == 0 && o->bridge_config) {
                server_log(srv, "bridge: %s has no link: the bridge is off until a reload (SIGHUP) finds one",
                           o->bridge_config);
                bridgecfg_free(&cfg);
                return 0;
        }
        r = bridge_on(srv, &cfg, err, sizeof(err));
        bridgecfg_free(&cfg);
        if (r < 0)
                server_log(srv, "bridge: refusing to start: %s", err);
        return r;
}

/* SIGHUP: the bridge file again, applied link by link (bridgereload.h); a
 * file that does not load or apply keeps the links in force. */
static void reload_bridge(struct server *srv)
{
        const struct options *o = srv->opt;
        struct bridge_config cfg;
        char err[800];
        int r;

        if (!o->bridge_config)
                return;           /* off, or set by the command line alone: nothing to re-read */
        bridgecfg_defaults(&cfg); /* nothing to free if it does not load */
        r = read_bridge_config(srv, &cfg, err, sizeof(err));
        if (r == 0 && srv->bridge && !bridgeio_stopped(srv->bridge)) {
                r = bridgereload_apply(srv->bridge, &cfg, err, sizeof(err));
        } else if (r == 0 && cfg.nlinks == 0) {
                server_log(srv, "SIGHUP: bridge: %s has no link: the bridge stays off", o->bridge_config);
        } else if (r == 0) {
                /* off until now (or a start on an earlier reload failed): started as at startup */
                router_set_stats_hook(srv->router, NULL, NULL, NULL);
                bridgeio_free(srv->bridge); /* stopped: its handles closed on an earlier loop turn */
                srv->bridge = NULL;
                r = bridge_on(srv, &cfg, err, sizeof(err));
                if (r == 0)
                        server_log(srv, "SIGHUP: bridge: started");
        }
        bridgecfg_free(&cfg);
        if (r < 0)
                server_log(srv, "SIGHUP: the bridge was not reloaded, the links in force stay: %s", err);
}

/* GET /metrics on --metrics-listen (or the file's metrics_listen), before
 * READY=1 like the bus sockets. */
static int start_metrics(struct server *srv)
{
        const struct metricsaddr *a = &srv->opt->metrics_listen;
        const struct httpmetrics_env env = { .loop = srv->loop, .router = srv->router, .log = conn_log, .log_ud = srv };
        char err[400];
        int r;

        if (!a->set)
                return 0;
        r = httpmetrics_start(&env, a, &srv->metrics, err, sizeof(err));
        if (r < 0)
                server_log(srv, "metrics: refusing to start: %s", err);
        else
                server_log(srv, "serving metrics on %s (GET /metrics)", a->text);
        return r;
}

/* Service activation: the activation files of the configured directories,
 * and BUS_ADDRESS for the services we start (our first stream socket). */
static void start_services(struct server *srv)
{
        char *defaults[SERVICES_MAX_DIRS], address[ADDRESS_TEXT_MAX] = "";
        const struct options *o = srv->opt;
        size_t n = o->nservices_dirs;
        char *const *dirs = o->services_dirs;

        if (n == 0) {
                n = services_default_dirs(o->system, defaults, SERVICES_MAX_DIRS);
                dirs = defaults;
        }
        for (size_t i = 0; i < srv->nlisteners && !address[0]; i++)
                if (!srv->listeners[i].sock.addr.seqpacket)
                        address_format(&srv->listeners[i].sock.addr, address, sizeof(address));
        if (services_init(&srv->services, srv->loop, srv->router, o->system, dirs, n, address) == 0) {
                srv->services.log = router_log;
                srv->services.log_userdata = srv;
                size_t loaded = services_load(&srv->services);
                if (loaded)
                        server_log(srv, "%zu activatable names", loaded);
        }
        if (dirs == defaults)
                for (size_t i = 0; i < n; i++)
                        free(defaults[i]);
}

int server_start(struct server *srv, struct listen_sock *adopted, size_t nadopted)
{
        const struct options *opt = srv->opt;
        int r = 0;

        if (nadopted > OPTIONS_MAX_LISTEN)
                nadopted = OPTIONS_MAX_LISTEN; /* listen_from_systemd() was given the bound */
        srv->activated = nadopted > 0;
        if (srv->activated) {
                /* all taken over first, so that server_stop() closes every one */
                for (size_t i = 0; i < nadopted; i++)
                        srv->listeners[i].sock = adopted[i];
                srv->nlisteners = nadopted;
                for (size_t i = 0; i < nadopted && r == 0; i++)
                        r = serve_listener(srv, &srv->listeners[i]);
        } else {
                for (size_t i = 0; i < opt->nlisten && r == 0; i++) {
                        r = start_listener(srv, &srv->listeners[i], &opt->listen[i]);
                        srv->nlisteners = i + 1;
                }
        }
        uv_check_init(srv->loop, &srv->flush_check);
        srv->flush_check.data = srv;
        uv_check_start(&srv->flush_check, on_check);
        uv_timer_init(srv->loop, &srv->tick);
        srv->tick.data = srv;
        start_tick(srv);
        uv_timer_init(srv->loop, &srv->status_timer);
        srv->status_timer.data = srv;
        uv_timer_init(srv->loop, &srv->watchdog);
        srv->watchdog.data = srv;
        uv_timer_init(srv->loop, &srv->accept_retry);
        srv->accept_retry.data = srv;
        uv_signal_init(srv->loop, &srv->sigint);
        uv_signal_init(srv->loop, &srv->sigterm);
        uv_signal_init(srv->loop, &srv->sighup);
        srv->sigint.data = srv->sigterm.data = srv->sighup.data = srv;
        uv_signal_start(&srv->sigint, on_signal, SIGINT);
        uv_signal_start(&srv->sigterm, on_signal, SIGTERM);
        uv_signal_start(&srv->sighup, on_signal, SIGHUP);
        if (r == 0)
                r = start_bridge(srv);
        if (r == 0)
                r = start_metrics(srv);
        if (r < 0) {
                server_stop(srv);
                return r;
        }
        for (size_t i = 0; i < srv->nlisteners; i++) {
                char a[ADDRESS_TEXT_MAX];
                address_format(&srv->listeners[i].sock.addr, a, sizeof(a));
                server_log(srv, "serving %s (max_message %zu%s)", a, srv->listeners[i].max_message,
                           srv->listeners[i].sock.adopted ? ", from systemd" : "");
        }
        start_services(srv);
        announce_ready(srv);
        return 0;
}

void server_stop(struct server *srv)
{
        if (srv->stopping)
                return;
        srv->stopping = true;
        bridgeio_stop(srv->bridge);
        httpmetrics_stop(srv->metrics);
        srv->metrics = NULL;
        for (size_t i = 0; i < srv->nlisteners; i++) {
                struct listener *l = &srv->listeners[i];
                if (l->active) {
                        uv_close((uv_handle_t *)&l->h, NULL);
                        l->active = false;
                }
                if (l->pending_fd >= 0)
                        close(l->pending_fd);
                l->pending_fd = -1;
                listen_close(&l->sock);
        }
        conn_set_close_all(srv->conns, "daemon shutting down");
        services_stop(&srv->services);
        uv_close((uv_handle_t *)&srv->flush_check, NULL);
        uv_close((uv_handle_t *)&srv->tick, NULL);
        uv_close((uv_handle_t *)&srv->accept_retry, NULL);
        uv_close((uv_handle_t *)&srv->status_timer, NULL);
        uv_close((uv_handle_t *)&srv->watchdog, NULL);
        uv_close((uv_handle_t *)&srv->sigint, NULL);
        uv_close((uv_handle_t *)&srv->sigterm, NULL);
        uv_close((uv_handle_t *)&srv->sighup, NULL);
}
