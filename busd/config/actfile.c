/* actfile.c: see actfile.h. No I/O. */
#include "actfile.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buslimits.h"
#include "jsonget.h"
#include "jsonparse.h"
#include "syntax.h"

void actfile_deinit(struct actfile *a)
{
        free(a->name);
        if (a->argv)
                for (char **p = a->argv; *p; p++)
                        free(*p);
        free(a->argv);
        free(a->unit);
        memset(a, 0, sizeof(*a));
}

static bool is_unit_name(const char *s, size_t len)
{
        /* systemd unit names: [A-Za-z0-9:_.\@-], with a type suffix; never an option */
        if (len == 0 || len > 255 || s[0] == '-' || !strchr(s, '.'))
                return false;
        for (size_t i = 0; i < len; i++) {
                char c = s[i];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ':' ||
                      c == '_' || c == '.' || c == '\\' || c == '@' || c == '-'))
                        return false;
        }
        return true;
}

static int parse_exec(struct json_object *v, struct actfile *a, char *errbuf, size_t errlen)
{
        size_t n = json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 0;

        if (n == 0 || n > ACTFILE_MAX_ARGS) {
                snprintf(errbuf, errlen, "exec must be an array of 1 to %d strings", ACTFILE_MAX_ARGS);
                return -EINVAL;
        }
        a->argv = calloc(n + 1, sizeof(char *));
        if (!a->argv)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const char *s;
                size_t len;
                if (jsonget_as_string(json_object_array_get_idx(v, i), &s, &len) != JSONGET_OK || memchr(s, 0, len)) {
                        snprintf(errbuf, errlen, "exec[%zu] must be a string without NUL", i);
                        return -EINVAL;
                }
                if (!(a->argv[i] = strdup(s)))
                        return -ENOMEM;
        }
        if (a->argv[0][0] != '/') {
                snprintf(errbuf, errlen, "exec[0] must be an absolute path, not '%.100s'", a->argv[0]);
                return -EINVAL;
        }
        return 0;
}

static int parse_members(struct json_object *root, const char *expected, struct actfile *a, char *errbuf, size_t errlen)
{
        if (!json_object_is_type(root, json_type_object)) {
                snprintf(errbuf, errlen, "an activation file holds a JSON object");
                return -EINVAL;
        }
        json_object_object_foreach(root, key, val)
        {
                const char *s = NULL;
                size_t len = 0;
                jsonget_as_string(val, &s, &len);
                if (strcmp(key, "name") == 0) {
                        if (!s || !syntax_is_name(s, len) || syntax_name_is_reserved(s, strlen(s))) {
                                snprintf(errbuf, errlen, "name must be a well-known name not reserved to the daemon");
                                return -EINVAL;
                        }
                        if (!(a->name = strdup(s)))
                                return -ENOMEM;
                } else if (strcmp(key, "exec") == 0) {
                        int r = parse_exec(val, a, errbuf, errlen);
                        if (r < 0)
                                return r;
                } else if (strcmp(key, "systemd_unit") == 0) {
                        if (!s || !is_unit_name(s, len)) {
                                snprintf(errbuf, errlen, "systemd_unit must be a unit name like clock.service");
                                return -EINVAL;
                        }
                        if (!(a->unit = strdup(s)))
                                return -ENOMEM;
                } else if (strcmp(key, "timeout_ms") == 0) {
                        uint64_t t;
                        if (jsonget_as_uint(val, 1, 600000, &t) != JSONGET_OK) {
                                snprintf(errbuf, errlen, "timeout_ms must be an integer from 1 to 600000");
                                return -EINVAL;
                        }
                        a->timeout_ms = (unsigned)t;
                } else {
                        snprintf(errbuf, errlen,
                                 "unknown member '%.64s' (allowed: name, exec, systemd_unit, timeout_ms)", key);
                        return -EINVAL;
                }
        }
        if (!a->name) {
                snprintf(errbuf, errlen, "missing member 'name'");
                return -EINVAL;
        }
        if (expected && strcmp(expected, a->name) != 0) {
                snprintf(errbuf, errlen, "the file declares '%s' but its file name says '%s'", a->name, expected);
                return -EINVAL;
        }
        if (!a->argv == !a->unit) {
                snprintf(errbuf, errlen, "exactly one of exec and systemd_unit is needed");
                return -EINVAL;
        }
        return 0;
}

int actfile_parse(const char *text, size_t len, const char *expected_name, struct actfile *ret, char *errbuf,
                  size_t errlen)
{
        struct jsonparse *p = jsonparse_new(8);
        struct json_object *root = NULL;
        struct actfile a = { .timeout_ms = ACTFILE_DEFAULT_TIMEOUT_MS };
        int r;

        if (!p)
                return -ENOMEM;
        r = jsonparse_parse(p, text, len, &root, errbuf, errlen);
        jsonparse_free(p);
        if (r < 0)
                return -EINVAL;
        r = parse_members(root, expected_name, &a, errbuf, errlen);
        json_object_put(root);
        if (r < 0) {
                actfile_deinit(&a);
                return r;
        }
        *ret = a;
        return 0;
}
