// Nothing for ferrysync: webpack 5 emits the package's .wasm as an asset by itself.
const path = require("node:path");
const HtmlWebpackPlugin = require("html-webpack-plugin");

module.exports = {
  mode: "production",
  entry: "./main.js",
  output: { path: path.resolve(__dirname, "dist"), filename: "[name].[contenthash:8].js", clean: true },
  plugins: [new HtmlWebpackPlugin({ template: "./index.html" })],
  performance: { hints: false },
};
