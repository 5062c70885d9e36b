#!/usr/bin/env bash
# tests/soak.sh: the long-running forms of busd's reliability tests (issue 5;
# docs/reliability.md). CI runs the short forms: `ctest -L reliability` and
# `tests/fuzz/run.sh TARGET 10` per target (test.sh). This script runs the same
# machinery for hours:
#
#   abuse   bus-abuse --duration, in rounds of at most 30 min, each with a new
#           seed and other daemon settings (small queues and stall timeout;
#           few handshakes and a short hello timeout, with silent connections)
#   churn   test_reliability_churn.py's churn test, in rounds of at most
#           30 min (BUS_CHURN_SECONDS), 2000 clients (BUS_CHURN_CLIENTS)
#   fuzz    tests/fuzz/run.sh for every target, the time split between them
#   tests   the whole `ctest -L reliability` set, again and again
#
# Usage:
#   tests/soak.sh [--build DIR] [--hours H | --minutes M] [abuse] [churn] [fuzz] [tests]
#
# --build: a configured and built tree (default build-soak/, made here as a
# RelWithDebInfo build; give an ASan tree, -DBUS_SANITIZE=ON, to soak under
# ASan). --hours/--minutes: the total time (default 1 hour), split evenly
# between the parts asked for (default all four). Logs and failing rounds go
# to $SOAK_DIR (default /tmp/busd-soak-<date>); the script stops at the first
# failure with exit status 1 and says which round, seed and log.
#
# Examples:
#   tests/soak.sh --hours 8                          # a night: everything
#   tests/soak.sh --minutes 30 abuse                 # half an hour of malformed frames
#   tests/soak.sh --build build-asan --hours 2 churn # churn under ASan
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build-soak
total=3600
parts=()
while [ $# -gt 0 ]; do
        case $1 in
        --build) build=$(cd "$2" && pwd); shift 2 ;;
        --hours) total=$(( $2 * 3600 )); shift 2 ;;
        --minutes) total=$(( $2 * 60 )); shift 2 ;;
        abuse | churn | fuzz | tests) parts+=("$1"); shift ;;
        -h | --help) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "soak.sh: unknown argument '$1' (see --help)" >&2; exit 64 ;;
        esac
done
[ ${#parts[@]} -gt 0 ] || parts=(abuse churn fuzz tests)
share=$(( total / ${#parts[@]} ))
dir=${SOAK_DIR:-/tmp/busd-soak-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$dir"

if [ ! -f "$build/CMakeCache.txt" ]; then
        cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" -j"$(nproc)" >/dev/null
busd=$build/busd/busd
abuse=$build/tests/abuse/bus-abuse
asan=0
grep -q '^BUS_SANITIZE:BOOL=ON' "$build/CMakeCache.txt" && asan=1

log() { printf '%s soak: %s\n' "$(date +%H:%M:%S)" "$*"; }
fail() { log "FAILED: $*"; exit 1; }

# Runs "$@" in rounds of at most 30 min until $1 seconds have passed; the
# round's length is passed in $ROUND_SECONDS, its number in $ROUND.
rounds() {
        local secs=$1 name=$2; shift 2
        local end=$(( $(date +%s) + secs )) n=0
        while [ "$(date +%s)" -lt "$end" ]; do
                n=$(( n + 1 ))
                local left=$(( end - $(date +%s) ))
                ROUND_SECONDS=$(( left < 1800 ? left : 1800 ))
                [ "$ROUND_SECONDS" -ge 5 ] || break
                ROUND=$n
                "$@" > "$dir/$name-$n.log" 2>&1 || fail "$name round $n: see $dir/$name-$n.log"
                log "$name round $n ok ($ROUND_SECONDS s): $(grep -m1 -E 'malformed frames|\[figure\] churn|tests passed' "$dir/$name-$n.log" | cut -c1-160)"
        done
}

abuse_round() {
        local seed=$RANDOM$RANDOM extra=()
        case $(( ROUND % 3 )) in
        1) ;;
        2) extra=(--busd-arg --queue-bytes --busd-arg 65536 --busd-arg --stall-timeout --busd-arg 1000) ;;
        0) extra=(--silent 8 --busd-arg --max-handshakes --busd-arg 16 --busd-arg --hello-timeout --busd-arg 500) ;;
        esac
        echo "seed $seed, settings: ${extra[*]:-defaults}"
        "$abuse" --busd "$busd" --duration "$ROUND_SECONDS" --seed "$seed" --connections 6 \
                --dump-dir "$dir" --rss-slack $(( asan ? 65536 : 32768 )) "${extra[@]}"
}

churn_round() {
        BUSD=$busd BUS_SANITIZE_BUILD=$asan BUS_CHURN_SECONDS=$ROUND_SECONDS BUS_CHURN_CLIENTS=2000 \
                BUS_TEST_SEED=$RANDOM python3 "$root/tests/integration/test_reliability_churn.py" Churn
}

tests_round() {
        local end=$(( $(date +%s) + ROUND_SECONDS ))
        while [ "$(date +%s)" -lt "$end" ]; do
                (cd "$build" && ctest -L reliability --output-on-failure) || return 1
        done
}

fuzz_all() {
        local targets=() t
        for t in "$root"/tests/fuzz/fuzz_*.c; do
                t=$(basename "$t" .c)
                targets+=("${t#fuzz_}")
        done
        local each=$(( share / ${#targets[@]} ))
        for t in "${targets[@]}"; do
                log "fuzzing $t for $each s"
                "$root/tests/fuzz/run.sh" "$t" "$each" > "$dir/fuzz-$t.log" 2>&1 ||
                        fail "fuzz target $t: see $dir/fuzz-$t.log (crash inputs in build-fuzz/fuzz-work/$t/artifacts/)"
                log "fuzz $t ok: $(grep -E '^stat::number_of_executed_units' "$dir/fuzz-$t.log" | tail -1)"
        done
}

log "build $build (ASan: $asan), ${#parts[@]} parts of $share s each: ${parts[*]}; logs in $dir"
for p in "${parts[@]}"; do
        case $p in
        abuse) rounds "$share" abuse abuse_round ;;
        churn) rounds "$share" churn churn_round ;;
        tests) rounds "$share" tests tests_round ;;
        fuzz) fuzz_all ;;
        esac
done
log "all parts passed"
