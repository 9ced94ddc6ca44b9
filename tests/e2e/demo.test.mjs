// The demo page against the release build, served by the reference sync server it syncs with,
// in every engine of ENGINES: run after scripts/build-wasm.sh, the webpack build and
// `cargo build -p ferrysync-server`.
import assert from "node:assert/strict";
import { test } from "node:test";
import { canGoOffline, ENGINES, openBrowser, startServer, textOf } from "./support.mjs";

const SCREENSHOTS = process.env.E2E_SCREENSHOTS === "1";

/** Runs `body` with a fresh server (its own data) and `browsers` fresh browser profiles; fails on
 * any page or console error except those `allowed` says are expected. */
async function scenario(engine, name, { browsers = 1, serverArgs = [], allowed = () => false } = {}, body) {
  const server = await startServer(serverArgs);
  const opened = [];
  try {
    for (let i = 0; i < browsers; i++) opened.push(await openBrowser(engine));
    await body(server, ...opened);
    for (const [i, browser] of opened.entries()) {
      if (SCREENSHOTS) await browser.screenshot(`${engine}-${name}-${i}`);
      assert.deepEqual(browser.problems.filter((p) => !allowed(p)), [], "the page reported errors");
    }
  } catch (error) {
    for (const [i, browser] of opened.entries()) {
      const shot = await browser.screenshot(`${engine}-${name}-${i}-failure`).catch(() => null);
      if (shot) console.error(`screenshot: ${shot}`);
      if (browser.problems.length) console.error(browser.problems.join("\n"));
    }
    throw error;
  } finally {
    for (const browser of opened) await browser.close();
    await server.stop();
  }
}

async function load(page, server) {
  await page.goto(server.url);
  await page.getByTestId("app-ready").waitFor();
}

const rows = (page) => page.getByTestId("task-row");

async function addTask(page, title) {
  await page.getByTestId("new-task-input").fill(title);
  await page.getByTestId("add-task").click();
  await page.getByTestId("task-title").getByText(title, { exact: true }).waitFor();
}

/** Waits until nothing is queued and the page shows every task synced. */
async function settled(page) {
  assert.equal(await textOf(page.getByTestId("pending-count"), "0"), "0");
  await page.waitForFunction(() =>
    [...document.querySelectorAll('[data-testid="task-status"]')].every((b) => b.textContent === "synced"),
  );
}

const titles = (records) => records.map((r) => r.data.title).sort();

