#!/usr/bin/env bash
# Streamed-record benchmark: one large record from a system of the sending
# gateway to a system of the receiving gateway, through both gateways on
# loopback (scripts/bench/gateways.sh: council-a's care system to
# nhs-trust-a, a care plan permitted by council-health-care). Prints figures;
# it is not a test.
#
#   STREAM_MIB=1024 scripts/bench/stream.sh
#
# Steps: a file of STREAM_MIB MiB from /dev/urandom; `gatehouse submit
# --stream --file` (SubmitStream, 1 MiB messages) until the record is
# delivered (the receipt says DELIVERED, or `gatehouse status` does);
# `gatehouse fetch --out-dir DIR --ack` as nhs-trust-a's ehr system
# (FetchStream); SHA-256 of the file sent and the file fetched compared.
# Reports MiB, seconds and MiB/s for submit (until delivered) and fetch, the
# peak RSS (VmHWM) of each gateway, read just before they stop, and the peak
# RSS of the gatehouse client for each command (from /usr/bin/time -v, if
# installed). Prints a markdown table; writes JSON to $OUT.
#
# Environment: STREAM_MIB (default 1024), BUILD (build directory, default
# ./build-bench, Release, as scripts/bench.sh), OUT (default
# docs/benchmarks/stream.json), STREAM_NO_BUILD=1 (use the binaries as they
# are), BENCH_JOBS (build parallelism, default 1), STREAM_KEEP=1 (keep the
# run directory), BENCH_SUBMIT_LABELS (as scripts/bench.sh). Needs python3
# and about 4 x STREAM_MIB of free disk under /var/tmp (the file sent, both
# gateways' spools, the file fetched).
#
# Exit: 0 if the payload came back unchanged; 1 if it did not (the JSON is
# then not written) or a step failed; 2 usage.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
here="$root/scripts/bench"
command_line="STREAM_MIB=${STREAM_MIB:-1024} scripts/bench/stream.sh"

mib="${STREAM_MIB:-1024}"
case "$mib" in '' | *[!0-9]* | 0) echo "stream: STREAM_MIB must be a positive integer" >&2; exit 2 ;; esac
bin="$(realpath -m "${BUILD:-$root/build-bench}")"
out="$(realpath -m "${OUT:-$root/docs/benchmarks/stream.json}")"

# shellcheck source=lib.sh
. "$here/lib.sh"
# shellcheck source=gateways.sh
. "$here/gateways.sh"

command -v python3 >/dev/null || { echo "stream: needs python3" >&2; exit 1; }

# --- Build ------------------------------------------------------------------
if [ "${STREAM_NO_BUILD:-0}" != 1 ]; then
  "$root/scripts/setup.sh"
  [ -f "$bin/CMakeCache.txt" ] || cmake -S "$root" -B "$bin" -DCMAKE_BUILD_TYPE=Release >/dev/null
  echo "stream: building gatehoused gatehouse ghkey auditctl policyc in $bin" >&2
  nice cmake --build "$bin" --target gatehoused gatehouse ghkey auditctl policyc \
    -j"${BENCH_JOBS:-1}" >/dev/null
fi
cli="$bin/tools/gatehouse/gatehouse"
for b in "$cli" "$bin/gateway/gatehoused" "$bin/tools/ghkey/ghkey" "$bin/tools/auditctl/auditctl" \
    "$bin/tools/policyc/policyc"; do
  [ -x "$b" ] || { echo "stream: $b is missing; build it or unset STREAM_NO_BUILD" >&2; exit 1; }
done

# --- Run directory (on disk, not tmpfs: the gateways fsync) ----------------
run="$(mktemp -d /var/tmp/gatehouse-stream.XXXXXX)"
cleanup() {
  gw_stop || true
  if [ "${STREAM_KEEP:-0}" = 1 ]; then echo "stream: run directory kept: $run" >&2; else rm -rf "$run"; fi
}
trap cleanup EXIT

avail_mib=$(df --output=avail -B1M "$run" | tail -1 | tr -d ' ')
if [ "$avail_mib" -lt $((4 * mib + 256)) ]; then
  echo "stream: $run has $avail_mib MiB free; $((4 * mib + 256)) MiB needed" >&2
  exit 1
fi

