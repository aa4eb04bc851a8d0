#!/usr/bin/env bash
# The three-organisation exchange: an NHS trust (health), a council (social
# care) and a police force, each with its own gateway on loopback. Their
# systems send sample records to each other; the demo prints what arrived
# where. Run as root on Debian 12: it installs what is missing first.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/setup.sh"
"$root/scripts/build.sh" --target gatehoused gatehouse >/dev/null
bin="${GATEHOUSE_BUILD_DIR:-$root/build}"
run="$root/demo-run"
rm -rf "$run"
mkdir -p "$run"
"$root/certs/gen-dev-pki.sh" "$run/pki" >/dev/null

orgs=(nhs-trust-a council-a police-a)
declare -A sector=([nhs-trust-a]=health [council-a]=social_care [police-a]=police)
declare -A accreditation=([nhs-trust-a]=OFFICIAL-SENSITIVE [council-a]=OFFICIAL-SENSITIVE [police-a]=SECRET)
declare -A name=([nhs-trust-a]="Northshire NHS Trust" [council-a]="Northshire County Council" [police-a]="Northshire Police")
declare -A client_port=([nhs-trust-a]=47101 [council-a]=47102 [police-a]=47103)
declare -A peer_port=([nhs-trust-a]=47201 [council-a]=47202 [police-a]=47203)

{
  echo '{"version": 1, "organisations": ['
  sep=""
  for o in "${orgs[@]}"; do
    printf '%s  {"orgId": "%s", "name": "%s", "sector": "%s", "accreditation": "%s", "gatewayAddress": "127.0.0.1:%s", "gatewayIdentity": "psn://org/%s/gateway"}' \
      "$sep" "$o" "${name[$o]}" "${sector[$o]}" "${accreditation[$o]}" "${peer_port[$o]}" "$o"
    sep=$',\n'
  done
  printf '\n]}\n'
} > "$run/directory.json"

pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
for o in "${orgs[@]}"; do
  cat > "$run/$o.json" <<JSON
{"orgId": "$o", "clientListen": "127.0.0.1:${client_port[$o]}", "peerListen": "127.0.0.1:${peer_port[$o]}",
 "tls": {"certFile": "pki/$o/gateway.crt", "keyFile": "pki/$o/gateway.key", "caFile": "pki/ca.crt", "crlDir": "pki/crl"},
 "dataDir": "data/$o", "directoryFile": "directory.json", "portsFile": "$o.ports"}
JSON
  "$bin/gateway/gatehoused" --config "$run/$o.json" 2>"$run/$o.log" &
  pids+=($!)
done
for o in "${orgs[@]}"; do
  for _ in $(seq 100); do [ -f "$run/$o.ports" ] && break; sleep 0.1; done
  [ -f "$run/$o.ports" ] || { echo "gateway $o did not start:"; cat "$run/$o.log"; exit 1; }
done
echo "Three gateways up: nhs-trust-a (health), council-a (social care), police-a (police)."
echo

# client ORG SYSTEM ARGS...: the gatehouse CLI as that organisation's system.
client() {
  local org="$1" sys="$2"; shift 2
  "$bin/tools/gatehouse/gatehouse" --gateway "127.0.0.1:${client_port[$org]}" \
    --cert "$run/pki/$org/$sys.crt" --key "$run/pki/$org/$sys.key" --ca "$run/pki/ca.crt" "$@"
}
send() {
  local org="$1" sys="$2" to="$3" type="$4" class="$5" body="$6"; shift 6
  printf '%-12s %-5s -> %-12s %-22s %-19s ' "$org" "$sys" "$to" "$type" "$class"
  if receipt=$(printf '%s' "$body" | client "$org" "$sys" submit --to "$to" --type "$type" \
      --classification "$class" "$@" 2>&1); then
    echo "$receipt" | sed -E 's/.*"record_id":"([0-9a-f]+)".*"state":"([A-Z_]+)".*/\2 \1/'
  else
    echo "$receipt"
  fi
}

echo "== Systems submit records"
send nhs-trust-a ehr council-a discharge_summary OFFICIAL-SENSITIVE \
  '{"resourceType":"Composition","title":"Discharge summary","subject":"patient 943 476 5919"}' \
  --caveat PERSONAL --purpose direct_care --content-type application/fhir+json
send council-a care nhs-trust-a care_plan OFFICIAL-SENSITIVE \
  '{"plan":"home care, four visits a day"}' --caveat PERSONAL --purpose direct_care
send police-a rms council-a safeguarding_referral OFFICIAL-SENSITIVE \
  '{"referral":"child at risk, address withheld"}' --purpose safeguarding --to-system care
send nhs-trust-a pas police-a safeguarding_referral OFFICIAL-SENSITIVE \
  '{"referral":"injury pattern of concern"}' --purpose safeguarding
echo

echo "== What arrived where"
for pair in council-a:care nhs-trust-a:ehr police-a:rms; do
  org="${pair%%:*}"; sys="${pair#*:}"
  echo "-- $org / $sys mailbox:"
  client "$org" "$sys" fetch --ack | sed -E 's/.*"record_id":"([0-9a-f]+)","sender_org":"([^"]+)","sender_system":"([^"]+)".*"record_type":"([^"]+)".*"payload":"([^"]*)".*/   \4 from \2\/\3 (record \1), payload: \5/' |
    while IFS= read -r line; do
      enc="${line##*payload: }"
      echo "${line%%payload: *}payload: $(printf '%s' "$enc" | base64 -d 2>/dev/null || echo "$enc")"
    done
done
echo
echo "== A refusal: a council system claims to submit as the NHS trust"
echo '{}' | client council-a care submit --to police-a --type care_plan \
  --classification OFFICIAL --sender-org nhs-trust-a 2>&1 || true
echo
echo "Logs: $run/*.log; data: $run/data/"
