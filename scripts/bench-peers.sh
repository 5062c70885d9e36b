#!/usr/bin/env bash
# bench-peers.sh [--quick] [--repeat N] [--check] [--no-install] [BUILD_DIR]: busd against
# its peers, dbus-broker and nats-server, in one run and one table (docs/benchmarks.md,
# "Against the peers").
#
# The same workloads as bus-bench, payload 100 bytes, clients in C on both ends:
#   1:1 burst     a publisher sends 200000 events as fast as its client library
#                 accepts them to one subscriber: delivered/s, lost (sent - received)
#   1:8 fan-out   50000 events to 8 subscribers: deliveries/s, lost
#   calls         20000 blocking calls, one after the other: round trips/s, p50/p99
#   daemon CPU    the broker process's CPU time per message it routed (per delivery;
#                 per call or reply), from /proc/PID
# and, for context, bus-bench's floors (pingpong, relay) and its raw subscribers.
#   busd          bus-bench --json (its own busd, stream and seqpacket, libbus clients)
#   dbus-broker   a private dbus-broker (Debian's dbus-broker) on a socket in a temporary
#                 directory, started by `bench-sdbus broker` as its controller (as
#                 dbus-broker's own tests do: dbus-broker-launch needs journald and the
#                 systemd manager's bus); sd-bus clients (libsystemd): signals matched
#                 with sd_bus_match_signal, calls with sd_bus_call_method to a service
#                 registered with sd_bus_add_object_vtable
#   nats-server   Debian's nats-server on 127.0.0.1 and a random free port (-p -1; the
#                 port from its --ports_file_dir file); nats.c clients (libnats):
#                 natsConnection_Publish, a synchronous subscription, and
#                 natsConnection_Request to a subscriber that answers
# The peer clients are tests/bench/peers/ (bench-sdbus.c, bench-nats.c), built by CMake
# when libsystemd and libnats are found, otherwise here with cc and pkg-config. Each
# round runs bus-bench, then dbus-broker's workloads, then nats-server's, each broker
# started fresh for the round; with --repeat N every cell is the median of N rounds.
#
#   --quick       tiny counts (3000 events 1:1, 500 1:8, 300 calls): a smoke run
#   --repeat N    rounds (default 1)
#   --check       fail unless every cell was measured and is sane (no speed thresholds)
#   --no-install  do not install missing packages: skip (exit 77) instead
#   BUILD_DIR     the build tree with busd/busd and tests/bench/bus-bench
#                 (default: build/, else build-test/)
#
# Missing packages (dbus-broker, libsystemd-dev, nats-server, libnats-dev) are installed
# with apt-get (after apt-get update), which needs root. Exit status: 0, 1 (a step
# failed), 2 (usage), 77 (skipped: a peer is missing and cannot be installed). Everything
# it started and the temporary directory are removed on exit, also on failure or a signal.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cmdline=$(printf '%q ' "$0" "$@")
cmdline=${cmdline% }
quick=false
check=false
install=true
repeat=1
build=
while [ $# -gt 0 ]; do
        case $1 in
        --quick) quick=true ;;
        --check) check=true ;;
        --no-install) install=false ;;
        --repeat)
                if [ $# -lt 2 ] || ! [[ $2 =~ ^[1-9][0-9]?$ ]]; then
                        echo "bench-peers.sh: --repeat needs a number 1-99" >&2
                        exit 2
                fi
                repeat=$2
                shift
                ;;
        -h | --help)
                sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'
                exit 0
                ;;
        -*) echo "bench-peers.sh: unknown option $1 (--quick, --repeat N, --check, --no-install, BUILD_DIR)" >&2; exit 2 ;;
        *) build=$1 ;;
        esac
        shift
done
if [ -z "$build" ]; then
        for d in "$root/build" "$root/build-test"; do
                if [ -x "$d/tests/bench/bus-bench" ]; then build=$d; break; fi
        done
