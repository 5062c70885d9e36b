#!/usr/bin/env bash
# deps.sh: install the Debian 12 packages busd needs that are missing.
# Usage: scripts/deps.sh [build|test]
#   build: compiler, CMake, libuv, json-c, libsystemd, OpenSSL (the bridge's
#          TLS, and the openssl CLI its tests make certificates with): enough
#          to build and run busd
#   test:  also python3 (protocol tests), clang-format (the format check), clang with its sanitizer and
#          libFuzzer runtimes (fuzz targets, clang build check), systemd's
#          tools (systemd-socket-activate, systemd-analyze), go-md2man (man
#          pages), the Debian packaging tools, valgrind and iproute2 (ip, tc:
#          the network-namespace hosts of the bridge tests), dbus-broker, nats-server
#          and libnats-dev (scripts/bench-peers.sh, the peers in one run), tshark
#          (py_monitor reads `bus monitor --pcapng` captures with it)
set -euo pipefail

want=(build-essential cmake pkg-config libuv1-dev libjson-c-dev libsystemd-dev libssl-dev openssl)
if [ "${1:-build}" = test ]; then
        want+=(python3 clang clang-format libclang-rt-14-dev procps iproute2 systemd go-md2man man-db
                debhelper dpkg-dev fakeroot valgrind dbus-broker nats-server libnats-dev tshark)
fi

missing=()
for p in "${want[@]}"; do
        if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
                missing+=("$p")
        fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || { echo "deps: need root or sudo to install ${missing[*]}" >&2; exit 1; }
        sudo=sudo
fi
$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
