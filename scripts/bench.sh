#!/usr/bin/env bash
# The benchmarks: ferrysync against Dexie and hand-written IndexedDB in one headless Chromium page,
# then the same in headless Firefox, then sync against the reference server on loopback beside
# plain fetch, then a 50 MB file up and down through ferrysync beside plain fetch.
# Sets up what is missing, packs the package and builds the server (profile `server`: optimised for speed), bundles bench/ into
# bench/dist, then runs them. Arguments go to the store and sync runners: --records N (default
# 10000), --reps N (default 5 for the store, 3 for sync); the file runner takes its defaults
# (`node bench/files.mjs --megabytes N --reps N` for other figures).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PWD/node_modules/.bin:$PATH"

bash scripts/setup.sh
bash scripts/pack.sh
npx webpack --config webpack.bench.config.js --mode production
cargo build --profile server -q -p ferrysync-server
node bench/run.mjs "$@"
node bench/sync.mjs "$@"
node bench/files.mjs
