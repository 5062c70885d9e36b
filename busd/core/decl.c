/* decl.c: see decl.h. The text is built here, one member at a time with the
 * name first, so that each name's place in it is known: names are
 * [A-Za-z0-9_.-] (method syntax) and appear in the text unescaped. No I/O. */
#include "decl.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "jsonnew.h"
#include "jsontext.h"
#include "peer.h"
#include "quota.h"
#include "wire.h"

/* Room to start building the text with, per method. */
#define DECL_GUESS_PER_METHOD 64

struct decl_name {
        uint32_t off, len; /* in the text */
};

struct decl {
        struct json_object *text; /* jsontext of the whole array */
        size_t bytes;
        size_t n;
        struct decl_name names[];
};

/* Appends value's compact serialisation. */
static int put_json(struct buf **b, struct json_object *v)
{
        size_t len;
        const char *s = json_object_to_json_string_length(v, WIRE_JSON_FLAGS, &len);

        return s ? buf_append(b, s, len) : -1;
}

/* Appends method i ({"name":"N",...}) and records where N is. */
static int put_method(struct buf **b, struct json_object *d, struct decl_name *name)
{
        struct json_object *v;
        int r = 0;

        if (!json_object_object_get_ex(d, "name", &v))
                return -1; /* validated: cannot happen */
        r |= buf_append_str(b, "{\"name\":\"");
        name->off = (uint32_t)(*b)->len;
        name->len = (uint32_t)json_object_get_string_len(v);
        r |= buf_append(b, json_object_get_string(v), name->len);
        r |= buf_append_str(b, "\"");
        json_object_object_foreach(d, key, val)
        {
                /* the other members are description, params and result (validated) */
                if (strcmp(key, "name") == 0)
                        continue;
                r |= buf_append_str(b, ",\"");
                r |= buf_append_str(b, key);
                r |= buf_append_str(b, "\":");
                r |= val ? put_json(b, val) : buf_append_str(b, "null");
        }
        r |= buf_append_str(b, "}");
        return r;
}

int decl_new(struct json_object *methods, struct decl **ret)
{
        size_t n = json_object_array_length(methods);
        struct decl *d = calloc(1, sizeof(*d) + n * sizeof(d->names[0]));
        struct buf *b = buf_new(DECL_GUESS_PER_METHOD * (n + 1));
        int r = 0;

        if (!d || !b) {
                free(d);
                buf_unref(b);
                return -ENOMEM;
        }
        r |= buf_append_str(&b, "[");
        for (size_t i = 0; i < n && r == 0; i++) {
                if (i)
                        r |= buf_append_str(&b, ",");
                r |= put_method(&b, json_object_array_get_idx(methods, i), &d->names[i]);
        }
        r |= buf_append_str(&b, "]");
        /* the names' offsets are 32 bits: a message is far smaller */
        if (r != 0 || b->len > UINT32_MAX || jsontext_array(b->data, b->len, &d->text) < 0) {
                buf_unref(b);
                free(d);
                return -ENOMEM;
        }
        d->bytes = b->len;
        d->n = n;
        buf_unref(b);
        *ret = d;
        return 0;
}

void decl_free(struct decl *d)
{
        if (!d)
                return;
        json_object_put(d->text);
        free(d);
}

size_t decl_bytes(const struct decl *d)
{
        return d ? d->bytes : 0;
}

struct json_object *decl_methods(const struct decl *d)
{
        return d ? json_object_get(d->text) : jsonnew_array();
}

struct json_object *decl_names(const struct decl *d)
{
        struct json_object *a = jsonnew_array();
        size_t len;
        const char *text = d ? jsontext_text(d->text, &len) : NULL;

        for (size_t i = 0; d && i < d->n; i++)
                json_object_array_add(a, jsonnew_string_len(text + d->names[i].off, (int)d->names[i].len));
        return a;
}

void decl_set(struct peer *p, struct decl *d)
{
        quota_sub(p->acct, QUOTA_DECLARED_BYTES, decl_bytes(p->decl));
        decl_free(p->decl);
        p->decl = d;
        quota_add(p->acct, QUOTA_DECLARED_BYTES, decl_bytes(d));
}
