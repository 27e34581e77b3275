#!/usr/bin/env bash
# `npm run demo`: set-up, build, then serve www/ with the built package.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
exec node scripts/demo.mjs
