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
#      --scenario call,pubsub,fanout: the publisher and the caller on busd-a, the
#      subscriber and the service on busd-b: every event and call crosses the
#      link (TLS 1.3 over TCP over the veth);
#   2. bus-bench --scenario call,pubsub,fanout with a busd of its own (one bus, no
#      bridge): the same scenarios on one bus;
#   3. the link's floor: tests/bench/bench-netfloor between the same two
#      namespaces over the same veth, with no bus: its server in ns B on
#      10.231.250.2:7401, its client in ns A. floor-rtt: the client sends
#      bus-bench's call line (144 bytes with the default 64-byte payload),
#      an echo sends it back, one round trip at a time (round trips/s, p50 and
#      p99 of each); floor-burst: the client writes bus-bench's publish line
#      (112 bytes) back to back, 64 KiB per write, a sink counts the lines
#      and answers one byte after the last (lines/s, first write to that
#      byte). Each over plain TCP and over TLS 1.3 (OpenSSL, set up as the
#      bridge's: TLS 1.3 only, this run's busd-a/busd-b certificates, both
#      ends verified; TCP_NODELAY), with bus-bench's counts (call: 20000 round
#      trips, pubsub: 200000 lines; --quick: 300, 3000) and --repeat rounds on
#      one connection,
# and prints one table: across, one bus, the ratios across / one bus, across /
# TCP floor and across / TLS floor (calls against floor-rtt, events against
# floor-burst), then the floor rows, and the machine (nproc, CPU model, kernel).
# All runs use the same build and run one after the other.
#
#   --quick     tiny counts (bus-bench --quick): a smoke run, figures meaningless
#   --repeat N  rounds per bus-bench run and per floor row, each column the median
#               (default 3; 1 with --quick)
#   --check     bus-bench --check, and for the floor rows: every one measured
#               with exact counts (lines counted = lines sent, bytes echoed = bytes
#               sent, TLS 1.3 negotiated), rates and latencies positive and
#               ordered (no timing thresholds)
#   BUILD_DIR   the build tree with busd/busd, tools/bus/bus, tests/bench/bus-bench
#               and tests/bench/bench-netfloor (default: build/, else build-test/)
#
# Exit status: 0, 1 (a step failed), 2 (usage), 77 (not root, or no usable
# `ip netns`: skipped). Everything it made (namespaces, daemons, floor
# processes, the temporary directory) is removed on exit, also on failure or a
# signal.
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
floor=$build/tests/bench/bench-netfloor
for f in "$busd" "$bus" "$bench" "$floor"; do
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
floor_port=7401
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
echo "+ bus-bench --address unix:$dir/a/bus --remote-address unix:$dir/b/bus --scenario call,pubsub,fanout ${bench_opts[*]}"
"$bench" --address "unix:$dir/a/bus" --remote-address "unix:$dir/b/bus" --scenario call,pubsub,fanout \
        "${bench_opts[@]}" --json >"$dir/across.json" || status=1
echo
echo "=== one bus: the same scenarios, bus-bench's own busd (no bridge)"
echo "+ bus-bench --busd $busd --scenario call,pubsub,fanout ${bench_opts[*]}"
"$bench" --busd "$busd" --scenario call,pubsub,fanout "${bench_opts[@]}" --json >"$dir/local.json" || status=1

