/* linkmsg.c: see linkmsg.h. Validation is table-driven: one row per member a
 * link message type has, in the order they are checked, and rule rows for
 * what concerns two members and the ends of the link (who may say what). Each
 * row carries the reason given when it fails. The rows read values in
 * jsonscan's form: the message's members as scanned, an element of names'
 * add (a json-c tree) turned into that form first. The rules are json-c's
 * reading of the message, as they were when it was parsed into a tree:
 * strings are looked at as C strings (up to a \u0000), a one-way flag is
 * true as json_object_get_boolean() says. Pure: no I/O; allocation only for
 * names' arrays.
 */
#include "linkmsg.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "buslimits.h"
#include "jsonget.h"
#include "jsonparse.h"
#include "jsonscan.h"
#include "syntax.h"

#define PROTOCOL_MAX 1000        /* a link_hello's protocol beyond is reported as 0 */
#define CREDS_MAX_ID 4294967294u /* uid and gid: (uid_t)-1 names nobody */
#define CREDS_MEMBERS 3          /* uid, gid, pid */
#define OFFER_MAX_HOPS UINT32_MAX

enum kind {
        K_END,        /* the end of a table */
        K_PROTOCOL,   /* the integer LINKMSG_PROTOCOL (link_hello) */
        K_HELLO_BUS,  /* the bus the link's certificate names (link_hello) */
        K_U64,        /* an integer 0 .. 2^64-1 */
        K_SEQ,        /* an integer from 1 */
        K_HOPS,       /* an integer from 1 to max_hops + 1 */
        K_OFFER_HOPS, /* an integer from 1 to OFFER_MAX_HOPS */
        K_TOPIC,      /* a topic, not a reserved one */
        K_DEST,       /* a well-known name or BUS/NAME */
        K_METHOD,     /* a method name */
        K_CODE,       /* an error code */
        K_BUS,        /* a bus name */
        K_NAME,       /* a well-known name, not a reserved one */
        K_SENDER,     /* a unique id or org.busd */
        K_STRING,     /* any string */
        K_CREDS,      /* {"uid", "gid", "pid"}, numbers, nothing else */
        K_TRUTHY,     /* any value, true as json-c reads it (true, a number but 0, a string but "") */
        K_ARRAY,      /* an array, its elements checked elsewhere (built into a json-c tree) */
        K_ANY,        /* any value, kept as its text */
        /* rules: no member of their own */
        R_RELAY,    /* an event's or call's origin and hops (LINKMSG_OURS when the origin is this bus) */
        R_OFFER,    /* an offer's origin and hops */
        R_ANSWERER, /* a reply's or error's sender */
};

enum presence {
        OPTIONAL,      /* absent or null: left out */
        REQUIRED,      /* absent or null: at fault */
        UNLESS_ONEWAY, /* a call's id: required, and not looked at in a one-way call */
};

struct field {
        const char *key; /* NULL in a rule */
        enum kind kind;
        enum presence presence;
        size_t offset;    /* of its value in the result (struct linkmsg or linkmsg_offer) */
        const char *what; /* the reason when it is at fault (NULL: the kind says it itself) */
};

#define M(key, kind, presence, member, what)                                \
        {                                                                   \
                key, kind, presence, offsetof(struct linkmsg, member), what \
        }
#define O(key, kind, member, what)                                                \
        {                                                                         \
                key, kind, REQUIRED, offsetof(struct linkmsg_offer, member), what \
        }

static const char why_origin[] = "'origin' must be a bus name";
static const char why_hops[] = "'hops' must be a number from 1";
static const char why_sender[] = "'sender' must be a unique id";
static const char why_creds[] = "'creds' must be {\"uid\", \"gid\", \"pid\"} numbers";

