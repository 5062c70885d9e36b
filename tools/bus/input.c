/* input.c: checking what the user typed before anything is sent: JSON
 * arguments (with the daemon's own parser rules, proto/jsonparse.h) and the
 * syntax of names, methods, topics and patterns (proto/syntax.h). Every
 * message says what was expected. No bus I/O here. */
#include "cli.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buslimits.h"
#include "jsonparse.h"
#include "syntax.h"

/* Reads all of standard input, at most `max` bytes. Returns 0, -EFBIG or a
 * negative errno. */
static int read_stdin(size_t max, char **ret, size_t *ret_len)
{
        size_t len = 0, cap = 4096;
        char *buf = malloc(cap);

        if (!buf)
                return -ENOMEM;
        for (;;) {
                if (len == cap) {
                        if (cap > max) {
                                free(buf);
                                return -EFBIG;
                        }
                        char *b = realloc(buf, cap * 2);
                        if (!b) {
                                free(buf);
                                return -ENOMEM;
                        }
                        buf = b;
                        cap *= 2;
                }
                ssize_t n = read(STDIN_FILENO, buf + len, cap - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        int e = -errno;
                        free(buf);
                        return e;
                }
                if (n == 0)
                        break;
                len += (size_t)n;
        }
        if (len > max) {
                free(buf);
                return -EFBIG;
        }
        *ret = buf;
        *ret_len = len;
        return 0;
}

static bool is_space(char c)
{
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* True if the text is the JSON literal null (jsonparse refuses a bare null,
 * which is no message, but it is a fine value). */
static bool is_null(const char *s, size_t len)
{
        while (len && is_space(*s))
                s++, len--;
        while (len && is_space(s[len - 1]))
                len--;
        return len == 4 && memcmp(s, "null", 4) == 0;
}

/* Looks like a bare word the user meant as a string. */
static bool looks_like_word(const char *s)
{
        while (is_space(*s))
                s++;
        return *s && !strchr("{[\"-0123456789", *s) && strncmp(s, "true", 4) != 0 && strncmp(s, "false", 5) != 0 &&
               strncmp(s, "null", 4) != 0;
}

int cli_parse_json(const struct cli *cli, const char *what, const char *text, struct json_object **ret)
{
        const char *verb = cli->verb ? cli->verb->name : "";
        char *input = NULL, err[256];
        const char *s = text;
        size_t len = strlen(text);
        struct json_object *obj = NULL;
        int r;

        if (strcmp(text, "-") == 0) {
                r = read_stdin(BUS_MAX_MESSAGE_STREAM, &input, &len);
                if (r < 0) {
                        fprintf(stderr, "bus %s: cannot read %s from standard input: %s\n", verb, what,
                                r == -EFBIG ? "more than the bus's 1 MiB message limit" : strerror(-r));
                        return r == -EFBIG ? CLI_EXIT_DATAERR : CLI_EXIT_INTERNAL;
                }
                s = input;
                size_t i = 0;
                while (i < len && is_space(s[i]))
                        i++;
                if (i == len) {
                        fprintf(stderr,
                                "bus %s: standard input is empty: `-` reads %s as JSON from it (send `null` "
                                "or leave the argument out for no %s)\n",
                                verb, what, what);
                        free(input);
                        return CLI_EXIT_DATAERR;
                }
        }
        if (is_null(s, len)) {
                free(input);
                *ret = NULL;
                return 0;
        }
        struct jsonparse *p = jsonparse_new(BUS_MAX_DEPTH - 1);
        if (!p) {
                free(input);
                fprintf(stderr, "bus %s: out of memory\n", verb);
                return CLI_EXIT_INTERNAL;
        }
        r = jsonparse_parse(p, s, len, &obj, err, sizeof(err));
        jsonparse_free(p);
        if (r < 0) {
                fprintf(stderr, "bus %s: %s%s: %s", verb, what, input ? " (standard input)" : "", err);
                if (!input && looks_like_word(s))
                        fprintf(stderr, " (to send a string, quote it for JSON and the shell: '\"%s\"')", s);
                else if (!input)
                        fprintf(stderr, " (quote the JSON for the shell: '{\"key\": \"value\"}')");
                fputc('\n', stderr);
                free(input);
                return CLI_EXIT_DATAERR;
        }
        free(input);
        *ret = obj;
        return 0;
}

int cli_check_dest(const struct cli *cli, const char *dest)
{
        uint64_t id;

        if (syntax_is_name(dest, strlen(dest)) || syntax_parse_unique(dest, strlen(dest), &id) ||
            syntax_is_remote_dest(dest, strlen(dest)))
                return 0;
        return cli_usage_error(cli,
                               "'%s' is neither a bus name (like org.example.Clock), a unique id (like :42) "
                               "nor BUS/NAME (a name on another host's bus, like busd-b/org.example.Clock)",
                               dest);
}

int cli_check_name(const struct cli *cli, const char *name)
{
        if (syntax_is_name(name, strlen(name)))
                return 0;
        return cli_usage_error(cli,
                               "'%s' is not a bus name: two or more dot-separated elements of "
                               "[A-Za-z0-9_-], not starting with a digit, like org.example.Clock",
                               name);
}

int cli_check_method(const struct cli *cli, const char *method)
{
        if (syntax_is_method(method, strlen(method)))
                return 0;
        return cli_usage_error(cli,
                               "'%s' is not a method name: 1-255 characters of [A-Za-z0-9_.-], starting "
                               "with a letter or '_'",
                               method);
}

int cli_check_topic(const struct cli *cli, const char *topic)
{
        if (!syntax_is_topic(topic, strlen(topic)))
                return cli_usage_error(cli,
                                       "'%s' is not a topic: dot-separated segments of [A-Za-z0-9_:@+-], "
                                       "like sensors.kitchen.temp (no wildcards)",
                                       topic);
        if (syntax_topic_is_reserved(topic, strlen(topic)))
                return cli_usage_error(cli, "topics starting with '$' are published by the daemon only");
        return 0;
}

/* An MQTT topic filter ("sensors/+/temp", "logs/#") in our syntax: '/'
 * becomes '.', a segment '+' becomes '*' and '#' becomes '>'. Returns false
 * when the pattern does not look like one. */
static bool from_mqtt(const char *pattern, char *buf, size_t size)
{
        size_t n = 0;

        if (!strchr(pattern, '/') && !strchr(pattern, '#'))
                return false;
        for (const char *p = pattern; *p; p++) {
                bool seg_start = p == pattern || p[-1] == '/';
                bool seg_end = p[1] == 0 || p[1] == '/';
                char c = *p;
                if (c == '/')
                        c = '.';
                else if (c == '#' && seg_start && seg_end)
                        c = '>';
                else if (c == '+' && seg_start && seg_end)
                        c = '*';
                if (n + 1 >= size)
                        return false;
                buf[n++] = c;
        }
        buf[n] = 0;
        return syntax_is_pattern(buf, n);
}

int cli_check_pattern(const struct cli *cli, const char *pattern)
{
        char mqtt[512];

        if (syntax_is_pattern(pattern, strlen(pattern)))
                return 0;
        if (from_mqtt(pattern, mqtt, sizeof(mqtt)))
                return cli_usage_error(cli,
                                       "'%s' is not a pattern: segments are separated by '.', and MQTT's '#' is "
                                       "'>' here, its '+' is '*': did you mean '%s'?",
                                       pattern, mqtt);
        return cli_usage_error(cli,
                               "'%s' is not a pattern: a topic whose segments may be '*' (any one "
                               "segment) or, last, '>' (one or more), like 'sensors.*.temp' or 'sensors.>'",
                               pattern);
}
