#!/usr/bin/env bash
# Inlet's test suite, in two tiers.
#
# `infra/test.sh` (what CI runs): lints, unit tests, the storage contract on both backends,
# end-to-end tests (tenants and tokens included) and the identity providers' conformance
# suites against fresh tenants of a real `inlet serve` on the embedded store and on
# DynamoDB + Secrets Manager (moto's server on loopback), the events publisher from a DynamoDB
# stream to EventBridge and SQS (moto), the Lambda binaries under the
# Lambda runtime emulator, and `sam validate --lint`. Installs what it needs (newman, moto, the SAM
# CLI) under .tools/, which git ignores.
#
# `infra/test.sh quick` (while editing): format, lints, unit tests and the end-to-end tests on
# the embedded store; no tools installed, nothing on DynamoDB, no Lambda, no conformance suites.
set -euo pipefail
MODE=${1:-full}
case "$MODE" in
  full | quick) ;;
  *) echo "usage: infra/test.sh [quick]" >&2; exit 2 ;;
esac
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

if [ "$MODE" = quick ]; then
  step "unit and end-to-end tests, embedded store (the tests build \`inlet\` first)"
  tests_status=0
  cargo test --workspace --quiet --no-fail-fast 2>&1 | tee "$RUN/tests.out" || tests_status=$?
  echo
  awk '/^test result:/ { passed += $4; failed += $6 } END { printf "quick: %d passed, %d failed\n", passed, failed }' "$RUN/tests.out"
  echo "($SECONDS s)"
  exit "$tests_status"
fi

step "build"
cargo build --workspace --bins --quiet

step "tools: newman, moto, the SAM CLI (first run only)"
mkdir -p "$TOOLS"
if [ ! -x "$TOOLS/node_modules/.bin/newman" ]; then
  npm install --prefix "$TOOLS" --no-audit --no-fund --loglevel=error newman@6 >/dev/null
fi
if [ ! -x "$TOOLS/moto/bin/moto_server" ]; then
  python3 -m venv "$TOOLS/moto"
  "$TOOLS/moto/bin/pip" install --quiet --disable-pip-version-check 'moto[server]' pyyaml
fi
# The SAM CLI pins its own boto3, so it lives in a venv of its own.
if [ ! -x "$TOOLS/sam/bin/sam" ]; then
  python3 -m venv "$TOOLS/sam"
  "$TOOLS/sam/bin/pip" install --quiet --disable-pip-version-check aws-sam-cli
fi

step "sam validate --lint"
SAM_CLI_TELEMETRY=0 "$TOOLS/sam/bin/sam" validate --lint --template template.yaml --region us-east-1

step "DynamoDB and Secrets Manager on loopback (moto's server)"
MOTO_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$TOOLS/moto/bin/python" infra/moto_server.py -H 127.0.0.1 -p "$MOTO_PORT" >"$RUN/moto.log" 2>&1 &
PIDS+=("$!")
export AWS_ENDPOINT_URL="http://127.0.0.1:$MOTO_PORT" AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 \
  AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_EC2_METADATA_DISABLED=true
for _ in $(seq 100); do curl -fs "$AWS_ENDPOINT_URL/moto-api/" >/dev/null 2>&1 && break; sleep 0.1; done
export INLET_PYTHON="$TOOLS/moto/bin/python"
"$INLET_PYTHON" infra/local_table.py --endpoint "$AWS_ENDPOINT_URL" --table inlet-contract
export INLET_TEST_DYNAMODB_TABLE=inlet-contract INLET_REQUIRE_DYNAMODB=1

step "unit, storage-contract (redb and DynamoDB) and end-to-end tests (redb)"
cargo test --workspace --quiet

step "end-to-end tests on DynamoDB and Secrets Manager"
INLET_E2E_DYNAMODB=1 INLET_E2E_LARGE_GROUP=150 cargo test --workspace --quiet --test users --test groups --test protocol --test tenants --test custom_attributes

step "the Okta API pull end to end on DynamoDB and Secrets Manager (initial sync and each change, refused tokens, configuration rules, two processes configuring one org)"
# Lean on purpose: moto copies every table for each transaction. The rate-limit, budget, crash,
# fan-out and serve tests run on the embedded store above; the puller binary runs on moto below.
INLET_E2E_DYNAMODB=1 cargo test --quiet -p inlet-e2e --test okta -- --test-threads=1 changes:: rules:: faults::refused

