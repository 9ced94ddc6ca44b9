// The demo page against the release build, served by the reference sync server it syncs with,
// in every engine of ENGINES: run after scripts/build-wasm.sh, the webpack build and
// `cargo build -p ferrysync-server`.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { test } from "node:test";
import { canGoOffline, ENGINES, eventually, openBrowser, startServer, textOf } from "./support.mjs";

const SCREENSHOTS = process.env.E2E_SCREENSHOTS === "1";

/** Runs `body` with a fresh server (its own data) and `browsers` fresh browser profiles; fails on
 * any page or console error except those `allowed` says are expected. The demo's service worker
 * is blocked in Chromium unless `serviceWorkers` is "allow", so that each step's syncs are the
 * page's own (Chromium would fire the worker's Background Sync beside them). */
async function scenario(engine, name, { browsers = 1, serverArgs = [], allowed = () => false, serviceWorkers = "block" } = {}, body) {
  const server = await startServer(serverArgs);
  const opened = [];
  try {
    for (let i = 0; i < browsers; i++) opened.push(await openBrowser(engine, { serviceWorkers }));
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

/** Adds a task through the form, in `project` (an id) when given, else in what the form offers. */
async function addTask(page, title, project) {
  await page.getByTestId("new-task-input").fill(title);
  if (project !== undefined) await page.getByTestId("new-task-project").selectOption(project);
  await page.getByTestId("add-task").click();
  await page.getByTestId("task-title").getByText(title, { exact: true }).waitFor();
}

/** The switch of `project` (an id) in the panel "Projects on this device". */
const projectSwitch = (page, project) => page.locator(`[data-testid="project"][data-project="${project}"]`);

/** Clicks the switch of `project`: on asks for it, off removes it from this device. */
const toggleProject = (page, project) => projectSwitch(page, project).getByTestId("project-toggle").click();

/** Waits until the switch of `project` shows `state`: off, pulling, ready or removing. */
async function projectIs(page, project, state) {
  await page.waitForFunction(
    ([p, s]) => document.querySelector(`[data-testid="project"][data-project="${p}"]`)?.dataset.state === s,
    [project, state],
  );
}

/** The titles of the tasks on `page`, as the list shows them, and in its database. */
async function localTitles(page) {
  const shown = await page.getByTestId("task-title").allTextContents();
  const stored = await page.evaluate(() => window.ferrysyncDemo.collection("tasks").query().then((ts) => ts.map((t) => t.title)));
  assert.deepEqual([...stored].sort(), [...shown].sort(), "the list shows what the database holds");
  return shown;
}

/** The server's tasks as [title, project], by title. */
const projectsOf = (records) => records.map((r) => [r.data.title, r.data.project ?? null]).sort(([a], [b]) => a.localeCompare(b));

/** Waits until nothing is queued and the page shows every task synced. */
async function settled(page) {
  assert.equal(await textOf(page.getByTestId("pending-count"), "0"), "0");
  await page.waitForFunction(() =>
    [...document.querySelectorAll('[data-testid="task-status"]')].every((b) => b.textContent === "synced"),
  );
}

const titles = (records) => records.map((r) => r.data.title).sort();

/** Files to attach, as Playwright's setInputFiles takes them: a 1×1 PNG and a short text. */
const PHOTO = {
  name: "fence.png",
  mimeType: "image/png",
  buffer: Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==", "base64"),
};
const NOTES = { name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("Hello notes") };

/** A file's address on the server: the SHA-256 of its bytes, in hex. */
const sha256 = (bytes) => createHash("sha256").update(bytes).digest("hex");

/** Waits until the first task's image on `page` has loaded its pixels (the 1×1 PNG). */
async function photoShown(page) {
  await page.waitForFunction(() => {
    const img = document.querySelector('[data-testid="task-row"] [data-testid="task-image"]');
    return img !== null && img.complete && img.naturalWidth === 1;
  });
}

/** The text of the file behind the first task's file link on `page` (its object URL). */
const linkedText = (page) =>
  page.evaluate(async () => (await fetch(document.querySelector('[data-testid="task-row"] [data-testid="task-file"]').href)).text());

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

  test(`${engine}: a file attached to a task goes to the server and shows on another device`, () =>
    scenario(engine, "demo-files", { browsers: 2 }, async (server, a, b) => {
      await load(a.page, server);
      await load(b.page, server);

      // a attaches a photo to a new task: it shows at once, from a's own copy.
      await a.page.getByTestId("new-task-file").setInputFiles(PHOTO);
      assert.equal(await textOf(a.page.getByText("fence.png", { exact: true }), "fence.png"), "fence.png", "the form names the file");
      await addTask(a.page, "Photo of the fence");
      await photoShown(a.page);
      await settled(a.page);

      // The server holds the file, under its hash, and the task refers to it.
      const hash = sha256(PHOTO.buffer);
      assert.deepEqual(await server.blob(hash), PHOTO.buffer, "GET /v1/blobs/{hash} answers the photo");
      const [record] = (await server.records()).records;
      assert.deepEqual(record.data.attachment, { $blob: hash, size: PHOTO.buffer.length, type: "image/png" });
      assert.equal(record.data.attachmentName, "fence.png");

      // b gets the task, and its photo comes down with it.
      await b.page.getByTestId("sync-now").click();
      await b.page.getByTestId("task-title").getByText("Photo of the fence", { exact: true }).waitFor();
      await photoShown(b.page);

      // b replaces the photo with a text file from the task's row; a gets a link to it.
      await rows(b.page).first().getByTestId("task-attach").setInputFiles(NOTES);
      assert.equal(await textOf(rows(b.page).first().getByTestId("task-file"), "notes.txt (11 B)"), "notes.txt (11 B)");
      await settled(b.page);
      assert.deepEqual(await server.blob(sha256(NOTES.buffer)), NOTES.buffer);
      await a.page.getByTestId("sync-now").click();
      assert.equal(await textOf(rows(a.page).first().getByTestId("task-file"), "notes.txt (11 B)"), "notes.txt (11 B)");
      assert.equal(await linkedText(a.page), "Hello notes");
      assert.equal(await a.page.getByTestId("error").count(), 0, "an error banner is showing");
    }));

  // Firefox's offline switch leaves loopback reachable: requests already under way, and the
  // upload's next chunks, still reach the server, so only Chromium can cut an upload short.
  const cutsLoopback = {
    skip: !canGoOffline(engine) ? offline.skip : engine !== "chromium" && `${engine}'s offline switch does not stop requests to loopback`,
  };

  test(`${engine}: a file half uploaded when the network goes shows as waiting, and after a reload finishes once online`, cutsLoopback, () =>
    scenario(
      engine,
      "demo-file-resume",
      // Slow answers, so that the network goes and the page reloads between chunks; both abort
      // what is in flight.
      { serverArgs: ["--latency-ms", "500"], allowed: (p) => /ERR_ABORTED|net::ERR_/.test(p) },
      async (server, { context, page }) => {
        await load(page, server);
        await quiet(page);
        // Four chunks of the default 1 MiB.
        const scan = { name: "scan.bin", mimeType: "application/octet-stream", buffer: randomBytes(3.5 * 1024 * 1024) };
        await page.getByTestId("new-task-file").setInputFiles(scan);
        await addTask(page, "Scanned receipts");
        const row = rows(page).first();
        await row.getByTestId("task-file").waitFor();
        await row.getByTestId("task-file-pending").waitFor();

        // Once the first chunk is on the server, the network goes: the task and its file wait.
        const progress = await page.waitForFunction(
          () => (window.ferrysyncDemo.status().upload?.done ?? 0) > 0 && document.querySelector('[data-testid="upload-progress"]')?.textContent,
          null,
          { timeout: 20_000 },
        );
        await context.setOffline(true);
        assert.match(typeof progress === "string" ? progress : await progress.jsonValue(), /^uploading file \d\.\d MB \/ 3\.5 MB/);
        assert.equal(await textOf(page.getByTestId("online"), "offline"), "offline");
        await page.waitForFunction(() => !window.ferrysyncDemo.status().syncing);
        assert.equal(await textOf(page.getByTestId("pending-count"), "1"), "1");
        await row.getByTestId("task-file-pending").waitFor();
        assert.match(await textMatching(page.getByTestId("files-to-upload"), /MB$/), /^files to upload \d\.\d MB$/);
        assert.equal(await server.blob(sha256(scan.buffer)), null, "the server does not have the whole file");
        assert.deepEqual((await server.records()).records, []);

        // Back online, the page reloads at once: the file is still here, still waiting, and its
        // upload goes on until the server has it, then the task goes up.
        await context.setOffline(false);
        await page.reload();
        await page.getByTestId("app-ready").waitFor();
        await page.waitForFunction(
          () => {
            const s = window.ferrysyncDemo?.status();
            return s !== undefined && !s.syncing && s.lastSyncAt !== null && s.pending === 0;
          },
          null,
          { timeout: 30_000 },
        );
        await settled(page);
        assert.deepEqual(await server.blob(sha256(scan.buffer)), scan.buffer);
        const [record] = (await server.records()).records;
        assert.equal(record.data.attachment.$blob, sha256(scan.buffer));
        assert.equal(await rows(page).first().getByTestId("task-file-pending").count(), 0);
        assert.equal(await textOf(rows(page).first().getByTestId("task-file"), "scan.bin (3.5 MB)"), "scan.bin (3.5 MB)");
      },
    ));

  test(`${engine}: offline, changes queue; back online, they sync`, offline, () =>
    scenario(engine, "demo-offline", {}, async (server, { context, page }) => {
      await load(page, server);
      assert.equal(await textOf(page.getByTestId("online"), "online"), "online");
      // The opening syncs over first: a request they have in flight would fail with the network.
      await quiet(page);
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
        // Until the reloaded page has counted its queue, its status says 0 pending: wait for its
        // sync to end instead.
        await page.waitForFunction(
          () => {
            const s = window.ferrysyncDemo?.status();
            return s !== undefined && !s.syncing && s.lastSyncAt !== null && s.pending === 0;
          },
          null,
          { timeout: 30_000 },
        );
        assert.equal(await textOf(page.getByTestId("pending-count"), "0"), "0");
        const { records, cursor } = await server.records();
        assert.equal(records.length, 500, "every task reached the server");
        assert.equal(new Set(records.map((r) => r.data.title)).size, 500);
        assert.equal(cursor, "c1.500", "and each was written once");
        assert.equal(await page.evaluate(() => window.ferrysyncDemo.collection("tasks").count()), 500);
      },
    ));

  test(`${engine}: each device holds only the projects it syncs; on pulls one in, off removes it here only`, () =>
    scenario(
      engine,
      "demo-projects",
      // Slow answers, so that a project's first pull shows while it runs.
      { browsers: 2, serverArgs: ["--latency-ms", "300"] },
      async (server, a, b) => {
        await load(a.page, server);
        await load(b.page, server);
        // A fresh device starts with Home (the `spaces` it opens with).
        for (const { page } of [a, b]) {
          await projectIs(page, "home", "ready");
          for (const other of ["work", "garden"]) await projectIs(page, other, "off");
        }

        await toggleProject(b.page, "work");
        await projectIs(b.page, "work", "ready");
        await addTask(b.page, "Fix the fence", "home");
        await addTask(b.page, "Write the report", "work");
        await settled(b.page);
        assert.deepEqual(projectsOf((await server.records()).records), [["Fix the fence", "home"], ["Write the report", "work"]]);

        // a gets b's Home task, never the Work one.
        await a.page.getByTestId("sync-now").click();
        await a.page.getByTestId("task-title").getByText("Fix the fence", { exact: true }).waitFor();
        await idle(a.page);
        assert.deepEqual(await localTitles(a.page), ["Fix the fence"]);

        // Turned on, Work comes in: the switch says it is pulling until its first pull is done.
        await toggleProject(a.page, "work");
        await projectIs(a.page, "work", "pulling");
        assert.match(await projectSwitch(a.page, "work").getByTestId("project-state").textContent(), /^pulling…/);
        await projectIs(a.page, "work", "ready");
        assert.match(await projectSwitch(a.page, "work").getByTestId("project-state").textContent(), /^ready, synced /);
        await a.page.getByTestId("task-title").getByText("Write the report", { exact: true }).waitFor();
        assert.deepEqual(await localTitles(a.page), ["Fix the fence", "Write the report"]);
        assert.equal(await rows(a.page).nth(1).getByTestId("task-project").inputValue(), "work");

        // Turned off, Work's task goes from a, not from the server, and the sync log says so.
        await toggleProject(a.page, "work");
        await projectIs(a.page, "work", "off");
        await a.page.waitForFunction(() => document.querySelectorAll('[data-testid="task-row"]').length === 1);
        assert.deepEqual(await localTitles(a.page), ["Fix the fence"]);
        assert.deepEqual(projectsOf((await server.records()).records), [["Fix the fence", "home"], ["Write the report", "work"]]);
        const wipe = a.page.locator('[data-testid="log-entry"][data-kind="wipe"]');
        const said = "You stopped syncing Work on this device: its task was removed from this device, not from the server.";
        assert.equal(await textOf(wipe.getByTestId("log-headline"), said), said);
        assert.equal(await wipe.getAttribute("data-rollback"), "false", "nothing of a's was lost");

        // Each device's choice is kept with its database.
        await load(a.page, server);
        await load(b.page, server);
        await projectIs(a.page, "home", "ready");
        await projectIs(a.page, "work", "off");
        await projectIs(b.page, "work", "ready");
        await b.page.getByTestId("task-title").getByText("Write the report", { exact: true }).waitFor();
        assert.deepEqual(await localTitles(a.page), ["Fix the fence"]);
      },
    ));

  test(`${engine}: turning off a project with an unsent change asks first; cancel keeps it, confirm drops it`, offline, () =>
    scenario(engine, "demo-project-off", {}, async (server, { context, page }) => {
      await load(page, server);
      await projectIs(page, "home", "ready");
      await toggleProject(page, "work");
      await projectIs(page, "work", "ready");
      await addTask(page, "Sent report", "work");
      await settled(page);
      await quiet(page);
      await context.setOffline(true);
      assert.equal(await textOf(page.getByTestId("online"), "offline"), "offline");
      await addTask(page, "Unsent report", "work");
      assert.equal(await textOf(page.getByTestId("pending-count"), "1"), "1");

      // Asked first: the removal was refused, nothing changed, and Cancel keeps it so.
      const warning = "1 unsent change to Work's tasks will be lost: the server never got it.";
      await toggleProject(page, "work");
      assert.equal(await textOf(page.getByTestId("project-off-warning"), warning), warning);
      await page.getByTestId("project-off-cancel").click();
      await page.waitForFunction(() => document.querySelector('[data-testid="project-off-dialog"]') === null);
      await projectIs(page, "work", "ready");
      assert.deepEqual(await localTitles(page), ["Sent report", "Unsent report"]);
      assert.equal(await textOf(page.getByTestId("pending-count"), "1"), "1");
      assert.equal(await page.locator('[data-testid="log-entry"][data-kind="wipe"]').count(), 0);

      // Confirmed: Work's tasks go from this device, the unsent change with them.
      await toggleProject(page, "work");
      await textOf(page.getByTestId("project-off-warning"), warning);
      await page.getByTestId("project-off-confirm").click();
      await projectIs(page, "work", "off");
      await page.getByTestId("tasks-empty").waitFor();
      assert.deepEqual(await localTitles(page), []);
      assert.equal(await textOf(page.getByTestId("pending-count"), "0"), "0");
      const wipe = page.locator('[data-testid="log-entry"][data-kind="wipe"]');
      const said =
        "You stopped syncing Work on this device: its 2 tasks were removed from this device, not from the server; 1 unsent change was dropped.";
      assert.equal(await textOf(wipe.getByTestId("log-headline"), said), said);
      assert.equal(await wipe.getAttribute("data-rollback"), "true", "a dropped change is a loss");
      assert.equal(await page.getByTestId("error").count(), 0, "an error banner is showing");

      // Back online, the dropped change never reaches the server; the sent task is still there.
      await context.setOffline(false);
      await idle(page);
      assert.deepEqual(projectsOf((await server.records()).records), [["Sent report", "work"]]);
    }));

  test(`${engine}: a task moved to a project this device does not sync says so, and leaves once synced`, () =>
    scenario(engine, "demo-project-move", {}, async (server, { page }) => {
      await load(page, server);
      await projectIs(page, "home", "ready");
      await addTask(page, "Plant tulips", "home");
      await settled(page);

      await rows(page).first().getByTestId("task-project").selectOption("garden");
      const notice = "“Plant tulips” now lives in Garden, a project this device does not sync: it leaves this device once it is synced. Turn Garden on to keep it here.";
      assert.equal(await textOf(page.getByTestId("moved-away-text"), notice), notice);
      await page.getByTestId("tasks-empty").waitFor();
      await onServer(server, "the task in Garden", (r) => r[0]?.data.project === "garden");
      assert.deepEqual(await localTitles(page), []);
      await page.getByTestId("moved-away-dismiss").click();
      assert.equal(await page.getByTestId("moved-away").count(), 0);

      // Turning Garden on brings it back.
      await toggleProject(page, "garden");
      await projectIs(page, "garden", "ready");
      await page.getByTestId("task-title").getByText("Plant tulips", { exact: true }).waitFor();
      assert.equal(await rows(page).first().getByTestId("task-project").inputValue(), "garden");
    }));
}

// The conflict panel and the sync log, driven through the page with the full playwright API (the
// WebDriver page of the other engines covers only what the scenarios above use).
/** Renames the first task on `page` and waits until the list shows it. */
async function rename(page, title) {
  const row = rows(page).first();
  await row.getByTestId("task-edit").click();
  await row.getByTestId("task-title-input").fill(title);
  await row.getByTestId("task-save").click();
  await row.getByTestId("task-title").getByText(title, { exact: true }).waitFor();
}

/** Waits until the server's records satisfy `check` (failing, with `what`, after 10 s). */
async function onServer(server, what, check) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const { records } = await server.records();
    if (check(records)) return records;
    if (Date.now() > deadline) throw new Error(`never on the server: ${what}`);
    await new Promise((done) => setTimeout(done, 100));
  }
}

