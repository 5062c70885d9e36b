/* output.h: how `bus` prints: JSON (compact or indented, optionally
 * coloured like jq), and what the text form needs: the terminal's width,
 * table cells, byte counts (the tables are table.h's).
 *
 * Printing only: nothing here reads options or the environment except
 * output_resolve(), which turns the options into a struct output.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct json_object;

enum output_format { OUTPUT_FORMAT_AUTO, OUTPUT_FORMAT_JSON, OUTPUT_FORMAT_TEXT };
enum output_layout { OUTPUT_LAYOUT_AUTO, OUTPUT_LAYOUT_PRETTY, OUTPUT_LAYOUT_COMPACT };
enum output_color { OUTPUT_COLOR_AUTO, OUTPUT_COLOR_ALWAYS, OUTPUT_COLOR_NEVER };

struct output {
        bool json;            /* JSON rather than the text form (tables) */
        bool pretty;          /* indented JSON */
        bool color;           /* ANSI colours on stdout */
        size_t width;         /* text lines are cut to this many columns; 0: not cut */
        const char *ellipsis; /* what marks a cut: "…" (UTF-8 locale) or "..." */
};

/* Decides from the options and the terminal: on a terminal (isatty) the text
 * form, indented JSON and colours; otherwise JSON, compact, no colours.
 * NO_COLOR (set and not empty) or TERM=dumb turn colours off unless
 * OUTPUT_COLOR_ALWAYS. compact_default: compact JSON even on a terminal
 * unless OUTPUT_LAYOUT_PRETTY (for one-line-per-event output). */
void output_resolve(struct output *o, enum output_format format, enum output_layout layout, enum output_color color,
                    bool text_form, bool compact_default);

/* Sets o->width for the text form: the terminal's width when standard output
 * is one ($COLUMNS if set to a number, else TIOCGWINSZ, else 80), 0 when it
 * is not, with full (--full), or for JSON. o->ellipsis from the locale
 * variables (LC_ALL, LC_CTYPE, LANG naming UTF-8). */
void output_fit(struct output *o, bool full);
/* n bytes for people: "512 B", "1.5 KiB", "3 MiB" (exact multiples without ".0") into buf. */
void output_bytes(unsigned long long n, char *buf, size_t len);

/* Prints v (NULL is JSON null) followed by a newline. Returns 0 or -EIO. */
int output_json(FILE *f, const struct output *o, struct json_object *v);
/* v as compact, uncoloured JSON text into a new string (caller frees), or
 * NULL when out of memory. */
char *output_json_string(struct json_object *v);
/* A scalar for a table cell: strings unquoted, null as "-", arrays of scalars
 * joined with ",", other containers as compact JSON. Caller frees; NULL when
 * out of memory. */
char *output_cell(struct json_object *v);

/* Starts/ends a style on f when colours are on ("" otherwise). */
const char *output_bold(const struct output *o);
const char *output_reset(const struct output *o);
