#!/usr/bin/env bash
# Builds the six Lambda functions for `provided.al2023` on arm64 (Graviton), ready for
# `sam deploy --template-file infra/template.yaml`.
#
#   scripts/build-lambdas.sh                  # all six: intake classify assign failover claim audit
#   scripts/build-lambdas.sh intake claim     # only these (the others keep their last build)
#
# 1. installs what the cross build needs, once, into .tools/ (gitignored): cargo-lambda and
#    ziglang (the linker for aarch64-unknown-linux-gnu; no system cross toolchain needed) from
#    PyPI at the pinned versions below, in the venv .tools/lambda-venv (reinstalled when the
#    installed versions differ from the pins), and the `aarch64-unknown-linux-gnu` Rust target
#    through rustup;
# 2. runs ONE `cargo lambda build --release --arm64 -p handoff-fn-…` for all the functions, so
#    the shared crates compile once (release profile: LTO, one codegen unit, stripped — 10-20
#    minutes from scratch on 2 cores, seconds when nothing changed);
# 3. leaves `target/lambda/<fn>/bootstrap` — the template's CodeUri is `../target/lambda/<fn>/`
#    relative to infra/, and `sam deploy` zips that whole directory, so nothing else may sit
#    there: a stray zip from an earlier `--output-format zip` is removed;
# 4. prints, per function, the binary size and the size of the zip `sam deploy` uploads
#    (measured by zipping the bootstrap with deflate into target/lambda-zips/, outside CodeUri).
#
# Idempotent and unattended (reads no stdin, never prompts). Needs the Rust toolchain with
# rustup, python3 with the venv module, and PyPI + the rustup dist server on the first run.
# Exits non-zero with a message naming what is missing or what failed.
set -euo pipefail

CARGO_LAMBDA_VERSION="1.9.2"
ZIGLANG_VERSION="0.14.1"
RUST_TARGET="aarch64-unknown-linux-gnu"
ALL_FUNCTIONS=(intake classify assign failover claim audit)

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.tools/lambda-venv"
LAMBDA_DIR="$ROOT/target/lambda"
ZIP_DIR="$ROOT/target/lambda-zips"

say() { echo "build-lambdas: $*" >&2; }
die() {
  say "error: $*"
  exit 1
}

