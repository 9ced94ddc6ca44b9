// Bundles the benchmark page (bench/) against the wasm-pack output in pkg/ and the npm package
// dexie. `webpack --config webpack.bench.config.js --mode production` writes bench/dist.
const path = require("node:path");
const HtmlWebpackPlugin = require("html-webpack-plugin");

module.exports = (_env, argv) => {
  const production = argv.mode !== "development";
  return {
    mode: production ? "production" : "development",
    entry: path.resolve(__dirname, "bench/src/main.js"),
    output: {
      path: path.resolve(__dirname, "bench/dist"),
      filename: "[name].[contenthash:8].js",
      webassemblyModuleFilename: "[hash].wasm",
      publicPath: "",
      clean: true,
    },
    devtool: false,
    experiments: {
      // wasm-pack's bundler target imports the .wasm file as an ES module.
      asyncWebAssembly: true,
    },
    resolve: {
      alias: {
        ferrysync: path.resolve(__dirname, "pkg"),
      },
    },
    module: {
      rules: [
        // The benchmark sources are ES modules; the workspace's package.json says commonjs.
        { test: /\.js$/, include: path.resolve(__dirname, "bench/src"), type: "javascript/esm" },
      ],
    },
    plugins: [
      new HtmlWebpackPlugin({
        template: path.resolve(__dirname, "bench/index.html"),
      }),
    ],
    performance: {
      hints: false,
    },
  };
};
