#!/usr/bin/env bash
# One organisation as several gateways (issue 19): the NHS trust of
# scripts/demo.sh runs as three gatehoused replicas sharing one PostgreSQL
# database, behind HAProxy (TCP mode: TLS passes through, so mutual TLS is
# end to end between the trust's systems or peer gateways and a replica;
# every replica has the same certificates and keys). The council and the
# police keep one gateway each, on SQLite. The signed directory gives
# HAProxy's peer frontend as the trust's gateway address; the trust's
# systems call HAProxy's client frontend.
#
# Systems of all three send records both ways, each Submit retried with its
# idempotency key until acknowledged; one trust replica is SIGKILLed
# mid-run and sending goes on. Then it checks that nothing acknowledged was
# lost: every record acknowledged is fetched by its recipient exactly once,
# nothing else is fetched, and every outbox drains. Exits non-zero if
# anything was lost or duplicated. Run as root on Debian 12: it installs
# what is missing first (scripts/setup.sh). Once built, it takes about 20 s.
#
#   scripts/demo_replicas.sh [--no-build] [--records N]
#
#   --no-build    use the existing build (default: scripts/build.sh first)
#   --records N   records each of the four flows sends (default 40)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build=1
per_flow=40
while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) build=0; shift ;;
    --records) per_flow="$2"; shift 2 ;;
    *) sed -n '2,/^set -euo/p' "$0" | sed '$d' >&2; exit 2 ;;
  esac
done
[[ "$per_flow" =~ ^[1-9][0-9]*$ ]] || { echo "demo_replicas: --records needs a positive number" >&2; exit 2; }
"$root/scripts/setup.sh"
[ "$build" = 0 ] || "$root/scripts/build.sh" --target gatehoused gatehouse ghkey auditctl policyc >/dev/null
bin="${GATEHOUSE_BUILD_DIR:-$root/build}"
run="$root/demo-run/replicas"
# shellcheck source=lib/northshire.sh
. "$root/scripts/lib/northshire.sh"
# shellcheck source=lib/pg.sh
. "$root/scripts/lib/pg.sh"
# shellcheck source=bench/lib.sh
. "$root/scripts/bench/lib.sh"  # free_ports, wait_for_file

# A run killed before its cleanup may have left its PostgreSQL server up.
PG_DIR="$run/pg"
pg_stop
rm -rf "$run"
mkdir -p "$run"
cd "$run"
"$root/certs/gen-dev-pki.sh" "$run/pki" >/dev/null
start=$SECONDS

replicas=(replica-1 replica-2 replica-3)
victim=replica-2
read -r -a ports < <(free_ports 17)
lb_client=${ports[0]}
lb_peer=${ports[1]}
declare -A client_port=([council-a]=${ports[2]} [police-a]=${ports[3]} [nhs-trust-a]=$lb_client)
declare -A peer_port=([council-a]=${ports[4]} [police-a]=${ports[5]})
declare -A admin_port=([council-a]=${ports[6]} [police-a]=${ports[7]})
declare -A r_client r_peer r_admin
i=8
for r in "${replicas[@]}"; do
  r_client[$r]=${ports[$i]}; r_peer[$r]=${ports[$((i + 1))]}; r_admin[$r]=${ports[$((i + 2))]}
  i=$((i + 3))
done

pids=()      # gateways and HAProxy
loops=()     # the senders and receivers below
declare -A pid_of
cleanup() {
  local p
  for p in "${loops[@]}" "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${loops[@]}" "${pids[@]}"; do
    for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  pg_stop
}
on_exit() { local rc=$?; cleanup; exit "$rc"; }
trap on_exit EXIT
trap 'exit 130' INT TERM

echo "== Keys, directory and policy (nothing secret is committed; all made now)"
northshire_trust "127.0.0.1:$lb_peer" "127.0.0.1:${peer_port[council-a]}" "127.0.0.1:${peer_port[police-a]}"
echo "   the directory gives nhs-trust-a's gateway as 127.0.0.1:$lb_peer: HAProxy's peer frontend"
echo

