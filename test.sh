#!/usr/bin/env bash
# test.sh: the README's second command, and what CI runs (.ci/run).
# Installs what is missing, then:
#   0. the layout rules (scripts/check-layout.py: include circles, layers, file
#      size, the wire vocabulary, one address parser) and the format
#      (scripts/check-format.sh: .clang-format), before anything is built;
#   1. gcc build with -Werror, the whole ctest suite (unit, integration, fuzz corpus replay);
#   2. the same suite again in an ASan+UBSan build; any sanitizer report from
#      any process (daemon, CLI, tests) fails the run;
#   3. the build matrix (scripts/build-matrix.sh): gcc and clang, each at -O0
#      and at -O3 -DNDEBUG, with -Werror, and the unit tests in both -O3
#      -DNDEBUG trees (the suite passes with asserts off);
#   4. valgrind (scripts/valgrind.sh --ci): every C unit test program, the
#      fuzz corpus replays and most libbus integration tests under memcheck,
#      and a representative set of integration tests with busd under valgrind;
#      any valgrind report fails the run (the full run: docs/reliability.md);
#   5. the Debian packages (scripts/build-debs.sh): dpkg-buildpackage -us -uc -b
#      on a copy of the tree, each package's `dpkg -c` against the expected
#      list, then unpacked with `dpkg -x` into a scratch root and run from there;
#   6. a short libFuzzer run of every fuzz target (FUZZ_SECONDS each, default
#      10; 0 skips).
# Build trees: build-test/, build-asan/, build-matrix/, build-valgrind/,
# build-fuzz/; packages in build-debs/. At the end, the time each step took.
set -euo pipefail
cd "$(dirname "$0")"
jobs=$(nproc)
fuzz_seconds=${FUZZ_SECONDS:-10}

# step NAME: starts a step; the previous one's time is recorded for the summary
times=()
t_all=$(date +%s)
t_step=$t_all
current=
step() {
        local now
        now=$(date +%s)
        [ -z "$current" ] || times+=("$(printf '%5d s  %s' $((now - t_step)) "$current")")
        t_step=$now
        current=$*
        printf '\n=== %s ===\n' "$*"
}

step "dependencies"
scripts/deps.sh test

step "layout rules (scripts/check-layout.py)"
python3 scripts/check-layout.py

step "format (scripts/check-format.sh)"
scripts/check-format.sh

step "gcc build (-Werror)"
cmake -S . -B build-test -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUS_WERROR=ON >/dev/null
cmake --build build-test -j"$jobs"

step "test suite"
(cd build-test && ctest -j"$jobs" --output-on-failure)

step "ASan+UBSan build"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DBUS_WERROR=ON -DBUS_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs"

step "test suite under ASan+UBSan"
asan_logs=$(mktemp -d)
export ASAN_OPTIONS="log_path=$asan_logs/asan:detect_leaks=1:abort_on_error=0"
export UBSAN_OPTIONS="log_path=$asan_logs/ubsan:print_stacktrace=1:halt_on_error=1"
(cd build-asan && ctest -j"$jobs" --output-on-failure) || status=$?
unset ASAN_OPTIONS UBSAN_OPTIONS
if compgen -G "$asan_logs/*" >/dev/null; then
        echo "sanitizer reports:" >&2
        cat "$asan_logs"/* >&2
        status=1
fi
rm -rf "$asan_logs"
[ "${status:-0}" -eq 0 ] || { echo "FAILED under ASan+UBSan" >&2; exit 1; }

# (it replaces the clang RelWithDebInfo compile check this step used to be)
step "build matrix: gcc, clang x -O0, -O3 -DNDEBUG (-Werror), unit tests at -O3 -DNDEBUG"
scripts/build-matrix.sh build-matrix

step "valgrind (CI subset)"
scripts/valgrind.sh --ci build-valgrind

step "Debian packages: build, dpkg -c, unpack and run"
scripts/build-debs.sh build-debs

if [ "$fuzz_seconds" -gt 0 ] && [ -x tests/fuzz/run.sh ]; then
        step "fuzzing, $fuzz_seconds s per target"
        for src in tests/fuzz/fuzz_*.c; do
                t=${src#tests/fuzz/fuzz_}
                t=${t%.c}
                echo "--- fuzz_$t"
                log=$(mktemp)
                if ! tests/fuzz/run.sh "$t" "$fuzz_seconds" >"$log" 2>&1; then
                        tail -n 60 "$log" >&2
                        echo "fuzz_$t found a problem (above)" >&2
                        exit 1
                fi
                grep -E "^stat::number_of_executed_units" "$log" || true
                rm -f "$log"
        done
fi

step "all passed"
printf '%s\n' "${times[@]}"
printf '%5d s  total\n' $(($(date +%s) - t_all))
