#!/usr/bin/env bash
# check-format.sh [--fix] [FILE...]: the C sources against .clang-format.
#
# Runs `clang-format --dry-run -Werror` over every .c and .h file of busd/,
# proto/, util/, libbus/, tools/, tests/ and examples/ (or over the FILEs
# given), lists the files that clang-format would change, with how many lines
# it would change in each, and exits 1 if there is any; 0 when all are
# formatted. --fix formats those files in place instead (clang-format -i).
# Run by test.sh after scripts/check-layout.py, before the build.
#
# The style is clang-format 14's (Debian 12's clang-format package): other
# versions lay out a few constructs differently, so the check warns when the
# version differs. CLANG_FORMAT names another binary (say clang-format-14).
set -euo pipefail
cd "$(dirname "$0")/.."

fix=0
if [ "${1:-}" = --fix ]; then
        fix=1
        shift
fi
case "${1:-}" in -h | --help)
        sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'
        exit 0
        ;;
esac

cf=${CLANG_FORMAT:-clang-format}
if ! command -v "$cf" >/dev/null; then
        echo "check-format: $cf not found: install clang-format (Debian 12: apt install clang-format)" >&2
        exit 1
fi
version=$("$cf" --version | sed -n 's/.*version \([0-9][0-9]*\)\..*/\1/p')
if [ "$version" != 14 ]; then
        echo "check-format: warning: $cf is version ${version:-unknown}, .clang-format is measured with 14;" \
             "set CLANG_FORMAT=clang-format-14 if the files below look right to you" >&2
fi

if [ $# -gt 0 ]; then
        files=("$@")
else
        mapfile -t files < <(find busd proto util libbus tools tests examples \
                -type d \( -name corpus -o -name 'build*' \) -prune -o \
                -type f \( -name '*.c' -o -name '*.h' \) -print 2>/dev/null | LC_ALL=C sort)
fi
[ ${#files[@]} -gt 0 ] || { echo "check-format: no C files found" >&2; exit 1; }

if [ "$fix" = 1 ]; then
        "$cf" -i --style=file "${files[@]}"
        echo "check-format: formatted ${#files[@]} files"
        exit 0
fi

# one clang-format run finds the files (it names each one's first difference)
mapfile -t bad < <("$cf" --dry-run -Werror --style=file "${files[@]}" 2>&1 |
        sed -n 's/^\(.*\):[0-9][0-9]*:[0-9][0-9]*: error: .*-Wclang-format-violations.*/\1/p' | LC_ALL=C sort -u)
lines=0
for f in "${bad[@]}"; do
        n=$("$cf" --style=file "$f" | diff "$f" - | grep -c '^<' || true) # lines of f that would change
        lines=$((lines + n))
        printf 'check-format: %s: %d line(s) differ from .clang-format\n' "$f" "$n"
done
if [ ${#bad[@]} -eq 0 ] && ! "$cf" --dry-run -Werror --style=file "${files[@]}" >/dev/null 2>&1; then
        echo "check-format: $cf failed:" >&2
        "$cf" --dry-run -Werror --style=file "${files[@]}" 2>&1 | head -20 >&2
        exit 1
fi

if [ ${#bad[@]} -gt 0 ]; then
        echo "check-format: ${#bad[@]} of ${#files[@]} files not formatted ($lines lines)." >&2
        echo "  see one:  $cf --style=file FILE | diff -u FILE -" >&2
        echo "  fix all:  scripts/check-format.sh --fix" >&2
        exit 1
fi
echo "check-format: ${#files[@]} files formatted"
