#!/usr/bin/env bash
# Builds every libFuzzer target with clang (-fsanitize=fuzzer,address,undefined)
# into ./build-fuzz and runs each for SECONDS (default 60), starting from its
# seed corpus. New inputs go to build-fuzz, never into the source tree.
#
#   scripts/fuzz.sh [SECONDS] [ctest -R pattern]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
seconds="${1:-60}"
pattern="${2:-.}"
"$root/scripts/setup.sh"
for p in clang-14 libclang-rt-14-dev; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends clang-14 libclang-rt-14-dev
    break
  fi
done
build="$root/build-fuzz"
CC=clang-14 CXX=clang++-14 cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DGATEHOUSE_LIBFUZZER=ON -DGATEHOUSE_SANITIZE=address,undefined \
  -DGATEHOUSE_FUZZ_SECONDS="$seconds" >/dev/null
cmake --build "$build" -j"$(nproc)" --target fuzz_all
set +e
ASAN_OPTIONS=detect_leaks=1 ctest --test-dir "$build" -L fuzz -R "$pattern" --output-on-failure -j"$(nproc)" \
  --timeout $((seconds * 3 + 120)) -V >"$build/fuzz.log" 2>&1
rc=$?
set -e
grep -E "stat::number_of_executed_units|Test +#|tests passed|==ERROR|SUMMARY" "$build/fuzz.log" || true
[ "$rc" -eq 0 ] || echo "fuzz: a target failed; see $build/fuzz.log" >&2
exit "$rc"
