/* fuzz.h: what every fuzz target shares.
 *
 * Each target is one .c file defining LLVMFuzzerTestOneInput(). Built with
 * clang and -fsanitize=fuzzer (BUS_FUZZ=ON) it is a libFuzzer binary; in the
 * ordinary build it is linked with replay.c, which runs the committed corpus
 * through it. FUZZ_CHECK() states an invariant: it aborts (a crash for
 * libFuzzer, a failed test for the replay) and, unlike assert(), stays on
 * with NDEBUG.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                             \
        do {                                                                                         \
                if (!(cond)) {                                                                       \
                        fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
                        abort();                                                                     \
                }                                                                                    \
        } while (0)
