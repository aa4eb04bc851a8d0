#!/usr/bin/env bash
# Configures and builds Gatehouse into ./build (or $GATEHOUSE_BUILD_DIR).
# CMAKE_BUILD_TYPE and GATEHOUSE_CMAKE_ARGS pass through to cmake; extra
# arguments go to `cmake --build` (e.g. --target gatehoused).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${GATEHOUSE_BUILD_DIR:-$root/build}"
# shellcheck disable=SC2086
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE="${CMAKE_BUILD_TYPE:-RelWithDebInfo}" \
  ${GATEHOUSE_CMAKE_ARGS:-} >/dev/null
cmake --build "$build" -j"$(nproc)" "$@"
