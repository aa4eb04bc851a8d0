#!/usr/bin/env bash
# Sets everything up and runs every test: installs missing Debian packages,
# builds, and runs ctest (unit tests, integration tests that start real
# gateways on loopback, and fuzz-corpus replays). Exits non-zero on failure.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/setup.sh"
"$root/scripts/build.sh"
build="${GATEHOUSE_BUILD_DIR:-$root/build}"
ctest --test-dir "$build" --output-on-failure -j2 --timeout 300 "$@"
