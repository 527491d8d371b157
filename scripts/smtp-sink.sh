#!/usr/bin/env bash
# Local SMTP sink (aiosmtpd, scripts/smtp_sink.py) for the email notifier tests.
#
#   eval "$(scripts/smtp-sink.sh start)"   # installs aiosmtpd if needed, starts the sink, exports
#                                          # HANDOFF_TEST_SMTP=127.0.0.1:<port> and
#                                          # HANDOFF_TEST_SMTP_DIR=<dir with one .eml per message>
#   scripts/smtp-sink.sh status            # prints host:port if it is running (exit 1 if not)
#   scripts/smtp-sink.sh stop              # stops it
#
# Plain SMTP on 127.0.0.1, a free port. Every accepted message is saved as a .eml file (with
# X-Sink-* envelope headers on top); recipients `reject-…@` get 550, `defer-…@` get 451, and
# AUTH accepts any user with the password `sink-secret` (see scripts/smtp_sink.py).
#
# State lives in .tools/ (gitignored): the venv (.tools/smtp-venv), the log (.tools/smtp.log),
# the PID (.tools/smtp.pid), the address (.tools/smtp.endpoint) and the mail directory
# (.tools/smtp-mail, emptied when a new sink starts). `start` is idempotent: when the sink
# already runs and answers it only prints the export lines again. Only the export lines go to
# stdout; progress goes to stderr. Needs python3 with the venv module; no stdin.
set -euo pipefail

AIOSMTPD_VERSION="1.4.6"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
VENV="$TOOLS/smtp-venv"
LOG="$TOOLS/smtp.log"
PID_FILE="$TOOLS/smtp.pid"
ENDPOINT_FILE="$TOOLS/smtp.endpoint"
MAIL_DIR="$TOOLS/smtp-mail"
SINK="$ROOT/scripts/smtp_sink.py"
START_TIMEOUT_SECS=20

say() { echo "smtp-sink: $*" >&2; }
die() {
  say "$*"
  exit 1
}

# Whether an SMTP server greets with 220 at host:port $1.
answers() {
  "$VENV/bin/python" - "$1" <<'PY' >/dev/null 2>&1
import socket, sys
host, port = sys.argv[1].rsplit(":", 1)
with socket.create_connection((host, int(port)), timeout=2) as s:
    s.settimeout(2)
    greeting = s.recv(512)
    s.sendall(b"QUIT\r\n")
sys.exit(0 if greeting.startswith(b"220") else 1)
PY
}

# Whether the PID in the pid file is a live sink.
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
    [[ "$cmdline" == *smtp_sink.py* ]] || return 1
  fi
  echo "$pid"
}

installed_version() {
  "$VENV/bin/python" -c 'import importlib.metadata as m, aiosmtpd.smtp; print(m.version("aiosmtpd"))' 2>/dev/null || true
}

ensure_installed() {
  command -v python3 >/dev/null || die "python3 is required to run the SMTP sink"
  if [[ ! -x "$VENV/bin/python" ]]; then
    say "creating $VENV"
    python3 -m venv "$VENV" </dev/null >&2
  fi
  if [[ "$(installed_version)" != "$AIOSMTPD_VERSION" ]]; then
    say "installing aiosmtpd==$AIOSMTPD_VERSION into $VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-input \
      "aiosmtpd==$AIOSMTPD_VERSION" </dev/null >&2
  fi
  [[ "$(installed_version)" == "$AIOSMTPD_VERSION" ]] || die "aiosmtpd $AIOSMTPD_VERSION did not install into $VENV"
}

free_port() {
  "$VENV/bin/python" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

exports() {
  echo "export HANDOFF_TEST_SMTP=$1"
  echo "export HANDOFF_TEST_SMTP_DIR=$MAIL_DIR"
}

start() {
  mkdir -p "$TOOLS"
  ensure_installed
  local pid endpoint
  if pid="$(running_pid)" && [[ -f "$ENDPOINT_FILE" ]]; then
    endpoint="$(cat "$ENDPOINT_FILE")"
    if answers "$endpoint"; then
      say "already running (pid $pid) at $endpoint"
      exports "$endpoint"
      return 0
    fi
    say "pid $pid does not answer at $endpoint; restarting"
    stop
  fi
  rm -f "$PID_FILE" "$ENDPOINT_FILE"
  mkdir -p "$MAIL_DIR"
  find "$MAIL_DIR" -maxdepth 1 -type f \( -name '*.eml' -o -name '.*.tmp' \) -delete

  local port
  port="$(free_port)"
  endpoint="127.0.0.1:$port"
  # 9>&-: the sink must not inherit (and so hold) the start/stop lock.
  nohup "$VENV/bin/python" "$SINK" --host 127.0.0.1 --port "$port" --dir "$MAIL_DIR" \
    >"$LOG" 2>&1 </dev/null 9>&- &
  pid=$!

  local waited=0
  until answers "$endpoint"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 20 "$LOG" >&2 || true
      die "the sink exited during start-up (log: $LOG)"
    fi
    if ((waited >= START_TIMEOUT_SECS * 4)); then
      kill "$pid" 2>/dev/null || true
      tail -n 20 "$LOG" >&2 || true
      die "the sink did not answer at $endpoint within ${START_TIMEOUT_SECS}s (log: $LOG)"
    fi
    sleep 0.25
    waited=$((waited + 1))
  done

  echo "$pid" >"$PID_FILE"
  echo "$endpoint" >"$ENDPOINT_FILE"
  say "aiosmtpd $AIOSMTPD_VERSION running (pid $pid) at $endpoint, mail in $MAIL_DIR"
  exports "$endpoint"
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
    say "running (pid $pid), mail in $MAIL_DIR"
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
    exec 9>"$TOOLS/smtp.lock"
    flock -w 120 9 || die "another smtp-sink.sh holds $TOOLS/smtp.lock"
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
