#!/usr/bin/env bash
# A quick probe of arm c_1k of scripts/bench.sh: the two bench gateways
# (scripts/bench/gateways.sh), ghbench Submits at 1 KiB, then each gateway's
# own counters from its admin port (records sealed and signed batches, audit
# and store group commits and the time in them, audit-append, Submit and
# Deliver latency sums, DeliverBatch calls and the records they carried),
# and each gateway's context switches a record (its threads' wake-ups).
# Prints figures;
# not a test. Used to compare one change before and after in the same
# conditions; scripts/bench.sh is the full side-by-side run.
#
#   scripts/bench/probe.sh            # 64 in flight, 8 s, closed loop
#   CONC=16 DUR=10 EXTRA="--rate 50" scripts/bench/probe.sh
#
# Binaries from $BUILD (default ./build-bench; build them first, e.g. with
# scripts/bench.sh). GW_PRELOAD, if set, is preloaded into both gateways.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
here="$root/scripts/bench"
bin="$(realpath -m "${BUILD:-$root/build-bench}")"
# shellcheck source=lib.sh
. "$here/lib.sh"
# shellcheck source=gateways.sh
. "$here/gateways.sh"
run="$(mktemp -d /var/tmp/gatehouse-probe.XXXXXX)"
trap 'gw_stop || true; rm -rf "$run"' EXIT
read -r send_admin recv_admin < <(free_ports 2)
add_admin() {
  python3 - "$1/$3.json" "$send_admin" "$1/$4.json" "$recv_admin" <<'PY'
import json, sys
for path, port in ((sys.argv[1], sys.argv[2]), (sys.argv[3], sys.argv[4])):
    with open(path) as f:
        c = json.load(f)
    c["adminListen"] = "127.0.0.1:" + port
    with open(path, "w") as f:
        json.dump(c, f)
PY
}
BENCH_GATEWAY_HOOK=add_admin
pki="$run/pki"
"$root/certs/gen-dev-pki.sh" "$pki" >/dev/null
gw_start "$run/gw" "$pki"
# Context switches of all a gateway's threads so far (each is a thread
# going to sleep or being preempted: about one wake-up each).
switches() { cat /proc/"$1"/task/*/status 2>/dev/null | awk '/ctxt_switches/ {s += $2} END {print s + 0}'; }
submits() {
  python3 -c "import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1]).read().decode())" \
    "http://127.0.0.1:$send_admin/metrics" | awk '/^gatehouse_submit_seconds_count/ {print $2}'
}
sw_send0=$(switches "$GW_SEND_PID") sw_recv0=$(switches "$GW_RECV_PID") n0=$(submits)
# shellcheck disable=SC2086  # EXTRA is a list of flags
"$bin/tools/ghbench/ghbench" --mode submit --target "127.0.0.1:$GW_CLIENT_PORT" \
  --to "$GW_RECEIVER" --type care_plan --classification OFFICIAL-SENSITIVE --caveat PERSONAL \
  --purpose direct_care --ca "$pki/ca.crt" --cert "$pki/$GW_CLIENT_CERT.crt" \
  --key "$pki/$GW_CLIENT_CERT.key" --payload 1024 --concurrency "${CONC:-64}" --warmup 2 \
  --duration "${DUR:-8}" --watch-pid "$GW_SEND_PID" --watch-pid "$GW_RECV_PID" ${EXTRA:-}
sw_send1=$(switches "$GW_SEND_PID") sw_recv1=$(switches "$GW_RECV_PID") n1=$(submits)
awk -v n=$((n1 - n0)) -v s=$((sw_send1 - sw_send0)) -v r=$((sw_recv1 - sw_recv0)) 'BEGIN {
  if (n > 0) printf "context switches a record (threads of the run, warm-up included): sender %.1f, receiver %.1f\n", s / n, r / n }'
for side in sender:$send_admin receiver:$recv_admin; do
  echo "${side%%:*}:"
  python3 -c "import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1]).read().decode())" \
    "http://127.0.0.1:${side#*:}/metrics" |
    grep -E "^gatehouse_(sealed_records|seal_batches|audit_entries|audit_(batches|sync_seconds)_total|store_(commits|commit_seconds)_total|audit_append_seconds_(sum|count)|submit_seconds_(sum|count)|deliver_seconds_(sum|count)|deliver_batches_total|deliver_batch_records_total)[ {]" |
    sed 's/^/  /'
done
