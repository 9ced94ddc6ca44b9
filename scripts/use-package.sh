#!/usr/bin/env bash
# Installs the package built by scripts/pack.sh into an app folder's node_modules, the way an app
# installs it: `npm install` of the dependency its package.json declares (`file:../pkg/ferrysync`,
# copied as the tarball would be, not linked). Usage: scripts/use-package.sh www
set -euo pipefail
cd "$(dirname "$0")/.."
app=${1:?usage: scripts/use-package.sh APP_DIR}
if [ ! -f pkg/ferrysync/package.json ]; then
  echo "pkg/ferrysync is missing: run scripts/pack.sh first" >&2
  exit 1
fi
# npm keeps an installed copy whose version did not change; every build must replace it.
rm -rf "$app/node_modules/ferrysync"
npm install --prefix "$app" --install-links --no-package-lock --no-audit --no-fund --silent