# run_floor NAME SERVER CLIENT COUNT [tls]: one floor row, bench-netfloor's
# SERVER role in ns_b and its CLIENT role in ns_a, into DIR/floor/NAME.json
# (the client's figures), NAME.server.json, NAME.err, NAME.server.err and
# NAME.rc ("client-status server-status"). Returns 1 if either failed.
run_floor() {
        local name=$1 srole=$2 crole=$3 count=$4 tls=${5:-} out=$dir/floor/$1 line spid crc src p
        local common=(--count "$count" --rounds "$repeat") stls=() ctls=() keep=()
        if [ "$tls" = tls ]; then
                stls=(--tls "$dir/certs/busd-b.pem" "$dir/certs/busd-b.key" "$dir/certs/ca.pem" --peer busd-a)
                ctls=(--tls "$dir/certs/busd-a.pem" "$dir/certs/busd-a.key" "$dir/certs/ca.pem" --peer busd-b)
        fi
        echo "+ $name: bench-netfloor $srole (in $ns_b) / $crole --connect $addr_b:$floor_port (in $ns_a)" \
                "${common[*]}${tls:+ --tls busd-b / busd-a}"
        mkfifo "$out.ready"
        "$ip" netns exec "$ns_b" "$floor" "$srole" --listen "$addr_b:$floor_port" "${common[@]}" "${stls[@]}" \
                --ready-fd 3 3>"$out.ready" >"$out.server.json" 2>"$out.server.err" &
        spid=$!
        pids+=("$spid")
        # the FIFO opens when the server has started; READY=1 when it listens
        if read -r -t 30 line <"$out.ready" && [ "$line" = READY=1 ]; then
                "$ip" netns exec "$ns_a" "$floor" "$crole" --connect "$addr_b:$floor_port" "${common[@]}" \
                        "${ctls[@]}" >"$out.json" 2>"$out.err"
                crc=$?
        else
                echo "the server did not become ready" >"$out.err"
                crc=1
        fi
        [ $crc -eq 0 ] || kill -TERM "$spid" 2>/dev/null # it would wait IO_TIMEOUT_S for the client
        wait "$spid"
        src=$?
        # done: cleanup must not signal a pid the system may have reused
        for p in "${pids[@]}"; do [ "$p" = "$spid" ] || keep+=("$p"); done
        pids=("${keep[@]}")
        echo "$crc $src" >"$out.rc"
        [ $crc -eq 0 ] && [ $src -eq 0 ]
}
# bus-bench's counts for call and pubsub (tests/bench/main.c, bench_count())
if $quick; then floor_rtt=300 floor_lines=3000; else floor_rtt=20000 floor_lines=200000; fi
echo
echo "=== the link's floor: no bus, bench-netfloor across the same veth, plain TCP and TLS 1.3"
mkdir -p "$dir/floor"
run_floor tcp-rtt echo-server rtt-client "$floor_rtt" || status=1
run_floor tcp-burst sink burst "$floor_lines" || status=1
run_floor tls-rtt echo-server rtt-client "$floor_rtt" tls || status=1
run_floor tls-burst sink burst "$floor_lines" tls || status=1

echo
echo "=== results (medians of $repeat round(s); across / one bus and across / the link's floor in the same run)"
python3 - "$dir/across.json" "$dir/local.json" "$dir/floor" "${check:-no-check}" "$floor_rtt" "$floor_lines" \
        "$repeat" <<'EOF' || status=1
import json, math, os, sys
across, local = (json.load(open(f)) for f in sys.argv[1:3])
floor_dir, check = sys.argv[3], sys.argv[4] == "--check"
n_rtt, n_lines, rounds = (int(v) for v in sys.argv[5:8])


def read(path):
    try:
        with open(path) as fh:
            return fh.read()
    except OSError:
        return ""