echo "== PostgreSQL: a throwaway server for nhs-trust-a's replicas"
# Trust authentication on a Unix socket in a 0700 folder (lib/pg.sh): fine
# for a throwaway demo server, never for a real one (use a password file or
# client certificates: docs/gateway.md, store.postgres).
pg_start "$run/pg" gatehouse gatehouse
echo "   $(pg_sql 'SHOW server_version'), data in $run/pg/data, Unix socket in $run/pg only"
echo "   database gatehouse, role gatehouse; replicas connect with \"$PG_DSN\""
echo

echo "== Gateways"
# Each replica attempts a delivery for at most 2 s (deliverTimeoutMs) and
# claims an outbox row for 3 s (deliveryLeaseSeconds, which must be
# longer), so a dead replica's rows are taken over within about 3 s. Short
# backoffs everywhere keep the demo quick once the replica is gone.
retry='"retry": {"initialBackoffMs": 100, "maxBackoffMs": 1000, "deliverTimeoutMs": 2000},'
start_gateway() {  # NAME: starts $run/NAME.json
  "$bin/gateway/gatehoused" --config "$run/$1.json" 2>"$run/$1.log" &
  pids+=($!)
  pid_of[$1]=$!
}
for r in "${replicas[@]}"; do
  northshire_config nhs-trust-a "nhs-trust-a-$r" "${r_client[$r]}" "${r_peer[$r]}" "${r_admin[$r]}" \
    "$retry \"store\": {\"postgres\": {\"dsn\": \"$PG_DSN\", \"replicaId\": \"$r\", \"deliveryLeaseSeconds\": 3}},"
  start_gateway "nhs-trust-a-$r"
done
for o in council-a police-a; do
  northshire_config "$o" "$o" "${client_port[$o]}" "${peer_port[$o]}" "${admin_port[$o]}" "$retry"
  start_gateway "$o"
done
for n in "${!pid_of[@]}"; do
  wait_for_file "$run/$n.ports" "${pid_of[$n]}" "gatehoused $n" || { tail -20 "$run/$n.log"; exit 1; }
done

# HAProxy: two TCP frontends, each round-robin over the replicas' matching
# port. A replica counts as up while its admin /readyz answers 200 (checked
# every 500 ms; down after 2 failures); a connection that cannot reach a
# replica is tried again on another (retries, redispatch). Its stats
# socket tells the demo which connections are open to which replica.
{
  cat <<CFG
global
  maxconn 2000
  stats socket $run/haproxy.sock mode 600 level admin
defaults
  mode tcp
  timeout connect 1s
  timeout client 1h
  timeout server 1h
  retries 2
  option redispatch
frontend exchange
  bind 127.0.0.1:$lb_client
  default_backend exchange
frontend peer
  bind 127.0.0.1:$lb_peer
  default_backend peer
CFG
  for b in exchange peer; do
    printf 'backend %s\n  balance roundrobin\n  option httpchk\n  http-check send meth GET uri /readyz\n' "$b"
    for r in "${replicas[@]}"; do
      port=${r_client[$r]}
      [ "$b" = peer ] && port=${r_peer[$r]}
      echo "  server $r 127.0.0.1:$port check port ${r_admin[$r]} inter 500ms fall 2 rise 2"
    done
  done
} > "$run/haproxy.cfg"
haproxy -c -q -f "$run/haproxy.cfg"
haproxy -db -f "$run/haproxy.cfg" >"$run/haproxy.log" 2>&1 &
pids+=($!)
haproxy_pid=$!
# It makes its stats socket once its frontends are bound.
for _ in $(seq 100); do
  [ -S "$run/haproxy.sock" ] && break
  kill -0 "$haproxy_pid" 2>/dev/null || { cat "$run/haproxy.log"; echo "HAProxy exited"; exit 1; }
  sleep 0.1
done
[ -S "$run/haproxy.sock" ] || { cat "$run/haproxy.log"; echo "HAProxy did not start within 10 s"; exit 1; }
for r in "${replicas[@]}"; do
  echo "   nhs-trust-a $r: Exchange 127.0.0.1:${r_client[$r]}, Peer 127.0.0.1:${r_peer[$r]}, admin 127.0.0.1:${r_admin[$r]}; store PostgreSQL, replicaId $r"
