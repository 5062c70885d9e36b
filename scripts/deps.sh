#!/usr/bin/env bash
# deps.sh: install the Debian 12 packages busd needs that are missing.
# Usage: scripts/deps.sh [build|test]
#   build: compiler, CMake, libuv, json-c, libsystemd, OpenSSL (the bridge's
#          TLS, and the openssl CLI its tests make certificates with),
#          libmicrohttpd (GET /metrics): enough to build and run busd
#   test:  also python3 (protocol tests) with python3-venv, python3-setuptools
#          and python3-wheel (the offline install of the Python package,
#          python/tests/test_install.py), clang-format (the format check), clang with its sanitizer and
#          libFuzzer runtimes (fuzz targets, clang build check), systemd's
#          tools (systemd-socket-activate, systemd-analyze), go-md2man (man
#          pages), the Debian packaging tools, valgrind and iproute2 (ip, tc:
#          the network-namespace hosts of the bridge tests), dbus-broker, nats-server
#          and libnats-dev (scripts/bench-peers.sh, the peers in one run),
#          libglib2.0-dev (the GLib adapter's test; libuv and libsystemd are
#          already build dependencies), python3-dbus and python3-gi
#          (scripts/bench-python.sh, the Python package against python3-dbus),
#          prometheus (promtool checks the metrics; the package also enables a
#          prometheus.service listening on :9090, started at once on a host
#          that runs systemd: `systemctl disable --now prometheus` if unwanted)
#          python3-prometheus-client (its OpenMetrics parser checks them too)
#          tshark (py_monitor reads `bus monitor --pcapng` captures with it),
#          zsh, fish and bash-completion (cli_completion runs bus's completion
#          in each shell, bash with and without bash-completion; each part is
#          skipped when its shell is missing)
set -euo pipefail

want=(build-essential cmake pkg-config libuv1-dev libjson-c-dev libsystemd-dev libssl-dev openssl libmicrohttpd-dev)
if [ "${1:-build}" = test ]; then
        want+=(python3 python3-venv python3-setuptools python3-wheel clang clang-format libclang-rt-14-dev procps
                iproute2 systemd go-md2man man-db debhelper dpkg-dev fakeroot valgrind dbus-broker nats-server
                libnats-dev libglib2.0-dev python3-dbus python3-gi prometheus python3-prometheus-client tshark
                zsh fish bash-completion)
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
