#!/usr/bin/env bash
# gen-test-certs.sh DIR: the test certificates of the bridge's TLS layer
# (busd/bridge/tls.c, tests/unit/test_tls.c, the bridge integration tests), made with
# the openssl CLI. EC P-256 keys, so the whole set takes well under a second.
#
# Creates in DIR (each NAME.pem is a certificate, NAME.key its private key):
#   ca              the test CA
#   busd-a..busd-d  signed by ca; CN and DNS SAN = busd-a etc.
#   busd-m          signed by ca; CN busd-m, DNS SANs busd-m and alias-m
#   nocn            signed by ca; no CN, DNS SAN busd-n (identity from the SAN)
#   other-ca        a second, unrelated CA
#   rogue           CN and DNS SAN busd-a, but signed by other-ca
#   expired         CN and DNS SAN busd-e, signed by ca, valid 2020-01-01..02
# Leaf certificates carry extendedKeyUsage serverAuth,clientAuth: a bridge
# link end is a TLS client or server depending on who dialled.
#
# Idempotent: when every file is there, nothing is done; otherwise the whole
# set is made afresh (a leaf must match the CA beside it) in a temporary
# directory inside DIR and then moved into place.
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
dir=$1
names=(ca busd-a busd-b busd-c busd-d busd-m nocn other-ca rogue expired)

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
complete=1
for n in "${names[@]}"; do
        [ -s "$dir/$n.pem" ] && [ -s "$dir/$n.key" ] || complete=0
done
[ $complete -eq 1 ] && exit 0

tmp=$(mktemp -d "$dir/.gen.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

key() { # NAME
        (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.key" 2>/dev/null)
}

ca() { # NAME SUBJECT
        key "$1"
        openssl req -x509 -new -key "$1.key" -subj "$2" -days 3650 -sha256 -out "$1.pem" \
                -addext "basicConstraints=critical,CA:TRUE" \
                -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}

ext() { # SAN...: the extension section of a leaf
        local san="" s
        for s in "$@"; do san+="${san:+,}DNS:$s"; done
        printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
                "extendedKeyUsage=serverAuth,clientAuth" "subjectAltName=$san"
}

leaf() { # NAME CA SUBJECT SAN...
        local name=$1 signer=$2 subj=$3
        shift 3
        key "$name"
        ext "$@" >"$name.ext"
        openssl req -new -key "$name.key" -subj "$subj" -out "$name.csr" 2>/dev/null
        openssl x509 -req -in "$name.csr" -CA "$signer.pem" -CAkey "$signer.key" \
                -set_serial "0x$(openssl rand -hex 8)" -days 3650 -sha256 \
                -extfile "$name.ext" -out "$name.pem" 2>/dev/null
}

ca ca "/CN=busd test CA"
ca other-ca "/CN=busd other test CA"
for n in busd-a busd-b busd-c busd-d; do
        leaf "$n" ca "/CN=$n" "$n"
done
leaf busd-m ca "/CN=busd-m" busd-m alias-m
leaf nocn ca "/O=busd test" busd-n
leaf rogue other-ca "/CN=busd-a" busd-a

# expired: `openssl x509` of OpenSSL 3.0 cannot set a past notBefore/notAfter,
# `openssl ca` can (-startdate/-enddate), with a minimal CA configuration.
key expired
openssl req -new -key expired.key -subj "/CN=busd-e" -out expired.csr 2>/dev/null
mkdir ca.db
: >ca.db/index.txt
openssl rand -hex 8 >ca.db/serial
{
        printf '%s\n' "[ca]" "default_ca = test_ca" "[test_ca]" "dir = ./ca.db" \
                "database = \$dir/index.txt" "serial = \$dir/serial" "new_certs_dir = \$dir" \
                "default_md = sha256" "policy = anything" "unique_subject = no" \
                "copy_extensions = none" "[anything]" "commonName = supplied" "[leaf]"
        ext busd-e
} >ca.cnf
openssl ca -batch -notext -config ca.cnf -cert ca.pem -keyfile ca.key -extensions leaf \
        -startdate 20200101000000Z -enddate 20200102000000Z -in expired.csr -out expired.pem 2>/dev/null

for n in "${names[@]}"; do
        mv -f "$n.key" "$n.pem" "$dir/"
done
