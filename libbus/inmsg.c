/* inmsg.c: parses and checks the messages the daemon sends (docs/protocol.md
 * §2.4) with proto/jsonscan: one validating pass, no json-c tree. A message
 * that fails is a protocol violation reported to the caller, never an
 * assert. Members this version does not know are ignored; required members
 * must be present and well typed. The envelope's strings and the payload's
 * raw text (params, result or data) are copied into the inmsg, since the
 * received bytes are the transport's and reused by the next read; the
 * payload becomes a json-c tree only when asked for (inmsg_tree()). No I/O.
 */
#include "bus-internal.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errcode.h"
#include "jsonparse.h"
#include "jsonscan.h"
#include "syntax.h"

/* An object's members as jsonscan gave them (valid until the next scan). */
struct members {
        const struct jsonscan_member *v;
        size_t n;
};

struct check {
        struct inmsg *m;
        struct jsonscan *sc;
        char *arena; /* m->arena: room for what is kept, never more than the text */
        size_t used, cap;
        char *errbuf;
        size_t errlen;
};

__attribute__((format(printf, 2, 3))) static int bad(struct check *c, const char *fmt, ...)
{
        va_list ap;
        int n = snprintf(c->errbuf, c->errlen, "%s: ", inmsg_type_name(c->m->type));

        va_start(ap, fmt);
        if (n >= 0 && (size_t)n < c->errlen)
                vsnprintf(c->errbuf + n, c->errlen - (size_t)n, fmt, ap);
        va_end(ap);
        return -EPROTO;
}

/* Copies n bytes into the arena, NUL-terminated. Every piece kept is a part
 * of the text of its own (a string with its quotes, the payload) and no
 * longer decoded, so the arena of len + 1 bytes always has room. */
static const char *keep(struct check *c, const char *s, size_t n)
{
        char *p = c->arena + c->used;

        if (n >= c->cap - c->used)
                return NULL;
        memcpy(p, s, n);
        p[n] = 0;
        c->used += n + 1;
        return p;
}

/* Scans the object `raw` (a member's span of the message, already validated)
 * into *ret. Returns 0 or -ENOMEM. */
static int scan_object(struct check *c, const struct jsonscan_span *raw, struct members *ret)
{
        int r = jsonscan_parse(c->sc, raw->s, raw->len, NULL, &ret->v, &ret->n, NULL, 0);

        return r == -ENOMEM ? -ENOMEM : r < 0 ? bad(c, "a member could not be scanned again") : 0;
}

static const struct jsonscan_value *find(const struct members *o, const char *key)
{
        const struct jsonscan_member *mb = jsonscan_find(o->v, o->n, key);

        return mb ? &mb->value : NULL;
}

static bool is_local_sender(const char *s, size_t len)
{
        uint64_t id;

        return syntax_parse_unique(s, len, &id) || (len == strlen(BUS_DAEMON_NAME) && strcmp(s, BUS_DAEMON_NAME) == 0);
}

/* ":5", "org.busd", or BUS/:5 for a sender on another bus of the bridge. */
static bool is_sender(const char *s, size_t len)
{
        const char *slash = memchr(s, '/', len);

        if (!slash)
                return is_local_sender(s, len);
        return syntax_is_bus(s, (size_t)(slash - s)) && is_local_sender(slash + 1, len - (size_t)(slash - s) - 1);
}

static bool is_unique(const char *s, size_t len)
{
        uint64_t id;

        return syntax_parse_unique(s, len, &id);
}

static bool is_dest(const char *s, size_t len)
{
        uint64_t id;

        return syntax_is_name(s, len) || syntax_parse_unique(s, len, &id) || syntax_is_remote_dest(s, len);
}

/* A string member checked by `syntax` (NULL: any string), copied into the
 * arena. *ret is untouched when it is absent and not required. */
static int get_str(struct check *c, const struct members *o, const char *key, bool required,
                   bool (*syntax)(const char *, size_t), const char **ret)
{
        const struct jsonscan_value *v = find(o, key);
        const char *s;

        if (!v)
                return required ? bad(c, "missing member '%s'", key) : 0;
        if (v->type != JSONSCAN_STRING || (syntax && !syntax(v->str, v->str_len)))
                return bad(c, "member '%s' is not valid", key);
        if (!(s = keep(c, v->str, v->str_len)))
                return bad(c, "member '%s' does not fit", key);
        *ret = s;
        return 0;
}

