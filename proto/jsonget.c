/* jsonget.c: see jsonget.h. No I/O. */
#include "jsonget.h"

#include <json-c/json.h>

int jsonget_as_string(struct json_object *v, const char **ret, size_t *ret_len)
{
        if (!v || !json_object_is_type(v, json_type_string))
                return JSONGET_E_TYPE;
        *ret = json_object_get_string(v);
        if (ret_len)
                *ret_len = (size_t)json_object_get_string_len(v);
        return JSONGET_OK;
}

int jsonget_as_uint(struct json_object *v, uint64_t min, uint64_t max, uint64_t *ret)
{
        if (!v || !json_object_is_type(v, json_type_int))
                return JSONGET_E_TYPE;
        /* json-c keeps an integer as int64 or uint64: get_int64() of a value
         * beyond INT64_MAX is INT64_MAX, get_uint64() of a negative one 0 */
        uint64_t u = json_object_get_uint64(v);
        if (json_object_get_int64(v) < 0 || u < min || u > max)
                return JSONGET_E_RANGE;
        *ret = u;
        return JSONGET_OK;
}

int jsonget_as_bool(struct json_object *v, bool *ret)
{
        if (!v || !json_object_is_type(v, json_type_boolean))
                return JSONGET_E_TYPE;
        *ret = json_object_get_boolean(v);
        return JSONGET_OK;
}

int jsonget_member(struct json_object *o, const char *key, struct json_object **ret)
{
        struct json_object *v = NULL;

        if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v))
                return JSONGET_E_MISSING;
        *ret = v;
        return JSONGET_OK;
}

int jsonget_string(struct json_object *o, const char *key, const char **ret, size_t *ret_len)
{
        struct json_object *v;
        int r = jsonget_member(o, key, &v);

        return r != JSONGET_OK ? r : jsonget_as_string(v, ret, ret_len);
}

int jsonget_uint(struct json_object *o, const char *key, uint64_t min, uint64_t max, uint64_t *ret)
{
        struct json_object *v;
        int r = jsonget_member(o, key, &v);

        return r != JSONGET_OK ? r : jsonget_as_uint(v, min, max, ret);
}

int jsonget_bool(struct json_object *o, const char *key, bool *ret)
{
        struct json_object *v;
        int r = jsonget_member(o, key, &v);

        return r != JSONGET_OK ? r : jsonget_as_bool(v, ret);
}

static int typed_member(struct json_object *o, const char *key, enum json_type t, struct json_object **ret)
{
        struct json_object *v;
        int r = jsonget_member(o, key, &v);

        if (r != JSONGET_OK)
                return r;
        if (!v || !json_object_is_type(v, t))
                return JSONGET_E_TYPE;
        *ret = v;
        return JSONGET_OK;
}

int jsonget_array(struct json_object *o, const char *key, struct json_object **ret)
{
        return typed_member(o, key, json_type_array, ret);
}

int jsonget_object(struct json_object *o, const char *key, struct json_object **ret)
{
        return typed_member(o, key, json_type_object, ret);
}

const char *jsonget_string_or_null(struct json_object *o, const char *key)
{
        const char *s = NULL;

        jsonget_string(o, key, &s, NULL);
        return s;
}
