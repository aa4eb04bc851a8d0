#!/bin/sh
# Regenerates testdata/cedar_decisions_seed20240901_n20000.txt from the Cedar
# peer: copies ../shared/peers/cedar (read-only) to a temporary directory,
# installs the pinned cedar-wasm with `npm ci`, dumps Cedar's decision for
# each of the first 20000 generated requests, and writes them as 0/1 digits.
# Needs Node 20+ and the npm registry. Usage: regen_cedar_decisions.sh [PEER_DIR]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
peer=${1:-$here/../../../shared/peers/cedar}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r "$peer"/. "$tmp"/
chmod -R u+w "$tmp"
(cd "$tmp" && npm ci --silent && node bench.mjs --quiet --n 20000 --warmup 100 \
  --floor-n 0 --schema-n 0 --stateless-n 0 --dump "$tmp/req.jsonl" >/dev/null)
out=$here/testdata/cedar_decisions_seed20240901_n20000.txt
{
  echo '# Cedar 4.13.0 (cedar-wasm) decisions for the peer generator, seed 20240901,'
  echo '# requests 0..19999 in order, 1 = allow, 0 = deny, 100 per line.'
  echo '# Regenerate: tests/policy/regen_cedar_decisions.sh'
  node -e '
    const lines = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n");
    const s = lines.map((l) => (JSON.parse(l).decision === "allow" ? "1" : "0")).join("");
    for (let i = 0; i < s.length; i += 100) console.log(s.slice(i, i + 100));
  ' "$tmp/req.jsonl"
} > "$out.tmp"
mv "$out.tmp" "$out"
echo "wrote $out"