static const struct field f_link_hello[] = {
        { "protocol", K_PROTOCOL, REQUIRED, 0, NULL },
        { "bus", K_HELLO_BUS, REQUIRED, 0, NULL },
        M("epoch", K_U64, REQUIRED, epoch, "link_hello: 'epoch' must be a number"),
        { .kind = K_END },
};
static const struct field f_names[] = {
        M("add", K_ARRAY, OPTIONAL, add, "names: 'add' and 'remove' must be arrays"),
        M("remove", K_ARRAY, OPTIONAL, remove, "names: 'add' and 'remove' must be arrays"),
        { .kind = K_END },
};
static const struct field f_event[] = {
        M("topic", K_TOPIC, REQUIRED, topic, "event: 'topic' must be a topic"),
        M("epoch", K_U64, REQUIRED, epoch, "event: 'epoch' and 'seq' must be numbers"),
        M("seq", K_SEQ, REQUIRED, seq, "event: 'epoch' and 'seq' must be numbers"),
        M("origin", K_BUS, REQUIRED, origin, why_origin),
        M("hops", K_HOPS, REQUIRED, hops, why_hops),
        { .kind = R_RELAY },
        M("sender", K_SENDER, REQUIRED, sender, why_sender),
        M("creds", K_CREDS, REQUIRED, creds, why_creds),
        M("data", K_ANY, OPTIONAL, data, NULL),
        { .kind = K_END },
};
static const struct field f_call[] = {
        M("oneway", K_TRUTHY, OPTIONAL, oneway, NULL), /* first: it decides whether id is looked at */
        M("dest", K_DEST, REQUIRED, dest, "call: 'dest' must be a name or BUS/NAME"),
        M("method", K_METHOD, REQUIRED, method, "call: 'method' must be a method name"),
        M("id", K_U64, UNLESS_ONEWAY, id, "call: 'id' must be a number"),
        M("origin", K_BUS, REQUIRED, origin, why_origin),
        M("hops", K_HOPS, REQUIRED, hops, why_hops),
        { .kind = R_RELAY },
        M("sender", K_SENDER, REQUIRED, sender, why_sender),
        M("creds", K_CREDS, REQUIRED, creds, why_creds),
        M("params", K_ANY, OPTIONAL, params, NULL),
        { .kind = K_END },
};
static const struct field f_reply[] = {
        M("id", K_U64, REQUIRED, id, "reply: 'id' must be a number"),
        M("sender", K_STRING, REQUIRED, sender, "reply: 'sender' missing"),
        { .kind = R_ANSWERER },
        M("result", K_ANY, OPTIONAL, result, NULL),
        { .kind = K_END },
};
static const struct field f_error[] = {
        M("id", K_U64, REQUIRED, id, "error: 'id' must be a number"),
        M("sender", K_STRING, REQUIRED, sender, "error: 'sender' missing"),
        { .kind = R_ANSWERER },
        M("code", K_CODE, REQUIRED, code, "error: 'code' and 'message' must be strings"),
        M("message", K_STRING, REQUIRED, message, "error: 'code' and 'message' must be strings"),
        M("data", K_ANY, OPTIONAL, data, NULL),
        { .kind = K_END },
};
static const struct field f_cancel[] = {
        M("id", K_U64, REQUIRED, id, "cancel: 'id' must be a number"),
        { .kind = K_END },
};
static const struct field f_ack[] = {
        M("events", K_U64, REQUIRED, count, "ack: 'events' must be a number"),
        { .kind = K_END },
};
static const struct field f_none[] = { { .kind = K_END } };
/* an element of names' add, the reason prefixed with "names: add[i] " */
static const struct field f_offer[] = {
        O("name", K_NAME, name, "must be {\"name\", \"origin\", \"hops\"}"),
        O("origin", K_BUS, origin, "must be {\"name\", \"origin\", \"hops\"}"),
        O("hops", K_OFFER_HOPS, hops, "must be {\"name\", \"origin\", \"hops\"}"),
        { .kind = R_OFFER },
        { .kind = K_END },
};

