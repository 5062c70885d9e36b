#!/usr/bin/env bash
# build-matrix.sh [PARENT_DIR]: compile-only check that the tree builds without
# a single warning (BUS_WERROR=ON) with gcc and clang, each at -O0 and at
# -O3 -DNDEBUG (optimisation finds other warnings, e.g. -Wmaybe-uninitialized,
# and NDEBUG turns asserts off, which must change nothing but speed).
#
# Four build trees: PARENT_DIR/{gcc,clang}-{O0,O3} (default PARENT_DIR:
# build-matrix/ at the top of the tree). Every cell is built even if one
# fails; the exit status is non-zero if any failed, and the first lines of
# each failure are printed. In the two -O3 -DNDEBUG trees the unit tests
# (`ctest -L unit`) run too, to show that nothing depends on an assert; the
# whole suite runs in test.sh's RelWithDebInfo (-O2 -DNDEBUG) and ASan builds.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
parent=${1:-$root/build-matrix}
jobs=$(nproc)
mkdir -p "$parent"
parent=$(cd "$parent" && pwd)

# build everything that can be built, so that one run reports every warning
keep_going() { if [ -f "$1/build.ninja" ]; then echo "-k 0"; else echo "-k"; fi; }

failed=()
for cc in gcc clang; do
        for opt in O0 O3; do
                dir=$parent/$cc-$opt
                log=$dir.log
                case $opt in
                O0) flags="-O0 -g" ;;
                O3) flags="-O3 -DNDEBUG" ;;
                esac
                start=$(date +%s)
                # CMAKE_BUILD_TYPE=None: only our flags, none of the build type's own
                if CC=$cc cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=None -DCMAKE_C_FLAGS="$flags" \
                        -DBUS_WERROR=ON -DBUS_SANITIZE=OFF -DBUS_FUZZ=OFF >"$log" 2>&1 &&
                        cmake --build "$dir" -j"$jobs" -- $(keep_going "$dir") >>"$log" 2>&1; then
                        printf '%-10s %-14s ok      (%ds)\n' "$cc" "$flags" $(($(date +%s) - start))
                        [ "$opt" = O3 ] || continue
                        start=$(date +%s)
                        if (cd "$dir" && ctest -L unit -j"$jobs" --output-on-failure) >>"$log" 2>&1; then
                                printf '%-10s %-14s %s unit tests passed (%ds)\n' "$cc" "$flags" \
                                        "$(grep -Eo 'tests failed out of [0-9]+' "$log" | tail -n 1 | grep -Eo '[0-9]+$')" \
                                        $(($(date +%s) - start))
                        else
                                printf '%-10s %-14s unit tests FAILED (%ds; log: %s)\n' "$cc" "$flags" $(($(date +%s) - start)) "$log"
                                grep -E 'Failed|\*\*\*|CHECK' "$log" | head -n 20 | sed 's/^/    /'
                                failed+=("$cc-$opt-unit")
                        fi
                else
                        printf '%-10s %-14s FAILED  (%ds; log: %s)\n' "$cc" "$flags" $(($(date +%s) - start)) "$log"
                        grep -E 'error|warning' "$log" | grep -v 'not remade' | head -n 20 | sed 's/^/    /'
                        failed+=("$cc-$opt")
                fi
        done
done
if [ ${#failed[@]} -gt 0 ]; then
        echo "build matrix: FAILED: ${failed[*]}" >&2
        exit 1
fi
echo "build matrix: all 4 builds clean, unit tests pass at -O3 -DNDEBUG"
