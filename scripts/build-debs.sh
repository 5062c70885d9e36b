#!/usr/bin/env bash
# build-debs.sh: build the Debian packages and check them (CI calls it).
# Usage: scripts/build-debs.sh [OUTDIR]     (default: a new temporary directory)
#
#   1. copies the source tree (the files git knows or would add) to
#      OUTDIR/busd-VERSION and runs `dpkg-buildpackage -us -uc -b` there
#      (DEB_BUILD_OPTIONS=nocheck: the suite runs in test.sh);
#   2. checks each package's file list (`dpkg -c`) against the one expected
#      here, and busd's maintainer scripts (busd user, sockets enabled);
#   3. unpacks all four into OUTDIR/root (`dpkg -x`), runs the unpacked busd
#      and `bus ping` against it, and builds tests/install/example against the
#      unpacked libbus-dev with pkg-config and with find_package(libbus).
# Needs: dpkg-dev, debhelper, fakeroot and the Build-Depends of
# debian/control (dpkg-buildpackage says which are missing).
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$(mktemp -d /tmp/busd-debs.XXXXXX)}
mkdir -p "$out"
out=$(cd "$out" && pwd)

version=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
fails=0
fail() {
        echo "build-debs: FAIL: $*" >&2
        fails=$((fails + 1))
}
step() { printf '\n=== %s ===\n' "$*"; }

