/* test_libbus_fake.c: see test_libbus_fake.h. */
#include "test_libbus_fake.h"

#include <errno.h>
#include <json-c/json.h>
#include <poll.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bus.h"
#include "test.h"

void fake_send_raw(struct fake *f, const char *data, size_t len)
{
        size_t off = 0;

        while (off < len) {
                ssize_t n = send(f->fd, data + off, len - off, MSG_NOSIGNAL);
                CHECK(n > 0);
                off += (size_t)n;
                CHECK(!f->seqpacket || off == len);
        }
}

void fake_send(struct fake *f, const char *fmt, ...)
{
        char *text;
        va_list ap;

        va_start(ap, fmt);
        int n = vasprintf(&text, fmt, ap);
        va_end(ap);
        CHECK(n > 0);
        if (!f->seqpacket) {
                text = realloc(text, (size_t)n + 2);
                CHECK(text);
                text[n++] = '\n';
        }
        fake_send_raw(f, text, (size_t)n);
        free(text);
}

void fake_attach(struct fake *f, int fd, bool seqpacket)
{
        memset(f, 0, sizeof(*f));
        f->fd = fd;
        f->seqpacket = seqpacket;
        f->cap = 1 << 20;
        f->buf = malloc(f->cap);
        CHECK(f->buf);
}

int fake_pair(struct fake *f, bool seqpacket)
{
        int sv[2];

        CHECK(socketpair(AF_UNIX, (seqpacket ? SOCK_SEQPACKET : SOCK_STREAM) | SOCK_CLOEXEC, 0, sv) == 0);
        fake_attach(f, sv[1], seqpacket);
        return sv[0];
}

void fake_open(struct fake *f, bool seqpacket, const char *limits, struct bus **ret_bus)
{
        int sv[2];

        fake_attach(f, -1, seqpacket);
        CHECK(socketpair(AF_UNIX, (seqpacket ? SOCK_SEQPACKET : SOCK_STREAM) | SOCK_CLOEXEC, 0, sv) == 0);
        f->fd = sv[1];
        if (!limits)
                limits = seqpacket ? "{\"max_message\":65536,\"max_recv\":66560}"
                                   : "{\"max_message\":1048576,\"max_recv\":1049600}";
        fake_send(f,
                  "{\"type\":\"welcome\",\"id\":1,\"unique\":\":7\",\"protocol\":1,\"server\":\"fake\",\"limits\":%s,"
                  "\"names\":{}}",
                  limits);
        CHECK_EQ_INT(bus_open_fd(sv[0], "unit test", ret_bus), 0);
        struct json_object *hello = fake_expect(f, "hello");
        CHECK_EQ_INT(fake_int(hello, "id"), 1);
        CHECK_EQ_INT(fake_int(hello, "protocol"), 1);
        CHECK_STREQ(fake_str(hello, "name"), "unit test");
        json_object_put(hello);
        CHECK_STREQ(bus_unique_id(*ret_bus), ":7");
}

static struct json_object *parse(const char *s, size_t len)
{
        struct json_tokener *tok = json_tokener_new();
        struct json_object *o = json_tokener_parse_ex(tok, s, (int)len);

        if (!o)
                fprintf(stderr, "fake: cannot parse %.*s\n", (int)(len < 200 ? len : 200), s);
        CHECK(o);
        json_tokener_free(tok);
        return o;
}

static char *copy(const char *s, size_t len)
{
        char *t = malloc(len + 1);

        CHECK(t);
        memcpy(t, s, len);
        t[len] = 0;
        return t;
}

char *fake_recv_text(struct fake *f, int timeout_ms)
{
        for (;;) {
                if (!f->seqpacket) {
                        char *nl = memchr(f->buf, '\n', f->len);
                        if (nl) {
                                size_t n = (size_t)(nl - f->buf);
                                char *t = copy(f->buf, n);
                                memmove(f->buf, nl + 1, f->len - n - 1);
                                f->len -= n + 1;
                                return t;
                        }
                }
                struct pollfd p = { .fd = f->fd, .events = POLLIN };
                if (poll(&p, 1, timeout_ms) <= 0)
                        return NULL;
                CHECK(f->len < f->cap);
                ssize_t n = recv(f->fd, f->buf + f->len, f->cap - f->len, 0);
                if (n <= 0)
                        return NULL;
                if (f->seqpacket)
                        return copy(f->buf, (size_t)n);
                f->len += (size_t)n;
        }
}

struct json_object *fake_recv(struct fake *f, int timeout_ms)
{
        char *t = fake_recv_text(f, timeout_ms);
        struct json_object *o = t ? parse(t, strlen(t)) : NULL;

        free(t);
        return o;
}

struct json_object *fake_expect(struct fake *f, const char *type)
{
        struct json_object *o = fake_recv(f, 5000);

        CHECK(o);
        CHECK_STREQ(fake_str(o, "type"), type);
        return o;
}

bool fake_idle(struct fake *f)
{
        struct pollfd p = { .fd = f->fd, .events = POLLIN };

        return f->len == 0 && poll(&p, 1, 0) == 0;
}

void fake_close(struct fake *f)
{
        if (f->fd >= 0)
                close(f->fd);
        f->fd = -1;
        free(f->buf);
        f->buf = NULL;
}

const char *fake_str(struct json_object *o, const char *key)
{
        struct json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

long long fake_int(struct json_object *o, const char *key)
{
        struct json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
                return -1;
        return (long long)json_object_get_int64(v);
}
