/* bridgecfg.c: the bridge's configuration (bridgecfg.h). */
#include "bridgecfg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "buslimits.h"
#include "cfgerr.h"
#include "jsonget.h"
#include "jsonparse.h"
#include "syntax.h"

struct ctx {
        char *err;
        size_t errlen;
};

/* "at: why" (cfgerr.h); returns -EINVAL. */
__attribute__((format(printf, 3, 4))) static int fail(struct ctx *x, const char *at, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        cfgerr_vformat(x->err, x->errlen, NULL, at, fmt, ap);
        va_end(ap);
        return -EINVAL;
}

void bridgecfg_defaults(struct bridge_config *c)
{
        memset(c, 0, sizeof(*c));
        c->max_hops = BRIDGE_DEFAULT_MAX_HOPS;
        c->queue_bytes = 4u * 1024 * 1024;
        c->keepalive_ms = 1000;
        c->timeout_ms = 5000;
        c->handshake_timeout_ms = 5000;
        c->max_half_open = 16;
        c->reconnect_min_ms = 200;
        c->reconnect_max_ms = 30000;
}

static void free_strv(char **v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

static void free_filter(struct bridge_filter *f)
{
        free_strv(f->topics, f->ntopics);
        free_strv(f->names, f->nnames);
        free(f->prefix);
        memset(f, 0, sizeof(*f));
}

void bridgecfg_free(struct bridge_config *c)
{
        free(c->cert);
        free(c->key);
        free(c->ca);
        free_strv(c->listen, c->nlisten);
        for (size_t i = 0; i < c->nlinks; i++) {
                struct bridge_link_config *l = &c->links[i];
                free(l->name);
                free(l->connect);
                free_strv(l->peers, l->npeers);
                free_filter(&l->exp);
                free_filter(&l->imp);
        }
        free(c->links);
        memset(c, 0, sizeof(*c));
}

int bridgecfg_address(const char *s, struct sockaddr_storage *ret)
{
        char host[64];
        const char *colon;
        size_t hlen;

        memset(ret, 0, sizeof(*ret));
        if (s[0] == '[') {
                const char *end = strchr(s, ']');
                if (!end || end[1] != ':')
                        return -EINVAL;
                hlen = (size_t)(end - s - 1);
                if (hlen == 0 || hlen >= sizeof(host))
                        return -EINVAL;
                memcpy(host, s + 1, hlen);
                colon = end + 1;
        } else {
                colon = strrchr(s, ':');
                if (!colon || colon == s || (size_t)(colon - s) >= sizeof(host))
                        return -EINVAL;
                hlen = (size_t)(colon - s);
                memcpy(host, s, hlen);
        }
        host[hlen] = '\0';
        char *end;
        unsigned long port = strtoul(colon + 1, &end, 10);
        if (!colon[1] || *end || port == 0 || port > 65535)
                return -EINVAL;
        struct sockaddr_in *v4 = (struct sockaddr_in *)ret;
        struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ret;
        if (s[0] != '[' && inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
                v4->sin_family = AF_INET;
                v4->sin_port = htons((uint16_t)port);
                return 0;
        }
        if (s[0] == '[' && inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
                v6->sin6_family = AF_INET6;
                v6->sin6_port = htons((uint16_t)port);
                return 0;
        }
        return -EINVAL;
}

/* ---- values -------------------------------------------------------------------- */

static int get_string(struct ctx *x, const char *at, struct json_object *v, char **ret)
{
        const char *s;
        size_t len;

        if (jsonget_as_string(v, &s, &len) != JSONGET_OK || len == 0)
                return fail(x, at, "must be a non-empty string");
        free(*ret);
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

static int get_number(struct ctx *x, const char *at, struct json_object *v, uint64_t min, uint64_t max, uint64_t *ret)
{
        if (jsonget_as_uint(v, min, max, ret) != JSONGET_OK)
                return fail(x, at, "must be an integer from %llu to %llu", (unsigned long long)min,
                            (unsigned long long)max);
        return 0;
}

typedef bool (*check_fn)(const char *s);

static bool is_address(const char *s)
{
        struct sockaddr_storage ss;
        return bridgecfg_address(s, &ss) == 0;
}

int bridgecfg_host_port(const char *s, char *host, size_t hostlen, char *port, size_t portlen)
{
        struct sockaddr_storage ss;
        const char *colon = strrchr(s, ':');

        if (bridgecfg_address(s, &ss) == 0) {
                /* numeric: the host is what precedes the port, without brackets */
                size_t n = (size_t)(colon - s) - (s[0] == '[' ? 2 : 0);
                if (n >= hostlen || strlen(colon + 1) >= portlen)
                        return -EINVAL;
                memcpy(host, s + (s[0] == '[' ? 1 : 0), n);
                host[n] = '\0';
                snprintf(port, portlen, "%s", colon + 1);
                return 0;
        }
        if (!colon || colon == s || (size_t)(colon - s) > 253 || (size_t)(colon - s) >= hostlen)
                return -EINVAL;
        /* a DNS name: labels of [A-Za-z0-9-], 1-63 bytes, not starting or ending with '-' */
        size_t label = 0;
        for (const char *p = s; p < colon; p++) {
                char c = *p;
                if (c == '.') {
                        if (label == 0 || p[-1] == '-')
                                return -EINVAL;
                        label = 0;
                } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                           (c == '-' && label > 0)) {
                        if (++label > 63)
                                return -EINVAL;
                } else {
                        return -EINVAL;
                }
        }
        if (label == 0 || colon[-1] == '-')
                return -EINVAL;
        char *end;
        unsigned long pn = strtoul(colon + 1, &end, 10);
        if (!colon[1] || *end || pn == 0 || pn > 65535 || strlen(colon + 1) >= portlen)
                return -EINVAL;
        memcpy(host, s, (size_t)(colon - s));
        host[colon - s] = '\0';
        snprintf(port, portlen, "%s", colon + 1);
        return 0;
}

/* What a link may dial: a numeric address or a DNS name, and a port. */
static bool is_dial_address(const char *s)
{
        char host[256], port[8];
        return bridgecfg_host_port(s, host, sizeof(host), port, sizeof(port)) == 0;
}

static bool is_bus(const char *s)
{
        return syntax_is_bus(s, strlen(s));
}

static bool is_pattern(const char *s)
{
        return syntax_is_pattern(s, strlen(s)) && s[0] != '$';
}

/* Exact name, "a.b.*" or "*". */
static bool is_name_form(const char *s)
{
        size_t n = strlen(s);

        if (strcmp(s, "*") == 0)
                return true;
        if (n > 2 && s[n - 1] == '*' && s[n - 2] == '.') {
                /* a prefix: what precedes ".*" followed by one more element is a name */
                char probe[BUS_MAX_NAME + 3];
                if (n - 2 + 2 > BUS_MAX_NAME)
                        return false;
                memcpy(probe, s, n - 2);
                memcpy(probe + n - 2, ".x", 3);
                return syntax_is_name(probe, n);
        }
        return syntax_is_name(s, n);
}

static int get_strings(struct ctx *x, const char *at, struct json_object *v, size_t max, check_fn ok, const char *what,
                       char ***ret, size_t *ret_n)
{
        if (!json_object_is_type(v, json_type_array))
                return fail(x, at, "must be an array of %s", what);
        size_t n = json_object_array_length(v);
        if (n > max)
                return fail(x, at, "at most %zu entries", max);
        char **out = calloc(n ? n : 1, sizeof(*out));
        if (!out)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const char *s;
                char sub[160 + 24]; /* at (< 160, from get_filter) + "[index]": never cut */
                snprintf(sub, sizeof(sub), "%s[%zu]", at, i);
                if (jsonget_as_string(json_object_array_get_idx(v, i), &s, NULL) != JSONGET_OK || !ok(s)) {
                        free_strv(out, i);
                        return fail(x, sub, "must be %s", what);
                }
                if (!(out[i] = strdup(s))) {
                        free_strv(out, i);
                        return -ENOMEM;
                }
        }
        free_strv(*ret, *ret_n);
        *ret = out;
        *ret_n = n;
        return 0;
}

