#!/usr/bin/env bash
# Inlet's whole test suite: lints, unit/contract/end-to-end tests, and the identity
# providers' conformance suites against fresh tenants of a real `inlet serve`.
# Installs what it needs (newman) under .tools/, which git ignores.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SHARED=${INLET_SHARED_DIR:-$ROOT/../shared}
TOOLS=$ROOT/.tools
RUN=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$RUN"
}
trap cleanup EXIT
step() { printf '\n==> %s\n' "$*"; }

step "format and lints"
cargo fmt --all --check
cargo clippy --workspace --all-targets --quiet -- -D warnings

step "build"
cargo build --workspace --bins --quiet

step "unit, storage-contract and end-to-end tests"
cargo test --workspace --quiet

step "tools for the conformance suites"
if [ ! -x "$TOOLS/node_modules/.bin/newman" ]; then
  mkdir -p "$TOOLS"
  npm install --prefix "$TOOLS" --no-audit --no-fund --loglevel=error newman@6 >/dev/null
fi

# Starts `inlet serve` on a fresh data directory and a free port; sets BASE_HOST.
serve_fresh() {
  local dir="$RUN/$1" log="$RUN/$1.log"
  INLET_DEV_TOKEN=conformance-token "$ROOT/target/debug/inlet" serve --listen 127.0.0.1:0 --data-dir "$dir" >"$log" 2>&1 &
  PIDS+=("$!")
  for _ in $(seq 100); do
    BASE_HOST=$(sed -n 's|.*http://\([^/]*\)/.*|\1|p' "$log" | head -n1)
    [ -n "$BASE_HOST" ] && return 0
    sleep 0.1
  done
  echo "inlet serve did not start:"; cat "$log"; return 1
}

step "Okta SCIM 2.0 SPEC test (fresh tenant)"
serve_fresh okta
python3 "$SHARED/conformance/runscope_runner.py" "$SHARED/conformance/Okta-SCIM-20-SPEC-Test.json" \
  --okta-spec-initial-vars --seed-user \
  --var "SCIMBaseURL=http://$BASE_HOST/default/scim/v2" --var "auth=Bearer conformance-token" >"$RUN/okta.out"
tail -n 2 "$RUN/okta.out"

step "Microsoft SCIM reference collection (fresh tenant)"
serve_fresh entra
"$TOOLS/node_modules/.bin/newman" run "$SHARED/conformance/SCIMReferenceCode.PostmanCollection.json" \
  --env-var Protocol=http --env-var Server="${BASE_HOST%:*}" --env-var Port=":${BASE_HOST##*:}" \
  --env-var Api=default/scim/v2 --env-var token=conformance-token \
  --folder "Endpoint tests" --folder "User tests" --folder "Group tests" \
  --folder "ComplexAttribute tests" --folder "User tests with garbage" \
  --folder "Group tests with garbage" --folder "Teardown garbage" \
  --reporters cli --reporter-cli-no-success-assertions >"$RUN/newman.out" || { cat "$RUN/newman.out"; exit 1; }
grep -E "requests|assertions" "$RUN/newman.out"

echo
echo "conformance: 2 passed, 0 failed"
