#!/usr/bin/env bash
# Builds the Debian packages from a build tree and checks them
# (scripts/smoke.sh runs it):
#   1. cpack -G DEB: gatehouse-gateway, gatehouse-tools and
#      gatehouse-workbench;
#   2. their contents (dpkg-deb -c) hold what docs/operations.md promises;
#   3. lintian, when installed, finds no error or warning (infos are argued
#      in docs/operations.md);
#   4. unpacked into a scratch folder: every tool answers --version, and the
#      unit passes `systemd-analyze verify` and scores at most 2.0 in
#      `systemd-analyze security --offline`;
#   5. with GATEHOUSE_SMOKE_INSTALL=1 or CI=true, as root, where the
#      packages are not installed already: apt-get installs both .deb files,
#      the installed example config is filled in with the demo's council-a
#      keys and certificates (DEMO_RUN_DIR, from scripts/demo.sh), the
#      installed gatehoused runs as the gatehouse user, tells READY=1 on
#      NOTIFY_SOCKET, answers /readyz with 200, survives SIGHUP and stops on
#      SIGTERM; the installed workbench serves its page with the installed
#      CodeMirror; then the packages are purged and the user and files removed.
#
#   packaging/smoke_packages.sh BUILD_DIR [DEMO_RUN_DIR]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$(cd "${1:?usage: smoke_packages.sh BUILD_DIR [DEMO_RUN_DIR]}" && pwd)"
demo="${2:-}"
tmp="$(mktemp -d)"
installed_here=0
cleanup() {
  if [ -n "${gw_pid:-}" ]; then kill "$gw_pid" 2>/dev/null || true; fi
  if [ -n "${listener_pid:-}" ]; then kill "$listener_pid" 2>/dev/null || true; fi
  if [ "$installed_here" -eq 1 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get purge -y -q gatehouse-gateway gatehouse-tools \
      gatehouse-workbench \
      >/dev/null 2>&1 || true
    if getent passwd gatehouse >/dev/null; then deluser --system --quiet gatehouse 2>/dev/null || true; fi
    if getent group gatehouse >/dev/null; then delgroup --system --quiet gatehouse || true; fi
    rm -rf /etc/gatehouse /var/lib/gatehouse
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "packages: $*" >&2; exit 1; }

# 1. Build.
cmake --build "$bin" -j2 --target gatehoused gatehouse policyc auditctl ghkey gatehouse-workbench \
  gatehouse_manpages gatehouse_changelog >"$tmp/build.log" 2>&1 ||
  { tail -20 "$tmp/build.log"; fail "build failed"; }
rm -f "$bin"/gatehouse-gateway_*.deb "$bin"/gatehouse-tools_*.deb "$bin"/gatehouse-workbench_*.deb
(cd "$bin" && cpack -G DEB >"$tmp/cpack.log" 2>&1) || { cat "$tmp/cpack.log"; fail "cpack failed"; }
gw_deb="$(ls "$bin"/gatehouse-gateway_*.deb)"
tools_deb="$(ls "$bin"/gatehouse-tools_*.deb)"
wb_deb="$(ls "$bin"/gatehouse-workbench_*.deb)"
echo "   built $(basename "$gw_deb"), $(basename "$tools_deb") and $(basename "$wb_deb")"

# 2. Contents.
expect_files() {
  local deb="$1"; shift
  local list; list="$(dpkg-deb -c "$deb" | awk '{print $6}')"
  for f in "$@"; do
    grep -qx "./$f" <<<"$list" || fail "$(basename "$deb") lacks /$f"
  done
}
expect_files "$gw_deb" usr/sbin/gatehoused lib/systemd/system/gatehouse-gateway.service \
  etc/gatehouse/gateway.json usr/share/doc/gatehouse-gateway/copyright \
  usr/share/doc/gatehouse-gateway/changelog.gz usr/share/man/man8/gatehoused.8.gz \
  usr/share/gatehouse/prometheus/gatehouse-sla-rules.yml
expect_files "$tools_deb" usr/bin/gatehouse usr/bin/policyc usr/bin/auditctl usr/bin/ghkey \
  usr/share/doc/gatehouse-tools/copyright usr/share/man/man1/ghkey.1.gz
expect_files "$wb_deb" usr/bin/gatehouse-workbench usr/share/doc/gatehouse-workbench/workbench.md \
  usr/share/doc/gatehouse-workbench/copyright usr/share/man/man1/gatehouse-workbench.1.gz
dpkg-deb -f "$wb_deb" Depends | grep -q libjs-codemirror ||
  fail "gatehouse-workbench does not depend on libjs-codemirror"
dpkg-deb -f "$gw_deb" Depends | grep -q adduser || fail "gatehouse-gateway does not depend on adduser"
dpkg-deb -f "$gw_deb" Depends | grep -q libsystemd0 || fail "gatehouse-gateway does not depend on libsystemd0"
dpkg-deb --ctrl-tarfile "$gw_deb" | tar -t | grep -qx ./conffiles || fail "no conffiles"
echo "   contents, dependencies and conffiles: ok"

# 3. lintian.
if command -v lintian >/dev/null; then
  lintian --fail-on error,warning "$gw_deb" "$tools_deb" "$wb_deb" >"$tmp/lintian.log" 2>&1 ||
    { cat "$tmp/lintian.log"; fail "lintian found errors or warnings"; }
  echo "   lintian: no error or warning"
else
  echo "   lintian: not installed, skipped (scripts/setup.sh installs it)"
fi

# 4. Unpacked: the programs run, the unit verifies.
dpkg-deb -x "$gw_deb" "$tmp/root"
dpkg-deb -x "$tools_deb" "$tmp/root"
dpkg-deb -x "$wb_deb" "$tmp/root"
for t in usr/bin/gatehouse usr/bin/auditctl usr/bin/ghkey usr/bin/gatehouse-workbench; do
  "$tmp/root/$t" --version >/dev/null || fail "/$t --version failed"
done
"$tmp/root/usr/sbin/gatehoused" --help >/dev/null || fail "gatehoused --help failed"
"$tmp/root/usr/bin/policyc" --help >/dev/null || fail "policyc --help failed"
unit="$tmp/gatehouse-gateway.service"
sed "s#/usr/sbin/gatehoused#$tmp/root/usr/sbin/gatehoused#" \
  "$tmp/root/lib/systemd/system/gatehouse-gateway.service" >"$unit"
systemd-analyze verify "$unit" || fail "systemd-analyze verify refused the unit"
score="$(systemd-analyze security --offline=true --threshold=20 "$unit" 2>&1 | tail -1)" ||
  fail "systemd-analyze security: $score"
echo "   unpacked: tools answer --version; unit verifies; ${score#→ }"

# 5. Installed.
if [ "${GATEHOUSE_SMOKE_INSTALL:-}" != 1 ] && [ "${CI:-}" != true ]; then
  echo "   install: skipped (set GATEHOUSE_SMOKE_INSTALL=1 to install, run and purge them)"
  exit 0
fi
[ "$(id -u)" -eq 0 ] || fail "installing needs root"
[ -n "$demo" ] && [ -d "$demo/pki" ] || fail "installing needs DEMO_RUN_DIR from scripts/demo.sh"
if dpkg-query -W -f='${Status}' gatehouse-gateway gatehouse-tools gatehouse-workbench 2>/dev/null | grep -q installed ||
   getent passwd gatehouse >/dev/null || [ -e /etc/gatehouse ]; then
  echo "   install: skipped (Gatehouse is installed on this machine already)"
  exit 0
fi
installed_here=1
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
  "$gw_deb" "$tools_deb" "$wb_deb" >"$tmp/install.log" 2>&1 || { cat "$tmp/install.log"; fail "apt-get install failed"; }
getent passwd gatehouse >/dev/null || fail "postinst made no gatehouse user"
[ "$(stat -c '%U %a' /etc/gatehouse/keys)" = "gatehouse 700" ] || fail "/etc/gatehouse/keys: $(stat -c '%U %a' /etc/gatehouse/keys)"
gatehouse --version >/dev/null && ghkey --version >/dev/null && auditctl --version >/dev/null ||
  fail "installed tools do not answer --version"
systemd-analyze verify /lib/systemd/system/gatehouse-gateway.service ||
  fail "systemd-analyze verify refused the installed unit"

# The operator's part: keys and certificates where the example config
# names them, and one edit of the config (this organisation's id; ports
# any free one, written to a ports file, so the smoke run collides with
# nothing).
o=council-a
install -d -m 0755 /etc/gatehouse/tls /etc/gatehouse/tls/crl /etc/gatehouse/officers
install -m 0644 "$demo/pki/$o/gateway.crt" /etc/gatehouse/tls/gateway.crt
install -m 0644 "$demo/pki/ca.crt" /etc/gatehouse/tls/ca.crt
cp -a "$demo/pki/crl/." /etc/gatehouse/tls/crl/
install -o gatehouse -g gatehouse -m 0600 "$demo/pki/$o/gateway.key" /etc/gatehouse/keys/gateway-tls.key
install -o gatehouse -g gatehouse -m 0600 "$demo/keys/$o.keyset.json" /etc/gatehouse/keys/keyset.json
install -o gatehouse -g gatehouse -m 0600 "$demo/keys/$o.audit.key" /etc/gatehouse/keys/audit.key
install -o gatehouse -g gatehouse -m 0600 "$demo/keys/$o.cosigner.key" /etc/gatehouse/keys/cosigner.key
install -m 0644 "$demo/directory.signed" /etc/gatehouse/directory.signed
install -m 0644 "$demo/authority.json" /etc/gatehouse/authority.json
install -m 0644 "$demo/policy-1of2.bundle" /etc/gatehouse/policy.bundle
install -m 0644 "$demo/keys/alice.pub" /etc/gatehouse/officers/officer-1.pub
sed -i -e "s/\"example-org\"/\"$o\"/" -e 's/"[0-9.]*:7[123]01"/"127.0.0.1:0"/' \
  -e 's#"dataDir": "/var/lib/gatehouse",#&\n  "portsFile": "/var/lib/gatehouse/ports.json",#' \
  /etc/gatehouse/gateway.json

# Run it as systemd would: the gatehouse user, from /var/lib/gatehouse,
# with a NOTIFY_SOCKET that a listener writes to notify.log.
chmod 0755 "$tmp"
notify=""
if command -v python3 >/dev/null; then
  notify="$tmp/notify.sock"
  python3 - "$notify" "$tmp/notify.log" <<'PY' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o777)
