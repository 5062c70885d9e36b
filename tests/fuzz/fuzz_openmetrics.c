/* fuzz_openmetrics.c: proto/openmetrics.c, the text of busd's GET /metrics
 * and `bus metrics`.
 *
 * Input: the first line is an HTTP Accept header (what a scraper sends,
 * untrusted) and picks the format; the rest is a stats answer as JSON (from a
 * daemon of any version: members of any type, labels with any bytes). The
 * negotiation gives one of the two formats; a render of an object succeeds
 * and of anything else is -EINVAL; the line "# EOF" ends the text once
 * (OpenMetrics) or is absent (0.0.4), every line is a comment or
 * `NAME[{LABELS}] VALUE` with NAME made of [a-z_], label values quoted and
 * escaped (no raw line feed) and VALUE a number; a `resource` label is made
 * of [a-z0-9_]. No leaks. */
#include <json-c/json.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "openmetrics.h"

static void check_line(const char *s, size_t len)
{
        FUZZ_CHECK(len > 0);
        if (s[0] == '#')
                return;
        size_t i = 0;
        while (i < len && ((s[i] >= 'a' && s[i] <= 'z') || s[i] == '_'))
                i++;
        FUZZ_CHECK(i > 0 && i < len);
        if (s[i] == '{') {
                /* label values: quoted, escapes only \\, \" and \n */
                i++;
                while (i < len && s[i] != '}') {
                        while (i < len && s[i] != '=')
                                i++;
                        FUZZ_CHECK(i + 1 < len && s[i + 1] == '"');
                        bool resource = i >= 8 && !memcmp(s + i - 8, "resource", 8);
                        i += 2;
                        for (size_t k = i; resource && k < len && s[k] != '"'; k++)
                                FUZZ_CHECK((s[k] >= 'a' && s[k] <= 'z') || (s[k] >= '0' && s[k] <= '9') || s[k] == '_');
                        while (i < len && s[i] != '"') {
                                if (s[i] == '\\') {
                                        FUZZ_CHECK(i + 1 < len &&
                                                   (s[i + 1] == '\\' || s[i + 1] == '"' || s[i + 1] == 'n'));
                                        i++;
                                }
                                i++;
                        }
                        FUZZ_CHECK(i < len);
                        i++;
                        if (i < len && s[i] == ',')
                                i++;
                }
                FUZZ_CHECK(i < len);
                i++;
        }
        FUZZ_CHECK(i < len && s[i] == ' ');
        for (i++; i < len; i++)
                FUZZ_CHECK((s[i] >= '0' && s[i] <= '9') || s[i] == '.');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *nl = memchr(data, '\n', size);
        size_t alen = nl ? (size_t)(nl - (const char *)data) : size;
        char *accept = malloc(alen + 1);

        FUZZ_CHECK(accept);
        memcpy(accept, data, alen);
        accept[alen] = 0;
        enum openmetrics_format f = openmetrics_negotiate(accept);
        FUZZ_CHECK(f == OPENMETRICS_TEXT || f == OPENMETRICS_PROMETHEUS);
        free(accept);
        if (!nl)
                return 0;

        struct json_tokener *tok = json_tokener_new();
        FUZZ_CHECK(tok);
        const char *json = nl + 1;
        size_t jlen = size - alen - 1;
        struct json_object *stats = json_tokener_parse_ex(tok, json, (int)(jlen > 1 << 20 ? 1 << 20 : jlen));
        json_tokener_free(tok);

        char *text = NULL;
        size_t len = 0;
        int r = openmetrics_render(stats, f, &text, &len);
        if (!json_object_is_type(stats, json_type_object)) {
                FUZZ_CHECK(r < 0 && !text);
                json_object_put(stats);
                return 0;
        }
        FUZZ_CHECK(r == 0 && text && strlen(text) == len);
        FUZZ_CHECK(len == 0 || text[len - 1] == '\n');
        size_t eofs = 0;
        for (const char *s = text; s < text + len;) {
                const char *end = memchr(s, '\n', (size_t)(text + len - s));
                FUZZ_CHECK(end);
                check_line(s, (size_t)(end - s));
                if (end - s == 5 && !memcmp(s, "# EOF", 5)) {
                        FUZZ_CHECK(end + 1 == text + len); /* the last line */
                        eofs++;
                }
                s = end + 1;
        }
        FUZZ_CHECK(eofs == (f == OPENMETRICS_TEXT));
        free(text);
        json_object_put(stats);
        return 0;
}
