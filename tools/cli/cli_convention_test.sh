#!/usr/bin/env bash
# Checks the command-line convention (docs/cli.md) on each tool given:
# --help and --version exit 0 and print to stdout; an unknown flag, a flag
# before the command it belongs to, and no command at all exit 2 with a
# message on stderr. Run by ctest (cli_convention) with the built tools.
#
#   tools/cli/cli_convention_test.sh build/tools/ghkey/ghkey ...
set -uo pipefail
failed=0
# In a checking subshell, fail marks the subshell failed (its exit status).
fail() { echo "FAIL: $*" >&2; failed=1; }

# expect STATUS TOOL ARGS...: runs TOOL ARGS, fails unless it exits STATUS.
expect() {
  local want="$1"; shift
  local out err rc errfile
  errfile="$(mktemp)"
  out="$("$@" 2>"$errfile")"; rc=$?
  err="$(cat "$errfile")"; rm -f "$errfile"
  if [ "$rc" -ne "$want" ]; then
    fail "$(basename "$1") ${*:2}: exit $rc, want $want (stderr: ${err:0:200})"
    return
  fi
  if [ "$want" -eq 0 ] && [ -z "$out" ]; then fail "$(basename "$1") ${*:2}: printed nothing"; fi
  if [ "$want" -eq 2 ] && [ -z "$err" ]; then fail "$(basename "$1") ${*:2}: no message on stderr"; fi
}

# check TOOL: every check on one tool. Each --help is run once and its text
# reused, and the tools are checked side by side: under ASan each start
# costs a few tenths of a second.
check() {
  local tool="$1" name help commands c chelp flag
  name="$(basename "$tool")"
  expect 0 "$tool" -h
  expect 2 "$tool" --no-such-flag
  "$tool" --version | grep -q "^$name [0-9]" || fail "$name --version does not print '$name VERSION'"
  expect 0 "$tool" --version
  help="$("$tool" --help)" || fail "$name --help: exit $?, want 0"
  [ -n "$help" ] || fail "$name --help: printed nothing"
  # Each command: its own --help, an unknown flag after it, and (for all
  # but ghbench, which has no commands) a command's flag given before it.
  commands="$(sed -n '/^Subcommands:/,/^$/p' <<<"$help" | awk 'NR > 1 && NF {print $1}')"
  if [ -z "$commands" ]; then
    expect 2 "$tool" extra-argument
    return
  fi
  expect 2 "$tool"
  expect 2 "$tool" no-such-command
  for c in $commands; do
    chelp="$("$tool" "$c" --help)" || fail "$name $c --help: exit $?, want 0"
    [ -n "$chelp" ] || fail "$name $c --help: printed nothing"
    expect 2 "$tool" "$c" --no-such-flag
    flag="$(sed -n -E 's/^  (--[a-z][a-z-]*) .*/\1/p' <<<"$chelp" | grep -v -- '--help' | head -1)"
    if [ -n "$flag" ]; then expect 2 "$tool" "$flag" x "$c"; fi
  done
}

pids=()
for tool in "$@"; do
  ( check "$tool"; exit "$failed" ) &
  pids+=("$!")
done
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
[ "$failed" -eq 0 ] && echo "cli convention: ok ($# tools)"
exit "$failed"
