#!/usr/bin/env bash
# End-to-end benchmark of Gatehouse beside a bare gRPC echo server and nginx,
# in one run on this machine (issue 7), and of one organisation as replicas
# on PostgreSQL beside it on SQLite (issue 19). Writes
# docs/benchmarks/e2e.{json,md}.
#
#   scripts/bench.sh [--duration S] [--warmup S] [--concurrency N] [--channels N]
#                    [--payload BYTES] [--nginx-workers N|auto]
#                    [--build-dir DIR] [--out-dir DIR] [--no-build] [--keep]
#                    [--skip-components] [--build-components] [--diagnose]
#                    [--skip-replicas | --replicas-only]
#
# Arms, each with ghbench (tools/ghbench) over mutual TLS:
#   a      ghbench -> echo_server                          echo, 100 B
#   b      ghbench -> nginx (mTLS gRPC proxy) -> echo_server  echo, 100 B
#   a_relay      ghbench -> echo_server --relay-to -> echo_server  echo, 100 B:
#                the two mTLS hops of (b) and (c) on our own gRPC stack, no work
#   a_relay_half the same, 1 KiB, open loop at c_half's rate (after the c arms)
#   a_relay_idle the same, 1 KiB, open loop at 50 calls/s: two hops' latency floor
#   c_1k   ghbench -> gatehoused (sender) -> gatehoused (receiver), Submit, 1 KiB
#   c_64k  the same, 64 KiB
#   c_half the same at 1 KiB, open loop at half of c_1k's throughput
#   c_idle the same at 1 KiB, open loop at 50 calls/s: the latency floor
#   c_1k_nofsync  (--diagnose only) c_1k with fsync made a no-op (libeatmydata)
#   c_half_nofsync, c_idle_nofsync  (--diagnose only) c_half and c_idle likewise:
#                 the latency the path would have if no durable write were waited on
#   c_lb_sqlite  ghbench -> HAProxy (TCP) -> gatehoused on SQLite -> gatehoused,
#                Submit 1 KiB: c_1k through the load balancer, the comparison
#   c_pg_1, c_pg_2, c_pg_3  the same with the sending organisation as 1, 2
#                and 3 gatehoused replicas sharing one PostgreSQL 15 database
#                (scripts/bench/replicas.sh says why the sender); one server
#                for the run (scripts/lib/pg.sh), a fresh database an arm
# all at --concurrency in flight (default 64) over --channels connections
# (default 1); the servers' CPU and peak RSS
# are watched. Then every component benchmark found in the build directory
# (executables named *_bench, *_benchmark or bench_*) runs, if any;
# --build-components first builds every such target CMake knows (a target
# that does not compile is skipped). To profile the gateways under the load of
# arm (c): scripts/bench/profile.sh.
# The replica arms (skipped by --skip-replicas; --replicas-only runs only
# them) spread their calls over BENCH_REPLICA_CHANNELS connections (default
# 6, so 1, 2 and 3 replicas get equal shares from HAProxy's round robin),
# closed loop at --concurrency, or open loop at BENCH_REPLICA_RATE calls/s
# if set. Besides ghbench's figures each measures what a record costs
# (scripts/bench/replica_costs.py), over the whole load (warm-up included)
# divided by the records the senders counted: CPU of each replica, the
# receiver, HAProxy and every PostgreSQL server process; database
# transactions (pg_stat_database), WAL bytes (pg_current_wal_lsn), WAL
# syncs (pg_stat_wal) and the senders' store group commits. They need
# PostgreSQL 15's server and haproxy (installed when missing, as root).
# BENCH_PG_STATEMENTS=1 (a diagnostic: it adds the extension's own cost)
# also counts and times every statement the database ran
# (pg_stat_statements): statements a record, and the time groups waited
# for the commit order lock.
#
# Defaults: 10 s per arm after 2 s of warm-up, in a Release build in
# ./build-bench; the arms take about 2.5 minutes, the replica arms about 1
# more, the component benchmarks found here about 2 more (5.5 minutes in
# all on 2 cores; with one-second arms and no warm-up, as scripts/smoke.sh
# runs it, under a minute). Run as root on Debian 12: what is missing
# (build packages, nginx-light, jq, python3, haproxy, postgresql-15) is
# installed with apt-get.
# Environment: BENCH_JOBS (build parallelism, default 1),
# BENCH_COMPONENT_TIMEOUT (seconds each, default 90), BENCH_SUBMIT_LABELS
# (ghbench label flags of the (c) arms; default: a discharge summary,
# OFFICIAL-SENSITIVE, PERSONAL, direct_care, nhs-trust-a to council-a, as in
# scripts/demo.sh), BENCH_ARGS_<component> (see below), BENCH_GATEWAY_HOOK
# (see scripts/bench/gateways.sh), BENCH_NGINX_PEER (default
# ../shared/peers/nginx: start.sh and its config template, only read),
# GATEHOUSE_BUILD_DIR (as --build-dir).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
here="$root/scripts/bench"
command_line="scripts/bench.sh $*"
# The settings that change what the replica arms measure go into the record.
for v in BENCH_REPLICA_RATE BENCH_REPLICA_CHANNELS BENCH_PG_STATEMENTS GW_PRELOAD; do
  [ -z "${!v:-}" ] || command_line="$v=${!v} $command_line"