static const struct {
        const char *name;
        const struct field *fields;
} types[LINKMSG_TYPE_COUNT] = {
        [LINKMSG_LINK_HELLO] = { "link_hello", f_link_hello },
        [LINKMSG_NAMES] = { "names", f_names },
        [LINKMSG_EVENT] = { "event", f_event },
        [LINKMSG_CALL] = { "call", f_call },
        [LINKMSG_REPLY] = { "reply", f_reply },
        [LINKMSG_ERROR] = { "error", f_error },
        [LINKMSG_CANCEL] = { "cancel", f_cancel },
        [LINKMSG_PING] = { "ping", f_none },
        [LINKMSG_PONG] = { "pong", f_none },
        [LINKMSG_ACK] = { "ack", f_ack },
};

__attribute__((format(printf, 3, 4))) static int bad(char *why, size_t whylen, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(why, whylen, fmt, ap);
        va_end(ap);
        return -EPROTO;
}

static bool is_sender(const char *s)
{
        uint64_t unused;

        return syntax_parse_unique(s, strlen(s), &unused) || strcmp(s, BUS_DAEMON_NAME) == 0;
}

/* What the rows read: the check's scanner for nested objects and the link. */
struct ctx {
        const struct linkmsg_link *link;
        struct jsonscan *nested;
};

/* Where check() finds members: the scanned message, or an element of names'
 * add (a json-c value, not necessarily an object). */
struct source {
        const struct jsonscan_member *members;
        size_t n;
        struct json_object *tree;
};

/* A json-c value in jsonscan's form, for the rows (an offer's members are
 * strings and integers; no row reads a double's or a container's text from a
 * tree, so those have none). */
static void value_of_tree(struct json_object *v, struct jsonscan_value *ret)
{
        memset(ret, 0, sizeof(*ret));
        switch (json_object_get_type(v)) {
        case json_type_boolean:
                ret->type = JSONSCAN_BOOL;
                ret->b = json_object_get_boolean(v);
                break;
        case json_type_int:
                ret->type = JSONSCAN_INT;
                ret->i = json_object_get_int64(v);
                if (ret->i == INT64_MAX && json_object_get_uint64(v) > (uint64_t)INT64_MAX) {
                        ret->big = true;
                        ret->u = json_object_get_uint64(v);
                }
                break;
        case json_type_double:
                ret->type = JSONSCAN_DOUBLE;
                break;
        case json_type_string:
                ret->type = JSONSCAN_STRING;
                ret->str = json_object_get_string(v);
                ret->str_len = (size_t)json_object_get_string_len(v);
                break;
        case json_type_array:
                ret->type = JSONSCAN_ARRAY;
                break;
        case json_type_object:
                ret->type = JSONSCAN_OBJECT;
                break;
        default:
                ret->type = JSONSCAN_NULL;
                break;
        }
}

/* The member key of src into *tmp: NULL if it is absent or null. */
static const struct jsonscan_value *member(const struct source *src, const char *key, struct jsonscan_value *tmp)
{
        if (!src->tree) {
                const struct jsonscan_member *m = jsonscan_find(src->members, src->n, key);
                return m && m->value.type != JSONSCAN_NULL ? &m->value : NULL;
        }
        struct json_object *v = NULL;
        if (jsonget_member(src->tree, key, &v) != JSONGET_OK || !v)
                return NULL;
        value_of_tree(v, tmp);
        return tmp;
}

/* An integer in [min, max] (as jsonget_as_uint() reads one). */
static bool as_uint(const struct jsonscan_value *v, uint64_t min, uint64_t max, uint64_t *ret)
{
        uint64_t u;

        if (!v || v->type != JSONSCAN_INT)
                return false;
        if (v->big)
                u = v->u;
        else if (v->i < 0)
                return false;
        else
                u = (uint64_t)v->i;
        if (u < min || u > max)
                return false;
        *ret = u;
        return true;
}

/* True as json_object_get_boolean() reads it: true, a number but 0, a string
 * but "" (U+0000 counts); false for anything else. */
