/* jsontext.h: a JSON value kept as its text.
 *
 * json-c's tree of a value costs far more than its text when the value is
 * made of many small parts: `[0,0,0,...]` takes about 70 bytes per 2-byte
 * element, 35 times what was sent. What the daemon keeps beyond the handling
 * of one message (method declarations, calls held while a service starts) is
 * kept as text instead, so that what it holds follows from the bytes it
 * received (held calls keep their params' text as it came: activate.h). A jsontext is a json-c object that holds only that text and
 * serialises to it verbatim (json-c's custom serializer): it is added to an
 * answer or relayed like the tree it stands for. It is for serialising only:
 * read as JSON it is an empty value of the same kind ([] for an array, {}
 * for an object, "" for a string, 0 or false for a scalar). Pure: no I/O.
 */
#pragma once

#include <stddef.h>

struct json_object;

/* A jsontext of `len` bytes of `text`, a JSON array the caller built (copied).
 * Returns 0 with a new reference in *ret, or -ENOMEM. */
int jsontext_array(const char *text, size_t len, struct json_object **ret);
/* The text of a jsontext made here (*ret_len bytes, not NUL-terminated),
 * valid while the object lives. */
const char *jsontext_text(struct json_object *o, size_t *ret_len);
