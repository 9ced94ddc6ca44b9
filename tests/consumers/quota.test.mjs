// A full disk, for real: Chromium's DevTools protocol sets a quota for the page's origin, and the
// package (installed from the tarball, no bundler) meets it. A write that does not fit fails with
// QuotaExceededError and leaves nothing half written; reads go on; a sync fails typed with
// nothing lost while the disk is full; once there is room again, writes and syncs work without a
// reload, and the server holds every change once.
import assert from "node:assert/strict";
import { test } from "node:test";
import { serverRecords } from "../e2e/support.mjs";
import { prepareApp, withServerAndBrowser } from "./support.mjs";

test("chromium: a write over the quota fails typed with nothing half written, and writes work again once there is room", async () => {
  const dir = await prepareApp("quota", { from: new URL("./apps/quota", import.meta.url).pathname });
  await withServerAndBrowser(["--static", dir], async (server, { context, page }) => {
    await page.goto(`${server.url}/`);
    await page.waitForSelector("body[data-ready=yes]", { state: "attached" });
    const cdp = await context.newCDPSession(page);
    const setQuota = (quotaSize) => cdp.send("Storage.overrideQuotaForOrigin", { origin: server.url, quotaSize });
    try {
      // Set before the database is opened: Chromium keeps what a bucket may still use once it has
      // asked, so a quota set after the first writes may not be enforced at once.
      const { usage } = await page.evaluate(() => navigator.storage.estimate());
      await setQuota(usage + 1024 * 1024);
      await page.evaluate(async (url) => {
        window.db = await window.ferrysync.open({
          app: "quota",
          version: 1,
          collections: { notes: {} },
          sync: { url, token: "dev-token", syncOnOpen: false, intervalMs: false, debounceMs: false },
        });
      }, server.url);

      // Batches of five notes of 50 KB until one does not fit.
      const filled = await page.evaluate(async () => {
        const notes = window.db.collection("notes");
        const body = "x".repeat(50 * 1024);
        for (let batch = 0; batch < 200; batch++) {
          const records = Array.from({ length: 5 }, (_, i) => ({ id: `n${batch}-${i}`, body }));
          try {
            await notes.bulkCreate(records);
          } catch (error) {
            return { batch, name: error.name, message: error.message };
          }
        }
        return { batch: 200, name: null };
      });
      assert.equal(filled.name, "QuotaExceededError", `the write that does not fit: ${JSON.stringify(filled)}`);
      assert.ok(filled.batch > 0 && filled.batch < 200, `some batches fit first: ${filled.batch}`);

      // Nothing half written: every whole batch before it, none of the refused one, a queued
      // change for each; reads go on.
      const after = await page.evaluate(async (refused) => {
        const notes = window.db.collection("notes");
        const ids = (await notes.query()).map((n) => n.id);
        return {
          count: await notes.count(),
          refused: ids.filter((id) => id.startsWith(`n${refused}-`)).length,
          queued: (await window.db.outbox()).length,
          pending: window.db.status().pending,
        };
      }, filled.batch);
      assert.deepEqual(after, { count: filled.batch * 5, refused: 0, queued: filled.batch * 5, pending: filled.batch * 5 });

      // While the disk is full, a sync cannot store what it learns (Chromium refuses every write,
      // even one that would not grow the data): it fails typed, and nothing queued is lost (the
      // server may already hold the changes; they go again under the same ids).
      const synced = await page.evaluate(async () => {
        try {
          await window.db.syncNow();
          return { error: null };
        } catch (error) {
          return { error: error.name, pending: window.db.status().pending, queued: (await window.db.outbox()).length };
        }
      });
      assert.deepEqual(synced, { error: "QuotaExceededError", pending: filled.batch * 5, queued: filled.batch * 5 });

      // Once there is room again, writes work without a reload, and sync.
      await setQuota(usage + 64 * 1024 * 1024);
      const written = await page.evaluate(async (refused) => {
        const notes = window.db.collection("notes");
        await notes.bulkCreate(Array.from({ length: 5 }, (_, i) => ({ id: `n${refused}-${i}`, body: "fits now" })));
        const summary = await window.db.syncNow();
        return { count: await notes.count(), pushed: summary.pushed, pending: window.db.status().pending };
      }, filled.batch);
      assert.deepEqual(written, { count: filled.batch * 5 + 5, pushed: filled.batch * 5 + 5, pending: 0 });
      const { records } = await serverRecords(server.url);
      assert.equal(records.filter((r) => r.collection === "notes").length, filled.batch * 5 + 5, "all of them reached the server");
    } finally {
      await setQuota(-1).catch(() => {});
      await page.evaluate(() => window.db?.close()).catch(() => {});
    }
  });
});