/* An integer value in [0, max]. */
static int as_uint(struct check *c, const struct jsonscan_value *v, const char *key, uint64_t max, uint64_t *ret)
{
        if (v->type != JSONSCAN_INT)
                return bad(c, "member '%s' must be an integer", key);
        if (v->big ? v->u > max : (v->i < 0 || (uint64_t)v->i > max))
                return bad(c, "member '%s' is out of range", key);
        *ret = v->big ? v->u : (uint64_t)v->i;
        return 0;
}

/* An integer member in [0, max]. Sets *ret_has when present. */
static int get_uint(struct check *c, const struct members *o, const char *key, bool required, uint64_t max,
                    uint64_t *ret, bool *ret_has)
{
        const struct jsonscan_value *v = find(o, key);
        int r;

        if (!v)
                return required ? bad(c, "missing member '%s'", key) : 0;
        if ((r = as_uint(c, v, key, max, ret)) < 0)
                return r;
        if (ret_has)
                *ret_has = true;
        return 0;
}

/* The payload: any JSON value, kept as text ("null" when absent). */
static int get_payload(struct check *c, const struct members *o, const char *key)
{
        const struct jsonscan_value *v = find(o, key);

        if (!v || v->type == JSONSCAN_NULL)
                return 0; /* m->json is "null" already */
        if (!(c->m->json = keep(c, v->raw.s, v->raw.len)))
                return bad(c, "member '%s' does not fit", key);
        c->m->json_len = v->raw.len;
        return 0;
}

static int check_welcome(struct check *c, const struct members *o)
{
        struct inmsg *m = c->m;
        struct inmsg_limits *l = &m->limits;
        const struct jsonscan_value *v;
        struct members lim;
        uint64_t proto = 0;
        int r;

        *l = (struct inmsg_limits){
                .max_depth = BUS_MAX_DEPTH,
                .max_pending_calls = BUS_DEFAULT_MAX_PENDING_CALLS,
                .queue_bytes = BUS_DEFAULT_QUEUE_BYTES,
                .max_names = BUS_DEFAULT_MAX_NAMES,
                .max_subscriptions = BUS_DEFAULT_MAX_SUBSCRIPTIONS,
                .max_methods = BUS_MAX_METHODS,
                .stall_timeout_ms = BUS_DEFAULT_STALL_TIMEOUT_MS,
        };
        if ((r = get_str(c, o, "unique", true, is_unique, &m->unique)) < 0 ||
            (r = get_uint(c, o, "protocol", true, UINT32_MAX, &proto, NULL)) < 0)
                return r;
        if (proto != BUS_PROTOCOL_VERSION)
                return bad(c, "protocol version %llu is not %d", (unsigned long long)proto, BUS_PROTOCOL_VERSION);
        if (!(v = find(o, "limits")) || v->type != JSONSCAN_OBJECT)
                return bad(c, "member 'limits' must be an object");
        if ((r = scan_object(c, &v->raw, &lim)) < 0)
                return r;
        const struct {
                const char *key;
                uint64_t *slot;
                bool required;
        } fields[] = {
                { "max_message", &l->max_message, true },
                { "max_recv", &l->max_recv, true },
                { "max_depth", &l->max_depth, false },
                { "max_pending_calls", &l->max_pending_calls, false },
                { "queue_bytes", &l->queue_bytes, false },
                { "max_names", &l->max_names, false },
                { "max_subscriptions", &l->max_subscriptions, false },
                { "max_methods", &l->max_methods, false },
                { "stall_timeout_ms", &l->stall_timeout_ms, false },
        };
        for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
                if ((r = get_uint(c, &lim, fields[i].key, fields[i].required, UINT32_MAX, fields[i].slot, NULL)) < 0)
                        return r;
        /* sizes we must be able to allocate and that make sense together */
        if (l->max_message < 64 || l->max_recv < l->max_message || l->max_recv > 256u * 1024u * 1024u ||
            l->max_depth < 2 || l->max_depth > 1024)
                return bad(c, "limits are inconsistent (max_message %llu, max_recv %llu, max_depth %llu)",
                           (unsigned long long)l->max_message, (unsigned long long)l->max_recv,
                           (unsigned long long)l->max_depth);
        return 0;
}

