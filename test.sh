#!/usr/bin/env bash
# test.sh: the README's second command, and what CI runs (.ci/run).
# Installs what is missing, then:
#   1. gcc build with -Werror, the whole ctest suite (unit, integration, fuzz corpus replay);
#   2. the same suite again in an ASan+UBSan build; any sanitizer report from
#      any process (daemon, CLI, tests) fails the run;
#   3. a clang -Werror build (compile check) and a short libFuzzer run of every
#      fuzz target (FUZZ_SECONDS each, default 10; 0 skips).
# Build trees: build-test/, build-asan/, build-clang/, build-fuzz/.
set -euo pipefail
cd "$(dirname "$0")"
jobs=$(nproc)
fuzz_seconds=${FUZZ_SECONDS:-10}

step() { printf '\n=== %s ===\n' "$*"; }

step "dependencies"
scripts/deps.sh test

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

step "clang build (-Werror)"
CC=clang cmake -S . -B build-clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUS_WERROR=ON >/dev/null
cmake --build build-clang -j"$jobs"

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
