/* test_jsonget.c: proto/jsonget.c, typed reading of JSON values: every
 * outcome (ok, missing, wrong type, out of range) of every getter, JSON null,
 * integers at the edges of json-c's int64/uint64 representation, strings with
 * a NUL inside, and outputs untouched unless the outcome is JSONGET_OK. */
#include <json-c/json.h>
#include <stdint.h>
#include <string.h>

#include "jsonget.h"
#include "test.h"

static struct json_object *parse(const char *s)
{
        struct json_object *o = json_tokener_parse(s);

        CHECK(o);
        return o;
}

static void test_string(void)
{
        struct json_object *o = parse("{\"s\": \"abc\", \"e\": \"\", \"z\": \"a\\u0000b\", \"n\": null, \"i\": 5}");
        const char *s = "keep";
        size_t len = 99;

        CHECK_EQ_INT(jsonget_string(o, "s", &s, &len), JSONGET_OK);
        CHECK_STREQ(s, "abc");
        CHECK_EQ_INT(len, 3);
        CHECK_EQ_INT(jsonget_string(o, "e", &s, NULL), JSONGET_OK); /* ret_len may be NULL */
        CHECK_STREQ(s, "");
        CHECK_EQ_INT(jsonget_string(o, "z", &s, &len), JSONGET_OK);
        CHECK_EQ_INT(len, 3); /* the NUL counts: callers compare with strlen() */
        CHECK_EQ_INT(strlen(s), 1);

        s = "keep";
        len = 99;
        CHECK_EQ_INT(jsonget_string(o, "missing", &s, &len), JSONGET_E_MISSING);
        CHECK_EQ_INT(jsonget_string(o, "n", &s, &len), JSONGET_E_TYPE);
        CHECK_EQ_INT(jsonget_string(o, "i", &s, &len), JSONGET_E_TYPE);
        CHECK_STREQ(s, "keep");
        CHECK_EQ_INT(len, 99);

        /* not an object at all: nothing is there */
        struct json_object *arr = parse("[\"s\"]");
        CHECK_EQ_INT(jsonget_string(arr, "s", &s, &len), JSONGET_E_MISSING);
        CHECK_EQ_INT(jsonget_string(NULL, "s", &s, &len), JSONGET_E_MISSING);
        json_object_put(arr);

        CHECK_STREQ(jsonget_string_or_null(o, "s"), "abc");
        CHECK(jsonget_string_or_null(o, "i") == NULL);
        CHECK(jsonget_string_or_null(o, "n") == NULL);
        CHECK(jsonget_string_or_null(o, "missing") == NULL);
        CHECK(jsonget_string_or_null(NULL, "s") == NULL);

        struct json_object *v = json_object_new_string("x");
        CHECK_EQ_INT(jsonget_as_string(v, &s, &len), JSONGET_OK);
        CHECK_STREQ(s, "x");
        CHECK_EQ_INT(jsonget_as_string(NULL, &s, &len), JSONGET_E_TYPE);
        json_object_put(v);
        json_object_put(o);
}

