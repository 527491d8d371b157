#!/usr/bin/env bash
# Local AWS emulator (moto server, DynamoDB requests serialised: scripts/moto_server.py) for the
# DynamoDB/SQS adapter tests.
#
#   eval "$(scripts/emulator.sh start)"   # installs moto if needed, starts it, exports AWS_ENDPOINT_URL
#   scripts/emulator.sh status            # prints the endpoint if it is running (exit 1 if not)
#   scripts/emulator.sh stop              # stops it
#
# State lives in .tools/ (gitignored): the venv (.tools/moto-venv), the log (.tools/moto.log),
# the PID (.tools/moto.pid) and the endpoint (.tools/moto.endpoint). `start` is idempotent: when
# the emulator already runs and answers it only prints the export line again. Only the export
# line goes to stdout; progress goes to stderr. Needs python3 with the venv module; no stdin.
set -euo pipefail

MOTO_VERSION="5.2.5"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
VENV="$TOOLS/moto-venv"
LOG="$TOOLS/moto.log"
PID_FILE="$TOOLS/moto.pid"
ENDPOINT_FILE="$TOOLS/moto.endpoint"
START_TIMEOUT_SECS=30

say() { echo "emulator: $*" >&2; }
die() {
  say "$*"
  exit 1
}

# Whether an HTTP server answers at $1.
answers() {
  "$VENV/bin/python" - "$1" <<'PY' >/dev/null 2>&1
import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen(sys.argv[1] + "/moto-api/", timeout=2)
except urllib.error.HTTPError:
    pass  # any HTTP answer means the server is up
PY
}

# Whether the PID in the pid file is a live moto server.
running_pid() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid
  pid="$(cat "$PID_FILE")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  # Guard against a recycled PID.
  if [[ -r "/proc/$pid/cmdline" ]]; then
    local cmdline
    cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline")"
    [[ "$cmdline" == *moto_server* ]] || return 1
  fi
  echo "$pid"
}

installed_version() {
  "$VENV/bin/python" -c 'import importlib.metadata as m, flask, moto.server; print(m.version("moto"))' 2>/dev/null || true
}

ensure_installed() {
  command -v python3 >/dev/null || die "python3 is required to run moto"
  if [[ ! -x "$VENV/bin/python" ]]; then
    say "creating $VENV"
    python3 -m venv "$VENV" </dev/null >&2
  fi
  if [[ "$(installed_version)" != "$MOTO_VERSION" || ! -x "$VENV/bin/moto_server" ]]; then
    say "installing moto[server]==$MOTO_VERSION into $VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-input \
      "moto[server]==$MOTO_VERSION" </dev/null >&2
  fi
  [[ "$(installed_version)" == "$MOTO_VERSION" ]] || die "moto $MOTO_VERSION did not install into $VENV"
}

free_port() {
  "$VENV/bin/python" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

start() {
  mkdir -p "$TOOLS"
  ensure_installed
  local pid endpoint
  if pid="$(running_pid)" && [[ -f "$ENDPOINT_FILE" ]]; then
    endpoint="$(cat "$ENDPOINT_FILE")"
    if answers "$endpoint"; then
      say "already running (pid $pid) at $endpoint"
      echo "export AWS_ENDPOINT_URL=$endpoint"
      return 0
    fi
    say "pid $pid does not answer at $endpoint; restarting"
    stop
  fi
  rm -f "$PID_FILE" "$ENDPOINT_FILE"

  local port
  port="$(free_port)"
  endpoint="http://127.0.0.1:$port"
  # 9>&-: the server must not inherit (and so hold) the start/stop lock.
  # scripts/moto_server.py: moto's server with DynamoDB requests serialised (atomic item writes,
  # as in DynamoDB; moto's threads can lose concurrent ADDs).
  nohup "$VENV/bin/python" "$ROOT/scripts/moto_server.py" -H 127.0.0.1 -p "$port" >"$LOG" 2>&1 </dev/null 9>&- &
  pid=$!

  local waited=0
  until answers "$endpoint"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 20 "$LOG" >&2 || true
      die "moto_server exited during start-up (log: $LOG)"
    fi
    if ((waited >= START_TIMEOUT_SECS * 4)); then
      kill "$pid" 2>/dev/null || true
      tail -n 20 "$LOG" >&2 || true
      die "moto_server did not answer at $endpoint within ${START_TIMEOUT_SECS}s (log: $LOG)"
    fi
    sleep 0.25
    waited=$((waited + 1))
  done

  echo "$pid" >"$PID_FILE"
  echo "$endpoint" >"$ENDPOINT_FILE"
  say "moto $MOTO_VERSION running (pid $pid) at $endpoint"
  echo "export AWS_ENDPOINT_URL=$endpoint"
}

stop() {
  local pid
  if pid="$(running_pid)"; then
    kill "$pid" 2>/dev/null || true
    local i
    for i in $(seq 1 20); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.25
    done
    if kill -0 "$pid" 2>/dev/null; then
      kill -9 "$pid" 2>/dev/null || true
    fi
    say "stopped (pid $pid)"
  else
    say "not running"
  fi
  rm -f "$PID_FILE" "$ENDPOINT_FILE"
}

status() {
  local pid
  if pid="$(running_pid)" && [[ -f "$ENDPOINT_FILE" ]] && answers "$(cat "$ENDPOINT_FILE")"; then
    say "running (pid $pid)"
    cat "$ENDPOINT_FILE"
  else
    say "not running"
    return 1
  fi
}

# One start/stop at a time per working tree.
with_lock() {
  mkdir -p "$TOOLS"
  if command -v flock >/dev/null; then
    exec 9>"$TOOLS/moto.lock"
    flock -w 120 9 || die "another emulator.sh holds $TOOLS/moto.lock"
  fi
  "$@"
}

case "${1:-}" in
  start) with_lock start ;;
  stop) with_lock stop ;;
  status) status ;;
  *)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
