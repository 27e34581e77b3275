#!/usr/bin/env bash
# Builds the npm package into dist/: Rust -> wasm -> wasm-bindgen glue ->
# one CommonJS bundle for Node and one ES module for browsers and bundlers.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --quiet --lib --release --target wasm32-unknown-unknown
rm -rf pkg
wasm-bindgen --target web --weak-refs --out-dir pkg --out-name ferrymq \
  target/wasm32-unknown-unknown/release/ferrymq.wasm
node scripts/bundle.mjs
