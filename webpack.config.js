// Bundles the demo page (www/) into www/dist with `webpack --mode production`. The page imports
// `ferrysync` and `ferrysync/react` from www/node_modules, where scripts/use-package.sh installs
// the package built by scripts/pack.sh, as any app would.
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
