#!/usr/bin/env bash
# Validates infra/template.yaml with cfn-lint (pinned), installed on first use.
#
#   scripts/lint-infra.sh [extra cfn-lint args…]
#
# Two passes, both must be free of errors:
#   1. cfn-lint on the SAM template itself (cfn-lint 1.x checks AWS::Serverless::* resources
#      against the SAM schema and everything else against the CloudFormation schemas);
#   2. the template expanded by the SAM translator (what CloudFormation deploys: the functions,
#      function URLs and their permissions, event source mappings, schedules…), linted again,
#      so properties SAM passes through (FunctionResponseTypes, BatchSize, Runtime,
#      Architectures…) are checked against the real resource schemas.
#
# Tools live in .tools/lint-venv (gitignored) and are (re)installed whenever the installed
# versions differ from the pins below; the expanded template is written to .tools/lint-out/.
# Exits non-zero when cfn-lint reports an error or the SAM transform fails; warnings and
# informational findings are printed but do not fail the run unless LINT_STRICT=1 (then
# warnings fail too). LINT_REGIONS (default us-east-1) picks the regions to check against.
# Needs python3 with the venv module and PyPI access on the first run; never reads stdin, so it
# runs unattended (CI=true).
set -euo pipefail

CFN_LINT_VERSION="1.58.0"
SAM_TRANSLATOR_VERSION="1.115.0"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.tools/lint-venv"
OUT="$ROOT/.tools/lint-out"
TEMPLATE="$ROOT/infra/template.yaml"
EXPANDED="$OUT/template.expanded.json"
read -r -a REGIONS <<<"${LINT_REGIONS:-us-east-1}"

say() { echo "lint-infra: $*" >&2; }
die() {
  say "$*"
  exit 1
}

version_of() {
  "$VENV/bin/python" -c 'import importlib.metadata as m, sys; print(m.version(sys.argv[1]))' "$1" 2>/dev/null || true
}

ensure_installed() {
  command -v python3 >/dev/null || die "python3 is required to run cfn-lint"
  if [[ ! -x "$VENV/bin/python" ]]; then
    say "creating $VENV"
    mkdir -p "$(dirname "$VENV")"
    python3 -m venv "$VENV" </dev/null >&2
  fi
  if [[ "$(version_of cfn-lint)" != "$CFN_LINT_VERSION" || "$(version_of aws-sam-translator)" != "$SAM_TRANSLATOR_VERSION" ]]; then
    say "installing cfn-lint==$CFN_LINT_VERSION aws-sam-translator==$SAM_TRANSLATOR_VERSION into $VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-input \
      "cfn-lint==$CFN_LINT_VERSION" "aws-sam-translator==$SAM_TRANSLATOR_VERSION" </dev/null >&2
  fi
  [[ "$(version_of cfn-lint)" == "$CFN_LINT_VERSION" ]] || die "cfn-lint $CFN_LINT_VERSION did not install into $VENV"
  [[ "$(version_of aws-sam-translator)" == "$SAM_TRANSLATOR_VERSION" ]] ||
    die "aws-sam-translator $SAM_TRANSLATOR_VERSION did not install into $VENV"
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

[[ -f "$TEMPLATE" ]] || die "no template at $TEMPLATE"
ensure_installed
mkdir -p "$OUT"

level="error"
if [[ "${LINT_STRICT:-0}" == "1" ]]; then
  level="warning"
fi

failed=0
say "cfn-lint $CFN_LINT_VERSION on infra/template.yaml (regions: ${REGIONS[*]}; fails on: $level)"
if ! "$VENV/bin/cfn-lint" --regions "${REGIONS[@]}" --non-zero-exit-code "$level" "$@" -- "$TEMPLATE" </dev/null; then
  failed=1
fi

say "SAM transform (aws-sam-translator $SAM_TRANSLATOR_VERSION) -> ${EXPANDED#"$ROOT"/}"
if AWS_DEFAULT_REGION="${REGIONS[0]}" "$VENV/bin/python" -c "$EXPAND_PY" "$TEMPLATE" "$EXPANDED" </dev/null; then
  say "cfn-lint $CFN_LINT_VERSION on the expanded template"
  if ! "$VENV/bin/cfn-lint" --regions "${REGIONS[@]}" --non-zero-exit-code "$level" "$@" -- "$EXPANDED" </dev/null; then
    failed=1
  fi
else
  failed=1
fi

if ((failed)); then
  die "the template has errors (see above)"
fi
say "ok"
