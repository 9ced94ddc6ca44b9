// Bundles the benchmark page (bench/) against the package folder built by scripts/pack.sh
// (pkg/ferrysync) and the npm package dexie. `webpack --config webpack.bench.config.js --mode
// production` writes bench/dist.
const path = require("node:path");
const { wasmPage } = require("./webpack.page.js");

module.exports = (_env, argv) =>
  wasmPage({
    production: argv.mode !== "development",
    entry: "bench/src/main.js",
    outDir: "bench/dist",
    template: "bench/index.html",
    filename: "[name].[contenthash:8].js",
    devtool: false,
    alias: { ferrysync: path.resolve(__dirname, "pkg/ferrysync") },
    rules: [
      // The benchmark sources are ES modules; the workspace's package.json says commonjs.
      { test: /\.js$/, include: path.resolve(__dirname, "bench/src"), type: "javascript/esm" },
    ],
  });
