/* test_router_common.h: what the test_router*.c binaries share, on top of
 * test_core_fake.h. Header only. */
#pragma once

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "test_core_fake.h"

/* Checks the next message of f is an error with this code, and returns it. */
static inline struct json_object *expect_error(struct fake *f, const char *code)
{
        struct json_object *e = fake_expect(f, "error");
        if (strcmp(jstr(e, "code"), code) != 0) {
                fprintf(stderr, "%s: expected error %s, got %s\n", f->peer.unique, code,
                        json_object_to_json_string_ext(e, JSON_C_TO_STRING_PLAIN));
                exit(1);
        }
        CHECK_STREQ(jstr(e, "sender"), "org.busd");
        return e;
}
