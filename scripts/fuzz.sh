#!/usr/bin/env bash
# Fuzzes handoff's untrusted inputs with cargo-fuzz (libFuzzer). Slow; NOT part of
# scripts/test.sh. Prints, per target, the executions and the crashes found, then a summary
# table; exits non-zero when any target crashed (or could not run).
#
# Targets (fuzz/fuzz_targets/, each says what it checks in its header):
#   typeform tally hubspot agent postmark mailgun sendgrid calendly calcom
#                     each provider's signature check and parser on a carved request
#   multipart mime quote_strip signature_header
#                     the shared parsers under them
#   event_json        the agent API's event and thread JSON; every event accepted must survive
#                     the store's JSON round trip and classify, route and render without panic
#   rules_toml        a rules document: `Rules::from_toml`, the `rules check` lint, and routing
#                     a few example events under those rules
#   claim_link        claim query/form/JSON parsing and verification (exact: accepted iff
#                     correctly signed and unexpired; every issued link reads back and verifies)
#   slack_actions     `POST /slack/actions`: the Slack signature check (accepts only genuinely
#                     signed, in-window requests) and the payload reader
#
# A crash found here is fixed in the code and its input kept as a regression test in that
# crate's ordinary tests (fuzz/artifacts/ is git-ignored).
#
#   scripts/fuzz.sh                          # every target, 60 s each
#   SECONDS_PER_TARGET=30 scripts/fuzz.sh    # shorter
#   scripts/fuzz.sh mime multipart           # only these targets
#
# Environment:
#   SECONDS_PER_TARGET   libFuzzer -max_total_time per target (default 60)
#   TIMEOUT_PER_INPUT    libFuzzer -timeout: one input running longer is a crash (default 20 s)
#   FUZZ_SANITIZER       force `address` or `none` (default: try address, fall back to none)
#
# 1. installs cargo-fuzz (pinned) into .tools/cargo-fuzz unless it is there already;
# 2. picks a nightly toolchain when rustup has one, else stable with RUSTC_BOOTSTRAP=1
#    (cargo fuzz needs -Z flags);
# 3. builds every target in fuzz/ (its own workspace, not the root one) with AddressSanitizer
#    and debug assertions (so arithmetic overflow panics too); if the ASan build fails on this
#    machine it falls back to `--sanitizer none` and says so (a Rust compile error stops the
#    script instead);
# 4. seeds fuzz/corpus/<target>/ at run time: the providers' from tests/fixtures/providers/
#    (and examples/events/ for the agent), signed with the targets' fixed secret and clock, in
#    their input layout (fuzz/fuzz_targets/common/mod.rs); event_json from examples/events/
#    and a thread; rules_toml from examples/handoff.toml and the roster of the routing lint's
#    tests, each also with extra `when` conditions; claim_link with links signed by the
#    target's keys; slack_actions from the Slack fixtures signed with its secrets. The corpus
#    is git-ignored;
# 5. runs each target for SECONDS_PER_TARGET with -rss_limit_mb=2048; crash inputs land in
#    fuzz/artifacts/<target>/, logs in fuzz/target/fuzz-logs/<target>.log.
# Needs rustup, a C++ compiler (libFuzzer is built from source) and python3 (seed building).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"

CARGO_FUZZ_VERSION=0.13.2
TOOLS="$ROOT/.tools/cargo-fuzz"
FUZZ_DIR="$ROOT/fuzz"
SECONDS_PER_TARGET="${SECONDS_PER_TARGET:-60}"
TIMEOUT_PER_INPUT="${TIMEOUT_PER_INPUT:-20}"
RSS_LIMIT_MB=2048
LOG_DIR="$FUZZ_DIR/target/fuzz-logs"

ALL_TARGETS=(typeform tally hubspot agent postmark mailgun sendgrid calendly calcom
  multipart mime quote_strip signature_header event_json rules_toml claim_link slack_actions)