/** Waits until `page` is not syncing and its last sync succeeded: a request in flight when the
 * network goes would fail with it. */
async function idle(page) {
  await page.waitForFunction(() => {
    const state = document.querySelector('[data-testid="sync-state"]')?.textContent ?? "";
    const button = document.querySelector('[data-testid="sync-now"]');
    return state.startsWith("synced") && state !== "synced never" && button && !button.disabled;
  });
}

/** Waits until no sync runs and the last one ended 300 ms ago or more: stricter than idle(),
 * for a sync that follows another at once. A fresh device syncs twice as it opens: the sync on
 * open, then the one that adding its default project asks for (even when the first pulled the
 * project already); between them, it is idle for a few milliseconds. */
async function quiet(page) {
  await page.waitForFunction(() => {
    const { syncing, lastSyncAt } = window.ferrysyncDemo.status();
    return !syncing && lastSyncAt !== null && Date.now() - lastSyncAt >= 300;
  });
}

/** Both browsers edit the shared task offline (`edits(pageA, pageB)`); a syncs first, then b,
 * whose change clashes on the same field and waits in its conflict panel. */
async function clash(server, a, b, edits) {
  for (const browser of [a, b]) {
    await idle(browser.page);
    await browser.context.setOffline(true);
  }
  await edits(a.page, b.page);
  await a.context.setOffline(false);
  await settled(a.page);
  await b.context.setOffline(false);
  const conflict = b.page.getByTestId("conflict");
  await conflict.waitFor();
  assert.equal(await textOf(b.page.getByTestId("conflict-count"), "1"), "1");
  assert.equal(await textOf(rows(b.page).first().getByTestId("task-status"), "conflict"), "conflict");
  return conflict;
}

