#!/usr/bin/env bash
# Builds the npm package: the folder pkg/ferrysync and the tarball pkg/ferrysync-<version>.tgz
# (`npm install ./pkg/ferrysync-<version>.tgz` in an app). Installs what is missing first, builds
# the wasm module in release mode (scripts/build-wasm.sh; `--dev` for an unoptimised one),
# compiles package/src (the entry, the lazy loader, the React bindings, the service worker
# entry) with tsc, and adds the public types, the package README, both licence texts and the
# manifest.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PWD/node_modules/.bin:$PATH"

bash scripts/setup.sh --no-browser

# The package and the crate are released together, under one version.
crate_version=$(awk -F'"' '/^version = / { print $2; exit }' Cargo.toml)
version=$(node -p 'require("./package/package.json").version')
if [ "$crate_version" != "$version" ]; then
  echo "package/package.json has version $version, Cargo.toml $crate_version: make them equal" >&2
  exit 1
fi
if grep -q 'example\.invalid' package/package.json; then
  echo "package/package.json still has a placeholder URL" >&2
  exit 1
fi

bash scripts/build-wasm.sh "$@"

out=pkg/ferrysync
rm -rf "$out" "pkg/ferrysync-$version.tgz"
mkdir -p "$out/wasm"
cp pkg/wasm/ferrysync.js pkg/wasm/ferrysync.d.ts pkg/wasm/ferrysync_bg.wasm "$out/wasm/"
cp -r pkg/wasm/snippets "$out/wasm/"
# wasm-bindgen puts glue.js (which holds the error class) under a hashed path; the entry
# imports the class from a fixed one.
glue=$(cd "$out/wasm" && find snippets -name glue.js)
if [ "$(printf '%s\n' "$glue" | wc -l)" != 1 ] || [ -z "$glue" ]; then
  echo "expected one glue.js under pkg/wasm/snippets, found: ${glue:-none}" >&2
  exit 1
fi
printf '// The error class of the wasm glue, at a path that does not change between builds.\nexport { FerrysyncError } from "./%s";\n' "$glue" > "$out/wasm/errors.js"

tsc -p package/tsconfig.json
# The entry's types are the hand-written index.d.ts, not what tsc derives from its source.
rm "$out/ferrysync.d.ts" "$out/loader.d.ts"
cp package/src/index.d.ts package/package.json package/README.md LICENSE-MIT LICENSE-APACHE "$out/"

# Every JS file of the package is minified in place (one file at a time, so the module graph,
# the file names and the exports stay as they are): an app loaded without a bundler, or with
# one that leaves node_modules alone, would otherwise ship the comments and long names. The
# types (.d.ts) are not touched. `new URL("ferrysync_bg.wasm", import.meta.url)` survives as
# written, so bundlers still find the wasm.
find "$out" -name '*.js' -print0 | while IFS= read -r -d '' js; do
  esbuild "$js" --minify --format=esm --log-level=error --outfile="$js" --allow-overwrite
done

(cd pkg && npm pack ./ferrysync --pack-destination . --silent >/dev/null)
tarball="pkg/ferrysync-$version.tgz"
gz() { gzip -9c "$1" | wc -c; }
printf '%s: %s bytes\n' "$tarball" "$(wc -c < "$tarball")"
printf '  wasm: %s bytes (%s gzipped); entry, loader and glue JS: %s bytes (%s gzipped, minified)\n' \
  "$(wc -c < "$out/wasm/ferrysync_bg.wasm")" "$(gz "$out/wasm/ferrysync_bg.wasm")" \
  "$(cat "$out/ferrysync.js" "$out/loader.js" "$out/wasm/ferrysync.js" "$out/wasm/errors.js" "$out/wasm/$glue" | wc -c)" \
  "$(cat "$out/ferrysync.js" "$out/loader.js" "$out/wasm/ferrysync.js" "$out/wasm/errors.js" "$out/wasm/$glue" | gzip -9 | wc -c)"
printf '  service worker entry (ferrysync/sw): %s bytes (%s gzipped, minified)\n' "$(wc -c < "$out/sw.js")" "$(gz "$out/sw.js")"
