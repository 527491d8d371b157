#!/usr/bin/env bash
# Validates infra/template.yaml: cfn-lint, the SAM CLI's own validation, and checkov (all
# pinned), installed on first use.
#
#   scripts/lint-infra.sh [extra cfn-lint args…]
#
# Every pass must be free of errors:
#   1. cfn-lint on the SAM template itself (cfn-lint 1.x checks AWS::Serverless::* resources
#      against the SAM schema and everything else against the CloudFormation schemas);
#   2. the template expanded by the SAM translator (what CloudFormation deploys: the functions,
#      function URLs and their permissions, event source mappings, schedules…), linted again,
#      so properties SAM passes through (FunctionResponseTypes, BatchSize, Runtime,
#      Architectures…) are checked against the real resource schemas;
#   3. `sam validate --lint` with the pinned SAM CLI (what `sam deploy` users run; it also reads
#      infra/samconfig.toml, so a config file that does not parse fails here). It needs no AWS
#      credentials and makes no network call: it runs with its own HOME under .tools/ (no
#      ~/.aws, no AWS_PROFILE), telemetry off, and the weekly "newer version?" check to PyPI
#      marked as done;
#   4. checkov on the template: no failed check. A check that does not apply is skipped in the
#      resource's Metadata (checkov: skip:) with its reason, so the reasons live next to the
#      resources they concern;
#   5. checkov on the expanded template, to cover what SAM generates. The one check skipped on
#      the command line is CKV_AWS_258 (function URL AuthType NONE): SAM generates the
#      AWS::Lambda::Url resources, so no Metadata skip can be attached to them, and NONE is
#      deliberate (providers cannot sign SigV4; the code authenticates every request - see the
#      functions' comment in the template).
#
# Tools live in three venvs under .tools/ (gitignored; separate because their pins conflict):
# lint-venv (cfn-lint, aws-sam-translator), sam-venv (aws-sam-cli), checkov-venv (checkov).
# Each is (re)installed whenever its installed versions differ from the pins below; the
# expanded template is written to .tools/lint-out/. Warnings and informational cfn-lint findings
# are printed but do not fail the run unless LINT_STRICT=1 (then warnings fail too).
# LINT_REGIONS (default us-east-1) picks the regions to check against. Needs python3 with the
# venv module, PyPI access on the first run only, and never reads stdin, so it runs unattended
# (CI=true). About 25 s with the tools installed.
set -euo pipefail

CFN_LINT_VERSION="1.58.0"
SAM_TRANSLATOR_VERSION="1.115.0"
SAM_CLI_VERSION="1.170.0"
CHECKOV_VERSION="3.3.30"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
LINT_VENV="$TOOLS/lint-venv"
SAM_VENV="$TOOLS/sam-venv"
CHECKOV_VENV="$TOOLS/checkov-venv"
SAM_HOME="$TOOLS/sam-home"
OUT="$TOOLS/lint-out"
TEMPLATE="$ROOT/infra/template.yaml"
EXPANDED="$OUT/template.expanded.json"
read -r -a REGIONS <<<"${LINT_REGIONS:-us-east-1}"

say() { echo "lint-infra: $*" >&2; }
die() {
  say "$*"
  exit 1
}

# version_of VENV DIST: the installed version of DIST in VENV, or nothing.
version_of() {
  "$1/bin/python" -c 'import importlib.metadata as m, sys; print(m.version(sys.argv[1]))' "$2" 2>/dev/null || true
}

# ensure_venv VENV DIST==VERSION…: creates VENV and installs the pinned distributions unless
# they are installed at exactly those versions.
ensure_venv() {
  local venv="$1" pin current=1
  shift
  command -v python3 >/dev/null || die "python3 is required to lint the template"
  if [[ ! -x "$venv/bin/python" ]]; then
    say "creating ${venv#"$ROOT"/}"
    mkdir -p "$(dirname "$venv")"
    python3 -m venv "$venv" </dev/null >&2
  fi
  for pin in "$@"; do
    [[ "$(version_of "$venv" "${pin%%==*}")" == "${pin##*==}" ]] || current=0
  done
  if ((!current)); then
    say "installing $* into ${venv#"$ROOT"/}"
    "$venv/bin/pip" install --quiet --disable-pip-version-check --no-input "$@" </dev/null >&2
  fi
  for pin in "$@"; do
    [[ "$(version_of "$venv" "${pin%%==*}")" == "${pin##*==}" ]] || die "$pin did not install into $venv"
  done
}

# Expands the SAM template ($1) into plain CloudFormation JSON ($2). Local CodeUri paths (the
# cargo-lambda output, packaged by `sam deploy`) are replaced by placeholder S3 locations: the
# build output need not exist to lint.
EXPAND_PY='
import json, sys
from cfnlint.decode import decode
from samtranslator.model.exceptions import InvalidDocumentException
from samtranslator.translator.managed_policy_translator import ManagedPolicyLoader
from samtranslator.translator.transform import transform

