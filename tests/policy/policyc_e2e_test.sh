#!/bin/sh
# End-to-end test of the policyc binary: every subcommand, its output and
# its exit code (0 ok; 1 the policy/cases/bundle failed or a file could not
# be read or written; 2 usage only, as every tool: docs/cli.md).
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
# fmt keeps every comment (issue 20, point 4), and its output is canonical.
expect_rc 0 "fmt of a commented policy" -- "$policyc" fmt "$ex/national-baseline.ghp"
[ "$(grep -c '#' "$tmp/out")" = "$(grep -c '#' "$ex/national-baseline.ghp")" ] || {
  echo "FAIL: fmt lost comments"; failures=$((failures + 1)); }
expect_out "^# ---- 2. Police -> police SECRET intelligence ----" "fmt keeps a section comment"
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
expect_out "obligations: encrypt; redact gp_free_text; redact nhs_number_history; retain 8 years; require recipient system;" "explain lists obligations, retention in years"

# Requester attributes (issue 20, point 6): explain takes and shows them.
cat > "$tmp/roles.ghp" <<'POLICY'
policy "police-health-requests"
classifications OFFICIAL < OFFICIAL-SENSITIVE < SECRET
sectors health, police
record types health_record_extract
purposes law_enforcement
roles constable < sergeant < inspector
legal bases dpa2018-s35
organisation leeds-trust sector health accredited OFFICIAL-SENSITIVE
organisation west-yorks-police sector police accredited SECRET
permit police-health-request
  when recipient sector is police
    and requester role at least inspector
    and legal basis is dpa2018-s35
  then encrypt
POLICY
roles_req="--sender leeds-trust --recipient west-yorks-police --type health_record_extract --classification OFFICIAL --purpose law_enforcement"
expect_rc 0 "explain with a role and a legal basis" -- "$policyc" explain "$tmp/roles.ghp" $roles_req --role inspector --legal-basis dpa2018-s35
expect_out "ALLOW: .*requested by inspector, under dpa2018-s35" "explain shows the role and the basis"
expect_rc 0 "explain a role below the rank required" -- "$policyc" explain "$tmp/roles.ghp" $roles_req --role sergeant --legal-basis dpa2018-s35
expect_out "fails: requester role must be inspector (is sergeant)" "explain names the rank required"

# test
expect_rc 0 "officer cases pass" -- "$policyc" test "$ex/national-baseline.ghp" "$ex/local-leeds-care.ghp" \
  --cases "$ex/national-baseline.cases"
expect_out "13 case(s), 0 failed" "test summary"
printf 'allow sender=leeds-trust recipient=york-council type=care_plan classification=OFFICIAL purpose=direct_care name="wrong"\n' > "$tmp/fail.cases"
expect_rc 1 "a mismatching case fails" -- "$policyc" test "$ex/national-baseline.ghp" "$ex/local-leeds-care.ghp" --cases "$tmp/fail.cases"
expect_out "FAIL .*fail.cases:1 wrong: expected allow, got deny" "test names the failing case"

