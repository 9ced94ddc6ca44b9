// The devtools panel (ferrysync/devtools) in headless Chromium against the reference server, read
// and clicked as a developer would: the pending count and the outbox follow a write, "Sync now"
// empties the outbox and the server holds the record, a typed error shows by its name, a rejected
// change shows under dead letters until it is retried or discarded, and the reset says how many
// unsent changes it would drop, keeps them on cancel and leaves the server's data on confirm.
// Also: an app that does not import the panel ships none of it, and what the panel weighs. The
// harness is tests/consumers/apps/devtools, built by Vite with React's development build (which
// reports a missing key or a misplaced element as a console error, and so fails the test).
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { before, test } from "node:test";
import { gzipSync } from "node:zlib";
import { serverRecords } from "../e2e/support.mjs";
import { eventually, prepareApp, tool, withServerAndBrowser } from "./support.mjs";

let dir;
before(async () => {
  dir = await prepareApp("devtools");
  await tool(dir, "vite", ["build", "--logLevel", "warn"], { NODE_ENV: "development" });
});

/** Runs `body(h, page, server)` on the harness page, `h` calling `window.harness`. */
function withHarness(body, allowed) {
  return withServerAndBrowser(["--static", join(dir, "dist")], async (server, { page }) => {
    await page.goto(`${server.url}/`);
    await page.waitForFunction(() => window.harnessReady);
    const h = new Proxy({}, { get: (_, name) => (...args) => page.evaluate(([n, a]) => window.harness[n](...a), [name, args]) });
    await body(h, page, server);
  }, { allowed });
}

/** The panel as the test reads it: a field of a section, a section's row for a record, buttons. */
function panelOf(page) {
  const section = (name) => page.locator(`.ferrysync-devtools [data-section="${name}"]`);
  const field = (sectionName, name) => section(sectionName).locator(`[data-field="${name}"]`).first();
  /** The field's text once `check(text)` holds. */
  const fieldWhen = (sectionName, name, what, check) =>
    eventually(what, async () => {
      const locator = field(sectionName, name);
      const text = (await locator.count()) > 0 ? (await locator.textContent()).trim() : null;
      return text !== null && check(text) ? text : null;
    });
  const row = (sectionName, recordId) => section(sectionName).locator(`tr[data-record="${recordId}"]`);
  const button = (name) => page.locator(".ferrysync-devtools").getByRole("button", { name, exact: true });
  const gone = (what, locator) => eventually(what, async () => (await locator.count()) === 0);
  return { section, field, fieldWhen, row, button, gone };
}

test("the pending count and the outbox follow a write; Sync now empties the outbox and the server holds the record", () =>
  withHarness(async (h, page, server) => {
    await h.open("flow");
    await h.mount("flow", { initialOpen: false });
    const p = panelOf(page);

    // Closed, it is a button with the counts; it opens on a click.
    const toggle = page.locator(".ferrysync-devtools .fsd-toggle");
    await eventually("the closed panel's counts", async () => /0 pending/.test(await toggle.textContent()));
    assert.equal(await p.section("status").count(), 0, "closed: no sections");
    await toggle.click();
    await p.fieldWhen("status", "pending", "no pending change", (t) => t === "0");
    await eventually("an empty outbox", async () => /nothing queued/.test(await p.section("outbox").textContent()));

    const note = await h.notes("flow", "create", { title: "from the app" });
    await p.fieldWhen("status", "pending", "one pending change", (t) => t === "1");
    const queued = p.row("outbox", note.id);
    await eventually("the outbox lists the create", async () => (await queued.count()) === 1);
    const cells = await queued.locator("td").allTextContents();
    assert.deepEqual([cells[1], cells[2], cells[3], cells[5], cells[6]], ["notes", note.id, "create", "0", "–"], "collection, record, op, attempts, held");
    assert.match(await toggle.textContent(), /1 pending/, "the button counts it too");

    await p.button("Sync now").click();
    const summary = await p.fieldWhen("actions", "sync-now", "the sync's summary", (t) => t.startsWith("pushed"));
    assert.match(summary, /^pushed 1, pulled \d+, conflicts 0, rejected 0, resolved 0$/);
    await p.gone("the outbox emptied", queued);
    assert.match(await p.section("outbox").textContent(), /nothing queued/);
    await p.fieldWhen("status", "pending", "nothing pending", (t) => t === "0");
    assert.notEqual(await p.field("status", "lastSyncAt").textContent(), "never", "the last sync is shown");
    assert.ok((await serverRecords(server.url)).records.some((r) => r.id === note.id && r.data.title === "from the app"), "the server holds the record");

    // The metrics are read again after the sync; the storage is read at all.
    await p.fieldWhen("metrics", "syncs", "the sync counted", (t) => t === "1 ok, 0 failed");
    await p.fieldWhen("storage", "usage", "the storage usage", (t) => /\d/.test(t));

    // Nothing damaged: the check reads every record and repairs none.
    await p.button("Check integrity").click();
    const checked = await p.fieldWhen("actions", "integrity", "the check's tally", (t) => /^checked [1-9]/.test(t) && !/…/.test(t));
    assert.match(checked, /^checked (\d+) of \1, set aside 0, rebuilt 0$/);
  }));

