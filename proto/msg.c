/* msg.c: see msg.h. Validation is table-driven: one row per member a message
 * type accepts. No I/O. */
#include "msg.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "buslimits.h"
#include "errcode.h"
#include "jsonparse.h"
#include "jsonscan.h"
#include "syntax.h"

enum kind {
        K_ID,   /* integer 0..2^53-1 */
        K_DEST, /* name or unique id */
        K_NAME, /* well-known name */
        K_METHOD,
        K_TOPIC,
        K_PATTERN,
        K_CODE,
        K_TEXT,    /* error message */
        K_DISPLAY, /* display name */
        K_ANY,
        K_BOOL,
        K_PROTOCOL,
        K_NAMES,   /* array of well-known names */
        K_METHODS, /* method declarations */
        K_SENDER,  /* a sender as the daemon stamps it: unique id, org.busd, BUS/:N */
        K_TYPES,   /* array of wire message types */
};

struct field {
        const char *key;
        enum kind kind;
        bool required;
        size_t offset; /* into struct msg */
};

#define F(k, kind, req, member)                            \
        {                                                  \
                k, kind, req, offsetof(struct msg, member) \
        }

static const struct field f_hello[] = {
        F("id", K_ID, false, id),
        F("protocol", K_PROTOCOL, false, id),
        F("name", K_DISPLAY, false, display),
        F("names", K_NAMES, false, names),
        F("methods", K_METHODS, false, methods),
        { NULL, 0, false, 0 },
};
static const struct field f_call[] = {
        F("id", K_ID, true, id),           F("dest", K_DEST, true, dest),      F("method", K_METHOD, true, method),
        F("params", K_ANY, false, params), F("oneway", K_BOOL, false, oneway), { NULL, 0, false, 0 },
};
static const struct field f_reply[] = {
        F("id", K_ID, true, id),
        F("result", K_ANY, false, result),
        { NULL, 0, false, 0 },
};
static const struct field f_error[] = {
        F("id", K_ID, true, id),           F("code", K_CODE, true, code), F("message", K_TEXT, true, message),
        F("data", K_ANY, false, err_data), { NULL, 0, false, 0 },
};
static const struct field f_cancel[] = {
        F("id", K_ID, true, id),
        { NULL, 0, false, 0 },
};
static const struct field f_publish[] = {
        F("id", K_ID, false, id),
        F("topic", K_TOPIC, true, topic),
        F("data", K_ANY, false, data),
        { NULL, 0, false, 0 },
};
static const struct field f_subscribe[] = {
        F("id", K_ID, false, id),
        F("pattern", K_PATTERN, true, pattern),
        F("lossy", K_BOOL, false, lossy),
        { NULL, 0, false, 0 },
};
static const struct field f_unsubscribe[] = {
        F("id", K_ID, false, id),
        F("pattern", K_PATTERN, true, pattern),
        { NULL, 0, false, 0 },
};
static const struct field f_request_name[] = {
        F("id", K_ID, false, id),
        F("name", K_NAME, true, name),
        F("allow_replacement", K_BOOL, false, allow_replacement),
        F("replace", K_BOOL, false, replace),
        F("queue", K_BOOL, false, queue),
        { NULL, 0, false, 0 },
};
static const struct field f_release_name[] = {
        F("id", K_ID, false, id),
        F("name", K_NAME, true, name),
        { NULL, 0, false, 0 },
};
static const struct field f_declare[] = {
        F("id", K_ID, false, id),
        F("methods", K_METHODS, true, methods),
        { NULL, 0, false, 0 },
};

static const struct field f_monitor[] = {
        F("id", K_ID, false, id),          F("name", K_NAME, false, name),
        F("from", K_SENDER, false, from),  F("topic", K_PATTERN, false, pattern),
        F("types", K_TYPES, false, types), { NULL, 0, false, 0 },
};

static const struct {
        const char *name;
        const struct field *fields;
} types[MSG_TYPE_COUNT] = {
        [MSG_HELLO] = { "hello", f_hello },
        [MSG_CALL] = { "call", f_call },
        [MSG_REPLY] = { "reply", f_reply },
        [MSG_ERROR] = { "error", f_error },
        [MSG_CANCEL] = { "cancel", f_cancel },
        [MSG_PUBLISH] = { "publish", f_publish },
        [MSG_SUBSCRIBE] = { "subscribe", f_subscribe },
        [MSG_UNSUBSCRIBE] = { "unsubscribe", f_unsubscribe },
        [MSG_REQUEST_NAME] = { "request_name", f_request_name },
        [MSG_RELEASE_NAME] = { "release_name", f_release_name },
        [MSG_DECLARE] = { "declare", f_declare },
        [MSG_MONITOR] = { "monitor", f_monitor },
};

