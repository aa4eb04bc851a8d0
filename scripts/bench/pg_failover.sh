#!/usr/bin/env bash
# Failover drill for the database of docs/SCALING.md: the sending
# organisation of scripts/bench.sh (council-a) as two gatehoused replicas
# behind HAProxy (scripts/bench/replicas.sh) on a PostgreSQL pair that
# pg_auto_failover manages (a monitor, a primary and a secondary confirming
# commits synchronously, all on loopback), the receiver (nhs-trust-a) one
# gateway on SQLite. Systems submit records without pause, each with an
# idempotency key and sent again until acknowledged (as a real system
# must); meanwhile the database fails over twice:
#
#   planned    `pg_autoctl perform failover` (a switchover);
#   unplanned  once the old primary is back as a secondary, the current
#              primary's node is killed (SIGKILL of its pg_autoctl keeper,
#              then of its postmaster): the monitor notices and promotes
#              the secondary.
#
# Then it checks that every acknowledged record was delivered and is
# fetched by the recipient exactly once, that nothing else is fetched, and
# that the outbox drains; and reports how many Submits failed, with what,
# and for how long. Exit 0 if nothing acknowledged was lost or duplicated,
# 1 otherwise. Not a test of the suite: it needs root (pg_autoctl runs as
# the postgres user), installs postgresql-15-auto-failover,
# pg-auto-failover-cli and haproxy when missing, and takes about 3 minutes.
#
#   scripts/bench/pg_failover.sh [--build-dir DIR] [--senders N] [--load R] [--keep]
#
# --build-dir (default ./build): gatehoused, gatehouse, ghkey, auditctl,
# policyc and ghbench built there. --senders N (default 4): submitting
# loops at once. --load R (default 200; 0: none): ghbench submits R
# records a second besides, to another system of the recipient, so that
# write groups are in flight when the database fails; its records and
# failures are not checked (it is stopped when sending stops).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
here="$root/scripts/bench"
bin="${GATEHOUSE_BUILD_DIR:-$root/build}"
senders=4 load=200 keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) bin="$2"; shift 2 ;;
    --senders) senders="$2"; shift 2 ;;
    --load) load="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    *) sed -n '2,/^set -euo/p' "$0" | sed '$d' >&2; exit 2 ;;
  esac
