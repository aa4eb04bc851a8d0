# Sourced by scripts/bench.sh: a sending and a receiving gatehoused on
# loopback, configured as in scripts/demo.sh, with fresh data every start.
#
#   gw_start DIR PKI   writes DIR/{directory.json,<org>.json}, starts both
#                      gateways; sets GW_SEND_PID, GW_RECV_PID, GW_CLIENT_PORT
#                      (the sender's Exchange port) and GW_LOGS.
#   gw_stop            stops both (SIGTERM: they drain), by pid.
#
# When the gateway needs more configuration (policy bundle, keys in the
# directory), extend gw_write_config here, or set BENCH_GATEWAY_HOOK to a
# script called as `HOOK DIR PKI SENDER RECEIVER` after the files are written
# and before the gateways start.
GW_SENDER=nhs-trust-a
GW_RECEIVER=council-a
GW_SEND_PID=""
GW_RECV_PID=""

gw_write_config() {
  local dir="$1" pki="$2"
  read -r sc sp rc rp < <(free_ports 4)
  declare -gA gw_client=([$GW_SENDER]=$sc [$GW_RECEIVER]=$rc)
  declare -gA gw_peer=([$GW_SENDER]=$sp [$GW_RECEIVER]=$rp)
  cat > "$dir/directory.json" <<JSON
{"version": 1, "organisations": [
  {"orgId": "$GW_SENDER", "name": "Northshire NHS Trust", "sector": "health", "accreditation": "OFFICIAL-SENSITIVE", "gatewayAddress": "127.0.0.1:$sp", "gatewayIdentity": "psn://org/$GW_SENDER/gateway"},
  {"orgId": "$GW_RECEIVER", "name": "Northshire County Council", "sector": "social_care", "accreditation": "OFFICIAL-SENSITIVE", "gatewayAddress": "127.0.0.1:$rp", "gatewayIdentity": "psn://org/$GW_RECEIVER/gateway"}
]}
JSON
  local o
  for o in "$GW_SENDER" "$GW_RECEIVER"; do
    cat > "$dir/$o.json" <<JSON
{"orgId": "$o", "clientListen": "127.0.0.1:${gw_client[$o]}", "peerListen": "127.0.0.1:${gw_peer[$o]}",
 "tls": {"certFile": "$pki/$o/gateway.crt", "keyFile": "$pki/$o/gateway.key", "caFile": "$pki/ca.crt", "crlDir": "$pki/crl"},
 "dataDir": "$dir/data/$o", "directoryFile": "$dir/directory.json", "portsFile": "$dir/$o.ports"}
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
  "$bin/gateway/gatehoused" --config "$dir/$GW_RECEIVER.json" 2>"$dir/$GW_RECEIVER.log" &
  GW_RECV_PID=$!
  "$bin/gateway/gatehoused" --config "$dir/$GW_SENDER.json" 2>"$dir/$GW_SENDER.log" &
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