/** The diff row of `field` in a conflict: [base, mine, theirs, change, highlighted]. */
async function diffRow(conflict, field) {
  const row = conflict.locator(`[data-testid="diff-row"][data-field="${field}"]`);
  return [
    await row.getByTestId("diff-base").textContent(),
    await row.getByTestId("diff-local").textContent(),
    await row.getByTestId("diff-server").textContent(),
    await row.getAttribute("data-change"),
    await row.evaluate((tr) => tr.classList.contains("clash")),
  ];
}

/** Waits until the first task on `page` has `title` (syncing first when `sync`). */
async function titleIs(page, title, { sync = false } = {}) {
  if (sync) await page.getByTestId("sync-now").click();
  assert.equal(await textOf(rows(page).first().getByTestId("task-title"), title), title);
}

test("chromium: two browsers: a conflict on the same field shows its diff, and is settled by keeping mine, theirs, then a merge", () =>
  scenario("chromium", "demo-conflicts", { browsers: 2 }, async (server, a, b) => {
    await load(a.page, server);
    await load(b.page, server);
    await addTask(a.page, "Shared");
    await settled(a.page);
    await b.page.getByTestId("sync-now").click();
    await b.page.getByTestId("task-title").getByText("Shared", { exact: true }).waitFor();

    // Keep mine: b's title goes to the server and on to a.
    let conflict = await clash(server, a, b, async (pa, pb) => {
      await rename(pa, "Renamed by a");
      await rename(pb, "Renamed by b");
    });
    assert.deepEqual(await diffRow(conflict, "title"), ["“Shared”", "“Renamed by b”", "“Renamed by a”", "both-different", true]);
    assert.equal(await conflict.getByTestId("diff-row").count(), 1, "only the title changed");
    assert.equal((await server.records()).records[0].data.title, "Renamed by a", "the server kept a's version");
    await conflict.getByTestId("keep-local").click();
    await b.page.getByTestId("conflict-panel").waitFor({ state: "detached" });
    await settled(b.page);
    await onServer(server, "b's title on the server", (r) => r[0]?.data.title === "Renamed by b");
    await titleIs(a.page, "Renamed by b", { sync: true });

    // Use theirs: b's change goes, a's stays everywhere.
    conflict = await clash(server, a, b, async (pa, pb) => {
      await rename(pa, "Second by a");
      await rename(pb, "Second by b");
    });
    assert.deepEqual(await diffRow(conflict, "title"), ["“Renamed by b”", "“Second by b”", "“Second by a”", "both-different", true]);
    await conflict.getByTestId("keep-server").click();
    await titleIs(b.page, "Second by a");
    await settled(b.page);
    await titleIs(a.page, "Second by a", { sync: true });
    assert.equal((await server.records()).records[0].data.title, "Second by a");

    // Merge: b also ticked the task off, a change of its own that the merge keeps; for the title,
    // both changed, b picks a's.
    conflict = await clash(server, a, b, async (pa, pb) => {
      await rename(pa, "Third by a");
      await rename(pb, "Third by b");
      await rows(pb).first().getByTestId("task-toggle").click();
      await pb.waitForFunction(() => document.querySelector('[data-testid="task-toggle"]')?.checked === true);
    });
    assert.deepEqual(await diffRow(conflict, "title"), ["“Second by a”", "“Third by b”", "“Third by a”", "both-different", true]);
    assert.deepEqual(await diffRow(conflict, "done"), ["false", "true", "false", "local", false]);
    await conflict.getByTestId("merge").click();
    const field = conflict.locator('[data-testid="merge-field"][data-field="title"]');
    assert.equal(await conflict.getByTestId("merge-field").count(), 1, "only the title needs a pick");
    await field.getByLabel("Theirs: “Third by a”").check();
    await conflict.getByTestId("merge-save").click();
    await titleIs(b.page, "Third by a");
    await settled(b.page);
    assert.equal(await rows(b.page).first().getByTestId("task-toggle").isChecked(), true, "b's own change merged in");
    const [merged] = await onServer(server, "the merged task on the server", (r) => r[0]?.data.done === true);
    assert.deepEqual([merged.data.title, merged.data.done], ["Third by a", true]);
    // a's title is its own already: what shows the merge arrived is the tick, so wait for that.
    await titleIs(a.page, "Third by a", { sync: true });
    await a.page.waitForFunction(
      () => document.querySelector('[data-testid="task-row"] [data-testid="task-toggle"]')?.checked === true,
    );
    assert.equal(await textOf(rows(a.page).first().getByTestId("task-status"), "synced"), "synced");

    // Each decision is in b's log, newest first; the two that replaced b's title say so.
    const entries = b.page.getByTestId("log-entry");
    await b.page.waitForFunction(() => document.querySelectorAll('[data-testid="log-entry"]').length === 3);
    const attrs = await entries.evaluateAll((lis) => lis.map((li) => [li.dataset.by, li.dataset.kept, li.dataset.rollback]));
    assert.deepEqual(attrs, [["user", "merged", "true"], ["user", "server", "true"], ["user", "local", "false"]]);
    assert.equal(await entries.nth(1).getByTestId("log-headline").textContent(), "You replaced your change to “Second by b” with the server's version.");
    assert.equal(await entries.nth(1).getByTestId("log-lost").textContent(), "title: yours “Second by b”, the server's “Second by a”");
  }));