done
echo "   HAProxy $(haproxy -v | sed -n -E '1s/HAProxy version ([^ ]+).*/\1/p'), TCP mode: nhs-trust-a's systems at 127.0.0.1:$lb_client, its peers at 127.0.0.1:$lb_peer"
for o in council-a police-a; do
  echo "   $o: one gateway, Exchange 127.0.0.1:${client_port[$o]}, Peer 127.0.0.1:${peer_port[$o]}; store SQLite in data/$o"
done
echo

# The four flows: sender org and system, recipient org and system, and
# what each record is.
flows=(A B C D)
declare -A f_org=([A]=nhs-trust-a [B]=council-a [C]=police-a [D]=nhs-trust-a)
declare -A f_sys=([A]=ehr [B]=care [C]=rms [D]=pas)
declare -A f_to=([A]=council-a [B]=nhs-trust-a [C]=nhs-trust-a [D]=police-a)
declare -A f_to_sys=([A]=care [B]=ehr [C]=ehr [D]=rms)
declare -A f_args=(
  [A]="--type discharge_summary --caveat PERSONAL --purpose direct_care --content-type application/fhir+json"
  [B]="--type care_plan --caveat PERSONAL --purpose direct_care"
  [C]="--type safeguarding_referral --purpose safeguarding --end-user pc.jones"
  [D]="--type safeguarding_referral --purpose safeguarding --end-user dr.patel")
mkdir -p "$run/sent" "$run/fetched"
for f in "${flows[@]}"; do : > "$run/sent/$f"; done
: > "$run/sent/retried"
for box in council-a.care police-a.rms nhs-trust-a.ehr; do : > "$run/fetched/$box"; : > "$run/fetched/$box.unsure"; done

# send_flow F: submits the flow's records one after another, about ten a
# second (so that the kill below lands mid-run in every flow). Record N has
# idempotency key F-N; a Submit that fails (a replica killed under it) is
# sent again with the same key until acknowledged, for up to 30 s, so a
# record stored by a replica that died before answering comes back as the
# first receipt rather than a second record. Writes "N record-id state
# duplicate" for each acknowledged record to sent/F, the key of each Submit
# sent again to sent/retried, and what went wrong to sent/F.errors.
send_flow() {
  local f="$1" n out deadline
  # shellcheck disable=SC2086  # f_args holds several options
  for n in $(seq "$per_flow"); do
    kill -0 $$ 2>/dev/null || return 0  # the demo is gone (SIGKILLed)
    deadline=$((SECONDS + 30))
    until out=$(printf '{"flow":"%s","n":%d}' "$f" "$n" |
        client "${f_org[$f]}" "${f_sys[$f]}" submit --to "${f_to[$f]}" --to-system "${f_to_sys[$f]}" \
          --classification OFFICIAL-SENSITIVE --idempotency-key "$f-$n" ${f_args[$f]} 2>&1); do
      echo "$f-$n" >> "$run/sent/retried"
      echo "$f-$n: $out" >> "$run/sent/$f.errors"
      if [ $SECONDS -ge $deadline ]; then echo "$f-$n" >> "$run/sent/$f.unacknowledged"; continue 2; fi
      sleep 0.2
    done
    echo "$n $(field record_id <<<"$out") $(field state <<<"$out") $(field duplicate <<<"$out")" >> "$run/sent/$f"
    sleep 0.1
  done
}

# receive ORG SYS: fetches and acknowledges SYS's mailbox until
# fetched/stop exists and the mailbox is empty. The ids of each successful
# `fetch --ack` go to fetched/ORG.SYS; those of one that failed (its
# acknowledgement may or may not have been stored) to fetched/ORG.SYS.unsure:
# such records are fetched again if the acknowledgement was lost, which is
# a redelivery to the system, not a duplicate.
receive() {
  local org="$1" sys="$2" out ids
  while kill -0 $$ 2>/dev/null; do  # while the demo runs
    if out=$(client "$org" "$sys" fetch --ack --max 50 2>>"$run/fetched/$org.$sys.errors"); then
      ids=$(grep -o '"record_id":"[0-9a-f]*"' <<<"$out" | cut -d'"' -f4 || true)
      [ -z "$ids" ] || echo "$ids" >> "$run/fetched/$org.$sys"
      [ -n "$ids" ] || [ ! -e "$run/fetched/stop" ] || return 0
    else
      ids=$(grep -o '"record_id":"[0-9a-f]*"' <<<"$out" | cut -d'"' -f4 || true)
      [ -z "$ids" ] || echo "$ids" >> "$run/fetched/$org.$sys.unsure"
    fi
    [ -n "$ids" ] || sleep 0.3
  done
}

