/* test_core_fake.c: see test_core_fake.h. */
#include "test_core_fake.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "policy.h"
#include "test.h"

/* Records b, with descriptor fd (-1: none) and its fallback. */
static int record(struct fake *f, struct buf *b, int fd, struct buf *fallback)
{
        if (f->n == f->cap) {
                f->cap = f->cap ? f->cap * 2 : 16;
                f->msgs = realloc(f->msgs, f->cap * sizeof(*f->msgs));
                f->fds = realloc(f->fds, f->cap * sizeof(*f->fds));
                f->fallbacks = realloc(f->fallbacks, f->cap * sizeof(*f->fallbacks));
                CHECK(f->msgs && f->fds && f->fallbacks);
        }
        /* every message the daemon sends is one line */
        CHECK(b->len > 1 && b->data[b->len - 1] == '\n');
        CHECK(memchr(b->data, '\n', b->len - 1) == NULL);
        f->fds[f->n] = fd;
        f->fallbacks[f->n] = fallback ? buf_ref(fallback) : NULL;
        f->msgs[f->n++] = buf_ref(b);
        return 0;
}

static int fake_send(struct peer *p, struct buf *b)
{
        return record((struct fake *)p, b, -1, NULL); /* peer is the first member */
}

static int fake_send_fd(struct peer *p, struct buf *b, int fd, struct buf *fallback)
{
        CHECK(fd >= 0);
        return record((struct fake *)p, b, fd, fallback);
}

static int fake_pidfd(struct peer *p)
{
        (void)p;
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        CHECK(fd >= 0);
        return fd;
}

/* Drops what message i passes along: closes its descriptor (reported gone
 * to the router), unreferences its fallback. */
static void drop_fd(struct router *r, struct fake *f, size_t i)
{
        if (f->fds[i] >= 0) {
                close(f->fds[i]);
                f->fds[i] = -1;
                router_peer_fds_gone(r, &f->peer, 1);
        }
        buf_unref(f->fallbacks[i]);
        f->fallbacks[i] = NULL;
}

static void fake_kill(struct peer *p, const char *reason)
{
        struct fake *f = (struct fake *)p;

        f->kills++;
        snprintf(f->kill_reason, sizeof(f->kill_reason), "%s", reason);
}

static void fake_resume(struct peer *p)
{
        ((struct fake *)p)->resumes++;
}

static const struct peer_ops fake_ops = { .send = fake_send, .kill = fake_kill };
static const struct peer_ops fake_flow_ops = { .send = fake_send, .kill = fake_kill, .resume = fake_resume };
static const struct peer_ops fake_fd_ops = {
        .send = fake_send, .kill = fake_kill, .send_fd = fake_send_fd, .pidfd = fake_pidfd
};

__attribute__((format(printf, 2, 3))) static void log_stderr(void *ud, const char *fmt, ...)
{
        va_list ap;

        (void)ud;
        va_start(ap, fmt);
        fprintf(stderr, "router: ");
        vfprintf(stderr, fmt, ap);
        fprintf(stderr, "\n");
        va_end(ap);
}

struct router *fake_router(const struct router_limits *limits)
{
        struct router_config cfg = { .uid = 0, .gid = 0, .pid = 1, .log = log_stderr };

        router_limits_default(&cfg.limits);
        if (limits)
                cfg.limits = *limits;
        struct router *r = router_new(&cfg);
        CHECK(r);
        router_set_time(r, 1000000);
        return r;
}

void fake_add_ex(struct router *r, struct fake *f, size_t max_message, size_t max_recv)
{
        /* distinct credentials per fake, so tests can tell whose were stamped */
        static unsigned next_cred = 1;
        unsigned c = next_cred++;

        memset(f, 0, sizeof(*f));
        CHECK_EQ_INT(router_peer_add(r, &f->peer, &fake_ops, "stream", (uid_t)(1000 + c), (gid_t)(100 + c),
                                     (pid_t)(4000 + c), max_message, max_recv),
                     0);
}

