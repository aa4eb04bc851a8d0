#!/usr/bin/env bash
# Checks the command-line convention (docs/cli.md) on each tool given:
# --help and --version exit 0 and print to stdout; an unknown flag, a flag
# before the command it belongs to, and no command at all exit 2 with a
# message on stderr. Run by ctest (cli_convention) with the built tools.
#
#   tools/cli/cli_convention_test.sh build/tools/ghkey/ghkey ...
set -uo pipefail
failed=0
fail() { echo "FAIL: $*" >&2; failed=1; }

# expect STATUS TOOL ARGS...: runs TOOL ARGS, fails unless it exits STATUS.
expect() {
  local want="$1"; shift
  local out err rc
  out="$("$@" 2>/tmp/cli_convention.$$)"; rc=$?
  err="$(cat /tmp/cli_convention.$$)"; rm -f /tmp/cli_convention.$$
  if [ "$rc" -ne "$want" ]; then
    fail "$(basename "$1") ${*:2}: exit $rc, want $want (stderr: ${err:0:200})"
    return
  fi
  if [ "$want" -eq 0 ] && [ -z "$out" ]; then fail "$(basename "$1") ${*:2}: printed nothing"; fi
  if [ "$want" -eq 2 ] && [ -z "$err" ]; then fail "$(basename "$1") ${*:2}: no message on stderr"; fi
}

for tool in "$@"; do
  name="$(basename "$tool")"
  expect 0 "$tool" --help
  expect 0 "$tool" -h
  expect 0 "$tool" --version
  "$tool" --version | grep -q "^$name [0-9]" || fail "$name --version does not print '$name VERSION'"
  expect 2 "$tool" --no-such-flag
  # Each command: its own --help, an unknown flag after it, and (for all
  # but ghbench, which has no commands) a command's flag given before it.
  commands="$("$tool" --help | sed -n '/^Subcommands:/,/^$/p' | awk 'NR > 1 && NF {print $1}')"
  if [ -z "$commands" ]; then
    expect 2 "$tool" extra-argument
    continue
  fi
  expect 2 "$tool"
  expect 2 "$tool" no-such-command
  for c in $commands; do
    expect 0 "$tool" "$c" --help
    expect 2 "$tool" "$c" --no-such-flag
    flag="$("$tool" "$c" --help | sed -n -E 's/^  (--[a-z][a-z-]*) .*/\1/p' | grep -v -- '--help' | head -1)"
    if [ -n "$flag" ]; then expect 2 "$tool" "$flag" x "$c"; fi
  done
done
[ "$failed" -eq 0 ] && echo "cli convention: ok ($# tools)"
exit "$failed"