class NoManagedPolicies(ManagedPolicyLoader):
    """The template names no managed policies; never call IAM."""
    def __init__(self):
        pass
    def load(self):
        return {}

source, target = sys.argv[1], sys.argv[2]
template, problems = decode(source)
if problems:
    for p in problems:
        print(p, file=sys.stderr)
    sys.exit(1)
for name, resource in (template.get("Resources") or {}).items():
    props = resource.get("Properties") or {}
    if isinstance(props.get("CodeUri"), str) and not props["CodeUri"].startswith("s3://"):
        props["CodeUri"] = "s3://lint-placeholder/" + name + ".zip"
try:
    expanded = transform(template, {}, NoManagedPolicies())
except InvalidDocumentException as e:
    for cause in e.causes:
        print("SAM transform: " + cause.message, file=sys.stderr)
    sys.exit(1)
with open(target, "w") as f:
    json.dump(expanded, f, indent=1, default=str)
'

# Runs the SAM CLI offline and without credentials: its own HOME (so neither ~/.aws nor the
# user's SAM settings are read), no profile or key variables, telemetry off, and the last
# version check set to now, so the CLI does not ask PyPI whether it is outdated.
sam_offline() {
  mkdir -p "$SAM_HOME/.aws-sam"
  printf '{"lastVersionCheck": %s.0, "telemetryEnabled": false}\n' "$(date +%s)" >"$SAM_HOME/.aws-sam/metadata.json"
  env -u AWS_PROFILE -u AWS_DEFAULT_PROFILE -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY \
    -u AWS_SESSION_TOKEN -u AWS_CONFIG_FILE -u AWS_SHARED_CREDENTIALS_FILE \
    HOME="$SAM_HOME" SAM_CLI_TELEMETRY=0 "$SAM_VENV/bin/sam" "$@" </dev/null
}

# Runs checkov offline: no policy download (--skip-download), output limited to failures.
checkov_offline() {
  HOME="$TOOLS/checkov-home" "$CHECKOV_VENV/bin/checkov" --skip-download --quiet --compact "$@" </dev/null
}

[[ -f "$TEMPLATE" ]] || die "no template at $TEMPLATE"
ensure_venv "$LINT_VENV" "cfn-lint==$CFN_LINT_VERSION" "aws-sam-translator==$SAM_TRANSLATOR_VERSION"
ensure_venv "$SAM_VENV" "aws-sam-cli==$SAM_CLI_VERSION"
ensure_venv "$CHECKOV_VENV" "checkov==$CHECKOV_VERSION"
mkdir -p "$OUT"

level="error"
if [[ "${LINT_STRICT:-0}" == "1" ]]; then
  level="warning"
fi

failed=()
say "cfn-lint $CFN_LINT_VERSION on infra/template.yaml (regions: ${REGIONS[*]}; fails on: $level)"
if ! "$LINT_VENV/bin/cfn-lint" --regions "${REGIONS[@]}" --non-zero-exit-code "$level" "$@" -- "$TEMPLATE" </dev/null; then
  failed+=("cfn-lint")
fi

expanded_ok=0
say "SAM transform (aws-sam-translator $SAM_TRANSLATOR_VERSION) -> ${EXPANDED#"$ROOT"/}"
if AWS_DEFAULT_REGION="${REGIONS[0]}" "$LINT_VENV/bin/python" -c "$EXPAND_PY" "$TEMPLATE" "$EXPANDED" </dev/null; then
  expanded_ok=1
  say "cfn-lint $CFN_LINT_VERSION on the expanded template"
  if ! "$LINT_VENV/bin/cfn-lint" --regions "${REGIONS[@]}" --non-zero-exit-code "$level" "$@" -- "$EXPANDED" </dev/null; then
    failed+=("cfn-lint (expanded)")
  fi
else
  failed+=("SAM transform")
fi

say "sam validate --lint (aws-sam-cli $SAM_CLI_VERSION, region ${REGIONS[0]}, offline)"
if ! sam_offline validate --lint --template-file "$TEMPLATE" --region "${REGIONS[0]}"; then
  failed+=("sam validate")
fi

say "checkov $CHECKOV_VERSION on infra/template.yaml"
if ! checkov_offline -f "$TEMPLATE"; then
  failed+=("checkov")
fi

if ((expanded_ok)); then
  say "checkov $CHECKOV_VERSION on the expanded template (CKV_AWS_258 skipped: SAM-generated function URLs)"
  if ! checkov_offline -f "$EXPANDED" --skip-check CKV_AWS_258; then
    failed+=("checkov (expanded)")
  fi
fi

if ((${#failed[@]})); then
  die "failed: $(printf '%s, ' "${failed[@]}")see above"
fi
say "ok"