# The Runtime Interface Emulator (from the SAM CLI) runs the Lambda binaries here and below.
RIE=$(find "$TOOLS/sam" -name "aws-lambda-rie-$(uname -m | sed 's/aarch64/arm64/')" | head -n1)

step "events on moto: a table's stream read as Lambda reads it, the events-publisher binary under the Lambda runtime emulator, EventBridge → SQS (a crash before publishing, then Lambda's retry)"
INLET_LAMBDA_RIE="$RIE" INLET_PUBLISHER_BIN="$ROOT/target/debug/events-publisher" \
  cargo test --workspace --quiet --test events_publisher

# Starts `inlet serve` with a fresh data directory (and a fresh DynamoDB table when
# the second argument is "dynamodb") on a free port; sets BASE_HOST.
serve_fresh() {
  local dir="$RUN/$1" log="$RUN/$1.log" store=()
  if [ "${2:-}" = dynamodb ]; then
    "$INLET_PYTHON" infra/local_table.py --endpoint "$AWS_ENDPOINT_URL" --table "$1" >/dev/null
    store=(--dynamodb-table "$1")
  fi
  INLET_DEV_TOKEN=conformance-token "$ROOT/target/debug/inlet" serve --listen 127.0.0.1:0 --data-dir "$dir" "${store[@]}" >"$log" 2>&1 &
  PIDS+=("$!")
  for _ in $(seq 100); do
    BASE_HOST=$(sed -n 's|.*http://\([^/]*\)/.*|\1|p' "$log" | head -n1)
    [ -n "$BASE_HOST" ] && return 0
    sleep 0.1
  done
  echo "inlet serve did not start:"; cat "$log"; return 1
}

# Okta's SPEC test against tenant `default` at BASE_HOST: run_okta_spec TOKEN NAME → its last line.
run_okta_spec() {
  python3 "$SHARED/conformance/runscope_runner.py" "$SHARED/conformance/Okta-SCIM-20-SPEC-Test.json" \
    --okta-spec-initial-vars --seed-user \
    --var "SCIMBaseURL=http://$BASE_HOST/default/scim/v2" --var "auth=Bearer $1" >"$RUN/okta-$2.out" \
    || { cat "$RUN/okta-$2.out"; exit 1; }
  tail -n 1 "$RUN/okta-$2.out"
}

okta_spec() {
  serve_fresh "okta-$1" "$1"
  run_okta_spec conformance-token "$1"
}

microsoft_collection() {
  serve_fresh "entra-$1" "$1"
  "$TOOLS/node_modules/.bin/newman" run "$SHARED/conformance/SCIMReferenceCode.PostmanCollection.json" \
    --env-var Protocol=http --env-var Server="${BASE_HOST%:*}" --env-var Port=":${BASE_HOST##*:}" \
    --env-var Api=default/scim/v2 --env-var token=conformance-token \
    --folder "Endpoint tests" --folder "User tests" --folder "Group tests" \
    --folder "ComplexAttribute tests" --folder "User tests with garbage" \
    --folder "Group tests with garbage" --folder "Teardown garbage" \
    --reporters cli --reporter-cli-no-success-assertions >"$RUN/newman-$1.out" || { cat "$RUN/newman-$1.out"; exit 1; }
  grep -E "assertions" "$RUN/newman-$1.out"
}

for store in embedded dynamodb; do
  step "Okta SCIM 2.0 SPEC test, $store store (fresh tenant)"
  okta_spec "$store"
  step "Microsoft SCIM reference collection, $store store (fresh tenant)"
  microsoft_collection "$store"
done

