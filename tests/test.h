/* test.h: minimal assertions for unit and integration tests.
 *
 * CHECK() reports the failing expression with file and line and exits the
 * test binary with status 1, so ctest marks the test failed. No framework.
 */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                              \
        do {                                                                                     \
                if (!(cond)) {                                                                   \
                        fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
                        exit(1);                                                                 \
                }                                                                                \
        } while (0)

#define CHECK_EQ_INT(a, b)                                                                                            \
        do {                                                                                                          \
                long long _a = (long long)(a), _b = (long long)(b);                                                   \
                if (_a != _b) {                                                                                       \
                        fprintf(stderr, "%s:%d: CHECK failed: %s == %s (%lld != %lld)\n", __FILE__, __LINE__, #a, #b, \
                                _a, _b);                                                                              \
                        exit(1);                                                                                      \
                }                                                                                                     \
        } while (0)

#define CHECK_STREQ(a, b)                                                                                             \
        do {                                                                                                          \
                const char *_a = (a), *_b = (b);                                                                      \
                if (!_a || !_b || strcmp(_a, _b) != 0) {                                                              \
                        fprintf(stderr, "%s:%d: CHECK failed: %s == %s (\"%s\" != \"%s\")\n", __FILE__, __LINE__, #a, \
                                #b, _a ? _a : "(null)", _b ? _b : "(null)");                                          \
                        exit(1);                                                                                      \
                }                                                                                                     \
        } while (0)

/* Substring check, for error messages. */
#define CHECK_CONTAINS(hay, needle)                                                                          \
        do {                                                                                                 \
                const char *_h = (hay), *_n = (needle);                                                      \
                if (!_h || !strstr(_h, _n)) {                                                                \
                        fprintf(stderr, "%s:%d: CHECK failed: \"%s\" contains \"%s\"\n", __FILE__, __LINE__, \
                                _h ? _h : "(null)", _n);                                                     \
                        exit(1);                                                                             \
                }                                                                                            \
        } while (0)
