#!/usr/bin/env bash
# The benchmark: ferrysync against Dexie and hand-written IndexedDB in one headless Chromium page.
# Sets up what is missing, builds the package in release mode, bundles bench/ into bench/dist,
# then runs it. Arguments go to bench/run.mjs: --records N (default 10000), --reps N (default 5).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PWD/node_modules/.bin:$PATH"

bash scripts/setup.sh
bash scripts/build-wasm.sh
npx webpack --config webpack.bench.config.js --mode production
node bench/run.mjs "$@"