# Which functions: the arguments, or all six.
FUNCTIONS=("$@")
((${#FUNCTIONS[@]})) || FUNCTIONS=("${ALL_FUNCTIONS[@]}")
for fn in "${FUNCTIONS[@]}"; do
  [[ " ${ALL_FUNCTIONS[*]} " == *" $fn "* ]] ||
    die "unknown function '$fn' (expected some of: ${ALL_FUNCTIONS[*]})"
done

version_of() {
  "$VENV/bin/python" -c 'import importlib.metadata as m, sys; print(m.version(sys.argv[1]))' "$1" 2>/dev/null || true
}

ensure_python_tools() {
  command -v python3 >/dev/null || die "python3 is required (cargo-lambda and zig are installed from PyPI into $VENV)"
  if [[ ! -x "$VENV/bin/python" ]]; then
    say "creating $VENV"
    mkdir -p "$(dirname "$VENV")"
    python3 -m venv "$VENV" </dev/null >&2 ||
      die "python3 -m venv failed (on Debian/Ubuntu: apt-get install python3-venv)"
  fi
  if [[ "$(version_of cargo-lambda)" != "$CARGO_LAMBDA_VERSION" || "$(version_of ziglang)" != "$ZIGLANG_VERSION" ]]; then
    say "installing cargo-lambda==$CARGO_LAMBDA_VERSION ziglang==$ZIGLANG_VERSION into $VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-input \
      "cargo-lambda==$CARGO_LAMBDA_VERSION" "ziglang==$ZIGLANG_VERSION" </dev/null >&2 ||
      die "pip could not install cargo-lambda==$CARGO_LAMBDA_VERSION / ziglang==$ZIGLANG_VERSION (is PyPI reachable?)"
  fi
  [[ "$(version_of cargo-lambda)" == "$CARGO_LAMBDA_VERSION" && -x "$VENV/bin/cargo-lambda" ]] ||
    die "cargo-lambda $CARGO_LAMBDA_VERSION did not install into $VENV"
  [[ "$(version_of ziglang)" == "$ZIGLANG_VERSION" ]] || die "ziglang $ZIGLANG_VERSION did not install into $VENV"
  "$VENV/bin/python" -m ziglang version </dev/null >/dev/null 2>&1 ||
    die "zig from the ziglang package does not run ($VENV/bin/python -m ziglang version)"
}

ensure_rust_target() {
  command -v cargo >/dev/null || die "cargo is required (install Rust with rustup: https://rustup.rs)"
  local sysroot
  sysroot="$(cd "$ROOT" && rustc --print sysroot)"
  [[ -d "$sysroot/lib/rustlib/$RUST_TARGET" ]] && return 0
  command -v rustup >/dev/null ||
    die "the Rust standard library for $RUST_TARGET is missing and rustup is not installed to add it"
  say "adding the Rust target $RUST_TARGET"
  (cd "$ROOT" && rustup target add "$RUST_TARGET" </dev/null >&2) ||
    die "rustup target add $RUST_TARGET failed (is the rustup dist server reachable?)"
}

build() {
  local packages=() fn
  for fn in "${FUNCTIONS[@]}"; do packages+=(-p "handoff-fn-$fn"); done
  say "cargo lambda build --release --arm64 ${packages[*]}"
  # The venv first on PATH: cargo-zigbuild finds zig as `python3 -m ziglang` there.
  (cd "$ROOT" && PATH="$VENV/bin:$PATH" CI=true \
    cargo lambda build --release --arm64 --compiler cargo-zigbuild \
    --lambda-dir "$LAMBDA_DIR" "${packages[@]}" </dev/null) ||
    die "cargo lambda build failed (see the compiler output above)"
}

# Checks each bootstrap, clears stray files from the CodeUri directories, zips and prints sizes.
report() {
  mkdir -p "$ZIP_DIR"
  "$VENV/bin/python" - "$LAMBDA_DIR" "$ZIP_DIR" "${FUNCTIONS[@]}" <<'PY'
import os, sys, zipfile

lambda_dir, zip_dir, functions = sys.argv[1], sys.argv[2], sys.argv[3:]
EM_AARCH64 = 183
rows, problems = [], []
for fn in functions:
    code_dir = os.path.join(lambda_dir, fn)
    binary = os.path.join(code_dir, "bootstrap")
    if not os.path.isfile(binary):
        problems.append(f"{binary} is missing")
        continue
    with open(binary, "rb") as f:
        head = f.read(20)
    if head[:4] != b"\x7fELF" or int.from_bytes(head[18:20], "little") != EM_AARCH64:
        problems.append(f"{binary} is not an aarch64 ELF executable")
        continue
    # sam deploy zips the whole CodeUri directory: only the bootstrap belongs there.
    for name in os.listdir(code_dir):
        if name.endswith(".zip"):
            os.remove(os.path.join(code_dir, name))
            print(f"build-lambdas: removed stray {os.path.join(code_dir, name)}", file=sys.stderr)
    extra = sorted(n for n in os.listdir(code_dir) if n != "bootstrap")
    if extra:
        print(f"build-lambdas: warning: {code_dir} also holds {', '.join(extra)}; sam deploy uploads it too",
              file=sys.stderr)
    zip_path = os.path.join(zip_dir, f"{fn}.zip")
    info = zipfile.ZipInfo("bootstrap", date_time=(1980, 1, 1, 0, 0, 0))
    info.external_attr = 0o100755 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    with open(binary, "rb") as f, zipfile.ZipFile(zip_path + ".tmp", "w") as z:
        z.writestr(info, f.read())
    os.replace(zip_path + ".tmp", zip_path)
    rows.append((fn, os.path.getsize(binary), os.path.getsize(zip_path)))

if rows:
    mb = lambda n: f"{n / 1e6:.2f} MB"
    print(f"{'function':<10} {'binary':>10} {'zip':>10}   (MB = 10^6 bytes; zips in {zip_dir})")
    for fn, binary, zipped in rows:
        print(f"{fn:<10} {mb(binary):>10} {mb(zipped):>10}")
    print(f"{'total':<10} {mb(sum(r[1] for r in rows)):>10} {mb(sum(r[2] for r in rows)):>10}")
for p in problems:
    print(f"build-lambdas: error: {p}", file=sys.stderr)
sys.exit(1 if problems else 0)
PY
}

started=$SECONDS
ensure_rust_target
ensure_python_tools
build
report || die "the build did not produce every bootstrap"
say "done in $((SECONDS - started))s; deploy with: sam deploy --template-file infra/template.yaml"
