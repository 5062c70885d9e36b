/* httpmetrics.c: see httpmetrics.h. Sockets, libuv and libmicrohttpd; the
 * metrics' text comes from proto/openmetrics.c. */
#include "httpmetrics.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "listen.h"
#include "openmetrics.h"
#include "router.h"

#define METRICS_PATH "/metrics"

struct httpmetrics {
        struct httpmetrics_env env;
        struct MHD_Daemon *mhd;
        struct listen_sock unix_sock; /* a Unix socket: its lock and file (fd handed to libmicrohttpd) */
        uv_poll_t poll;               /* libmicrohttpd's epoll descriptor */
        uv_timer_t timer;             /* its next timeout */
        int open_handles;             /* freed when both are closed */
};

/* libmicrohttpd's log lines go to the daemon's (rate-limited) log. */
__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
        struct httpmetrics *m = cls;
        char line[300];

        vsnprintf(line, sizeof(line), fmt, ap);
        line[strcspn(line, "\n")] = 0;
        m->env.log(m->env.log_ud, "metrics: %s", line);
}

/* Queues an answer. body: static text, or with must_free a malloc'ed one
 * that libmicrohttpd frees (taken over even on failure). */
static enum MHD_Result answer(struct MHD_Connection *c, unsigned status, const char *body, size_t len,
                              const char *content_type, bool must_free)
{
        /* libmicrohttpd only reads the body: a static one may be const */
        struct MHD_Response *resp = MHD_create_response_from_buffer(
                len, (void *)body, must_free ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
        enum MHD_Result r;

        if (!resp) {
                if (must_free)
                        free((void *)body);
                return MHD_NO; /* closes the connection */
        }
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
        if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
                MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
        r = MHD_queue_response(c, status, resp);
        MHD_destroy_response(resp);
        return r;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
        static const char not_found[] = "not found: busd serves only GET /metrics\n";
        static const char not_allowed[] = "method not allowed: busd serves only GET /metrics\n";
        struct httpmetrics *m = cls;

        if (strcmp(url, METRICS_PATH) != 0)
                return answer(c, MHD_HTTP_NOT_FOUND, not_found, strlen(not_found), "text/plain; charset=utf-8", false);
        if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
                return answer(c, MHD_HTTP_METHOD_NOT_ALLOWED, not_allowed, strlen(not_allowed),
                              "text/plain; charset=utf-8", false);

        const char *accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
        enum openmetrics_format f = openmetrics_negotiate(accept);
        struct json_object *stats = router_stats(m->env.router);
        char *text;
        size_t len;
        int r = openmetrics_render(stats, f, &text, &len);
        json_object_put(stats);
        if (r < 0)
                return MHD_NO;
        return answer(c, MHD_HTTP_OK, text, len, openmetrics_content_type(f), true);
}

static void on_timer(uv_timer_t *t);

/* Runs libmicrohttpd's pending work and sets the timer to its next timeout
 * (an idle connection's end, or 0 when it has more to do at once). Twice:
 * a run that closes connections below the connection limit puts the
 * listening socket back into libmicrohttpd's epoll set only at the start of
 * the next run, and nothing else would make one happen (the newcomers wait
 * in the kernel's accept queue, where no event tells about them). */
static void run(struct httpmetrics *m)
{
        MHD_UNSIGNED_LONG_LONG ms;

        MHD_run(m->mhd);
        MHD_run(m->mhd);
        if (MHD_get_timeout(m->mhd, &ms) == MHD_YES)
                uv_timer_start(&m->timer, on_timer, ms, 0);
        else
                uv_timer_stop(&m->timer);
}

static void on_timer(uv_timer_t *t)
{
        run(t->data);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
        run(h->data);
}

/* A loopback TCP socket for a, listening, non-blocking. Returns the fd or a
 * negative errno with err filled. */
static int tcp_socket(const struct metricsaddr *a, char *err, size_t errlen)
{
        struct sockaddr_in in4 = { .sin_family = AF_INET, .sin_port = htons(a->port) };
        struct sockaddr_in6 in6 = {
                .sin6_family = AF_INET6, .sin6_port = htons(a->port), .sin6_addr = IN6ADDR_LOOPBACK_INIT
        };
        const struct sockaddr *sa = a->ipv6 ? (const struct sockaddr *)&in6 : (const struct sockaddr *)&in4;
        socklen_t salen = a->ipv6 ? sizeof(in6) : sizeof(in4);
        int one = 1, fd, r;

        memcpy(&in4.sin_addr, a->ip4, 4);
        fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0) {
                r = -errno;
                snprintf(err, errlen, "%s: socket: %s", a->text, strerror(-r));
                return r;
        }
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (a->ipv6)
                setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
        if (bind(fd, sa, salen) < 0 || listen(fd, HTTPMETRICS_MAX_CONNECTIONS) < 0) {
                r = -errno;
                snprintf(err, errlen, "%s: %s", a->text, strerror(-r));
                close(fd);
                return r;
        }
        return fd;
}