static int get_filter(struct ctx *x, const char *at, struct json_object *v, struct bridge_filter *f)
{
        char sub[160];
        int r;

        if (!json_object_is_type(v, json_type_object))
                return fail(x, at, "must be an object with \"topics\" and/or \"names\"");
        json_object_object_foreach(v, key, val)
        {
                snprintf(sub, sizeof(sub), "%s.%s", at, key);
                if (strcmp(key, "topics") == 0)
                        r = get_strings(x, sub, val, BRIDGECFG_MAX_PATTERNS, is_pattern,
                                        "topic patterns (like sensors.> or *.temp; not $...)", &f->topics, &f->ntopics);
                else if (strcmp(key, "names") == 0)
                        r = get_strings(x, sub, val, BRIDGECFG_MAX_PATTERNS, is_name_form,
                                        "well-known names, prefixes like org.example.* or *", &f->names, &f->nnames);
                else if (strcmp(key, "prefix") == 0) {
                        /* "site-a.": one or more topic segments and a final dot */
                        const char *p = "";
                        jsonget_as_string(val, &p, NULL);
                        size_t n = strlen(p);
                        if (n < 2 || p[n - 1] != '.' || p[0] == '$' || !syntax_is_topic(p, n - 1) ||
                            n - 1 > BUS_MAX_TOPIC / 2)
                                return fail(x, sub, "must be topic segments and a final dot, like \"site-a.\"");
                        r = get_string(x, sub, val, &f->prefix);
                } else
                        r = fail(x, at, "unknown key '%.40s' (keys: topics, names, prefix)", key);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int get_link(struct ctx *x, const char *at, struct json_object *v, struct bridge_link_config *l)
{
        char sub[160];
        int r = 0;

        if (!json_object_is_type(v, json_type_object))
                return fail(x, at, "must be an object");
        json_object_object_foreach(v, key, val)
        {
                snprintf(sub, sizeof(sub), "%s.%s", at, key);
                const char *s = NULL;
                jsonget_as_string(val, &s, NULL);
                if (strcmp(key, "name") == 0) {
                        if (!s || !is_bus(s))
                                return fail(x, sub, "must be a short name ([A-Za-z0-9._-], up to 63 bytes)");
                        r = get_string(x, sub, val, &l->name);
                } else if (strcmp(key, "connect") == 0) {
                        if (!s || !is_dial_address(s))
                                return fail(x, sub,
                                            "must be an address or host name and a port: 10.0.0.2:7400, "
                                            "[fd00::2]:7400 or busd-b.example.org:7400");
                        r = get_string(x, sub, val, &l->connect);
                } else if (strcmp(key, "peers") == 0) {
                        r = get_strings(x, sub, val, BRIDGECFG_MAX_PEERS, is_bus,
                                        "certificate names of the other bus (like busd-b)", &l->peers, &l->npeers);
                } else if (strcmp(key, "export") == 0) {
                        r = get_filter(x, sub, val, &l->exp);
                } else if (strcmp(key, "import") == 0) {
                        r = get_filter(x, sub, val, &l->imp);
                } else {
                        return fail(x, at, "unknown key '%.40s' (keys: name, connect, peers, export, import)", key);
                }
                if (r < 0)
                        return r;
        }
        if (!l->name)
                return fail(x, at, "missing \"name\"");
        if (l->npeers == 0)
                return fail(x, at, "\"peers\" must name at least one certificate name: a link never accepts anyone");
        return 0;
}

int bridgecfg_parse(const char *text, size_t len, struct bridge_config *ret, char *err, size_t errlen)
{
        struct ctx x = { err, errlen };
        struct bridge_config c;
        struct json_object *root = NULL;
        char why[300];
        int r = 0;

        if (len > BUS_MAX_BRIDGE_FILE)
                return fail(&x, "", "larger than %u bytes", BUS_MAX_BRIDGE_FILE);
        struct jsonparse *p = jsonparse_new(BUS_MAX_DEPTH);
        if (!p)
                return -ENOMEM;
        r = jsonparse_parse(p, text, len, &root, why, sizeof(why));
        jsonparse_free(p);
        if (r < 0)
                return fail(&x, "", "invalid JSON: %s", why);
        bridgecfg_defaults(&c);
        if (!json_object_is_type(root, json_type_object)) {
                json_object_put(root);
                return fail(&x, "", "must be a JSON object");
        }
        json_object_object_foreach(root, key, val)
        {
                uint64_t n = 0;
                if (strcmp(key, "cert") == 0)
                        r = get_string(&x, key, val, &c.cert);
                else if (strcmp(key, "key") == 0)
                        r = get_string(&x, key, val, &c.key);
                else if (strcmp(key, "ca") == 0)
                        r = get_string(&x, key, val, &c.ca);
                else if (strcmp(key, "listen") == 0)
                        r = get_strings(&x, key, val, BRIDGECFG_MAX_LISTEN, is_address,
                                        "numeric addresses and ports: 0.0.0.0:7400, [::]:7400", &c.listen, &c.nlisten);
                else if (strcmp(key, "links") == 0) {
                        if (!json_object_is_type(val, json_type_array))
                                r = fail(&x, key, "must be an array of links");
                        else if (json_object_array_length(val) > BRIDGECFG_MAX_LINKS)
                                r = fail(&x, key, "at most %d links", BRIDGECFG_MAX_LINKS);
                        else {
                                size_t nl = json_object_array_length(val);
                                c.links = calloc(nl ? nl : 1, sizeof(*c.links));
                                if (!c.links)
                                        r = -ENOMEM;
                                for (size_t i = 0; r == 0 && i < nl; i++) {
                                        char at[40];
                                        snprintf(at, sizeof(at), "links[%zu]", i);
                                        c.nlinks = i + 1;
                                        r = get_link(&x, at, json_object_array_get_idx(val, i), &c.links[i]);
                                        for (size_t j = 0; r == 0 && j < i; j++)
                                                if (strcmp(c.links[j].name, c.links[i].name) == 0)
                                                        r = fail(&x, at, "a second link named '%s'", c.links[i].name);
                                }
                        }
                } else if (strcmp(key, "max_hops") == 0) {
                        r = get_number(&x, key, val, 1, 64, &n);
                        c.max_hops = (unsigned)n;
                } else if (strcmp(key, "queue_bytes") == 0) {
                        r = get_number(&x, key, val, 65536, 1ull << 32, &n);
                        c.queue_bytes = (size_t)n;
                } else if (strcmp(key, "keepalive_ms") == 0) {
                        r = get_number(&x, key, val, 100, 600000, &n);
                        c.keepalive_ms = (unsigned)n;
                } else if (strcmp(key, "timeout_ms") == 0) {
                        r = get_number(&x, key, val, 200, 3600000, &n);
                        c.timeout_ms = (unsigned)n;
                } else if (strcmp(key, "handshake_timeout_ms") == 0) {
                        r = get_number(&x, key, val, 100, 600000, &n);
                        c.handshake_timeout_ms = (unsigned)n;
                } else if (strcmp(key, "max_half_open") == 0) {
                        r = get_number(&x, key, val, 1, 65536, &n);
                        c.max_half_open = (unsigned)n;
                } else if (strcmp(key, "reconnect_min_ms") == 0) {
                        r = get_number(&x, key, val, 10, 600000, &n);
                        c.reconnect_min_ms = (unsigned)n;
                } else if (strcmp(key, "reconnect_max_ms") == 0) {
                        r = get_number(&x, key, val, 10, 3600000, &n);
                        c.reconnect_max_ms = (unsigned)n;
                } else
                        r = fail(&x, "",
                                 "unknown key '%.40s' (keys: cert, key, ca, listen, links, max_hops, queue_bytes, "
                                 "keepalive_ms, timeout_ms, handshake_timeout_ms, max_half_open, "
                                 "reconnect_min_ms, reconnect_max_ms)",
                                 key);
                if (r < 0)
                        break;
        }
        json_object_put(root);
        if (r == 0 && c.timeout_ms <= c.keepalive_ms)
                r = fail(&x, "timeout_ms", "must be longer than keepalive_ms (%u)", c.keepalive_ms);
        if (r == 0 && c.reconnect_max_ms < c.reconnect_min_ms)
                r = fail(&x, "reconnect_max_ms", "must be at least reconnect_min_ms (%u)", c.reconnect_min_ms);
        if (r < 0) {
                bridgecfg_free(&c);
                return r;
        }
        *ret = c;
        return 0;
}

static int strv_add(char ***v, size_t *n, const char *s)
{
        char **nv = realloc(*v, (*n + 1) * sizeof(**v));

        if (!nv)
                return -ENOMEM;
        *v = nv;
        if (!(nv[*n] = strdup(s)))
                return -ENOMEM;
        (*n)++;
        return 0;
}

static int all_filter(struct bridge_filter *f)
{
        return strv_add(&f->topics, &f->ntopics, ">") < 0 || strv_add(&f->names, &f->nnames, "*") < 0 ? -ENOMEM : 0;
}

static int cli_link(struct bridge_config *c, const char *name, const char *connect, char *const *peers, size_t npeers)
{
        struct bridge_link_config *nl = realloc(c->links, (c->nlinks + 1) * sizeof(*nl));

        if (!nl)
                return -ENOMEM;
        c->links = nl;
        struct bridge_link_config *l = &nl[c->nlinks++];
        memset(l, 0, sizeof(*l));
        if (!(l->name = strdup(name)) || (connect && !(l->connect = strdup(connect))))
                return -ENOMEM;
        for (size_t i = 0; i < npeers; i++)
                if (strv_add(&l->peers, &l->npeers, peers[i]) < 0)
                        return -ENOMEM;
        return all_filter(&l->exp) < 0 || all_filter(&l->imp) < 0 ? -ENOMEM : 0;
}

int bridgecfg_add_cli(struct bridge_config *c, char *const *listen, size_t nlisten, char *const *connect,
                      size_t nconnect, char *const *peers, size_t npeers, const char *cert, const char *key,
                      const char *ca, char *err, size_t errlen)
{
        struct ctx x = { err, errlen };
        struct {
                const char *v;
                char **dst;
        } creds[] = { { cert, &c->cert }, { key, &c->key }, { ca, &c->ca } };

        for (size_t i = 0; i < 3; i++)
                if (creds[i].v) {
                        free(*creds[i].dst);
                        if (!(*creds[i].dst = strdup(creds[i].v)))
                                return -ENOMEM;
                }
        for (size_t i = 0; i < npeers; i++)
                if (!is_bus(peers[i]))
                        return fail(&x, "--bridge-peer", "'%s' is not a certificate name ([A-Za-z0-9._-])", peers[i]);
        if ((nlisten || nconnect) && npeers == 0)
                return fail(&x, "--bridge-peer", "name the certificate(s) the other buses present (at least one)");
        for (size_t i = 0; i < nlisten; i++) {
                if (!is_address(listen[i]))
                        return fail(&x, "--bridge-listen", "'%s' is not a numeric address and port", listen[i]);
                if (c->nlisten >= BRIDGECFG_MAX_LISTEN)
                        return fail(&x, "--bridge-listen", "at most %d addresses", BRIDGECFG_MAX_LISTEN);
                if (strv_add(&c->listen, &c->nlisten, listen[i]) < 0)
                        return -ENOMEM;
        }
        if (nlisten && cli_link(c, "cli-accept", NULL, peers, npeers) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < nconnect; i++) {
                char name[40];
                if (!is_dial_address(connect[i]))
                        return fail(&x, "--bridge-connect", "'%s' is not an address or host name and a port",
                                    connect[i]);
                snprintf(name, sizeof(name), "cli-connect-%zu", i + 1);
                if (cli_link(c, name, connect[i], peers, npeers) < 0)
                        return -ENOMEM;
        }
        return 0;
}

int bridgecfg_check(const struct bridge_config *c, char *err, size_t errlen)
{
        struct ctx x = { err, errlen };
        bool accepting = false;

        if (c->nlinks == 0)
                return fail(&x, "bridge", "no link configured");
        if (!c->cert || !c->key || !c->ca)
                return fail(&x, "bridge",
                            "a bridge needs credentials: cert, key and ca (--bridge-cert, --bridge-key, "
                            "--bridge-ca): links are TLS with mutual authentication, never plaintext");
        for (size_t i = 0; i < c->nlinks; i++)
                accepting |= !c->links[i].connect;
        if (accepting && c->nlisten == 0)
                return fail(&x, "bridge", "links wait for peers but there is no listen address");
        return 0;
}
