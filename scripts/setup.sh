#!/usr/bin/env bash
# Installs, with apt-get, every Debian 12 package Gatehouse needs to build,
# test and run its demo, then the Node example client's locked npm packages
# (examples/node/package-lock.json) into examples/node/node_modules. Safe to
# run again: it installs only what is missing or out of date.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

packages=(
  build-essential cmake pkg-config ca-certificates git
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libssl-dev openssl libsodium-dev libabsl-dev libsqlite3-dev sqlite3
  libgtest-dev libgmock-dev libbenchmark-dev libjemalloc-dev
  procps psmisc sslscan
  libcli11-dev libsystemd-dev help2man lintian dpkg-dev python3 adduser
  libcpp-httplib-dev
  # LLVM's linker: links the sixty-odd test programs about three times faster
  # than ld.bfd, which CI's hour on two cores needs (CMakeLists.txt uses it
  # when it is there).
  lld
  python3-grpcio python3-grpc-tools python3-protobuf python3-nacl
  # google/rpc/status.proto and error_details.proto, the schema of the error
  # details every refusal carries (this Debian package is the one that ships
  # the .proto files; we compile them, nothing of Go is used).
  golang-github-gogo-googleapis-dev
  # The PostgreSQL store (gateway/store/postgres/): libpq to build it, and the
  # server its tests start in a scratch folder (initdb, postgres).
  postgresql-15 libpq-dev
  # The load balancer in front of one organisation's replicas in
  # scripts/demo_replicas.sh (TCP mode: mutual TLS passes through it).
  haproxy
  # The database failover drill of docs/SCALING.md (scripts/bench/pg_failover.sh).
  pg-auto-failover-cli postgresql-15-auto-failover
  # The policy workbench: its editor (CodeMirror 5) and its browser test.
  libjs-codemirror chromium chromium-driver python3-selenium
)
# The Node example client: Debian's nodejs (18.x) and npm, unless a node
# (perhaps newer, with its own npm) is already installed.
if ! command -v node >/dev/null; then
  packages+=(nodejs npm)
elif ! command -v npm >/dev/null; then
  packages+=(npm)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing packages: ${missing[*]}; run as root to install them" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The Node example client's packages, exactly as locked; --ignore-scripts:
# they are plain JavaScript and need no install scripts.
node_dir="$root/examples/node"
if [ ! -d "$node_dir/node_modules" ] || [ "$node_dir/package-lock.json" -nt "$node_dir/node_modules" ]; then
  echo "setup: npm ci in examples/node"
  npm ci --prefix "$node_dir" --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null
  touch "$node_dir/node_modules"
fi