static void test_uint(void)
{
        struct json_object *o = parse("{\"zero\": 0, \"five\": 5, \"neg\": -1, \"frac\": 5.0, \"str\": \"5\", "
                                      "\"null\": null, \"i64max\": 9223372036854775807, "
                                      "\"u64max\": 18446744073709551615, \"minneg\": -9223372036854775808}");
        uint64_t u = 42;

        CHECK_EQ_INT(jsonget_uint(o, "zero", 0, 10, &u), JSONGET_OK);
        CHECK_EQ_INT(u, 0);
        CHECK_EQ_INT(jsonget_uint(o, "five", 5, 5, &u), JSONGET_OK);
        CHECK_EQ_INT(u, 5);

        u = 42;
        CHECK_EQ_INT(jsonget_uint(o, "five", 6, 10, &u), JSONGET_E_RANGE);
        CHECK_EQ_INT(jsonget_uint(o, "five", 0, 4, &u), JSONGET_E_RANGE);
        CHECK_EQ_INT(jsonget_uint(o, "zero", 1, 10, &u), JSONGET_E_RANGE);
        CHECK_EQ_INT(jsonget_uint(o, "neg", 0, UINT64_MAX, &u), JSONGET_E_RANGE);
        CHECK_EQ_INT(jsonget_uint(o, "minneg", 0, UINT64_MAX, &u), JSONGET_E_RANGE);
        CHECK_EQ_INT(jsonget_uint(o, "frac", 0, 10, &u), JSONGET_E_TYPE);
        CHECK_EQ_INT(jsonget_uint(o, "str", 0, 10, &u), JSONGET_E_TYPE);
        CHECK_EQ_INT(jsonget_uint(o, "null", 0, 10, &u), JSONGET_E_TYPE);
        CHECK_EQ_INT(jsonget_uint(o, "missing", 0, 10, &u), JSONGET_E_MISSING);
        CHECK_EQ_INT(u, 42);

        /* beyond INT64_MAX json-c keeps a uint64: neither clamped nor negative */
        CHECK_EQ_INT(jsonget_uint(o, "i64max", 0, UINT64_MAX, &u), JSONGET_OK);
        CHECK(u == (uint64_t)INT64_MAX);
        CHECK_EQ_INT(jsonget_uint(o, "u64max", 0, UINT64_MAX, &u), JSONGET_OK);
        CHECK(u == UINT64_MAX);
        CHECK_EQ_INT(jsonget_uint(o, "u64max", 0, UINT32_MAX, &u), JSONGET_E_RANGE);
        CHECK_EQ_INT(jsonget_uint(o, "u64max", 0, (uint64_t)INT64_MAX, &u), JSONGET_E_RANGE);

        struct json_object *v = json_object_new_int64(7);
        CHECK_EQ_INT(jsonget_as_uint(v, 1, 600000, &u), JSONGET_OK);
        CHECK_EQ_INT(u, 7);
        CHECK_EQ_INT(jsonget_as_uint(NULL, 0, 10, &u), JSONGET_E_TYPE);
        json_object_put(v);
        json_object_put(o);
}

static void test_bool_array_object(void)
{
        struct json_object *o = parse("{\"t\": true, \"f\": false, \"one\": 1, \"a\": [1], \"o\": {}, \"n\": null}");
        struct json_object *v = (struct json_object *)0x1;
        bool b = false;

        CHECK_EQ_INT(jsonget_bool(o, "t", &b), JSONGET_OK);
        CHECK(b);
        CHECK_EQ_INT(jsonget_bool(o, "f", &b), JSONGET_OK);
        CHECK(!b);
        b = true;
        CHECK_EQ_INT(jsonget_bool(o, "one", &b), JSONGET_E_TYPE); /* 1 is not true */
        CHECK_EQ_INT(jsonget_bool(o, "n", &b), JSONGET_E_TYPE);
        CHECK_EQ_INT(jsonget_bool(o, "missing", &b), JSONGET_E_MISSING);
        CHECK(b);

        CHECK_EQ_INT(jsonget_array(o, "o", &v), JSONGET_E_TYPE);
        CHECK_EQ_INT(jsonget_array(o, "n", &v), JSONGET_E_TYPE);
        CHECK_EQ_INT(jsonget_array(o, "missing", &v), JSONGET_E_MISSING);
        CHECK(v == (struct json_object *)0x1);
        CHECK_EQ_INT(jsonget_array(o, "a", &v), JSONGET_OK);
        CHECK_EQ_INT(json_object_array_length(v), 1);
        CHECK_EQ_INT(jsonget_object(o, "a", &v), JSONGET_E_TYPE);
        CHECK_EQ_INT(jsonget_object(o, "o", &v), JSONGET_OK);
        CHECK(json_object_is_type(v, json_type_object));

        /* any value: null is present, and comes back as NULL */
        v = (struct json_object *)0x1;
        CHECK_EQ_INT(jsonget_member(o, "n", &v), JSONGET_OK);
        CHECK(v == NULL);
        v = (struct json_object *)0x1;
        CHECK_EQ_INT(jsonget_member(o, "missing", &v), JSONGET_E_MISSING);
        CHECK(v == (struct json_object *)0x1);
        CHECK_EQ_INT(jsonget_member(o, "one", &v), JSONGET_OK);
        CHECK_EQ_INT(json_object_get_int(v), 1);
        json_object_put(o);
}

int main(void)
{
        test_string();
        test_uint();
        test_bool_array_object();
        return 0;
}
