/* inmsg.c: parses and checks the messages the daemon sends (docs/protocol.md
 * §2.4) with proto/jsonparse (strict). A message that fails is a protocol
 * violation reported to the caller, never an assert. Members this version
 * does not know are ignored; required members must be present and well typed.
 * No I/O.
 */
#include "bus-internal.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errcode.h"
#include "jsonget.h"
#include "jsonparse.h"
#include "syntax.h"

struct check {
        struct inmsg *m;
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

/* A string member checked by `syntax` (NULL: any string). */
static int get_str(struct check *c, struct json_object *o, const char *key, bool required,
                   bool (*syntax)(const char *, size_t), const char **ret)
{
        const char *s;
        size_t len;

        switch (jsonget_string(o, key, &s, &len)) {
        case JSONGET_OK:
                if (syntax && !syntax(s, len))
                        break;
                *ret = s;
                return 0;
        case JSONGET_E_MISSING:
                return required ? bad(c, "missing member '%s'", key) : 0;
        default:
                break;
        }
        return bad(c, "member '%s' is not valid", key);
}

/* An integer member in [0, max]. Sets *ret_has when present. */
static int get_uint(struct check *c, struct json_object *o, const char *key, bool required, uint64_t max, uint64_t *ret,
                    bool *ret_has)
{
        switch (jsonget_uint(o, key, 0, max, ret)) {
        case JSONGET_OK:
                if (ret_has)
                        *ret_has = true;
                return 0;
        case JSONGET_E_MISSING:
                return required ? bad(c, "missing member '%s'", key) : 0;
        case JSONGET_E_TYPE:
                return bad(c, "member '%s' must be an integer", key);
        default:
                return bad(c, "member '%s' is out of range", key);
        }
}

/* Any JSON value; absent and null both give NULL. */
static struct json_object *get_any(struct json_object *o, const char *key)
{
        struct json_object *v = NULL;