/* uid, gid and pid of a creds object (span raw). */
static int get_creds(struct check *c, const struct jsonscan_span *raw, uint64_t *ret_uid, uint64_t *ret_gid,
                     uint64_t *ret_pid)
{
        struct members cr;
        int r;

        if ((r = scan_object(c, raw, &cr)) < 0 || (r = get_uint(c, &cr, "uid", true, UINT32_MAX, ret_uid, NULL)) < 0 ||
            (r = get_uint(c, &cr, "gid", true, UINT32_MAX, ret_gid, NULL)) < 0 ||
            (r = get_uint(c, &cr, "pid", true, INT32_MAX, ret_pid, NULL)) < 0)
                return r;
        return 0;
}

/* A sender on another bus (docs/protocol.md §4.9): "remote" with the bus, the
 * neighbour it came through and the credentials as that bus stamped them;
 * never top-level creds, so that it cannot pass as a local process. o: the
 * message's members; rm: the value of "remote". o is scanned over here. */
static int check_remote(struct check *c, const struct members *o, const struct jsonscan_value *rm)
{
        const struct jsonscan_value *cr;
        struct members remote;
        uint64_t uid, gid, pid;
        int r;

        if (find(o, "creds"))
                return bad(c, "a message with 'remote' cannot have 'creds'");
        if (rm->type != JSONSCAN_OBJECT)
                return bad(c, "member 'remote' must be {\"bus\", \"via\", \"creds\"}");
        if ((r = scan_object(c, &rm->raw, &remote)) < 0)
                return r;
        if (get_str(c, &remote, "bus", true, syntax_is_bus, &c->m->remote_bus) < 0 ||
            get_str(c, &remote, "via", true, syntax_is_bus, &c->m->remote_via) < 0)
                return bad(c, "member 'remote' must be {\"bus\", \"via\", \"creds\"}");
        if (!(cr = find(&remote, "creds")) || cr->type != JSONSCAN_OBJECT)
                return bad(c, "member 'remote' has no 'creds' object");
        if ((r = get_creds(c, &cr->raw, &uid, &gid, &pid)) < 0)
                return r;
        if (!strchr(c->m->sender, '/'))
                return bad(c, "a remote sender must be BUS/ID");
        c->m->uid = (uid_t)-1;
        c->m->gid = (gid_t)-1;
        c->m->pid = 0;
        c->m->remote_uid = (uid_t)uid;
        c->m->remote_gid = (gid_t)gid;
        c->m->remote_pid = (pid_t)pid;
        return 0;
}

/* The sender's credentials: last, as they scan nested objects over o. */
static int check_creds(struct check *c, const struct members *o, bool required)
{
        const struct jsonscan_value *cr, *rm;
        uint64_t uid = (uid_t)-1, gid = (gid_t)-1, pid = 0;
        int r;

        if ((rm = find(o, "remote")))
                return check_remote(c, o, rm);
        if (c->m->sender && strchr(c->m->sender, '/'))
                return bad(c, "a sender BUS/ID needs a member 'remote'");
        if (!(cr = find(o, "creds"))) {
                if (required)
                        return bad(c, "missing member 'creds'");
        } else if (cr->type != JSONSCAN_OBJECT) {
                return bad(c, "member 'creds' must be an object");
        } else if ((r = get_creds(c, &cr->raw, &uid, &gid, &pid)) < 0) {
                return r;
        }
        c->m->uid = (uid_t)uid;
        c->m->gid = (gid_t)gid;
        c->m->pid = (pid_t)pid;
        return 0;
}

/* Checks the members o of a message of type m->type. Nested objects (limits,
 * creds, remote) are scanned last, with the same scanner: o is not valid
 * after that. */
