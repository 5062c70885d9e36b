/* table.h: the text tables of `bus list` and `bus status`: aligned columns,
 * fitted to struct output's width (the widest columns are cut first, each
 * cut cell ends with the ellipsis; a line that still does not fit is cut at
 * the width). Printing only. */
#pragma once

#include <stddef.h>
#include <stdio.h>

#include "output.h"

struct table {
        size_t ncols;
        size_t nrows; /* including the header */
        size_t cap;
        char **cells; /* nrows * ncols, owned */
};

/* headers: ncols strings. Returns 0 or -ENOMEM. */
int table_init(struct table *t, size_t ncols, const char *const *headers);
/* Appends a row of ncols strings (copied; NULL prints as "-"). 0 or -ENOMEM. */
int table_add(struct table *t, const char *const *cells);
/* Prints the header (bold with colours) and the rows; the last column is not
 * padded. With o->width, columns are narrowed (widest first, none below
 * TABLE_MIN_COLUMN characters, none below its values when they are short:
 * then only its header is cut) until the table fits, and the cells cut end
 * with o->ellipsis; a line that still does not fit is cut at the width. Returns 0 or -EIO. */
int table_print(FILE *f, const struct output *o, const struct table *t);
void table_deinit(struct table *t);
/* The display width of UTF-8 text s: its code points (no wide characters). */
size_t table_text_width(const char *s);
/* Prints s cut to width columns (with o->ellipsis when cut) and, unless
 * last, padded to width. */
void table_put_cell(FILE *f, const struct output *o, const char *s, size_t width, bool last);