step "dpkg-buildpackage (busd $version, $arch) in $out"
tree=$out/busd-$version
rm -rf "$tree" "$out"/*.deb "$out"/*.buildinfo "$out"/*.changes "$out/root"
mkdir -p "$tree"
# one tar reading the list (xargs could split it into several archives, and
# the extracting tar stops at the first one's end); files git knows but that
# are deleted in the work tree are left out
(cd "$src" && git ls-files -z --cached --others --exclude-standard |
        while IFS= read -r -d '' f; do if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi; done |
        tar --null --no-recursion -T - -cf -) | tar -C "$tree" -xf -
(cd "$tree" && DEB_BUILD_OPTIONS="nocheck noautodbgsym parallel=$(nproc)" \
        dpkg-buildpackage -us -uc -b >"$out/build.log" 2>&1) || {
        tail -n 60 "$out/build.log" >&2
        echo "build-debs: dpkg-buildpackage failed (log: $out/build.log)" >&2
        exit 1
}
ls -l "$out"/*.deb

step "package contents (dpkg -c)"
doc() { printf './usr/share/doc/%s/changelog.gz\n./usr/share/doc/%s/copyright\n' "$1" "$1"; }
expect_busd() {
        printf '%s\n' ./usr/bin/busd \
                ./lib/systemd/system/busd.service ./lib/systemd/system/busd.socket \
                ./lib/systemd/system/busd-seqpacket.socket \
                ./usr/lib/systemd/user/busd.service ./usr/lib/systemd/user/busd.socket \
                ./usr/lib/systemd/user/busd-seqpacket.socket \
                ./usr/lib/sysusers.d/busd.conf ./usr/share/man/man8/busd.8.gz \
                ./etc/busd/services/ ./usr/share/busd/services/ ./usr/share/busd/user-services/ \
                ./etc/busd/policy.json ./etc/busd/policy.d/
        doc busd
}
expect_libbus1() {
        printf '%s\n' "./usr/lib/$multiarch/libbus.so.1.0.0" "./usr/lib/$multiarch/libbus.so.1"
        doc libbus1
}
expect_libbus_dev() {
        printf '%s\n' ./usr/include/bus.h "./usr/lib/$multiarch/libbus.so" \
                "./usr/lib/$multiarch/pkgconfig/libbus.pc" \
                ./usr/include/bus-uv.h ./usr/include/bus-sdevent.h ./usr/include/bus-glib.h \
                "./usr/lib/$multiarch/pkgconfig/libbus-uv.pc" "./usr/lib/$multiarch/pkgconfig/libbus-sdevent.pc" \
                "./usr/lib/$multiarch/pkgconfig/libbus-glib.pc" \
                "./usr/lib/$multiarch/cmake/libbus/libbusConfig.cmake" \
                "./usr/lib/$multiarch/cmake/libbus/libbusConfigVersion.cmake" \
                "./usr/lib/$multiarch/cmake/libbus/libbusTargets.cmake" \
                "./usr/lib/$multiarch/cmake/libbus/libbusTargets-none.cmake" \
                ./usr/share/man/man3/libbus.3.gz
        # a page per public function, each `.so man3/libbus.3`: what libbus
        # exports and the adapters' attach/detach functions
        local f
        for f in $(nm -D --defined-only "$out/root-libbus1/usr/lib/$multiarch/libbus.so.1.0.0" | awk '$2 == "T" { print $3 }') \
                $(sed -n 's/^static inline [^(]*\b\(bus_[a-z0-9_]*[a-z0-9]\)(.*/\1/p' "$src"/libbus/adapters/bus-*.h); do
                printf './usr/share/man/man3/%s.3.gz\n' "$f"
        done
        doc libbus-dev
}
expect_bus_tools() {
        printf '%s\n' ./usr/bin/bus ./usr/share/bash-completion/completions/bus \
                ./usr/share/zsh/vendor-completions/_bus ./usr/share/fish/vendor_completions.d/bus.fish \
                ./usr/share/man/man1/bus.1.gz ./usr/share/doc/bus-tools/bus.md.gz
        doc bus-tools
}
rm -rf "$out/root-libbus1"
dpkg -x "$out/libbus1_${version}_${arch}.deb" "$out/root-libbus1" # the exports, for expect_libbus_dev
for pkg in busd libbus1 libbus-dev bus-tools; do
        deb=$out/${pkg}_${version}_${arch}.deb
        [ -f "$deb" ] || { fail "$pkg: no $deb"; continue; }
        # files and links, plus directories that are empty (leaves)
        have=$(dpkg -c "$deb" | awk '{ print $6 }' | sort | awk '
                { if (prev != "" && !(index($0, prev) == 1 && prev ~ /\/$/)) print prev; prev = $0 }
                END { print prev }' | grep -v '^\./$' | sort)
        want=$("expect_${pkg//-/_}" | sort)
        if [ "$have" != "$want" ]; then
                fail "$pkg contents differ from the expected list (< expected, > in the package):"
                diff <(echo "$want") <(echo "$have") | grep '^[<>]' >&2 || true
        else
                echo "$pkg: $(echo "$have" | wc -l) files as expected"
        fi
done

step "dependencies and maintainer scripts"
fails_before=$fails
depends() { dpkg-deb -f "$out/${1}_${version}_${arch}.deb" Depends; }
depends busd | grep -q 'libsystemd0' || fail "busd does not depend on libsystemd0: $(depends busd)"
depends busd | grep -q 'libmicrohttpd12' || fail "busd does not depend on libmicrohttpd12 (shlibs): $(depends busd)"
depends busd | grep -q 'systemd | systemd-standalone-sysusers' || fail "busd does not depend on systemd-sysusers"
depends bus-tools | grep -q "libbus1 (>= " || fail "bus-tools does not depend on libbus1: $(depends bus-tools)"
depends libbus-dev | grep -q "libbus1 (= $version)" || fail "libbus-dev does not depend on libbus1 (= $version)"
ctrl=$out/busd.control
rm -rf "$ctrl"
dpkg-deb -e "$out/busd_${version}_${arch}.deb" "$ctrl"
grep -q 'systemd-sysusers .*busd.conf' "$ctrl/postinst" || fail "busd's postinst does not create the busd user"
for unit in busd.socket busd-seqpacket.socket; do
        grep -q "deb-systemd-helper enable '$unit'" "$ctrl/postinst" || fail "busd's postinst does not enable $unit"
        grep -q "deb-systemd-helper --user enable '$unit'" "$ctrl/postinst" ||
                fail "busd's postinst does not enable the user $unit"
done
grep -q "try-restart.*busd.service" "$ctrl/postinst" || fail "busd's postinst does not restart a running busd.service"
[ "$fails" -eq "$fails_before" ] && echo "Depends and maintainer scripts as expected"

step "unpacked (dpkg -x) into $out/root"
root=$out/root
for deb in "$out"/*_"${version}"_"${arch}".deb; do
        dpkg -x "$deb" "$root"
done
export LD_LIBRARY_PATH=$root/usr/lib/$multiarch
"$root/usr/bin/busd" --version
"$root/usr/bin/bus" --version
"$root/usr/bin/busd" --help >/dev/null || fail "busd --help"
# `man bus_call` finds libbus(3) through its .so page (gzipped by dh_compress)
if command -v man >/dev/null; then
        where=$(MANPATH=$root/usr/share/man man -w 3 bus_call 2>&1 || true)
        [ "$where" = "$root/usr/share/man/man3/libbus.3.gz" ] || fail "man -w 3 bus_call: ${where:-nothing}"
fi
"$root/usr/bin/bus" --help >/dev/null || fail "bus --help"
# the SONAME (libbus/CMakeLists.txt: the major version) and what bus links
soname=$(readelf -d "$root/usr/lib/$multiarch/libbus.so.1.0.0" | grep -o 'Library soname: \[[^]]*\]' || true)
[ "$soname" = 'Library soname: [libbus.so.1]' ] || fail "libbus.so.1.0.0 has no SONAME libbus.so.1: ${soname:-none}"
needed=$(readelf -d "$root/usr/bin/bus" | grep -o 'Shared library: \[libbus\.so[^]]*\]' || true)
[ "$needed" = 'Shared library: [libbus.so.1]' ] || fail "bus does not link libbus.so.1 (only): ${needed:-no libbus}"

run=$(mktemp -d /tmp/busd-debs-run.XXXXXX)
busd_pid=
cleanup() {
        [ -n "$busd_pid" ] && kill "$busd_pid" 2>/dev/null && wait "$busd_pid" 2>/dev/null
        rm -rf "$run"
}
trap cleanup EXIT
mkfifo "$run/ready"
"$root/usr/bin/busd" --listen "unix:$run/bus" --listen "seqpacket:$run/bus.seq" --ready-fd 3 \
        3>"$run/ready" 2>"$run/busd.log" &
busd_pid=$!
read -r -t 10 ready <"$run/ready" || true
[ "${ready:-}" = READY=1 ] || { cat "$run/busd.log" >&2; fail "the unpacked busd did not become ready"; }
"$root/usr/bin/bus" --address "unix:$run/bus" --json ping || fail "bus ping failed"

export PKG_CONFIG_PATH=$root/usr/lib/$multiarch/pkgconfig PKG_CONFIG_SYSROOT_DIR=$root
# shellcheck disable=SC2046 # word splitting of the flags is intended
cc -Wall -Wextra -Werror "$src/tests/install/example/example.c" -o "$run/example-pc" \
        $(pkg-config --cflags --libs libbus) || fail "example: build with pkg-config"
unset PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
if ! { cmake -S "$src/tests/install/example" -B "$run/example-cmake" -DCMAKE_PREFIX_PATH="$root/usr" &&
        cmake --build "$run/example-cmake"; } >"$run/cmake.log" 2>&1; then
        cat "$run/cmake.log" >&2
        fail "example: build with find_package(libbus)"
fi
grep -q "^libbus_DIR:PATH=$root/" "$run/example-cmake/CMakeCache.txt" ||
        fail "find_package(libbus) did not find the unpacked package"
for exe in "$run/example-pc" "$run/example-cmake/example"; do
        [ -x "$exe" ] && { "$exe" "seqpacket:$run/bus.seq" || fail "$exe failed"; }
done

if [ "$fails" -gt 0 ]; then
        echo "build-debs: $fails check(s) failed; packages in $out" >&2
        exit 1
fi
step "all checks passed; packages in $out"
