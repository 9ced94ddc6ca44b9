// What every page that loads the ferrysync package needs from webpack: the wasm-pack bundler
// output (pkg/, imported as `ferrysync`) loaded as an async WebAssembly module, one HTML page,
// and no size hints (the .wasm module is the bulk of the page by design). Each config adds its
// entry, output folder, template, devtool and loaders.
const path = require("node:path");
const HtmlWebpackPlugin = require("html-webpack-plugin");

/** A webpack config for the page `entry` (relative to the repository) written to `outDir`. */
function wasmPage({ production, entry, outDir, template, filename, devtool, extensions, rules }) {
  return {
    mode: production ? "production" : "development",
    entry: path.resolve(__dirname, entry),
    output: {
      path: path.resolve(__dirname, outDir),
      filename,
      webassemblyModuleFilename: "[hash].wasm",
      publicPath: "",
      clean: true,
    },
    devtool,
    experiments: {
      // wasm-pack's bundler target imports the .wasm file as an ES module.
      asyncWebAssembly: true,
    },
    resolve: {
      ...(extensions ? { extensions } : {}),
      alias: {
        ferrysync: path.resolve(__dirname, "pkg"),
      },
    },
    module: { rules },
    plugins: [new HtmlWebpackPlugin({ template: path.resolve(__dirname, template) })],
    performance: { hints: false },
  };
}

module.exports = { wasmPage };
