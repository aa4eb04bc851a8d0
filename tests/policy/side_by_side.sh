#!/bin/sh
# Side-by-side benchmark: the Gatehouse engine and Cedar-wasm on the same
# request mix (the peer's generator, seed 20240901), one after the other in
# one run, and the ratio. Not a test (not registered with ctest).
#
#   tests/policy/side_by_side.sh BUILD_DIR [N]
#
# Copies ../shared/peers/cedar (read-only) to a temporary directory, runs
# `npm ci` there (needs the npm registry) and `node bench.mjs --quiet`.
set -eu
build=${1:?usage: side_by_side.sh BUILD_DIR [N]}
n=${2:-100000}
here=$(cd "$(dirname "$0")" && pwd)
peer=${PEER_DIR:-$here/../../../shared/peers/cedar}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r "$peer"/. "$tmp"/
chmod -R u+w "$tmp"
(cd "$tmp" && npm ci --silent >/dev/null 2>&1)

ours=$("$build/tests/policy/policy_bench" --n "$n" | tail -1)
cedar=$(cd "$tmp" && node bench.mjs --quiet --n "$n" --stateless-n 0 | tail -1)
ours2=$("$build/tests/policy/policy_bench" --n "$n" | tail -1)

node -e '
  const a = JSON.parse(process.argv[1]), c = JSON.parse(process.argv[2]), b = JSON.parse(process.argv[3]);
  // Our figure: the better of the runs before and after Cedar (noisy host).
  const best = (k) => Math.max(a[k], b[k]);
  const resolved = best("resolvedDecisionsPerSec"), strings = best("stringDecisionsPerSec");
  console.log(`same mix: N=${c.n} seed=${c.seed}; fingerprints gatehouse ${a.fingerprint}, cedar ${c.decisionFingerprint}` +
              (a.fingerprint === c.decisionFingerprint ? " (identical decisions)" : " (DIFFERENT)"));
  console.log(`cedar-wasm ${c.cedarVersion}: ${c.decisionsPerSec} decisions/s, ${(1e3 * c.meanUsPerDecision).toFixed(0)} ns/decision`);
  console.log(`gatehouse, labels resolved: ${resolved} decisions/s, ${(1e9 / resolved).toFixed(1)} ns/decision, ratio ${(resolved / c.decisionsPerSec).toFixed(0)}x`);
  console.log(`gatehouse, from strings:    ${strings} decisions/s, ${(1e9 / strings).toFixed(1)} ns/decision, ratio ${(strings / c.decisionsPerSec).toFixed(0)}x`);
  console.log(JSON.stringify({n: c.n, cedarDecisionsPerSec: c.decisionsPerSec, gatehouseResolvedDecisionsPerSec: resolved,
    gatehouseStringDecisionsPerSec: strings, ratioResolved: +(resolved / c.decisionsPerSec).toFixed(1),
    ratioStrings: +(strings / c.decisionsPerSec).toFixed(1), sameDecisions: a.fingerprint === c.decisionFingerprint}));
' "$ours" "$cedar" "$ours2"
