# Sourced by scripts/demo.sh and scripts/bench/gateways.sh: everything a set
# of gateways must trust, made fresh (no key is ever committed).
# Needs $bin (the build directory) and runs in the caller's directory.
#
#   trust_init DIR POLICY.ghp   directory authority, two security officers
#                               (alice, bob), and the policy compiled into
#                               DIR/policy-1of2.bundle (alice signed) and
#                               DIR/policy-2of2.bundle (both signed)
#   trust_org DIR ORG           ORG's gateway keyset, audit log key and
#                               cosigner key under DIR/keys/
#   trust_directory DIR ENTRY...  DIR/directory.signed, valid 24 h, from
#                               entries "org|name|sector|accreditation|peer-address"
#   trust_config DIR ORG BUNDLE  the config fields (JSON, no braces) naming them
trust_tools() {
  ghkey="$bin/tools/ghkey/ghkey"
  auditctl="$bin/tools/auditctl/auditctl"
  policyc="$bin/tools/policyc/policyc"
}

trust_init() {
  local dir="$1" policy="$2"
  trust_tools
  mkdir -p "$dir/keys"
  chmod 700 "$dir/keys"
  "$ghkey" generate --org=directory-authority --authority --out="$dir/keys/authority.json" >/dev/null
  "$ghkey" export --keyset="$dir/keys/authority.json" > "$dir/authority.json"
  (cd "$dir/keys" && "$policyc" keygen alice >/dev/null && "$policyc" keygen bob >/dev/null)
  "$policyc" compile "$policy" -o "$dir/policy-1of2.bundle" --required-signatures 1 >/dev/null
  "$policyc" sign "$dir/policy-1of2.bundle" --key "$dir/keys/alice.key" --name alice >/dev/null
  "$policyc" compile "$policy" -o "$dir/policy-2of2.bundle" --required-signatures 2 >/dev/null
  "$policyc" sign "$dir/policy-2of2.bundle" --key "$dir/keys/alice.key" --name alice >/dev/null
  "$policyc" sign "$dir/policy-2of2.bundle" --key "$dir/keys/bob.key" --name bob >/dev/null
}

trust_org() {
  local dir="$1" org="$2"
  trust_tools
  "$ghkey" generate --org="$org" --out="$dir/keys/$org.keyset.json" >/dev/null
  "$auditctl" keygen --name "gatehouse/$org/audit" --out "$dir/keys/$org.audit" >/dev/null
  "$auditctl" keygen --name "gatehouse/$org" --out "$dir/keys/$org.cosigner" --cosigner >/dev/null
}

trust_directory() {
  local dir="$1"; shift
  trust_tools
  local sep="" entry org name sector level address
  {
    echo '{"version": 1, "organisations": ['
    for entry in "$@"; do
      IFS='|' read -r org name sector level address <<<"$entry"
      printf '%s' "$sep"
      "$ghkey" export --keyset="$dir/keys/$org.keyset.json" | sed '$ d'
      printf ', "name": "%s", "sector": "%s", "accreditation": "%s", "gateway_address": "%s", "gateway_identity": "psn://org/%s/gateway", "audit_key": "%s", "cosigner_key": "%s"}' \
        "$name" "$sector" "$level" "$address" "$org" \
        "$(cat "$dir/keys/$org.audit.pub")" "$(cat "$dir/keys/$org.cosigner.pub")"
      sep=$',\n'
    done
    printf '\n]}\n'
  } > "$dir/directory.json"
  "$ghkey" sign-directory --authority="$dir/keys/authority.json" --directory="$dir/directory.json" \
    --valid-for=24 --out="$dir/directory.signed"
}

trust_config() {
  local dir="$1" org="$2" bundle="$3"
  cat <<JSON
 "keysetFile": "$dir/keys/$org.keyset.json",
 "directoryFile": "$dir/directory.signed", "directoryAuthorityFile": "$dir/authority.json",
 "audit": {"keyFile": "$dir/keys/$org.audit.key", "cosignerKeyFile": "$dir/keys/$org.cosigner.key", "checkpointIntervalMs": 500},
 "policy": {"bundleFile": "$dir/$bundle", "officerKeyFiles": ["$dir/keys/alice.pub", "$dir/keys/bob.pub"]}
JSON
}