if [[ $# -gt 0 ]]; then
  TARGETS=("$@")
else
  TARGETS=("${ALL_TARGETS[@]}")
fi
for t in "${TARGETS[@]}"; do
  [[ " ${ALL_TARGETS[*]} " == *" $t "* ]] || { echo "unknown target: $t (known: ${ALL_TARGETS[*]})" >&2; exit 2; }
done

say() { echo "== $*" >&2; }

# --- 1. cargo-fuzz, pinned ---------------------------------------------------------------------
if ! "$TOOLS/bin/cargo-fuzz" --version 2>/dev/null | grep -qx "cargo-fuzz $CARGO_FUZZ_VERSION"; then
  say "installing cargo-fuzz $CARGO_FUZZ_VERSION into .tools/cargo-fuzz"
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked --root "$TOOLS" </dev/null
fi
export PATH="$TOOLS/bin:$PATH"

# --- 2. toolchain --------------------------------------------------------------------------------
TOOLCHAIN=()
nightly="$(rustup toolchain list 2>/dev/null | awk '/^nightly/ {print $1; exit}')"
if [[ -n "$nightly" ]]; then
  TOOLCHAIN=("+$nightly")
  say "toolchain: $nightly ($(rustc "+$nightly" --version))"
else
  export RUSTC_BOOTSTRAP=1
  say "toolchain: no nightly installed; stable with RUSTC_BOOTSTRAP=1 ($(rustc --version))"
fi
fuzz() { cargo "${TOOLCHAIN[@]}" fuzz "$@"; }

# --- 3. build ------------------------------------------------------------------------------------
mkdir -p "$LOG_DIR"
# `cargo fuzz build` takes one target or none (= all); build all unless exactly one was named.
build_all() { # $1 = sanitizer
  if [[ ${#TARGETS[@]} -eq 1 ]]; then
    fuzz build --fuzz-dir "$FUZZ_DIR" --release --debug-assertions --sanitizer "$1" \
      "${TARGETS[0]}" </dev/null >"$LOG_DIR/build-$1.log" 2>&1
  else
    fuzz build --fuzz-dir "$FUZZ_DIR" --release --debug-assertions --sanitizer "$1" \
      </dev/null >"$LOG_DIR/build-$1.log" 2>&1
  fi
}
SANITIZER="${FUZZ_SANITIZER:-}"
if [[ -n "$SANITIZER" ]]; then
  say "building with --sanitizer $SANITIZER (FUZZ_SANITIZER is set; log: $LOG_DIR/build-$SANITIZER.log)"
  build_all "$SANITIZER" || { tail -40 "$LOG_DIR/build-$SANITIZER.log" >&2; exit 2; }
else
  say "building with --sanitizer address (log: $LOG_DIR/build-address.log)"
  if build_all address; then
    SANITIZER=address
  elif grep -aq '^error\[E[0-9]' "$LOG_DIR/build-address.log"; then
    # A Rust compile error (say, a file being edited) is no reason to drop the sanitizer.
    grep -a -A12 '^error\[E[0-9]' "$LOG_DIR/build-address.log" | head -40 >&2
    say "the fuzz targets or the code they test do not compile (above); nothing was fuzzed"
    exit 2
  else
    tail -15 "$LOG_DIR/build-address.log" >&2
    say "the AddressSanitizer build failed on this machine (above); FALLING BACK to --sanitizer none: panics are still caught, memory errors in C code are not"
    say "building with --sanitizer none (log: $LOG_DIR/build-none.log)"
    build_all none || { tail -40 "$LOG_DIR/build-none.log" >&2; exit 2; }
    SANITIZER=none
  fi
fi
say "built with --sanitizer $SANITIZER --release --debug-assertions"

# --- 4. seeds ------------------------------------------------------------------------------------
say "seeding fuzz/corpus/<target>/ (fixtures, example events and rules, signed links)"
python3 - "$ROOT" "$FUZZ_DIR/corpus" "${TARGETS[@]}" <<'PY'
import base64, hashlib, hmac, json, pathlib, re, sys, urllib.parse

root, corpus, targets = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3:]
fixtures = sorted(p for p in (root / "tests/fixtures/providers").iterdir()
                  if p.is_file() and p.name != "README.md")
events = sorted((root / "examples/events").glob("*.json"))

# Must match fuzz/fuzz_targets/common/mod.rs.
KEY, BASIC, NOW = b"fuzz-secret", b"user:password", 1_700_000_000
URL = b"https://fuzz.handoff.example/hook?x=1"
CT_JSON, CT_MULTIPART, CT_FORM = 0, 1, 2
FLAGS = 0x0F  # content-type + the three header slots, no duplicates, lower case, POST
SEP = b"xYzZY"

# Must match fuzz/fuzz_targets/claim_link.rs and slack_actions.rs.
CLAIM_KEY, CLAIM_PREVIOUS_KEY = b"fuzz-claim-key-0123456789abcdef!", b"fuzz-claim-key-previous-rotation"
SLACK_SECRET, SLACK_OLD_SECRET = b"fuzz-slack-secret", b"fuzz-slack-old"

def mac_with(key, msg): return hmac.new(key, msg, hashlib.sha256).digest()
def mac(msg): return mac_with(KEY, msg)
def b64(b): return base64.b64encode(b).decode()
def stem(p): return p.name.split(".")[0]

def slots(provider, body):
    if provider in ("agent", "calendly"):
        return [f"t={NOW},v1={mac(str(NOW).encode() + b'.' + body).hex()}"]
    if provider == "typeform": return ["sha256=" + b64(mac(body))]
    if provider == "tally": return [b64(mac(body))]
    if provider == "calcom": return [mac(body).hex()]
    if provider == "hubspot":
        ts = str(NOW * 1000).encode()
        return [b64(mac(b"POST" + URL + body + ts)), ts.decode(), "sha256=legacy-v1"]
    if provider in ("postmark", "sendgrid"): return ["Basic " + b64(BASIC)]
    return []

def request(provider, ct, material, body):
    s = (slots(provider, body) + ["", "", ""])[:3]
    return bytes([ct, FLAGS]) + material + b"\n" + b"".join(x.encode() + b"\n" for x in s) + body

def mailgun_fields(p):
    fields = []
    for line in p.read_text().splitlines():
        k, _, v = line.partition(":")
        fields.append((k.strip(), v[1:] if v.startswith(" ") else v))
    token = "f" * 50
    fields = [(k, v) for k, v in fields if k not in ("timestamp", "token", "signature")]
    fields += [("timestamp", str(NOW)), ("token", token),
               ("signature", mac(str(NOW).encode() + token.encode()).hex())]
    return fields

def form_multipart(fields, boundary=b"fuzzB0undary"):
    out = b""
    for k, v in fields:
        out += b"--" + boundary + b"\r\nContent-Disposition: form-data; name=\"" + k.encode() \
            + b"\"\r\n\r\n" + v.encode() + b"\r\n"
    return out + b"--" + boundary + b"--\r\n"

def mime_email(body):  # the `email` field of a SendGrid raw-mode body
    for part in body.split(b"\n--" + SEP):
        if b'name="email"' in part and b"\n\n" in part:
            return part.split(b"\n\n", 1)[1]
    return None

def write(target, name, data):
    d = corpus / target
    d.mkdir(parents=True, exist_ok=True)
    (d / f"seed-{name}").write_bytes(data)

for t in targets:
    for p in fixtures + (events if t == "agent" else []):
        body = p.read_bytes().replace(b"[email\xc2\xa0protected]", b"dana@acme.com") \
                             .replace(b"[email protected]", b"dana@acme.com")
        s = stem(p)
        if t in ("typeform", "tally", "hubspot", "agent", "postmark", "mailgun", "sendgrid",
                 "calendly", "calcom"):
            if p.name.endswith(".multipart.txt"):
                write(t, s, request(t, CT_MULTIPART, SEP, body))
            elif p.name.startswith("mailgun_"):
                fields = mailgun_fields(p)
                write(t, s + "-form", request(t, CT_FORM, b"",
                                              urllib.parse.urlencode(fields).encode()))
                write(t, s + "-multipart", request(t, CT_MULTIPART, b"fuzzB0undary",
                                                   form_multipart(fields)))
            elif p.suffix == ".txt":
                write(t, s, request(t, CT_FORM, b"", body))
            else:
                write(t, s, request(t, CT_JSON, b"", body))
        elif t == "multipart":
            if p.name.endswith(".multipart.txt"):
                write(t, s, SEP + b"\n" + body)
                write(t, s + "-quoted", b'"' + SEP + b'"\n' + body)
            elif p.name.startswith("mailgun_"):
                write(t, s, b"fuzzB0undary\n" + form_multipart(mailgun_fields(p)))
        elif t == "mime":
            if p.name.endswith(".multipart.txt"):
                email = mime_email(body)
                if email:
                    write(t, s + "-email", email)
                write(t, s + "-form", b"Content-Type: multipart/form-data; boundary=" + SEP
                      + b"\n\n" + body)
            elif p.name.startswith("mailgun_"):
                write(t, s, body)  # a header-like listing
        elif t == "quote_strip":
            write(t, s, body)
            if p.name.endswith(".multipart.txt") and mime_email(body):
                write(t, s + "-email", mime_email(body))
        elif t == "signature_header":
            v1 = mac(str(NOW).encode() + b"." + body).hex()
            write(t, s, f"t={NOW},v1={v1}".encode())
            write(t, s + "-rotation", f" v1={v1} , t = {NOW},v1={'0' * 64},x=y".encode())
    if t == "quote_strip":
        for i, text in enumerate([
            "Yes, Tuesday works.\n\nOn Tue, 3 Mar 2026 at 10:00, Vera <v@x.com> wrote:\n> hi\n",
            "Ja.\n\nVon: Vera\nGesendet: Dienstag\nAn: Dana\n\nalt",
            "Sure\n-- \nDana\n\nSent from my iPhone",
            "FYI\n\n---------- Forwarded message ---------\nFrom: Bob <b@x.com>\nDate: Mon\n\nhello",
        ]):
            write(t, f"reply-{i}", text.encode())
    if t == "event_json":  # the raw bodies of /v1/events and /v1/threads
        for p in events:
            write(t, stem(p), p.read_bytes())
        write(t, "thread", json.dumps({
            "thread_id": "vera-seq-42", "keys": ["<m1@mail.example>", "reply+t0k3n"],
            "buyer_email": "dana@acme.com", "sequence": "q4-security",
            "outreach_history": []}).encode())
    if t == "rules_toml":  # the example, the lint tests' roster, and both with extra conditions
        example = (root / "examples/handoff.toml").read_text()
        lint_tests = (root / "shared/domain/src/routing/lint/tests.rs").read_text()
        roster = re.search(r'const ROSTER: &str = r#"(.*?)"#;', lint_tests, re.S).group(1)
        extra = "".join(f'\n[[routing]]\nname = "extra {i}"\n{body}\n' for i, body in enumerate([
            'role = "ae"\nwhen = { any = [{ country = "de" }, { not = { seats = { at_least = 50 } } }] }',
            'role = "sdr"\nwhen = { all = [{ segment = "smb" }, { channel = ["web_form", "chat"] }] }',
            'role = "ae"\nwhen = { employees = { at_least = 10, at_most = 20, above = 9, below = 21 } }',
            'role = "ae"\nwhen = { existing_customer = true, lane = ["pricing", "legal_review"] }',
            'role = "sdr"\nwhen = { source = "Typeform", trigger = { in = ["demo_request"] } }',
        ]))
        write(t, "example", example.encode())
        write(t, "example-extra", (example + extra).encode())
        write(t, "lint-roster", (roster + '\n[[routing]]\nname = "all"\nrole = "ae"\n').encode())
        write(t, "lint-roster-extra", (roster + extra).encode())
    if t == "claim_link":  # signed links as the API reads them (query, form or JSON)
        hid = "h_" + hashlib.md5(b"fuzz").hexdigest()
        def claim(action, expires, key=CLAIM_KEY, upper=False, rep="lena"):
            sig = mac_with(key, f"{hid}|{rep}|{action}|{expires}".encode()).hex()
            sig = sig.upper() if upper else sig
            return {"handoff_id": hid, "rep": rep, "action": action,
                    "expires": expires, "sig": sig}
        for name, c in [
            ("accept", claim("accept", NOW + 86400)),
            ("wrong-owner", claim("wrong_owner", NOW + 60)),
            ("requalify-previous-key", claim("requalify", NOW + 3600, key=CLAIM_PREVIOUS_KEY)),
            ("expired", claim("accept", NOW - 1)),
            ("upper-case-sig", claim("accept", NOW, upper=True, rep="max.weber-2")),
            ("far-future", claim("accept", 2**62)),
        ]:
            write(t, name, urllib.parse.urlencode(c).encode())
            write(t, name + "-json", json.dumps(c).encode())
    if t == "slack_actions":  # flags, timestamp line, signature line, body
        payload = json.loads((root / "tests/fixtures/providers/slack_block_actions_payload.json")
                             .read_text())
        form = (root / "tests/fixtures/providers/slack_block_actions_form_body.txt").read_bytes()
        hid = "h_" + hashlib.md5(b"fuzz").hexdigest()
        bodies = [("fixture", form)]
        for action, action_id in [("accept", "handoff_claim"), ("wrong_owner", "handoff_wrong_owner"),
                                  ("requalify", "handoff_requalify")]:
            payload["actions"] = [{"action_id": action_id, "block_id": "handoff", "type": "button",
                                   "value": json.dumps({"h": hid, "a": action})}]
            bodies.append((action, urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()))
        for name, body in bodies:
            for secret, ts, label in [(SLACK_SECRET, NOW, ""), (SLACK_OLD_SECRET, NOW - 299, "-old")]:
                sig = "v0=" + mac_with(secret, f"v0:{ts}:".encode() + body).hex()
                write(t, name + label, bytes([0x03]) + f"{ts}\n{sig}\n".encode() + body)
print("corpus files (seeds + earlier finds): " + " ".join(
    f"{t}={len(list((corpus / t).iterdir())) if (corpus / t).is_dir() else 0}" for t in targets),
    file=sys.stderr)
PY

# --- 5. run --------------------------------------------------------------------------------------
declare -A EXECS STATUS CRASHES SPEED
stamp="$(mktemp)"
trap 'rm -f "$stamp"' EXIT
failed=0
for t in "${TARGETS[@]}"; do
  say "fuzzing $t for ${SECONDS_PER_TARGET}s"
  log="$LOG_DIR/$t.log"
  artifacts="$FUZZ_DIR/artifacts/$t"
  mkdir -p "$artifacts" "$FUZZ_DIR/corpus/$t"
  touch "$stamp"
  sleep 1 # so that -newer separates this run's artifacts from older ones
  rc=0
  fuzz run --fuzz-dir "$FUZZ_DIR" --release --debug-assertions --sanitizer "$SANITIZER" "$t" -- \
    -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb="$RSS_LIMIT_MB" \
    -timeout="$TIMEOUT_PER_INPUT" -print_final_stats=1 </dev/null >"$log" 2>&1 || rc=$?
  execs="$(grep -a '^stat::number_of_executed_units:' "$log" | tail -1 | awk '{print $2}')"
  if [[ -z "$execs" ]]; then
    execs="$(grep -aE '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 | sed -E 's/^#([0-9]+).*/\1/')"
  fi
  if [[ -z "$execs" ]]; then # crashed early: the last progress line
    execs="$(grep -aE '^#[0-9]+' "$log" | tail -1 | sed -E 's/^#([0-9]+).*/\1/')"
  fi
  speed="$(grep -aE '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 | sed -nE 's/.*exec\/s: ([0-9]+).*/\1/p')"
  new=()
  while IFS= read -r f; do new+=("$f"); done < <(
    find "$artifacts" -type f -newer "$stamp" \
      \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | sort)
  older=$(( $(find "$artifacts" -type f ! -name 'slow-unit-*' | wc -l) - ${#new[@]} ))
  EXECS[$t]="${execs:-?}"
  SPEED[$t]="${speed:--}"
  CRASHES[$t]="${#new[@]}"
  if [[ ${#new[@]} -gt 0 ]]; then
    STATUS[$t]="CRASH"
    failed=1
  elif [[ $rc -ne 0 ]]; then
    STATUS[$t]="ERROR($rc)"
    failed=1
  else
    STATUS[$t]="ok"
  fi
  echo "$t: executions=${EXECS[$t]} crashes=${CRASHES[$t]} status=${STATUS[$t]} (log: ${log#"$ROOT"/})"
  if [[ $older -gt 0 ]]; then
    echo "  note: $older older artifact(s) from earlier runs in ${artifacts#"$ROOT"/} (not counted)"
  fi
  for f in "${new[@]}"; do
    echo "  artifact: ${f#"$ROOT"/}"
    echo "  reproduce: cargo ${TOOLCHAIN[*]} fuzz run --fuzz-dir fuzz --release --debug-assertions --sanitizer $SANITIZER $t ${f#"$ROOT"/}"
    echo "  minimise:  cargo ${TOOLCHAIN[*]} fuzz tmin --fuzz-dir fuzz --release --debug-assertions --sanitizer $SANITIZER $t ${f#"$ROOT"/}"
  done
  if [[ "${STATUS[$t]}" != ok ]]; then
    grep -aE "panicked at|ERROR: (libFuzzer|AddressSanitizer)|SUMMARY" "$log" | head -5 | sed 's/^/  | /'
    [[ "${STATUS[$t]}" == ERROR* ]] && tail -20 "$log" | sed 's/^/  | /'
  fi
done

# --- summary -------------------------------------------------------------------------------------
echo
echo "fuzz summary: ${SECONDS_PER_TARGET}s per target, sanitizer=$SANITIZER, debug assertions on, -rss_limit_mb=$RSS_LIMIT_MB"
printf '%-18s %-10s %14s %10s %8s\n' target status executions "exec/s" crashes
printf '%-18s %-10s %14s %10s %8s\n' ------------------ ---------- -------------- ---------- --------
total=0
for t in "${TARGETS[@]}"; do
  printf '%-18s %-10s %14s %10s %8s\n' "$t" "${STATUS[$t]}" "${EXECS[$t]}" "${SPEED[$t]}" "${CRASHES[$t]}"
  total=$(( total + ${CRASHES[$t]} ))
done
echo "total crashes: $total"
exit "$failed"
