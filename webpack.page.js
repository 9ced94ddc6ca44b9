// What every page that loads the ferrysync package needs from webpack: one HTML page, and no
// size hints (the .wasm module is the bulk of the page by design). Nothing wasm-specific: the
// package fetches its .wasm through `new URL("ferrysync_bg.wasm", import.meta.url)`, which
// webpack 5 emits as an asset. Each config adds its entry, output folder, template, devtool,
// loaders and, for the benchmark, where `ferrysync` comes from.
const path = require("node:path");
const HtmlWebpackPlugin = require("html-webpack-plugin");

/** A webpack config for the page `entry` (relative to the repository) written to `outDir`. */
function wasmPage({ production, entry, outDir, template, filename, devtool, extensions, alias, rules }) {
  return {
    mode: production ? "production" : "development",
    entry: path.resolve(__dirname, entry),
    output: {
      path: path.resolve(__dirname, outDir),
      filename,
      publicPath: "",
      clean: true,
    },
    devtool,
    resolve: {
      ...(extensions ? { extensions } : {}),
      ...(alias ? { alias } : {}),
    },
    module: { rules },
    plugins: [new HtmlWebpackPlugin({ template: path.resolve(__dirname, template) })],
    performance: { hints: false },
  };
}

module.exports = { wasmPage };