static bool truthy(const struct jsonscan_value *v)
{
        switch (v->type) {
        case JSONSCAN_BOOL:
                return v->b;
        case JSONSCAN_INT:
                return v->big || v->i != 0;
        case JSONSCAN_DOUBLE:
                /* as json-c reads it: strtod() of the text (1e-400 is 0). The
                 * text is a member's value inside an object, so a byte that
                 * ends the number (',', '}', whitespace) follows it */
                return v->raw.s && strtod(v->raw.s, NULL) != 0;
        case JSONSCAN_STRING:
                return v->str_len != 0;
        default:
                return false;
        }
}

/* {"uid", "gid", "pid"}, in range, nothing else: read with the nested
 * scanner (the text is valid: only memory can fail). Returns 0, 1 if v is not
 * one (ret untouched), -ENOMEM. */
static int read_creds(const struct jsonscan_value *v, struct jsonscan *nested, struct linkmsg_creds *ret)
{
        const struct jsonscan_member *mem;
        struct jsonscan_value root;
        struct linkmsg_creds c;
        size_t n;

        if (!v || v->type != JSONSCAN_OBJECT || !v->raw.s)
                return 1;
        int r = jsonscan_parse(nested, v->raw.s, v->raw.len, &root, &mem, &n, NULL, 0);
        if (r == -ENOMEM)
                return r;
        if (r < 0 || n != CREDS_MEMBERS)
                return 1;
        const struct jsonscan_member *uid = jsonscan_find(mem, n, "uid"), *gid = jsonscan_find(mem, n, "gid"),
                                     *pid = jsonscan_find(mem, n, "pid");
        if (!uid || !as_uint(&uid->value, 0, CREDS_MAX_ID, &c.uid) || !gid ||
            !as_uint(&gid->value, 0, CREDS_MAX_ID, &c.gid) || !pid || !as_uint(&pid->value, 0, INT32_MAX, &c.pid))
                return 1;
        *ret = c;
        return 0;
}

/* Reads v (NULL: absent or null) as a member of this kind into slot. Returns
 * 0; 1 if it is not one (slot untouched); -ENOMEM. */
static int read_value(enum kind kind, const struct jsonscan_value *v, const struct ctx *cx, void *slot)
{
        const struct linkmsg_link *link = cx->link;
        uint64_t u;
        bool ok;

        switch (kind) {
        case K_PROTOCOL:
                return as_uint(v, 0, PROTOCOL_MAX, &u) && u == LINKMSG_PROTOCOL ? 0 : 1;
        case K_U64:
                return as_uint(v, 0, UINT64_MAX, slot) ? 0 : 1;
        case K_SEQ:
                return as_uint(v, 1, UINT64_MAX, slot) ? 0 : 1;
        case K_HOPS:
                return as_uint(v, 1, link->max_hops + 1, slot) ? 0 : 1;
        case K_OFFER_HOPS:
                return as_uint(v, 1, OFFER_MAX_HOPS, slot) ? 0 : 1;
        case K_CREDS:
                return read_creds(v, cx->nested, slot);
        case K_TRUTHY:
                *(bool *)slot = v && truthy(v);
                return 0;
        case K_ARRAY:
                if (!v || v->type != JSONSCAN_ARRAY || !v->raw.s)
                        return 1;
                /* the text is valid (jsonscan): json-c builds it as it is */
                return jsonparse_tree(v->raw.s, v->raw.len, slot) < 0 ? -ENOMEM : 0;
        case K_ANY:
                if (v)
                        *(struct jsonscan_span *)slot = v->raw;
                return 0;
        default:
                break;
        }
        /* the rest are strings, looked at as C strings: up to a \u0000 */
        if (!v || v->type != JSONSCAN_STRING)
                return 1;
        const char *s = v->str;
        size_t len = strlen(s);
        switch (kind) {
        case K_HELLO_BUS:
                return strcmp(s, link->remote) == 0 ? 0 : 1;
        case K_TOPIC:
                ok = syntax_is_topic(s, len) && !syntax_topic_is_reserved(s, len);
                break;
        case K_DEST:
                ok = syntax_is_name(s, len) || syntax_is_remote_dest(s, len);
                break;
        case K_METHOD:
                ok = syntax_is_method(s, len);
                break;
        case K_CODE:
                ok = syntax_is_code(s, len);
                break;
        case K_BUS:
                ok = syntax_is_bus(s, len);
                break;
        case K_NAME:
                ok = syntax_is_name(s, len) && !syntax_name_is_reserved(s, len);
                break;
        case K_SENDER:
                ok = is_sender(s);
                break;
        default: /* K_STRING */
                ok = true;
                break;
        }
        if (!ok)
                return 1;
        *(const char **)slot = s;
        return 0;
}