void fake_add_flow(struct router *r, struct fake *f)
{
        fake_add(r, f);
        f->peer.ops = &fake_flow_ops;
        fake_in(r, f, "{\"type\":\"hello\"}");
        fake_expect(f, "welcome");
}

void fake_add(struct router *r, struct fake *f)
{
        fake_add_ex(r, f, 1u << 20, (1u << 20) + 1024);
}

void fake_add_fds(struct router *r, struct fake *f, uid_t uid)
{
        memset(f, 0, sizeof(*f));
        CHECK_EQ_INT(router_peer_add(r, &f->peer, &fake_fd_ops, "stream", uid, 100, 4000, 1u << 20, (1u << 20) + 1024),
                     0);
}

void fake_hello(struct router *r, struct fake *f)
{
        fake_add(r, f);
        CHECK_EQ_INT(fake_in(r, f, "{\"type\":\"hello\"}"), ROUTER_OK);
        struct json_object *w = fake_expect(f, "welcome");
        CHECK_STREQ(jstr(w, "unique"), f->peer.unique);
}

void fake_remove(struct router *r, struct fake *f)
{
        router_peer_remove(r, &f->peer);
        /* as conn.c does: the descriptors still queued go with the connection */
        for (size_t i = 0; i < f->n; i++) {
                drop_fd(r, f, i);
                buf_unref(f->msgs[i]);
        }
        free(f->msgs);
        free(f->fds);
        free(f->fallbacks);
        f->msgs = NULL;
        f->fds = NULL;
        f->fallbacks = NULL;
        f->n = f->cap = f->read = f->written = 0;
        json_object_put(f->cur);
        f->cur = NULL;
}

int fake_in(struct router *r, struct fake *f, const char *fmt, ...)
{
        char *text;
        va_list ap;

        va_start(ap, fmt);
        int n = vasprintf(&text, fmt, ap);
        va_end(ap);
        CHECK(n >= 0);
        int res = router_handle(r, &f->peer, text, (size_t)n);
        free(text);
        return res;
}

size_t fake_unread(const struct fake *f)
{
        return f->n - f->read;
}

struct json_object *fake_next(struct fake *f)
{
        json_object_put(f->cur);
        f->cur = NULL;
        if (f->read == f->n)
                return NULL;
        struct buf *b = f->msgs[f->read++];
        struct json_tokener *tok = json_tokener_new();
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        f->cur = json_tokener_parse_ex(tok, b->data, (int)b->len - 1);
        if (!f->cur || json_tokener_get_parse_end(tok) != b->len - 1) {
                fprintf(stderr, "%s got invalid JSON: %.*s\n", f->peer.unique, (int)b->len, b->data);
                exit(1);
        }
        json_tokener_free(tok);
        CHECK(json_object_is_type(f->cur, json_type_object));
        return f->cur;
}

