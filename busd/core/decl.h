/* decl.h: the methods a connection declared (docs/protocol.md §2.5), kept
 * as text.
 *
 * A declaration arrives in hello or declare as a JSON array that msg.c has
 * validated. It is kept as its compact JSON text (a jsontext: no larger than
 * what was sent, less its spaces) and an index of its method names (8 bytes
 * per method) for `list`; never as json-c's tree, which costs up to 35 times
 * the text (jsontext.h). decl_bytes() is what it holds, counted against the
 * connection's limit and its uid's declared_bytes quota (session.c). Pure: no
 * I/O.
 */
#pragma once

#include <stddef.h>

struct json_object;
struct peer;
struct decl;

/* Keeps a validated declaration array. Returns 0 and a new decl in *ret, or
 * -ENOMEM. */
int decl_new(struct json_object *methods, struct decl **ret);
/* Accepts NULL. */
void decl_free(struct decl *d);
/* Bytes of text it holds (0 for NULL): counted against the limits. */
size_t decl_bytes(const struct decl *d);
/* The declaration array for an answer: a new reference ([] for NULL). */
struct json_object *decl_methods(const struct decl *d);
/* The declared method names, in order: a new array ([] for NULL). */
struct json_object *decl_names(const struct decl *d);
/* Replaces p's declaration with d (NULL: none), which p owns from now on,
 * freeing the old one and keeping its uid's declared_bytes count. */
void decl_set(struct peer *p, struct decl *d);
