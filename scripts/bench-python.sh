#!/usr/bin/env bash
# bench-python.sh [--quick] [--repeat N] [--check] [--no-install] [BUILD_DIR]: the Python package
# (python/, docs/python.md) against python3-dbus on dbus-broker, in one run
# (docs/benchmarks.md, "The Python client against python3-dbus").
#
# Starts the build's busd on a temporary socket and a private dbus-broker
# (tests/bench/peers/bench-sdbus broker, as scripts/bench-peers.sh does), then
# per round, one process per role (tests/bench/python/bench_python.py), all
# with Debian's /usr/bin/python3:
#   calls:  a service (busd: the package's Bus.add_method + run(); D-Bus: a
#           dbus.service.Object on a GLib main loop) and a client making
#           blocking calls one at a time (64-byte string in, the same out);
#   events: a subscriber (busd: Bus.subscribe; D-Bus: add_signal_receiver on
#           a GLib main loop) and a publisher sending events back to back
#           (busd: publish without acknowledgement, the last one with it; D-Bus:
#           signals, then flush), 64-byte string payload; the subscriber's
#           rate runs from its first event to its last and it reports what
#           arrived (a broker may drop a slow receiver's messages).
# Prints one table (medians of the rounds), the machine and the versions.
#   --quick       tiny counts (a smoke run; figures meaningless)
#   --repeat N    rounds (default 3; 1 with --quick)
#   --check       exit 1 unless every role reported a positive rate and the
#                 busd subscriber received every event (no timing thresholds)
#   --no-install  never install packages: exit 77 (skipped) when one is missing
# Needs python3-dbus, python3-gi, dbus-broker, libsystemd-dev (installed if
# missing, as root; scripts/deps.sh test installs them). Exit 0, 1 (a step
# failed or --check found a fault), 2 (usage), 77 (skipped). Everything it
# started is stopped on exit.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
quick=false
check=false
install=true
repeat=
build=
while [ $# -gt 0 ]; do
        case $1 in
        --quick) quick=true ;;
        --check) check=true ;;
        --no-install) install=false ;;
        --repeat) shift; repeat=${1:-}
                [[ $repeat =~ ^[1-9][0-9]?$ ]] || { echo "bench-python.sh: --repeat needs 1-99" >&2; exit 2; } ;;
        -h | --help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        -*) echo "bench-python.sh: unknown option $1 (--quick, --repeat N, --check, --no-install, BUILD_DIR)" >&2; exit 2 ;;
        *) build=$1 ;;
        esac
        shift
done
[ -n "$repeat" ] || { $quick && repeat=1 || repeat=3; }
[ -n "$build" ] || { [ -d "$root/build" ] && build=$root/build || build=$root/build-test; }
build=$(cd "$build" && pwd) || exit 2
if $quick; then ncalls=200 nevents=2000; else ncalls=5000 nevents=50000; fi
py=/usr/bin/python3
bench=$root/tests/bench/python/bench_python.py
export BUSD_PYTHON=$root/python/src

fail() { echo "bench-python.sh: $*" >&2; exit 1; }
missing=()
for p in python3-dbus python3-gi dbus-broker libsystemd-dev; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
        $install || { echo "bench-python.sh: skipped: ${missing[*]} not installed (scripts/deps.sh test)" >&2; exit 77; }
        [ "$(id -u)" -eq 0 ] || fail "missing ${missing[*]} (install them, or run as root)"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 ||
                fail "cannot install ${missing[*]}"
fi

