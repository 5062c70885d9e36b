/* fuzz_actfile.c: the activation file parser (busd/config/actfile.c).
 *
 * Input: the name the file's name implies, a line feed, then the file's
 * text. With no line feed, or an empty first line, there is no expected name
 * (NULL). The text is handed over in a buffer of exactly its length, not
 * NUL-terminated, as busd/io/services.c reads it.
 *
 * Invariants: on success the entry is what actfile.h promises (a valid,
 * unreserved well-known name equal to the expected one; exactly one of a
 * non-empty NULL-terminated argv of at most ACTFILE_MAX_ARGS strings whose
 * first is an absolute path, and a unit name; a timeout from 1 to 600000 ms);
 * on failure the result is untouched and the reason is a non-empty string
 * that fits the buffer; either way no leak (actfile_deinit frees all). */
#include <errno.h>
#include <string.h>

#include "actfile.h"
#include "fuzz.h"
#include "syntax.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const uint8_t *nl = memchr(data, '\n', size);
        char *expected = NULL;

        if (nl && nl > data) {
                expected = strndup((const char *)data, (size_t)(nl - data));
                FUZZ_CHECK(expected);
        }
        if (nl) {
                size -= (size_t)(nl + 1 - data);
                data = nl + 1;
        }
        char *text = malloc(size ? size : 1);
        FUZZ_CHECK(text);
        memcpy(text, data, size);

        struct actfile a, untouched;
        char err[160];
        memset(&a, 0xa5, sizeof(a));
        memcpy(&untouched, &a, sizeof(a));
        memset(err, 'x', sizeof(err));
        int r = actfile_parse(text, size, expected, &a, err, sizeof(err));
        if (r == 0) {
                FUZZ_CHECK(a.name && syntax_is_name(a.name, strlen(a.name)));
                FUZZ_CHECK(!syntax_name_is_reserved(a.name, strlen(a.name)));
                FUZZ_CHECK(!expected || strcmp(expected, a.name) == 0);
                FUZZ_CHECK(!a.argv != !a.unit);
                if (a.argv) {
                        size_t n = 0;
                        while (a.argv[n]) {
                                FUZZ_CHECK(n < ACTFILE_MAX_ARGS);
                                n++;
                        }
                        FUZZ_CHECK(n >= 1 && a.argv[0][0] == '/');
                } else {
                        FUZZ_CHECK(a.unit[0] && a.unit[0] != '-' && strlen(a.unit) <= 255);
                }
                FUZZ_CHECK(a.timeout_ms >= 1 && a.timeout_ms <= 600000);
                actfile_deinit(&a);
        } else {
                FUZZ_CHECK(r == -EINVAL || r == -ENOMEM);
                FUZZ_CHECK(memcmp(&a, &untouched, sizeof(a)) == 0);
                FUZZ_CHECK(memchr(err, 0, sizeof(err)) != NULL && err[0] != 0);
        }
        free(text);
        free(expected);
        return 0;
}
