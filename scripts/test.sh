#!/usr/bin/env bash
# Sets everything up and runs every test: installs missing Debian packages,
# builds the programs (the optimised build users run) and runs every program
# and script the README names (the smoke stage, scripts/smoke.sh: each
# tool's --help and a real call, the demos, the Debian packages, the
# benchmark with one-second arms, the failover drill); then builds everything
# with AddressSanitizer and UndefinedBehaviorSanitizer and runs the whole
# suite under them (unit tests, integration tests that start real gateways
# on loopback, fuzz-corpus replays); then the gateway's concurrent parts
# under ThreadSanitizer; then the fuzz targets with clang's libFuzzer, each
# briefly (GATEHOUSE_FUZZ_SECONDS, default 10).
# The suite runs once, under the sanitizers, not also on the optimised
# build: two full builds and two runs of it did not fit CI's hour on two
# cores. GATEHOUSE_TEST_STAGES=plain builds everything optimised and runs
# the suite there. The ASan build runs beside the smoke stage, at the lowest
# CPU priority (the smoke stage mostly waits). Each stage prints how long it
# took.
# Exits non-zero on any failure.
#
#   scripts/test.sh                      # every stage CI runs
#   GATEHOUSE_TEST_STAGES=plain scripts/test.sh   # the suite on the optimised build
#   scripts/test.sh -R Gateway           # extra arguments go to ctest
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/setup.sh"
# The tsan stage runs the tests labelled tsan: the record path's concurrent
# parts (outbox sender, store, audit log, opener, policy and directory
# holders, metrics, limits, the audit log in PostgreSQL with two replicas,
# a record and its entry committed together there)
# with a stand-in peer. They lock std::mutex:
# Debian's Abseil and gRPC are not built with ThreadSanitizer, so their
# synchronisation would be invisible to it.
stages="${GATEHOUSE_TEST_STAGES:-programs smoke asan tsan fuzz}"
# The sanitizer builds keep line tables only (-g1): reports still name file
# and line, and the build is faster.
sanitizer_debug_flags="-DCMAKE_CXX_FLAGS_DEBUG=-g1 -DCMAKE_C_FLAGS_DEBUG=-g1"

# The ASan build, all of it: at the lowest CPU priority beside the smoke
# stage (which mostly waits: demos, a failover drill), or as a stage alone.
build_asan() {
  GATEHOUSE_BUILD_DIR="$root/build-asan" CMAKE_BUILD_TYPE=Debug \
    GATEHOUSE_CMAKE_ARGS="-DGATEHOUSE_SANITIZE=address,undefined $sanitizer_debug_flags" \
    nice -n 19 "$root/scripts/build.sh"
}
asan_build_pid=""
trap '[ -z "$asan_build_pid" ] || kill -- -"$asan_build_pid" 2>/dev/null || true' EXIT

started=$SECONDS
timed() { echo "== $1: $((SECONDS - stage_started)) s (all stages so far: $((SECONDS - started)) s)"; }

for stage in $stages; do
  stage_started=$SECONDS
  case "$stage" in
    programs)
      # The programs and scripts' binaries, optimised, for the smoke stage.
      GATEHOUSE_BUILD_DIR="${GATEHOUSE_BUILD_DIR:-$root/build}" "$root/scripts/build.sh" \
        --target programs
      # The daemon's files under 400 lines, its functions under 80 (issue 17).
      python3 "$root/scripts/check_sizes.py"
      timed "$stage"
      continue
      ;;
    plain)
      build="${GATEHOUSE_BUILD_DIR:-$root/build}"
      GATEHOUSE_BUILD_DIR="$build" "$root/scripts/build.sh"
      # The daemon's files under 400 lines, its functions under 80 (issue 17).
      python3 "$root/scripts/check_sizes.py"
      ;;
    asan)
      build="$root/build-asan"
      if [ -n "$asan_build_pid" ]; then
        echo "== asan: waiting for its build (started beside the smoke stage)"
        wait "$asan_build_pid" || { tail -60 "$root/build-asan.log"; echo "asan build failed" >&2; exit 1; }
        asan_build_pid=""
      else
        build_asan
      fi
      export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
      export LSAN_OPTIONS="suppressions=$root/scripts/lsan.supp:print_suppressions=0"
      export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
      ;;
    smoke)
      if [[ " $stages " == *" asan "* ]]; then
        echo "== asan build started beside the smoke stage, at nice 19 (log: build-asan.log)"
        set -m  # its own process group, so that an early exit can stop it whole
        build_asan >"$root/build-asan.log" 2>&1 &
        asan_build_pid=$!
        set +m
      fi
      echo "== smoke"
      GATEHOUSE_BUILD_DIR="${GATEHOUSE_BUILD_DIR:-$root/build}" "$root/scripts/smoke.sh"
      timed "$stage"
      continue
      ;;
    tsan)
      # The gateway's concurrent parts (store, metrics, limits) under
      # ThreadSanitizer; gRPC itself is not TSan-instrumented, so the suite
      # for this stage is the tests labelled tsan.
      build="$root/build-tsan"
      GATEHOUSE_BUILD_DIR="$build" CMAKE_BUILD_TYPE=Debug \
        GATEHOUSE_CMAKE_ARGS="-DGATEHOUSE_SANITIZE=thread $sanitizer_debug_flags" "$root/scripts/build.sh" \
        --target concurrency_test fault_proxy_test record_path_concurrency_test seal_queue_test group_commit_test \
        postgres_audit_log_test postgres_joint_commit_test queued_audit_log_test
      echo "== ctest (tsan)"
      TSAN_OPTIONS=halt_on_error=1 ctest --test-dir "$build" --output-on-failure -L tsan
      timed "$stage"
      continue
      ;;
    fuzz)
      echo "== fuzz"
      "$root/scripts/fuzz.sh" "${GATEHOUSE_FUZZ_SECONDS:-10}"
      timed "$stage"
      continue
      ;;
    *) echo "test: unknown stage '$stage'" >&2; exit 2 ;;
  esac
  echo "== ctest ($stage)"
  ctest --test-dir "$build" --output-on-failure -j2 --timeout 300 "$@"
  timed "$stage"
done
