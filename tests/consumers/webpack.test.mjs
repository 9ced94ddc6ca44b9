// webpack 5 with no ferrysync-specific settings: the production build (page and module worker)
// served by the reference server.
import { test } from "node:test";
import { join } from "node:path";
import { createReloadSynced, prepareApp, reportShipped, tool, withServerAndBrowser } from "./support.mjs";

test("webpack build: a note is created, survives a reload and syncs, in the page and in a module worker", async () => {
  const dir = await prepareApp("webpack");
  await tool(dir, "webpack", ["--config", "webpack.config.cjs", "--no-stats"]);
  reportShipped("webpack build", join(dir, "dist"));
  await withServerAndBrowser(["--static", join(dir, "dist")], (server, { page }) =>
    createReloadSynced(page, { appUrl: `${server.url}/`, serverUrl: server.url, kinds: ["worker"] }),
  );
});
