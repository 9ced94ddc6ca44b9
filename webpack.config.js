// Bundles the demo page (www/) against the wasm-pack output in pkg/.
// `webpack --mode production` writes www/dist; build pkg/ first (scripts/build-wasm.sh).
const path = require("node:path");
const HtmlWebpackPlugin = require("html-webpack-plugin");

module.exports = (_env, argv) => {
  const production = argv.mode !== "development";
  return {
    mode: production ? "production" : "development",
    entry: path.resolve(__dirname, "www/src/main.tsx"),
    output: {
      path: path.resolve(__dirname, "www/dist"),
      filename: production ? "[name].[contenthash:8].js" : "[name].js",
      webassemblyModuleFilename: "[hash].wasm",
      publicPath: "",
      clean: true,
    },
    devtool: production ? "source-map" : "eval-cheap-module-source-map",
    experiments: {
      // wasm-pack's bundler target imports the .wasm file as an ES module.
      asyncWebAssembly: true,
    },
    resolve: {
      extensions: [".tsx", ".ts", ".js"],
      alias: {
        ferrysync: path.resolve(__dirname, "pkg"),
      },
    },
    module: {
      rules: [
        {
          test: /\.tsx?$/,
          include: path.resolve(__dirname, "www/src"),
          use: {
            loader: "ts-loader",
            // Type checking is its own step (`npx tsc --noEmit`); the bundle only transpiles.
            options: { transpileOnly: true },
          },
        },
      ],
    },
    plugins: [
      new HtmlWebpackPlugin({
        template: path.resolve(__dirname, "www/index.html"),
      }),
    ],
    performance: {
      // The .wasm module is the bulk of the page and is expected to exceed webpack's default hint.
      hints: false,
    },
  };
};
