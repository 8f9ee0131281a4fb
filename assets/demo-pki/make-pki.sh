#!/usr/bin/env bash
# Regenerates the wcfscope demo PKI with the openssl CLI (run from any directory).
# The committed files were made by this script once; regenerating changes every key,
# so the demo capture (captures/demo-calculator.pcapng) must then be remade too:
#   cargo run -p wcfscope-core --features synth --example make-demo
# DEMO ONLY: these private keys are public. Never trust this CA anywhere.
set -euo pipefail
cd "$(dirname "$0")"
PASS=wcfscope-demo
DAYS=7300
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Demo CA (self-signed).
openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days "$DAYS" \
  -subj "/O=wcfscope demo/CN=wcfscope Demo CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -keyout "$tmp/ca.key" -out ca.pem

issue() { # name subject extendedKeyUsage
  openssl req -newkey rsa:2048 -nodes -sha256 -subj "$2" -keyout "$tmp/$1.key" -out "$tmp/$1.csr"
  printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment,dataEncipherment\nextendedKeyUsage=%s\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' "$3" >"$tmp/$1.ext"
  openssl x509 -req -in "$tmp/$1.csr" -CA ca.pem -CAkey "$tmp/ca.key" -CAcreateserial \
    -CAserial "$tmp/ca.srl" -days "$DAYS" -sha256 -extfile "$tmp/$1.ext" -out "$1.pem"
  openssl pkcs12 -export -inkey "$tmp/$1.key" -in "$1.pem" -certfile ca.pem \
    -name "$1" -passout "pass:$PASS" -out "$1.pfx"
}
issue service "/O=wcfscope demo/CN=calculator.demo.wcfscope" serverAuth
issue client "/O=wcfscope demo/CN=client.demo.wcfscope" clientAuth
for c in ca service client; do
  printf '%s  %s\n' "$(openssl x509 -in $c.pem -noout -fingerprint -sha1 | cut -d= -f2 | tr -d : | tr A-F a-f)" "$c.pem"
done >thumbprints-sha1.txt
