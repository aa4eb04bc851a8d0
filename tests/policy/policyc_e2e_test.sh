#!/bin/sh
# End-to-end test of the policyc binary: every subcommand, its output and
# its exit code (0 ok, 1 the policy/cases/bundle failed, 2 usage).
# Usage: policyc_e2e_test.sh POLICYC SOURCE_DIR
set -u
policyc=$1
src=$2
ex=$src/policy/examples
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

expect_rc() {  # expect_rc WANT DESCRIPTION -- command...
  want=$1; what=$2; shift 3
  "$@" >"$tmp/out" 2>&1
  rc=$?
  if [ "$rc" != "$want" ]; then
    echo "FAIL: $what: exit $rc, want $want"; sed 's/^/    /' "$tmp/out"
    failures=$((failures + 1))
  fi
}
expect_out() {  # expect_out PATTERN DESCRIPTION (greps the last output)
  if ! grep -q -- "$1" "$tmp/out"; then
    echo "FAIL: $2: output lacks '$1'"; sed 's/^/    /' "$tmp/out"
    failures=$((failures + 1))
  fi
}

# check
expect_rc 0 "check clean policy" -- "$policyc" check "$ex/interorg.ghp"
expect_out "redundant" "check reports the peer's redundant permits"
printf 'policy p\nclassifications A\nsectors s\nrecord types r\npurposes x\npermit P when purpose is y\n' > "$tmp/bad.ghp"
expect_rc 1 "check policy with unknown name" -- "$policyc" check "$tmp/bad.ghp"
expect_out "bad.ghp:6:26: error: unknown purpose 'y'" "diagnostic has file:line:column"
expect_out "^                           ^" "diagnostic has a caret"
expect_rc 1 "check --werror fails on warnings" -- "$policyc" check --werror "$ex/interorg.ghp"

# fmt: canonical and idempotent
"$policyc" fmt "$ex/interorg.ghp" > "$tmp/canon.ghp"
expect_rc 0 "fmt --check accepts canonical text" -- "$policyc" fmt --check "$tmp/canon.ghp"
expect_rc 1 "fmt --check rejects non-canonical text" -- "$policyc" fmt --check "$ex/interorg.ghp"
"$policyc" fmt "$tmp/canon.ghp" > "$tmp/canon2.ghp"
cmp -s "$tmp/canon.ghp" "$tmp/canon2.ghp" || { echo "FAIL: fmt is not idempotent"; failures=$((failures + 1)); }
cp "$ex/national-baseline.ghp" "$tmp/w.ghp"
expect_rc 0 "fmt -w" -- "$policyc" fmt -w "$tmp/w.ghp"
expect_rc 0 "fmt -w output is canonical" -- "$policyc" fmt --check "$tmp/w.ghp"

# explain
expect_rc 0 "explain a denial" -- "$policyc" explain "$ex/interorg.ghp" --sender council-01 \
  --recipient force-01 --type housing_record --classification OFFICIAL --purpose research
expect_out "nearest permit: P16-council-police-crime" "explain names the nearest permit"
expect_out "fails: purpose must be crime_prevention, investigation (is research)" "explain names the failed condition"
expect_rc 0 "explain a write-down" -- "$policyc" explain "$ex/national-baseline.ghp" \
  --sender west-yorks-police --recipient york-council --type safeguarding_referral \
  --classification OFFICIAL-SENSITIVE --purpose safeguarding
expect_out "no rule can permit a write-down" "explain blames the write-down, not other rules"
expect_rc 0 "explain an allow" -- "$policyc" explain "$ex/national-baseline.ghp" --sender leeds-trust \
  --recipient leeds-council --type discharge_summary --classification OFFICIAL --purpose direct_care
expect_out "obligations: encrypt; redact nhs_number_history; redact gp_free_text; retain 2920 days; require recipient system;" "explain lists obligations"

# test
expect_rc 0 "officer cases pass" -- "$policyc" test "$ex/national-baseline.ghp" "$ex/local-leeds-care.ghp" \
  --cases "$ex/national-baseline.cases"
expect_out "12 case(s), 0 failed" "test summary"
printf 'allow sender=leeds-trust recipient=york-council type=care_plan classification=OFFICIAL purpose=direct_care name="wrong"\n' > "$tmp/fail.cases"
expect_rc 1 "a mismatching case fails" -- "$policyc" test "$ex/national-baseline.ghp" "$ex/local-leeds-care.ghp" --cases "$tmp/fail.cases"
expect_out "FAIL .*fail.cases:1 wrong: expected allow, got deny" "test names the failing case"

# diff: a new forbid keeps CHILD records from the police
sed 's/forbid child-referral-purpose/forbid child-never-to-police\n  when caveats include CHILD and recipient sector is police\n\nforbid child-referral-purpose/' \
  "$ex/national-baseline.ghp" > "$tmp/new.ghp"
expect_rc 0 "diff" -- "$policyc" diff "$ex/national-baseline.ghp" "$tmp/new.ghp"
expect_out "newly denied: " "diff reports newly denied cells"
expect_out "any police.*safeguarding_referral.*with CHILD: newly denied" "diff summarises readably"
expect_rc 1 "diff --exit-code signals a change" -- "$policyc" diff --exit-code "$ex/national-baseline.ghp" "$tmp/new.ghp"
expect_rc 0 "diff of identical versions is quiet" -- "$policyc" diff --exit-code "$ex/national-baseline.ghp" "$ex/national-baseline.ghp"

# coverage
expect_rc 0 "coverage" -- "$policyc" coverage "$ex/national-baseline.ghp" --cases "$ex/national-baseline.cases"
expect_out "never permitted" "coverage lists unreachable combinations"
expect_out "rules no test case exercises" "coverage lists unexercised rules"

