#!/usr/bin/env bash
# `npm run bench [-- filter... --quick --check]`: set-up, build dist/, then
# the benchmark suite against the built package. See bench/run.mjs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
# --expose-gc: rounds start from a collected heap, and memory needs gc().
exec node --expose-gc bench/run.mjs "$@"
