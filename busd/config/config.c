/* config.c: see config.h. Text in, struct out; no I/O. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buslimits.h"
#include "cfgerr.h"
#include "jsonget.h"
#include "jsonparse.h"

#define CONFIG_DEFAULT_MAX_CONNECTIONS 16384u
/* objects and arrays: the file, a section, the listen array; a little room */
#define CONFIG_MAX_DEPTH 8

static const struct config_key limits_keys[] = {
        { .name = "queue_bytes",
          .type = CONFIG_T_SIZE,
          .offset = offsetof(struct config, limits.queue_bytes),
          .min = 4096,
          .max = 1ull << 32,
          .bit = CONFIG_QUEUE_BYTES },
        { .name = "max_pending_calls",
          .type = CONFIG_T_UINT,
          .offset = offsetof(struct config, limits.max_pending_calls),
          .min = 1,
          .max = 1u << 20,
          .bit = CONFIG_MAX_PENDING_CALLS },
        { .name = "max_names",
          .type = CONFIG_T_UINT,
          .offset = offsetof(struct config, limits.max_names),
          .min = 1,
          .max = 1u << 20,
          .bit = CONFIG_MAX_NAMES },
        { .name = "max_subscriptions",
          .type = CONFIG_T_UINT,
          .offset = offsetof(struct config, limits.max_subscriptions),
          .min = 1,
          .max = 1u << 20,
          .bit = CONFIG_MAX_SUBSCRIPTIONS },
        { .name = "stall_timeout_ms",
          .type = CONFIG_T_UINT,
          .offset = offsetof(struct config, limits.stall_timeout_ms),
          .min = 10,
          .max = 86400000,
          .bit = CONFIG_STALL_TIMEOUT_MS },
        { .name = "max_connections",
          .type = CONFIG_T_UINT,
          .offset = offsetof(struct config, max_connections),
          .min = 1,
          .max = 1u << 22,
          .bit = CONFIG_MAX_CONNECTIONS },
        { .name = "max_handshakes",
          .type = CONFIG_T_UINT,
          .offset = offsetof(struct config, max_handshakes),
          .min = 1,
          .max = 1u << 22,
          .bit = CONFIG_MAX_HANDSHAKES },
        { .name = "hello_timeout_ms",
          .type = CONFIG_T_UINT,
          .offset = offsetof(struct config, hello_timeout_ms),
          .min = 10,
          .max = 86400000,
          .bit = CONFIG_HELLO_TIMEOUT_MS },
        { .name = NULL },
};

/* The top level. A new section (e.g. "activation") is one line here and its
 * own table above. */
static const struct config_key top_keys[] = {
        { .name = "limits", .type = CONFIG_T_SECTION, .section = limits_keys },
        { .name = "listen",
          .type = CONFIG_T_LISTEN,
          .offset = offsetof(struct config, listen),
          .min = 1,
          .max = CONFIG_MAX_LISTEN,
          .bit = CONFIG_LISTEN },
        { .name = "metrics_listen",
          .type = CONFIG_T_METRICS,
          .offset = offsetof(struct config, metrics_listen),
          .bit = CONFIG_METRICS_LISTEN },
        { .name = "verbose", .type = CONFIG_T_BOOL, .offset = offsetof(struct config, verbose), .bit = CONFIG_VERBOSE },
        { .name = NULL },
};

void config_defaults(struct config *c)
{
        memset(c, 0, sizeof(*c));
        router_limits_default(&c->limits);
        c->max_connections = CONFIG_DEFAULT_MAX_CONNECTIONS;
        c->max_handshakes = BUS_DEFAULT_MAX_HANDSHAKES;
        c->hello_timeout_ms = BUS_DEFAULT_HELLO_TIMEOUT_MS;
}

static const struct config_key *find(const struct config_key *table, const char *name, size_t len)
{
        for (const struct config_key *k = table; k->name; k++)
                if (strlen(k->name) == len && memcmp(k->name, name, len) == 0)
                        return k;
        return NULL;
}

const struct config_key *config_key(const char *path)
{
        const struct config_key *table = top_keys, *k = NULL;

        while (table) {
                const char *dot = strchr(path, '.');
                size_t len = dot ? (size_t)(dot - path) : strlen(path);
                k = find(table, path, len);
                if (!k)
                        return NULL;
                if (!dot)
                        return k;
                table = k->section;
                path = dot + 1;
        }
        return NULL;
}

void config_set_number(struct config *c, const struct config_key *k, uint64_t v)
{
        char *at = (char *)c + k->offset;

        if (k->type == CONFIG_T_SIZE)
                *(size_t *)(void *)at = (size_t)v;
        else
                *(unsigned *)(void *)at = (unsigned)v;
        c->given |= k->bit;
}