/* The reason a member of this kind (v: its value, NULL if absent) is at fault. */
static int fail(const struct field *f, const struct jsonscan_value *v, const struct linkmsg_link *link,
                const char *where, char *why, size_t whylen)
{
        uint64_t proto = 0;
        const char *bus = "";

        switch (f->kind) {
        case K_PROTOCOL:
                as_uint(v, 0, PROTOCOL_MAX, &proto); /* 0 unless an integer up to PROTOCOL_MAX */
                return bad(why, whylen, "link protocol %" PRIu64 " is not %d", proto, LINKMSG_PROTOCOL);
        case K_HELLO_BUS:
                if (v && v->type == JSONSCAN_STRING)
                        bus = v->str;
                return bad(why, whylen, "forged identity: the link_hello says '%.80s', the certificate '%s'", bus,
                           link->remote);
        default:
                return bad(why, whylen, "%s%s", where, f->what);
        }
}

/* A rule of kind over what the rows before it read into ret. Returns 0,
 * LINKMSG_OURS or -EPROTO. */
static int rule(enum kind kind, const struct linkmsg_link *link, const void *ret, char *why, size_t whylen)
{
        const struct linkmsg *m = ret;
        const struct linkmsg_offer *of = ret;

        switch (kind) {
        case R_RELAY:
                /* only the neighbour itself is one hop away; nobody may claim to be this bus */
                if (strcmp(m->origin, link->self) == 0)
                        return LINKMSG_OURS;
                if ((m->hops == 1) != (strcmp(m->origin, link->remote) == 0))
                        return bad(why, whylen,
                                   "forged identity: %s cannot relay a message from '%s' at %" PRIu64 " hops",
                                   link->remote, m->origin, m->hops);
                return 0;
        case R_OFFER:
                if ((of->hops == 1) != (strcmp(of->origin, link->remote) == 0))
                        return bad(why, whylen, "forged identity: %s offers '%s' of '%s' at %" PRIu64 " hops",
                                   link->remote, of->name, of->origin, of->hops);
                return 0;
        case R_ANSWERER: {
                const char *s = m->sender, *slash = strchr(s, '/');
                if (!slash)
                        return is_sender(s) ? 0 : bad(why, whylen, "answer sender must be a unique id");
                /* answered further away: BUS/SENDER, never claiming to be us */
                size_t blen = (size_t)(slash - s);
                if (!syntax_is_bus(s, blen) || (blen == strlen(link->self) && strncmp(s, link->self, blen) == 0) ||
                    !is_sender(slash + 1))
                        return bad(why, whylen, "forged identity: answer sender '%.80s'", s);
                return 0;
        }
        default:
                return 0;
        }
}

/* Checks src against fields, in order, filling ret (a struct linkmsg or
 * linkmsg_offer, as the rows' offsets say). A reason from a row's `what` is
 * prefixed with where. Returns 0, LINKMSG_OURS, -EPROTO or -ENOMEM (a tree
 * read into ret before stays there: the caller frees it). */
