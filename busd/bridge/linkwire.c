/* linkwire.c: see linkwire.h. No I/O. */
#include "linkwire.h"

#include <string.h>

#include "buf.h"
#include "jsonscan.h"
#include "wire.h"

/* Starting size of a message besides its strings and payload (it grows as needed). */
#define HEAD_BYTES 192

static size_t span_len(const struct jsonscan_span *sp)
{
        return sp && sp->s ? sp->len : 4;
}

/* Appends s as a JSON string: as it is when it needs no escaping (the names,
 * topics and bus names the links carry never do), else escaped by wire.c. */
static int put_str(struct buf **b, const char *s)
{
        size_t len = strlen(s);

        for (size_t i = 0; i < len; i++)
                if ((unsigned char)s[i] < 0x20 || s[i] == '"' || s[i] == '\\')
                        return wire_put_string(b, s);
        int r = buf_append(b, "\"", 1);
        r |= buf_append(b, s, len);
        r |= buf_append(b, "\"", 1);
        return r;
}

/* Appends `head` (,"name":) and an unsigned integer. */
static int put_u64(struct buf **b, const char *head, uint64_t v)
{
        int r = buf_append_str(b, head);
        return r ? r : buf_append_u64(b, v);
}

/* Appends ,"sender":S,"creds":{...} and the closing brace and line feed. */
static int put_sender(struct buf **b, const struct linkwire_ident *id)
{
        int r = buf_append_str(b, ",\"sender\":");

        r |= put_str(b, id->sender);
        r |= put_u64(b, ",\"creds\":{\"uid\":", id->uid);
        r |= put_u64(b, ",\"gid\":", id->gid);
        r |= buf_append_str(b, ",\"pid\":");
        r |= buf_append_i64(b, id->pid);
        r |= buf_append(b, "}}\n", 3);
        return r;
}

static struct buf *finish(struct buf *b, int failed)
{
        if (failed) {
                buf_unref(b);
                return NULL;
        }
        return b;
}

struct buf *linkwire_event(const char *topic, uint64_t epoch, uint64_t seq, const struct jsonscan_span *data,
                           const struct linkwire_ident *id)
{
        struct buf *b = buf_new(HEAD_BYTES + strlen(id->origin) + strlen(topic) + strlen(id->sender) + span_len(data));
        int r = 0;

        if (!b)
                return NULL;
        r |= buf_append_str(&b, "{\"type\":\"event\",\"origin\":");
        r |= put_str(&b, id->origin);
        r |= put_u64(&b, ",\"epoch\":", epoch);
        r |= put_u64(&b, ",\"seq\":", seq);
        r |= put_u64(&b, ",\"hops\":", id->hops);
        r |= buf_append_str(&b, ",\"topic\":");
        r |= put_str(&b, topic);
        r |= buf_append_str(&b, ",\"data\":");
        r |= wire_put_span(&b, data);
        r |= put_sender(&b, id);
        return finish(b, r);
}

struct buf *linkwire_call(bool oneway, uint64_t serial, const char *dest, const char *method,
                          const struct jsonscan_span *params, const struct linkwire_ident *id)
{
        struct buf *b = buf_new(HEAD_BYTES + strlen(dest) + strlen(method) + strlen(id->origin) + strlen(id->sender) +
                                span_len(params));
        int r = 0;

        if (!b)
                return NULL;
        if (oneway) {
                r |= buf_append_str(&b, "{\"type\":\"call\",\"oneway\":true");
        } else {
                r |= buf_append_str(&b, "{\"type\":\"call\"");
                r |= put_u64(&b, ",\"id\":", serial);
        }
        r |= buf_append_str(&b, ",\"dest\":");
        r |= put_str(&b, dest);
        r |= buf_append_str(&b, ",\"method\":");
        r |= put_str(&b, method);
        r |= buf_append_str(&b, ",\"params\":");
        r |= wire_put_span(&b, params);
        r |= buf_append_str(&b, ",\"origin\":");
        r |= put_str(&b, id->origin);
        r |= put_u64(&b, ",\"hops\":", id->hops);
        r |= put_sender(&b, id);
        return finish(b, r);
}