fi
[ -n "$build" ] || { echo "bench-peers.sh: no build dir with tests/bench/bus-bench (give one)" >&2; exit 2; }
build=$(cd "$build" && pwd)
busd=$build/busd/busd
bench=$build/tests/bench/bus-bench
for f in "$busd" "$bench"; do
        [ -x "$f" ] || { echo "bench-peers.sh: $f is missing (build the tree first)" >&2; exit 2; }
done

payload=100
if $quick; then
        n_pubsub=3000 n_fanout=500 n_call=300
else
        n_pubsub=200000 n_fanout=50000 n_call=20000
fi
subscribers=8
quiet_ms=3000

dir=$(mktemp -d /tmp/bench-peers.XXXXXX)
pids=()
cleanup() {
        local p
        for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
        for p in "${pids[@]}"; do
                for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
                kill -KILL "$p" 2>/dev/null
                wait "$p" 2>/dev/null
        done
        pids=()
        rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
fail() { echo "bench-peers.sh: $*" >&2; exit 1; }

# ---- the peers: Debian packages ----------------------------------------------------------
packages=(dbus-broker libsystemd-dev nats-server libnats-dev)
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
missing=()
for p in "${packages[@]}"; do installed "$p" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
        if ! $install || [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
                echo "bench-peers.sh: skipped: missing ${missing[*]} (as root: apt-get update &&" \
                        "apt-get install ${missing[*]})" >&2
                exit 77
        fi
        echo "bench-peers.sh: installing ${missing[*]}" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >"$dir/apt.log" 2>&1 &&
                apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$dir/apt.log" 2>&1 || {
                cat "$dir/apt.log" >&2
                fail "apt-get install ${missing[*]} failed"
        }
fi
broker_bin=$(command -v dbus-broker || echo /usr/bin/dbus-broker)
nats_bin=$(command -v nats-server || echo /usr/bin/nats-server)

# ---- the peer clients ----------------------------------------------------------------------
# built by CMake (tests/bench/CMakeLists.txt) when the libraries were there at configure
# time; otherwise here, with the flags of the tree's build
peer_client() {
        local name=$1 lib=$2 pkg=$3 out=$build/tests/bench/peers/$1
        if [ -x "$out" ]; then
                echo "$out"
                return 0
        fi
        out=$dir/peers/$name
        mkdir -p "$dir/peers"
        local flags
        flags=$(pkg-config --cflags --libs "$lib" 2>/dev/null) || {
                echo "bench-peers.sh: cannot build $name: pkg-config finds no $lib (install $pkg)" >&2
                return 1
        }
        # shellcheck disable=SC2086 # flags are words
        ${CC:-cc} -O2 -g -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter -o "$out" \
                "$root/tests/bench/peers/$name.c" "$root/tests/bench/peers/peerkit.c" $flags >&2 || {
                echo "bench-peers.sh: cannot build $name" >&2
                return 1
        }
        echo "$out"
}
sdbus=$(peer_client bench-sdbus libsystemd libsystemd-dev) || exit 1
natsc=$(peer_client bench-nats libnats libnats-dev) || exit 1

# ---- the brokers -----------------------------------------------------------------------------
# start_dbus_broker ROUND: sets dbus_addr, dbus_pid (the broker), dbus_ctl (its controller)
start_dbus_broker() {
        local d=$dir/dbus-$1 line
        mkdir -p "$d"
        mkfifo "$d/ready"
        "$sdbus" broker --socket "$d/bus" --broker "$broker_bin" --ready-fd 3 3>"$d/ready" 2>>"$dir/dbus-broker.log" &
        dbus_ctl=$!
        pids+=("$dbus_ctl")
        # the FIFO opens when the controller has started; the line comes once the
        # broker listens (AddListener answered)
        if ! read -r -t 30 line <"$d/ready" || [[ $line != READY=1\ PID=* ]]; then
                cat "$dir/dbus-broker.log" >&2
                fail "dbus-broker did not become ready"
        fi
        dbus_pid=${line#READY=1 PID=}
        dbus_addr=unix:path=$d/bus
}

# start_nats ROUND: sets nats_url, nats_pid
start_nats() {
        local d=$dir/nats-$1 ports
        mkdir -p "$d"
        "$nats_bin" -a 127.0.0.1 -p -1 --ports_file_dir "$d" -l "$d/nats-server.log" &
        nats_pid=$!
        pids+=("$nats_pid")
        # written once the client listener is up
        ports=$d/$(basename "$nats_bin")_$nats_pid.ports
        for _ in $(seq 600); do
                [ -s "$ports" ] && break
                kill -0 "$nats_pid" 2>/dev/null || break
                sleep 0.05
        done
        nats_url=$(grep -o 'nats://[^"]*' "$ports" 2>/dev/null | head -1)
        if [ -z "$nats_url" ]; then
                cat "$d/nats-server.log" >&2
                fail "nats-server did not become ready"
        fi
}

# stop PID...: ends what we started, forgets it
stop() {
        local p q keep=()
        for p in "$@"; do
                kill -TERM "$p" 2>/dev/null
                wait "$p" 2>/dev/null
        done
        for q in "${pids[@]}"; do
                for p in "$@"; do [ "$q" = "$p" ] && continue 2; done
                keep+=("$q")
        done
        pids=("${keep[@]}")
}

# peer_runs CLIENT ADDRESS PID OUT: the three workloads, one JSON line each
peer_runs() {
        local client=$1 addr=$2 pid=$3 out=$4 status=0
        local common=(run --address "$addr" --server-pid "$pid" --payload "$payload" --quiet-ms "$quiet_ms")
        "$client" "${common[@]}" --workload events --count "$n_pubsub" --subscribers 1 >>"$out" || status=1
        "$client" "${common[@]}" --workload events --count "$n_fanout" --subscribers "$subscribers" >>"$out" ||
                status=1
        "$client" "${common[@]}" --workload call --count "$n_call" >>"$out" || status=1
        return $status
}

# ---- the run ---------------------------------------------------------------------------------
{
        model=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
        pkgver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo '?'; }
        echo "command: $cmdline"
        echo "machine: nproc $(nproc); CPU: ${model:-unknown}; kernel: $(uname -r);" \
                "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
        rev=$(git --no-optional-locks -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')
        git --no-optional-locks -C "$root" diff --quiet HEAD 2>/dev/null || rev="$rev (with uncommitted changes)"
        btype=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt" 2>/dev/null)
        echo "busd: tree $rev, build $build (${btype:-?}); clients libbus"
        echo "dbus-broker: $("$broker_bin" --version 2>/dev/null | head -1) (Debian $(pkgver dbus-broker));" \
                "clients sd-bus, libsystemd $(pkg-config --modversion libsystemd 2>/dev/null) (Debian $(pkgver libsystemd-dev))"
        echo "nats-server: $("$nats_bin" --version 2>/dev/null | head -1 | sed 's/^nats-server: //') (Debian $(pkgver nats-server));" \
                "clients nats.c $(pkg-config --modversion libnats 2>/dev/null) (Debian $(pkgver libnats-dev))"
        echo "payload $payload bytes; $n_pubsub events 1:1, $n_fanout events x $subscribers subscribers," \
                "$n_call calls; $repeat round(s), each cell the median"
} >"$dir/header.txt"
cat "$dir/header.txt"
echo

bench_opts=(--json --payload "$payload" --scenario pingpong,relay,call,pubsub,fanout,pubsub-raw,fanout-raw)
$quick && bench_opts+=(--quick)
$check && bench_opts+=(--check)
status=0
for r in $(seq "$repeat"); do
        echo "=== round $r of $repeat: busd (bus-bench ${bench_opts[*]})" >&2
        "$bench" --busd "$busd" "${bench_opts[@]}" >"$dir/busd-$r.json" 2>"$dir/busd-$r.err" || {
                cat "$dir/busd-$r.err" >&2
                status=1
        }

        echo "=== round $r of $repeat: dbus-broker" >&2
        start_dbus_broker "$r"
        peer_runs "$sdbus" "$dbus_addr" "$dbus_pid" "$dir/peers-$r.jsonl" || status=1
        stop "$dbus_ctl"

        echo "=== round $r of $repeat: nats-server" >&2
        start_nats "$r"
        peer_runs "$natsc" "$nats_url" "$nats_pid" "$dir/peers-$r.jsonl" || status=1
        stop "$nats_pid"
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

python3 - "$dir" "$repeat" "$check" <<'EOF' || status=1
import json, os, statistics, sys

d, repeat, check = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "true"
COLS = ["busd stream", "busd seqpacket", "dbus-broker", "nats-server"]
problems, notes = [], []
rounds = []
for r in range(1, repeat + 1):
    busd, peers = None, []
    try:
        busd = json.load(open(os.path.join(d, "busd-%d.json" % r)))
    except (OSError, ValueError) as e:
        problems.append("round %d: no bus-bench output (%s)" % (r, e))
    try:
        peers = [json.loads(l) for l in open(os.path.join(d, "peers-%d.jsonl" % r)) if l.strip()]
    except (OSError, ValueError) as e:
        problems.append("round %d: no peer output (%s)" % (r, e))
    rounds.append((busd, peers))
    for row in (busd or {}).get("results", []):
        if not row["ok"]:
            problems.append("round %d: busd %s %s: %s" % (r, row["scenario"], row["transport"], row["note"]))
    for p in peers:
        if not p["ok"]:
            problems.append("round %d: %s %s failed: %s" % (r, p["peer"], p["workload"], p["note"]))
        elif p["note"] or p.get("lib_dropped"):
            notes.append("round %d: %s %s: %s%s" % (r, p["peer"], p["workload"], p["note"],
                         ("; the client library dropped %d" % p["lib_dropped"]) if p.get("lib_dropped") else ""))

def busd_row(busd, scenario, transport):
    for row in (busd or {}).get("results", []):
        if row["scenario"] == scenario and row["transport"] == transport and row["ok"]:
            return row
    return None

def peer_row(peers, name, workload):
    for p in peers:
        if p["peer"] == name and p["workload"] == workload and p["ok"]:
            return p
    return None

# metric: for busd (scenario, bus-bench key), for the peers (workload, key)
def cell(col, rnd, busd_key, peer_key):
    busd, peers = rnd
    if col.startswith("busd"):
        if not busd_key:
            return None
        row = busd_row(busd, busd_key[0], col.split()[1])
        return None if row is None else row.get(busd_key[1])
    if not peer_key:
        return None
    p = peer_row(peers, col, peer_key[0])
    return None if p is None else p.get(peer_key[1])

E1, EN = "pubsub-1:1", "fanout-1:8"
ROWS = [
    # label, better (for the ratio; None: no ratio), busd key, peer key, decimals
    ("1:1 burst: delivered/s", "higher", (E1, "value"), (E1, "rate"), 0),
    ("1:1 burst: lost", None, (E1, "dropped"), (E1, "lost"), 0),
    ("1:1 burst: daemon µs per delivery", "lower", (E1, "daemon_us_per_msg"), (E1, "server_us_per_msg"), 2),
    ("1:1 burst: publisher's sends/s", "higher", (E1, "publish_rate"), (E1, "publish_rate"), 0),
    ("1:8 fan-out: deliveries/s", "higher", (EN, "value"), (EN, "rate"), 0),
    ("1:8 fan-out: lost", None, (EN, "dropped"), (EN, "lost"), 0),
    ("1:8 fan-out: daemon µs per delivery", "lower", (EN, "daemon_us_per_msg"), (EN, "server_us_per_msg"), 2),
    ("blocking calls: round trips/s", "higher", ("call", "value"), ("call", "rate"), 0),
    ("blocking calls: p50 µs", "lower", ("call", "p50_us"), ("call", "p50_us"), 1),
    ("blocking calls: p99 µs", "lower", ("call", "p99_us"), ("call", "p99_us"), 1),
    ("blocking calls: daemon µs per message", "lower", ("call", "daemon_us_per_msg"), ("call", "server_us_per_msg"), 2),
    ("context: 1:1, raw subscriber: events/s", None, ("pubsub-1:1-raw", "value"), None, 0),
    ("context: 1:1, raw subscriber: daemon µs/delivery", None, ("pubsub-1:1-raw", "daemon_us_per_msg"), None, 2),
    ("context: 1:8, raw subscribers: deliveries/s", None, ("fanout-1:8-raw", "value"), None, 0),
    ("context: 1:8, raw subscribers: daemon µs/delivery", None, ("fanout-1:8-raw", "daemon_us_per_msg"), None, 2),
    ("floor: pingpong (socketpair), round trips/s", None, ("pingpong", "value"), None, 0),
    ("floor: relay-rtt (no bus logic), round trips/s", None, ("relay-rtt", "value"), None, 0),
    ("floor: relay-rtt, relay µs per message", None, ("relay-rtt", "daemon_us_per_msg"), None, 2),
    ("floor: relay-lines, lines/s", None, ("relay-lines", "value"), None, 0),
]

def fmt(v, dec):
    return "-" if v is None else "%.*f" % (dec, v)

header = ["workload (payload 100 B)"] + COLS + ["stream ÷ dbus-broker", "seqpacket ÷ dbus-broker",
                                                "stream ÷ nats", "seqpacket ÷ nats"]
lines = [header, ["---"] * len(header)]
for label, better, bk, pk, dec in ROWS:
    med, text = {}, {}
    for col in COLS:
        vals = [v for v in (cell(col, rnd, bk, pk) for rnd in rounds) if v is not None]
        med[col] = statistics.median(vals) if vals else None
        text[col] = fmt(med[col], dec)
        if repeat > 1 and len(vals) > 1 and better == "higher":
            text[col] += " (%s..%s)" % (fmt(min(vals), 0), fmt(max(vals), 0))
        if check and med[col] is None and (col.startswith("busd") or pk):
            problems.append("no figure for %s: %s" % (col, label))
        if check and med[col] is not None and ("/s" in label and not med[col] > 0 or med[col] < 0):
            problems.append("not sane: %s: %s = %s" % (col, label, med[col]))
    ratios = []
    for b in ("busd stream", "busd seqpacket"):
        for peer in ("dbus-broker", "nats-server"):
            x, y = med[b], med[peer]
            ratios.append((b, peer, "-" if better is None or x is None or not y else "%.2f" % (x / y)))
    ratios.sort(key=lambda t: (t[1], t[0] != "busd stream"))
    row = ["**%s**" % label if better else label] + [text[c] for c in COLS] + [t[2] for t in ratios]
    if better:
        row[0] += " (%s is better)" % better
    lines.append(row)
for l in lines:
    print("| " + " | ".join(l) + " |")
print()
print("lost: sent - received (busd: events the daemon dropped for a full queue and reported to the subscriber).")
print("daemon µs: the broker process's CPU time (utime+stime from /proc; bus-bench: schedstat) over the messages")
print("it routed: deliveries (received, plus any the client library dropped after delivery), or calls and replies.")
print("÷: busd's figure over the peer's; 'is better' says which way a ratio favours busd. Floors: bus-bench's, no bus.")
if repeat > 1:
    print("(a..b): the lowest and highest of the %d rounds." % repeat)
for n in notes:
    print("note: " + n)
for p in problems:
    print("PROBLEM: " + p, file=sys.stderr)
sys.exit(1 if problems else 0)
EOF
[ $status -eq 0 ] && echo "bench-peers.sh: done" || echo "bench-peers.sh: FAILED" >&2
exit $status
