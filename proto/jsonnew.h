/* jsonnew.h: json-c constructors that never return NULL, for the daemon and
 * the command-line tool.
 *
 * The rule (CONTRIBUTING.md, "Allocation failure"): every allocation is
 * checked, and a json-c object is made only through these wrappers in busd/
 * and tools/. They abort the process with "out of memory" when json-c cannot
 * allocate, instead of handing back NULL, which json_object_object_add() and
 * json_object_array_add() would store silently as a JSON null (a wrong answer
 * on the wire, not a crash). Such objects are a few dozen bytes, every byte a
 * client can make the daemon hold is bounded (docs/guarantees.md), and a
 * process that cannot get them is being taken down by the kernel's OOM
 * handling anyway. libbus, a library, never aborts: it checks each
 * constructor and returns -ENOMEM. Header only, no I/O apart from the last
 * words on stderr.
 */
#pragma once

#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

__attribute__((noreturn, cold)) static inline void jsonnew_oom(void)
{
        fputs("out of memory (json-c)\n", stderr);
        abort();
}

static inline struct json_object *jsonnew_checked(struct json_object *o)
{
        if (!o)
                jsonnew_oom();
        return o;
}

static inline struct json_object *jsonnew_object(void)
{
        return jsonnew_checked(json_object_new_object());
}

static inline struct json_object *jsonnew_array(void)
{
        return jsonnew_checked(json_object_new_array());
}

static inline struct json_object *jsonnew_string(const char *s)
{
        return jsonnew_checked(json_object_new_string(s));
}

static inline struct json_object *jsonnew_string_len(const char *s, int len)
{
        return jsonnew_checked(json_object_new_string_len(s, len));
}

static inline struct json_object *jsonnew_boolean(int b)
{
        return jsonnew_checked(json_object_new_boolean(b));
}

static inline struct json_object *jsonnew_int(int32_t i)
{
        return jsonnew_checked(json_object_new_int(i));
}

static inline struct json_object *jsonnew_int64(int64_t i)
{
        return jsonnew_checked(json_object_new_int64(i));
}

static inline struct json_object *jsonnew_uint64(uint64_t i)
{
        return jsonnew_checked(json_object_new_uint64(i));
}

static inline struct json_object *jsonnew_double_s(double d, const char *text)
{
        return jsonnew_checked(json_object_new_double_s(d, text));
}
