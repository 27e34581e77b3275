#!/usr/bin/env bash
# `npm test`: every test, every time. Set-up first (idempotent), then the
# Rust core natively, the Redis function library against a real server, then
# the packed npm package in Node and in Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# node --test, failing the run when any test was skipped or left as todo.
node_tests() {
  local log
  log=$(mktemp)
  node --test --test-reporter=tap "$@" | tee "$log"
  if ! grep -qx '# skipped 0' "$log" || ! grep -qx '# todo 0' "$log"; then
    echo "a test was skipped or marked todo: every test must run" >&2
    exit 1
  fi
}

step "set-up"
bash scripts/setup.sh --browser

step "core stays target-independent"
# Also enforced by Cargo.toml (wasm crates exist only for wasm32); this names the file.
if grep -rnE '\b(wasm_bindgen|js_sys|web_sys)\b' src/core; then
  echo "src/core must not use wasm crates: move that code to src/bindings" >&2
  exit 1
fi

step "core: cargo test"
cargo test

step "core: the same tests on wasm32 (32-bit usize, as in browsers), under Node's WASI"
CARGO_TARGET_WASM32_WASIP1_RUNNER="node --no-warnings --no-liftoff scripts/wasi-run.mjs" \
  cargo test --quiet --target wasm32-wasip1

step "build the package"
bash scripts/build.sh

step "API reference: TypeDoc on the published declarations (a warning fails)"
node_modules/.bin/typedoc --options scripts/typedoc.json --treatWarningsAsErrors --logLevel Warn

step "Redis: the function library, the broker scenarios and several processes against a real redis-server (tests/redis)"
node_tests tests/redis/*.test.mjs

step "pack and install into a fresh consumer project"
# A folder of this run's own, so two test runs on one machine never collide.
consumer="consumer-$$"
trap 'rm -rf "$FERRYMQ_REPO/.artifacts/$consumer"' EXIT
export FERRYMQ_REPO="$PWD"
node scripts/pack.mjs "$consumer"
cd ".artifacts/$consumer"

step "types: tsc --noEmit on a consumer file"
"$FERRYMQ_REPO/node_modules/.bin/tsc" -p types

step "package in Node (ESM and CommonJS)"
node_tests node/*.test.mjs node/*.test.cjs

step "package (no bundler, and under Vite) and demo in headless Chromium"
node_tests --test-concurrency=1 browser/*.test.mjs

step "benchmark harness (quick, not timed)"
(cd "$FERRYMQ_REPO" && npm run bench -- --quick --check)