done

duration=10 warmup=2 concurrency=64 channels=1 payload=100 nginx_workers=auto
bin="${GATEHOUSE_BUILD_DIR:-$root/build-bench}"
out="$root/docs/benchmarks"
build=1 keep=0 components=1 build_components=0 diagnose=0 replicas=1 replicas_only=0
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --concurrency) concurrency="$2"; shift 2 ;;
    --channels) channels="$2"; shift 2 ;;
    --payload) payload="$2"; shift 2 ;;
    --nginx-workers) nginx_workers="$2"; shift 2 ;;
    --build-dir) bin="$2"; shift 2 ;;
    --out-dir) out="$2"; shift 2 ;;
    --no-build) build=0; shift ;;
    --keep) keep=1; shift ;;
    --skip-components) components=0; shift ;;
    --build-components) build_components=1; shift ;;
    --diagnose) diagnose=1; shift ;;
    --skip-replicas) replicas=0; shift ;;
    --replicas-only) replicas_only=1; shift ;;
    *) sed -n '2,/^set -euo/p' "$0" | sed '$d' >&2; exit 2 ;;
  esac
done
bin="$(realpath -m "$bin")"
out="$(realpath -m "$out")"
[ "$replicas" = 1 ] || [ "$replicas_only" = 0 ] ||
  { echo "bench: --skip-replicas and --replicas-only exclude each other" >&2; exit 2; }
[ "$replicas_only" = 0 ] || components=0

# shellcheck source=bench/lib.sh
. "$here/lib.sh"
# shellcheck source=bench/gateways.sh
. "$here/gateways.sh"
# shellcheck source=bench/replicas.sh
. "$here/replicas.sh"
# shellcheck source=lib/pg.sh
. "$root/scripts/lib/pg.sh"

# --- Packages and build ---------------------------------------------------
need=()
command -v nginx >/dev/null || need+=(nginx-light)
command -v jq >/dev/null || need+=(jq)
command -v python3 >/dev/null || need+=(python3)
if [ "$replicas" = 1 ]; then
  command -v haproxy >/dev/null || need+=(haproxy)
  [ -x "$pg_bin/initdb" ] || need+=(postgresql-15)
fi
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "bench: installing ${need[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "bench: missing ${need[*]}; run as root to install them" >&2
  fi
fi
command -v python3 >/dev/null && command -v jq >/dev/null || { echo "bench: needs python3 and jq" >&2; exit 1; }
if [ "$build" = 1 ]; then
  "$root/scripts/setup.sh"
  [ -f "$bin/CMakeCache.txt" ] || cmake -S "$root" -B "$bin" -DCMAKE_BUILD_TYPE=Release >/dev/null
  echo "bench: building ghbench echo_server gatehoused in $bin"
  nice cmake --build "$bin" --target ghbench echo_server gatehoused ghkey auditctl policyc \
    -j"${BENCH_JOBS:-1}" >/dev/null
  if [ "$build_components" = 1 ]; then
    for t in $(cmake --build "$bin" --target help | grep -oE '[A-Za-z0-9_]+_(bench|benchmark)\b' | sort -u); do
      echo "bench: building component benchmark $t"
      nice cmake --build "$bin" --target "$t" -j"${BENCH_JOBS:-1}" >/dev/null ||
        echo "bench: $t does not build; skipped" >&2
    done
  fi
