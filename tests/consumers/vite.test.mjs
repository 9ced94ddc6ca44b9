// Vite, with no ferrysync-specific settings: the production build (page and module worker)
// served by the reference server, and the dev server (which pre-bundles the package) with the
// sync protocol forwarded to it.
import { before, test } from "node:test";
import { join } from "node:path";
import { createReloadSynced, prepareApp, reportShipped, startTool, tool, withServerAndBrowser } from "./support.mjs";

let dir;
before(async () => {
  dir = await prepareApp("vite");
});

test("vite build: a note is created, survives a reload and syncs, in the page and in a module worker", async () => {
  await tool(dir, "vite", ["build", "--logLevel", "warn"]);
  reportShipped("Vite build", join(dir, "dist"));
  await withServerAndBrowser(["--static", join(dir, "dist")], (server, { page }) =>
    createReloadSynced(page, { appUrl: `${server.url}/`, serverUrl: server.url, kinds: ["worker"] }),
  );
});

test("vite dev server: the same, with the package pre-bundled", async () => {
  await withServerAndBrowser([], async (server, { page }) => {
    const dev = await startTool(dir, "vite", ["--port", "0", "--host", "127.0.0.1", "--strictPort"], {
      env: { FERRYSYNC_SYNC_URL: server.url },
      ready: /Local:\s+(http:\/\/127\.0\.0\.1:\d+\/)/,
    });
    try {
      await createReloadSynced(page, { appUrl: dev.match[1], serverUrl: server.url, kinds: ["worker"] });
    } finally {
      await dev.stop();
    }
  });
});