dir=$(mktemp -d /tmp/bench-python.XXXXXX)
pids=()
cleanup() {
        for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
        wait 2>/dev/null
        rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

sdbus=$build/tests/bench/peers/bench-sdbus
if [ ! -x "$sdbus" ]; then
        sdbus=$dir/bench-sdbus
        # shellcheck disable=SC2046 # pkg-config's flags are words
        ${CC:-cc} -O2 -std=c11 -D_GNU_SOURCE -o "$sdbus" "$root/tests/bench/peers/bench-sdbus.c" \
                "$root/tests/bench/peers/peerkit.c" $(pkg-config --cflags --libs libsystemd) || fail "cannot build bench-sdbus"
fi

# busd
mkfifo "$dir/busd.ready"
"$build/busd/busd" --listen "unix:$dir/bus" --ready-fd 3 3>"$dir/busd.ready" 2>"$dir/busd.log" &
pids+=($!)
read -r -t 30 line <"$dir/busd.ready" && [ "$line" = READY=1 ] || { cat "$dir/busd.log" >&2; fail "busd did not start"; }
busd_addr=unix:$dir/bus
# dbus-broker
mkdir -p "$dir/dbus"
mkfifo "$dir/dbus/ready"
"$sdbus" broker --socket "$dir/dbus/bus" --broker "$(command -v dbus-broker)" --ready-fd 3 \
        3>"$dir/dbus/ready" 2>"$dir/dbus-broker.log" &
pids+=($!)
read -r -t 30 line <"$dir/dbus/ready" && [[ $line == READY=1\ PID=* ]] || { cat "$dir/dbus-broker.log" >&2; fail "dbus-broker did not start"; }
dbus_addr=unix:path=$dir/dbus/bus

# start_role NAME ROLE ADDR [N]: a background role, ready when it printed READY
start_role() {
        local name=$1
        shift
        mkfifo "$dir/$name.out"
        "$py" "$bench" "$@" >"$dir/$name.out" 2>>"$dir/roles.log" &
        role_pid=$!
        pids+=("$role_pid")
        exec {role_fd}<"$dir/$name.out"
        read -r -t 30 line <&"$role_fd" && [ "$line" = READY ] || { cat "$dir/roles.log" >&2; fail "$* did not start"; }
}

results=$dir/results.jsonl
for r in $(seq "$repeat"); do
        echo "=== round $r of $repeat" >&2
        for side in busd dbus; do
                addr=$busd_addr
                [ $side = dbus ] && addr=$dbus_addr
                start_role "$side-serve-$r" "$side-serve" "$addr"
                serve_pid=$role_pid
                out=$("$py" "$bench" "$side-call" "$addr" "$ncalls" 2>>"$dir/roles.log") || fail "$side-call failed"
                echo "{\"round\": $r, \"side\": \"$side\", \"what\": \"calls\", \"r\": $out}" >>"$results"
                kill "$serve_pid" 2>/dev/null
                start_role "$side-sub-$r" "$side-sub" "$addr" "$nevents"
                sub_fd=$role_fd
                "$py" "$bench" "$side-pub" "$addr" "$nevents" 2>>"$dir/roles.log" || fail "$side-pub failed"
                read -r -t 120 out <&"$sub_fd" || fail "$side-sub said nothing"
                echo "{\"round\": $r, \"side\": \"$side\", \"what\": \"events\", \"r\": $out}" >>"$results"
        done
done

echo "=== machine"
echo "nproc: $(nproc); CPU: $(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); kernel: $(uname -r); load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "tree: $(git -C "$root" rev-parse --short HEAD 2>/dev/null)$(git -C "$root" diff --quiet 2>/dev/null || echo ' (with uncommitted changes)'); python: $("$py" --version 2>&1); python3-dbus $(dpkg-query -W -f='${Version}' python3-dbus); dbus-broker $(dpkg-query -W -f='${Version}' dbus-broker)"
"$py" - "$results" "$ncalls" "$nevents" "$repeat" "$check" <<'PY'
import json, statistics, sys
path, ncalls, nevents, repeat = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
check = sys.argv[5] == "true"
faults = []
rows = [json.loads(l) for l in open(path)]
def med(side, what):
    rs = [x["r"] for x in rows if x["side"] == side and x["what"] == what]
    key = "calls" if what == "calls" else "events"
    rates = [r[key] / r["seconds"] for r in rs if r["seconds"] > 0]
    got = min(r[key] for r in rs) if rs else 0
    return (statistics.median(rates) if rates else None), got
print()
print("medians of %d round(s); %d calls, %d events per round; payload a 64-byte string" % (repeat, ncalls, nevents))
print("%-8s %24s %24s %8s  %s" % ("", "busd (python/)", "python3-dbus", "ratio", "received (fewest in a round)"))
for what, unit, n in (("calls", "calls/s", ncalls), ("events", "events/s", nevents)):
    b, bg = med("busd", what)
    d, dg = med("dbus", what)
    f = lambda v: "-" if v is None else "%.0f %s" % (v, unit)
    ratio = "-" if not b or not d else "%.2f" % (b / d)
    note = "" if what == "calls" else "busd %d/%d, dbus %d/%d" % (bg, n, dg, n)
    print("%-8s %24s %24s %8s  %s" % (what, f(b), f(d), ratio, note))
    if not b or not d:
        faults.append("%s: a side reported no rate" % what)
    if what == "events" and bg != n:
        faults.append("events: the busd subscriber received %d of %d" % (bg, n))
if check and faults:
    print("bench-python.sh: --check: " + "; ".join(faults), file=sys.stderr)
    sys.exit(1)
PY
