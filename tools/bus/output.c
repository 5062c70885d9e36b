/* output.c: see output.h. JSON printing with optional indentation and
 * colours, the terminal's width and byte counts for people. Writes only to
 * the FILE it is given; tables are table.c's. */
#include "output.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* Colours, close to jq's defaults. */
#define COLOR_NULL "\033[90m"
#define COLOR_BOOL "\033[33m"
#define COLOR_NUMBER "\033[36m"
#define COLOR_STRING "\033[32m"
#define COLOR_KEY "\033[1;34m"
#define COLOR_BOLD "\033[1m"
#define COLOR_RESET "\033[0m"

void output_resolve(struct output *o, enum output_format format, enum output_layout layout, enum output_color color,
                    bool text_form, bool compact_default)
{
        bool tty = isatty(STDOUT_FILENO) == 1;
        const char *no_color = getenv("NO_COLOR");
        const char *term = getenv("TERM");

        if (format == OUTPUT_FORMAT_JSON)
                o->json = true;
        else if (format == OUTPUT_FORMAT_TEXT)
                o->json = !text_form;
        else
                o->json = !(tty && text_form);

        if (layout == OUTPUT_LAYOUT_PRETTY)
                o->pretty = true;
        else if (layout == OUTPUT_LAYOUT_COMPACT)
                o->pretty = false;
        else
                o->pretty = tty && !compact_default;

        if (color == OUTPUT_COLOR_ALWAYS)
                o->color = true;
        else if (color == OUTPUT_COLOR_NEVER)
                o->color = false;
        else
                o->color = tty && !(no_color && *no_color) && !(term && strcmp(term, "dumb") == 0);
}

const char *output_bold(const struct output *o)
{
        return o->color ? COLOR_BOLD : "";
}

const char *output_reset(const struct output *o)
{
        return o->color ? COLOR_RESET : "";
}

/* Writes s (n bytes) as a JSON string: quotes, escapes for '"', '\\' and
 * control characters; other bytes (UTF-8) as they are. */
static void put_string(FILE *f, const char *s, size_t n)
{
        fputc('"', f);
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)s[i];

                switch (c) {
                case '"':
                        fputs("\\\"", f);
                        break;
                case '\\':
                        fputs("\\\\", f);
                        break;
                case '\b':
                        fputs("\\b", f);
                        break;
                case '\f':
                        fputs("\\f", f);
                        break;
                case '\n':
                        fputs("\\n", f);
                        break;
                case '\r':
                        fputs("\\r", f);
                        break;
                case '\t':
                        fputs("\\t", f);
                        break;
                default:
                        if (c < 0x20)
                                fprintf(f, "\\u%04x", c);
                        else
                                fputc(c, f);
                }
        }
        fputc('"', f);
}

static void put_indent(FILE *f, int depth)
{
        fputc('\n', f);
        for (int i = 0; i < depth; i++)
                fputs("  ", f);
}

static void put_colored(FILE *f, const struct output *o, const char *color, const char *text)
{
        if (o->color)
                fprintf(f, "%s%s%s", color, text, COLOR_RESET);
        else
                fputs(text, f);
}