for (const engine of ENGINES) {
  // The scenarios that take the network away need an engine that can.
  const offline = { skip: !canGoOffline(engine) && `${engine} cannot be taken offline through WebDriver` };

  test(`${engine}: a new task syncs to the server and is still there after a reload`, () =>
    scenario(engine, "demo-create-sync", {}, async (server, { page }) => {
      await load(page, server);
      await page.getByTestId("tasks-empty").waitFor();
      assert.equal(await textOf(page.getByTestId("online"), "online"), "online");

      await addTask(page, "Water the plants");
      assert.equal(await rows(page).count(), 1);
      assert.equal(await page.getByTestId("new-task-input").inputValue(), "");
      await settled(page);
      const { records } = await server.records();
      assert.deepEqual(titles(records), ["Water the plants"]);
      assert.equal(records[0].id, await rows(page).first().getAttribute("data-task-id"));

      await page.reload();
      await page.getByTestId("app-ready").waitFor();
      await rows(page).first().waitFor();
      assert.equal(await textOf(rows(page).first().getByTestId("task-status"), "synced"), "synced");
      assert.equal(await page.getByTestId("error").count(), 0, "an error banner is showing");
    }));

  test(`${engine}: a task can be renamed, ticked off and deleted, and the server follows`, () =>
    scenario(engine, "demo-edit-delete", {}, async (server, { page }) => {
      await load(page, server);
      for (const title of ["First", "Second"]) await addTask(page, title);
      assert.deepEqual(await page.getByTestId("task-title").allTextContents(), ["First", "Second"]);

      const first = rows(page).first();
      await first.getByTestId("task-edit").click();
      await first.getByTestId("task-title-input").fill("First, renamed");
      await first.getByTestId("task-save").click();
      assert.equal(await textOf(first.getByTestId("task-title"), "First, renamed"), "First, renamed");
      await first.getByTestId("task-toggle").click();
      await page.waitForFunction(() => document.querySelector('[data-testid="task-toggle"]')?.checked === true);
      await rows(page).nth(1).getByTestId("task-delete").click();
      await page.waitForFunction(() => document.querySelectorAll('[data-testid="task-row"]').length === 1);
      await settled(page);

      const { records } = await server.records();
      assert.deepEqual(records.map((r) => [r.data.title, r.data.done]), [["First, renamed", true]]);
      await page.reload();
      await rows(page).first().waitFor();
      assert.deepEqual(await page.getByTestId("task-title").allTextContents(), ["First, renamed"]);
      assert.equal(await rows(page).first().getByTestId("task-toggle").isChecked(), true);
    }));

  test(`${engine}: offline, changes queue; back online, they sync`, offline, () =>
    scenario(engine, "demo-offline", {}, async (server, { context, page }) => {
      await load(page, server);
      assert.equal(await textOf(page.getByTestId("online"), "online"), "online");
      // The sync on open over first: a request it has in flight would fail with the network.
      await page.waitForFunction(() => {
        const state = document.querySelector('[data-testid="sync-state"]')?.textContent ?? "";
        return state.startsWith("synced") && state !== "synced never";
      });
      await context.setOffline(true);
      assert.equal(await textOf(page.getByTestId("online"), "offline"), "offline");
      await addTask(page, "Written offline");
      await addTask(page, "Also offline");
      assert.equal(await textOf(page.getByTestId("pending-count"), "2"), "2");
      await new Promise((r) => setTimeout(r, 600)); // past the write debounce: still nothing sent
      assert.deepEqual((await server.records()).records, []);

      await context.setOffline(false);
      await settled(page);
      assert.equal(await textOf(page.getByTestId("online"), "online"), "online");
      assert.deepEqual(titles((await server.records()).records), ["Also offline", "Written offline"]);
    }));

  test(`${engine}: two browsers converge, and a conflict is shown and settled`, offline, () =>
    scenario(engine, "demo-two-browsers", { browsers: 2 }, async (server, a, b) => {
      await load(a.page, server);
      await load(b.page, server);
      await addTask(a.page, "Shared");
      await settled(a.page);
      await b.page.getByTestId("sync-now").click();
      await b.page.getByTestId("task-title").getByText("Shared", { exact: true }).waitFor();

      // Both rename the task while offline; a syncs first, b then finds the conflict.
      for (const [browser, title] of [[a, "Renamed by a"], [b, "Renamed by b"]]) {
        await browser.context.setOffline(true);
        const row = rows(browser.page).first();
        await row.getByTestId("task-edit").click();
        await row.getByTestId("task-title-input").fill(title);
        await row.getByTestId("task-save").click();
        await row.getByTestId("task-title").getByText(title).waitFor();
      }
      await a.context.setOffline(false);
      await settled(a.page);
      await b.context.setOffline(false);
      assert.equal(await textOf(b.page.getByTestId("conflict-count"), "1"), "1");
      const conflict = b.page.getByTestId("conflict");
      await conflict.waitFor();
      assert.match(await conflict.textContent(), /Renamed by b.*Renamed by a/);
      assert.equal(await textOf(rows(b.page).first().getByTestId("task-status"), "conflict"), "conflict");
      assert.equal((await server.records()).records[0].data.title, "Renamed by a", "the server kept a's version");

      await conflict.getByTestId("keep-local").click();
      await settled(b.page);
      assert.equal(await textOf(b.page.getByTestId("conflict-count"), "0"), "0");
      assert.equal((await server.records()).records[0].data.title, "Renamed by b");
      await a.page.getByTestId("sync-now").click();
      assert.equal(await textOf(rows(a.page).first().getByTestId("task-title"), "Renamed by b"), "Renamed by b");
    }));

  test(`${engine}: a reload in the middle of a sync loses nothing and doubles nothing`, offline, () =>
    scenario(
      engine,
      "demo-reload-mid-sync",
      // Slow answers, so that the reload lands while batches are in flight; the reload aborts them.
      { serverArgs: ["--latency-ms", "250"], allowed: (p) => /ERR_ABORTED|net::ERR_/.test(p) },
      async (server, { context, page }) => {
        await load(page, server);
        await context.setOffline(true);
        await page.evaluate(() =>
          window.ferrysyncDemo
            .collection("tasks")
            .bulkCreate(Array.from({ length: 500 }, (_, i) => ({ title: `bulk ${i}`, done: false, createdAt: Date.now() + i }))),
        );
        assert.equal(await textOf(page.getByTestId("pending-count"), "500"), "500");
        await context.setOffline(false);
        await page.waitForFunction(() => {
          const progress = window.ferrysyncDemo.status().progress;
          return progress !== null && progress.done >= 100;
        });
        const queued = await page.evaluate(() => window.ferrysyncDemo.status().pending);
        assert.ok(queued > 0 && queued < 500, `the reload lands mid-sync (${queued} still queued)`);
        await page.reload();
        await page.getByTestId("app-ready").waitFor();
        assert.equal(await textOf(page.getByTestId("pending-count"), "0", { timeout: 30_000 }), "0");
        const { records, cursor } = await server.records();
        assert.equal(records.length, 500, "every task reached the server");
        assert.equal(new Set(records.map((r) => r.data.title)).size, 500);
        assert.equal(cursor, "c1.500", "and each was written once");
        assert.equal(await page.evaluate(() => window.ferrysyncDemo.collection("tasks").count()), 500);
      },
    ));
}
