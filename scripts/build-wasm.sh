#!/usr/bin/env bash
# Builds the npm package into pkg/: wasm-pack (bundler target), then wasm-opt from the npm
# package binaryen. `--dev` builds without optimisation, for debugging.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PWD/node_modules/.bin:$PATH"

if [ "${1:-}" = "--dev" ]; then
  wasm-pack build --dev --target bundler --out-dir pkg --out-name ferrysync
  exit 0
fi

wasm-pack build --release --target bundler --out-dir pkg --out-name ferrysync
# Feature flags match what rustc emits for wasm32 today; wasm-opt validates against them.
wasm-opt pkg/ferrysync_bg.wasm -Oz \
  --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals --enable-reference-types --enable-multivalue \
  -o pkg/ferrysync_bg.wasm.opt
mv pkg/ferrysync_bg.wasm.opt pkg/ferrysync_bg.wasm
printf 'pkg/ferrysync_bg.wasm: %s bytes (%s gzipped)\n' \
  "$(wc -c < pkg/ferrysync_bg.wasm)" "$(gzip -9c pkg/ferrysync_bg.wasm | wc -c)"