with open(sys.argv[2], "a", buffering=1) as log:
    while True:
        log.write(s.recv(4096).decode().replace("\n", " ") + "\n")
PY
  listener_pid=$!
  for _ in $(seq 50); do [ -S "$notify" ] && break; sleep 0.1; done
fi
(cd /var/lib/gatehouse && exec setpriv --reuid=gatehouse --regid=gatehouse --init-groups \
   env ${notify:+NOTIFY_SOCKET=$notify} /usr/sbin/gatehoused --config /etc/gatehouse/gateway.json) \
  >"$tmp/gatehoused.log" 2>&1 &
gw_pid=$!
for _ in $(seq 100); do
  [ -s /var/lib/gatehouse/ports.json ] && break
  kill -0 "$gw_pid" 2>/dev/null || { cat "$tmp/gatehoused.log"; fail "installed gatehoused exited"; }
  sleep 0.2
done
[ -s /var/lib/gatehouse/ports.json ] || { cat "$tmp/gatehoused.log"; fail "gatehoused wrote no ports file"; }
admin_port="$(sed -n 's/.*"adminPort": *\([0-9]*\).*/\1/p' /var/lib/gatehouse/ports.json)"
if [ -n "$notify" ]; then
  for _ in $(seq 50); do grep -q READY=1 "$tmp/notify.log" 2>/dev/null && break; sleep 0.1; done
  grep -q READY=1 "$tmp/notify.log" || fail "gatehoused sent no READY=1"