fi
ghbench="$bin/tools/ghbench/ghbench"
echo_server="$bin/tools/echo_server/echo_server"
for b in "$ghbench" "$echo_server" "$bin/gateway/gatehoused"; do
  [ -x "$b" ] || { echo "bench: $b is missing; build it or drop --no-build" >&2; exit 1; }
done

# --- Run directory (on disk, not tmpfs: the gateways fsync) ---------------
run="$(mktemp -d /var/tmp/gatehouse-bench.XXXXXX)"
chmod 0755 "$run"  # nginx workers run as nobody
results="$run/results.jsonl"
: > "$results"
pids=()
nginx_pidfile=""
cleanup() {
  gw_stop || true
  rep_stop || true
  pg_stop || true
  [ -n "$nginx_pidfile" ] && [ -f "$nginx_pidfile" ] && stop_pid "$(cat "$nginx_pidfile")"
  local p
  for p in "${pids[@]}"; do stop_pid "$p"; done
  if [ "$keep" = 1 ]; then echo "bench: run directory kept: $run"; else rm -rf "$run"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$here/pki.sh" "$run/pki" >/dev/null
pki="$run/pki"
client=(--cert "$pki/nhs-trust-a/ehr.crt" --key "$pki/nhs-trust-a/ehr.key" --ca "$pki/ca.crt")
common=(--concurrency "$concurrency" --channels "$channels" --duration "$duration" --warmup "$warmup" --json)

# arm LABEL ARGS...: one ghbench run, its JSON line appended to the results.
arm() {
  local label="$1"; shift
  echo "bench: arm $label" >&2
  # Every call has a 30 s deadline, so a run lasts at most its warm-up and
  # window and that; a ghbench stuck beyond is ended.
  local limit
  limit=$(python3 -c "import math; print(math.ceil(float('$warmup') + float('$duration')) + 60)")
  if ! timeout -k 5 "$limit" "$ghbench" --label "$label" "$@" >> "$results"; then
    echo "bench: arm $label reported errors (see above); its figures are kept" >&2
  fi
}

# The arms of issue 7 (all but the replica arms).
if [ "$replicas_only" = 0 ]; then
  # --- (a) ghbench -> echo_server -------------------------------------------
  "$echo_server" --listen 127.0.0.1:0 --cert "$pki/bench/echo.crt" --key "$pki/bench/echo.key" \
    --ca "$pki/ca.crt" --crl-dir "$pki/crl" --ports-file "$run/echo.ports" 2>"$run/echo.log" &
  echo_pid=$!
  pids+=("$echo_pid")
  wait_for_file "$run/echo.ports" "$echo_pid" echo_server
  echo_port=$(jq .port "$run/echo.ports")
  arm a --mode echo --target "127.0.0.1:$echo_port" --server-uri psn://org/bench-echo/gateway \
    "${client[@]}" "${common[@]}" --payload "$payload" --watch-pid "$echo_pid"

  # --- (b) ghbench -> nginx -> echo_server ----------------------------------
  nginx_peer="${BENCH_NGINX_PEER:-$root/../shared/peers/nginx}"
  if command -v nginx >/dev/null && [ -x "$nginx_peer/start.sh" ]; then
    read -r nginx_port < <(free_ports 1)
    "$nginx_peer/start.sh" "$run/nginx" "127.0.0.1:$nginx_port" "127.0.0.1:$echo_port" \
      echo.bench.test "$pki/ca.crt" "$pki/bench/nginx.crt" "$pki/bench/nginx.key" \
      "$pki/bench/nginx.crt" "$pki/bench/nginx.key" "$nginx_workers"
    nginx_pidfile="$run/nginx/nginx.pid"
    sleep 0.5
    nginx_master=$(cat "$nginx_pidfile")
    watch=(--watch-pid "$echo_pid" --watch-pid "$nginx_master")
    for w in $(pgrep -P "$nginx_master"); do watch+=(--watch-pid "$w"); done
    arm b --mode echo --target "127.0.0.1:$nginx_port" --server-name nginx.bench.test \
      "${client[@]}" "${common[@]}" --payload "$payload" "${watch[@]}"
    stop_pid "$nginx_master"
    nginx_pidfile=""
  else
    echo "bench: nginx or $nginx_peer/start.sh missing; arm b skipped" >&2
  fi

  # --- relay: ghbench -> echo_server (relay) -> echo_server ------------------
  "$echo_server" --listen 127.0.0.1:0 --cert "$pki/bench/echo.crt" --key "$pki/bench/echo.key" \
    --ca "$pki/ca.crt" --crl-dir "$pki/crl" --ports-file "$run/relay.ports" \
    --relay-to "127.0.0.1:$echo_port" --relay-uri psn://org/bench-echo/gateway 2>"$run/relay.log" &
  relay_pid=$!
  pids+=("$relay_pid")
  wait_for_file "$run/relay.ports" "$relay_pid" "echo_server --relay-to"
  relay_port=$(jq .port "$run/relay.ports")
  arm a_relay --mode echo --target "127.0.0.1:$relay_port" --server-uri psn://org/bench-echo/gateway \
    "${client[@]}" "${common[@]}" --payload "$payload" --watch-pid "$echo_pid" --watch-pid "$relay_pid"
  # The relay and its echo stay up, idle, for a_relay_half and a_relay_idle
  # after the (c) arms (at the rates of c_half and c_idle).

  # --- (c) ghbench -> gatehoused -> gatehoused ------------------------------
  submit_arm() {
    local label="$1"; shift
    gw_start "$run/gw-$label" "$pki"
    read -ra labels <<< "${BENCH_SUBMIT_LABELS:---type care_plan --classification OFFICIAL-SENSITIVE --caveat PERSONAL --purpose direct_care}"
    arm "$label" --mode submit --target "127.0.0.1:$GW_CLIENT_PORT" --to "$GW_RECEIVER" \
      "${labels[@]}" "${client[@]}" --cert "$pki/$GW_CLIENT_CERT.crt" \
      --key "$pki/$GW_CLIENT_CERT.key" --warmup "$warmup" --duration "$duration" --json \
      --channels "$channels" \
      --watch-pid "$GW_SEND_PID" --watch-pid "$GW_RECV_PID" "$@"
    gw_stop
  }
  # The disk's one-at-a-time fdatasync rate, beside the gateway figures: the
  # ceiling of any path that syncs once per record; then four files synced side
  # by side, as the two gateways' audit logs and databases are.
  python3 "$here/fsync_probe.py" "$run" 2 > "$run/fsync.jsonl"
  python3 "$here/fsync_probe.py" "$run" 2 4 >> "$run/fsync.jsonl"
  submit_arm c_1k --payload 1024 --concurrency "$concurrency"
  submit_arm c_64k --payload 65536 --concurrency "$concurrency"
  peak=$(jq -r 'select(.label=="c_1k") | .throughput_per_s' "$results" | tail -1)
  if [ -n "$peak" ]; then
    half=$(python3 -c "print(max(1.0, float('$peak') / 2))")
    submit_arm c_half --payload 1024 --concurrency "$concurrency" --rate "$half"
  else
    echo "bench: no c_1k figure; c_half skipped" >&2
  fi
  # Nearly idle: what one record costs in time when nothing queues (every
  # durable write on the path is then its own fdatasync).
  submit_arm c_idle --payload 1024 --concurrency "$concurrency" --rate 50
  # The two hops alone at the same rates: what the transport leaves of 5 ms.
  relay_arm() {
    local label="$1" rate="$2"
    arm "$label" --mode echo --target "127.0.0.1:$relay_port" \
      --server-uri psn://org/bench-echo/gateway "${client[@]}" "${common[@]}" --payload 1024 \
      --rate "$rate" --watch-pid "$echo_pid" --watch-pid "$relay_pid"
  }
  [ -n "$peak" ] && relay_arm a_relay_half "$half"
  relay_arm a_relay_idle 50
  stop_pid "$relay_pid"
  stop_pid "$echo_pid"
  python3 "$here/fsync_probe.py" "$run" 2 >> "$run/fsync.jsonl"
  # Diagnostic only (--diagnose): c_1k again with every fsync made a no-op by
  # libeatmydata, to show how much of the gap the disk explains. Not a valid
  # configuration of a gateway.
  eatmydata_lib=/usr/lib/x86_64-linux-gnu/libeatmydata.so
  if [ "$diagnose" = 1 ]; then
    if [ ! -e "$eatmydata_lib" ] && [ "$(id -u)" -eq 0 ]; then
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q eatmydata >/dev/null || true
    fi
    if [ -e "$eatmydata_lib" ]; then
      LD_PRELOAD="$eatmydata_lib" submit_arm c_1k_nofsync --payload 1024 --concurrency "$concurrency"
      # At c_half's and c_idle's rates: a floor under any arrangement of the
      # durable writes (fewer, overlapped or batched), since here none is waited on.
      [ -n "$peak" ] && LD_PRELOAD="$eatmydata_lib" submit_arm c_half_nofsync --payload 1024 \
        --concurrency "$concurrency" --rate "$half"
      LD_PRELOAD="$eatmydata_lib" submit_arm c_idle_nofsync --payload 1024 \
        --concurrency "$concurrency" --rate 50
    else
      echo "bench: libeatmydata missing; diagnostic arm skipped" >&2
    fi
  fi
fi

# --- One organisation as replicas on PostgreSQL (issue 19) ----------------
# pg_admin SQL...: each SQL statement on the run's server as its superuser.
pg_admin() {
  local sql=() q
  for q in "$@"; do sql+=(-c "$q"); done
  PGOPTIONS="-c client_min_messages=warning" timeout 60 "$pg_bin/psql" \
    "host=$PG_DIR dbname=postgres user=postgres" -X -q -A -t -v ON_ERROR_STOP=1 "${sql[@]}"
}
# replica_arm LABEL N: arm LABEL with the sender as N replicas on PostgreSQL
# (N = 0: one gateway on SQLite), through HAProxy; its costs a record are
# appended to $run/replicas.jsonl.
replica_arm() {
  local label="$1" n="$2" dir="$run/rep-$1" db="" dsn="" store=sqlite i
  local pg=() rate=()
  if [ "$n" -gt 0 ]; then
    db="bench_$label" store=postgres
    pg_admin "DROP DATABASE IF EXISTS \"$db\"" "CREATE DATABASE \"$db\" OWNER gatehouse" >/dev/null
    dsn="host=$PG_DIR dbname=$db user=gatehouse"
    pg=(--pg-dir "$PG_DIR" --pg-db "$db")
  fi
  rep_start "$dir" "$pki" "$n" "$dsn" || { echo "bench: arm $label did not start" >&2; exit 1; }
  local snap=(--pid "receiver=$GW_RECV_PID" --pid "haproxy=$REP_LB_PID")
  local watch=(--watch-pid "$GW_RECV_PID" --watch-pid "$REP_LB_PID")
  for i in "${!REP_PIDS[@]}"; do
    snap+=(--pid "r$((i + 1))=${REP_PIDS[$i]}" --admin "r$((i + 1))=${REP_ADMIN[$i]}")
    watch+=(--watch-pid "${REP_PIDS[$i]}")
  done
  # Every arm starts from a checkpoint: the same full-page writes to come.
  [ -z "$db" ] || pg_admin "CHECKPOINT" >/dev/null
  [ -z "$db" ] || [ "${BENCH_PG_STATEMENTS:-0}" != 1 ] ||
    pg_admin "SELECT pg_stat_statements_reset()" >/dev/null
  python3 "$here/replica_costs.py" snapshot --out "$dir/before.json" "${snap[@]}" "${pg[@]}"
  [ -z "${BENCH_REPLICA_RATE:-}" ] || rate=(--rate "$BENCH_REPLICA_RATE")
  read -ra labels <<< "${BENCH_SUBMIT_LABELS:---type care_plan --classification OFFICIAL-SENSITIVE --caveat PERSONAL --purpose direct_care}"
  arm "$label" --mode submit --target "127.0.0.1:$REP_CLIENT_PORT" --to "$GW_RECEIVER" \
    "${labels[@]}" "${client[@]}" --cert "$pki/$GW_CLIENT_CERT.crt" \
    --key "$pki/$GW_CLIENT_CERT.key" --warmup "$warmup" --duration "$duration" --json \
    --payload 1024 --concurrency "$concurrency" --channels "$replica_channels" \
    "${rate[@]}" "${watch[@]}"
  python3 "$here/replica_costs.py" snapshot --out "$dir/gateways.json" "${snap[@]}"
  rep_stop
  local after=()
  if [ -n "$db" ]; then
    # The replicas' backends end with them, and each hands the server its
    # statistics as it ends: then pg_stat_database and pg_stat_wal hold all
    # of the arm's work (within 10 s).
    for _ in $(seq 100); do
      [ "$(pg_admin "SELECT count(*) FROM pg_stat_activity WHERE datname = '$db'")" = 0 ] && break
      sleep 0.1
    done
    python3 "$here/replica_costs.py" snapshot --out "$dir/pg.json" "${pg[@]}"
    after=(--pg-after "$dir/pg.json" --pg-dir "$PG_DIR" --pg-db "$db")
  fi
  python3 "$here/replica_costs.py" costs --label "$label" --replicas "$n" --store "$store" \
    --before "$dir/before.json" --gateways-after "$dir/gateways.json" "${after[@]}" \
    >> "$run/replicas.jsonl" || { echo "bench: arm $label: no costs" >&2; replica_failures+=("$label"); }
  [ -z "$db" ] || pg_admin "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null
}
replica_channels="${BENCH_REPLICA_CHANNELS:-6}"
replica_failures=()
: > "$run/replicas.jsonl"
if [ "$replicas" = 1 ]; then
  if [ ! -x "$pg_bin/initdb" ] || ! command -v haproxy >/dev/null; then
    echo "bench: PostgreSQL 15's server or haproxy missing; replica arms skipped" >&2
  else
    pg_start "$run/pg" gatehouse gatehouse
    # The WAL's write and sync times in pg_stat_wal (a throwaway server).
    pg_admin "ALTER SYSTEM SET track_wal_io_timing = on" "SELECT pg_reload_conf()" >/dev/null
    if [ "${BENCH_PG_STATEMENTS:-0}" = 1 ]; then
      # Diagnostic: every statement counted and timed (pg_stat_statements,
      # loaded at start: the server restarts with the same options).
      pg_admin "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'" >/dev/null
      pg_as "$pg_bin/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 60 restart >/dev/null
      pg_admin "CREATE EXTENSION pg_stat_statements" >/dev/null
    fi
    replica_arm c_lb_sqlite 0
    for n in 1 2 3; do replica_arm "c_pg_$n" "$n"; done
    pg_stop
  fi
fi

# --- Component benchmarks ---------------------------------------------------
# Any executable in the build directory named *_bench, *_benchmark or bench_*
# (other than ghbench) runs once, in a scratch directory of its own, with the
# arguments in BENCH_ARGS_<name> if set (e.g. BENCH_ARGS_envelope_bench=
# "--records=20000"). Google Benchmark programs write JSON; others, text.
mkdir -p "$run/components"
if [ "$components" = 1 ]; then
  while IFS= read -r exe; do
    name=$(basename "$exe")
    var="BENCH_ARGS_${name//[^A-Za-z0-9_]/_}"
    read -ra extra <<< "${!var:-}"
    work="$run/components/work-$name"
    mkdir -p "$work"
    echo "bench: component $name ${extra[*]}" >&2
    if ldd "$exe" 2>/dev/null | grep -q libbenchmark || grep -qa -- --benchmark_filter "$exe"; then
      (cd "$work" && timeout "${BENCH_COMPONENT_TIMEOUT:-90}" nice "$exe" \
        --benchmark_out="$run/components/$name.json" --benchmark_out_format=json "${extra[@]}" \
        >/dev/null 2>"$run/components/$name.err") || echo "bench: $name failed or timed out" >&2
    else
      (cd "$work" && timeout "${BENCH_COMPONENT_TIMEOUT:-90}" nice "$exe" "${extra[@]}" \
        >"$run/components/$name.txt" 2>"$run/components/$name.err") ||
        echo "bench: $name failed or timed out" >&2
    fi
    rm -rf "$work"
  done < <(find "$bin" -path '*/CMakeFiles' -prune -o -type f -executable \
             \( -name '*_bench' -o -name '*_benchmark' -o -name 'bench_*' \) -print | sort)
fi

# --- Report -----------------------------------------------------------------
mkdir -p "$out"
python3 "$here/report.py" --results "$results" --components "$run/components" --fsync "$run/fsync.jsonl" \
  --replicas "$run/replicas.jsonl" \
  --command "$command_line" --nginx-version "$(nginx -v 2>&1 || true)" \
  --git "$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$root" diff --quiet 2>/dev/null || echo '+changes')" \
  --json-out "$out/e2e.json" --md-out "$out/e2e.md"
echo "bench: wrote $out/e2e.json and $out/e2e.md"
if [ ${#replica_failures[@]} -gt 0 ]; then
  echo "bench: no costs measured for arm(s) ${replica_failures[*]} (see above)" >&2
  exit 1
fi