int config_default_path(bool system, const char *xdg_config_home, const char *home, char *buf, size_t len)
{
        int n;

        if (system)
                n = snprintf(buf, len, "%s", CONFIG_SYSTEM_PATH);
        else if (xdg_config_home && xdg_config_home[0] == '/')
                n = snprintf(buf, len, "%s/%s", xdg_config_home, CONFIG_USER_PATH);
        else if (home && home[0] == '/')
                n = snprintf(buf, len, "%s/.config/%s", home, CONFIG_USER_PATH);
        else
                return -ENOENT;
        return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Calls fn for every leaf key with its dotted path. */
static void each_key(void (*fn)(const struct config_key *k, const char *path, void *userdata), void *userdata)
{
        for (const struct config_key *k = top_keys; k->name; k++) {
                if (k->type != CONFIG_T_SECTION) {
                        fn(k, k->name, userdata);
                        continue;
                }
                for (const struct config_key *s = k->section; s->name; s++) {
                        char path[96];
                        snprintf(path, sizeof(path), "%s.%s", k->name, s->name);
                        fn(s, path, userdata);
                }
        }
}

static uint64_t number_at(const struct config *c, const struct config_key *k)
{
        const char *at = (const char *)c + k->offset;

        if (k->type == CONFIG_T_SIZE)
                return *(const size_t *)(const void *)at;
        if (k->type == CONFIG_T_UINT)
                return *(const unsigned *)(const void *)at;
        return *(const bool *)(const void *)at;
}

struct text {
        char *buf;
        size_t len, used, count;
        const struct config *a, *b;
        uint32_t bits;
};

__attribute__((format(printf, 2, 3))) static void append(struct text *t, const char *fmt, ...)
{
        va_list ap;

        if (t->used >= t->len)
                return;
        va_start(ap, fmt);
        int n = vsnprintf(t->buf + t->used, t->len - t->used, fmt, ap);
        va_end(ap);
        t->used = n < 0 ? t->len : t->used + (size_t)n;
}

static void diff_one(const struct config_key *k, const char *path, void *userdata)
{
        struct text *t = userdata;

        if (k->type == CONFIG_T_LISTEN || k->type == CONFIG_T_METRICS)
                return;
        uint64_t x = number_at(t->a, k), y = number_at(t->b, k);
        if (x == y)
                return;
        if (k->type == CONFIG_T_BOOL)
                append(t, "%s%s %s -> %s", t->count ? ", " : "", path, x ? "true" : "false", y ? "true" : "false");
        else
                append(t, "%s%s %" PRIu64 " -> %" PRIu64, t->count ? ", " : "", path, x, y);
        t->count++;
}

size_t config_diff(const struct config *old, const struct config *new_, char *buf, size_t len)
{
        struct text t = { .buf = buf, .len = len, .a = old, .b = new_ };

        if (len)
                buf[0] = 0;
        each_key(diff_one, &t);
        return t.count;
}

static void name_one(const struct config_key *k, const char *path, void *userdata)
{
        struct text *t = userdata;

        if (t->bits & k->bit)
                append(t, "%s%s", t->count++ ? ", " : "", path);
}

void config_key_names(uint32_t bits, char *buf, size_t len)
{
        struct text t = { .buf = buf, .len = len, .bits = bits };

        if (len)
                buf[0] = 0;
        each_key(name_one, &t);
}

static bool has_address(const struct config *c, const struct address *a)
{
        for (size_t i = 0; i < c->nlisten; i++)
                if (c->listen[i].seqpacket == a->seqpacket && strcmp(c->listen[i].path, a->path) == 0)
                        return true;
        return false;
}

bool config_same_listen(const struct config *a, const struct config *b)
{
        for (size_t i = 0; i < a->nlisten; i++)
                if (!has_address(b, &a->listen[i]))
                        return false;
        for (size_t i = 0; i < b->nlisten; i++)
                if (!has_address(a, &b->listen[i]))
                        return false;
        return true;
}

struct merge {
        struct config *dst;
        const struct config *src;
};

static void merge_one(const struct config_key *k, const char *path, void *userdata)
{
        struct merge *m = userdata;
        struct config *dst = m->dst;
        const struct config *src = m->src;
        size_t size = k->type == CONFIG_T_SIZE      ? sizeof(size_t)
                      : k->type == CONFIG_T_UINT    ? sizeof(unsigned)
                      : k->type == CONFIG_T_METRICS ? sizeof(struct metricsaddr)
                                                    : sizeof(bool);

        if (!(src->given & k->bit))
                return;
        if (k->type == CONFIG_T_LISTEN) {
                memcpy(dst->listen, src->listen, sizeof(dst->listen));
                dst->nlisten = src->nlisten;
        } else {
                memcpy((char *)dst + k->offset, (const char *)src + k->offset, size);
        }
        dst->given |= k->bit;
}

void config_merge(struct config *dst, const struct config *src)
{
        struct merge m = { dst, src };

        each_key(merge_one, &m);
}

/* ---- parsing ------------------------------------------------------------------ */

struct ctx {
        struct config *c;
        char *err;
        size_t errlen;
};

/* "path: why" (cfgerr.h); returns -EINVAL. */
__attribute__((format(printf, 3, 4))) static int fail(struct ctx *x, const char *path, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        cfgerr_vformat(x->err, x->errlen, NULL, path, fmt, ap);
        va_end(ap);
        return -EINVAL;
}

/* A short rendering of a bad value for an error message. */
static const char *shown(struct json_object *v, char *buf, size_t len)
{
        const char *s = v ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
                          : "null";

        if (!s)
                return "?";
        if (strlen(s) < len) {
                snprintf(buf, len, "%s", s);
        } else {
                snprintf(buf, len, "%.*s...", (int)(len - 4), s);
        }
        return buf;
}

static const char *type_word(enum config_type t)
{
        switch (t) {
        case CONFIG_T_UINT:
        case CONFIG_T_SIZE:
                return "an integer";
        case CONFIG_T_BOOL:
                return "true or false";
        case CONFIG_T_LISTEN:
                return "an array of addresses";
        case CONFIG_T_METRICS:
                return "an address";
        case CONFIG_T_SECTION:
                return "an object";
        }
        return "?";
}

static int parse_number(struct ctx *x, const char *path, const struct config_key *k, struct json_object *v)
{
        char b[48];
        uint64_t u;

        if (jsonget_as_uint(v, k->min, k->max, &u) != JSONGET_OK)
                return fail(x, path, "must be an integer from %" PRIu64 " to %" PRIu64 ", not %s", k->min, k->max,
                            shown(v, b, sizeof(b)));
        config_set_number(x->c, k, u);
        return 0;
}

static int parse_listen(struct ctx *x, const char *path, const struct config_key *k, struct json_object *v)
{
        char b[48];
        size_t n = v && json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 0;

        if (!v || !json_object_is_type(v, json_type_array) || n < k->min || n > k->max)
                return fail(x, path, "must be an array of %" PRIu64 " to %" PRIu64 " addresses, not %s", k->min, k->max,
                            shown(v, b, sizeof(b)));
        for (size_t i = 0; i < n; i++) {
                struct json_object *e = json_object_array_get_idx(v, i);
                const char *s;
                size_t len;
                char at[200];
                snprintf(at, sizeof(at), "%s[%zu]", path, i);
                if (jsonget_as_string(e, &s, &len) != JSONGET_OK)
                        return fail(x, at, "must be a string like \"unix:/path\", not %s", shown(e, b, sizeof(b)));
                if (len != strlen(s))
                        return fail(x, at, "an address cannot contain a NUL character");
                int r = address_parse(s, &x->c->listen[i]);
                if (r < 0)
                        return fail(x, at, "bad address %s: %s (use unix:/absolute/path or seqpacket:/absolute/path)",
                                    shown(e, b, sizeof(b)), r == -ENAMETOOLONG ? "path too long" : "unknown form");
        }
        x->c->nlisten = n;
        x->c->given |= k->bit;
        return 0;
}

static int parse_metrics(struct ctx *x, const char *path, const struct config_key *k, struct json_object *v)
{
        char b[48], why[300];
        const char *s;
        size_t len;

        if (jsonget_as_string(v, &s, &len) != JSONGET_OK)
                return fail(x, path, "must be a string like \"127.0.0.1:9101\" or \"/run/busd/metrics\", not %s",
                            shown(v, b, sizeof(b)));
        if (len != strlen(s))
                return fail(x, path, "an address cannot contain a NUL character");
        if (metricsaddr_parse(s, &x->c->metrics_listen, why, sizeof(why)) < 0)
                return fail(x, path, "%s", why);
        x->c->given |= k->bit;
        return 0;
}

static int parse_object(struct ctx *x, const char *prefix, const struct config_key *table, struct json_object *o)
{
        json_object_object_foreach(o, name, v)
        {
                char path[160], known[400] = "";
                size_t used = 0;
                snprintf(path, sizeof(path), "%s%s%s", prefix, prefix[0] ? "." : "", name);
                const struct config_key *k = find(table, name, strlen(name));
                if (!k) {
                        for (const struct config_key *t = table; t->name && used < sizeof(known); t++) {
                                int n = snprintf(known + used, sizeof(known) - used, "%s%s", used ? ", " : "", t->name);
                                used += n > 0 ? (size_t)n : 0;
                        }
                        return fail(x, path, "unknown key (known here: %s)", known);
                }
                int r;
                switch (k->type) {
                case CONFIG_T_UINT:
                case CONFIG_T_SIZE:
                        r = parse_number(x, path, k, v);
                        break;
                case CONFIG_T_BOOL:
                        if (jsonget_as_bool(v, (bool *)(void *)((char *)x->c + k->offset)) != JSONGET_OK) {
                                char b[48];
                                r = fail(x, path, "must be true or false, not %s", shown(v, b, sizeof(b)));
                                break;
                        }
                        x->c->given |= k->bit;
                        r = 0;
                        break;
                case CONFIG_T_LISTEN:
                        r = parse_listen(x, path, k, v);
                        break;
                case CONFIG_T_METRICS:
                        r = parse_metrics(x, path, k, v);
                        break;
                case CONFIG_T_SECTION:
                        if (!v || !json_object_is_type(v, json_type_object)) {
                                char b[48];
                                r = fail(x, path, "must be %s, not %s", type_word(k->type), shown(v, b, sizeof(b)));
                                break;
                        }
                        r = parse_object(x, path, k->section, v);
                        break;
                default:
                        r = fail(x, path, "unsupported key type");
                        break;
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

/* jsonparse says "... at byte N: why"; an admin wants a line and a column. */
static void locate(const char *text, size_t len, char *err, size_t errlen)
{
        char *at = strstr(err, " at byte ");
        char rest[300];
        size_t line = 1, col = 1;

        if (!at)
                return;
        char *end;
        unsigned long long pos = strtoull(at + 9, &end, 10);
        if (end == at + 9 || pos > len)
                return;
        for (size_t i = 0; i < pos; i++) {
                if (text[i] == '\n') {
                        line++;
                        col = 1;
                } else {
                        col++;
                }
        }
        snprintf(rest, sizeof(rest), "%s", end);
        *at = 0;
        size_t used = strlen(err);
        snprintf(err + used, errlen - used, " at line %zu, column %zu%s", line, col, rest);
}

/* json-c stores member names as C strings: "verbose\u0000x" would become
 * "verbose". No string of a configuration file may hold a NUL, so any \u0000
 * in valid JSON text is refused. Returns its offset, or len if none. */
static size_t find_nul_escape(const char *s, size_t len)
{
        bool in_string = false;

        for (size_t i = 0; i < len; i++) {
                if (s[i] == '"') {
                        in_string = !in_string;
                } else if (in_string && s[i] == '\\' && i + 1 < len) {
                        if (s[i + 1] == 'u' && i + 5 < len && memcmp(s + i + 2, "0000", 4) == 0)
                                return i;
                        i++; /* the escaped character */
                }
        }
        return len;
}

int config_parse(const char *text, size_t len, struct config *ret, char *err, size_t errlen)
{
        struct config c;
        struct ctx x = { .c = &c, .err = err, .errlen = errlen };
        struct json_object *o = NULL;
        char why[300];
        int r;

        if (errlen > 0)
                err[0] = 0;
        if (len > CONFIG_MAX_FILE_SIZE)
                return fail(&x, "", "the file is larger than %u bytes", CONFIG_MAX_FILE_SIZE);
        struct jsonparse *p = jsonparse_new(CONFIG_MAX_DEPTH);
        if (!p) {
                snprintf(err, errlen, "out of memory");
                return -ENOMEM;
        }
        r = jsonparse_parse(p, text, len, &o, why, sizeof(why));
        jsonparse_free(p);
        if (r < 0) {
                if (errlen > 0) {
                        snprintf(err, errlen, "%s", why);
                        locate(text, len, err, errlen);
                }
                return -EINVAL;
        }
        size_t nul = find_nul_escape(text, len);
        if (nul < len) {
                json_object_put(o);
                if (errlen > 0) {
                        snprintf(err, errlen,
                                 "invalid configuration at byte %zu: a string holds a NUL character "
                                 "(\\u0000)",
                                 nul);
                        locate(text, len, err, errlen);
                }
                return -EINVAL;
        }
        if (!o || !json_object_is_type(o, json_type_object)) {
                char b[48];
                r = fail(&x, "", "the file must hold one JSON object ({...}), not %s", shown(o, b, sizeof(b)));
                json_object_put(o);
                return r;
        }
        config_defaults(&c);
        r = parse_object(&x, "", top_keys, o);
        json_object_put(o);
        if (r < 0)
                return r;
        *ret = c;
        return 0;
}