# The Lambda functions under the Runtime Interface Emulator (from the SAM CLI), on DynamoDB and
# Secrets Manager. `run_lambda LABEL TABLE LAUNCH` starts each function with `LAUNCH name` (a
# command printing the path of the bootstrap to run) and drives it with the events/ fixtures,
# tokens from the CLI and the tokens function, and Okta's SPEC test through a local gateway.
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
run_lambda() {
  local label=$1 launch=$3 got
  "$INLET_PYTHON" infra/local_table.py --endpoint "$AWS_ENDPOINT_URL" --table "$2" >/dev/null
  export INLET_TABLE=$2 INLET_SECRET_PREFIX="inlet/$2/tenants/" INLET_OKTA_SECRET_PREFIX="inlet/$2/okta/"
  # The operator's side: tenant `default` and a token for the suites, made with the CLI on the
  # same table and secrets the functions use (as against a deployed stack).
  "$ROOT/target/debug/inlet" tenants create default --aws >/dev/null
  SUITE_TOKEN=$("$ROOT/target/debug/inlet" tokens issue default --aws --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')
  start_function() { # name → sets FN_URL
    local port api
    port=$(free_port); api=$(free_port)
    # events/ carry the sam-local dev token (INLET_DEV_TOKEN); the suites use an issued token.
    INLET_DEV_TOKEN=local-dev-token AWS_SAM_LOCAL=true AWS_LAMBDA_FUNCTION_NAME="$1" \
      "$RIE" --runtime-interface-emulator-address "127.0.0.1:$port" --runtime-api-address "127.0.0.1:$api" \
      "$($launch "$1")" >"$RUN/rie-$label-$1.log" 2>&1 &
    PIDS+=("$!")
    FN_URL="http://127.0.0.1:$port"
    for _ in $(seq 100); do curl -s -o /dev/null "$FN_URL" && return 0; sleep 0.1; done
  }
  start_function users; USERS_URL=$FN_URL
  start_function groups; GROUPS_URL=$FN_URL
  start_function tokens; TOKENS_URL=$FN_URL

  # The events/ fixtures that vendors use with `sam local invoke`, sent to the same binaries.
  invoke() { # url file → the function's response
    curl -s -X POST "$1/2015-03-31/functions/function/invocations" --data-binary "@$2"
  }
  invoke_event() { # url file expected-status
    got=$(invoke "$1" "events/$2" | python3 -c 'import json, sys; print(json.load(sys.stdin).get("statusCode"))')
    [ "$got" = "$3" ] || { echo "events/$2: status $got, expected $3"; cat "$RUN"/rie-"$label"-*.log; exit 1; }
    echo "events/$2 -> $got"
  }
  invoke_event "$USERS_URL" create-user.json 201
  invoke_event "$USERS_URL" filter-user.json 200
  invoke_event "$USERS_URL" get-user.json 404
  invoke_event "$USERS_URL" deactivate-user.json 404
  invoke_event "$GROUPS_URL" push-group.json 201
  invoke_event "$TOKENS_URL" admin-create-tenant.json 201
  ACME_TOKEN=$(invoke "$TOKENS_URL" events/admin-issue-token.json \
    | python3 -c 'import json, sys; r = json.load(sys.stdin); assert r["statusCode"] == 201, r; print(json.loads(r["body"])["token"])')
  echo "events/admin-issue-token.json -> 201"
  invoke_event "$TOKENS_URL" admin-list-tokens.json 200
  # Without an IAM identity in the request context the admin API refuses, whatever the route.
  python3 -c 'import json, sys; e = json.load(open(sys.argv[1])); del e["requestContext"]["authorizer"]; json.dump(e, open(sys.argv[2], "w"))' \
    events/admin-list-tokens.json "$RUN/admin-no-iam.json"
  got=$(invoke "$TOKENS_URL" "$RUN/admin-no-iam.json" | python3 -c 'import json, sys; print(json.load(sys.stdin)["statusCode"])')
  [ "$got" = 403 ] || { echo "admin API without IAM identity: $got, expected 403"; exit 1; }
  echo "admin API without IAM identity -> 403"

  local gateway_log="$RUN/gateway-$label.log"
  "$ROOT/target/debug/inlet-gateway" --users "$USERS_URL" --groups "$GROUPS_URL" >"$gateway_log" 2>&1 &
  PIDS+=("$!")
  for _ in $(seq 100); do
    BASE_HOST=$(sed -n 's|.*http://\([^/ ]*\).*|\1|p' "$gateway_log" | head -n1)
    [ -n "$BASE_HOST" ] && break
    sleep 0.1
  done
  # A token issued by the tokens function works for its tenant and nowhere else.
  status() { curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $1" "http://$BASE_HOST/$2/scim/v2/Users"; }
  [ "$(status "$ACME_TOKEN" acme)" = 200 ] && [ "$(status "$ACME_TOKEN" default)" = 401 ] \
    && [ "$(status "$SUITE_TOKEN" acme)" = 401 ] || { echo "tenant isolation through the Lambda binaries failed"; exit 1; }
  echo "tokens from the tokens function and the CLI: own tenant 200, other tenant 401"
  # HTTP API paths are case-sensitive: only Groups and groups have Groups routes, any other
  # spelling falls to the Users function's catch-all, which must answer it as Groups too
  # (tenant default holds the group events/push-group.json made).
  for spelling in GROUPS gRoUpS; do
    got=$(curl -s -w '\n%{http_code}' -H "Authorization: Bearer $SUITE_TOKEN" "http://$BASE_HOST/default/scim/v2/$spelling" \
      | python3 -c '
import json, sys
*body, code = sys.stdin.read().split("\n")
b = json.loads("\n".join(body))
groups = [r for r in b.get("Resources", []) if "urn:ietf:params:scim:schemas:core:2.0:Group" in r.get("schemas", [])]
print(code, *b.get("schemas", []), "groups" if groups and len(groups) == len(b["Resources"]) else "no-groups")')
    [ "$got" = "200 urn:ietf:params:scim:api:messages:2.0:ListResponse groups" ] \
      || { echo "GET /default/scim/v2/$spelling through the gateway: $got"; exit 1; }
  done
  echo "GET .../GROUPS and .../gRoUpS through the gateway: 200, a ListResponse of groups"
  printf 'Okta SPEC test through the %s Lambda binaries (token verified in Secrets Manager): ' "$label"
  run_okta_spec "$SUITE_TOKEN" "lambda-$label"

  # The puller function: tenant `pulled` configured with the CLI against an Okta double (its
  # token in Secrets Manager under the Okta prefix), one pass invoked with the EventBridge
  # event; the CLI then reads the status and the users the pass wrote. Small: moto copies its
  # tables on every transaction (300 users took the debug build's pass ~2 min).
  local double_log="$RUN/okta-double-$label.log" double_pid okta_url="" okta_app="" want
  "$ROOT/target/debug/okta-double" --users 100 --groups 5 --token okta-double-token >"$double_log" 2>&1 &
  double_pid=$!
  PIDS+=("$double_pid")
  for _ in $(seq 100); do
    read -r okta_url okta_app < <(sed -n 's|^okta-double listening on \(http://[^ ]*\) app=\(.*\)$|\1 \2|p' "$double_log") || true
    [ -n "$okta_url" ] && break
    sleep 0.1
  done
  [ -n "$okta_url" ] || { echo "okta-double did not start:"; cat "$double_log"; exit 1; }
  "$ROOT/target/debug/inlet" tenants create pulled --mode okta-api --aws >/dev/null
  echo okta-double-token | "$ROOT/target/debug/inlet" okta configure pulled --aws --domain "$okta_url" \
    --app-id "$okta_app" --token-file - >/dev/null
  start_function okta-puller; PULLER_URL=$FN_URL
  local pass_started=$SECONDS
  got=$(invoke "$PULLER_URL" events/scheduled-event.json | python3 -c '
import json, sys
r = json.load(sys.stdin)
print(" ".join(t["tenant"] + "=" + t["outcome"].split("(")[0] for t in r.get("tenants", [])) or r)')
  [ "$got" = "pulled=Synced" ] || { echo "events/scheduled-event.json: $got, expected pulled=Synced"; cat "$RUN/rie-$label-okta-puller.log"; exit 1; }
  echo "events/scheduled-event.json -> $got ($((SECONDS - pass_started)) s)"
  got=$("$ROOT/target/debug/inlet" okta status pulled --aws --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["status"])')
  [ "$got" = Synced ] || { echo "inlet okta status pulled after the pass: $got, expected Synced"; exit 1; }
  want=$(curl -fs "$okta_url/_double/directory" | python3 -c 'import json, sys; print(json.load(sys.stdin)["appUsers"])')
  got=$("$ROOT/target/debug/inlet" users list pulled --aws --json | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))')
  [ "$got" = "$want" ] || { echo "tenant pulled holds $got users, the double's app has $want"; exit 1; }
  echo "inlet okta status pulled: Synced; inlet users list pulled: $got users, the app's $want"
  kill "$double_pid"
}

step "the Lambda functions (x86_64 debug build) under the Lambda runtime emulator"
debug_binary() { echo "$ROOT/target/debug/$1"; }
run_lambda x86_64 lambda-x86-64 debug_binary

step "sam build: the arm64 release binaries that deploy (cargo-lambda; first run ~12 min)"
if [ ! -x "$TOOLS/cargo-lambda/bin/cargo-lambda" ]; then
  python3 -m venv "$TOOLS/cargo-lambda"
  "$TOOLS/cargo-lambda/bin/pip" install --quiet --disable-pip-version-check cargo-lambda
fi
rustup target add aarch64-unknown-linux-gnu >/dev/null 2>&1 || true
PATH="$TOOLS/cargo-lambda/bin:$PATH" SAM_CLI_TELEMETRY=0 "$TOOLS/sam/bin/sam" build --template template.yaml >"$RUN/sam-build.log" 2>&1 \
  || { tail -n 40 "$RUN/sam-build.log"; exit 1; }
# Lambda's provided.al2023 runs arm64 with glibc 2.34: the bootstraps must need nothing newer.
for fn in Users Groups Tokens OktaPuller EventsPublisher; do
  bin=.aws-sam/build/${fn}Function/bootstrap
  readelf -h "$bin" | grep -q 'Machine:.*AArch64' || { echo "$bin is not an arm64 binary"; exit 1; }
  newest=$(readelf -V "$bin" | grep -o 'GLIBC_[0-9.]*' | sort -t. -k2,2n -u | tail -n1)
  python3 -c 'import sys; v = tuple(map(int, sys.argv[1][6:].split("."))); sys.exit(v > (2, 34))' "$newest" \
    || { echo "$bin needs $newest, newer than Amazon Linux 2023's glibc 2.34"; exit 1; }
  echo "$bin: arm64, $(($(stat -c %s "$bin") / 1000000)) MB, needs glibc up to ${newest#GLIBC_}"
done

step "the arm64 binaries under the Lambda runtime emulator (qemu-user, glibc for arm64 from Debian)"
ARM64=$TOOLS/arm64
if [ ! -x "$ARM64/usr/bin/qemu-aarch64-static" ]; then
  mkdir -p "$ARM64/debs"
  debs=(qemu-user-static libc6-arm64-cross libgcc-s1-arm64-cross)
  (cd "$ARM64/debs" && { apt-get download "${debs[@]}" >/dev/null 2>&1 \
    || { apt-get update -qq && apt-get download "${debs[@]}" >/dev/null; }; })
  for deb in "$ARM64"/debs/libc6-arm64-cross_*.deb "$ARM64"/debs/libgcc-s1-arm64-cross_*.deb; do dpkg-deb -x "$deb" "$ARM64"; done
  dpkg-deb --fsys-tarfile "$ARM64"/debs/qemu-user-static_*.deb | tar -x -C "$ARM64" ./usr/bin/qemu-aarch64-static
  rm -rf "$ARM64/debs"
fi
arm64_binary() { # the RIE starts a script that runs the sam-built bootstrap under qemu-user
  local dir name script="$RUN/arm64-$1"
  name="$(sed -E 's/(^|-)([a-z])/\U\2/g' <<<"$1")Function" # okta-puller → OktaPullerFunction
  dir="$ROOT/.aws-sam/build/$name"
  printf '#!/bin/sh\nexec "%s" -L "%s" "%s"\n' "$ARM64/usr/bin/qemu-aarch64-static" "$ARM64/usr/aarch64-linux-gnu" "$dir/bootstrap" >"$script"
  chmod +x "$script"
  echo "$script"
}
run_lambda arm64 lambda-arm64 arm64_binary

echo
echo "conformance: 6 passed, 0 failed"