static const char *const wire_types[MSG_WIRE_TYPES] = {
        "hello",     "call",        "reply",        "error",         "cancel",         "publish",
        "subscribe", "unsubscribe", "request_name", "release_name",  "declare",        "monitor",
        "welcome",   "event",       "dropped",      "name_acquired", NOTICE_NAME_LOST,
};

int msg_wire_type(const char *s, size_t len)
{
        for (int i = 0; i < MSG_WIRE_TYPES; i++)
                if (strlen(wire_types[i]) == len && memcmp(wire_types[i], s, len) == 0)
                        return i;
        return -1;
}

const char *msg_wire_type_name(int i)
{
        return i >= 0 && i < MSG_WIRE_TYPES ? wire_types[i] : "?";
}

const char *msg_type_name(enum msg_type t)
{
        return t < MSG_TYPE_COUNT ? types[t].name : "?";
}

const char *msg_error_code(enum msg_error e)
{
        switch (e) {
        case MSG_OK:
                return "ok";
        case MSG_E_UNKNOWN_TYPE:
                return ERRCODE_UNKNOWN_TYPE;
        case MSG_E_FORGED:
                return ERRCODE_FORGED_IDENTITY;
        case MSG_E_VERSION:
                return ERRCODE_UNSUPPORTED_VERSION;
        case MSG_E_INVALID:
                break;
        }
        return ERRCODE_INVALID_MESSAGE;
}

static const char *kind_what(enum kind k)
{
        switch (k) {
        case K_ID:
                return "an integer from 0 to 9007199254740991";
        case K_DEST:
                return "a well-known name (like org.example.Service), a unique id (like :42) or BUS/NAME (a name on "
                       "another bus of the bridge, like busd-b/org.example.Service)";
        case K_NAME:
                return "a well-known name like org.example.Service (2+ dot-separated elements of [A-Za-z0-9_-], "
                       "not starting with a digit, at most 255 bytes)";
        case K_METHOD:
                return "a method name (1-255 bytes of [A-Za-z0-9_.-], starting with a letter or _)";
        case K_TOPIC:
                return "a topic (dot-separated segments of [A-Za-z0-9_:@+-], at most 32 segments and 255 bytes, "
                       "no wildcards)";
        case K_PATTERN:
                return "a pattern (a topic whose segments may be * or, last, >)";
        case K_CODE:
                return "an error code (1-128 bytes of [A-Za-z0-9_.-])";
        case K_TEXT:
                return "a string of at most 1024 bytes without U+0000";
        case K_DISPLAY:
                return "a string of 1 to 64 bytes without U+0000";
        case K_BOOL:
                return "true or false";
        case K_PROTOCOL:
                return "the integer 1";
        case K_NAMES:
                return "an array of well-known names";
        case K_METHODS:
                return "an array of method declarations";
        case K_SENDER:
                return "a sender: a unique id (like :42), org.busd, or BUS/:N (a sender on another bus)";
        case K_TYPES:
                return "the message types hello, call, reply, error, cancel, publish, subscribe, "
                       "unsubscribe, request_name, release_name, declare, monitor, welcome, event, dropped, "
                       "name_acquired, name_lost";
        case K_ANY:
                break;
        }
        return "any JSON value";
}