# keygen, compile, sign, verify
cd "$tmp" || exit 2
expect_rc 0 "keygen alice" -- "$policyc" keygen alice
expect_rc 0 "keygen bob" -- "$policyc" keygen bob
expect_rc 0 "keygen mallory" -- "$policyc" keygen mallory
[ "$(stat -c %a alice.key)" = 600 ] || { echo "FAIL: secret key is not mode 0600"; failures=$((failures + 1)); }
expect_rc 0 "compile" -- "$policyc" compile "$ex/national-baseline.ghp" "$ex/local-leeds-care.ghp" \
  -o p.bundle --required-signatures 2 --version test-1
expect_rc 1 "compile refuses a policy with errors" -- "$policyc" compile "$tmp/bad.ghp" -o bad.bundle
expect_rc 0 "sign alice" -- "$policyc" sign p.bundle --key alice.key --name alice
expect_rc 1 "verify with one of two signatures" -- "$policyc" verify p.bundle --trust alice.pub --trust bob.pub
expect_out "2 distinct signatures are required" "verify says why"
expect_rc 1 "alice cannot sign twice" -- "$policyc" sign p.bundle --key alice.key --name alice
expect_rc 0 "sign bob" -- "$policyc" sign p.bundle --key bob.key --name bob
expect_rc 0 "verify with two signatures" -- "$policyc" verify p.bundle --trust alice.pub --trust bob.pub
expect_out "bundle OK: policy 'national-baseline' version 'test-1'" "verify summary"
expect_out "expires never" "verify shows a bundle without expiry"
expect_rc 1 "verify with an untrusted signer" -- "$policyc" verify p.bundle --trust alice.pub
expect_out "not a trusted security officer key" "verify names the untrusted signer"
cp p.bundle t.bundle
size=$(stat -c %s t.bundle)
printf 'Z' | dd of=t.bundle bs=1 seek=$((size / 3)) conv=notrunc 2>/dev/null
expect_rc 1 "verify a tampered bundle" -- "$policyc" verify t.bundle --trust alice.pub --trust bob.pub
expect_rc 1 "verify with a higher gateway floor" -- "$policyc" verify p.bundle --trust alice.pub --trust bob.pub --min 3

# expiry (finding 8): signed, shown by verify, refused once past
expect_rc 0 "compile with --valid-for" -- "$policyc" compile "$ex/national-baseline.ghp" -o e.bundle --valid-for 90d
expect_rc 0 "sign e.bundle" -- "$policyc" sign e.bundle --key alice.key --name alice
expect_rc 0 "verify a bundle within its validity" -- "$policyc" verify e.bundle --trust alice.pub
expect_out "expires 20[0-9-]*T[0-9:]*Z" "verify shows the expiry"
expect_rc 0 "compile with --expires" -- "$policyc" compile "$ex/national-baseline.ghp" -o x.bundle --expires 2999-01-01T00:00:00Z
expect_rc 2 "compile with an expiry already past" -- "$policyc" compile "$ex/national-baseline.ghp" -o past.bundle --expires 2001-01-01T00:00:00Z
[ -e past.bundle ] && { echo "FAIL: a bundle with a past expiry was written"; failures=$((failures + 1)); }
expect_rc 2 "compile with an unreadable --valid-for" -- "$policyc" compile "$ex/national-baseline.ghp" -o past.bundle --valid-for soon
expect_rc 0 "compile valid for 1ms" -- "$policyc" compile "$ex/national-baseline.ghp" -o old.bundle --valid-for 1ms
expect_rc 0 "sign old.bundle" -- "$policyc" sign old.bundle --key alice.key --name alice
expect_rc 1 "verify refuses an expired bundle" -- "$policyc" verify old.bundle --trust alice.pub
expect_out "bundle REJECTED: policy bundle expired at" "verify says the bundle expired"

# sign refuses a missing signer name and a key others can read, writing nothing (finding 8)
"$policyc" compile "$ex/national-baseline.ghp" -o s.bundle >/dev/null
cp s.bundle s.orig
expect_rc 2 "sign without --name" -- "$policyc" sign s.bundle --key alice.key -o s.out
expect_out "usage: policyc sign" "sign without --name prints usage"
expect_rc 2 "sign with an empty --name" -- "$policyc" sign s.bundle --key alice.key --name "" -o s.out
expect_rc 2 "sign in place without --name" -- "$policyc" sign s.bundle --key alice.key
chmod 644 alice.key
expect_rc 2 "sign with a world-readable key" -- "$policyc" sign s.bundle --key alice.key --name alice -o s.out
expect_out "chmod 600" "sign says how to fix the key file's mode"
chmod 640 alice.key
expect_rc 2 "sign with a group-readable key" -- "$policyc" sign s.bundle --key alice.key --name alice
expect_out "chmod 600" "sign says how to fix the group-readable key"
chmod 600 alice.key
[ -e s.out ] && { echo "FAIL: a refused sign wrote s.out"; failures=$((failures + 1)); }
cmp -s s.bundle s.orig || { echo "FAIL: a refused sign changed the bundle"; failures=$((failures + 1)); }
ls ./*.tmp >/dev/null 2>&1 && { echo "FAIL: a refused sign left a temporary file"; failures=$((failures + 1)); }

# usage
expect_rc 2 "unknown command" -- "$policyc" frobnicate
expect_rc 2 "missing file" -- "$policyc" check "$tmp/nope.ghp"

if [ "$failures" -ne 0 ]; then echo "$failures failure(s)"; exit 1; fi
echo "policyc end-to-end: all passed"