static int check_body(struct check *c, const struct members *o)
{
        struct inmsg *m = c->m;
        const struct jsonscan_value *v;
        int r;

        switch (m->type) {
        case INMSG_WELCOME:
                if ((r = get_uint(c, o, "id", false, BUS_MAX_ID, &m->id, &m->has_id)) < 0)
                        return r;
                return check_welcome(c, o);
        case INMSG_REPLY:
                if ((r = get_payload(c, o, "result")) < 0 ||
                    (r = get_uint(c, o, "id", true, BUS_MAX_ID, &m->id, &m->has_id)) < 0)
                        return r;
                return get_str(c, o, "sender", true, is_sender, &m->sender);
        case INMSG_ERROR:
                if ((r = get_payload(c, o, "data")) < 0)
                        return r;
                if (!(v = find(o, "id")))
                        return bad(c, "missing member 'id'");
                if (v->type != JSONSCAN_NULL && (r = as_uint(c, v, "id", BUS_MAX_ID, &m->id)) < 0)
                        return r;
                m->has_id = v->type != JSONSCAN_NULL;
                if ((r = get_str(c, o, "code", true, syntax_is_code, &m->code)) < 0 ||
                    (r = get_str(c, o, "message", true, NULL, &m->message)) < 0)
                        return r;
                return get_str(c, o, "sender", true, is_sender, &m->sender);
        case INMSG_CALL:
                if ((r = get_payload(c, o, "params")) < 0)
                        return r;
                if ((v = find(o, "oneway"))) {
                        if (v->type != JSONSCAN_BOOL)
                                return bad(c, "member 'oneway' must be a boolean");
                        m->oneway = v->b;
                }
                if ((r = get_uint(c, o, "id", !m->oneway, BUS_MAX_ID, &m->id, &m->has_id)) < 0 ||
                    (r = get_str(c, o, "dest", true, is_dest, &m->dest)) < 0 ||
                    (r = get_str(c, o, "method", true, syntax_is_method, &m->method)) < 0 ||
                    (r = get_str(c, o, "sender", true, is_sender, &m->sender)) < 0)
                        return r;
                return check_creds(c, o, true);
        case INMSG_EVENT:
                if ((r = get_payload(c, o, "data")) < 0 ||
                    (r = get_str(c, o, "topic", true, syntax_is_topic, &m->topic)) < 0 ||
                    (r = get_str(c, o, "sender", true, is_sender, &m->sender)) < 0)
                        return r;
                /* the daemon's own events ($bus.…) need not carry creds */
                return check_creds(c, o, strcmp(m->sender, BUS_DAEMON_NAME) != 0);
        case INMSG_DROPPED:
                if ((r = get_uint(c, o, "count", true, UINT64_MAX, &m->count, NULL)) < 0)
                        return r;
                return get_uint(c, o, "total", true, UINT64_MAX, &m->total, NULL);
        case INMSG_NAME_ACQUIRED:
        case INMSG_NAME_LOST:
                return get_str(c, o, "name", true, syntax_is_name, &m->name);
        case INMSG_LOCAL_DROPPED:
        case INMSG_LOCAL_DISCONNECTED:
        case INMSG_LOCAL_RECONNECTED:
        case INMSG_LOCAL_ERROR:
                break;
        }
        return bad(c, "not a daemon message");
}

static const char *const type_names[] = {
        [INMSG_WELCOME] = "welcome",
        [INMSG_REPLY] = "reply",
        [INMSG_ERROR] = "error",
        [INMSG_CALL] = "call",
        [INMSG_EVENT] = "event",
        [INMSG_DROPPED] = "dropped",
        [INMSG_NAME_ACQUIRED] = "name_acquired",
        [INMSG_NAME_LOST] = NOTICE_NAME_LOST,
        [INMSG_LOCAL_DROPPED] = "(local dropped)",
        [INMSG_LOCAL_DISCONNECTED] = "(local disconnected)",
        [INMSG_LOCAL_RECONNECTED] = "(local reconnected)",
        [INMSG_LOCAL_ERROR] = "(local error)",
};

const char *inmsg_type_name(enum inmsg_type t)
{
        return (size_t)t < sizeof(type_names) / sizeof(type_names[0]) ? type_names[t] : "?";
}

/* A new inmsg with an arena of `arena` bytes (not cleared: only what is
 * copied there is read). */