# lb_sessions SERVER: connections HAProxy has open to SERVER now, from the
# exchange and the peer frontend (scur in its `show stat`).
lb_sessions() {
  python3 - "$run/haproxy.sock" "$1" <<'PY' 2>/dev/null || echo "? ?"
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
s.connect(sys.argv[1])
s.sendall(b"show stat\n")
data = b""
while chunk := s.recv(65536):
    data += chunk
scur = {}
for line in data.decode().splitlines():
    f = line.split(",")
    if len(f) > 4 and f[1] == sys.argv[2]:
        scur[f[0]] = f[4]
print(scur.get("exchange", "?"), scur.get("peer", "?"))
PY
}

acknowledged() { cat "$run"/sent/[A-D] | wc -l; }
slowest() {  # the fewest records any flow has had acknowledged
  local f n min=$per_flow
  for f in "${flows[@]}"; do n=$(wc -l <"$run/sent/$f"); [ "$n" -ge "$min" ] || min=$n; done
  echo "$min"
}
admin_get() {  # PORT PATH: the HTTP status of a gateway's admin PATH, then the body
  python3 - "http://127.0.0.1:$1$2" <<'PY'
import sys, urllib.error, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=5) as r:
        code, body = r.status, r.read()
except urllib.error.HTTPError as e:
    code, body = e.code, e.read()
except OSError:
    code, body = "unreachable", b""
