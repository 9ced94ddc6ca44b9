// Bundles the demo page (www/) into www/dist with `webpack --mode production`: the page, and its
// service worker (www/src/sw.ts, written to www/dist/sw.js so that its scope is the whole
// page). Both import `ferrysync` from www/node_modules, where scripts/use-package.sh installs
// the package built by scripts/pack.sh, as any app would.
const path = require("node:path");
const { wasmPage } = require("./webpack.page.js");

/** TypeScript, transpiled only: type checking is its own step (`npx tsc --noEmit`). */
const typescript = [
  {
    test: /\.tsx?$/,
    include: path.resolve(__dirname, "www/src"),
    use: { loader: "ts-loader", options: { transpileOnly: true } },
  },
];

module.exports = (_env, argv) => {
  const production = argv.mode !== "development";
  const page = wasmPage({
    production,
    entry: "www/src/main.tsx",
    outDir: "www/dist",
    template: "www/index.html",
    filename: production ? "[name].[contenthash:8].js" : "[name].js",
    devtool: production ? "source-map" : "eval-cheap-module-source-map",
    extensions: [".tsx", ".ts", ".js"],
    rules: typescript,
  });
  // One classic script with everything in it (a service worker may not import() chunks), at a
  // fixed name, built after the page so that the page's clean-up of www/dist leaves it alone.
  const worker = {
    name: "sw",
    dependencies: ["page"],
    mode: page.mode,
    target: "webworker",
    entry: path.resolve(__dirname, "www/src/sw.ts"),
    output: { path: page.output.path, filename: "sw.js", publicPath: "", asyncChunks: false },
    devtool: production ? "source-map" : false,
    resolve: { extensions: [".ts", ".js"] },
    module: { rules: typescript },
    performance: { hints: false },
  };
  return [{ ...page, name: "page" }, worker];
};