# Streams past the default limit (4 GiB) need a larger maxStreamBytes on both
# gateways: added to their configs before they start.
bytes=$((mib * 1048576))
stream_limit=$((bytes + bytes / 64 + 64 * 1048576))
user_hook="${BENCH_GATEWAY_HOOK:-}"
stream_hook() {
  local dir="$1" o
  if [ "$stream_limit" -gt $((4 << 30)) ]; then
    for o in "$3" "$4"; do
      python3 - "$dir/$o.json" "$stream_limit" <<'PY'
import json, sys
path, limit = sys.argv[1], int(sys.argv[2])
with open(path) as f:
    config = json.load(f)
config["maxStreamBytes"] = limit
with open(path, "w") as f:
    json.dump(config, f)
PY
    done
  fi
  if [ -n "$user_hook" ]; then "$user_hook" "$@"; fi
}
BENCH_GATEWAY_HOOK=stream_hook

pki="$run/pki"
"$root/certs/gen-dev-pki.sh" "$pki" >/dev/null

echo "stream: writing $mib MiB from /dev/urandom" >&2
head -c "$bytes" /dev/urandom > "$run/in.bin"
sha_in=$(sha256sum "$run/in.bin" | cut -d' ' -f1)

gw_start "$run/gw" "$pki"
# shellcheck disable=SC2154  # gw_client is set by gw_start (gateways.sh)
recv_client_port=${gw_client[$GW_RECEIVER]}

# client PORT CERT RSS_FILE ARGS...: the gatehouse CLI as system CERT, under
# /usr/bin/time -v (peak RSS into RSS_FILE) when it is installed.
client() {
  local port="$1" cert="$2" rss="$3"; shift 3
  local cmd=("$cli" --gateway "127.0.0.1:$port" --cert "$pki/$cert.crt" --key "$pki/$cert.key"
             --ca "$pki/ca.crt" "$@")
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -v -o "$rss" "${cmd[@]}"
  else
    "${cmd[@]}"
  fi
}
# peak_kib FILE: "Maximum resident set size (kbytes)" from /usr/bin/time -v.
peak_kib() {
  [ -f "$1" ] && sed -n 's/.*Maximum resident set size (kbytes): *\([0-9]*\).*/\1/p' "$1" | head -1
}
# vm_hwm_kib PID: the process's peak RSS so far.
vm_hwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status" 2>/dev/null || true; }
now() { date +%s.%N; }
# json_field FIELD: FIELD of the JSON object on stdin, or of its "receipt".
json_field() {
  python3 -c '
import json, sys
o = json.loads(sys.stdin.readline() or "{}")
print(o.get(sys.argv[1], o.get("receipt", {}).get(sys.argv[1], "")))' "$1"
}
fail() {
  echo "stream: $1" >&2
  local f
  for f in $GW_LOGS; do echo "--- $f" >&2; tail -5 "$f" >&2; done
  exit 1
}

# --- Submit, until delivered ------------------------------------------------
read -ra labels <<< "${BENCH_SUBMIT_LABELS:---type care_plan --classification OFFICIAL-SENSITIVE --caveat PERSONAL --purpose direct_care}"
echo "stream: submit --stream ($mib MiB)" >&2
t0=$(now)
client "$GW_CLIENT_PORT" "$GW_CLIENT_CERT" "$run/submit.time" \
  submit --stream --file "$run/in.bin" --to "$GW_RECEIVER" "${labels[@]}" \
  > "$run/submit.json" 2> "$run/submit.err" || fail "submit failed: $(cat "$run/submit.err")"
t_call=$(now)
record_id=$(json_field record_id < "$run/submit.json")
state=$(json_field state < "$run/submit.json")
[ -n "$record_id" ] || fail "no record id in $(cat "$run/submit.json")"
# Queued (e.g. delivery is retried): wait for the delivery, up to 30 minutes.
deadline=$((SECONDS + 1800))
while [ "$state" != RECORD_STATE_DELIVERED ]; do
  [ "$state" = RECORD_STATE_REJECTED ] && fail "record rejected: $(cat "$run/submit.json")"
  [ $SECONDS -lt $deadline ] || fail "record $record_id not delivered within 30 minutes"
  sleep 0.2
  client "$GW_CLIENT_PORT" "$GW_CLIENT_CERT" /dev/null status "$record_id" > "$run/status.json" \
    2>> "$run/submit.err" || true
  state=$(json_field state < "$run/status.json" 2>/dev/null || true)
done
t_delivered=$(now)

# --- Fetch, as the receiving system ----------------------------------------
mkdir -p "$run/out"
echo "stream: fetch --out-dir --ack" >&2
t2=$(now)
client "$recv_client_port" "$GW_RECEIVER/ehr" "$run/fetch.time" \
  fetch --out-dir "$run/out" --ack > "$run/fetch.json" 2> "$run/fetch.err" ||
  fail "fetch failed: $(cat "$run/fetch.err")"