def floor_row(name, count):
    """The client's figures of one floor row, with ok and note; the sanity
    checks (--check) compare them with what the server saw."""
    base = os.path.join(floor_dir, name)
    rc = read(base + ".rc").split()
    errs = (read(base + ".err") + read(base + ".server.err")).strip().splitlines()
    try:
        c = json.loads(read(base + ".json"))
        s = json.loads(read(base + ".server.json"))
    except ValueError:
        c = s = None
    r = {"ok": rc == ["0", "0"] and c is not None, "value": None, "unit": "", "p50_us": None, "p99_us": None,
         "note": errs[0] if errs else ""}
    if not r["ok"]:
        r["note"] = r["note"] or "not run (status %s)" % " ".join(rc or ["?"])
        return r
    r.update({k: c.get(k) for k in ("value", "unit", "p50_us", "p99_us")})
    r["note"] = "%s B lines, %s" % (c["line_bytes"], c["cipher"] if c["link"] == "tls" else "TCP")
    if check:
        def num(v):
            return isinstance(v, (int, float)) and math.isfinite(v) and v > 0
        bad = []
        if c.get("count") != count or c.get("rounds") != rounds:
            bad.append("count %s x %s, not %d x %d" % (c.get("count"), c.get("rounds"), count, rounds))
        if not num(c["value"]) or not c["vmin"] <= c["value"] <= c["vmax"]:
            bad.append("rate %s (%s-%s)" % (c["value"], c["vmin"], c["vmax"]))
        if c["link"] != name.split("-")[0] or (c["link"] == "tls" and c.get("protocol") != "TLSv1.3"):
            bad.append("link %s, protocol %s" % (c["link"], c.get("protocol")))
        if c["role"] == "rtt-client":
            warm = min(count // 10, 1000)
            if not (num(c["p50_us"]) and num(c["p99_us"]) and c["p50_us"] <= c["p99_us"]):
                bad.append("p50 %s p99 %s" % (c["p50_us"], c["p99_us"]))
            if s.get("bytes") != (warm + count * rounds) * c["line_bytes"]:
                bad.append("echoed %s bytes, sent %d" % (s.get("bytes"), (warm + count * rounds) * c["line_bytes"]))
        elif s.get("lines") != count * rounds or s.get("line_bytes") != c["line_bytes"]:
            bad.append("sink counted %s lines of %s B, sent %d of %s B" % (s.get("lines"), s.get("line_bytes"),
                                                                           count * rounds, c["line_bytes"]))
        if bad:
            r["ok"], r["note"] = False, "insane: " + "; ".join(bad)
    return r


floors = {n: floor_row(n, n_rtt if n.endswith("rtt") else n_lines)
          for n in ("tcp-rtt", "tls-rtt", "tcp-burst", "tls-burst")}

def row(doc, s, t):
    return next((r for r in doc["results"] if r["scenario"] == s and r["transport"] == t), None)

def f(v, d=0):
    return "-" if v is None else "%.*f" % (d, v)

def ratio(a, b):  # two significant digits below 0.1: ratios to the floor can be that small
    return "-" if a is None or not b else "%.2f" % (a / b) if round(a / b, 2) >= 0.1 else "%.2g" % (a / b)

lines = [("scenario", "transport", "across", "one bus", "across / one bus", "across / TCP floor",
          "across / TLS floor", "p50 us across/one (x)", "p99 us across/one (x)", "busd us across/one",
          "dropped across/one", "note (across)")]
for s, shape in (("call", "rtt"), ("pubsub-1:1", "burst"), ("fanout-1:8", "burst")):
    for t in ("stream", "seqpacket"):
        a, b = row(across, s, t), row(local, s, t)
        if not a or not b:
            continue
        lines.append((s, t, "%s %s" % (f(a["value"]), a["unit"]), "%s %s" % (f(b["value"]), b["unit"]),
                      ratio(a["value"], b["value"]), ratio(a["value"], floors["tcp-" + shape]["value"]),
                      ratio(a["value"], floors["tls-" + shape]["value"]),
                      "%s / %s (%s)" % (f(a["p50_us"], 1), f(b["p50_us"], 1), ratio(a["p50_us"], b["p50_us"])),
                      "%s / %s (%s)" % (f(a["p99_us"], 1), f(b["p99_us"], 1), ratio(a["p99_us"], b["p99_us"])),
                      "%s / %s" % (f(a["daemon_us_per_msg"], 2), f(b["daemon_us_per_msg"], 2)),
                      "%s / %s" % ("-" if a["dropped"] is None else a["dropped"],
                                   "-" if b["dropped"] is None else b["dropped"]),
                      a["note"]))
for shape in ("rtt", "burst"):
    for link in ("tcp", "tls"):
        r = floors[link + "-" + shape]
        note = r["note"]
        if link == "tls" and r["ok"] and floors["tcp-" + shape]["ok"]:
            note += "; TLS / TCP %s" % ratio(r["value"], floors["tcp-" + shape]["value"])
        lines.append(("floor-" + shape, "TLS 1.3" if link == "tls" else "TCP",
                      "%s %s" % (f(r["value"]), r["unit"]) if r["ok"] else "FAILED", "-", "-", "-", "-",
                      f(r["p50_us"], 1) if shape == "rtt" else "-", f(r["p99_us"], 1) if shape == "rtt" else "-",
                      "-", "-", note))
widths = [max(len(str(l[i])) for l in lines) for i in range(len(lines[0]))]
for l in lines:
    print("  ".join(str(c).ljust(w) for c, w in zip(l, widths)).rstrip())
print()
print("bus-bench (across): " + across["machine"])
print("busd us: CPU per routed message (call: per call or reply; events: per delivery); across: both daemons")
print("together. dropped, across: the link's drops (on busd-a) plus the subscriber's (on busd-b); note: round 1.")
print("floor: bench-netfloor across the same veth, no bus (client in ns A, server in ns B): floor-rtt echoes the")
print("call line one round trip at a time, floor-burst writes publish lines back to back to a sink that counts them.")
print("across / TCP (TLS) floor: calls/s over the floor's round trips/s, events/s over its lines/s.")
bad = [(n, r) for n, doc in (("across", across), ("one bus", local)) for r in doc["results"] if not r["ok"]]
for n, r in bad:
    print("FAILED (%s): %s %s: %s" % (n, r["scenario"], r["transport"], r["note"]), file=sys.stderr)
for n, r in floors.items():
    if not r["ok"]:
        print("FAILED (floor): %s: %s" % (n, r["note"]), file=sys.stderr)
sys.exit(1 if bad or not all(r["ok"] for r in floors.values()) else 0)
EOF
for h in a b; do
        if grep -Eq 'error|ERROR|sanitizer' "$dir/$h/busd.log"; then
                echo "--- busd-$h log:" >&2
                cat "$dir/$h/busd.log" >&2
        fi
done
[ $status -eq 0 ] && echo "bench-bridge.sh: done" || echo "bench-bridge.sh: FAILED" >&2
exit $status
