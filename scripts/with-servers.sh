#!/usr/bin/env bash
# Runs a command with two reference sync servers on 127.0.0.1 (free ports), stopped afterwards
# (when the command ends, fails, or the script is interrupted):
#   FERRYSYNC_TEST_SERVER   reliable, in memory
#   FERRYSYNC_FLAKY_SERVER  with fault injection: 500s, 429s with Retry-After, dropped connections
# Tokens tok1..tok35 map to tenants tenant1..tenant35, one per test scenario; tok16-rotated is a
# second token of tenant16 (a refreshed token of the same user).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build -q -p ferrysync-server
server=target/debug/ferrysync-server
tokens=$(for i in $(seq 1 35); do printf 'tok%d=tenant%d,' "$i" "$i"; done)
tokens="${tokens}tok16-rotated=tenant16"
logs=$(mktemp -d)
pids=()
stop() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$logs"
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Starts a server with the given options, in this shell (so that its pid reaches `stop`).
start() {
  local name=$1; shift
  FERRYSYNC_LOG=warn "$server" --listen 127.0.0.1:0 --memory --dev-tokens "$tokens" "$@" >"$logs/$name.out" 2>"$logs/$name.err" &
  pids+=($!)
}

# Prints the URL of a started server once it listens.
url_of() {
  local name=$1
  for _ in $(seq 1 100); do
    if grep -q '^listening on ' "$logs/$name.out"; then
      sed -n 's/^listening on //p' "$logs/$name.out" | head -n1
      return
    fi
    sleep 0.1
  done
  echo "the $name server did not start:" >&2
  cat "$logs/$name.err" >&2
  return 1
}

start main
start flaky --enable-faults --fail-rate 0.2 --throttle-rate 0.1 --retry-after-secs 1 --drop-rate 0.15
FERRYSYNC_TEST_SERVER=$(url_of main)
FERRYSYNC_FLAKY_SERVER=$(url_of flaky)
export FERRYSYNC_TEST_SERVER FERRYSYNC_FLAKY_SERVER
echo "sync servers: $FERRYSYNC_TEST_SERVER (reliable), $FERRYSYNC_FLAKY_SERVER (faults)"
# In the background and waited for, so that a signal to this script is handled at once (and
# the command stopped with the servers) instead of after the command ends.
"$@" &
pids=("$!" "${pids[@]}")
wait "$!"