test("Sync now shows a failed sync by its error's name and message", () =>
  withHarness(async (h, page) => {
    await h.open("bad-token", { token: "not-a-token" });
    await h.mount("bad-token", { viaProp: true });
    const p = panelOf(page);
    await h.notes("bad-token", "create", { title: "stays queued" });
    await p.button("Sync now").click();
    const shown = await p.fieldWhen("actions", "sync-now", "the error", (t) => t.length > 0);
    assert.match(shown, /^SyncError: .*401/);
    await p.fieldWhen("status", "lastError", "the last error", (t) => /401/.test(t));
    await p.fieldWhen("status", "pending", "the change kept", (t) => t === "1");
  }, (problem) => /401/.test(problem)));

test("a rejected change shows under dead letters; retry sends it again, discard removes it", () =>
  withHarness(async (h, page, server) => {
    await h.open("dead");
    await h.mount("dead", { viaProp: true });
    const p = panelOf(page);
    await eventually("no dead letters", async () => /none/.test(await p.section("dead-letters").textContent()));

    // The reference server refuses a record over its size limit, for good.
    const big = await h.notes("dead", "create", { title: "x".repeat(300 * 1024) });
    const doomed = await h.notes("dead", "create", { title: "y".repeat(300 * 1024) });
    await p.button("Sync now").click();
    await p.fieldWhen("actions", "sync-now", "two rejected", (t) => /rejected 2/.test(t));
    await p.fieldWhen("status", "failed", "two failed", (t) => t === "2");
    for (const id of [big.id, doomed.id]) {
      const row = p.row("dead-letters", id);
      await eventually("the dead letter listed", async () => (await row.count()) === 1);
      assert.match(await row.textContent(), /data_too_large: /, "with the server's answer");
    }
    assert.equal(await p.section("sync-log").locator('tr[data-kind="rejected"]').count(), 2, "the log has both rejections");

    await p.row("dead-letters", doomed.id).getByRole("button", { name: "discard" }).click();
    await p.gone("the discarded dead letter", p.row("dead-letters", doomed.id));
    await p.fieldWhen("status", "failed", "one failed", (t) => t === "1");
    assert.equal(await h.notes("dead", "get", doomed.id), undefined, "a record the server never had goes with it");

    await h.notes("dead", "update", big.id, { title: "small now" });
    await p.row("dead-letters", big.id).getByRole("button", { name: "retry" }).click();
    await p.gone("the retried dead letter", p.row("dead-letters", big.id));
    await p.fieldWhen("status", "failed", "none failed", (t) => t === "0");
    // The change goes again as the record is now (the edit queued behind it with it).
    await eventually("queued again, held no more", async () => {
      const held = await p.row("outbox", big.id).locator("td:nth-child(7)").allTextContents();
      return held.length > 0 && held.every((t) => t === "–");
    });
    await p.button("Sync now").click();
    await p.fieldWhen("actions", "sync-now", "the retry pushed", (t) => /^pushed [1-9].*rejected 0/.test(t));
    const onServer = (await serverRecords(server.url)).records;
    assert.deepEqual(onServer.map((r) => [r.id, r.data.title]), [[big.id, "small now"]], "the server holds the retried record only");
  }));