# Cases check what they claim (issue 20, point 5).
printf 'deny sender=leeds-trust recipient=leeds-council type=discharge_summary classification=OFFICIAL-SENSITIVE purpose=direct_care caveats=MEDICL name="misspelt caveat"\n' > "$tmp/misspelt.cases"
expect_rc 1 "a deny case with a misspelt label fails" -- "$policyc" test "$ex/national-baseline.ghp" --cases "$tmp/misspelt.cases"
expect_out "misspelt caveat: unknown caveat 'MEDICL' (did you mean MEDICAL?)" "test names the misspelt label"
printf 'deny sender=leeds-trust recipient=leeds-council type=discharge_summary classification=OFFICIAL-SENSITIVE purpose=direct_care caveats=MEDICAL by=medical-stay-in-care\n' > "$tmp/by.cases"
expect_rc 1 "by= naming no rule fails" -- "$policyc" test "$ex/national-baseline.ghp" --cases "$tmp/by.cases"
expect_out "by=medical-stay-in-care names no rule of the policy (did you mean medical-stays-in-care?)" "test suggests the rule"
printf 'allow sender=leeds-trust recipient=leeds-council type=discharge_summary classification=OFFICIAL purpose=direct_care then="encrypt and retain 8 years"\n' > "$tmp/then.cases"
expect_rc 1 "a case expecting other obligations fails" -- "$policyc" test "$ex/national-baseline.ghp" --cases "$tmp/then.cases"
expect_out "expected obligations: encrypt; retain 8 years; got: encrypt; redact gp_free_text; redact nhs_number_history; retain 8 years; require recipient system" "test compares obligations"
printf 'deny sender=force-01 recipient=trust-01 type=safeguarding_referral classification=SECRET purpose=safeguarding by=F01-recipient-clearance outcome=write-down\n' > "$tmp/defensive.cases"
expect_rc 0 "a case may name a defensive forbid" -- "$policyc" test "$ex/interorg.ghp" --cases "$tmp/defensive.cases"
expect_rc 0 "coverage counts a defensive forbid a case matches" -- "$policyc" coverage "$ex/interorg.ghp" --cases "$tmp/defensive.cases"
if grep "rules no test case exercises" "$tmp/out" | grep -q "F01-recipient-clearance"; then
  echo "FAIL: coverage lists a matched defensive forbid as untested"; failures=$((failures + 1))
fi

# diff: a new forbid keeps CHILD records from the police
sed 's/forbid child-referral-purpose/forbid child-never-to-police\n  when caveats include CHILD and recipient sector is police\n\nforbid child-referral-purpose/' \
  "$ex/national-baseline.ghp" > "$tmp/new.ghp"
expect_rc 0 "diff" -- "$policyc" diff "$ex/national-baseline.ghp" "$tmp/new.ghp"
expect_out "Newly denied (1 group)" "diff reports the newly denied flows"
expect_out "anyone → police: safeguarding_referral for safeguarding, up to OFFICIAL-SENSITIVE, with CHILD" "diff says it in an officer's words"
expect_out "because: rule child-never-to-police added (.*new.ghp:94:1)" "diff names the rule responsible"
expect_rc 1 "diff --exit-code signals a change" -- "$policyc" diff --exit-code "$ex/national-baseline.ghp" "$tmp/new.ghp"
expect_rc 0 "diff of identical versions is quiet" -- "$policyc" diff --exit-code "$ex/national-baseline.ghp" "$ex/national-baseline.ghp"
expect_out "No change" "diff says there is no change"
# Obligations and declarations are changes too (issue 20, point 2).
sed '/^permit safeguarding-referral/,/^forbid/{/and notify originator/d}' "$ex/national-baseline.ghp" > "$tmp/no-notify.ghp"
expect_rc 1 "diff --exit-code sees a removed obligation" -- "$policyc" diff --exit-code "$ex/national-baseline.ghp" "$tmp/no-notify.ghp"
expect_out "Obligations changed" "diff reports the changed obligations"
expect_out "no longer notify originator" "diff names the removed obligation"
expect_out "because: rule safeguarding-referral changed" "diff names the rule whose obligations changed"
sed 's/^organisation york-council sector council accredited OFFICIAL$/organisation york-council sector council accredited OFFICIAL-SENSITIVE\norganisation hull-council sector council accredited OFFICIAL/' \
  "$ex/national-baseline.ghp" > "$tmp/decl.ghp"
