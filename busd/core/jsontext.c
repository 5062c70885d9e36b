/* jsontext.c: see jsontext.h. The text lives in the object's userdata and
 * json-c calls put_text() wherever the object is serialised, alone or inside
 * another value. No I/O. */
#include "jsontext.h"

#include <errno.h>
#include <json-c/json.h>
#include <json-c/printbuf.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "jsonnew.h"
#include "wire.h"

struct text {
        size_t len;
        char data[];
};

static int put_text(struct json_object *o, struct printbuf *pb, int level, int flags)
{
        const struct text *t = json_object_get_userdata(o);

        (void)level;
        (void)flags;
        return printbuf_memappend(pb, t->data, (int)t->len) < 0 ? -1 : 0;
}

static void free_text(struct json_object *o, void *userdata)
{
        (void)o;
        free(userdata);
}

/* An empty value of type t that serialises to len bytes of text. */
static int make(enum json_type t, const char *text, size_t len, struct json_object **ret)
{
        struct json_object *o;
        struct text *x;

        if (len > INT_MAX) /* printbuf_memappend() takes an int */
                return -ENOMEM;
        x = malloc(sizeof(*x) + len);
        if (!x)
                return -ENOMEM;
        x->len = len;
        memcpy(x->data, text, len);
        switch (t) {
        case json_type_array:
                o = jsonnew_array();
                break;
        case json_type_object:
                o = jsonnew_object();
                break;
        case json_type_string:
                o = jsonnew_string("");
                break;
        case json_type_boolean:
                o = jsonnew_boolean(0);
                break;
        default: /* numbers */
                o = jsonnew_int(0);
                break;
        }
        json_object_set_serializer(o, put_text, x, free_text);
        *ret = o;
        return 0;
}

int jsontext_array(const char *text, size_t len, struct json_object **ret)
{
        return make(json_type_array, text, len, ret);
}

const char *jsontext_text(struct json_object *o, size_t *ret_len)
{
        const struct text *t = json_object_get_userdata(o);

        *ret_len = t->len;
        return t->data;
}
