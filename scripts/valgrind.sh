#!/usr/bin/env bash
# valgrind.sh [--ci] [BUILD_DIR] [CTEST_ARGS...]: the test suite under valgrind memcheck.
#
# Builds a plain tree (gcc -O1 -g, no sanitizers; default BUILD_DIR:
# build-valgrind/ at the top of the tree), then runs ctest twice, with every
# busd the tests start exec'd through valgrind ($BUSD_WRAPPER, honoured by
# tests/util/busdproc.c, tests/integration/daemon_harness.py and cli_test.py):
#   1. the C test programs (unit, fuzz corpus replay, libbus integration)
#      through `ctest -T memcheck`, so that they run under valgrind too;
#   2. the tests whose program is Python, a tool (bus-bench, bus-abuse) or an
#      install check (py_*, cli_*, bench_*, reliability_*, install_*), and
#      test_libbus_identity (below), plainly: only their busd runs under
#      valgrind.
# --ci runs the subset test.sh uses (about 5 minutes on 2 cores): every C
# program of phase 1 but test_libbus_events (its ground is covered by
# test_libbus_calls and by test_libbus_batch) and test_libbus_flow (bursts of
# 1,000,000 events: hours under memcheck; its code paths are libbus's
# ordinary publish and receive, which test_libbus_batch covers), and in phase 2 the CLI verbs on
# both transports, the abuse, lifecycle, ordering, slow-consumer, activation,
# configuration and systemd tests and four of the reliability tests.
# test_libbus_batch, the slowest program under valgrind (about 5 min alone
# with its 100,000 events), is run by valgrind directly with 20,000
# ($BUS_TEST_BATCH_EVENTS: the same code paths), in the background beside
# both phases, and fails the run like a ctest test would.
#
# Every test's TIMEOUT is multiplied by $VALGRIND_TIMEOUT_SCALE (default 10)
# in the build tree's CTestTestfile.cmake files (the sources stay as they are).
# Tests that measure busd's RSS skip themselves (daemon_harness.Daemon.rss_kib).
# Any valgrind error (invalid access, uninitialised value, definite leak) fails
# the test it happens in (--error-exitcode), and every report is also kept in
# BUILD_DIR/valgrind-logs/ and printed at the end: daemons killed by a test
# (SIGKILL) never get to exit with the error code, but their reports are there.
# Extra arguments go to both ctest runs (e.g. `-L unit`); VALGRIND_PHASES=1
# or =2 runs one phase only. Figures: docs/reliability.md, "valgrind".
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
ci=false
if [ "${1:-}" = --ci ]; then
        ci=true
        shift
fi
build=${1:-$root/build-valgrind}
[ $# -gt 0 ] && shift
phases=${VALGRIND_PHASES:-12}
jobs=$(nproc)
command -v valgrind >/dev/null || { echo "valgrind.sh: valgrind is not installed (apt-get install valgrind)" >&2; exit 2; }

# which tests run in which phase. test_libbus_identity checks the pidfd busd
# passes with pidfd_send_signal(2), which valgrind 3.19 does not implement
# (ENOSYS, "unhandled amd64-linux syscall: 424"): it runs in phase 2, natively,
# with its busd under valgrind.
not_c='^(py_|cli_|bench_|reliability_|install_|test_libbus_identity$)'
phase1=(-E "$not_c")
phase2=(-R "$not_c")
background=
if $ci; then
        background=test_libbus_batch
        phase1=(-E "$not_c|^(test_libbus_events|test_libbus_flow|$background)\$")
        phase2=(-R '^(test_libbus_identity|cli_verbs_stream|cli_verbs_seqpacket|py_abuse|py_lifecycle|py_ordering|py_slow_consumer|py_activation|py_config|py_systemd|reliability_abuse|py_reliability_(hello|slow|churn))$')
fi

mkdir -p "$build"
build=$(cd "$build" && pwd)
logs=$build/valgrind-logs
rm -rf "$logs" "$build"/Testing/Temporary/MemoryChecker.*.log
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

export BUSD_WRAPPER="valgrind $vg_opts --quiet --log-file=$logs/busd.%p.log"
status=0
bg_pid=
if [ -n "$background" ] && [[ $phases == *1* ]]; then
        echo "=== 1a. $background under valgrind, in the background beside phases 1 and 2"
        [ -x "$build/tests/unit/$background" ] || { echo "valgrind.sh: no $build/tests/unit/$background" >&2; exit 1; }
        # shellcheck disable=SC2086 # $vg_opts is a list of options
        (cd "$build/tests/unit" && BUS_TEST_BATCH_EVENTS=${BUS_TEST_BATCH_EVENTS:-20000} \
                exec timeout $((120 * scale)) valgrind $vg_opts --quiet \
                --log-file="$logs/$background.%p.log" "./$background") >"$build/$background.out" 2>&1 &
        bg_pid=$!
fi
t1=$built
if [[ $phases == *1* ]]; then
        echo "=== 1. C test programs under ctest -T memcheck, busd under valgrind"
        (cd "$build" && ctest -T memcheck "${phase1[@]}" -j"$jobs" --output-on-failure "$@") || status=1
        t1=$(date +%s)
fi
t2=$t1
if [[ $phases == *2* ]]; then
        echo "=== 2. Python, CLI, tool and install tests, busd under valgrind"
        (cd "$build" && ctest "${phase2[@]}" -j"$jobs" --output-on-failure "$@") || status=1
        t2=$(date +%s)
fi

t3=$t2
if [ -n "$bg_pid" ]; then
        if wait "$bg_pid"; then
                echo "$background: passed under valgrind"
        else
                echo "$background: FAILED under valgrind (exit status $?; 99: valgrind errors, 124: timeout)" >&2
                tail -n 30 "$build/$background.out" >&2
                status=1
        fi
        t3=$(date +%s)
fi

# Reports: the daemons' own logs, the background program's, then ctest's
# memcheck logs (all empty with --quiet unless an error).
found=0
for f in "$logs"/*.log "$build"/Testing/Temporary/MemoryChecker.*.log; do
        [ -s "$f" ] || continue
        found=$((found + 1))
        echo "--- valgrind report: $f"
        head -n 60 "$f"
done
[ $found -eq 0 ] || status=1
daemons=$(find "$logs" -name 'busd.*.log' | wc -l)

echo "=== valgrind.sh: build $((built - start)) s, phase 1 $((t1 - built)) s, phase 2 $((t2 - t1)) s," \
        "${background:+then waiting for $background $((t3 - t2)) s, }total $((t3 - start)) s;" \
        "$daemons busd processes under valgrind; $found report(s)"
if [ $status -eq 0 ]; then
        echo "valgrind.sh: clean"
else
        echo "valgrind.sh: FAILED" >&2
fi
exit $status
