# shellcheck shell=bash disable=SC2154  # root, bin, run, client_port: the caller's
# Sourced by scripts/demo_replicas.sh (and meant for scripts/demo.sh): the
# Northshire exchange's three organisations (policy/examples/northshire.ghp),
# what they must trust, their gateways' configs, and their systems' client.
# Needs $root (the source tree), $bin (the build directory) and $run (the
# run folder, holding the development PKI in $run/pki). Sources trust.sh.
#
#   orgs, name, sector, accreditation, profile, main_system
#                               the organisations, and what the directory
#                               and their configs say of each
#   northshire_trust ADDRESS...  keys, signed policy bundles and the signed
#                               directory in $run (trust.sh); ADDRESS is
#                               each org's peer address, in the order of
#                               orgs; prints the directory's summary,
#                               indented as the demos print
#   northshire_config ORG NAME CLIENT PEER ADMIN [FIELDS]
#                               writes $run/NAME.json: a gateway of ORG on
#                               127.0.0.1 at those ports, its data in
#                               $run/data/NAME, its ports in $run/NAME.ports;
#                               FIELDS (JSON members, each ending in a
#                               comma) are added
#   client ORG SYSTEM ARGS...   the gatehouse CLI as ORG's SYSTEM, calling
#                               127.0.0.1:${client_port[ORG]} (the caller's
#                               map); gives up after $client_timeout seconds
#   field NAME                  the value of JSON field NAME in the first
#                               line of stdin that has it
# shellcheck source=trust.sh
. "$root/scripts/lib/trust.sh"

orgs=(nhs-trust-a council-a police-a)
declare -gA sector=([nhs-trust-a]=health [council-a]=social_care [police-a]=police)
declare -gA accreditation=([nhs-trust-a]=OFFICIAL-SENSITIVE [council-a]=OFFICIAL-SENSITIVE [police-a]=SECRET)
declare -gA name=([nhs-trust-a]="Northshire NHS Trust" [council-a]="Northshire County Council" [police-a]="Northshire Police")
declare -gA profile=([nhs-trust-a]=health [council-a]="" [police-a]=police)
declare -gA main_system=([nhs-trust-a]=ehr [council-a]=care [police-a]=rms)  # takes records addressed to the organisation
client_timeout=60

northshire_trust() {
  trust_init "$run" "$root/policy/examples/northshire.ghp"
  local entries=() o i=0 addresses=("$@")
  for o in "${orgs[@]}"; do
    trust_org "$run" "$o"
    entries+=("$o|${name[$o]}|${sector[$o]}|${accreditation[$o]}|${addresses[$i]}")
    i=$((i + 1))
  done
  trust_directory "$run" "${entries[@]}" | sed 's/^/   /'
}

northshire_config() {
  local o="$1" n="$2" client="$3" peer="$4" admin="$5" fields="${6:-}"
  # The police's profile needs a policy signed by two security officers.
  local bundle="policy-1of2.bundle"
  if [ "$o" = police-a ]; then bundle="policy-2of2.bundle"; fi
  cat > "$run/$n.json" <<JSON
{"orgId": "$o", "profile": "${profile[$o]}",
 "clientListen": "127.0.0.1:$client", "peerListen": "127.0.0.1:$peer",
 "adminListen": "127.0.0.1:$admin",
 "tls": {"certFile": "pki/$o/gateway.crt", "keyFile": "pki/$o/gateway.key", "caFile": "pki/ca.crt", "crlDir": "pki/crl"},
 "dataDir": "data/$n", "portsFile": "$n.ports", "cosignIntervalSeconds": 1,
 "orgRecipientSystems": ["${main_system[$o]}"],${fields:+ $fields}
$(trust_config "$run" "$o" "$bundle")}
JSON
}

client() {
  local org="$1" sys="$2"; shift 2
  timeout "$client_timeout" "$bin/tools/gatehouse/gatehouse" --gateway "127.0.0.1:${client_port[$org]}" \
    --cert "$run/pki/$org/$sys.crt" --key "$run/pki/$org/$sys.key" --ca "$run/pki/ca.crt" "$@"
}

field() { sed -n -E "s/.*\"$1\":\"?([^\",}]*).*/\1/p" | head -1; }
