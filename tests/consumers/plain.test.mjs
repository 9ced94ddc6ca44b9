// No bundler: the installed files served as they are, the entry named by an import map in the
// page and imported by path in a module worker and a module service worker. The worker also
// shows that the sync engine follows the network from a worker's global scope.
import assert from "node:assert/strict";
import { test } from "node:test";
import { serverRecords } from "../e2e/support.mjs";
import { createReloadSynced, eventually, prepareApp, withServerAndBrowser } from "./support.mjs";

test("no bundler: a note is created, survives a reload and syncs, in the page, a module worker and a service worker", async () => {
  const dir = await prepareApp("plain");
  await withServerAndBrowser(["--static", dir], async (server, { context, page }) => {
    const { call } = await createReloadSynced(page, {
      appUrl: `${server.url}/`,
      serverUrl: server.url,
      kinds: ["worker", "serviceWorker"],
    });

    // Offline: each worker's engine notices from the worker's own global scope (no request
    // needed), and a note written then syncs once the network is back.
    for (const kind of ["worker", "serviceWorker"]) {
      await call(kind, "syncNow");
      await context.setOffline(true);
      assert.equal(await call(kind, "navigatorOnLine"), false, `${kind}: navigator.onLine is false`);
      await eventually(`the ${kind}'s status says offline`, async () => !(await call(kind, "status")).online);
      const id = await call(kind, "add", `written offline in the ${kind}`);
      await context.setOffline(false);
      await eventually(`the ${kind}'s offline note reaches the server`, async () =>
        (await serverRecords(server.url)).records.some((r) => r.id === id),
      );
      assert.equal((await call(kind, "status")).online, true, `${kind}: online again`);
    }
  });
});