/* A string member of a message, scanned (val) or from a tree (check_methods). */
static bool check_text(const char *s, size_t len, enum kind kind, struct msg_str *out)
{
        uint64_t unused;
        bool ok = false;

        /* json-c strings may hold \u0000; the syntax checks reject it except in text */
        switch (kind) {
        case K_DEST:
                ok = syntax_is_name(s, len) || syntax_parse_unique(s, len, &unused) || syntax_is_remote_dest(s, len);
                break;
        case K_NAME:
                ok = syntax_is_name(s, len);
                break;
        case K_METHOD:
                ok = syntax_is_method(s, len);
                break;
        case K_TOPIC:
                ok = syntax_is_topic(s, len);
                break;
        case K_PATTERN:
                ok = syntax_is_pattern(s, len);
                break;
        case K_CODE:
                ok = syntax_is_code(s, len);
                break;
        case K_TEXT:
                ok = len <= BUS_MAX_ERROR_MESSAGE && !memchr(s, 0, len);
                break;
        case K_DISPLAY:
                ok = len >= 1 && len <= BUS_MAX_DISPLAY_NAME && !memchr(s, 0, len);
                break;
        case K_SENDER: {
                const char *slash = memchr(s, '/', len);
                if (slash)
                        ok = syntax_is_bus(s, (size_t)(slash - s)) &&
                             syntax_parse_unique(slash + 1, len - (size_t)(slash - s) - 1, &unused);
                else
                        ok = syntax_parse_unique(s, len, &unused) ||
                             (len == strlen(BUS_DAEMON_NAME) && memcmp(s, BUS_DAEMON_NAME, len) == 0);
                break;
        }
        default:
                break;
        }
        if (ok) {
                out->s = s;
                out->len = len;
        }
        return ok;
}

static bool check_string(struct json_object *v, enum kind kind, struct msg_str *out)
{
        return json_object_is_type(v, json_type_string) &&
               check_text(json_object_get_string(v), (size_t)json_object_get_string_len(v), kind, out);
}

static int check_names(struct json_object *v, char *errbuf, size_t errlen)
{
        size_t n = json_object_array_length(v);

        for (size_t i = 0; i < n; i++) {
                struct json_object *e = json_object_array_get_idx(v, i);
                if (!json_object_is_type(e, json_type_string) ||
                    !syntax_is_name(json_object_get_string(e), (size_t)json_object_get_string_len(e))) {
                        snprintf(errbuf, errlen, "hello: names[%zu] must be %s", i, kind_what(K_NAME));
                        return -EINVAL;
                }
        }
        return 0;
}

/* Nesting depth of a value: 0 for scalars, 1 for a flat array or object. */
static int depth_of(struct json_object *v)
{
        int deepest = 0;

        if (json_object_is_type(v, json_type_array)) {
                size_t n = json_object_array_length(v);
                for (size_t i = 0; i < n; i++) {
                        int d = depth_of(json_object_array_get_idx(v, i));
                        deepest = d > deepest ? d : deepest;
                }
                return deepest + 1;
        }
        if (json_object_is_type(v, json_type_object)) {
                json_object_object_foreach(v, key, val)
                {
                        (void)key;
                        int d = depth_of(val);
                        deepest = d > deepest ? d : deepest;
                }
                return deepest + 1;
        }
        return 0;
}

int msg_check_methods(struct json_object *methods, char *errbuf, size_t errlen)
{
        if (!json_object_is_type(methods, json_type_array)) {
                snprintf(errbuf, errlen, "methods must be %s", kind_what(K_METHODS));
                return -EINVAL;
        }
        size_t n = json_object_array_length(methods);
        if (n > BUS_MAX_METHODS) {
                snprintf(errbuf, errlen, "methods: %zu declarations, at most %u allowed", n, BUS_MAX_METHODS);
                return -EINVAL;
        }
        for (size_t i = 0; i < n; i++) {
                struct json_object *d = json_object_array_get_idx(methods, i), *name = NULL;
                if (!json_object_is_type(d, json_type_object)) {
                        snprintf(errbuf, errlen, "methods[%zu] must be an object", i);
                        return -EINVAL;
                }
                json_object_object_foreach(d, key, val)
                {
                        if (strcmp(key, "name") == 0) {
                                name = val;
                        } else if (strcmp(key, "description") == 0) {
                                if (!json_object_is_type(val, json_type_string) ||
                                    json_object_get_string_len(val) > BUS_MAX_DESCRIPTION) {
                                        snprintf(errbuf, errlen,
                                                 "methods[%zu].description must be a string of at most %d bytes", i,
                                                 BUS_MAX_DESCRIPTION);
                                        return -EINVAL;
                                }
                        } else if (strcmp(key, "params") == 0 || strcmp(key, "result") == 0) {
                                if (depth_of(val) > BUS_MAX_SHAPE_DEPTH) {
                                        snprintf(errbuf, errlen, "methods[%zu].%s nests deeper than %d levels", i, key,
                                                 BUS_MAX_SHAPE_DEPTH);
                                        return -EINVAL;
                                }
                        } else {
                                snprintf(errbuf, errlen,
                                         "methods[%zu]: unknown member '%.64s' (allowed: name, description, params, "
                                         "result)",
                                         i, key);
                                return -EINVAL;
                        }
                }
                struct msg_str s;
                if (!name || !check_string(name, K_METHOD, &s)) {
                        snprintf(errbuf, errlen, "methods[%zu].name must be %s", i, kind_what(K_METHOD));
                        return -EINVAL;
                }
                for (size_t j = 0; j < i; j++) {
                        struct json_object *o, *dj = json_object_array_get_idx(methods, j);
                        if (json_object_object_get_ex(dj, "name", &o) && strcmp(json_object_get_string(o), s.s) == 0) {
                                snprintf(errbuf, errlen, "methods: '%s' is declared twice", s.s);
                                return -EINVAL;
                        }
                }
        }
        return 0;
}

