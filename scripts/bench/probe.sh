#!/usr/bin/env bash
# A quick probe of arm c_1k of scripts/bench.sh: the two bench gateways
# (scripts/bench/gateways.sh), ghbench Submits at 1 KiB, then the sending
# gateway's own counters from its admin port (records sealed and signed
# batches, audit-append, Submit and Deliver latency sums). Prints figures;
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
admin_port=$(free_ports 1)
add_admin() {
  python3 - "$1/$3.json" "$admin_port" <<'PY'
import json, sys
path, port = sys.argv[1], sys.argv[2]
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
# shellcheck disable=SC2086  # EXTRA is a list of flags
"$bin/tools/ghbench/ghbench" --mode submit --target "127.0.0.1:$GW_CLIENT_PORT" \
  --to "$GW_RECEIVER" --type care_plan --classification OFFICIAL-SENSITIVE --caveat PERSONAL \
  --purpose direct_care --ca "$pki/ca.crt" --cert "$pki/$GW_CLIENT_CERT.crt" \
  --key "$pki/$GW_CLIENT_CERT.key" --payload 1024 --concurrency "${CONC:-64}" --warmup 2 \
  --duration "${DUR:-8}" --watch-pid "$GW_SEND_PID" --watch-pid "$GW_RECV_PID" ${EXTRA:-}
python3 -c "import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1]).read().decode())" \
  "http://127.0.0.1:$admin_port/metrics" |
  grep -E "^gatehouse_(sealed_records|seal_batches|audit_append_seconds_(sum|count)|submit_seconds_(sum|count)|deliver_seconds_(sum|count))[ {]"
