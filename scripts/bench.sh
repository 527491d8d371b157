#!/usr/bin/env bash
# The AWS benchmark (slow; not part of scripts/test.sh). Prints figures, asserts none.
#
#   scripts/bench.sh                      # everything, 100,000 open handoffs for the sweep
#   scripts/bench.sh --sweep-open 20000   # any handoff-bench argument is passed on (see --help)
#   scripts/bench.sh --only cold,size     # (intake, cost, sweep, cold, size)
#
# 1. builds the release binaries in ONE cargo invocation (lto + codegen-units=1: 10-20 minutes
#    from scratch on 2 cores): the six functions, hello-lambda (the cold-start baseline) and
#    handoff-bench;
# 2. starts the AWS emulator (scripts/emulator.sh: moto on 127.0.0.1, a free port) — or, when
#    AWS_ENDPOINT_URL is already set, uses that emulator and leaves it alone;
# 3. runs target/release/handoff-bench against it, with the release binaries beside it;
# 4. stops the emulator again — unless it was already running when we started (another run of
#    scripts/test.sh may be using it).
# Needs the Rust toolchain, python3 (for moto) and optionally `zip`; reads no stdin.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

TARGET_DIR="${CARGO_TARGET_DIR:-target}"

echo "== release build: 6 functions + hello-lambda + handoff-bench" >&2
cargo build --release \
  -p handoff-fn-intake -p handoff-fn-classify -p handoff-fn-assign \
  -p handoff-fn-failover -p handoff-fn-claim -p handoff-fn-audit \
  -p handoff-bench </dev/null

echo "== AWS emulator" >&2
if [[ -n "${AWS_ENDPOINT_URL:-}" ]]; then
  # An emulator of the caller's own (e.g. a private moto on another port): use it as it is.
  echo "using the emulator at $AWS_ENDPOINT_URL (AWS_ENDPOINT_URL is set: not starting or stopping one)" >&2
else
  already_running=false
  if scripts/emulator.sh status >/dev/null 2>&1; then
    already_running=true
  fi
  eval "$(scripts/emulator.sh start </dev/null)"
  if [[ "$already_running" == false ]]; then
    trap 'scripts/emulator.sh stop >&2 || true' EXIT
  else
    echo "the emulator was already running; leaving it running afterwards" >&2
  fi
fi
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
export AWS_REGION="${AWS_REGION:-us-east-1}"

echo "== handoff-bench" >&2
"$TARGET_DIR/release/handoff-bench" --bin-dir "$TARGET_DIR/release" "$@" </dev/null
