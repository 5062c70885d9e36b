#!/usr/bin/env bash
# bench-bridge.sh [--quick] [--repeat N] [--check] [BUILD_DIR]: bus-bench across the network
# bridge (docs/bridge.md, docs/benchmarks.md "Across the bridge").
#
# As root. Builds two "hosts" as network namespaces joined by a veth pair
# (10.231.250.1/24 and 10.231.250.2/24, inside the namespaces only: nothing in
# the root namespace is touched), generates test certificates
# (scripts/gen-test-certs.sh) into a temporary directory, and starts one busd
# in each namespace: busd-a listens for the bridge on 10.231.250.1:7400,
# busd-b dials it; both serve AF_UNIX sockets in the temporary directory
# (unix:DIR/a/bus and seqpacket:DIR/a/bus.seq, likewise b), which bus-bench
# reaches from the root namespace (AF_UNIX paths do not belong to a network
# namespace). Once `bus status --json` shows the link "up" on both, it runs
#   1. bus-bench --address unix:DIR/a/bus --remote-address unix:DIR/b/bus
#      --scenario call,pubsub: the publisher and the caller on busd-a, the
#      subscriber and the service on busd-b: every event and call crosses the
#      link (TLS 1.3 over TCP over the veth);
#   2. bus-bench --scenario call,pubsub with a busd of its own (one bus, no
#      bridge): the same scenarios on one bus,
# and prints both tables, the ratios across/local and the machine (nproc, CPU
# model, kernel). Both runs use the same build and run one after the other.
#
#   --quick     tiny counts (bus-bench --quick): a smoke run, figures meaningless
#   --repeat N  rounds per bus-bench run, each column the median (default 3; 1 with --quick)
#   --check     bus-bench --check: fail unless every number is sane (no timing thresholds)
#   BUILD_DIR   the build tree with busd/busd, tools/bus/bus, tests/bench/bus-bench
#               (default: build/, else build-test/)
#
# Exit status: 0, 1 (a step failed), 2 (usage), 77 (not root, or no usable
# `ip netns`: skipped). Everything it made (namespaces, daemons, the
# temporary directory) is removed on exit, also on failure or a signal.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
quick=false
check=
repeat=
build=
while [ $# -gt 0 ]; do
        case $1 in
        --quick) quick=true ;;
        --check) check=--check ;;
        --repeat)
                if [ $# -lt 2 ] || ! [[ $2 =~ ^[1-9][0-9]?$ ]]; then
                        echo "bench-bridge.sh: --repeat needs a number 1-99" >&2
                        exit 2
                fi
                repeat=$2
                shift
                ;;
        -h | --help)
                sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'
                exit 0
                ;;
        -*) echo "bench-bridge.sh: unknown option $1 (--quick, --repeat N, --check, BUILD_DIR)" >&2; exit 2 ;;
        *) build=$1 ;;
        esac
        shift
done
if [ -z "$build" ]; then
        for d in "$root/build" "$root/build-test"; do
                if [ -x "$d/tests/bench/bus-bench" ]; then build=$d; break; fi
        done
fi
[ -n "$build" ] || { echo "bench-bridge.sh: no build dir with tests/bench/bus-bench (give one)" >&2; exit 2; }
build=$(cd "$build" && pwd)
busd=$build/busd/busd
bus=$build/tools/bus/bus
bench=$build/tests/bench/bus-bench
for f in "$busd" "$bus" "$bench"; do
        [ -x "$f" ] || { echo "bench-bridge.sh: $f is missing (build the tree first)" >&2; exit 2; }
done
if [ "$(id -u)" -ne 0 ]; then
        echo "bench-bridge.sh: skipped: needs root (network namespaces)" >&2
        exit 77
fi
ip=$(command -v ip || echo /usr/sbin/ip)
[ -z "$repeat" ] && { $quick && repeat=1 || repeat=3; }
bench_opts=(--repeat "$repeat")
[ -n "$check" ] && bench_opts+=("$check")
$quick && bench_opts+=(--quick)

