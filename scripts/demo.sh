#!/usr/bin/env bash
# The main job: set up, build the package in release mode and install it into the demo page
# (www/node_modules), bundle the page, then start the reference sync server, which serves the
# page too, and print its URL.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PWD/node_modules/.bin:$PATH"

bash scripts/setup.sh
bash scripts/pack.sh
bash scripts/use-package.sh www
npx webpack --mode production
cargo build --profile server -p ferrysync-server
addr="127.0.0.1:${PORT:-8080}"
echo "ferrysync demo: http://$addr/"
# The demo page signs in with the development token "dev-token" (tenant "dev").
exec target/server/ferrysync-server --listen "$addr" --static www/dist --db "${FERRYSYNC_DB:-ferrysync-demo.sqlite}" \
  --dev-tokens dev-token=dev
