#!/usr/bin/env bash
# The server benchmarks: bench/server/load.mjs (push and pull throughput with latency
# percentiles, 1/8/32 clients, one tenant and many) and bench/server/spaces.mjs (one space's first
# pull beside the whole tenant's), over SQLite and a throwaway PostgreSQL.
# Sets up what is missing and builds the server first (profile `server`: optimised for speed). Arguments go to the
# runner: --mutations N (default 20000), --batch N (100), --page N (1000).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PWD/node_modules/.bin:$PATH"

bash scripts/setup.sh
cargo build --profile server -q -p ferrysync-server
bash scripts/with-postgres.sh node bench/server/load.mjs "$@"
bash scripts/with-postgres.sh node bench/server/spaces.mjs
