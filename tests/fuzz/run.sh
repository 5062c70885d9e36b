#!/bin/sh
# run.sh TARGET SECONDS [libFuzzer options...]
#
# Builds the libFuzzer binary fuzz_TARGET with clang (-DBUS_FUZZ=ON) in a
# separate build directory ($BUS_FUZZ_BUILD, default build-fuzz/ at the top
# of the tree) if needed, then fuzzes for SECONDS (default 60). New inputs go
# to a scratch corpus in the build directory; the committed corpus
# (tests/fuzz/corpus/TARGET) is only read. Crash inputs land in
# $BUS_FUZZ_BUILD/fuzz-work/TARGET/artifacts/. See README.md for turning one
# into a regression test.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
[ $# -ge 1 ] || { echo "usage: $0 TARGET [SECONDS] [libFuzzer options...]" >&2; exit 2; }
target=$1
secs=${2:-60}
[ $# -ge 2 ] && shift 2 || shift 1
[ -f "$here/fuzz_$target.c" ] || { echo "no target '$target' (tests/fuzz/fuzz_$target.c)" >&2; exit 2; }

build=${BUS_FUZZ_BUILD:-$root/build-fuzz}
if [ ! -f "$build/CMakeCache.txt" ]; then
        CC=${CC:-clang} cmake -S "$root" -B "$build" -DBUS_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
elif ! grep -q '^BUS_FUZZ:BOOL=ON' "$build/CMakeCache.txt"; then
        echo "$build is not a BUS_FUZZ=ON build; set BUS_FUZZ_BUILD to another directory" >&2
        exit 2
fi
cmake --build "$build" --target "fuzz_$target" -j"$(nproc)"

work=$build/fuzz-work/$target
mkdir -p "$work/corpus" "$work/artifacts"
set -- -max_total_time="$secs" -timeout=10 -print_final_stats=1 -artifact_prefix="$work/artifacts/" "$@"
case $target in
message | router | packet | jsonscan) set -- -dict="$here/json.dict" "$@" ;;
syntax) set -- -dict="$here/syntax.dict" "$@" ;;
actfile) set -- -dict="$here/actfile.dict" "$@" ;;
esac
case $target in
router | packet) set -- -max_len=16384 "$@" ;;
esac
# the scratch corpus first: libFuzzer writes new inputs to the first directory only
exec "$build/tests/fuzz/fuzz_$target" "$@" "$work/corpus" "$here/corpus/$target"
