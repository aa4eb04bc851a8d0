#!/usr/bin/env bash
# The three-organisation exchange: an NHS trust (health), a council (social
# care) and a police force, each with its own gateway on loopback, keys,
# signed directory, signed policy and audit log. Their systems send records
# to each other; for each record the demo prints whether policy permitted or
# denied it and why, the receiving gateway's signed receipt, and whether the
# receiver's audit proof for it verifies. Run as root on Debian 12: it
# installs what is missing first.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/setup.sh"
"$root/scripts/build.sh" --target gatehoused gatehouse ghkey auditctl policyc >/dev/null
bin="${GATEHOUSE_BUILD_DIR:-$root/build}"
run="$root/demo-run"
rm -rf "$run"
mkdir -p "$run"
cd "$run"
"$root/certs/gen-dev-pki.sh" "$run/pki" >/dev/null

# shellcheck source=lib/northshire.sh
. "$root/scripts/lib/northshire.sh"  # orgs, client, field; sources trust.sh
declare -A client_port=([nhs-trust-a]=47101 [council-a]=47102 [police-a]=47103)
declare -A peer_port=([nhs-trust-a]=47201 [council-a]=47202 [police-a]=47203)
declare -A admin_port=([nhs-trust-a]=47301 [council-a]=47302 [police-a]=47303)

echo "== Keys, directory and policy (nothing secret is committed; all made now)"
northshire_trust "127.0.0.1:${peer_port[nhs-trust-a]}" "127.0.0.1:${peer_port[council-a]}" \
  "127.0.0.1:${peer_port[police-a]}"
echo "   policy northshire.ghp compiled; signed by alice (health, council) and by alice and bob"
echo "   (police: its profile needs two security officers' signatures)"

pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
for o in "${orgs[@]}"; do
  northshire_config "$o" "$o" "${client_port[$o]}" "${peer_port[$o]}" "${admin_port[$o]}"
  "$bin/gateway/gatehoused" --config "$run/$o.json" 2>"$run/$o.log" &
  pids+=($!)
done
for o in "${orgs[@]}"; do
  for _ in $(seq 100); do [ -f "$run/$o.ports" ] && break; sleep 0.1; done
  [ -f "$run/$o.ports" ] || { echo "gateway $o did not start:"; cat "$run/$o.log"; exit 1; }
done
echo
echo "Three gateways up: nhs-trust-a (health), council-a (social care), police-a (police)."
echo

sent=()
send() {
  local org="$1" sys="$2" to="$3" type="$4" class="$5" body="$6"; shift 6
  echo "-- $org/$sys -> $to: $type, $class $*"
  local out
  if out=$(printf '%s' "$body" | client "$org" "$sys" submit --to "$to" --type "$type" \
      --classification "$class" "$@" 2>&1); then
    local id rules state receiver index
    id=$(echo "$out" | field record_id)
    state=$(echo "$out" | field state)
    rules=$(echo "$out" | sed -n -E 's/.*"rule_ids":\["([^]]*)"\].*/\1/p' | sed 's/","/, /g')
    local delivery
    delivery=$(echo "$out" | sed -n -E 's/.*"delivery":\{([^}]*)\}.*/\1/p')
    receiver=$(echo "$delivery" | field receiver_org)
    index=$(echo "$delivery" | field audit_index)
    echo "   PERMITTED by rule ${rules:-?}; record $id is $state"
    if [ "$state" = RECORD_STATE_DELIVERED ]; then
      echo "   receipt signed by $receiver: record received, its audit entry $index, envelope sha256 (base64) $(echo "$delivery" | field envelope_sha256)"
      sent+=("$org:$sys:$id")
    fi
  else
    echo "   REFUSED: ${out#gatehouse: submit failed: }"
  fi
}

echo "== Systems submit records"
send nhs-trust-a ehr council-a discharge_summary OFFICIAL-SENSITIVE \
  '{"resourceType":"Composition","title":"Discharge summary","subject":"patient 943 476 5919","gp_free_text":"private note for the GP only","section":[{"title":"Care needs","text":"help with meals"}]}' \
  --caveat PERSONAL --purpose direct_care --content-type application/fhir+json --end-user dr.patel \
  --to-system care
send nhs-trust-a ehr council-a discharge_summary OFFICIAL-SENSITIVE \
  '{"resourceType":"Composition","title":"Discharge summary with diagnosis"}' \
  --caveat PERSONAL --caveat MEDICAL --purpose direct_care --content-type application/fhir+json
send council-a care nhs-trust-a care_plan OFFICIAL-SENSITIVE \
  '{"plan":"home care, four visits a day"}' --caveat PERSONAL --purpose direct_care
send police-a rms council-a safeguarding_referral OFFICIAL-SENSITIVE \
  '{"referral":"child at risk, address withheld"}' --caveat CHILD --purpose safeguarding \
  --to-system care --end-user pc.jones
send police-a rms council-a intelligence_report SECRET '{"report":"..."}' \
  --purpose investigation --end-user ds.smith
send police-a rms nhs-trust-a safeguarding_referral OFFICIAL-SENSITIVE \
  '{"referral":"injury pattern of concern"}' --purpose safeguarding --to-system ehr
send nhs-trust-a pas police-a safeguarding_referral OFFICIAL-SENSITIVE \
  '{"referral":"injury pattern of concern"}' --purpose safeguarding --to-system rms
echo
echo "== A refusal: personal data addressed to the council as a whole (no recipient system)"
send nhs-trust-a ehr council-a discharge_summary OFFICIAL-SENSITIVE \
  '{"resourceType":"Composition","title":"Discharge summary"}' \
  --caveat PERSONAL --purpose direct_care --content-type application/fhir+json
echo

echo "== A refusal: a council system claims to submit as the NHS trust"
echo '{}' | client council-a care submit --to police-a --type care_plan \
  --classification OFFICIAL --purpose direct_care --sender-org nhs-trust-a 2>&1 | sed 's/^/   /' || true
echo

echo "== Audit proofs: each receiver's RECEIVED entry, checked against its signed checkpoint"
sleep 1.5
for s in "${sent[@]}"; do
  IFS=: read -r org sys id <<<"$s"
  out=$(client "$org" "$sys" status "$id" --proof 2>&1) && ok=verified || ok="NOT verified"
  echo "-- record $id: proof $ok"
  echo "   $(echo "$out" | sed -n -E 's/.*"detail":"([^"]*)".*/\1/p')"
done
echo

echo "== What arrived where (the receiving gateway opens each record for its system)"
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

sleep 2  # a cosigning round (every second) after the last checkpoint
cleanup
pids=()
trap - EXIT
echo
echo "== Each audit log verified offline from genesis, with the other gateways' cosignatures"
for o in "${orgs[@]}"; do
  cosigners=()
  for p in "${orgs[@]}"; do [ "$p" = "$o" ] || cosigners+=(--cosigner "keys/$p.cosigner.pub"); done
  printf -- "-- %s: " "$o"
  "$auditctl" verify --dir "data/$o/audit" --key "keys/$o.audit.pub" "${cosigners[@]}" 2>&1 | head -1
done
echo
echo "Logs: $run/*.log; data: $run/data/; audit logs: $run/data/*/audit"