expect_rc 1 "diff compares versions with different declarations" -- "$policyc" diff --exit-code "$ex/national-baseline.ghp" "$tmp/decl.ghp"
expect_out "organisation hull-council added (sector council, accredited OFFICIAL)" "diff lists an added organisation"
expect_out "organisation york-council: accreditation raised to OFFICIAL-SENSITIVE (was OFFICIAL)" "diff lists a changed accreditation"
expect_out "was denied: write-down" "diff explains what the accreditation change permits"

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
expect_out "alice (key [0-9a-f]*): signature good, trusted" "a rejected verify still lists who signed"
expect_rc 1 "alice cannot sign twice" -- "$policyc" sign p.bundle --key alice.key --name alice
expect_rc 0 "sign bob" -- "$policyc" sign p.bundle --key bob.key --name bob
expect_rc 0 "verify with two signatures" -- "$policyc" verify p.bundle --trust alice.pub --trust bob.pub
expect_out "bundle OK: policy 'national-baseline' version 'test-1'" "verify summary"
expect_out "alice (key [0-9a-f]*): signature good, trusted" "verify lists the first signer"
expect_out "bob (key [0-9a-f]*): signature good, trusted" "verify lists the second signer"
# A sealed key (keygen --passphrase-file): only NAME.sealed is written, and
# it signs only with its passphrase.
printf 'carol passphrase one\n' >carol.pass
printf 'not carols passphrase\n' >wrong.pass
printf 'too short\n' >short.pass
expect_rc 0 "keygen carol sealed" -- "$policyc" keygen carol --passphrase-file carol.pass
expect_out "wrote carol.sealed (secret, mode 0600) and carol.pub" "keygen names the sealed file"
[ ! -e carol.key ] && [ "$(stat -c %a carol.sealed)" = 600 ] ||
  { echo "FAIL: a sealed keygen wrote carol.key, or carol.sealed is not mode 0600"; failures=$((failures + 1)); }
expect_rc 1 "keygen refuses a short passphrase" -- "$policyc" keygen dave --passphrase-file short.pass
expect_out "at least 12 characters" "keygen says how long a passphrase must be"
[ ! -e dave.sealed ] && [ ! -e dave.pub ] ||
  { echo "FAIL: a refused keygen wrote files"; failures=$((failures + 1)); }