t3=$(now)
[ -f "$run/out/$record_id" ] || fail "fetch wrote no $run/out/$record_id: $(cat "$run/fetch.json")"

# Peak RSS of the gateways, read before they stop.
send_hwm=$(vm_hwm_kib "$GW_SEND_PID")
recv_hwm=$(vm_hwm_kib "$GW_RECV_PID")
gw_stop

sha_out=$(sha256sum "$run/out/$record_id" | cut -d' ' -f1)
match=false
[ "$sha_in" = "$sha_out" ] && match=true

# --- Report -------------------------------------------------------------------
submit_rss=$(peak_kib "$run/submit.time" || true)
fetch_rss=$(peak_kib "$run/fetch.time" || true)
git_rev=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
export MIB="$mib" BYTES="$bytes" T0="$t0" T_CALL="$t_call" T_DELIVERED="$t_delivered" T2="$t2" \
  T3="$t3" SEND_HWM="$send_hwm" RECV_HWM="$recv_hwm" SUBMIT_RSS="$submit_rss" \
  FETCH_RSS="$fetch_rss" SHA_IN="$sha_in" SHA_OUT="$sha_out" MATCH="$match" \
  RECORD_ID="$record_id" COMMAND_LINE="$command_line" SENDER="$GW_SENDER" \
  RECEIVER="$GW_RECEIVER" GIT="$git_rev"
mkdir -p "$(dirname "$out")"
python3 - "$out" <<'PY'
import json, os, platform, sys, time

e = os.environ
def num(name):
    v = e.get(name, "")
    return int(v) if v.isdigit() else None
def mib(kib):
    return "n/a" if kib is None else f"{kib / 1024:.1f} MiB"

size = int(e["MIB"])
submit_call_s = float(e["T_CALL"]) - float(e["T0"])
submit_s = float(e["T_DELIVERED"]) - float(e["T0"])
fetch_s = float(e["T3"]) - float(e["T2"])
cpu = ""
try:
    with open("/proc/cpuinfo") as f:
        cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "")
except OSError:
    pass
result = {
    "generated": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    "command": e["COMMAND_LINE"],
    "git": e["GIT"],
    "machine": {"nproc": os.cpu_count(), "cpu_model": cpu,
                "kernel": f"{platform.system()} {platform.release()}"},
    "flow": f"{e['SENDER']} -> {e['RECEIVER']}, SubmitStream then FetchStream",
    "record_id": e["RECORD_ID"],
    "payload_mib": size,
    "payload_bytes": int(e["BYTES"]),
    "submit_call_seconds": round(submit_call_s, 3),
    "submit_delivered_seconds": round(submit_s, 3),
    "submit_mib_per_s": round(size / submit_s, 1) if submit_s > 0 else None,
    "fetch_seconds": round(fetch_s, 3),
    "fetch_mib_per_s": round(size / fetch_s, 1) if fetch_s > 0 else None,
    "peak_rss_kib": {
        "sending_gateway": num("SEND_HWM"),
        "receiving_gateway": num("RECV_HWM"),
        "client_submit": num("SUBMIT_RSS"),
        "client_fetch": num("FETCH_RSS"),
    },
    "sha256_sent": e["SHA_IN"],
    "sha256_fetched": e["SHA_OUT"],
    "unchanged": e["MATCH"] == "true",
}
r = result["peak_rss_kib"]
def cell(v):
    return "n/a" if v is None else str(v)
print()
print(f"Streamed record, {size} MiB, {result['flow']}:")
print()
print("| figure | value |")
print("| --- | --- |")
print(f"| payload | {size} MiB |")
print(f"| submit, until delivered | {result['submit_delivered_seconds']} s "
      f"({cell(result['submit_mib_per_s'])} MiB/s; the call itself {result['submit_call_seconds']} s) |")
print(f"| fetch, file written | {result['fetch_seconds']} s ({cell(result['fetch_mib_per_s'])} MiB/s) |")
print(f"| sending gateway peak RSS | {mib(r['sending_gateway'])} |")
print(f"| receiving gateway peak RSS | {mib(r['receiving_gateway'])} |")
print(f"| gatehouse submit peak RSS | {mib(r['client_submit'])} |")
print(f"| gatehouse fetch peak RSS | {mib(r['client_fetch'])} |")
print(f"| payload unchanged (SHA-256) | {'yes' if result['unchanged'] else 'NO'} |")
print()
if result["unchanged"]:
    with open(sys.argv[1], "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
PY
if [ "$match" != true ]; then
  echo "stream: the payload fetched differs from the one sent ($sha_in vs $sha_out); $out not written" >&2
  exit 1
fi
echo "stream: wrote $out" >&2
