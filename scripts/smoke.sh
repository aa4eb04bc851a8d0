#!/usr/bin/env bash
# Smoke test of every program and script the README and docs name, on an
# existing build (default ./build): each tool's --help, the three-
# organisation exchange (scripts/demo.sh, which makes real calls with
# gatehoused, gatehouse, ghkey, auditctl and policyc), the trust as three
# replicas on PostgreSQL behind HAProxy with one SIGKILLed
# (scripts/demo_replicas.sh), one more real call of
# the tools the demo does not run, and the end-to-end benchmark with
# one-second arms (scripts/bench.sh: ghbench, echo_server, two gateways,
# nginx, and one organisation as 1-3 replicas on PostgreSQL), the database
# failover drill (scripts/bench/pg_failover.sh, about 3.5 minutes), and the
# Debian packages (packaging/smoke_packages.sh: cpack,
# lintian, contents, the unit verified; under CI, or with
# GATEHOUSE_SMOKE_INSTALL=1, installed, run as the gatehouse user with the
# demo's keys, and purged). Fails on the first thing that does not work.
#
#   scripts/smoke.sh            # after scripts/build.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${GATEHOUSE_BUILD_DIR:-$root/build}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

echo "== smoke: --help"
for t in gateway/gatehoused tools/gatehouse/gatehouse tools/policyc/policyc \
         tools/auditctl/auditctl tools/ghkey/ghkey tools/ghbench/ghbench \
         tools/echo_server/echo_server tools/workbench/gatehouse-workbench; do
  out="$("$bin/$t" --help)" || { echo "smoke: $t --help failed" >&2; exit 1; }
  grep -qi usage <<<"$out" || { echo "smoke: $t --help printed no usage" >&2; exit 1; }
  echo "   $(basename "$t") --help: ok"
done

echo "== smoke: one real call each"
"$bin/tools/policyc/policyc" check "$root/policy/examples/northshire.ghp" >/dev/null 2>&1
"$bin/tools/ghkey/ghkey" generate --org=smoke-org --out="$tmp/keyset.json" >/dev/null
"$bin/tools/auditctl/auditctl" keygen --name smoke/log --out "$tmp/log" >/dev/null
mkdir -p "$tmp/vectors"
"$bin/tools/envelope_vectors/envelope_vectors" "$tmp/vectors" >/dev/null
echo "   policyc check, ghkey generate, auditctl keygen, envelope_vectors: ok"
# The workbench: started as the README says, its page fetched, stopped.
"$bin/tools/workbench/gatehouse-workbench" --listen 127.0.0.1:0 \
  --policy "$root/policy/examples/northshire.ghp" >"$tmp/workbench.log" 2>&1 &
workbench=$!
for _ in $(seq 50); do
  url="$(grep -o 'http://127.0.0.1:[0-9]*/' "$tmp/workbench.log" || true)"
  [ -n "$url" ] && break
  sleep 0.1
done
page="$(python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1]).read().decode())' "$url")" ||
  { cat "$tmp/workbench.log"; echo "smoke: the workbench did not serve its page" >&2; exit 1; }
kill "$workbench"; wait "$workbench" 2>/dev/null || true
grep -q "codemirror" <<<"$page" || { echo "smoke: the workbench page has no editor" >&2; exit 1; }
echo "   gatehouse-workbench: page served"

echo "== smoke: scripts/demo.sh"
GATEHOUSE_BUILD_DIR="$bin" "$root/scripts/demo.sh" >"$tmp/demo.log" 2>&1 ||
  { tail -40 "$tmp/demo.log"; echo "smoke: demo.sh failed" >&2; exit 1; }
grep -q "PERMITTED" "$tmp/demo.log" && grep -q "proof verified" "$tmp/demo.log" &&
  ! grep -q "NOT verified" "$tmp/demo.log" ||
  { cat "$tmp/demo.log"; echo "smoke: the demo's exchange did not verify" >&2; exit 1; }
echo "   demo: records permitted and refused, proofs and audit logs verified"

echo "== smoke: scripts/demo_replicas.sh"
GATEHOUSE_BUILD_DIR="$bin" "$root/scripts/demo_replicas.sh" --no-build >"$tmp/demo_replicas.log" 2>&1 &&
  grep -q "^RESULT: every acknowledged record was fetched exactly once" "$tmp/demo_replicas.log" ||
  { tail -40 "$tmp/demo_replicas.log"; echo "smoke: demo_replicas.sh failed" >&2; exit 1; }
echo "   demo_replicas: a replica SIGKILLed; nothing acknowledged lost or duplicated, outboxes drained"

echo "== smoke: Debian packages"
"$root/packaging/smoke_packages.sh" "$bin" "$root/demo-run"

echo "== smoke: scripts/bench.sh with one-second arms"
"$root/scripts/bench.sh" --duration 1 --warmup 0 --no-build --build-dir "$bin" \
  --skip-components --out-dir "$tmp/bench" >"$tmp/bench.log" 2>&1 ||
  { tail -40 "$tmp/bench.log"; echo "smoke: bench.sh failed" >&2; exit 1; }
[ -s "$tmp/bench/e2e.json" ] || { cat "$tmp/bench.log"; echo "smoke: no e2e.json" >&2; exit 1; }
echo "   bench: every arm ran ($(wc -l <"$tmp/bench/e2e.json") lines of results)"

echo "== smoke: scripts/bench/pg_failover.sh (docs/SCALING.md's failover drill)"
timeout 900 "$root/scripts/bench/pg_failover.sh" --build-dir "$bin" >"$tmp/failover.log" 2>&1 &&
  grep -q "^RESULT: through a planned and an unplanned failover, every acknowledged record" \
    "$tmp/failover.log" ||
  { tail -40 "$tmp/failover.log"; echo "smoke: pg_failover.sh failed" >&2; exit 1; }
echo "   failover: a switchover and a primary killed; nothing acknowledged lost or duplicated"
echo "smoke: all ok"
