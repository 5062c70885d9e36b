#!/usr/bin/env bash
# quickstart.sh: the README's first command. Installs what is missing, builds
# busd, bus and libbus into build/, and starts the bus for the current user on
# its default address (no configuration needed).
#   ./quickstart.sh         install, build, start (if not already running)
#   ./quickstart.sh stop    stop the bus started here
set -euo pipefail
cd "$(dirname "$0")"

run_dir="${XDG_RUNTIME_DIR:-/tmp/busd-$(id -u)}"
[ -n "${XDG_RUNTIME_DIR:-}" ] && run_dir="$XDG_RUNTIME_DIR/busd"
pidfile="build/busd.pid"
logfile="build/busd.log"

if [ "${1:-}" = stop ]; then
        if [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null; then
                echo "busd stopped"
        else
                echo "no busd started by quickstart.sh is running"
        fi
        rm -f "$pidfile"
        exit 0
fi

scripts/deps.sh build
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DBUS_WERROR=OFF >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
echo "built: build/busd/busd, build/tools/bus/bus, build/libbus/libbus.so"

if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        echo "busd is already running (pid $(cat "$pidfile"))"
else
        # --ready-fd: return only once both sockets serve (no sleeps, no polling)
        fifo="build/.busd-ready"
        rm -f "$fifo" && mkfifo "$fifo"
        setsid build/busd/busd --ready-fd 3 3>"$fifo" >"$logfile" 2>&1 </dev/null &
        echo $! >"$pidfile"
        if ! read -r -t 10 ready <"$fifo" || [ "$ready" != "READY=1" ]; then
                rm -f "$fifo" "$pidfile"
                echo "busd did not start; its log ($logfile):" >&2
                cat "$logfile" >&2
                exit 1
        fi
        rm -f "$fifo"
        echo "busd started (pid $(cat "$pidfile")), log in $logfile"
fi
echo "bus address: unix:$run_dir/bus (seqpacket:$run_dir/bus.seq)"
echo "try:   build/tools/bus/bus ping"
echo "stop:  ./quickstart.sh stop"
