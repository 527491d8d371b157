#!/usr/bin/env bash
# The headless browser the console tests drive (cli/tests/console_browser.rs), pinned.
#
#   eval "$(scripts/browser.sh install)"   # installs what is missing, exports where it is
#   scripts/browser.sh status              # prints the export lines if both are installed (exit 1 if not)
#
# Installs, each only when the pinned version is not there yet:
# - Debian's `chromium` package ($CHROMIUM_VERSION, with `chromium-common` of the same version)
#   with apt-get, which needs root (CI runs as root); a different installed version is replaced;
# - `playwright-core` ($PLAYWRIGHT_VERSION) from the npm registry into .tools/browser/ (gitignored).
#   Only the driver: it launches /usr/bin/chromium (`executablePath`), never a browser of its own
#   (no `npx playwright install`, which downloads one and is refused on a closed network).
#
# Only the export lines go to stdout (HANDOFF_CHROMIUM, HANDOFF_BROWSER_TOOLS); progress goes to
# stderr. When Debian's archive no longer offers the pinned chromium (a security update replaced
# it), the install fails naming the version it offers: bump CHROMIUM_VERSION to it.
set -euo pipefail

CHROMIUM_VERSION="156.0.8078.108-1~deb12u1"
PLAYWRIGHT_VERSION="1.65.1"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools/browser"
CHROMIUM="/usr/bin/chromium"
LOG="$ROOT/.tools/browser-install.log"

say() { echo "browser: $*" >&2; }
die() {
  say "$*"
  exit 1
}

chromium_installed() {
  [[ "$(dpkg-query -W -f='${Status} ${Version}' chromium 2>/dev/null || true)" == "install ok installed $CHROMIUM_VERSION" ]] &&
    [[ -x "$CHROMIUM" ]]
}

# Whether apt offers the pinned chromium (output captured: `grep -q` on a pipe would cut
# apt-cache off, which pipefail reports as a failure).
chromium_offered() {
  local versions
  versions="$(apt-cache madison chromium 2>/dev/null || true)"
  [[ "$versions" == *"$CHROMIUM_VERSION"* ]]
}

playwright_installed() {
  [[ -f "$TOOLS/node_modules/playwright-core/package.json" ]] &&
    [[ "$(node -p "require('$TOOLS/node_modules/playwright-core/package.json').version" 2>/dev/null)" == "$PLAYWRIGHT_VERSION" ]]
}

exports() {
  echo "export HANDOFF_CHROMIUM=$CHROMIUM HANDOFF_BROWSER_TOOLS=$TOOLS"
}

install_chromium() {
  if chromium_installed; then
    say "chromium $CHROMIUM_VERSION already installed"
    return
  fi
  mkdir -p "$ROOT/.tools"
  [[ "$(id -u)" == 0 ]] || die "installing chromium $CHROMIUM_VERSION needs root (apt-get); run: sudo apt-get install -y --no-install-recommends chromium=$CHROMIUM_VERSION chromium-common=$CHROMIUM_VERSION"
  if ! chromium_offered; then
    say "updating the package lists"
    apt-get update -qq >"$LOG" 2>&1 || die "apt-get update failed: $(tail -5 "$LOG")"
  fi
  if ! chromium_offered; then
    local offered
    offered="$(apt-cache policy chromium 2>/dev/null | sed -n 's/^ *Candidate: //p')"
    die "Debian no longer offers chromium $CHROMIUM_VERSION (it offers ${offered:-nothing}); set CHROMIUM_VERSION in scripts/browser.sh to it"
  fi
  say "installing chromium $CHROMIUM_VERSION"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends --allow-downgrades \
    "chromium=$CHROMIUM_VERSION" "chromium-common=$CHROMIUM_VERSION" >"$LOG" 2>&1 ||
    die "apt-get install failed (log: $LOG): $(tail -5 "$LOG")"
  chromium_installed || die "chromium $CHROMIUM_VERSION is not installed after apt-get install"
}

install_playwright() {
  command -v node >/dev/null || die "node is needed for the browser tests (Debian: apt-get install nodejs npm)"
  if playwright_installed; then
    say "playwright-core $PLAYWRIGHT_VERSION already installed in $TOOLS"
    return
  fi
  say "installing playwright-core $PLAYWRIGHT_VERSION into $TOOLS"
  mkdir -p "$TOOLS"
  [[ -f "$TOOLS/package.json" ]] || echo '{"private": true}' >"$TOOLS/package.json"
  npm install --silent --no-audit --no-fund --save-exact --prefix "$TOOLS" \
    "playwright-core@$PLAYWRIGHT_VERSION" >"$LOG" 2>&1 ||
    die "npm install failed (log: $LOG): $(tail -5 "$LOG")"
  playwright_installed || die "playwright-core $PLAYWRIGHT_VERSION is not in $TOOLS after npm install"
}

case "${1:-}" in
install)
  install_chromium
  install_playwright
  exports
  ;;
status)
  chromium_installed || die "chromium $CHROMIUM_VERSION is not installed"
  playwright_installed || die "playwright-core $PLAYWRIGHT_VERSION is not in $TOOLS"
  exports
  ;;
*)
  echo "usage: eval \"\$(scripts/browser.sh install)\" | scripts/browser.sh status" >&2
  exit 2
  ;;
esac
