// Bundles the demo page (www/) against the wasm-pack output in pkg/.
// `webpack --mode production` writes www/dist; build pkg/ first (scripts/build-wasm.sh).
const path = require("node:path");
const { wasmPage } = require("./webpack.page.js");

module.exports = (_env, argv) => {
  const production = argv.mode !== "development";
  return wasmPage({
    production,
    entry: "www/src/main.tsx",
    outDir: "www/dist",
    template: "www/index.html",
    filename: production ? "[name].[contenthash:8].js" : "[name].js",
    devtool: production ? "source-map" : "eval-cheap-module-source-map",
    extensions: [".tsx", ".ts", ".js"],
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
  });
};
