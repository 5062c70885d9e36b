/* table.c: see table.h. Widths count code points; text is cut only at code
 * point boundaries. */
#include "table.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The narrowest a column is cut to (its ellipsis included). */
#define TABLE_MIN_COLUMN 6
/* The narrowest a header over short values is cut to. */
#define TABLE_MIN_HEADER 4
/* Cells at most this wide in a column are not cut. */
#define TABLE_SHORT_VALUE 10
/* Spaces between columns. */
#define TABLE_GAP 2
/* Columns printed at most. */
#define TABLE_MAX_COLUMNS 32

int table_init(struct table *t, size_t ncols, const char *const *headers)
{
        memset(t, 0, sizeof(*t));
        t->ncols = ncols;
        return table_add(t, headers);
}

int table_add(struct table *t, const char *const *cells)
{
        if (t->nrows == t->cap) {
                size_t cap = t->cap ? t->cap * 2 : 16;
                char **c = reallocarray(t->cells, cap * t->ncols, sizeof(*c));
                if (!c)
                        return -ENOMEM;
                t->cells = c;
                t->cap = cap;
        }
        char **row = t->cells + t->nrows * t->ncols;
        for (size_t i = 0; i < t->ncols; i++) {
                row[i] = strdup(cells[i] ? cells[i] : "-");
                if (!row[i]) {
                        while (i-- > 0)
                                free(row[i]);
                        return -ENOMEM;
                }
        }
        t->nrows++;
        return 0;
}

static bool continuation(unsigned char c)
{
        return (c & 0xc0) == 0x80;
}

size_t table_text_width(const char *s)
{
        size_t n = 0;

        for (; *s; s++)
                n += !continuation((unsigned char)*s);
        return n;
}

/* The byte length of s's first `width` code points. */
static size_t prefix_bytes(const char *s, size_t width)
{
        size_t i = 0;

        for (size_t w = 0; s[i] && w < width; w++)
                for (i++; continuation((unsigned char)s[i]); i++)
                        ;
        return i;
}

void table_put_cell(FILE *f, const struct output *o, const char *s, size_t width, bool last)
{
        size_t w = table_text_width(s);

        if (o->width && w > width) {
                const char *ell = o->ellipsis ? o->ellipsis : "...";
                size_t ew = table_text_width(ell);
                size_t keep = width > ew ? width - ew : 0;
                fwrite(s, 1, prefix_bytes(s, keep), f);
                fwrite(ell, 1, prefix_bytes(ell, width - keep), f);
                w = width;
        } else {
                fputs(s, f);
        }
        if (!last)
                for (; w < width; w++)
                        fputc(' ', f);
}

/* Narrows widths[] (natural widths) until the row fits o->width: the widest
 * column first (the later one of equals), none below floors[]. */
static void fit(const struct output *o, size_t *widths, const size_t *floors, size_t ncols)
{
        size_t total = (ncols - 1) * TABLE_GAP;

        for (size_t c = 0; c < ncols; c++)
                total += widths[c];
        while (o->width && total > o->width) {
                size_t widest = ncols;
                for (size_t c = 0; c < ncols; c++)
                        if (widths[c] > floors[c] && (widest == ncols || widths[c] >= widths[widest]))
                                widest = c;
                if (widest == ncols)
                        break; /* all at their narrowest: table_print() cuts the lines */
                widths[widest]--;
                total--;
        }
}

int table_print(FILE *f, const struct output *o, const struct table *t)
{
        size_t width[TABLE_MAX_COLUMNS] = { 0 }, data[TABLE_MAX_COLUMNS] = { 0 }, floors[TABLE_MAX_COLUMNS];
        size_t ncols = t->ncols < TABLE_MAX_COLUMNS ? t->ncols : TABLE_MAX_COLUMNS;

        if (ncols == 0)
                return 0;
        for (size_t r = 0; r < t->nrows; r++)
                for (size_t c = 0; c < ncols; c++) {
                        size_t w = table_text_width(t->cells[r * t->ncols + c]);
                        if (w > width[c])
                                width[c] = w;
                        if (r > 0 && w > data[c])
                                data[c] = w;
                }
        /* short values (numbers, a transport) stay whole; their header may be cut */
        for (size_t c = 0; c < ncols; c++) {
                floors[c] = data[c] > TABLE_SHORT_VALUE  ? TABLE_MIN_COLUMN
                            : data[c] > TABLE_MIN_HEADER ? data[c]
                                                         : TABLE_MIN_HEADER;
                if (floors[c] > width[c])
                        floors[c] = width[c];
        }
        /* first the long values, then the headers of short ones */
        size_t whole[TABLE_MAX_COLUMNS];
        for (size_t c = 0; c < ncols; c++)
                whole[c] = data[c] > TABLE_SHORT_VALUE ? floors[c] : width[c];
        fit(o, width, whole, ncols);
        fit(o, width, floors, ncols);
        for (size_t r = 0; r < t->nrows; r++) {
                size_t used = 0;
                if (r == 0)
                        fputs(output_bold(o), f);
                for (size_t c = 0; c < ncols; c++) {
                        size_t w = width[c];
                        bool last = c + 1 == ncols;
                        /* still too wide with every column at its narrowest: cut the line */
                        if (o->width && used + w > o->width)
                                w = used < o->width ? o->width - used : 0;
                        if (w == 0)
                                break;
                        table_put_cell(f, o, t->cells[r * t->ncols + c], w, last || (o->width && used + w >= o->width));
                        used += w;
                        if (last || (o->width && used + TABLE_GAP >= o->width))
                                break;
                        fputs("  ", f);
                        used += TABLE_GAP;
                }
                if (r == 0)
                        fputs(output_reset(o), f);
                fputc('\n', f);
        }
        return ferror(f) ? -EIO : 0;
}

void table_deinit(struct table *t)
{
        for (size_t i = 0; i < t->nrows * t->ncols; i++)
                free(t->cells[i]);
        free(t->cells);
        memset(t, 0, sizeof(*t));
}