static void put_value(FILE *f, const struct output *o, struct json_object *v, int depth)
{
        switch (json_object_get_type(v)) {
        case json_type_null:
                put_colored(f, o, COLOR_NULL, "null");
                break;
        case json_type_boolean:
                put_colored(f, o, COLOR_BOOL, json_object_get_boolean(v) ? "true" : "false");
                break;
        case json_type_int:
        case json_type_double:
                /* json-c keeps a double's original text, so 1.50 stays 1.50 */
                put_colored(f, o, COLOR_NUMBER, json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
                break;
        case json_type_string:
                if (o->color)
                        fputs(COLOR_STRING, f);
                put_string(f, json_object_get_string(v), (size_t)json_object_get_string_len(v));
                if (o->color)
                        fputs(COLOR_RESET, f);
                break;
        case json_type_array: {
                size_t n = json_object_array_length(v);

                fputc('[', f);
                for (size_t i = 0; i < n; i++) {
                        if (i)
                                fputc(',', f);
                        if (o->pretty)
                                put_indent(f, depth + 1);
                        put_value(f, o, json_object_array_get_idx(v, i), depth + 1);
                }
                if (o->pretty && n)
                        put_indent(f, depth);
                fputc(']', f);
                break;
        }
        case json_type_object: {
                bool first = true;

                fputc('{', f);
                json_object_object_foreach(v, key, val)
                {
                        if (!first)
                                fputc(',', f);
                        first = false;
                        if (o->pretty)
                                put_indent(f, depth + 1);
                        if (o->color)
                                fputs(COLOR_KEY, f);
                        put_string(f, key, strlen(key));
                        if (o->color)
                                fputs(COLOR_RESET, f);
                        fputs(o->pretty ? ": " : ":", f);
                        put_value(f, o, val, depth + 1);
                }
                if (o->pretty && !first)
                        put_indent(f, depth);
                fputc('}', f);
                break;
        }
        }
}

int output_json(FILE *f, const struct output *o, struct json_object *v)
{
        put_value(f, o, v, 0);
        fputc('\n', f);
        return ferror(f) ? -EIO : 0;
}

char *output_json_string(struct json_object *v)
{
        const char *s = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);

        return s ? strdup(s) : NULL;
}

char *output_cell(struct json_object *v)
{
        switch (json_object_get_type(v)) {
        case json_type_null:
                return strdup("-");
        case json_type_string:
                return strdup(json_object_get_string(v));
        case json_type_array: {
                size_t n = json_object_array_length(v), len = 0;
                char *s = NULL;

                if (n == 0)
                        return strdup("-");
                for (size_t i = 0; i < n; i++) {
                        struct json_object *e = json_object_array_get_idx(v, i);
                        if (json_object_is_type(e, json_type_object) || json_object_is_type(e, json_type_array))
                                return output_json_string(v);
                }
                for (size_t i = 0; i < n; i++) {
                        char *e = output_cell(json_object_array_get_idx(v, i));
                        char *t = e ? realloc(s, len + strlen(e) + 2) : NULL;
                        if (!t) {
                                free(e);
                                free(s);
                                return NULL;
                        }
                        s = t;
                        len += (size_t)sprintf(s + len, "%s%s", i ? "," : "", e);
                        free(e);
                }
                return s;
        }
        default:
                return output_json_string(v);
        }
}

/* The width assumed for a terminal that does not say. */
#define DEFAULT_COLUMNS 80
/* Fewer columns than this are not worth fitting to. */
#define MIN_COLUMNS 20

static bool utf8_locale(void)
{
        const char *vars[] = { "LC_ALL", "LC_CTYPE", "LANG" };

        for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
                const char *v = getenv(vars[i]);
                if (v && *v)
                        return strcasestr(v, "utf-8") || strcasestr(v, "utf8");
        }
        return false;
}

void output_fit(struct output *o, bool full)
{
        const char *env = getenv("COLUMNS");
        struct winsize ws = { 0 };
        char *end;

        o->ellipsis = utf8_locale() ? "\xe2\x80\xa6" : "...";
        o->width = 0;
        if (o->json || full || isatty(STDOUT_FILENO) != 1)
                return;
        long n = env && *env ? strtol(env, &end, 10) : 0;
        if (n > 0 && *end == 0)
                o->width = (size_t)n;
        else if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
                o->width = ws.ws_col;
        else
                o->width = DEFAULT_COLUMNS;
        if (o->width < MIN_COLUMNS)
                o->width = MIN_COLUMNS;
}

void output_bytes(unsigned long long n, char *buf, size_t len)
{
        static const char *const units[] = { "KiB", "MiB", "GiB", "TiB" };
        double v = (double)n;
        size_t u = 0;

        if (n < 1024) {
                snprintf(buf, len, "%llu B", n);
                return;
        }
        v /= 1024;
        while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
                v /= 1024;
                u++;
        }
        if (v == (double)(unsigned long long)v)
                snprintf(buf, len, "%llu %s", (unsigned long long)v, units[u]); /* "8 MiB", not "8.0 MiB" */
        else
                snprintf(buf, len, "%.1f %s", v, units[u]);
}
