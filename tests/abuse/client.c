/* client.c: a small blocking bus client on raw sockets, written from
 * docs/protocol.md, for the control processes and the stats connection of
 * bus-abuse. It does not use libbus on purpose: the tool checks the daemon,
 * and a client of its own keeps what it checks independent of the library.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "abuse.h"
#include "address.h"

#define RECV_MAX (2u * 1024u * 1024u)

int client_connect(struct client *c, const char *address)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct address a;

        memset(c, 0, sizeof(*c));
        c->fd = -1;
        c->next_id = 1;
        if (address_parse(address, &a) < 0)
                return -EINVAL;
        c->seqpacket = a.seqpacket;
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", a.path);
        c->fd = socket(AF_UNIX, (a.seqpacket ? SOCK_SEQPACKET : SOCK_STREAM) | SOCK_CLOEXEC, 0);
        if (c->fd < 0)
                return -errno;
        if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                int e = -errno;
                close(c->fd);
                c->fd = -1;
                return e;
        }
        c->in_cap = c->seqpacket ? 128 * 1024 : 256 * 1024;
        c->in = malloc(c->in_cap);
        return c->in ? 0 : -ENOMEM;
}

void client_close(struct client *c)
{
        if (c->fd >= 0)
                close(c->fd);
        c->fd = -1;
        free(c->in);
        c->in = NULL;
}

int client_send(struct client *c, const char *msg, size_t len)
{
        if (c->seqpacket)
                return send(c->fd, msg, len, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -EPIPE;
        /* stream: the line and its line feed, written whole */
        struct iovec iov[2] = { { (void *)msg, len }, { "\n", 1 } };
        size_t total = len + 1, done = 0;
        while (done < total) {
                struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
                ssize_t n = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return -EPIPE;
                done += (size_t)n;
                /* advance the iovecs past what was written */
                for (int i = 0; i < 2 && n > 0; i++) {
                        size_t take = (size_t)n < iov[i].iov_len ? (size_t)n : iov[i].iov_len;
                        iov[i].iov_base = (char *)iov[i].iov_base + take;
                        iov[i].iov_len -= take;
                        n -= (ssize_t)take;
                }
        }
        return 0;
}

static int wait_readable(int fd, int timeout_ms)
{
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int r;

        do
                r = poll(&p, 1, timeout_ms);
        while (r < 0 && errno == EINTR);
        return r;
}

static struct json_object *parse(const char *s, size_t len)
{
        struct json_tokener *tok = json_tokener_new();
        struct json_object *o = tok ? json_tokener_parse_ex(tok, s, (int)len) : NULL;

        if (tok && json_tokener_get_error(tok) != json_tokener_success) {
                json_object_put(o);
                o = NULL;
        }
        json_tokener_free(tok);
        if (o && !json_object_is_type(o, json_type_object)) {
                json_object_put(o);
                o = NULL;
        }
        if (!o)
                errno = EPROTO;
        return o;
}

struct json_object *client_recv(struct client *c, int timeout_ms)
{
        for (;;) {
                if (!c->seqpacket) {
                        char *nl = memchr(c->in, '\n', c->in_len);
                        if (nl) {
                                size_t n = (size_t)(nl - c->in);
                                struct json_object *o = parse(c->in, n);
                                memmove(c->in, nl + 1, c->in_len - n - 1);
                                c->in_len -= n + 1;
                                return o;
                        }
                        if (c->in_len == c->in_cap) {
                                size_t cap = c->in_cap * 2;
                                char *p = cap <= RECV_MAX * 2 ? realloc(c->in, cap) : NULL;
                                if (!p) {
                                        errno = EPROTO;
                                        return NULL;
                                }
                                c->in = p;
                                c->in_cap = cap;
                        }
                }
                int r = wait_readable(c->fd, timeout_ms);
                if (r == 0) {
                        errno = ETIMEDOUT;
                        return NULL;
                }
                if (r < 0)
                        return NULL;
                if (c->seqpacket) {
                        ssize_t n = recv(c->fd, c->in, c->in_cap, MSG_TRUNC);
                        if (n <= 0) {
                                errno = EPIPE;
                                return NULL;
                        }
                        if ((size_t)n > c->in_cap) {
                                errno = EPROTO;
                                return NULL;
                        }
                        return parse(c->in, (size_t)n);
                }
                ssize_t n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
                if (n <= 0) {
                        errno = EPIPE;
                        return NULL;
                }
                c->in_len += (size_t)n;
        }
}

uint64_t json_u64(struct json_object *o, const char *key)
{
        struct json_object *v;

        return o && json_object_object_get_ex(o, key, &v) ? (uint64_t)json_object_get_uint64(v) : 0;
}

const char *json_str(struct json_object *o, const char *key)
{
        struct json_object *v;

        return o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
                       ? json_object_get_string(v)
                       : NULL;
}

static bool is_answer_to(struct json_object *m, uint64_t id)
{
        const char *type = json_str(m, "type");
        struct json_object *v;

        return type && (strcmp(type, "reply") == 0 || strcmp(type, "error") == 0 || strcmp(type, "welcome") == 0) &&
               json_object_object_get_ex(m, "id", &v) && json_object_is_type(v, json_type_int) &&
               (uint64_t)json_object_get_uint64(v) == id;
}

/* Waits for the answer to request id, skipping anything else. */
static struct json_object *await(struct client *c, uint64_t id, int timeout_ms)
{
        for (;;) {
                struct json_object *m = client_recv(c, timeout_ms);
                if (!m || is_answer_to(m, id))
                        return m;
                json_object_put(m);
        }
}

int client_hello(struct client *c, const char *name, const char *const *names, int timeout_ms)
{
        struct json_object *h = json_object_new_object(), *arr = json_object_new_array();
        uint64_t id = c->next_id++;

        json_object_object_add(h, "type", json_object_new_string("hello"));
        json_object_object_add(h, "id", json_object_new_uint64(id));
        if (name)
                json_object_object_add(h, "name", json_object_new_string(name));
        for (size_t i = 0; names && names[i]; i++)
                json_object_array_add(arr, json_object_new_string(names[i]));
        json_object_object_add(h, "names", arr);
        const char *s = json_object_to_json_string_ext(h, JSON_C_TO_STRING_PLAIN);
        int r = client_send(c, s, strlen(s));
        json_object_put(h);
        if (r < 0)
                return r;
        struct json_object *w = await(c, id, timeout_ms);
        const char *type = json_str(w, "type");
        struct json_object *limits;
        if (!type || strcmp(type, "welcome") != 0) {
                json_object_put(w);
                return -EPROTO;
        }
        snprintf(c->unique, sizeof(c->unique), "%s", json_str(w, "unique") ? json_str(w, "unique") : "?");
        if (json_object_object_get_ex(w, "limits", &limits))
                c->max_message = json_u64(limits, "max_message");
        json_object_put(w);
        return 0;
}

struct json_object *client_daemon_call(struct client *c, const char *method, int timeout_ms)
{
        char msg[160];
        uint64_t id = c->next_id++;
        int n = snprintf(msg, sizeof(msg), "{\"type\":\"call\",\"id\":%llu,\"dest\":\"org.busd\",\"method\":\"%s\"}",
                         (unsigned long long)id, method);

        if (client_send(c, msg, (size_t)n) < 0)
                return NULL;
        struct json_object *m = await(c, id, timeout_ms), *res = NULL;
        const char *type = json_str(m, "type");
        if (type && strcmp(type, "reply") == 0 && json_object_object_get_ex(m, "result", &res))
                res = json_object_get(res);
        else
                res = NULL;
        json_object_put(m);
        return res;
}
