#!/usr/bin/env bash
# Builds the wasm module into pkg/wasm: wasm-pack (web target: an ES module whose init() fetches
# the .wasm beside it), then wasm-opt from the npm package binaryen. `--dev` builds without
# optimisation, for debugging. scripts/pack.sh turns pkg/wasm into the npm package.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PWD/node_modules/.bin:$PATH"

# wasm-opt comes with the npm packages: install them now rather than fail after the compile.
if [ ! -x node_modules/.bin/wasm-opt ]; then
  npm ci --no-audit --no-fund
fi

if [ "${1:-}" = "--dev" ]; then
  wasm-pack build --dev --target web --out-dir pkg/wasm --out-name ferrysync
  exit 0
fi

wasm-pack build --release --target web --out-dir pkg/wasm --out-name ferrysync
# Feature flags match what rustc emits for wasm32 today; wasm-opt validates against them.
# `--converge` repeats -Oz while it still shrinks the module; the producers and target-features
# sections only describe the build (BENCHMARKS.md, "Size", has what each flag is worth).
wasm-opt pkg/wasm/ferrysync_bg.wasm -Oz --converge --strip-producers --strip-target-features \
  --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals --enable-reference-types --enable-multivalue \
  -o pkg/wasm/ferrysync_bg.wasm.opt
mv pkg/wasm/ferrysync_bg.wasm.opt pkg/wasm/ferrysync_bg.wasm
printf 'pkg/wasm/ferrysync_bg.wasm: %s bytes (%s gzipped)\n' \
  "$(wc -c < pkg/wasm/ferrysync_bg.wasm)" "$(gzip -9c pkg/wasm/ferrysync_bg.wasm | wc -c)"