cp p.bundle carol.bundle
expect_rc 1 "a sealed key without its passphrase signs nothing" -- "$policyc" sign carol.bundle --key carol.sealed --name carol
expect_out "is sealed: give its passphrase with --passphrase-file" "sign asks for the passphrase"
expect_rc 1 "a wrong passphrase signs nothing" -- "$policyc" sign carol.bundle --key carol.sealed --name carol --passphrase-file wrong.pass
expect_out "the passphrase is not the one this key was sealed with" "sign says the passphrase is wrong"
cmp -s p.bundle carol.bundle || { echo "FAIL: a refused sign changed the bundle"; failures=$((failures + 1)); }
expect_rc 0 "sign with a sealed key and its passphrase" -- "$policyc" sign carol.bundle --key carol.sealed --name carol --passphrase-file carol.pass
expect_rc 0 "verify carol's signature" -- "$policyc" verify carol.bundle --trust alice.pub --trust bob.pub --trust carol.pub --min 3
expect_out "carol (key [0-9a-f]*): signature good, trusted" "verify lists carol"
expect_rc 0 "show a bundle" -- "$policyc" show p.bundle --trust alice.pub
expect_out "needs 2 distinct officer signature(s)" "show says how many signatures are needed"
expect_out "what is signed: BLAKE2b-256 [0-9a-f]\\{64\\}" "show gives the digest to compare"
expect_out "bob (key [0-9a-f]*): signature good, NOT a trusted officer key" "show says whose key is not trusted"
expect_out "permit health-council-care" "show lists the rules"
expect_out "then encrypt; redact gp_free_text; redact nhs_number_history; retain 8 years; require recipient system" "show lists a rule's obligations"
expect_rc 0 "show the source a bundle carries" -- "$policyc" show p.bundle --source
expect_out "^# ---- 1. Health -> council care sharing ----" "the bundle carries the comments"
"$policyc" compile "$tmp/no-notify.ghp" "$ex/local-leeds-care.ghp" -o next.bundle --version test-2 >/dev/null
expect_rc 0 "show what a bundle changes from the one in force" -- "$policyc" show next.bundle --against p.bundle
expect_out "what this bundle changes from p.bundle (version 'test-1')" "show names the bundle in force"
expect_out "no longer notify originator" "show lists what changes"
expect_out "because: rule safeguarding-referral changed" "show names the rule changed"
expect_out "not signed yet" "show says an unsigned bundle is unsigned"
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
expect_out "--name is required" "sign without --name names it"
expect_rc 2 "sign with an empty --name" -- "$policyc" sign s.bundle --key alice.key --name "" -o s.out
expect_rc 2 "sign with a blank --name" -- "$policyc" sign s.bundle --key alice.key --name "  " -o s.out
expect_out "--name: may not be blank" "sign says the name is blank"
expect_rc 2 "sign in place without --name" -- "$policyc" sign s.bundle --key alice.key
chmod 644 alice.key
expect_rc 1 "sign with a world-readable key" -- "$policyc" sign s.bundle --key alice.key --name alice -o s.out
expect_out "chmod 600" "sign says how to fix the key file's mode"
chmod 640 alice.key
expect_rc 1 "sign with a group-readable key" -- "$policyc" sign s.bundle --key alice.key --name alice
expect_out "chmod 600" "sign says how to fix the group-readable key"
chmod 600 alice.key
[ -e s.out ] && { echo "FAIL: a refused sign wrote s.out"; failures=$((failures + 1)); }
cmp -s s.bundle s.orig || { echo "FAIL: a refused sign changed the bundle"; failures=$((failures + 1)); }
ls ./*.tmp >/dev/null 2>&1 && { echo "FAIL: a refused sign left a temporary file"; failures=$((failures + 1)); }

# Strict command lines (issue 20, point 3; issue 23: the shared convention of
# tools/cli/cli.h): a misspelt or misplaced flag is a usage error (exit 2),
# never silently dropped or taken as a value.
deny_req="--sender leeds-trust --recipient leeds-council --type discharge_summary --classification OFFICIAL-SENSITIVE --purpose direct_care"
expect_rc 0 "explain honours --caveat" -- "$policyc" explain "$ex/national-baseline.ghp" $deny_req --caveat MEDICAL
expect_out "DENY" "explain with --caveat MEDICAL denies (the caveat was not dropped)"
expect_out "medical-stays-in-care" "explain --caveat names the forbid"
expect_rc 0 "explain honours repeated --caveat and --caveats together" -- "$policyc" explain \
  "$ex/national-baseline.ghp" $deny_req --caveat PERSONAL --caveats "UK EYES ONLY"
expect_out "with PERSONAL, UK EYES ONLY" "explain shows both caveats"
expect_rc 2 "explain refuses a misspelt caveat flag" -- "$policyc" explain "$ex/national-baseline.ghp" $deny_req --cavets MEDICAL
expect_out "not expected: --cavets" "a misspelt flag is named"
expect_out "did you mean '--caveats'?" "a misspelt flag gets a suggestion"
expect_out "Run with --help" "a misspelt flag points at the help"
expect_rc 2 "explain refuses a misspelt flag given with =" -- "$policyc" explain "$ex/national-baseline.ghp" $deny_req --cavets=MEDICAL
expect_out "did you mean '--caveats'?" "a misspelt flag=value gets a suggestion"
expect_rc 0 "explain honours --caveat given twice" -- "$policyc" explain "$ex/national-baseline.ghp" $deny_req \
  --caveat PERSONAL --caveat=MEDICAL
expect_out "with MEDICAL, PERSONAL\|with PERSONAL, MEDICAL" "explain keeps every --caveat"
expect_out "medical-stays-in-care" "the second --caveat decides"
expect_rc 2 "explain refuses a missing label flag" -- "$policyc" explain "$ex/national-baseline.ghp" \
  --sender leeds-trust --recipient leeds-council --type discharge_summary --classification OFFICIAL
expect_out "--purpose is required" "explain names the missing flag"
expect_rc 2 "explain refuses a label flag without its value" -- "$policyc" explain "$ex/national-baseline.ghp" \
  --sender --recipient leeds-council --type discharge_summary --classification OFFICIAL --purpose direct_care
expect_out "'--recipient' is a flag: the value is missing" "a flag is not taken as a value"
# A flag that does not repeat keeps its last value (docs/cli.md).
expect_rc 0 "a flag given twice keeps its last value" -- "$policyc" explain "$ex/national-baseline.ghp" $deny_req --sender york-trust
expect_out "ALLOW: york-trust " "the last --sender counts"
expect_rc 0 "check --Werror a.ghp b.ghp checks both files" -- "$policyc" check --Werror \
  "$ex/national-baseline.ghp" "$ex/local-leeds-care.ghp"
expect_out ", 2 rule(s) in local layer\|rule(s)" "check --Werror compiled both files"
expect_rc 2 "check refuses a misspelt switch" -- "$policyc" check --werorr "$ex/interorg.ghp"
expect_out "did you mean '--werror'?" "misspelt switch gets a suggestion"
expect_rc 2 "a flag before its command is refused" -- "$policyc" --werror check "$ex/interorg.ghp"
expect_rc 2 "an unknown flag is refused" -- "$policyc" --no-such-flag
expect_out "--no-such-flag" "the unknown flag is named"
expect_rc 2 "check refuses a flag of another command" -- "$policyc" check -o out.bundle "$ex/interorg.ghp"
expect_rc 2 "a switch given a value is refused" -- "$policyc" check --info=yes "$ex/interorg.ghp"
expect_rc 2 "compile refuses -o without a value" -- "$policyc" compile "$ex/interorg.ghp" -o
expect_rc 2 "compile refuses a value that is a flag" -- "$policyc" compile "$ex/interorg.ghp" --version -o x.bundle
expect_rc 2 "compile refuses a non-number of signatures" -- "$policyc" compile "$ex/interorg.ghp" -o "$tmp/n.bundle" --required-signatures two
expect_out "required-signatures: Value two not in range 1 to 64" "a non-number is named, with the range"
expect_rc 2 "compile refuses too many signatures" -- "$policyc" compile "$ex/interorg.ghp" -o "$tmp/n.bundle" --required-signatures=65
expect_rc 2 "compile refuses -o=FILE (a short flag's value follows a space)" -- "$policyc" compile "$ex/interorg.ghp" -o=n.bundle
[ -e "$tmp/n.bundle" ] || [ -e "$tmp/=n.bundle" ] && { echo "FAIL: a refused compile wrote a bundle"; failures=$((failures + 1)); }
expect_rc 2 "diff refuses a third file" -- "$policyc" diff "$ex/interorg.ghp" "$ex/interorg.ghp" "$ex/interorg.ghp"
expect_rc 2 "fmt refuses two files" -- "$policyc" fmt "$ex/interorg.ghp" "$ex/national-baseline.ghp"
expect_rc 2 "fmt refuses --check with -w" -- "$policyc" fmt --check -w "$ex/interorg.ghp"
expect_rc 2 "verify refuses a non-number floor" -- "$policyc" verify "$ex/interorg.ghp" --trust x.pub --min many
expect_rc 2 "diff refuses a limit of 0" -- "$policyc" diff --limit 0 "$ex/interorg.ghp" "$ex/interorg.ghp"
expect_rc 2 "check refuses a negative --max-errors" -- "$policyc" check --max-errors=-1 "$ex/interorg.ghp"
expect_rc 2 "verify refuses no --trust" -- "$policyc" verify p.bundle
expect_rc 0 "--flag=value is --flag value" -- "$policyc" verify p.bundle --trust=alice.pub --trust=bob.pub --min=2
expect_out "bundle OK" "verify with --trust=K --min=N"
expect_rc 2 "a misspelt command gets a suggestion" -- "$policyc" chek "$ex/interorg.ghp"
expect_out "did you mean 'check'?" "misspelt command suggestion"
for cmd in check compile fmt explain test diff coverage keygen sign verify show; do
  expect_rc 0 "$cmd --help" -- "$policyc" $cmd --help
  expect_out "Usage: policyc $cmd" "$cmd --help prints its usage"
done
expect_rc 0 "policyc --help" -- "$policyc" --help
expect_out "Usage: policyc \[OPTIONS\] SUBCOMMAND" "policyc --help prints the usage"
expect_rc 0 "policyc --help-all" -- "$policyc" --help-all
for cmd in check compile fmt explain test diff coverage keygen sign verify show; do
  expect_out "^$cmd$" "--help-all prints $cmd"
done
expect_rc 0 "policyc --version" -- "$policyc" --version
expect_out "^policyc [0-9][0-9.]*" "--version prints policyc VERSION"
expect_rc 2 "no command is a usage error" -- "$policyc"

# All diagnostics in one pass (issue 20, point 1): compile errors no longer
# hide the analysis; the output is capped, and available as JSON and SARIF.
expect_rc 1 "check reports every planted mistake" -- "$policyc" check "$src/tests/policy/testdata/seven-mistakes.ghp"
expect_out "did you mean health?" "unknown name gets a suggestion"
expect_out "did you mean OFFICIAL-SENSITIVE?" "unknown level gets a suggestion"
expect_out "always overridden" "analysis runs despite compile errors (overridden)"
expect_out "is redundant" "analysis runs despite compile errors (redundant)"
expect_out "\\[write-down\\]" "analysis runs despite compile errors (write-down)"
expect_out "can never fire" "analysis runs despite compile errors (never-fires)"
expect_out "did you mean 'forbid'?" "keyword typo gets a suggestion"
expect_out "5 error(s), 3 warning(s), 7 rule(s); 3 rule(s) with errors were not analysed" "check counts everything"
{ printf 'policy p\nclassifications A\nsectors s\nrecord types r\npurposes x\n'
  i=0; while [ $i -lt 120 ]; do echo "permit P$i when purpose is y$i"; i=$((i + 1)); done; } > "$tmp/many.ghp"
expect_rc 1 "check caps the errors it prints" -- "$policyc" check "$tmp/many.ghp"
expect_out "\\.\\.\\. 70 more error(s) and 0 more warning(s) not shown" "check says how many it left out"
expect_out "^120 error(s)" "check counts the errors it did not print"
[ "$(grep -c 'unknown-name' "$tmp/out")" = 50 ] || { echo "FAIL: check printed other than 50 errors"; failures=$((failures + 1)); }
expect_rc 1 "check --max-errors 0 prints all" -- "$policyc" check --max-errors 0 "$tmp/many.ghp"
[ "$(grep -c 'unknown-name' "$tmp/out")" = 120 ] || { echo "FAIL: --max-errors 0 did not print all"; failures=$((failures + 1)); }
expect_rc 1 "check --format json" -- "$policyc" check --format json "$src/tests/policy/testdata/seven-mistakes.ghp"
expect_out '"code":"unknown-name","message":"unknown sector' "json names the code and message"
expect_out '"suggestion":"OFFICIAL-SENSITIVE"' "json carries the suggestion"
expect_rc 1 "check --format sarif" -- "$policyc" check --format sarif "$src/tests/policy/testdata/seven-mistakes.ghp"
expect_out '"version":"2.1.0"' "sarif 2.1.0"
expect_out '"ruleId":"write-down"' "sarif has the analysis results"
expect_rc 2 "check refuses an unknown format" -- "$policyc" check --format xml "$ex/interorg.ghp"

# Invalid UTF-8 is refused at check, not first at verify (issue 20, point 8).
printf 'policy p\nclassifications A\nsectors s\nrecord types r\npurposes x\ncaveats "CAF\351"\n' > "$tmp/latin1.ghp"
expect_rc 1 "check refuses text that is not UTF-8" -- "$policyc" check "$tmp/latin1.ghp"
expect_out "latin1.ghp:6:13: error: this text is not UTF-8" "check says where the text is not UTF-8"
expect_rc 1 "compile refuses text that is not UTF-8" -- "$policyc" compile "$tmp/latin1.ghp" -o "$tmp/latin1.bundle"
[ -e "$tmp/latin1.bundle" ] && { echo "FAIL: a bundle was written from text that is not UTF-8"; failures=$((failures + 1)); }

# usage (2), and files that cannot be read or written (1)
expect_rc 2 "unknown command" -- "$policyc" frobnicate
expect_rc 1 "unreadable policy file" -- "$policyc" check "$tmp/nope.ghp"
expect_out "cannot read .*nope.ghp" "check names the unreadable file"
expect_rc 1 "unreadable case file" -- "$policyc" test "$ex/interorg.ghp" --cases "$tmp/nope.cases"
expect_rc 1 "unreadable bundle" -- "$policyc" verify "$tmp/nope.bundle" --trust "$tmp/alice.pub"
expect_rc 1 "unreadable trusted key" -- "$policyc" show "$tmp/p.bundle" --trust "$tmp/nope.pub"
expect_rc 1 "unwritable bundle" -- "$policyc" compile "$ex/interorg.ghp" -o "$tmp/no/such/dir/x.bundle"
expect_out "cannot write" "compile says it cannot write"

if [ "$failures" -ne 0 ]; then echo "$failures failure(s)"; exit 1; fi
echo "policyc end-to-end: all passed"
