/* jsonget.h: typed reading of JSON values (json-c), the one set of member
 * readers for the daemon's parsers, libbus and the tools.
 *
 * jsonget_TYPE(o, key, ...) looks up the member `key` of the object o;
 * jsonget_as_TYPE(v, ...) checks a value already in hand (an array element,
 * a member met in json_object_object_foreach). Each returns an outcome the
 * caller turns into its own message:
 *   JSONGET_OK          present, of the type asked and within the bounds
 *   JSONGET_E_MISSING   no such member (or o is not an object)
 *   JSONGET_E_TYPE      present but of another type (JSON null included)
 *   JSONGET_E_RANGE     an integer outside [min, max] (negative included)
 * Outputs are written only on JSONGET_OK and borrow from the object (a string
 * lives as long as its json_object). Integers are json-c integers only: 1.0
 * is a number with a fraction, not an integer. Pure: no I/O, no allocation.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;

enum {
        JSONGET_OK = 0,
        JSONGET_E_MISSING = 1,
        JSONGET_E_TYPE = 2,
        JSONGET_E_RANGE = 3,
};

/* ---- a value in hand ------------------------------------------------------ */

/* A string: its bytes and length (which counts any NUL inside, as
 * json_object_get_string_len() does; callers that need a C string compare it
 * with strlen()). ret_len may be NULL. OK or E_TYPE. */
int jsonget_as_string(struct json_object *v, const char **ret, size_t *ret_len);
/* An integer in [min, max]. OK, E_TYPE or E_RANGE. */
int jsonget_as_uint(struct json_object *v, uint64_t min, uint64_t max, uint64_t *ret);
/* true or false. OK or E_TYPE. */
int jsonget_as_bool(struct json_object *v, bool *ret);

/* ---- a member of an object ------------------------------------------------ */

/* Any value; *ret is NULL for a JSON null. OK or E_MISSING. */
int jsonget_member(struct json_object *o, const char *key, struct json_object **ret);
int jsonget_string(struct json_object *o, const char *key, const char **ret, size_t *ret_len);
int jsonget_uint(struct json_object *o, const char *key, uint64_t min, uint64_t max, uint64_t *ret);
int jsonget_bool(struct json_object *o, const char *key, bool *ret);
/* An array or an object: the member itself. OK, E_MISSING or E_TYPE. */
int jsonget_array(struct json_object *o, const char *key, struct json_object **ret);
int jsonget_object(struct json_object *o, const char *key, struct json_object **ret);
/* The string member `key` of o, or NULL when it is missing or not a string:
 * for optional members and for display, where the outcome does not matter. */
const char *jsonget_string_or_null(struct json_object *o, const char *key);