int httpmetrics_start(const struct httpmetrics_env *env, const struct metricsaddr *a, struct httpmetrics **ret,
                      char *err, size_t errlen)
{
        struct httpmetrics *m = calloc(1, sizeof(*m));
        int fd, r;

        if (!m) {
                snprintf(err, errlen, "%s: out of memory", a->text);
                return -ENOMEM;
        }
        m->env = *env;
        m->unix_sock.fd = m->unix_sock.lock_fd = -1;
        if (a->unix_socket) {
                struct address ua = { .seqpacket = false };
                memcpy(ua.path, a->path, sizeof(ua.path));
                r = listen_open(&m->unix_sock, &ua, HTTPMETRICS_SOCKET_MODE, err, errlen);
                if (r < 0) {
                        free(m);
                        return r;
                }
                fd = m->unix_sock.fd;
                int fl = fcntl(fd, F_GETFL);
                if (fl >= 0)
                        fcntl(fd, F_SETFL, fl | O_NONBLOCK);
        } else {
                fd = tcp_socket(a, err, errlen);
                if (fd < 0) {
                        free(m);
                        return fd;
                }
        }
        /* MHD_USE_EPOLL without MHD_USE_INTERNAL_POLLING_THREAD: no thread,
         * the loop calls MHD_run() */
        m->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, m,
                                  MHD_OPTION_EXTERNAL_LOGGER, mhd_log, m, MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
                                  MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTPMETRICS_MAX_CONNECTIONS,
                                  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTPMETRICS_TIMEOUT_S,
                                  MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTPMETRICS_MEMORY_LIMIT, MHD_OPTION_END);
        const union MHD_DaemonInfo *info = m->mhd ? MHD_get_daemon_info(m->mhd, MHD_DAEMON_INFO_EPOLL_FD) : NULL;
        if (!info) {
                snprintf(err, errlen, "%s: libmicrohttpd did not start", a->text);
                if (m->mhd)
                        MHD_stop_daemon(m->mhd); /* closes fd */
                else
                        close(fd);
                m->unix_sock.fd = -1;
                listen_close(&m->unix_sock);
                free(m);
                return -EIO;
        }
        m->unix_sock.fd = -1; /* libmicrohttpd's now: MHD_stop_daemon() closes it */
        uv_poll_init(env->loop, &m->poll, info->epoll_fd);
        uv_timer_init(env->loop, &m->timer);
        m->poll.data = m->timer.data = m;
        m->open_handles = 2;
        uv_poll_start(&m->poll, UV_READABLE, on_poll);
        run(m);
        *ret = m;
        return 0;
}

static void on_closed(uv_handle_t *h)
{
        struct httpmetrics *m = h->data;

        if (--m->open_handles == 0)
                free(m);
}

void httpmetrics_stop(struct httpmetrics *m)
{
        if (!m)
                return;
        /* the poll handle lets go of the epoll descriptor before
         * libmicrohttpd closes it */
        uv_poll_stop(&m->poll);
        MHD_stop_daemon(m->mhd);
        m->mhd = NULL;
        listen_close(&m->unix_sock); /* removes the socket file, releases the lock */
        uv_close((uv_handle_t *)&m->poll, on_closed);
        uv_close((uv_handle_t *)&m->timer, on_closed);
}