test("chromium: a change the server-wins strategy replaces is a rollback notice in the sync log, until cleared", () =>
  scenario("chromium", "demo-rollback", { browsers: 2 }, async (server, a, b) => {
    await load(a.page, server);
    await load(b.page, server);
    const renameBoard = async (page, title) => {
      await page.getByTestId("board-title-edit").click();
      await page.getByTestId("board-title-input").fill(title);
      await page.getByTestId("board-title-save").click();
      assert.equal(await textOf(page.getByTestId("board-title"), title), title);
    };
    await renameBoard(a.page, "Team board");
    await onServer(server, "the board on the server", (r) => r[0]?.data.title === "Team board");
    await b.page.getByTestId("sync-now").click();
    assert.equal(await textOf(b.page.getByTestId("board-title"), "Team board"), "Team board");
    await b.page.getByTestId("sync-log-empty").waitFor();

    // Both rename the board offline; a's reaches the server first, and b's is replaced by it.
    for (const browser of [a, b]) {
      await idle(browser.page);
      await browser.context.setOffline(true);
    }
    await renameBoard(a.page, "Board by a");
    await renameBoard(b.page, "Board by b");
    await a.context.setOffline(false);
    await onServer(server, "a's board title on the server", (r) => r[0]?.data.title === "Board by a");
    await b.context.setOffline(false);
    const notice = b.page.getByTestId("log-entry");
    await notice.waitFor();
    assert.equal(await textOf(b.page.getByTestId("board-title"), "Board by a"), "Board by a");
    assert.equal(await notice.count(), 1);
    assert.deepEqual(
      [await notice.getAttribute("data-by"), await notice.getAttribute("data-kept"), await notice.getAttribute("data-rollback")],
      ["server-wins", "server", "true"],
    );
    assert.equal(
      await notice.getByTestId("log-headline").textContent(),
      "Your change to the board's title “Board by b” was replaced by a newer version from the server.",
    );
    assert.equal(await notice.getByTestId("log-lost").textContent(), "title: yours “Board by b”, the server's “Board by a”");
    assert.equal(await textOf(b.page.getByTestId("conflict-count"), "0"), "0", "no conflict left to a person");
    assert.equal(await a.page.getByTestId("log-entry").count(), 0, "a lost nothing");

    // Clearing empties the log itself: it stays empty after a reload.
    await b.page.getByTestId("sync-log-clear").click();
    await b.page.getByTestId("sync-log-empty").waitFor();
    await b.page.reload();
    await b.page.getByTestId("app-ready").waitFor();
    await b.page.getByTestId("sync-log-empty").waitFor();
    assert.equal(await b.page.getByTestId("log-entry").count(), 0);
  }));