struct json_object *fake_expect(struct fake *f, const char *type)
{
        struct json_object *o = fake_next(f);
        if (!o) {
                fprintf(stderr, "%s: expected a '%s', got nothing\n", f->peer.unique, type);
                exit(1);
        }
        if (strcmp(jstr(o, "type"), type) != 0) {
                fprintf(stderr, "%s: expected a '%s', got %s\n", f->peer.unique, type,
                        json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
                exit(1);
        }
        return o;
}

void fake_expect_none(const struct fake *f, const char *where)
{
        if (f->read == f->n)
                return;
        struct buf *b = f->msgs[f->read];
        fprintf(stderr, "%s (%s): expected nothing, got %.*s", f->peer.unique, where, (int)b->len, b->data);
        exit(1);
}

void fake_skip(struct fake *f)
{
        f->read = f->n;
}

struct buf *fake_buf(const struct fake *f, size_t i)
{
        CHECK(i < f->n);
        return f->msgs[i];
}

bool fake_write(struct router *r, struct fake *f, size_t k)
{
        size_t bytes = 0;

        CHECK(f->written + k <= f->n);
        for (size_t i = 0; i < k; i++) {
                drop_fd(r, f, f->written); /* passed: the client has its own copy */
                bytes += f->msgs[f->written++]->len;
        }
        return router_peer_wrote(r, &f->peer, bytes, k);
}

void fake_refuse(struct router *r, struct fake *f, size_t i)
{
        CHECK(i >= f->written && i < f->n && f->fds[i] >= 0);
        struct buf *fallback = f->fallbacks[i], *old = f->msgs[i];
        CHECK(fallback);
        f->fallbacks[i] = NULL;
        drop_fd(r, f, i);
        f->msgs[i] = fallback;
        router_peer_fd_refused(r, &f->peer, old->len, fallback->len);
        buf_unref(old);
}

size_t fake_fds_held(const struct fake *f)
{
        size_t n = 0;

        for (size_t i = f->written; i < f->n; i++)
                n += f->fds[i] >= 0;
        return n;
}

size_t fake_unwritten_bytes(const struct fake *f)
{
        size_t bytes = 0;

        for (size_t i = f->written; i < f->n; i++)
                bytes += f->msgs[i]->len;
        return bytes;
}

static struct json_object *lookup(struct json_object *o, const char *path, bool must)
{
        char key[128];

        while (*path) {
                const char *slash = strchr(path, '/');
                size_t n = slash ? (size_t)(slash - path) : strlen(path);
                CHECK(n < sizeof(key));
                memcpy(key, path, n);
                key[n] = 0;
                struct json_object *v;
                if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v)) {
                        if (!must)
                                return (struct json_object *)(uintptr_t)1;
                        fprintf(stderr, "no member '%s' in %s\n", key,
                                json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
                        exit(1);
                }
                o = v;
                path += n + (slash ? 1 : 0);
        }
        return o;
}

struct json_object *jget(struct json_object *o, const char *path)
{
        return lookup(o, path, true);
}

bool jhas(struct json_object *o, const char *path)
{
        return lookup(o, path, false) != (struct json_object *)(uintptr_t)1;
}

const char *jstr(struct json_object *o, const char *path)
{
        struct json_object *v = jget(o, path);
        if (!json_object_is_type(v, json_type_string)) {
                fprintf(stderr, "member '%s' is not a string in %s\n", path,
                        json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
                exit(1);
        }
        return json_object_get_string(v);
}

int64_t jint(struct json_object *o, const char *path)
{
        struct json_object *v = jget(o, path);
        if (!json_object_is_type(v, json_type_int)) {
                fprintf(stderr, "member '%s' is not an integer in %s\n", path,
                        json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
                exit(1);
        }
        return json_object_get_int64(v);
}

bool jnull(struct json_object *o, const char *path)
{
        return jget(o, path) == NULL;
}

int fake_no_names(void *ud, bool group, const char *name, unsigned *ret_id)
{
        (void)ud, (void)group, (void)name, (void)ret_id;
        return -ENOENT;
}

struct policy *fake_policy_with_quotas(const char *quotas)
{
        char text[1024], err[512];
        struct policy *pol = NULL;

        snprintf(text, sizeof(text),
                 "{\"default\": {\"connect\": \"allow\", \"own\": \"allow\", \"call\": \"allow\", \"publish\": "
                 "\"allow\", \"subscribe\": \"allow\", \"see\": \"allow\"}, \"quotas\": {\"default\": {%s}}}",
                 quotas);
        struct policy_source src = { "test.json", text, strlen(text) };
        if (policy_parse(&src, 1, fake_no_names, NULL, &pol, err, sizeof(err)) < 0) {
                fprintf(stderr, "policy: %s\n", err);
                CHECK(!"the test's policy parses");
        }
        return pol;
}