static enum msg_type lookup_type(const char *s)
{
        for (int t = 0; t < MSG_TYPE_COUNT; t++)
                if (strcmp(types[t].name, s) == 0)
                        return (enum msg_type)t;
        return MSG_TYPE_COUNT;
}

static const struct field *lookup_field(const struct field *fields, const char *key)
{
        for (const struct field *f = fields; f->key; f++)
                if (strcmp(f->key, key) == 0)
                        return f;
        return NULL;
}

__attribute__((format(printf, 4, 5))) static enum msg_error fail(char *errbuf, size_t errlen, enum msg_error e,
                                                                 const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(errbuf, errlen, fmt, ap);
        va_end(ap);
        return e;
}

/* The tree of a member the daemon reads itself (names, methods): the text is
 * valid (jsonscan), so json-c parses it as it is. */
static enum msg_error tree_of(const struct jsonscan_value *val, struct json_object **ret, char *errbuf, size_t errlen)
{
        if (jsonparse_tree(val->raw.s, val->raw.len, ret) < 0)
                return fail(errbuf, errlen, MSG_E_INVALID, "out of memory");
        return MSG_OK;
}

/* The bits of a monitor's array of message types: each a wire type, at
 * least one. Read from a tree: a monitor request is no hot path. */
static enum msg_error types_of(const struct jsonscan_value *val, uint32_t *ret, char *errbuf, size_t errlen)
{
        struct json_object *tree = NULL;
        enum msg_error e = tree_of(val, &tree, errbuf, errlen);
        uint32_t bits = 0;

        if (e != MSG_OK)
                return e;
        size_t n = json_object_array_length(tree);
        for (size_t i = 0; i < n && e == MSG_OK; i++) {
                struct json_object *t = json_object_array_get_idx(tree, i);
                int k = json_object_is_type(t, json_type_string)
                                ? msg_wire_type(json_object_get_string(t), (size_t)json_object_get_string_len(t))
                                : -1;
                if (k < 0)
                        e = fail(errbuf, errlen, MSG_E_INVALID, "monitor: types[%zu] must be one of %s", i,
                                 kind_what(K_TYPES));
                else
                        bits |= 1u << k;
        }
        json_object_put(tree);
        if (e == MSG_OK && !bits)
                e = fail(errbuf, errlen, MSG_E_INVALID, "monitor: types must name at least one type");
        if (e == MSG_OK)
                *ret = bits;
        return e;
}

/* The message id, if the member "id" is one: any error can answer it. */
static bool id_of(const struct jsonscan_member *members, size_t n, uint64_t *ret)
{
        const struct jsonscan_member *id = jsonscan_find(members, n, "id");

        if (!id || id->value.type != JSONSCAN_INT || id->value.big || id->value.i < 0 ||
            (uint64_t)id->value.i > BUS_MAX_ID)
                return false;
        *ret = (uint64_t)id->value.i;
        return true;
}

