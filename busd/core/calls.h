/* calls.h: calls waiting for an answer (docs/protocol.md §4.2).
 *
 * Each pending call has a serial, unique while the daemon runs, which is the
 * id the callee sees; the caller's own id is kept to answer it. A pending call
 * is linked into its caller's calls_out and its callee's calls_in, so both
 * sides can be cleaned up when either goes. Pure: no I/O.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "list.h"

struct peer;
struct calls;

struct pcall {
        uint64_t serial;    /* id given to the callee */
        uint64_t caller_id; /* id the caller chose */
        struct peer *caller;
        struct peer *callee;
        struct list caller_link; /* in caller->calls_out */
        struct list callee_link; /* in callee->calls_in */
        const char *name;        /* well-known name it was addressed to, or NULL */
        const char *method;      /* the method called */
        uint64_t policy_gen;     /* the policy it was allowed under (router.c) */
        char text[];             /* name and method */
};

struct calls *calls_new(void);
/* All calls must be gone. Accepts NULL. */
void calls_free(struct calls *c);
/* Records a call (name may be NULL) with copies of name and method. Returns
 * the new pending call or NULL on ENOMEM. */
struct pcall *calls_add(struct calls *c, struct peer *caller, uint64_t caller_id, struct peer *callee, const char *name,
                        const char *method);
/* The pending call with this serial, or NULL. */
struct pcall *calls_lookup(struct calls *c, uint64_t serial);
/* The caller's pending call with its own id, or NULL. */
struct pcall *calls_find_by_caller(struct peer *caller, uint64_t caller_id);
/* Forgets a pending call and frees it. */
void calls_remove(struct calls *c, struct pcall *pc);
size_t calls_count(const struct calls *c);
