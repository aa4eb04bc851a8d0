# shellcheck shell=bash disable=SC2034,SC2154  # bin, free_ports...: the caller's; REP_*: for it
# Sourced by scripts/bench.sh after lib.sh and gateways.sh: the sending
# organisation of arm (c) as replicas (issue 19), for the arms c_lb_sqlite
# and c_pg_1..3. The sender is the side replicated because the load
# generator's Submits land on it, so HAProxy spreads them over its replicas
# directly; it also does the most work a record (policy, sealing and
# signing, two audit entries, the outbox row, the delivery and the receipt's
# verification) and all of its rows and audit entries go through the
# database. Replicating the receiver instead would leave one SQLite sender
# in front feeding them over its one outbox sender.
#
#   rep_start DIR PKI N [DSN]
#       N = 0: one sending gateway on SQLite; N >= 1: N sending replicas
#       (replicaId r1..rN) sharing the PostgreSQL database DSN (which must
#       be fresh: the organisation's keys are made anew here). Either way
#       HAProxy in TCP mode is in front (mutual TLS passes through): its
#       client frontend at REP_CLIENT_PORT, round-robin over the senders'
#       Exchange ports, and its peer frontend at the address the signed
#       directory gives for the sender (the receiver pulls checkpoints
#       there). The receiving gateway is one gatehoused on SQLite, as in
#       arm (c). Sets REP_PIDS and REP_ADMIN (the senders' pids and admin
#       ports, in the same order), REP_LB_PID, REP_CLIENT_PORT, GW_RECV_PID.
#   rep_stop
#       stops HAProxy and the senders (SIGTERM: they drain), then the
#       receiver, each by pid (stop_pid: SIGKILL after 10 s).
#
# Each sender has its own dataDir (its SQLite file, or nothing but spools
# on PostgreSQL), ports and admin port; they share the certificates and keys
# of the organisation, as the replicas of scripts/demo_replicas.sh do.
REP_PIDS=()
REP_ADMIN=()
REP_LB_PID=""
REP_CLIENT_PORT=""

rep_start() {
  local dir="$1" pki="$2" n="$3" dsn="${4:-}"
  rm -rf "$dir"
  mkdir -p "$dir"
  # The two gateways' configs of arm (c); the sender's client and peer
  # ports (named in the directory) become HAProxy's frontends.
  gw_write_config "$dir" "$pki"
  if [ -n "${BENCH_GATEWAY_HOOK:-}" ]; then
    "$BENCH_GATEWAY_HOOK" "$dir" "$pki" "$GW_SENDER" "$GW_RECEIVER"
  fi
  # shellcheck disable=SC2154  # gw_client, gw_peer: set by gw_write_config
  local lb_client=${gw_client[$GW_SENDER]} lb_peer=${gw_peer[$GW_SENDER]}
  local count=$((n > 0 ? n : 1)) i names=() clients=() peers=()
  local -a ports
  read -r -a ports < <(free_ports $((3 * count)))
  for i in $(seq "$count"); do
    local name="$GW_SENDER-r$i"
    names+=("$name")
    clients+=("${ports[$((3 * i - 3))]}")
    peers+=("${ports[$((3 * i - 2))]}")
    REP_ADMIN+=("${ports[$((3 * i - 1))]}")
    python3 - "$dir/$GW_SENDER.json" "$dir/$name.json" "$dir" "$name" "r$i" \
        "${ports[$((3 * i - 3))]}" "${ports[$((3 * i - 2))]}" "${ports[$((3 * i - 1))]}" "$dsn" <<'PY'
import json, sys
src, dst, d, name, rid, client, peer, admin, dsn = sys.argv[1:]
with open(src) as f:
    c = json.load(f)
c["clientListen"] = "127.0.0.1:" + client
c["peerListen"] = "127.0.0.1:" + peer
c["adminListen"] = "127.0.0.1:" + admin
c["dataDir"] = f"{d}/data/{name}"
c["portsFile"] = f"{d}/{name}.ports"
if dsn:
    c["store"] = {"postgres": {"dsn": dsn, "replicaId": rid}}
with open(dst, "w") as f:
    json.dump(c, f, indent=1)
PY
  done
  ${GW_PRELOAD:+env LD_PRELOAD=$GW_PRELOAD} "$bin/gateway/gatehoused" \
    --config "$dir/$GW_RECEIVER.json" 2>"$dir/$GW_RECEIVER.log" &
  GW_RECV_PID=$!
  wait_for_file "$dir/$GW_RECEIVER.ports" "$GW_RECV_PID" "gatehoused $GW_RECEIVER" ||
    { tail -5 "$dir/$GW_RECEIVER.log" >&2; return 1; }
  for name in "${names[@]}"; do
    ${GW_PRELOAD:+env LD_PRELOAD=$GW_PRELOAD} "$bin/gateway/gatehoused" \
      --config "$dir/$name.json" 2>"$dir/$name.log" &
    REP_PIDS+=($!)
  done
  i=0
  for name in "${names[@]}"; do
    wait_for_file "$dir/$name.ports" "${REP_PIDS[$i]}" "gatehoused $name" ||
      { tail -5 "$dir/$name.log" >&2; return 1; }
    i=$((i + 1))
  done
  # HAProxy as scripts/demo_replicas.sh runs it, without health checks
  # (nothing is killed here): round-robin a connection, so ghbench's
  # channels are spread evenly over the senders.
  {
    cat <<CFG
global
  maxconn 4000
  stats socket $dir/haproxy.sock mode 600 level admin
defaults
  mode tcp
  timeout connect 1s
  timeout client 1h
  timeout server 1h
frontend exchange
  bind 127.0.0.1:$lb_client
  default_backend exchange
frontend peer
  bind 127.0.0.1:$lb_peer
  default_backend peer
backend exchange
  balance roundrobin
CFG
    for i in $(seq "$count"); do echo "  server r$i 127.0.0.1:${clients[$((i - 1))]}"; done
    printf 'backend peer\n  balance roundrobin\n'
    for i in $(seq "$count"); do echo "  server r$i 127.0.0.1:${peers[$((i - 1))]}"; done
  } > "$dir/haproxy.cfg"
  haproxy -c -q -f "$dir/haproxy.cfg" || { echo "bench: haproxy.cfg refused" >&2; return 1; }
  haproxy -db -f "$dir/haproxy.cfg" >"$dir/haproxy.log" 2>&1 &
  REP_LB_PID=$!
  # It makes its stats socket once its frontends are bound (within 10 s).
  for _ in $(seq 100); do
    [ -S "$dir/haproxy.sock" ] && break
    kill -0 "$REP_LB_PID" 2>/dev/null || { cat "$dir/haproxy.log" >&2; echo "bench: haproxy exited" >&2; return 1; }
    sleep 0.1
  done
  [ -S "$dir/haproxy.sock" ] || { echo "bench: haproxy did not start within 10 s" >&2; return 1; }
  REP_CLIENT_PORT=$lb_client
}

rep_stop() {
  local p
  [ -n "$REP_LB_PID" ] && stop_pid "$REP_LB_PID"
  for p in "${REP_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done  # drain side by side
  for p in "${REP_PIDS[@]}"; do stop_pid "$p"; done
  [ -n "$GW_RECV_PID" ] && stop_pid "$GW_RECV_PID"
  REP_LB_PID=""
  REP_PIDS=()
  REP_ADMIN=()
  GW_RECV_PID=""
}
