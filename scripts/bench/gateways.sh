# Sourced by scripts/bench.sh: a sending and a receiving gatehoused on
# loopback, configured as in scripts/demo.sh, with fresh data every start.
#
#   gw_start DIR PKI   writes DIR/{directory.json,<org>.json}, starts both
#                      gateways; sets GW_SEND_PID, GW_RECV_PID, GW_CLIENT_PORT
#                      (the sender's Exchange port) and GW_LOGS.
#   gw_stop            stops both (SIGTERM: they drain), by pid.
#
# Keys, the signed directory and the signed policy (policy/examples/
# northshire.ghp) are made fresh by scripts/lib/trust.sh. The flow measured is
# the council's care system sending care plans to the NHS trust: permitted
# by rule council-health-care (encrypt, retain), so every record is decided,
# sealed, signed, audited on both sides and receipted. BENCH_GATEWAY_HOOK, if
# set, is called as `HOOK DIR PKI SENDER RECEIVER` before the gateways start;
# GW_PRELOAD, if set, is preloaded (LD_PRELOAD) into both gateways.
GW_SENDER=council-a
GW_RECEIVER=nhs-trust-a
GW_CLIENT_CERT=council-a/care
GW_SEND_PID=""
GW_RECV_PID=""

gw_write_config() {
  local dir="$1" pki="$2"
  read -r sc sp rc rp < <(free_ports 4)
  declare -gA gw_client=([$GW_SENDER]=$sc [$GW_RECEIVER]=$rc)
  declare -gA gw_peer=([$GW_SENDER]=$sp [$GW_RECEIVER]=$rp)
  # shellcheck source=../lib/trust.sh
  . "$root/scripts/lib/trust.sh"
  trust_init "$dir" "$root/policy/examples/northshire.ghp"
  trust_org "$dir" "$GW_SENDER"
  trust_org "$dir" "$GW_RECEIVER"
  trust_directory "$dir" \
    "$GW_SENDER|Northshire County Council|social_care|OFFICIAL-SENSITIVE|127.0.0.1:$sp" \
    "$GW_RECEIVER|Northshire NHS Trust|health|OFFICIAL-SENSITIVE|127.0.0.1:$rp" >/dev/null
  local o
  for o in "$GW_SENDER" "$GW_RECEIVER"; do
    cat > "$dir/$o.json" <<JSON
{"orgId": "$o", "clientListen": "127.0.0.1:${gw_client[$o]}", "peerListen": "127.0.0.1:${gw_peer[$o]}",
 "tls": {"certFile": "$pki/$o/gateway.crt", "keyFile": "$pki/$o/gateway.key", "caFile": "$pki/ca.crt", "crlDir": "$pki/crl"},
 "dataDir": "$dir/data/$o", "portsFile": "$dir/$o.ports",
 "submitRatePerSystem": -1, "deliverRatePerOrg": -1, "listenerRate": -1,
$(trust_config "$dir" "$o" policy-1of2.bundle)}
JSON
  done
}

gw_start() {
  local dir="$1" pki="$2"
  rm -rf "$dir"
  mkdir -p "$dir"
  gw_write_config "$dir" "$pki"
  if [ -n "${BENCH_GATEWAY_HOOK:-}" ]; then
    "$BENCH_GATEWAY_HOOK" "$dir" "$pki" "$GW_SENDER" "$GW_RECEIVER"
  fi
  ${GW_PRELOAD:+env LD_PRELOAD=$GW_PRELOAD} "$bin/gateway/gatehoused" --config "$dir/$GW_RECEIVER.json" 2>"$dir/$GW_RECEIVER.log" &
  GW_RECV_PID=$!
  ${GW_PRELOAD:+env LD_PRELOAD=$GW_PRELOAD} "$bin/gateway/gatehoused" --config "$dir/$GW_SENDER.json" 2>"$dir/$GW_SENDER.log" &
  GW_SEND_PID=$!
  GW_LOGS="$dir/$GW_SENDER.log $dir/$GW_RECEIVER.log"
  wait_for_file "$dir/$GW_RECEIVER.ports" "$GW_RECV_PID" "gatehoused $GW_RECEIVER" || { tail -5 "$dir/$GW_RECEIVER.log" >&2; return 1; }
  wait_for_file "$dir/$GW_SENDER.ports" "$GW_SEND_PID" "gatehoused $GW_SENDER" || { tail -5 "$dir/$GW_SENDER.log" >&2; return 1; }
  GW_CLIENT_PORT=${gw_client[$GW_SENDER]}
}

gw_stop() {
  [ -n "$GW_SEND_PID" ] && stop_pid "$GW_SEND_PID"
  [ -n "$GW_RECV_PID" ] && stop_pid "$GW_RECV_PID"
  GW_SEND_PID=""
  GW_RECV_PID=""
}
