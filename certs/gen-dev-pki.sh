#!/usr/bin/env bash
# Writes a development PKI into the directory given (created if missing).
# Nothing here is for production, and no private key it makes is committed.
#
#   certs/gen-dev-pki.sh DIR [ORG:SYSTEM,SYSTEM ...]
#
# Gateway certificates also name the addresses clients dial, so a stock gRPC
# client (Python, Node, Go, Java) verifies the gateway by the host it connects
# to with no overrides: GATEHOUSE_GATEWAY_NAMES, a comma-separated list of
# OpenSSL SAN entries, default "DNS:localhost,IP:127.0.0.1,IP:::1". Identity
# comes only from the psn:// URI: DNS and IP names are never an identity.
#
# Default organisations: nhs-trust-a (systems ehr, pas), council-a (care, finance),
# police-a (rms). Layout:
#   DIR/ca.crt                    trust anchor for every gateway and system
#   DIR/crl/<hash>.r0             the CA's CRL, in OpenSSL hashed-dir form
#   DIR/<org>/gateway.{crt,key}   SAN URI psn://org/<org>/gateway, plus the
#                                 names in GATEHOUSE_GATEWAY_NAMES
#   DIR/<org>/<system>.{crt,key}  SAN URI psn://org/<org>/system/<system>
#   DIR/bad/<name>.{crt,key}      certificates the tests must see refused,
#     all claiming psn://org/nhs-trust-a/system/ehr unless said otherwise:
#     expired, notyet (not yet valid), revoked (listed in the CRL),
#     untrusted (issued by another CA), nosan (no SAN at all),
#     twosans (SAN URIs of two different organisations),
#     untrusted-gateway (psn://org/nhs-trust-a/gateway from another CA),
#     dnsonly (DNS:localhost and IP:127.0.0.1, no psn:// URI)
set -euo pipefail
gateway_names="${GATEHOUSE_GATEWAY_NAMES-DNS:localhost,IP:127.0.0.1,IP:::1}"

if [ $# -lt 1 ]; then
  echo "usage: $0 DIR [ORG:SYSTEM,SYSTEM ...]" >&2
  exit 2
fi
out="$1"; shift
orgs=("$@")
[ ${#orgs[@]} -gt 0 ] || orgs=("nhs-trust-a:ehr,pas" "council-a:care,finance" "police-a:rms")

umask 077
mkdir -p "$out"
out="$(cd "$out" && pwd)"
ca="$out/ca"
mkdir -p "$ca/newcerts" "$out/crl" "$out/bad"
: > "$ca/index.txt"
echo 1000 > "$ca/serial"
echo 1000 > "$ca/crlnumber"

cat > "$ca/openssl.cnf" <<CNF
[ ca ]
default_ca = dev_ca
[ dev_ca ]
dir = $ca
database = \$dir/index.txt
new_certs_dir = \$dir/newcerts
serial = \$dir/serial
crlnumber = \$dir/crlnumber
certificate = $out/ca.crt
private_key = \$dir/ca.key
default_md = sha256
default_days = 825
default_crl_days = 3650
policy = any
unique_subject = no
copy_extensions = none
[ any ]
commonName = supplied
organizationName = optional
CNF

newkey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

# Trust anchor.
newkey "$ca/ca.key"
openssl req -new -x509 -key "$ca/ca.key" -subj "/O=Gatehouse Dev/CN=Gatehouse Dev Root" \
  -days 3650 -out "$out/ca.crt" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"

# issue NAME_PREFIX CN SAN_LINE [extra openssl ca args...]
#   SAN_LINE is e.g. "URI:psn://org/x/gateway" or "" for no SAN.
issue() {
  local prefix="$1" cn="$2" san="$3"; shift 3
  local ext="$ca/ext.$$"
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=serverAuth,clientAuth"
    [ -n "$san" ] && echo "subjectAltName=$san"
  } > "$ext"
  newkey "$prefix.key"
  openssl req -new -key "$prefix.key" -subj "/CN=$cn" -out "$prefix.csr"
  openssl ca -batch -config "$ca/openssl.cnf" -extfile "$ext" -notext \
    -in "$prefix.csr" -out "$prefix.crt" "$@" 2>/dev/null
  rm -f "$prefix.csr" "$ext"
}

for spec in "${orgs[@]}"; do
  org="${spec%%:*}"; systems="${spec#*:}"
  mkdir -p "$out/$org"
  issue "$out/$org/gateway" "$org gateway" "URI:psn://org/$org/gateway${gateway_names:+,$gateway_names}"
  IFS=',' read -ra syslist <<< "$systems"
  for sys in "${syslist[@]}"; do
    issue "$out/$org/$sys" "$org $sys" "URI:psn://org/$org/system/$sys"
  done
done

claim="URI:psn://org/nhs-trust-a/system/ehr"
issue "$out/bad/expired" "expired" "$claim" -startdate 20200101000000Z -enddate 20210101000000Z
issue "$out/bad/notyet" "not yet valid" "$claim" -startdate 20990101000000Z -enddate 20991231000000Z
issue "$out/bad/nosan" "no san" ""
issue "$out/bad/twosans" "two sans" "$claim,URI:psn://org/police-a/system/rms"
issue "$out/bad/dnsonly" "dns only" "DNS:localhost,IP:127.0.0.1"
issue "$out/bad/revoked" "revoked" "$claim"
openssl ca -batch -config "$ca/openssl.cnf" -revoke "$out/bad/revoked.crt" 2>/dev/null
openssl ca -batch -config "$ca/openssl.cnf" -gencrl -out "$out/crl/ca.crl.pem" 2>/dev/null
hash="$(openssl crl -hash -noout -in "$out/crl/ca.crl.pem")"
mv "$out/crl/ca.crl.pem" "$out/crl/$hash.r0"

# A second, untrusted CA and certificates from it.
rogue="$out/bad/rogue-ca"
mkdir -p "$rogue"
newkey "$rogue/ca.key"
openssl req -new -x509 -key "$rogue/ca.key" -subj "/CN=Rogue Root" -days 3650 \
  -out "$rogue/ca.crt" -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign"
for pair in "untrusted:$claim" "untrusted-gateway:URI:psn://org/nhs-trust-a/gateway"; do
  name="${pair%%:*}"; san="${pair#*:}"
  newkey "$out/bad/$name.key"
  openssl req -new -key "$out/bad/$name.key" -subj "/CN=$name" -out "$out/bad/$name.csr"
  printf 'basicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=%s\n' "$san" > "$out/bad/$name.ext"
  openssl x509 -req -in "$out/bad/$name.csr" -CA "$rogue/ca.crt" -CAkey "$rogue/ca.key" \
    -CAcreateserial -days 825 -extfile "$out/bad/$name.ext" -out "$out/bad/$name.crt" 2>/dev/null
  rm -f "$out/bad/$name.csr" "$out/bad/$name.ext"
done

# Certificates are public; keys stay 0600.
find "$out" -name '*.crt' -exec chmod 0644 {} +
chmod 0644 "$out/crl/"*.r0
chmod 0755 "$out" "$out/crl" "$out/bad"
echo "dev PKI written to $out"
