#!/usr/bin/env bash
# Sets up what is missing, then runs every test suite; stops at the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PWD/node_modules/.bin:$PATH"

suite() { printf '\n======== %s ========\n' "$*"; }

suite "setup"
bash scripts/setup.sh

suite "native: cargo test (core, protocol, reference server)"
cargo test --workspace

suite "browser: wasm-pack test --headless --chrome, against reference servers on 127.0.0.1"
# webdriver.json (repo root) gives Chromium the flags this closed network needs.
# A run that hangs fails after WASM_BINDGEN_TEST_TIMEOUT seconds instead of stalling CI.
# with-servers.sh starts a reliable and a fault-injecting sync server for the sync scenarios,
# and stops them afterwards.
CHROMEDRIVER="$(command -v chromedriver)" WASM_BINDGEN_TEST_TIMEOUT="${WASM_BINDGEN_TEST_TIMEOUT:-300}" \
  bash scripts/with-servers.sh wasm-pack test --headless --chrome

suite "package: release build and tarball, installed into the demo; demo types and bundle"
bash scripts/pack.sh
bash scripts/use-package.sh www
npx tsc --noEmit
npx webpack --mode production

suite "demo page: end to end in headless Chromium, served by the sync server"
cargo build -p ferrysync-server
node --test tests/e2e/

suite "consumers: the tarball in fresh Vite (build and dev server), webpack, esbuild and no-bundler apps with workers and a service worker, vitest, Node SSR"
# Each app gets the tarball npm-installed into target/consumers/<app>; the build tools and React
# come from the workspace's node_modules. Sizes of what each build ships are printed.
node --test tests/consumers/vite.test.mjs tests/consumers/webpack.test.mjs tests/consumers/esbuild.test.mjs \
  tests/consumers/plain.test.mjs tests/consumers/node.test.mjs

suite "React bindings: render counts in headless Chromium"
node --test tests/consumers/react.test.mjs

suite "types: tsc --strict on a typed example (bundler, node16 and node10 resolution), and the expected type errors"
node --test tests/types/check.mjs

if [ -d tests/bench-smoke ]; then
  suite "benchmark smoke run"
  node --test tests/bench-smoke/
fi
