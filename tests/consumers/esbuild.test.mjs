// esbuild: one ESM bundle, with the package's .wasm copied beside it (esbuild emits no asset for
// `new URL(…, import.meta.url)`, and the URL then points next to the bundle).
import { copyFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { createReloadSynced, prepareApp, reportShipped, tool, withServerAndBrowser } from "./support.mjs";

test("esbuild bundle: a note is created, survives a reload and syncs", async () => {
  const dir = await prepareApp("esbuild");
  const dist = join(dir, "dist");
  mkdirSync(dist, { recursive: true });
  await tool(dir, "esbuild", ["main.js", "--bundle", "--format=esm", "--minify", "--outdir=dist", "--log-level=warning"]);
  copyFileSync(join(dir, "index.html"), join(dist, "index.html"));
  copyFileSync(join(dir, "node_modules", "ferrysync", "wasm", "ferrysync_bg.wasm"), join(dist, "ferrysync_bg.wasm"));
  reportShipped("esbuild bundle", dist);
  await withServerAndBrowser(["--static", dist], (server, { page }) =>
    createReloadSynced(page, { appUrl: `${server.url}/`, serverUrl: server.url }),
  );
});
