#!/bin/sh
# md2man.sh: a man page from one of docs/*.md, with go-md2man.
# Usage: md2man.sh GO_MD2MAN INPUT.md OUTPUT NAME SECTION VERSION
#
# The docs are written for reading on the web; three things make them proper
# man pages without changing their text:
#   before go-md2man: the first heading ("# bus(1) — text") becomes the title
#     line (.TH BUS 1 "" "busd VERSION"); a page without a NAME section gets
#     one made from the heading's text; the NAME line uses " - " (apropos and
#     whatis parse it);
#   after go-md2man: a text line starting with ' (a request in roff, so the
#     line would vanish) is escaped; tables wider than an 80-column terminal
#     get column widths and text blocks so that they fit; .nh (no hyphenation)
#     and .ad l (ragged right) come after .TH, which otherwise undoes them.
set -eu
md2man=$1 in=$2 out=$3 name=$4 section=$5 version=$6
tmp=$out.tmp.md
trap 'rm -f "$tmp" "$out.tmp"' EXIT

has_name=0
grep -q '^## NAME[[:space:]]*$' "$in" && has_name=1

awk -v name="$name" -v section="$section" -v version="$version" -v has_name="$has_name" '
NR == 1 && /^# / {
        title = substr($0, 3)
        desc = ""
        at = index(title, " — ")
        if (at == 0)
                at = index(title, " - ")
        if (at > 0) {
                desc = substr(title, at + 1)
                sub(/^[^ ]+ /, "", desc)
        }
        printf "# %s %s \"\" \"busd %s\"\n", toupper(name), section, version
        if (!has_name && desc != "")
                printf "\n## NAME\n\n%s - %s\n", name, desc
        next
}
/^## / { in_name = ($0 ~ /^## NAME[[:space:]]*$/) }
in_name { sub(/ — /, " - ") }
{ print }
' "$in" >"$tmp"

"$md2man" -in "$tmp" -out "$out.tmp"

awk '
function visible(s) {
        gsub(/\\f(\(..|\[[^]]*\]|.)/, "", s)
        gsub(/\\&/, "", s)
        gsub(/\\(\(..|\[[^]]*\])/, "x", s)
        gsub(/\\e/, "x", s)
        return length(s)
}
# Parses the buffered table tl[1..tn] and prints it, narrowed if needed.
# The longest word of a cell: the column cannot be narrower.
function longest_word(s,    n, words, k, m) {
        n = split(s, words, / +/); m = 1
        for (k = 1; k <= n; k++) if (visible(words[k]) > m) m = visible(words[k])
        return m
}
function flush_table(    i, j, k, line, n, parts, p, ncols, ncols_row, row, nrows, cell, isblk, nat, minw, w, sum, budget, best, fl, nf, out) {
        # tl[1] = ".TS", tl[2] = options, format lines up to one ending in "."
        i = 3; nf = 0
        while (i <= tn) { fl[++nf] = tl[i]; if (tl[i] ~ /\.[ \t]*$/) { i++; break }; i++ }
        nrows = 0
        while (i < tn) {
                line = tl[i++]; nrows++; ncols_row = 0
                for (;;) {
                        n = split(line, parts, "\t")
                        for (p = 1; p <= n; p++) {
                                if (parts[p] == "T{" && p == n) {
                                        # a text block: lines up to one starting with T}
                                        cell = ""
                                        while (i < tn && tl[i] !~ /^T}/)
                                                cell = cell (cell == "" ? "" : " ") tl[i++]
                                        row[nrows, ++ncols_row] = cell; isblk[nrows, ncols_row] = 1
                                        # the row goes on after "T}", on that line
                                        # or (go-md2man) on the next one, which
                                        # starts with a tab: tbl would read that
                                        # as a new row with an empty first cell
                                        line = substr(tl[i++], 3)
                                        if (line == "" && i < tn && tl[i] ~ /^\t/)
                                                line = tl[i++]
                                        sub(/^\t/, "", line)
                                        break
                                }
                                row[nrows, ++ncols_row] = parts[p]; isblk[nrows, ncols_row] = 0
                        }
                        if (p > n || line == "")
                                break
                }
                rowcols[nrows] = ncols_row
        }
        ncols = split(fl[1], parts, /[ \t]+/)
        if (parts[ncols] == "" || parts[ncols] == ".") ncols--
        for (j = 1; j <= ncols; j++) nat[j] = minw[j] = 1
        for (k = 1; k <= nrows; k++)
                for (j = 1; j <= rowcols[k] && j <= ncols; j++) {
                        if (visible(row[k, j]) > nat[j]) nat[j] = visible(row[k, j])
                        if (longest_word(row[k, j]) > minw[j]) minw[j] = longest_word(row[k, j])
                }
        budget = 68 - 3 * ncols
        sum = 0
        for (j = 1; j <= ncols; j++) { w[j] = nat[j]; sum += w[j] }
        while (sum > budget) {
                best = 0
                for (j = 1; j <= ncols; j++)
                        if (w[j] > 12 && w[j] > minw[j] && (best == 0 || w[j] > w[best])) best = j
                if (best == 0) break
                w[best]--; sum--
        }
        print tl[1]; print tl[2]
        for (k = 1; k <= nf; k++) {
                out = ""
                for (j = 1; j <= ncols; j++)
                        out = out (j > 1 ? " " : "") "l" (w[j] < nat[j] ? "w(" w[j] "n)" : "")
                print out (k == nf ? " ." : "")
        }
        for (k = 1; k <= nrows; k++) {
                out = ""
                for (j = 1; j <= rowcols[k]; j++) {
                        cell = row[k, j]
                        if (isblk[k, j] || (j <= ncols && w[j] < nat[j] && visible(cell) > w[j]))
                                cell = "T{\n" cell "\nT}"
                        out = out (j > 1 ? "\t" : "") cell
                }
                print out
        }
        print tl[tn]
        delete row; delete isblk; delete rowcols; delete nat; delete minw; delete w; delete fl
}
/^\.TS/ { intable = 1; tn = 0 }
intable { tl[++tn] = $0; if ($0 ~ /^\.TE/) { intable = 0; flush_table() }; next }
# go-md2man puts .nh (no hyphenation: it would cut names and paths) before
# .TH, which turns hyphenation back on; put it after, with .ad l (ragged
# right, as DocBook man pages: no stretched spaces in narrow columns).
NR == 1 && /^\.nh$/ { next }
/^\.TH / { print; print ".nh"; print ".ad l"; next }
/^'"'"'/ { $0 = "\\&" $0 }
{ print }
' "$out.tmp" >"$out"
