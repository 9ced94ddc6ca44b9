// No bundler: the installed files served as they are, the entry named by an import map in the
// page and imported by path in a module worker and a module service worker. The worker also
// shows that the sync engine follows the network from a worker's global scope. In every engine
// of ENGINES.
import assert from "node:assert/strict";
import { test } from "node:test";
import { canGoOffline, ENGINES, serverRecords } from "../e2e/support.mjs";
import { createReloadSynced, eventually, prepareApp, withServerAndBrowser } from "./support.mjs";

let prepared;
const app = () => (prepared ??= prepareApp("plain"));

for (const engine of ENGINES) {
  test(`${engine}: no bundler: a note is created, survives a reload and syncs, in the page, a module worker and a service worker`, async (t) => {
    const dir = await app();
    await withServerAndBrowser(
      ["--static", dir],
      async (server, { context, page }) => {
        const { call } = await createReloadSynced(page, {
          appUrl: `${server.url}/`,
          serverUrl: server.url,
          kinds: ["worker", "serviceWorker"],
        });
        if (!canGoOffline(engine)) {
          t.diagnostic(`${engine} cannot be taken offline through WebDriver: the offline part is left out`);
          return;
        }

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
      },
      { engine },
    );
  });
}