print(code)
sys.stdout.write(body.decode())
PY
}
metric() {  # PORT PREFIX: the sum of the gateway's metric lines starting with PREFIX
  admin_get "$1" /metrics | awk -v p="$2" 'index($0, p) == 1 { s += $NF } END { printf "%d", s }'
}
replica_counts() {  # prints, for each live replica, the Submits and deliveries it took
  local r
  for r in "${replicas[@]}"; do
    kill -0 "${pid_of[nhs-trust-a-$r]}" 2>/dev/null || continue
    admin_get "${r_admin[$r]}" /metrics | awk -v r="$r" -v systems="the trust's systems" '
      /^gatehouse_records_total\{direction="outbound",outcome="submitted"/ { s += $NF }
      /^gatehouse_records_total\{direction="inbound",outcome="received"/ { in_ += $NF }
      /^gatehouse_records_total\{direction="inbound",outcome="duplicate"/ { d += $NF }
      END { printf "   %s: %d Submits from %s, %d records received from peers, %d deliveries answered as duplicates\n", r, s, systems, in_, d }'
  done
}

total=$((4 * per_flow))
echo "== Records both ways: four flows of $per_flow records each, sent at once"
for f in "${flows[@]}"; do
  echo "   $f: ${f_org[$f]}/${f_sys[$f]} -> ${f_to[$f]}/${f_to_sys[$f]}: ${f_args[$f]}"
  send_flow "$f" &
  loops+=($!)
done
for pair in council-a:care police-a:rms nhs-trust-a:ehr; do
  receive "${pair%%:*}" "${pair#*:}" &
  loops+=($!)
done
echo "   the recipients' systems (council-a/care, police-a/rms, nhs-trust-a/ehr) fetch and acknowledge meanwhile"
echo

kill_at=$((per_flow / 3))
deadline=$((SECONDS + 60))
while [ "$(slowest)" -lt "$kill_at" ] && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
read -r conns_exchange conns_peer < <(lb_sessions "$victim")
held=$(pg_sql "SELECT count(*) FROM outbox WHERE state = 1 AND lease_owner = '$victim'")
queued=$(pg_sql "SELECT count(*) FROM outbox WHERE state = 1")
counts=$(replica_counts)
acked_then=$(acknowledged)
kill -KILL "${pid_of[nhs-trust-a-$victim]}"
wait "${pid_of[nhs-trust-a-$victim]}" 2>/dev/null || true  # reaped quietly
killed_at=$SECONDS
echo "== SIGKILL nhs-trust-a $victim mid-run ($acked_then of $total records acknowledged then)"
echo "   what each replica had handled:"
echo "$counts"
echo "   killed pid ${pid_of[nhs-trust-a-$victim]}; just before, HAProxy had connections open to it"
echo "   ($conns_exchange from the trust's systems, $conns_peer from peer gateways),"
echo "   and the trust's outbox held $queued undelivered record(s), $held of them claimed by $victim"
deadline=$((SECONDS + 20))
while [ "$(pg_sql "SELECT count(*) FROM outbox WHERE state = 1 AND lease_owner = '$victim'")" != 0 ] &&
      [ $SECONDS -lt $deadline ]; do sleep 0.2; done
left=$(pg_sql "SELECT count(*) FROM outbox WHERE state = 1 AND lease_owner = '$victim'")
if [ "$held" != 0 ]; then
  echo "   its claims: $left left after $((SECONDS - killed_at)) s (the others take a dead replica's rows once its 3 s leases end)"
fi
for _ in $(seq 50); do [ "$(grep -c "$victim is DOWN" "$run/haproxy.log")" -lt 2 ] || break; sleep 0.1; done
grep -h "$victim is DOWN" "$run/haproxy.log" | sed -E 's/^.*(Server [^ ]+ is DOWN)[^,]*,? ?(reason: [^,]*)?.*/   HAProxy: \1 (\2)/' | head -2 || true
echo "   the senders and recipients go on through HAProxy"
echo

echo "== Sending finishes"
for p in "${loops[@]:0:4}"; do
  for _ in $(seq 900); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
done
retried=$(sort -u "$run/sent/retried" | wc -l)
dups=$(cat "$run"/sent/[A-D] | awk '$4 == "true"' | wc -l)
echo "   $(acknowledged) of $total records acknowledged; $retried Submit(s) failed and were sent again with their key, $dups of them answered with the receipt of the first"
queued_at_ack=$(cat "$run"/sent/[A-D] | awk '$3 == "RECORD_STATE_QUEUED"' | wc -l)
echo "   $queued_at_ack acknowledged as queued (their delivery went on from the outbox)"
echo "   what each live replica handled in all:"
replica_counts
echo

echo "== Outboxes drain"
drained=1
for o in nhs-trust-a council-a police-a; do
  sys=${main_system[$o]}
  depth="?"
  deadline=$((SECONDS + 30))
  while [ $SECONDS -lt $deadline ]; do
    out=$(client "$o" "$sys" status 2>/dev/null) || { sleep 0.3; continue; }
    depth=$(field outbox_depth <<<"$out"); depth=${depth:-0}  # a zero is left out of the JSON
    [ "$depth" = 0 ] && break
    sleep 0.3
  done
  echo "   $o: outbox depth $depth"
  [ "$depth" = 0 ] || drained=0
done
echo "   nhs-trust-a's outbox in PostgreSQL: $(pg_sql 'SELECT count(*) FROM outbox WHERE state = 1') undelivered, $(pg_sql 'SELECT count(*) FROM outbox WHERE lease_owner IS NOT NULL') claimed"
echo

# The recipients have everything acknowledged (or time is up): they fetch
# until their mailboxes are empty and stop.
fetched_count() { cat "$run/fetched/$1" "$run/fetched/$1.unsure" | sort -u | wc -l; }
deadline=$((SECONDS + 20))
while [ $SECONDS -lt $deadline ]; do
  [ "$(fetched_count council-a.care)" -ge "$(wc -l <"$run/sent/A")" ] &&
    [ "$(fetched_count police-a.rms)" -ge "$(wc -l <"$run/sent/D")" ] &&
    [ "$(fetched_count nhs-trust-a.ehr)" -ge "$(cat "$run/sent/B" "$run/sent/C" | wc -l)" ] && break
  sleep 0.2
done
touch "$run/fetched/stop"
for p in "${loops[@]:4}"; do
  for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -TERM "$p" 2>/dev/null || true
done

echo "== What the recipients fetched, against what was acknowledged"
declare -A f_box=([A]=council-a.care [B]=nhs-trust-a.ehr [C]=nhs-trust-a.ehr [D]=police-a.rms)
printf '   %-32s %12s %13s %5s %11s\n' flow acknowledged "fetched once" lost duplicated
bad=0
for f in "${flows[@]}"; do
  box=${f_box[$f]}
  acked=0 once=0 lost=0 twice=0
  while read -r _ id _ _; do
    acked=$((acked + 1))
    n=$(grep -c -x "$id" "$run/fetched/$box" || true)
    if [ "$n" = 0 ] && grep -q -x "$id" "$run/fetched/$box.unsure"; then n=1; fi
    case "$n" in 0) lost=$((lost + 1)) ;; 1) once=$((once + 1)) ;; *) twice=$((twice + 1)) ;; esac
  done < "$run/sent/$f"
  lost=$((lost + per_flow - acked))  # never acknowledged within 30 s of retrying
  printf '   %-32s %12s %13s %5s %11s\n' "${f_org[$f]}/${f_sys[$f]} -> ${f_to[$f]}/${f_to_sys[$f]}" \
    "$acked/$per_flow" "$once" "$lost" "$twice"
  [ "$lost" = 0 ] && [ "$twice" = 0 ] || bad=1