done
bin="$(realpath -m "$bin")"
[ "$(id -u)" -eq 0 ] || { echo "failover: run as root (pg_autoctl runs as postgres)" >&2; exit 2; }
need=()
command -v pg_autoctl >/dev/null || need+=(pg-auto-failover-cli)
[ -e /usr/lib/postgresql/15/lib/pgautofailover.so ] || need+=(postgresql-15-auto-failover)
command -v haproxy >/dev/null || need+=(haproxy)
if [ ${#need[@]} -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
fi

# shellcheck source=lib.sh
. "$here/lib.sh"
# shellcheck source=gateways.sh
. "$here/gateways.sh"
# shellcheck source=replicas.sh
. "$here/replicas.sh"

run="$(mktemp -d /var/tmp/gatehouse-failover.XXXXXX)"
chmod 0755 "$run"
ha="$run/pg"
mkdir -p "$ha/run"
chmod 0700 "$ha" "$ha/run"
chown -R postgres: "$ha"
pg_bin=/usr/lib/postgresql/15/bin
keepers=()  # pg_autoctl run, one a node
loops=()    # the submitting systems
cleanup() {
  local p
  for p in "${loops[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  rep_stop || true
  # pg_autoctl stops its Postgres when it stops (SIGTERM: a fast shutdown).
  for p in "${keepers[@]}"; do stop_pid "$p"; done
  for d in "$ha"/node1 "$ha"/node2 "$ha"/monitor; do
    [ -f "$d/postmaster.pid" ] || continue
    runuser -u postgres -- "$pg_bin/pg_ctl" -D "$d" -m immediate -w -t 20 stop >/dev/null 2>&1 || true
  done
  if [ "$keep" = 1 ]; then echo "failover: run directory kept: $run"; else rm -rf "$run"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# as_pg COMMAND...: as the postgres user, with pg_autoctl's state in $ha.
# In the background as `as_pg exec COMMAND... &`, so that $! is runuser's
# pid (runuser passes SIGTERM on to the command).
as_pg() {
  local e=()
  if [ "$1" = exec ]; then e=(exec); shift; fi
  "${e[@]}" runuser -u postgres -- env PATH="$pg_bin:$PATH" HOME="$ha" XDG_CONFIG_HOME="$ha/config" \
    XDG_DATA_HOME="$ha/share" XDG_RUNTIME_DIR="$ha/run" "$@"
}
# until_true SECONDS WHAT COMMAND...: runs COMMAND every 0.5 s until it succeeds.
until_true() {
  local limit="$1" what="$2" deadline=$((SECONDS + $1)); shift 2
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || { echo "failover: $what: not within $limit s" >&2; return 1; }
    sleep 0.5
  done
}
# state: "name reported-state assigned-state" of each data node, from the
# monitor's table (its last two columns).
state() {
  as_pg pg_autoctl show state --pgdata "$ha/monitor" 2>/dev/null |
    awk -F'|' 'NF > 3 && $1 !~ /Name/ { gsub(/ /, ""); print $1, $(NF - 1), $NF }'
}
pair_ready() {  # a primary and a secondary, each as assigned
  local s
  s="$(state)"
  grep -q "primary primary" <<<"$s" && grep -q "secondary secondary" <<<"$s"
}
primary() { state | awk '$2 == "primary" && $3 == "primary" { print $1 }'; }
# named_primary: the primary's name, asked again (for up to 30 s) while the
# monitor's table names none (a read between two of its updates).
named_primary() {
  local n="" deadline=$((SECONDS + 30))
  until n="$(primary)"; [ -n "$n" ]; do
    [ $SECONDS -lt $deadline ] || { echo "failover: the monitor names no primary" >&2; return 1; }
    sleep 0.5
  done
  echo "$n"
}
node1_single() { state | grep -q '^node1 single single'; }
taken_over() {  # NODE: NODE is the primary, alone or with a secondary
  [ "$(primary)" = "$1" ] || state | grep -q "^$1 wait_primary wait_primary"
}
acked_at_least() { [ "$(acked)" -ge "$1" ]; }
# tree PID: PID and all its descendants.
tree() {
  local c
  echo "$1"
  for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do tree "$c"; done
}
psql_node() {  # NODE SQL: on that node's gatehouse database
  "$pg_bin/psql" "host=localhost port=${node_port[$1]} dbname=gatehouse user=postgres sslmode=disable" \
    -X -q -A -t -v ON_ERROR_STOP=1 -c "$2"
}

echo "== PostgreSQL pair under pg_auto_failover ($(pg_autoctl --version | head -1))"
read -r monitor_port p1 p2 < <(free_ports 3)
declare -A node_port=([node1]=$p1 [node2]=$p2)
as_pg exec pg_autoctl create monitor --pgdata "$ha/monitor" --pgport "$monitor_port" \
  --hostname localhost --auth trust --no-ssl --run >"$ha/monitor.log" 2>&1 &
keepers+=($!)
monitor_uri() {
  as_pg pg_autoctl show uri --pgdata "$ha/monitor" --json |
    python3 -c 'import json, sys
for u in json.load(sys.stdin):
    v = [str(x) for x in u.values()]
    if "monitor" in v:
        print(next(x for x in v if x.startswith("postgres://")))'
}
until_true 90 "the monitor" monitor_uri
monitor_uri="$(monitor_uri)"
for n in node1 node2; do
  as_pg exec pg_autoctl create postgres --pgdata "$ha/$n" --pgport "${node_port[$n]}" --name "$n" \
    --hostname localhost --auth trust --no-ssl --dbname gatehouse --monitor "$monitor_uri" \
    --run >"$ha/$n.log" 2>&1 &
  keepers+=($!)
  # The first node becomes the primary (single) before the second joins.
  if [ "$n" = node1 ]; then until_true 90 "node1 as primary" node1_single; fi
done
until_true 180 "a primary and a synchronous secondary" pair_ready
p="$(named_primary)"
psql_node "$p" "CREATE ROLE gatehouse LOGIN" >/dev/null
psql_node "$p" "ALTER DATABASE gatehouse OWNER TO gatehouse" >/dev/null
echo "   $(state | tr '\n' ';' | sed 's/;$//'); primary $p"
echo "   on the primary: synchronous_standby_names = $(psql_node "$p" 'SHOW synchronous_standby_names'), synchronous_commit = $(psql_node "$p" 'SHOW synchronous_commit')"
dsn="host=localhost,localhost port=$p1,$p2 dbname=gatehouse user=gatehouse sslmode=disable target_session_attrs=read-write connect_timeout=3"
echo "   the replicas' DSN: $dsn"

echo "== Gateways"
pki="$run/pki"
"$root/certs/gen-dev-pki.sh" "$pki" >/dev/null
rep_start "$run/gw" "$pki" 2 "$dsn"
# shellcheck disable=SC2154  # gw_client: set by gw_write_config (gateways.sh)
recv_port=${gw_client[$GW_RECEIVER]}
echo "   $GW_SENDER: 2 replicas behind HAProxy at 127.0.0.1:$REP_CLIENT_PORT; $GW_RECEIVER at 127.0.0.1:$recv_port"

cli() {  # PORT CERT ARGS...: the gatehouse CLI as system CERT, 30 s at most
  local port="$1" cert="$2"; shift 2
  timeout 30 "$bin/tools/gatehouse/gatehouse" --gateway "127.0.0.1:$port" \
    --cert "$pki/$cert.crt" --key "$pki/$cert.key" --ca "$pki/ca.crt" "$@"
}
json_field() {  # NAME: the field of the JSON line on stdin
  python3 -c 'import json, sys
o = json.loads(sys.stdin.readline() or "{}")
print(o.get(sys.argv[1], o.get("receipt", {}).get(sys.argv[1], "")))' "$1"
}
mkdir -p "$run/sent"
# lines FILES...: the lines of the files that exist, in all.
lines() { cat "$@" 2>/dev/null | wc -l || true; }
acked() { lines "$run"/sent/*.acked; }
# send S: submits records S-1, S-2... until $run/stop exists; each is sent
# again with its key until acknowledged (for up to 120 s). Writes "key id
# duplicate" for each acknowledged record to sent/S.acked, each failure to
# sent/S.errors as "seconds-since-start key error", and a key given up on
# to sent/S.unacknowledged.
send() {
  local s="$1" n=0 out key deadline
  : >"$run/sent/$s.acked"
  while [ ! -e "$run/stop" ]; do
    n=$((n + 1)) key="$s-$n" deadline=$((SECONDS + 120))
    until out=$(printf '{"n":"%s"}' "$key" | cli "$REP_CLIENT_PORT" "$GW_CLIENT_CERT" submit \
        --to "$GW_RECEIVER" --to-system ehr --type care_plan --classification OFFICIAL-SENSITIVE \
        --caveat PERSONAL --purpose direct_care --idempotency-key "$key" 2>&1); do
      echo "$SECONDS $key $(tr '\n' ' ' <<<"$out" | cut -c1-200)" >>"$run/sent/$s.errors"
      [ $SECONDS -lt $deadline ] || { echo "$key" >>"$run/sent/$s.unacknowledged"; continue 2; }
      sleep 0.2
    done
    echo "$key $(json_field record_id <<<"$out") $(json_field duplicate <<<"$out")" >>"$run/sent/$s.acked"
  done
}
for s in $(seq "$senders"); do send "s$s" & loops+=($!); done
start=$SECONDS
echo "== $senders systems submitting, each record until acknowledged"
if [ "$load" != 0 ]; then
  timeout 900 "$bin/tools/ghbench/ghbench" --mode submit --target "127.0.0.1:$REP_CLIENT_PORT" \
    --to "$GW_RECEIVER" --to-system pas --type care_plan --classification OFFICIAL-SENSITIVE \
    --caveat PERSONAL --purpose direct_care --cert "$pki/$GW_CLIENT_CERT.crt" \
    --key "$pki/$GW_CLIENT_CERT.key" --ca "$pki/ca.crt" --payload 1024 --concurrency 64 \
    --channels 4 --rate "$load" --warmup 0 --duration 600 --timeout-ms 15000 --json \
    >"$run/ghbench.json" 2>"$run/ghbench.txt" &
  loops+=($!)
  ghbench_pid=$!
  echo "   and ghbench at $load records a second to $GW_RECEIVER/pas (not checked)"
fi
# Some records acknowledged before the first failover (each system sends one
# at a time, a CLI process a record: a few a second on a loaded machine).
until_true 180 "records acknowledged" acked_at_least 20
echo "   $(acked) acknowledged after $((SECONDS - start)) s"

echo "== Planned failover: pg_autoctl perform failover (primary $(primary))"
t0=$SECONDS
as_pg timeout 120 pg_autoctl perform failover --pgdata "$ha/monitor" >"$ha/failover1.log" 2>&1 ||
  { tail -5 "$ha/failover1.log"; echo "failover: perform failover failed" >&2; exit 1; }
echo "   done in $((SECONDS - t0)) s; primary now $(primary); $(acked) acknowledged"
until_true 180 "the old primary back as a secondary" pair_ready
echo "   the pair is whole again after $((SECONDS - t0)) s: $(state | tr '\n' ';' | sed 's/;$//')"
sleep 5

victim="$(named_primary)"
echo "== Unplanned failover: $victim killed (its pg_autoctl processes, then its postmaster, SIGKILL)"
vpid="$(head -1 "$ha/$victim/postmaster.pid")"
vkeeper=${keepers[1]}
[ "$victim" = node2 ] && vkeeper=${keepers[2]}
for p in $(tree "$vkeeper"); do kill -KILL "$p" 2>/dev/null || true; done
kill -KILL "$vpid" 2>/dev/null || true
wait "$vkeeper" 2>/dev/null || true  # reaped quietly
t1=$SECONDS
acked_at_kill=$(acked)
other=node1
[ "$victim" = node1 ] && other=node2
until_true 120 "$other promoted" taken_over "$other"
echo "   $other took over after $((SECONDS - t1)) s: $(state | tr '\n' ';' | sed 's/;$//')"
echo "   on $other now: synchronous_standby_names = '$(psql_node "$other" 'SHOW synchronous_standby_names')' (alone, it confirms commits by itself)"
sleep 15
touch "$run/stop"
[ -z "${ghbench_pid:-}" ] || kill -TERM "$ghbench_pid" 2>/dev/null || true
for p in "${loops[@]}"; do
  for _ in $(seq 1300); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
done
loops=()
total=$(acked)
echo "   sending stopped: $total records acknowledged ($((total - acked_at_kill)) after the kill)"

echo "== Checks"
deadline=$((SECONDS + 60))
while [ "$(psql_node "$other" "SELECT count(*) FROM outbox WHERE state = 1" 2>/dev/null || echo x)" != 0 ]; do
  [ $SECONDS -lt $deadline ] || break
  sleep 0.5
done
queued=$(psql_node "$other" "SELECT count(*) FROM outbox WHERE state = 1" || echo "?")
rows=$(psql_node "$other" "SELECT count(*) FROM outbox" || echo "?")
echo "   the outbox on $other: $rows records, $queued undelivered"
: >"$run/fetched"
for _ in $(seq 200); do
  out=$(cli "$recv_port" "$GW_RECEIVER/ehr" fetch --ack --max 100 2>>"$run/fetch.errors") || { sleep 0.5; continue; }
  ids=$(grep -o '"record_id":"[0-9a-f]*"' <<<"$out" | cut -d'"' -f4 || true)
  [ -n "$ids" ] || break
  echo "$ids" >>"$run/fetched"
done
fetched=$(wc -l <"$run/fetched")
cut -d' ' -f2 "$run"/sent/*.acked | sort >"$run/acked.ids"
lost=$(sort -u "$run/fetched" | comm -23 "$run/acked.ids" - | wc -l)
twice=$(sort "$run/fetched" | uniq -d | wc -l)
extra=$(sort -u "$run/fetched" | comm -13 "$run/acked.ids" - | wc -l)
dups=$(awk '$3 == "true"' "$run"/sent/*.acked | wc -l)
failed=$(lines "$run"/sent/*.errors)
unacked=$(lines "$run"/sent/*.unacknowledged)
echo "   acknowledged $total; fetched $fetched; acknowledged but not fetched (lost) $lost; fetched twice $twice; fetched but never acknowledged $extra"
echo "   $failed Submits failed and were sent again ($dups answered with the first receipt); $unacked never acknowledged within 120 s"
if [ "$failed" -gt 0 ]; then
  echo "   failures, by second since start, and why (first of each kind):"
  awk -v s="$start" '{ t = $1 - s; if (first == "") first = t; if (t < first) first = t; if (t > last) last = t }
    END { printf "     failures from %d s to %d s after sending began\n", first, last }' "$run"/sent/*.errors
  cut -d' ' -f3- "$run"/sent/*.errors | cut -c1-160 | sed -E 's/port [0-9]+/port N/; s/[0-9a-f]{16,}/…/g' |
    sort | uniq -c | sort -rn | head -5 | sed 's/^ */     /'
fi
if [ "$lost" = 0 ] && [ "$twice" = 0 ] && [ "$unacked" = 0 ] && [ "$queued" = 0 ]; then
  echo "RESULT: through a planned and an unplanned failover, every acknowledged record was fetched exactly once and the outbox drained"
else
  echo "RESULT: FAILED: records lost, duplicated or not acknowledged, or the outbox did not drain"
  exit 1
fi