fi
exec 3<>"/dev/tcp/127.0.0.1/$admin_port"
printf 'GET /readyz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' >&3
readyz="$(cat <&3)"; exec 3<&-
head -1 <<<"$readyz" | grep -q " 200 " || { echo "$readyz"; fail "installed gatehoused is not ready"; }
kill -HUP "$gw_pid"; sleep 0.5
kill -0 "$gw_pid" 2>/dev/null || { cat "$tmp/gatehoused.log"; fail "gatehoused died on SIGHUP"; }
kill -TERM "$gw_pid"
wait "$gw_pid" || fail "gatehoused did not exit 0 on SIGTERM"
gw_pid=""
[ "$(stat -c %U /var/lib/gatehouse/audit)" = gatehouse ] || fail "the audit log is not the gatehouse user's"
echo "   installed: gatehoused ran as gatehouse with the example config, READY=1" \
     "${notify:+sent, }/readyz 200, SIGHUP kept it running, SIGTERM stopped it"

# The installed workbench: started on loopback as an officer would, its page
# and the installed CodeMirror served, stopped.
gatehouse-workbench --listen 127.0.0.1:0 --policy "$root/policy/examples/northshire.ghp" \
  >"$tmp/workbench.log" 2>&1 &
wb_pid=$!
url=""
for _ in $(seq 100); do
  url="$(grep -o 'http://127.0.0.1:[0-9]*/' "$tmp/workbench.log" || true)"
  [ -n "$url" ] && break
  kill -0 "$wb_pid" 2>/dev/null || { cat "$tmp/workbench.log"; fail "installed gatehouse-workbench exited"; }
  sleep 0.1
done
[ -n "$url" ] || { cat "$tmp/workbench.log"; fail "installed gatehouse-workbench did not start"; }
python3 - "$url" <<'PY' || { kill "$wb_pid"; fail "installed gatehouse-workbench did not serve its page"; }
import sys, urllib.request
page = urllib.request.urlopen(sys.argv[1], timeout=10).read().decode()
assert "Gatehouse policy workbench" in page, page[:200]
editor = urllib.request.urlopen(sys.argv[1] + "cm/codemirror.js", timeout=10).read()
assert b"CodeMirror" in editor, editor[:200]
PY
kill -TERM "$wb_pid"; wait "$wb_pid" || fail "gatehouse-workbench did not exit 0 on SIGTERM"
echo "   installed: gatehouse-workbench served its page and Debian's CodeMirror"