enum msg_error msg_parse(const struct jsonscan_value *root, const struct jsonscan_member *members, size_t n,
                         struct msg *ret, char *errbuf, size_t errlen)
{
        memset(ret, 0, sizeof(*ret));
        ret->queue = true;
        if (root->type != JSONSCAN_OBJECT)
                return fail(errbuf, errlen, MSG_E_INVALID, "a message must be a JSON object");
        /* pick up the id first, so that any error can answer it */
        ret->has_id = id_of(members, n, &ret->id);
        const struct jsonscan_member *tm = jsonscan_find(members, n, "type");
        if (!tm)
                return fail(errbuf, errlen, MSG_E_INVALID, "missing member 'type'");
        if (tm->value.type != JSONSCAN_STRING)
                return fail(errbuf, errlen, MSG_E_INVALID, "member 'type' must be a string");
        const char *tname = tm->value.str;
        /* a type with a \u0000 in it is no type, even if its prefix is */
        enum msg_type t = strlen(tname) == tm->value.str_len ? lookup_type(tname) : MSG_TYPE_COUNT;
        if (t == MSG_TYPE_COUNT) {
                char shown[48];
                snprintf(shown, sizeof(shown), "%.40s", tname);
                return fail(errbuf, errlen, MSG_E_UNKNOWN_TYPE,
                            "unknown message type '%s' (client types: hello, call, reply, error, cancel, publish, "
                            "subscribe, unsubscribe, request_name, release_name, declare, monitor)",
                            shown);
        }
        ret->type = t;
        const struct field *fields = types[t].fields;
        unsigned seen = 0;

        for (size_t i = 0; i < n; i++) {
                const char *key = members[i].key;
                const struct jsonscan_value *val = &members[i].value;
                if (strcmp(key, "type") == 0)
                        continue;
                if (strcmp(key, "sender") == 0 || strcmp(key, "creds") == 0)
                        return fail(errbuf, errlen, MSG_E_FORGED,
                                    "member '%s' is stamped by the daemon; a client may not send it (%s)", key,
                                    types[t].name);
                const struct field *f = lookup_field(fields, key);
                if (!f) {
                        char shown[48];
                        snprintf(shown, sizeof(shown), "%.40s", key);
                        return fail(errbuf, errlen, MSG_E_INVALID, "unknown member '%s' in %s", shown, types[t].name);
                }
                seen |= 1u << (f - fields);
                char *slot = (char *)ret + f->offset;
                bool ok = true;
                enum msg_error e;

                switch (f->kind) {
                case K_ID:
                        ok = ret->has_id;
                        break;
                case K_PROTOCOL:
                        if (val->type != JSONSCAN_INT)
                                ok = false;
                        else if (val->big || val->i != BUS_PROTOCOL_VERSION)
                                return fail(errbuf, errlen, MSG_E_VERSION,
                                            "protocol version %.*s is not supported; this daemon speaks version 1",
                                            (int)(val->raw.len < 32 ? val->raw.len : 32), val->raw.s);
                        break;
                case K_BOOL:
                        ok = val->type == JSONSCAN_BOOL;
                        if (ok)
                                *(bool *)(void *)slot = val->b;
                        break;
                case K_ANY:
                        *(struct jsonscan_span *)(void *)slot = val->raw;
                        break;
                case K_NAMES:
                        ok = val->type == JSONSCAN_ARRAY;
                        if (ok) {
                                struct json_object **tree = (struct json_object **)(void *)slot;
                                if ((e = tree_of(val, tree, errbuf, errlen)) != MSG_OK)
                                        return e;
                                if (check_names(*tree, errbuf, errlen) < 0)
                                        return MSG_E_INVALID;
                        }
                        break;
                case K_TYPES:
                        ok = val->type == JSONSCAN_ARRAY;
                        if (ok && (e = types_of(val, (uint32_t *)(void *)slot, errbuf, errlen)) != MSG_OK)
                                return e;
                        break;
                case K_METHODS: {
                        struct json_object **tree = (struct json_object **)(void *)slot;
                        if ((e = tree_of(val, tree, errbuf, errlen)) != MSG_OK)
                                return e;
                        if (msg_check_methods(*tree, errbuf, errlen) < 0)
                                return MSG_E_INVALID;
                        break;
                }
                default:
                        ok = val->type == JSONSCAN_STRING &&
                             check_text(val->str, val->str_len, f->kind, (struct msg_str *)(void *)slot);
                        break;
                }
                if (!ok) {
                        snprintf(errbuf, errlen, "%s: member '%s' must be %s", types[t].name, key, kind_what(f->kind));
                        return MSG_E_INVALID;
                }
        }
        for (const struct field *f = fields; f->key; f++)
                if (f->required && !(seen & (1u << (f - fields))))
                        return fail(errbuf, errlen, MSG_E_INVALID, "%s: missing member '%s'", types[t].name, f->key);
        return MSG_OK;
}

void msg_release(struct msg *m)
{
        json_object_put(m->names);
        json_object_put(m->methods);
        m->names = m->methods = NULL;
}
