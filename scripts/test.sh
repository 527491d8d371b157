#!/usr/bin/env bash
# Runs every check and test of handoff. This is the README's test command and what CI runs.
#
#   scripts/test.sh
#
# 1. cargo fmt --check and cargo clippy -D warnings over the whole workspace (all targets and
#    features), and the infra checks over the SAM template (scripts/lint-infra.sh: cfn-lint,
#    `sam validate --lint` and checkov, each pinned and installed into .tools/);
# 2. starts the AWS emulator (moto, pinned, on 127.0.0.1, a free port) and the SMTP sink
#    (aiosmtpd, pinned, on 127.0.0.1, a free port; scripts/smtp-sink.sh) — installing each into
#    .tools/ on first use — and stops both on exit;
# 3. cargo test over the whole workspace; the DynamoDB/SQS/SES suites run against the emulator
#    (AWS_ENDPOINT_URL) and the SMTP notifier suite against the sink (HANDOFF_TEST_SMTP, with
#    each received message as a .eml file in HANDOFF_TEST_SMTP_DIR); with CI=true they fail,
#    never skip, if either cannot be reached. The console's browser test drives Debian's
#    chromium through playwright-core, both pinned and installed by scripts/browser.sh (apt-get
#    as root; playwright-core into .tools/browser/).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy -D warnings"
cargo clippy --workspace --all-targets --all-features --locked -- -D warnings

echo "== infra/template.yaml (cfn-lint, sam validate --lint, checkov; pinned)"
bash scripts/lint-infra.sh

echo "== AWS emulator"
eval "$(scripts/emulator.sh start)"
trap 'scripts/emulator.sh stop >&2 || true' EXIT
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
export AWS_REGION="${AWS_REGION:-us-east-1}"
echo "emulator at $AWS_ENDPOINT_URL"

echo "== SMTP sink"
eval "$(scripts/smtp-sink.sh start)"
trap 'scripts/smtp-sink.sh stop >&2 || true; scripts/emulator.sh stop >&2 || true' EXIT
echo "SMTP sink at $HANDOFF_TEST_SMTP (messages in $HANDOFF_TEST_SMTP_DIR)"

echo "== headless browser (chromium and playwright-core, pinned; scripts/browser.sh)"
eval "$(scripts/browser.sh install)"

echo "== cargo test"
cargo test --workspace --locked