/** The text of `locator` once it matches `re` (or, after 10 s, as it is). */
async function textMatching(locator, re) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const text = (await locator.textContent())?.trim() ?? "";
    if (re.test(text) || Date.now() > deadline) return text;
    await new Promise((done) => setTimeout(done, 50));
  }
}

test("chromium: a file that cannot come down says so on the task, and shows once the server is back", () =>
  scenario(
    "chromium",
    "demo-file-unreachable",
    // b's file downloads are cut off on purpose (below); Chromium logs each as a failed load.
    { browsers: 2, allowed: (p) => /\/v1\/blobs\/.*ERR_INTERNET_DISCONNECTED|Failed to load resource: net::ERR_INTERNET_DISCONNECTED/.test(p) },
    async (server, a, b) => {
      await load(a.page, server);
      await load(b.page, server);
      await a.page.getByTestId("new-task-file").setInputFiles(PHOTO);
      await addTask(a.page, "Photo of the fence");
      await settled(a.page);

      // b gets the task, but every request for a file fails as with the network gone.
      await idle(b.page);
      await b.page.route(/\/v1\/blobs\//, (route) => route.abort("internetdisconnected"));
      await b.page.getByTestId("sync-now").click();
      await b.page.getByTestId("task-title").getByText("Photo of the fence", { exact: true }).waitFor();
      const missing = rows(b.page).first().getByTestId("task-file-missing");
      assert.match(await textMatching(missing, /not on this device/), /^fence\.png \(70 B\) is not on this device yet, and the server is out of reach/);
      assert.equal(await b.page.getByTestId("task-image").count(), 0);

      // The server is back: the next sync brings the file, and the row shows it.
      await b.page.unroute(/\/v1\/blobs\//);
      await b.page.getByTestId("sync-now").click();
      await photoShown(b.page);
      assert.equal(await rows(b.page).first().getByTestId("task-file-missing").count(), 0);
    },
  ));

test("chromium: the sync health panel shows the queue, the storage and the sync, and asks for persistent storage", () =>
  scenario("chromium", "demo-health", {}, async (server, { context, page }) => {
    await load(page, server);
    const health = page.getByTestId("health");
    const toggle = health.locator(".fsd-toggle");
    await quiet(page);
    await context.setOffline(true);
    await addTask(page, "Waiting in the queue");
    assert.match(await textMatching(toggle, /1 pending/), /ferrysync · 1 pending/);
    await toggle.click();
    const queued = health.locator('[data-section="outbox"] [data-record]');
    await queued.first().waitFor();
    assert.equal(await queued.count(), 1, "the queued create is listed");
    const usage = await textMatching(health.locator('[data-section="storage"] [data-field="usage"]'), /\d/);
    assert.match(usage, /\d/, `the storage usage: ${usage}`);
    await health.locator('[data-section="storage"] button').click();
    assert.match(await textMatching(health.locator('[data-field="persist"]'), /./), /./, "the browser's answer is shown");

    await context.setOffline(false);
    await settled(page);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="health"] [data-section="outbox"] [data-record]').length === 0);
    assert.match(await textMatching(toggle, /0 pending/), /0 pending/);
    assert.deepEqual(titles((await server.records()).records), ["Waiting in the queue"]);
  }));

test("chromium: force push and force pull ask first, saying what will be lost, and cancel changes nothing", () =>
  scenario(
    "chromium",
    "demo-force",
    // a's pushes are cut off on purpose (below), and one force is tried offline.
    { browsers: 2, allowed: (p) => /\/v1\/push|ERR_INTERNET_DISCONNECTED/.test(p) },
    async (server, a, b) => {
      await load(a.page, server);
      await load(b.page, server);
      await addTask(a.page, "Shared");
      await settled(a.page);
      await b.page.getByTestId("sync-now").click();
      await b.page.getByTestId("task-title").getByText("Shared", { exact: true }).waitFor();
      const forces = (page, kind) => page.locator(`[data-testid="log-entry"][data-kind="${kind}"]`);

      // Force push: b's title, held by a conflict, replaces a's on the server.
      await clash(server, a, b, async (pa, pb) => {
        await rename(pa, "Renamed by a");
        await rename(pb, "Renamed by b");
      });
      await b.page.getByTestId("force-push").click();
      const push = b.page.getByRole("dialog", { name: "Force push" });
      const pushWarning = "The server's versions of 1 record will be replaced by yours.";
      assert.equal(await textOf(push.getByTestId("force-push-warning"), pushWarning), pushWarning);
      await push.getByTestId("force-push-confirm").click();
      await push.waitFor({ state: "detached" });
      await b.page.getByTestId("conflict-panel").waitFor({ state: "detached" });
      await settled(b.page);
      assert.equal(await textOf(b.page.getByTestId("conflict-count"), "0"), "0");
      await titleIs(b.page, "Renamed by b");
      const [forced] = await onServer(server, "b's title on the server", (r) => r[0]?.data.title === "Renamed by b");
      assert.equal(forced.forced, true, "the server marks the version forced");
      await titleIs(a.page, "Renamed by b", { sync: true });
      assert.equal(await textOf(a.page.getByTestId("conflict-count"), "0"), "0");
      await forces(b.page, "force-push").waitFor();
      assert.equal(
        await forces(b.page, "force-push").getByTestId("log-headline").textContent(),
        "You forced 1 queued change of every collection onto the server.",
      );
      // With nothing queued, there is nothing to confirm.
      await b.page.getByTestId("force-push").click();
      const idlePush = b.page.getByRole("dialog", { name: "Force push" });
      assert.equal(await textOf(idlePush.getByTestId("force-push-warning"), "Nothing queued: nothing to force."), "Nothing queued: nothing to force.");
      assert.equal(await idlePush.getByTestId("force-push-confirm").isDisabled(), true);
      await idlePush.getByTestId("force-push-cancel").click();
      await idlePush.waitFor({ state: "detached" });

      // Force pull: a's rename stays queued, since its pushes fail.
      await idle(a.page);
      await a.page.route(/\/v1\/push/, (route) => route.abort("internetdisconnected"));
      await rename(a.page, "Unsent by a");
      await a.page.getByTestId("sync-state").getByText("sync failed", { exact: true }).waitFor();
      assert.equal(await textOf(a.page.getByTestId("pending-count"), "1"), "1");
      const dropWarning = "1 unsent change and 0 conflicts will be dropped; your local data becomes the server's.";
      const openPull = async () => {
        await a.page.getByTestId("force-pull").click();
        const pull = a.page.getByRole("dialog", { name: "Force pull" });
        assert.equal(await textOf(pull.getByTestId("force-pull-warning"), dropWarning), dropWarning);
        return pull;
      };

      // Keeping the changes says so; Cancel and Escape both leave everything as it was.
      let pull = await openPull();
      await pull.getByLabel("Keep my unsent changes").check();
      const keepWarning = "Your 1 unsent change and 0 conflicts are kept and re-applied on top; the rest of your local data becomes the server's.";
      assert.equal(await textOf(pull.getByTestId("force-pull-warning"), keepWarning), keepWarning);
      await pull.getByTestId("force-pull-cancel").click();
      await pull.waitFor({ state: "detached" });
      pull = await openPull();
      await a.page.keyboard.press("Escape");
      await pull.waitFor({ state: "detached" });
      await titleIs(a.page, "Unsent by a");
      assert.equal(await textOf(a.page.getByTestId("pending-count"), "1"), "1");

      // Offline, the force is refused before anything changes, and the banner says why.
      await a.context.setOffline(true);
      pull = await openPull();
      await pull.getByTestId("force-pull-confirm").click();
      assert.equal(await textOf(a.page.getByTestId("error-name"), "NetworkError"), "NetworkError");
      await a.page.getByTestId("error-dismiss").click();
      await titleIs(a.page, "Unsent by a");
      assert.equal(await textOf(a.page.getByTestId("pending-count"), "1"), "1");
      await a.context.setOffline(false);
      await a.page.getByTestId("sync-state").getByText("sync failed", { exact: true }).waitFor();

      // Confirmed: while the pull is held, both buttons are disabled and say what runs.
      let release = () => {};
      const held = new Promise((resolve) => (release = resolve));
      await a.page.route(/\/v1\/pull/, async (route) => (await held, route.continue()), { times: 1 });
      pull = await openPull();
      await pull.getByTestId("force-pull-confirm").click();
      await pull.waitFor({ state: "detached" });
      assert.equal(await textOf(a.page.getByTestId("force-pull"), "Force pulling…"), "Force pulling…");
      assert.equal(await a.page.getByTestId("force-pull").isDisabled(), true);
      assert.equal(await a.page.getByTestId("force-push").isDisabled(), true);
      release();
      await titleIs(a.page, "Renamed by b");
      await settled(a.page);
      assert.equal(await textOf(a.page.getByTestId("force-pull"), "Force pull…"), "Force pull…");
      await forces(a.page, "force-pull").waitFor();
      assert.equal(await forces(a.page, "force-pull").count(), 1, "only the confirmed force pull ran");
      assert.equal(
        await forces(a.page, "force-pull").getByTestId("log-headline").textContent(),
        "You replaced every collection with the server's data; 1 unsent change was dropped.",
      );
      assert.equal(await a.page.getByTestId("error").count(), 0, "an error banner is showing");
      assert.equal((await server.records()).records[0].data.title, "Renamed by b", "a's dropped change never reached the server");
    },
  ));

test("chromium: with every page of the demo closed, a change made offline reaches the server through its service worker", () =>
  scenario(
    "chromium",
    "demo-background",
    // A request of the page's, controlled by its worker, may fail while the network is gone.
    { serviceWorkers: "allow", allowed: (p) => /ERR_INTERNET_DISCONNECTED/.test(p) },
    async (server, { context, page }) => {
    await load(page, server);
    const tag = await page.evaluate(async () => {
      await navigator.serviceWorker.ready;
      return `ferrysync:${window.ferrysyncDemo.name}`;
    });
    await context.setOffline(true);
    await addTask(page, "Sent by the worker");
    assert.equal(await textOf(page.getByTestId("pending-count"), "1"), "1");
    // The page asks for a Background Sync, which waits for the network.
    await eventually(
      "the page registered its Background Sync",
      () => page.evaluate(async (tag) => (await (await navigator.serviceWorker.ready).sync.getTags()).includes(tag), tag),
      { timeout: 20_000 },
    );

    // Every page of the demo closes (a blank one keeps the browser open), then the network
    // comes back: the browser fires the sync at the worker by itself.
    const blank = await context.newPage();
    await page.close();
    await context.setOffline(false);
    await eventually("the worker pushed the task", async () => titles((await server.records()).records).includes("Sent by the worker"), {
      timeout: 20_000,
    });

    // A page opened later shows it synced.
    await load(blank, server);
    await settled(blank);
    assert.deepEqual(await localTitles(blank), ["Sent by the worker"]);
  }));
