#!/usr/bin/env bash
# Installs, with apt-get, every Debian 12 package Gatehouse needs to build,
# test and run its demo. Safe to run again: it installs only what is missing.
set -euo pipefail

packages=(
  build-essential cmake pkg-config ca-certificates git
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libssl-dev openssl libsodium-dev libabsl-dev libsqlite3-dev sqlite3
  libgtest-dev libgmock-dev libbenchmark-dev libjemalloc-dev
  procps psmisc sslscan
  libcli11-dev libsystemd-dev help2man lintian dpkg-dev python3 adduser
  libcpp-httplib-dev
  python3-grpcio python3-grpc-tools python3-protobuf
)

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
