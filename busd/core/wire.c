/* wire.c: see wire.h. No I/O. */
#include "wire.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "jsonnew.h"
#include "jsonscan.h"

/* Starting sizes of the bufs the builders fill (they grow as needed). */
#define HEAD_BYTES 64    /* the members around the strings spliced into an event */
#define SMALL_BYTES 128  /* a reply, or a call without its names and payload */
#define OBJECT_BYTES 256 /* an error, or an object json-c serialises */
/* Room for a 64-bit integer in decimal. */
#define NUM_MAX 32

/* Appends JSON for obj (json-c's serialisation; NULL is null). */
static int put_json(struct buf **b, struct json_object *obj)
{
        size_t len;
        const char *s;

        if (!obj)
                return buf_append(b, "null", 4);
        s = json_object_to_json_string_length(obj, WIRE_JSON_FLAGS, &len);
        if (!s)
                return -1;
        return buf_append(b, s, len);
}

/* Appends a JSON string; text of any content is escaped by json-c. */
/* Appends a payload as sent (null when absent), without its whitespace. */
static int put_span(struct buf **b, const struct jsonscan_span *sp)
{
        if (!sp || !sp->s)
                return buf_append(b, "null", 4);
        size_t at = (*b)->len;
        if (buf_append(b, sp->s, sp->len) < 0)
                return -1;
        if (sp->spaced)
                (*b)->len = at + jsonscan_compact(sp->s, sp->len, (*b)->data + at);
        return 0;
}

static size_t span_len(const struct jsonscan_span *sp)
{
        return sp && sp->s ? sp->len : 4;
}

struct jsonscan_span wire_span_of(struct json_object *obj)
{
        struct jsonscan_span sp = { NULL, 0, false };

        if (obj)
                sp.s = json_object_to_json_string_length(obj, WIRE_JSON_FLAGS, &sp.len);
        return sp;
}

static int put_string(struct buf **b, const char *s)
{
        struct json_object *o = jsonnew_string(s);
        int r = o ? put_json(b, o) : -1;

        json_object_put(o);
        return r;
}

static int put(struct buf **b, const char *s)
{
        return buf_append_str(b, s);
}

static struct buf *finish(struct buf *b, int failed)
{
        if (failed || buf_append(&b, "\n", 1) < 0) {
                buf_unref(b);
                return NULL;
        }
        return b;
}

struct buf *wire_event(const char *topic, size_t topic_len, const struct jsonscan_span *data, const char *ident,
                       size_t ident_len)
{
        struct buf *b = buf_new(HEAD_BYTES + topic_len + ident_len + span_len(data));
        int r = 0;

        if (!b)
                return NULL;
        /* topics are validated to need no escaping */
        r |= put(&b, "{\"type\":\"event\",\"topic\":\"");
        r |= buf_append(&b, topic, topic_len);
        r |= put(&b, "\",\"data\":");
        r |= put_span(&b, data);
        r |= buf_append(&b, ident, ident_len);
        r |= put(&b, "}");
        return finish(b, r);
}

struct buf *wire_call(bool oneway, uint64_t serial, const char *dest, const char *method,
                      const struct jsonscan_span *params, const char *ident, size_t ident_len)
{
        struct buf *b = buf_new(SMALL_BYTES + strlen(dest) + strlen(method) + ident_len + span_len(params));
        char num[NUM_MAX];
        int r = 0;

        if (!b)
                return NULL;
        if (oneway) {
                r |= put(&b, "{\"type\":\"call\",\"oneway\":true");
        } else {
                snprintf(num, sizeof(num), "%" PRIu64, serial);
                r |= put(&b, "{\"type\":\"call\",\"id\":");
                r |= put(&b, num);
        }
        /* names and methods are validated to need no escaping */
        r |= put(&b, ",\"dest\":\"");
        r |= put(&b, dest);
        r |= put(&b, "\",\"method\":\"");
        r |= put(&b, method);
        r |= put(&b, "\",\"params\":");
        r |= put_span(&b, params);
        r |= buf_append(&b, ident, ident_len);
        r |= put(&b, "}");
        return finish(b, r);
}

struct buf *wire_reply(uint64_t id, const struct jsonscan_span *result, const char *sender)
{
        struct buf *b = buf_new(SMALL_BYTES + span_len(result));
        char num[NUM_MAX];
        int r = 0;

        if (!b)
                return NULL;
        snprintf(num, sizeof(num), "%" PRIu64, id);
        r |= put(&b, "{\"type\":\"reply\",\"id\":");
        r |= put(&b, num);
        r |= put(&b, ",\"result\":");
        r |= put_span(&b, result);
        r |= put(&b, ",\"sender\":\"");
        r |= put(&b, sender); /* a unique id or org.busd */
        r |= put(&b, "\"}");
        return finish(b, r);
}

struct buf *wire_reply_tree(uint64_t id, struct json_object *result, const char *sender)
{
        struct jsonscan_span sp = wire_span_of(result);

        return wire_reply(id, &sp, sender);
}

/* wire_error() and wire_relayed_error(): "data" unless data->s is NULL. */
static struct buf *error_of(bool has_id, uint64_t id, int64_t call, const char *code, const char *message,
                            const char *sender, const struct jsonscan_span *data)
{
        struct buf *b = buf_new(OBJECT_BYTES + span_len(data));
        char num[NUM_MAX];
        int r = 0;

        if (!b)
                return NULL;
        snprintf(num, sizeof(num), "%" PRIu64, id);
        r |= put(&b, "{\"type\":\"error\",\"id\":");
        r |= put(&b, has_id ? num : "null");
        if (call >= 0) {
                snprintf(num, sizeof(num), "%" PRId64, call);
                r |= put(&b, ",\"call\":");
                r |= put(&b, num);
        }
        r |= put(&b, ",\"code\":\"");
        r |= put(&b, code); /* validated or ours */
        r |= put(&b, "\",\"message\":");
        r |= put_string(&b, message);
        r |= put(&b, ",\"sender\":\"");
        r |= put(&b, sender);
        r |= put(&b, "\"");
        if (data->s) {
                r |= put(&b, ",\"data\":");
                r |= put_span(&b, data);
        }
        r |= put(&b, "}");
        return finish(b, r);
}

struct buf *wire_error(bool has_id, uint64_t id, int64_t call, const char *code, const char *message,
                       const char *sender, struct json_object *data)
{
        struct jsonscan_span sp = wire_span_of(data); /* no data: none */

        return error_of(has_id, id, call, code, message, sender, &sp);
}

struct buf *wire_relayed_error(uint64_t id, const char *code, const char *message, const char *sender,
                               const struct jsonscan_span *data)
{
        return error_of(true, id, -1, code, message, sender, data);
}

struct buf *wire_object(struct json_object *obj)
{
        struct buf *b = buf_new(OBJECT_BYTES);

        if (!b)
                return NULL;
        /* put_json() may move b: read it only afterwards (argument order is unspecified) */
        int r = put_json(&b, obj);
        return finish(b, r);
}

int wire_put_string(struct buf **b, const char *s)
{
        return put_string(b, s);
}

int wire_put_span(struct buf **b, const struct jsonscan_span *sp)
{
        return put_span(b, sp);
}

char *wire_ident(const char *unique, unsigned uid, unsigned gid, int pid, size_t *ret_len)
{
        char *s = NULL;
        int n = asprintf(&s, ",\"sender\":\"%s\",\"creds\":{\"uid\":%u,\"gid\":%u,\"pid\":%d}", unique, uid, gid, pid);

        if (n < 0)
                return NULL;
        *ret_len = (size_t)n;
        return s;
}
