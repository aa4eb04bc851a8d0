#!/usr/bin/env bash
# Profiles the two gateways of arm (c) of scripts/bench.sh under load: starts
# a sending and a receiving gatehoused with a fresh bench PKI, drives Submits
# with ghbench, and records each gateway with `perf record --call-graph
# dwarf` (or counts its system calls with `strace -c -f`).
#
#   scripts/bench/profile.sh [--payload BYTES] [--concurrency N] [--rate R]
#                            [--duration S] [--build-dir DIR] [--out DIR] [--strace]
#
# Writes into --out (default a new /var/tmp/gatehouse-profile.XXXXXX):
# ghbench.txt (the load's figures), {sender,receiver}.perf.data and
# {sender,receiver}.top.txt (inclusive CPU share by function, top 60), or
# {sender,receiver}.strace.txt with --strace. Needs linux-perf (or strace).
# The binaries come from --build-dir (default ./build-bench); build them first
# (scripts/bench.sh does).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
here="$root/scripts/bench"
payload=1024 concurrency=64 rate=0 duration=8 use_strace=0 out=""
bin="${GATEHOUSE_BUILD_DIR:-$root/build-bench}"
while [ $# -gt 0 ]; do
  case "$1" in
    --payload) payload="$2"; shift 2 ;;
    --concurrency) concurrency="$2"; shift 2 ;;
    --rate) rate="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --build-dir) bin="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --strace) use_strace=1; shift ;;
    *) sed -n '2,/^set -euo/p' "$0" | sed '$d' >&2; exit 2 ;;
  esac
done
bin="$(realpath -m "$bin")"
[ -n "$out" ] || out="$(mktemp -d /var/tmp/gatehouse-profile.XXXXXX)"
mkdir -p "$out"
tool=perf
[ "$use_strace" = 1 ] && tool=strace
command -v "$tool" >/dev/null || { echo "profile: $tool is not installed" >&2; exit 1; }

# shellcheck source=lib.sh
. "$here/lib.sh"
# shellcheck source=gateways.sh
. "$here/gateways.sh"

run="$(mktemp -d /var/tmp/gatehouse-profile-run.XXXXXX)"
recorders=()
cleanup() {
  local p
  for p in "${recorders[@]}"; do kill -INT "$p" 2>/dev/null || true; done
  gw_stop || true
  rm -rf "$run"
}
trap cleanup EXIT
"$here/pki.sh" "$run/pki" >/dev/null
gw_start "$run/gw" "$run/pki"

# record ROLE PID: starts the recorder for one gateway in the background.
record() {
  local role="$1" pid="$2" secs=$((${duration%.*} + 2))
  if [ "$tool" = perf ]; then
    perf record -q -F 499 --call-graph dwarf,16384 -p "$pid" -o "$out/$role.perf.data" \
      -- sleep "$secs" 2>/dev/null &
  else
    timeout -s INT "$secs" strace -c -f -p "$pid" -o "$out/$role.strace.txt" 2>/dev/null &
  fi
  recorders+=($!)
}
record sender "$GW_SEND_PID"
record receiver "$GW_RECV_PID"
sleep 0.5
rate_args=()
[ "$rate" != 0 ] && rate_args=(--rate "$rate")
"$bin/tools/ghbench/ghbench" --mode submit --target "127.0.0.1:$GW_CLIENT_PORT" --to "$GW_RECEIVER" \
  --type care_plan --caveat PERSONAL --purpose direct_care \
  --cert "$run/pki/$GW_CLIENT_CERT.crt" --key "$run/pki/$GW_CLIENT_CERT.key" --ca "$run/pki/ca.crt" \
  --payload "$payload" --concurrency "$concurrency" --warmup 0.5 --duration "$duration" \
  "${rate_args[@]}" --watch-pid "$GW_SEND_PID" --watch-pid "$GW_RECV_PID" > "$out/ghbench.txt" || true
for p in "${recorders[@]}"; do wait "$p" 2>/dev/null || true; done
recorders=()
cat "$out/ghbench.txt"
if [ "$tool" = perf ]; then
  for role in sender receiver; do
    perf report -i "$out/$role.perf.data" --children --sort symbol -g none --stdio 2>/dev/null |
      grep '%' | grep -v '^#' | sed 's/ *$//' | head -60 | cut -c1-160 > "$out/$role.top.txt" || true
    echo "== $role: inclusive CPU share by function (top 25; all in $out/$role.top.txt)"
    head -25 "$out/$role.top.txt"
  done
else
  for role in sender receiver; do
    echo "== $role: system calls"
    head -15 "$out/$role.strace.txt"
  done
fi
echo "profile: results in $out"
