#!/usr/bin/env bash
# Writes the benchmark PKI into DIR: the development PKI of certs/gen-dev-pki.sh
# plus two certificates from the same CA that ordinary TLS can verify by DNS
# name (nginx's grpc_ssl_verify checks a DNS name; ours carry only URI SANs):
#   DIR/bench/echo.{crt,key}   DNS:echo.bench.test,  URI:psn://org/bench-echo/gateway
#   DIR/bench/nginx.{crt,key}  DNS:nginx.bench.test, URI:psn://org/bench-nginx/gateway
#
#   scripts/bench/pki.sh DIR
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="$1"
"$root/certs/gen-dev-pki.sh" "$out" >/dev/null
out="$(cd "$out" && pwd)"
umask 077
mkdir -p "$out/bench"
for name in echo nginx; do
  p="$out/bench/$name"
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$p.key" 2>/dev/null
  openssl req -new -key "$p.key" -subj "/CN=$name.bench.test" -out "$p.csr"
  printf '%s\n' "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,digitalSignature,keyEncipherment" \
    "extendedKeyUsage=serverAuth,clientAuth" \
    "subjectAltName=DNS:$name.bench.test,URI:psn://org/bench-$name/gateway" > "$p.ext"
  openssl x509 -req -in "$p.csr" -CA "$out/ca.crt" -CAkey "$out/ca/ca.key" \
    -CAcreateserial -CAserial "$out/bench/serial" -days 30 -sha256 \
    -extfile "$p.ext" -out "$p.crt" 2>/dev/null
  rm -f "$p.csr" "$p.ext"
  chmod 0644 "$p.crt"
done
chmod 0755 "$out/bench"
echo "bench PKI written to $out"
