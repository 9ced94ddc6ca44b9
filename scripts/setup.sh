#!/usr/bin/env bash
# Installs everything the build, the demo and the tests need, skipping what is already there:
# the wasm32 target, wasm-bindgen-cli at exactly the version in Cargo.lock, wasm-pack, the
# browsers and their WebDriver servers (Chromium and ChromeDriver, Firefox ESR, WebKitGTK's
# WebKitWebDriver and MiniBrowser with Xvfb: Debian packages; geckodriver: crates.io), and the
# npm packages (which bring wasm-opt from binaryen).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

say() { printf '\n==> %s\n' "$*"; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# wasm-bindgen-cli must match the wasm-bindgen crate exactly.
want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock 2>/dev/null || true)
want=${want:-0.2.130}
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" != "$want" ]; then
  say "installing wasm-bindgen-cli $want (found: ${have:-none})"
  cargo install wasm-bindgen-cli --version "$want" --force
fi

if ! command -v wasm-pack >/dev/null; then
  say "installing wasm-pack"
  cargo install wasm-pack
fi

# `--no-browser` (scripts/pack.sh): building the package needs no browser.
if [ "${1:-}" != "--no-browser" ] && { ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; }; then
  say "installing chromium and chromium-driver"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium chromium-driver
fi

if [ "${1:-}" != "--no-browser" ] && { ! command -v firefox-esr >/dev/null || ! command -v WebKitWebDriver >/dev/null || ! command -v Xvfb >/dev/null; }; then
  say "installing firefox-esr, webkit2gtk-driver and xvfb"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq firefox-esr webkit2gtk-driver xvfb
fi

# geckodriver is not packaged by Debian; wasm-pack and the node-driven tests find it in
# ~/.cargo/bin (GECKODRIVER).
if [ "${1:-}" != "--no-browser" ] && [ ! -x "$HOME/.cargo/bin/geckodriver" ]; then
  say "installing geckodriver"
  cargo install geckodriver --locked
fi

# npm ci when the lock file is newer than the installed tree (or nothing is installed).
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages"
  npm ci --no-audit --no-fund
fi

# ---- reference server: PostgreSQL for the server suite, schemathesis for the API check ----
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  say "installing postgresql"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql
fi

# schemathesis, pinned, in a virtual environment of its own (.venv-schemathesis, gitignored).
schemathesis_version=4.32.5
if [ "$(.venv-schemathesis/bin/schemathesis --version 2>/dev/null | awk '{print $NF}')" != "$schemathesis_version" ]; then
  say "installing schemathesis $schemathesis_version into .venv-schemathesis"
  python3 -m venv .venv-schemathesis
  .venv-schemathesis/bin/pip install -q --disable-pip-version-check "schemathesis==$schemathesis_version"
fi

# moto's S3 server, pinned, in a virtual environment of its own (.venv-moto, gitignored): the
# server suite's S3 test (server/tests/s3.rs) starts one on 127.0.0.1 and stops it.
moto_version=5.2.5
if [ "$(.venv-moto/bin/python -c 'import moto; print(moto.__version__)' 2>/dev/null)" != "$moto_version" ]; then
  say "installing moto $moto_version into .venv-moto"
  python3 -m venv .venv-moto
  .venv-moto/bin/pip install -q --disable-pip-version-check "moto[server]==$moto_version"
fi
