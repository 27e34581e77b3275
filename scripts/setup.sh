#!/usr/bin/env bash
# Brings a machine to what the build and tests need. Idempotent: each step
# checks first and costs nothing when already done.
#   scripts/setup.sh            toolchain + npm packages
#   scripts/setup.sh --browser  also Debian's Chromium for the browser tests
# Debian's redis-server, which the Redis tests start on their own ports, is
# installed either way when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1msetup:\033[0m %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# wasm32-unknown-unknown builds the package; wasm32-wasip1 runs the core's
# tests on a 32-bit target (scripts/wasi-run.mjs).
for target in wasm32-unknown-unknown wasm32-wasip1; do
  if ! rustup target list --installed | grep -qx "$target"; then
    say "adding the $target target"
    rustup target add "$target"
  fi
done

# The CLI must be exactly the crate's version: the two share a schema.
want=$(sed -n 's/^wasm-bindgen = "=\([^"]*\)".*/\1/p' Cargo.toml)
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" != "$want" ]; then
  say "installing wasm-bindgen-cli $want (found '${have:-none}'; takes a few minutes)"
  # Not --locked: the crates index here can lag the CLI's lock file.
  cargo install wasm-bindgen-cli --version "=$want" --force
fi

# npm ci wipes node_modules, so run it only when the lock file changed.
stamp=node_modules/.ferrymq-lock.sha256
if [ ! -f "$stamp" ] || ! sha256sum --status -c "$stamp" 2>/dev/null; then
  say "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  sha256sum package-lock.json > "$stamp"
fi

# Debian packages, with one `apt-get update` before the first install.
updated=
apt_install() {
  if [ -z "$updated" ]; then as_root apt-get update -qq; updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if [ "${1:-}" = "--browser" ] && ! command -v chromium >/dev/null; then
  say "installing Debian chromium for the browser tests"
  apt_install chromium
fi

if ! command -v redis-server >/dev/null; then
  say "installing Debian redis-server for the Redis tests"
  apt_install redis-server
fi