test("Reset counts the unsent changes; Cancel keeps them; Export first shows them; Confirm leaves the server's data", () =>
  withHarness(async (h, page, server) => {
    await h.open("server-side");
    await h.open("device");
    const shared = await h.notes("server-side", "create", { title: "the server's" });
    await h.db("server-side", "syncNow");
    await h.db("device", "syncNow");
    await h.notes("device", "update", shared.id, { title: "edited here" });
    const localOnly = await h.notes("device", "create", { title: "never sent" });
    await h.mount("device", { viaProp: true });
    const p = panelOf(page);
    await p.fieldWhen("status", "pending", "two unsent changes", (t) => t === "2");
    const titles = async () => (await h.notes("device", "query")).map((n) => n.title).sort();

    await p.button("Reset from server…").click();
    const unsent = await p.fieldWhen("actions", "unsent", "the count of what would be lost", (t) => t.length > 0);
    assert.equal(unsent, "2 unsent changes would be lost.");
    await p.button("Cancel").click();
    await p.gone("the question", p.field("actions", "unsent"));
    // A pull started by mistake would have landed by then (the server is on this machine).
    await new Promise((done) => setTimeout(done, 500));
    assert.equal((await h.db("device", "status")).pending, 2, "cancel kept the changes");
    assert.deepEqual(await titles(), ["edited here", "never sent"], "and the records as they were");

    await p.button("Reset from server…").click();
    await p.fieldWhen("actions", "unsent", "asked again", (t) => t.startsWith("2 unsent"));
    await p.button("Export first").click();
    await p.fieldWhen("actions", "export", "the export", (t) => t.startsWith("2 pending changes exported"));
    const exported = JSON.parse(await p.field("actions", "export-json").textContent());
    assert.deepEqual(
      exported.changes.map((c) => [c.id, c.op, c.record.title]),
      [[shared.id, "update", "edited here"], [localOnly.id, "create", "never sent"]],
      "the export holds both changes with their records",
    );
    assert.equal(await p.field("actions", "unsent").count(), 1, "the question is still there");

    // A change made while the question is shown is counted before anything is dropped.
    await h.notes("device", "create", { title: "written meanwhile" });
    await p.button("Drop 2 and reset").click();
    await p.fieldWhen("actions", "unsent", "the new count", (t) => t.startsWith("3 unsent"));
    assert.equal((await h.db("device", "status")).pending, 3, "nothing dropped yet");

    await p.button("Drop 3 and reset").click();
    await p.fieldWhen("actions", "reset", "the reset's result", (t) => t.startsWith("Reset done"));
    assert.deepEqual(await titles(), ["the server's"], "only the server's data remains");
    await p.fieldWhen("status", "pending", "nothing unsent", (t) => t === "0");
    await eventually("an empty outbox", async () => /nothing queued/.test(await p.section("outbox").textContent()));
    const onServer = (await serverRecords(server.url)).records;
    assert.deepEqual(onServer.map((r) => [r.id, r.data.title]), [[shared.id, "the server's"]], "the server's data is untouched");
  }));

test("an app that does not import ferrysync/devtools, or mounts it under import.meta.env.DEV, ships none of it in production; what the panel adds", async () => {
  const bundle = async (entry) => {
    const out = join(dir, "sizes", entry.replace(/\.jsx$/, ".js"));
    await tool(dir, "esbuild", [entry, "--bundle", "--minify", "--format=esm", "--jsx=automatic", "--external:react", "--external:react-dom", `--outfile=${out}`]);
    return readFileSync(out);
  };
  const without = await bundle("react-only.jsx");
  const withPanel = await bundle("with-devtools.jsx");
  assert.ok(withPanel.includes("ferrysync-devtools"), "the panel's bundle has its root class");
  assert.ok(!without.includes("ferrysync-devtools"), "the app without the panel has nothing of it");
  const gz = (bytes) => gzipSync(bytes, { level: 9 }).length;
  const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
  console.log(
    `ferrysync/devtools adds ${kb(withPanel.length - without.length)} minified, ${kb(gz(withPanel) - gz(without))} gzipped ` +
      `(app with the React bindings: ${kb(without.length)}, ${kb(gz(without))} gzipped; React itself external)`,
  );

  // `import.meta.env.DEV && <FerrysyncDevtools />`, built by Vite for production.
  await tool(dir, "vite", ["build", "--config", "vite.dev-only.config.js", "--logLevel", "warn"], { NODE_ENV: "production" });
  const assets = join(dir, "dist-dev-only", "assets");
  const shipped = readdirSync(assets).filter((f) => f.endsWith(".js"));
  assert.ok(shipped.length > 0, "the production build has its JS");
  for (const file of shipped) {
    assert.ok(!readFileSync(join(assets, file), "utf8").includes("ferrysync-devtools"), `${file} holds nothing of the panel`);
  }
});
