#!/usr/bin/env bash
# The randomised checks with seeds drawn anew, for as long as you like; the test command runs the
# same ones on fixed seeds. Every failure prints the seed and the command that replays it.
#   SOAK_SIM_SEEDS       simulation seeds per round (default 20000)
#   SOAK_ORDER_PLANS     plans of the order check per round (default 5000, four orders each)
#   SOAK_ROUNDS          rounds (default 1); each round draws a new simulation start and a new
#                        schemathesis seed
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

bash scripts/setup.sh --no-browser
cargo build -q --release -p ferrysync-sim
for round in $(seq 1 "${SOAK_ROUNDS:-1}"); do
  from=$(( (RANDOM << 30 | RANDOM << 15 | RANDOM) ))
  printf '\n==> round %s: simulation, %s seeds from %s\n' "$round" "${SOAK_SIM_SEEDS:-20000}" "$from"
  target/release/ferrysync-sim --seeds "${SOAK_SIM_SEEDS:-20000}" --from "$from"
  printf '\n==> round %s: the order check, %s plans from %s\n' "$round" "${SOAK_ORDER_PLANS:-5000}" "$from"
  target/release/ferrysync-sim --order-seeds "${SOAK_ORDER_PLANS:-5000}" --from "$from"
  printf '\n==> round %s: schemathesis, a random seed\n' "$round"
  SCHEMATHESIS_SEED=random bash scripts/schemathesis.sh
done
