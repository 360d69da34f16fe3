#!/usr/bin/env bash
# Makes a throw-away certificate authority and a server certificate it signs,
# for serving hubspot-sim over HTTPS in tests (tests/e2e/it_tls.c):
#
#   scripts/make-test-cert.sh DIR [SAN]
#
# writes DIR/ca.pem (the CA certificate: give it to hubsync --ca-file),
# DIR/server.pem and DIR/server.key (give them to hubspot-sim --tls-cert and
# --tls-key). The server certificate names SAN, by default
# IP:127.0.0.1,DNS:localhost (tests pass another to get a name mismatch).
# EC P-256 keys, valid for 2 days: quick to make, useless to keep. The CA
# key is deleted once it has signed. Needs openssl (scripts/deps.sh).
set -euo pipefail

[ $# -eq 1 ] || [ $# -eq 2 ] || { echo "usage: $0 DIR [SAN]" >&2; exit 2; }
dir=$1
san=${2:-IP:127.0.0.1,DNS:localhost}
mkdir -p "$dir"
cd "$dir"
umask 077

openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout ca.key -out ca.pem -days 2 -subj "/CN=hubsync test CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout server.key -out server.csr -subj "/CN=localhost" 2>/dev/null
cat > server.ext <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=$san
EXT
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
    -out server.pem -days 2 -extfile server.ext 2>/dev/null
rm -f ca.key ca.srl server.csr server.ext
chmod 644 ca.pem server.pem
