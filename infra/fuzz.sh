#!/usr/bin/env bash
# Fuzzes inlet-shared with cargo-fuzz (libFuzzer, AddressSanitizer, debug assertions):
# each target in tests/fuzz for SECONDS (default 60). Installs cargo-fuzz under .tools/
# (git ignores it) on first run. Grown corpora stay in tests/fuzz/corpus/<target>
# (only the committed seed-* inputs are tracked); a crashing input is saved under
# tests/fuzz/artifacts/<target>/ and the script exits non-zero after trying every target.
#   infra/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SECS=${1:-60}
[[ $SECS =~ ^[0-9]+$ ]] || { echo "usage: infra/fuzz.sh [SECONDS] [TARGET...]" >&2; exit 2; }
shift $(($# > 0 ? 1 : 0))
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(filter_parse patch_path patch_apply router)
TOOLS=$ROOT/.tools/cargo
FUZZ=$ROOT/tests/fuzz
LOGS=$FUZZ/target/logs
RSS_MB=${INLET_FUZZ_RSS_MB:-2048}
step() { printf '\n==> %s\n' "$*"; }

if [ ! -x "$TOOLS/bin/cargo-fuzz" ]; then
  step "installing cargo-fuzz into .tools/cargo (first run only)"
  cargo install --locked --quiet --root "$TOOLS" cargo-fuzz@0.13.2
fi
export PATH=$TOOLS/bin:$PATH
# No nightly toolchain can be fetched here: the stable one accepts the sanitizer's -Z flags
# with RUSTC_BOOTSTRAP.
export RUSTC_BOOTSTRAP=1

cd "$FUZZ"
step "building ${TARGETS[*]} (sanitizer build, own target/)"
for t in "${TARGETS[@]}"; do cargo fuzz build "$t"; done

mkdir -p "$LOGS"
failed=()
for t in "${TARGETS[@]}"; do
  step "fuzzing $t for ${SECS}s"
  mkdir -p "corpus/$t" "artifacts/$t"
  # -timeout: one input taking this long counts as a hang (saved as timeout-*).
  if cargo fuzz run "$t" "corpus/$t" -- -max_total_time="$SECS" -rss_limit_mb="$RSS_MB" -timeout=10 \
    -dict=scim.dict -print_final_stats=1 >"$LOGS/$t.log" 2>&1; then
    status=ok
  else
    status=FAILED
    failed+=("$t")
  fi
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$LOGS/$t.log" | grep -o '[0-9]*$' | tail -1 || true)
  cov=$(grep -oE '#[0-9]+[[:space:]]+DONE[[:space:]]+cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' "$LOGS/$t.log" | tail -1 || true)
  echo "$t: $status, ${execs:-?} execs in ${SECS}s; ${cov:-no final stats} (log: tests/fuzz/target/logs/$t.log)"
  if [ "$status" = FAILED ]; then
    grep -E 'panicked at|ERROR: (libFuzzer|AddressSanitizer)|SUMMARY' "$LOGS/$t.log" | head -5 || true
    grep -E 'Test unit written to' "$LOGS/$t.log" | sed 's/^/  /' || true
    echo "  reproduce: (cd tests/fuzz && RUSTC_BOOTSTRAP=1 $TOOLS/bin/cargo-fuzz run $t artifacts/$t/<file>)"
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzzing found crashes in: ${failed[*]}" >&2
  exit 1
fi
echo "fuzzing: no crash in ${TARGETS[*]}"