# unique names: this shell's pid
ns_a=bb$$-a
ns_b=bb$$-b
addr_a=10.231.250.1
addr_b=10.231.250.2
port=7400
dir=$(mktemp -d /tmp/bench-bridge.XXXXXX)
pids=()
cleanup() {
        local p
        for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
        for p in "${pids[@]}"; do
                for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
                kill -KILL "$p" 2>/dev/null
                wait "$p" 2>/dev/null
        done
        "$ip" netns del "$ns_a" 2>/dev/null
        "$ip" netns del "$ns_b" 2>/dev/null
        rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
fail() { echo "bench-bridge.sh: $*" >&2; exit 1; }

# the two hosts and their link (the veth pair is made inside ns_a, its other
# end moved straight into ns_b: it never appears in the root namespace)
if ! "$ip" netns add "$ns_a" 2>"$dir/ip.err" || ! "$ip" netns add "$ns_b" 2>>"$dir/ip.err"; then
        echo "bench-bridge.sh: skipped: ip netns unusable: $(cat "$dir/ip.err")" >&2
        exit 77
fi
"$ip" -n "$ns_a" link set lo up &&
        "$ip" -n "$ns_b" link set lo up &&
        "$ip" -n "$ns_a" link add v-b type veth peer name v-a netns "$ns_b" &&
        "$ip" -n "$ns_a" addr add "$addr_a/24" dev v-b &&
        "$ip" -n "$ns_b" addr add "$addr_b/24" dev v-a &&
        "$ip" -n "$ns_a" link set v-b up &&
        "$ip" -n "$ns_b" link set v-a up || fail "cannot build the namespaces"

"$root/scripts/gen-test-certs.sh" "$dir/certs" || fail "gen-test-certs.sh failed"

# start_busd HOST NS CERT BRIDGE_ARGS...: busd in NS, ready when its sockets serve
start_busd() {
        local host=$1 ns=$2 cert=$3
        shift 3
        mkdir -p "$dir/$host"
        mkfifo "$dir/$host/ready"
        "$ip" netns exec "$ns" "$busd" --listen "unix:$dir/$host/bus" --listen "seqpacket:$dir/$host/bus.seq" \
                --ready-fd 3 --bridge-cert "$dir/certs/$cert.pem" --bridge-key "$dir/certs/$cert.key" \
                --bridge-ca "$dir/certs/ca.pem" "$@" 3>"$dir/$host/ready" 2>"$dir/$host/busd.log" &
        pids+=($!)
        # the FIFO opens when busd has started; READY=1 when it serves
        local line
        if ! read -r -t 30 line <"$dir/$host/ready" || [ "$line" != READY=1 ]; then
                cat "$dir/$host/busd.log" >&2
                fail "busd $host did not become ready"
        fi
}
start_busd a "$ns_a" busd-a --bridge-listen "$addr_a:$port" --bridge-peer busd-b
start_busd b "$ns_b" busd-b --bridge-connect "$addr_a:$port" --bridge-peer busd-a

# link_up HOST: the bridge link of HOST's busd is "up"
link_up() {
        "$bus" -a "unix:$dir/$1/bus" status --json 2>/dev/null | python3 -c '
import json, sys
links = json.load(sys.stdin).get("bridge", {}).get("links", [])
sys.exit(0 if any(l.get("state") == "up" for l in links) else 1)' 2>/dev/null
}
up=false
for _ in $(seq 300); do
        if link_up a && link_up b; then
                up=true
                break
        fi
        sleep 0.1
done
if ! $up; then
        cat "$dir"/a/busd.log "$dir"/b/busd.log >&2
        "$bus" -a "unix:$dir/a/bus" status --json >&2
        fail "the bridge link did not come up within 30 s"
fi

echo "=== machine"
model=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
echo "nproc: $(nproc); CPU: ${model:-unknown}; kernel: $(uname -r); load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "tree: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$root" diff --quiet 2>/dev/null || echo ' (with uncommitted changes)'); build: $build"
echo "bridge: busd-a $addr_a:$port <- busd-b (veth between namespaces $ns_a and $ns_b, TLS 1.3)"

status=0
echo
echo "=== across the bridge: publisher and caller on busd-a, subscriber and service on busd-b"
echo "+ bus-bench --address unix:$dir/a/bus --remote-address unix:$dir/b/bus --scenario call,pubsub ${bench_opts[*]}"
"$bench" --address "unix:$dir/a/bus" --remote-address "unix:$dir/b/bus" --scenario call,pubsub \
        "${bench_opts[@]}" --json >"$dir/across.json" || status=1
echo
echo "=== one bus: the same scenarios, bus-bench's own busd (no bridge)"
echo "+ bus-bench --busd $busd --scenario call,pubsub ${bench_opts[*]}"
"$bench" --busd "$busd" --scenario call,pubsub "${bench_opts[@]}" --json >"$dir/local.json" || status=1

echo
echo "=== results (medians of $repeat round(s); across / one bus in the same run)"
python3 - "$dir/across.json" "$dir/local.json" <<'EOF' || status=1
import json, sys
across, local = (json.load(open(f)) for f in sys.argv[1:3])

def row(doc, s, t):
    return next((r for r in doc["results"] if r["scenario"] == s and r["transport"] == t), None)

def f(v, d=0):
    return "-" if v is None else "%.*f" % (d, v)

def ratio(a, b):
    return "-" if a is None or not b else "%.2f" % (a / b)

lines = [("scenario", "transport", "across", "one bus", "ratio", "p50 us across/one (x)",
          "p99 us across/one (x)", "busd us across/one", "dropped across/one", "note (across)")]
for s in ("call", "pubsub-1:1"):
    for t in ("stream", "seqpacket"):
        a, b = row(across, s, t), row(local, s, t)
        if not a or not b:
            continue
        lines.append((s, t, "%s %s" % (f(a["value"]), a["unit"]), "%s %s" % (f(b["value"]), b["unit"]),
                      ratio(a["value"], b["value"]),
                      "%s / %s (%s)" % (f(a["p50_us"], 1), f(b["p50_us"], 1), ratio(a["p50_us"], b["p50_us"])),
                      "%s / %s (%s)" % (f(a["p99_us"], 1), f(b["p99_us"], 1), ratio(a["p99_us"], b["p99_us"])),
                      "%s / %s" % (f(a["daemon_us_per_msg"], 2), f(b["daemon_us_per_msg"], 2)),
                      "%s / %s" % ("-" if a["dropped"] is None else a["dropped"],
                                   "-" if b["dropped"] is None else b["dropped"]),
                      a["note"]))
widths = [max(len(str(l[i])) for l in lines) for i in range(len(lines[0]))]
for l in lines:
    print("  ".join(str(c).ljust(w) for c, w in zip(l, widths)).rstrip())
print()
print("bus-bench (across): " + across["machine"])
print("busd us: CPU per routed message (call: per call or reply; events: per delivery); across: both daemons")
print("together. dropped, across: the link's drops (on busd-a) plus the subscriber's (on busd-b); note: round 1.")
bad = [(n, r) for n, doc in (("across", across), ("one bus", local)) for r in doc["results"] if not r["ok"]]
for n, r in bad:
    print("FAILED (%s): %s %s: %s" % (n, r["scenario"], r["transport"], r["note"]), file=sys.stderr)
sys.exit(1 if bad else 0)
EOF
for h in a b; do
        if grep -Eq 'error|ERROR|sanitizer' "$dir/$h/busd.log"; then
                echo "--- busd-$h log:" >&2
                cat "$dir/$h/busd.log" >&2
        fi
done
[ $status -eq 0 ] && echo "bench-bridge.sh: done" || echo "bench-bridge.sh: FAILED" >&2
exit $status