done
# Anything fetched that no Submit was acknowledged for would be a second
# record made by a retried Submit.
cut -d' ' -f2 "$run"/sent/[A-D] | sort -u > "$run/sent/all-ids"
extra=$(cat "$run"/fetched/*.care "$run"/fetched/*.rms "$run"/fetched/*.ehr "$run"/fetched/*.unsure |
  sort -u | comm -23 - "$run/sent/all-ids" | wc -l)
echo "   records fetched that no acknowledged Submit made: $extra"
[ "$extra" = 0 ] || bad=1
echo

echo "== Audit: each gateway's log as it reports it (admin /metrics, /readyz), and receivers' proofs"
sleep 1.5  # a checkpoint (every 500 ms) and a cosigning round (every second)
for n in $(printf '%s\n' "${!pid_of[@]}" | sort); do
  kill -0 "${pid_of[$n]}" 2>/dev/null || { echo "   $n: killed"; continue; }
  case "$n" in nhs-trust-a-*) port=${r_admin[${n#nhs-trust-a-}]} ;; *) port=${admin_port[$n]} ;; esac
  readyz=$(admin_get "$port" /readyz)
  echo "   $n: $(metric "$port" 'gatehouse_audit_entries ') audit entries; /readyz ${readyz%%$'\n'*}"
  grep '^ALERT' <<<"$readyz" | sed 's/^/      /' || true  # a peer's log found inconsistent
done
echo "   the receivers' audit proofs (the last record of each flow, as its sender's system asks):"
for f in "${flows[@]}"; do
  id=$(tail -1 "$run/sent/$f" | cut -d' ' -f2)
  [ -n "$id" ] || continue
  if out=$(client "${f_org[$f]}" "${f_sys[$f]}" status "$id" --proof 2>&1); then ok="verified"; else ok="NOT verified"; bad=1; fi
  echo "   $f: ${f_to[$f]}'s entry for $id: $ok ($(sed -n -E 's/.*"detail":"([^"]*)".*/\1/p' <<<"$out" | head -1))"
done
# The trust's one log, whichever replica audited what, verified offline
# from genesis where it is kept (a read-only snapshot, while the replicas
# still run), with the other organisations' cosignatures.
printf -- "   nhs-trust-a's log in PostgreSQL (auditctl verify --dsn): "
if ! "$bin/tools/auditctl/auditctl" verify --dsn "$PG_DSN" --key "$run/keys/nhs-trust-a.audit.pub" \
    --cosigner "$run/keys/council-a.cosigner.pub" --cosigner "$run/keys/police-a.cosigner.pub" 2>&1 | head -1; then
  bad=1
fi
echo

echo "The demo took $((SECONDS - start)) s. Logs: $run/*.log; HAProxy: $run/haproxy.cfg; PostgreSQL: $run/pg/server.log"
if [ "$bad" = 0 ] && [ "$drained" = 1 ]; then
  echo "RESULT: every acknowledged record was fetched exactly once, nothing else was fetched, and the outboxes drained"
else
  echo "RESULT: FAILED: records were lost or duplicated, or an outbox did not drain"
  exit 1
fi
