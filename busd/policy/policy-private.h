/* policy-private.h: the inside of a struct policy, shared by the parser
 * (policy_parse.c: JSON files -> policy) and the checker (policy.c: checks,
 * quotas, the embedded defaults). Nothing else includes it.
 *
 * Deliberately plain: a policy has tens of rules, so policy_check() scans the
 * rules in file order and, for each rule whose subject matches and that names
 * the verb, that rule's entries for the verb. No index, no allocation per
 * check. Strings (entries as written, methods, file paths) live in one arena,
 * `str`, referred to by offset, so the arena may grow while the parser runs.
 * A policy is immutable once policy_parse()/policy_default() returned it.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"

#define POL_NONE UINT32_MAX
/* At most this many rules, entries and quota overrides (each, all files
 * together): a bound on memory and on the time of one check. */
#define POL_MAX_ITEMS 65536u

/* What one entry matches. */
enum pol_kind {
        POL_ALL,     /* every object: "*" (own, see, call), or connect's `true` */
        POL_EXACT,   /* one well-known name */
        POL_PREFIX,  /* "a.b.*": names strictly below "a.b." */
        POL_PATTERN, /* a topic pattern (publish, subscribe) */
};

/* Whom a rule (or quota override) is for. */
enum pol_subject {
        POL_S_ANY, /* "*" */
        POL_S_UID,
        POL_S_GID,     /* primary or supplementary group */
        POL_S_NOT_UID, /* everyone but that uid */
        POL_S_NOT_GID, /* everyone not in that group (primary or supplementary) */
};

/* One entry of one rule for one verb, as written in the file. */
struct pol_entry {
        uint32_t text;   /* arena offset of the entry as written ("org.example.*", "*", "a.>") */
        uint32_t method; /* arena offset of the method, or POL_NONE: every method */
        uint32_t len;    /* strlen of text */
        uint8_t kind;    /* enum pol_kind */
};

/* One rule: entries[first[v], first[v] + count[v]) are its entries for verb v. */
struct pol_rule {
        uint32_t file;   /* index in policy.files */
        uint32_t index;  /* position in its file's "rules" array */
        uint32_t id;     /* uid or gid */
        uint8_t subject; /* enum pol_subject */
        bool deny;
        uint32_t first[POLICY_VERB_COUNT];
        uint32_t count[POLICY_VERB_COUNT];
};

/* Quota keys, in the order of the key table in policy_parse.c. */
enum pol_quota_key {
        POL_Q_CONNECTIONS,
        POL_Q_HANDSHAKES,
        POL_Q_PENDING_CALLS,
        POL_Q_NAMES,
        POL_Q_SUBSCRIPTIONS,
        POL_Q_QUEUE_BYTES,
        POL_Q_QUEUED_FDS,
        POL_Q_DECLARED_BYTES,
        POL_Q_HELD_BYTES,
        POL_Q_COUNT,
};

struct pol_override {
        uint32_t uid;
        uint32_t given; /* bit k: key k (enum pol_quota_key) is set */
        struct policy_quota q;
};

struct policy {
        char *str; /* the arena */
        size_t nstr, cstr;
        uint32_t *files; /* arena offsets of the paths */
        size_t nfiles, cfiles;
        struct pol_rule *rules;
        size_t nrules, crules;
        struct pol_entry *entries;
        size_t nentries, centries;
        struct pol_override *overrides;
        size_t noverrides, coverrides;
        bool allow[POLICY_VERB_COUNT];            /* the defaults */
        uint32_t default_file[POLICY_VERB_COUNT]; /* the file that set it, or POL_NONE (built in) */
        struct policy_quota quota;                /* built in, then the files' "default" */
        bool has_owner;                           /* the embedded user-bus policy */
        uid_t owner;
};

/* The built-in quota defaults (docs/policy.md, Quotas). */
void pol_quota_defaults(struct policy_quota *q);
/* A new empty policy: no rules, every default deny (fail closed), built-in
 * quotas. NULL when out of memory. Free with policy_free(). */
struct policy *pol_new(void);
/* Makes room for one more element in *arr (n used, *cap allocated, `size`
 * bytes each). Returns 0 or -ENOMEM; the array is unchanged on failure. */
int pol_grow(void **arr, size_t n, size_t *cap, size_t size);
/* Appends a NUL-terminated copy of s[0..len) to the arena. Returns 0 and its
 * offset, or -ENOMEM (also when the arena would pass 4 GiB). */
int pol_str(struct policy *p, const char *s, size_t len, uint32_t *ret_off);