        jsonget_member(o, key, &v);
        return v;
}

static int check_welcome(struct check *c, struct json_object *o)
{
        struct inmsg *m = c->m;
        struct inmsg_limits *l = &m->limits;
        struct json_object *lim;
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
        if (jsonget_object(o, "limits", &lim) != JSONGET_OK)
                return bad(c, "member 'limits' must be an object");
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
                if ((r = get_uint(c, lim, fields[i].key, fields[i].required, UINT32_MAX, fields[i].slot, NULL)) < 0)
                        return r;
        /* sizes we must be able to allocate and that make sense together */
        if (l->max_message < 64 || l->max_recv < l->max_message || l->max_recv > 256u * 1024u * 1024u ||
            l->max_depth < 2 || l->max_depth > 1024)
                return bad(c, "limits are inconsistent (max_message %llu, max_recv %llu, max_depth %llu)",
                           (unsigned long long)l->max_message, (unsigned long long)l->max_recv,
                           (unsigned long long)l->max_depth);
        return 0;
}

/* A sender on another bus (docs/protocol.md §4.9): "remote" with the bus, the
 * neighbour it came through and the credentials as that bus stamped them;
 * never top-level creds, so that it cannot pass as a local process. */
static int check_remote(struct check *c, struct json_object *o, struct json_object *rm)
{
        struct json_object *cr;
        uint64_t uid, gid, pid;
        int r;

        if (jsonget_member(o, "creds", &cr) == JSONGET_OK)
                return bad(c, "a message with 'remote' cannot have 'creds'");
        if (!json_object_is_type(rm, json_type_object) ||
            (r = get_str(c, rm, "bus", true, syntax_is_bus, &c->m->remote_bus)) < 0 ||
            (r = get_str(c, rm, "via", true, syntax_is_bus, &c->m->remote_via)) < 0)
                return bad(c, "member 'remote' must be {\"bus\", \"via\", \"creds\"}");
        if (jsonget_object(rm, "creds", &cr) != JSONGET_OK)
                return bad(c, "member 'remote' has no 'creds' object");
        if ((r = get_uint(c, cr, "uid", true, UINT32_MAX, &uid, NULL)) < 0 ||
            (r = get_uint(c, cr, "gid", true, UINT32_MAX, &gid, NULL)) < 0 ||
            (r = get_uint(c, cr, "pid", true, INT32_MAX, &pid, NULL)) < 0)
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

static int check_creds(struct check *c, struct json_object *o, bool required)
{
        struct json_object *cr, *rm;
        uint64_t uid = (uid_t)-1, gid = (gid_t)-1, pid = 0;
        int r;

        if (jsonget_member(o, "remote", &rm) == JSONGET_OK)
                return check_remote(c, o, rm);
        if (c->m->sender && strchr(c->m->sender, '/'))
                return bad(c, "a sender BUS/ID needs a member 'remote'");
        switch (jsonget_object(o, "creds", &cr)) {
        case JSONGET_E_MISSING:
                if (required)
                        return bad(c, "missing member 'creds'");
                break;
        case JSONGET_E_TYPE:
                return bad(c, "member 'creds' must be an object");
        default:
                if ((r = get_uint(c, cr, "uid", true, UINT32_MAX, &uid, NULL)) < 0 ||
                    (r = get_uint(c, cr, "gid", true, UINT32_MAX, &gid, NULL)) < 0 ||
                    (r = get_uint(c, cr, "pid", true, INT32_MAX, &pid, NULL)) < 0)
                        return r;
                break;
        }
        c->m->uid = (uid_t)uid;
        c->m->gid = (gid_t)gid;
        c->m->pid = (pid_t)pid;
        return 0;
}

static int check_body(struct check *c, struct json_object *o)
{
        struct inmsg *m = c->m;
        struct json_object *v;
        int r;

        switch (m->type) {
        case INMSG_WELCOME:
                if ((r = get_uint(c, o, "id", false, BUS_MAX_ID, &m->id, &m->has_id)) < 0)
                        return r;
                return check_welcome(c, o);
        case INMSG_REPLY:
                m->result = get_any(o, "result");
                if ((r = get_uint(c, o, "id", true, BUS_MAX_ID, &m->id, &m->has_id)) < 0)
                        return r;
                return get_str(c, o, "sender", true, is_sender, &m->sender);
        case INMSG_ERROR:
                m->data = get_any(o, "data");
                if (jsonget_member(o, "id", &v) != JSONGET_OK)
                        return bad(c, "missing member 'id'");
                if (v && (r = get_uint(c, o, "id", true, BUS_MAX_ID, &m->id, &m->has_id)) < 0)
                        return r;
                if ((r = get_str(c, o, "code", true, syntax_is_code, &m->code)) < 0 ||
                    (r = get_str(c, o, "message", true, NULL, &m->message)) < 0)
                        return r;
                return get_str(c, o, "sender", true, is_sender, &m->sender);
        case INMSG_CALL:
                m->params = get_any(o, "params");
                if (jsonget_bool(o, "oneway", &m->oneway) == JSONGET_E_TYPE)
                        return bad(c, "member 'oneway' must be a boolean");
                if ((r = get_uint(c, o, "id", !m->oneway, BUS_MAX_ID, &m->id, &m->has_id)) < 0 ||
                    (r = get_str(c, o, "dest", true, is_dest, &m->dest)) < 0 ||
                    (r = get_str(c, o, "method", true, syntax_is_method, &m->method)) < 0 ||
                    (r = get_str(c, o, "sender", true, is_sender, &m->sender)) < 0)
                        return r;
                return check_creds(c, o, true);
        case INMSG_EVENT:
                m->data = get_any(o, "data");
                if ((r = get_str(c, o, "topic", true, syntax_is_topic, &m->topic)) < 0 ||
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

int inmsg_parse(struct jsonparse *p, const char *s, size_t len, struct inmsg **ret, char *errbuf, size_t errlen)
{
        struct json_object *root = NULL;
        const char *type;
        struct inmsg *m;
        int r;

        if (jsonparse_parse(p, s, len, &root, errbuf, errlen) < 0)
                return -EPROTO;
        if (jsonget_string(root, "type", &type, NULL) != JSONGET_OK) {
                snprintf(errbuf, errlen, "not an object with a string member 'type'");
                json_object_put(root);
                return -EPROTO;
        }
        m = calloc(1, sizeof(*m));
        if (!m) {
                json_object_put(root);
                return -ENOMEM;
        }
        list_init(&m->link);
        m->root = root;
        m->size = len;
        m->type = INMSG_LOCAL_DROPPED; /* the one type the daemon cannot send */
        for (size_t t = 0; t < INMSG_LOCAL_DROPPED; t++)
                if (strcmp(type, type_names[t]) == 0)
                        m->type = (enum inmsg_type)t;
        if (m->type == INMSG_LOCAL_DROPPED) {
                snprintf(errbuf, errlen, "unknown message type '%.40s'", type);
                inmsg_free(m);
                return -EPROTO;
        }
        struct check c = { m, errbuf, errlen };
        r = check_body(&c, root);
        if (r < 0) {
                inmsg_free(m);
                return r;
        }
        *ret = m;
        return 0;
}

struct inmsg *inmsg_new_local_dropped(void)
{
        struct inmsg *m = calloc(1, sizeof(*m));

        if (!m)
                return NULL;
        list_init(&m->link);
        m->type = INMSG_LOCAL_DROPPED;
        return m;
}

struct inmsg *inmsg_new_local(enum inmsg_type t, const char *text)
{
        struct inmsg *m = inmsg_new_local_dropped();

        if (!m)
                return NULL;
        m->type = t;
        m->root = json_object_new_string(text);
        if (!m->root) {
                free(m);
                return NULL;
        }
        m->message = m->name = json_object_get_string(m->root);
        return m;
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
        json_object_put(m->root);
        free(m);
}
