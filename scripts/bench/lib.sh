# Helpers sourced by scripts/bench.sh.

# free_ports N: prints N distinct loopback TCP ports free right now.
free_ports() {
  python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

# wait_for_file FILE PID WHAT: waits up to 10 s for FILE while PID lives.
wait_for_file() {
  local f="$1" pid="$2" what="$3"
  for _ in $(seq 200); do
    [ -s "$f" ] && return 0
    kill -0 "$pid" 2>/dev/null || { echo "bench: $what exited while starting" >&2; return 1; }
    sleep 0.05
  done
  echo "bench: $what did not start within 10 s" >&2
  return 1
}

# stop_pid PID: SIGTERM, then SIGKILL after 10 s; only the pid given.
stop_pid() {
  local pid="$1"
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}