static struct inmsg *alloc(size_t arena)
{
        struct inmsg *m = malloc(sizeof(*m) + arena);

        if (!m)
                return NULL;
        memset(m, 0, sizeof(*m));
        list_init(&m->link);
        m->json = "null";
        m->json_len = 4;
        return m;
}

int inmsg_parse(struct jsonscan *sc, const char *s, size_t len, struct inmsg **ret, char *errbuf, size_t errlen)
{
        const struct jsonscan_value *type;
        struct members o;
        struct inmsg *m;
        int r;

        r = jsonscan_parse(sc, s, len, NULL, &o.v, &o.n, errbuf, errlen);
        if (r < 0)
                return r == -ENOMEM ? -ENOMEM : -EPROTO;
        if (!(type = find(&o, "type")) || type->type != JSONSCAN_STRING) {
                snprintf(errbuf, errlen, "not an object with a string member 'type'");
                return -EPROTO;
        }
        m = alloc(len + 1);
        if (!m)
                return -ENOMEM;
        m->size = len;
        m->type = INMSG_LOCAL_DROPPED; /* the one type the daemon cannot send */
        for (size_t t = 0; t < INMSG_LOCAL_DROPPED; t++)
                if (strlen(type_names[t]) == type->str_len && strcmp(type->str, type_names[t]) == 0)
                        m->type = (enum inmsg_type)t;
        if (m->type == INMSG_LOCAL_DROPPED) {
                snprintf(errbuf, errlen, "unknown message type '%.40s'", type->str);
                inmsg_free(m);
                return -EPROTO;
        }
        struct check c = { .m = m, .sc = sc, .arena = m->arena, .cap = len + 1, .errbuf = errbuf, .errlen = errlen };
        r = check_body(&c, &o);
        if (r < 0) {
                inmsg_free(m);
                return r;
        }
        *ret = m;
        return 0;
}

int inmsg_tree(struct inmsg *m, struct json_object **ret)
{
        struct json_object *v = NULL;

        if (!m->has_tree) {
                if (!(m->json_len == 4 && memcmp(m->json, "null", 4) == 0) &&
                    jsonparse_tree(m->json, m->json_len, &v) < 0)
                        return -ENOMEM; /* the text was validated: only memory can fail */
                m->tree = v;
                m->has_tree = true;
        }
        *ret = m->tree;
        return 0;
}

struct json_object *inmsg_payload(struct inmsg *m)
{
        struct json_object *v;

        if (inmsg_tree(m, &v) < 0) {
                errno = ENOMEM;
                return NULL;
        }
        if (!v)
                errno = 0;
        return v;
}

struct json_object *inmsg_member(struct inmsg *m, const char *key)
{
        struct json_object *o, *v;

        if (inmsg_tree(m, &o) < 0 || !json_object_is_type(o, json_type_object) ||
            !json_object_object_get_ex(o, key, &v))
                return NULL;
        return v;
}

struct inmsg *inmsg_new_local_dropped(void)
{
        struct inmsg *m = alloc(0);

        if (m)
                m->type = INMSG_LOCAL_DROPPED;
        return m;
}

struct inmsg *inmsg_new_local(enum inmsg_type t, const char *text)
{
        struct inmsg *m = inmsg_new_local_dropped();

        if (!m)
                return NULL;
        m->type = t;
        if (inmsg_set_text(m, text) < 0) {
                free(m);
                return NULL;
        }
        return m;
}

int inmsg_set_text(struct inmsg *m, const char *text)
{
        char *s = strdup(text);

        if (!s)
                return -ENOMEM;
        free(m->text);
        m->text = s;
        m->message = m->name = s;
        return 0;
}

bool inmsg_answers(const struct inmsg *m, uint64_t id)
{
        if (m->type != INMSG_REPLY && m->type != INMSG_ERROR)
                return false;
        if (!m->has_id || m->id != id)
                return false;
        return m->type == INMSG_REPLY || strcmp(m->code, ERRCODE_NO_SUCH_CALL) != 0;
}

void inmsg_free(struct inmsg *m)
{
        if (!m)
                return;
        list_unlink(&m->link);
        json_object_put(m->tree);
        free(m->text);
        free(m);
}