static int check(const struct field *fields, const struct source *src, const struct ctx *cx, void *ret,
                 const char *where, char *why, size_t whylen)
{
        for (const struct field *f = fields; f->kind != K_END; f++) {
                if (!f->key) {
                        int r = rule(f->kind, cx->link, ret, why, whylen);
                        if (r != 0)
                                return r;
                        continue;
                }
                if (f->presence == UNLESS_ONEWAY && ((const struct linkmsg *)ret)->oneway)
                        continue;
                struct jsonscan_value tmp;
                const struct jsonscan_value *v = member(src, f->key, &tmp);
                if (!v && f->presence == OPTIONAL)
                        continue;
                int r = read_value(f->kind, v, cx, (char *)ret + f->offset);
                if (r < 0) {
                        snprintf(why, whylen, "out of memory");
                        return r;
                }
                if (r > 0)
                        return fail(f, v, cx->link, where, why, whylen);
        }
        return 0;
}

int linkmsg_parse(const struct jsonscan_value *root, const struct jsonscan_member *members, size_t n,
                  const struct linkmsg_link *link, struct jsonscan *nested, struct linkmsg *ret, char *why,
                  size_t whylen)
{
        const struct jsonscan_member *tm = root->type == JSONSCAN_OBJECT ? jsonscan_find(members, n, "type") : NULL;
        const struct source src = { members, n, NULL };
        const struct ctx cx = { link, nested };
        struct linkmsg m = { 0 };
        const char *type;
        int t;

        if (!tm || tm->value.type != JSONSCAN_STRING)
                return bad(why, whylen, "not an object with a string 'type'");
        type = tm->value.str; /* as a C string, as the other strings */
        if (!link->hello_seen) {
                if (strcmp(type, types[LINKMSG_LINK_HELLO].name) != 0)
                        return bad(why, whylen, "the first message must be link_hello, not '%.40s'", type);
                t = LINKMSG_LINK_HELLO;
        } else {
                /* a second link_hello is no message of the link */
                for (t = LINKMSG_LINK_HELLO + 1; t < LINKMSG_TYPE_COUNT; t++)
                        if (strcmp(type, types[t].name) == 0)
                                break;
                if (t == LINKMSG_TYPE_COUNT)
                        return bad(why, whylen, "unknown link message type '%.40s'", type);
        }
        m.type = (enum linkmsg_type)t;
        int r = check(types[t].fields, &src, &cx, &m, "", why, whylen);
        if (r < 0) {
                linkmsg_release(&m);
                return r;
        }
        if (m.type == LINKMSG_EVENT || m.type == LINKMSG_ERROR)
                m.has_data = jsonscan_find(members, n, "data") != NULL;
        m.nadd = m.add ? json_object_array_length(m.add) : 0;
        m.nremove = m.remove ? json_object_array_length(m.remove) : 0;
        *ret = m;
        return r;
}

void linkmsg_release(struct linkmsg *m)
{
        json_object_put(m->add);
        json_object_put(m->remove);
        m->add = m->remove = NULL;
}

int linkmsg_names_remove(const struct linkmsg *m, size_t i, const char **ret_name, char *why, size_t whylen)
{
        struct json_object *e = i < m->nremove ? json_object_array_get_idx(m->remove, i) : NULL;
        const char *name;

        if (jsonget_as_string(e, &name, NULL) != JSONGET_OK || !syntax_is_name(name, strlen(name)))
                return bad(why, whylen, "names: remove[%zu] must be a name", i);
        *ret_name = name;
        return 0;
}

int linkmsg_names_add(const struct linkmsg *m, size_t i, const struct linkmsg_link *link, struct linkmsg_offer *ret,
                      char *why, size_t whylen)
{
        struct json_object *e = i < m->nadd ? json_object_array_get_idx(m->add, i) : NULL;
        struct linkmsg_offer of = { 0 };
        char where[sizeof("names: add[] ") + 20]; /* 20: the digits of a size_t */

        const struct source src = { NULL, 0, e };
        const struct ctx cx = { link, NULL };

        snprintf(where, sizeof(where), "names: add[%zu] ", i);
        int r = check(f_offer, &src, &cx, &of, where, why, whylen);
        if (r == 0)
                *ret = of;
        return r;
}
