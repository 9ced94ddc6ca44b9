#!/usr/bin/env bash
# Sets up what is missing, then runs every test suite; stops at the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PWD/node_modules/.bin:$PATH"

suite() { printf '\n======== %s ========\n' "$*"; }

# Every process this run starts carries this mark in its environment. On exit (pass, fail or
# Ctrl-C), any still alive is named and stopped: the scripts below stop what they start, and
# this makes sure of it.
export FERRYSYNC_TEST_RUN="$$.$(date +%s%N)"
leftovers() {
  local f pid
  for f in /proc/[0-9]*/environ; do
    pid=${f#/proc/}; pid=${pid%/environ}
    [ "$pid" = "$$" ] || [ "$pid" = "$BASHPID" ] && continue
    local env=()
    { mapfile -d '' env < "$f"; } 2>/dev/null || continue
    for entry in "${env[@]}"; do
      if [ "$entry" = "FERRYSYNC_TEST_RUN=$FERRYSYNC_TEST_RUN" ]; then echo "$pid"; break; fi
    done
  done
}
stop_leftovers() {
  local pids
  pids=$(leftovers)
  if [ -n "$pids" ]; then
    echo "stopping processes left behind:" >&2
    for pid in $pids; do echo "  $pid $(tr '\0' ' ' < /proc/$pid/cmdline 2>/dev/null)" >&2; done
    kill $pids 2>/dev/null || true
  fi
}
trap stop_leftovers EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

suite "setup"
bash scripts/setup.sh

suite "lint: cargo fmt, cargo clippy (native and wasm32), warnings denied"
cargo fmt --all --check
cargo clippy --workspace --all-targets -- -D warnings
cargo clippy --target wasm32-unknown-unknown -p ferrysync --all-targets -- -D warnings

suite "native: cargo test (core, engine, protocol, layers, typings, simulation of 2,000 seeds, reference server)"
cargo test --workspace

suite "server on PostgreSQL: the server suite again, against a throwaway cluster"
bash scripts/with-postgres.sh cargo test -p ferrysync-server

suite "server API: schemathesis against the served OpenAPI document"
bash scripts/schemathesis.sh

suite "browser: the wasm-pack suite in headless Chromium, headless Firefox and WebKit, against reference servers on 127.0.0.1"
# webdriver.json (repo root) gives Chromium the flags this closed network needs.
# A run that hangs fails after WASM_BINDGEN_TEST_TIMEOUT seconds instead of stalling CI.
# with-servers.sh starts a reliable and a fault-injecting sync server for the sync scenarios,
# and stops them afterwards; each engine gets fresh servers (the scenarios expect their tenants
# empty).
export WASM_BINDGEN_TEST_TIMEOUT="${WASM_BINDGEN_TEST_TIMEOUT:-300}"
CHROMEDRIVER="$(command -v chromedriver)" bash scripts/with-servers.sh wasm-pack test --headless --chrome
GECKODRIVER="$HOME/.cargo/bin/geckodriver" bash scripts/with-servers.sh wasm-pack test --headless --firefox
# wasm-bindgen's runner cannot start WebKit: scripts/wasm-test-webdriver.mjs serves the same
# tests through it and runs them in MiniBrowser (WebKitGTK) over WebDriver. MiniBrowser under
# automation now and then loses its page ("session deleted because of page crash or hang"), in
# any test: then, and only then, the WebKit run goes once more, on fresh servers. A test that
# fails is never run again.
webkit_log="$(mktemp)"
webkit() {
  CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER="node $PWD/scripts/wasm-test-webdriver.mjs" WEBDRIVER_ENGINE=webkit \
    bash scripts/with-servers.sh cargo test --target wasm32-unknown-unknown --test browser 2>&1 | tee "$webkit_log"
}
if ! webkit; then
  grep -q "page crash or hang" "$webkit_log" || exit 1
  echo "WebKit lost its page (a browser crash, not a failed test): the WebKit run once more" >&2
  webkit
fi
rm -f "$webkit_log"

suite "package: release build and tarball, the typings against the Rust exports and every entry's against its JS, installed into the demo; demo types and bundle"
bash scripts/pack.sh
node --test tests/types/exports.test.mjs
bash scripts/use-package.sh www
npx tsc --noEmit
npx webpack --mode production

suite "demo page: end to end in headless Chromium, Firefox and WebKit, served by the sync server"
cargo build -p ferrysync-server
node --test tests/e2e/

suite "consumers: the tarball in fresh Vite (build and dev server), webpack, esbuild and no-bundler apps with workers and a service worker (the no-bundler app in Chromium, Firefox and WebKit), vitest, Node SSR, a real quota in Chromium, background sync through a service worker in Chromium, and files in records in Chromium (a 50 MiB upload resumed after a reload halfway, counted by a proxy; a file made and synced by a service worker, one a page stored sent by ferrysync/sw)"
# Each app gets the tarball npm-installed into target/consumers/<app>; the build tools and React
# come from the workspace's node_modules. Sizes of what each build ships are printed.
node --test tests/consumers/vite.test.mjs tests/consumers/webpack.test.mjs tests/consumers/esbuild.test.mjs \
  tests/consumers/plain.test.mjs tests/consumers/node.test.mjs tests/consumers/quota.test.mjs \
  tests/consumers/background.test.mjs tests/consumers/files.test.mjs

suite "React bindings: render counts in headless Chromium; the devtools panel against the sync server"
node --test tests/consumers/react.test.mjs tests/consumers/devtools.test.mjs

suite "types: tsc --strict on a typed example (bundler, node16 and node10 resolution), and the expected type errors"
node --test tests/types/check.mjs

if [ -d tests/bench-smoke ]; then
  suite "benchmark smoke run"
  node --test tests/bench-smoke/
fi
