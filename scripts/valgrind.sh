#!/usr/bin/env bash
# valgrind.sh [BUILD_DIR] [CTEST_ARGS...]: the test suite under valgrind memcheck.
#
# Builds a plain tree (gcc -O1 -g, no sanitizers; default BUILD_DIR:
# build-valgrind/ at the top of the tree), then runs ctest twice, with every
# busd the tests start exec'd through valgrind ($BUSD_WRAPPER, honoured by
# util/busdproc.c, tests/integration/daemon_harness.py and cli_test.py):
#   1. the C tests (unit, fuzz corpus replay, libbus integration) through
#      `ctest -T memcheck`, so that the test programs run under valgrind too;
#   2. the tests whose program is Python, bus-bench or an install check
#      (py_*, cli_*, bench_*, install_*), plainly: only their busd runs under
#      valgrind.
# Every test's TIMEOUT is multiplied by $VALGRIND_TIMEOUT_SCALE (default 10)
# in the build tree's CTestTestfile.cmake files (the sources stay as they are).
# Tests that measure busd's RSS skip themselves (daemon_harness.Daemon.rss_kib).
# Any valgrind error (invalid access, uninitialised value, definite leak) fails
# the test it happens in (--error-exitcode), and every report is also kept in
# BUILD_DIR/valgrind-logs/ and printed at the end: daemons killed by a test
# (SIGKILL) never get to exit with the error code, but their reports are there.
# Extra arguments go to both ctest runs, e.g. `-R py_abuse` or `-L unit`;
# VALGRIND_PHASES=1 or =2 runs one phase only.
#
# Takes roughly 10-20 times the plain suite's time; see docs/reliability.md.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build-valgrind}
[ $# -gt 0 ] && shift
phases=${VALGRIND_PHASES:-12}
jobs=$(nproc)
command -v valgrind >/dev/null || { echo "valgrind.sh: valgrind is not installed (apt-get install valgrind)" >&2; exit 2; }

mkdir -p "$build"
build=$(cd "$build" && pwd)
logs=$build/valgrind-logs
rm -rf "$logs"
mkdir -p "$logs"

# definite leaks are errors; possible/reachable ones (libuv, json-c caches at exit) are not
vg_opts="--error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite --num-callers=30"
start=$(date +%s)
echo "=== build ($build, gcc -O1 -g)"
CC=${CC:-gcc} cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=None -DCMAKE_C_FLAGS="-O1 -g" -DBUS_WERROR=ON \
        -DBUS_SANITIZE=OFF -DBUS_FUZZ=OFF -DMEMORYCHECK_COMMAND="$(command -v valgrind)" \
        -DMEMORYCHECK_COMMAND_OPTIONS="$vg_opts --quiet" >/dev/null || exit 1
cmake --build "$build" -j"$jobs" >/dev/null || { cmake --build "$build" -j1 2>&1 | tail -30; exit 1; }
scale=${VALGRIND_TIMEOUT_SCALE:-10}
find "$build" -name CTestTestfile.cmake -exec \
        perl -pi -e 's/\bTIMEOUT "(\d+)"/"TIMEOUT \"" . ($1 * '"$scale"') . "\""/ge' {} +
built=$(date +%s)
not_c='^(py_|cli_|bench_|install_)'

export BUSD_WRAPPER="valgrind $vg_opts --quiet --log-file=$logs/busd.%p.log"
status=0
t1=$built
if [[ $phases == *1* ]]; then
        echo "=== 1. C tests under ctest -T memcheck, busd under valgrind"
        (cd "$build" && ctest -T memcheck -E "$not_c" -j"$jobs" --output-on-failure "$@") || status=1
        t1=$(date +%s)
fi
t2=$t1
if [[ $phases == *2* ]]; then
        echo "=== 2. Python, CLI, bench and install tests, busd under valgrind"
        (cd "$build" && ctest -R "$not_c" -j"$jobs" --output-on-failure "$@") || status=1
        t2=$(date +%s)
fi

# Reports: the daemons' own logs, then ctest's memcheck logs (empty with --quiet unless an error).
found=0
for f in "$logs"/busd.*.log "$build"/Testing/Temporary/MemoryChecker.*.log; do
        [ -s "$f" ] || continue
        found=$((found + 1))
        echo "--- valgrind report: $f"
        head -n 60 "$f"
done
[ $found -eq 0 ] || status=1

echo "=== valgrind.sh: build $((built - start)) s, phase 1 $((t1 - built)) s, phase 2 $((t2 - t1)) s," \
        "total $((t2 - start)) s; $found report(s)"
[ $status -eq 0 ] && echo "valgrind.sh: clean" || echo "valgrind.sh: FAILED" >&2
exit $status
