// An esbuild bundle. esbuild leaves `new URL("ferrysync_bg.wasm", import.meta.url)` as it is, so
// the build copies the .wasm next to the bundle (tests/consumers/esbuild.test.mjs).
import * as ferrysync from "ferrysync";
import { startPage } from "./page.js";

startPage(ferrysync, "esbuild");
