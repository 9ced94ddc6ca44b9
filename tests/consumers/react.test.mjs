// The lazy load (nothing fetched before preload() or the first open()), then the React bindings
// in headless Chromium, counted with <Profiler>: a hook commits once for its
// first answer and once per real change, never for an answer equal to the last; inline queries
// settle; StrictMode's double mount is fine; conflicts and the outbox follow a sync with the
// reference server. The harness is tests/consumers/apps/react, built by Vite with React's
// development build (where <Profiler> counts).
import assert from "node:assert/strict";
import { join } from "node:path";
import { before, test } from "node:test";
import { eventually, prepareApp, tool, withServerAndBrowser } from "./support.mjs";

let dist;
before(async () => {
  const dir = await prepareApp("react");
  await tool(dir, "vite", ["build", "--logLevel", "warn"], { NODE_ENV: "development" });
  dist = join(dir, "dist");
});

/** Runs `body(h, wasmRequests)` on the harness page, `h` calling `window.harness`;
 * `wasmRequests()` counts the page's requests for a .wasm file so far. `allowed` as for
 * withServerAndBrowser. */
function withHarness(body, allowed) {
  return withServerAndBrowser(["--static", dist], async (server, { page }) => {
    let wasm = 0;
    page.on("request", (request) => {
      if (new URL(request.url()).pathname.endsWith(".wasm")) wasm++;
    });
    await page.goto(`${server.url}/`);
    await page.waitForFunction(() => window.harnessReady);
    const h = new Proxy({}, { get: (_, name) => (...args) => page.evaluate(([n, a]) => window.harness[n](...a), [name, args]) });
    await body(h, () => wasm);
  }, { allowed });
}

test("importing the package fetches nothing: the wasm comes with preload() or the first open(), once", () =>
  withHarness(async (h, wasmRequests) => {
    await new Promise((done) => setTimeout(done, 200));
    assert.equal(wasmRequests(), 0, "no .wasm request after the page loaded");
    await h.preload();
    assert.equal(wasmRequests(), 1, "preload() fetched it");
    await h.open("first");
    await h.open("second");
    assert.equal(wasmRequests(), 1, "open() reused the preloaded module");
  }));

/** The last value hook `id` returned, once `check(value)` holds. */
const settled = (h, id, what, check) =>
  eventually(what, async () => {
    const seen = await h.seen(id);
    const last = seen.at(-1);
    return last && check(last.value) ? last : null;
  });

test("a hook with no provider and no database throws InvalidOptionsError to the error boundary", () =>
  withHarness(async (h) => {
    await h.mountWithoutProvider();
    const caught = await settled(h, "caught", "the error", (v) => v !== null);
    assert.equal(caught.value.name, "InvalidOptionsError");
    assert.match(caught.value.message, /needs a <FerrysyncProvider db=\{…\}> above it/);
  }, (problem) => problem.startsWith("console error:"))); // React logs what a boundary caught

test("useLiveQuery: one commit per real change, none for equal answers, inline query objects keep the subscription", () =>
  withHarness(async (h) => {
    await h.open("live");
    await h.mount("list", "live");
    await settled(h, "list", "the first answer", (v) => Array.isArray(v) && v.length === 0);
    assert.equal(await h.commits("list"), 2, "a commit while loading, one for the answer");
    assert.deepEqual((await h.seen("list")).map((s) => s.value), [null, []]);

    await h.notes("live", "create", { title: "first", at: 150 });
    await settled(h, "list", "the new note", (v) => v?.length === 1);
    assert.equal(await h.commits("list"), 3);

    // Writes the query does not see: it is not run again, and React commits nothing.
    const early = (await h.afterWrite("live", "create", { title: "too early", at: 5 })).id;
    await h.afterWrite("live", "update", early, { at: 6 });
    assert.equal(await h.commits("list"), 3, "no commit for answers equal to the last");

    // A note in front: the list commits once, and the first row keeps its identity.
    await h.notes("live", "create", { title: "second", at: 120 });
    await settled(h, "list", "two notes", (v) => v?.length === 2);
    assert.equal(await h.commits("list"), 4, "one commit, not one per re-run");
    assert.equal(await h.rowKeptIdentity(), true, "the unchanged record is the same object in the new answer");

    // The parent re-renders: List gets a new collection handle and query object each time, but
    // the same subscription, so it never goes back to loading and returns the same array.
    const before = (await h.seen("list")).length;
    for (let i = 0; i < 3; i++) await h.rerender();
    await eventually("three more renders", async () => (await h.seen("list")).length === before + 3);
    const after = (await h.seen("list")).slice(before);
    assert.ok(after.every((s) => s.sameAsBefore), "each render returned the very same array");
    assert.equal(await h.commits("list"), 7, "one commit per parent render, none of its own");
  }));

test("useLiveQuery under StrictMode: the double mount settles, and changes commit once", () =>
  withHarness(async (h) => {
    await h.open("strict");
    await h.notes("strict", "create", { title: "there before", at: 200 });
    await h.mount("list", "strict", { strict: true });
    await settled(h, "list", "the first answer", (v) => v?.length === 1);
    const settledCommits = await h.commits("list");
    assert.ok(settledCommits <= 3, `settles in at most 3 commits (took ${settledCommits})`);
    const values = (await h.seen("list")).map((s) => s.value);
    const firstAnswer = values.findIndex((v) => v !== null);
    assert.ok(values.slice(firstAnswer).every((v) => v !== null), "never back to loading once answered");

    await h.notes("strict", "create", { title: "added", at: 300 });
    await settled(h, "list", "the added note", (v) => v?.length === 2);
    assert.equal(await h.commits("list"), settledCommits + 1, "one commit for one change");
    await h.unmount();
  }));

test("useRecord: undefined, then the record; null when there is none; commits only for its own changes", () =>
  withHarness(async (h) => {
    await h.open("record");
    const mine = (await h.notes("record", "create", { title: "mine", at: 1 })).id;
    const other = (await h.notes("record", "create", { title: "other", at: 2 })).id;
    await h.mount("record", "record", { id: mine });
    await settled(h, "record", "the record", (v) => v?.title === "mine");
    assert.equal(await h.commits("record"), 2);

    await h.notes("record", "update", other, { title: "other, changed" });
    await h.notes("record", "update", mine, { title: "mine, changed" });
    await settled(h, "record", "the change", (v) => v?.title === "mine, changed");
    assert.equal(await h.commits("record"), 3, "the other record's change committed nothing");

    await h.notes("record", "delete", mine);
    await settled(h, "record", "null after the delete", (v) => v === null);
    assert.equal(await h.commits("record"), 4);

    await h.mount("record", "record", { id: "no-such-id" });
    await settled(h, "record", "null for a missing id", (v) => v === null);
  }));

test("useSyncStatus: commits when a value changes, not for a write that changes none", () =>
  withHarness(async (h) => {
    await h.open("status");
    await h.mount("status", "status");
    await settled(h, "status", "the status", (v) => v.pending === 0);
    const start = await h.commits("status");

    const id = (await h.notes("status", "create", { title: "queued", at: 1 })).id;
    await settled(h, "status", "one pending", (v) => v.pending === 1);
    assert.equal(await h.commits("status"), start + 1);

    // Coalesced into the queued create: still one pending change, the same status object.
    await h.notes("status", "update", id, { title: "queued, edited" });
    await h.notes("status", "create", { title: "second", at: 2 });
    await settled(h, "status", "two pending", (v) => v.pending === 2);
    assert.equal(await h.commits("status"), start + 2, "no commit for the coalesced update");
  }));

test("useSpaceStatus: undefined until the space is added, then its pull; a change elsewhere in the status commits nothing", () =>
  withHarness(async (h) => {
    await h.open("rooms", { syncOnOpen: false, debounceMs: false, intervalMs: false }, undefined, "room");
    await h.mount("space", "rooms", { space: "r1" });
    await settled(h, "space", "not synced yet", (v) => v === null);
    await h.spaces("rooms", "add", "r1", { wait: true });
    const ready = await settled(h, "space", "ready", (v) => v.ready === true);
    assert.equal(typeof ready.value.lastSyncAt, "number");
    const start = await h.commits("space");
    // The status changes (one pending change); this space's does not.
    await h.notes("rooms", "create", { title: "queued", at: 1 });
    await eventually("the status counts it", async () => ((await h.db("rooms", "status")).pending === 1 ? true : null));
    await new Promise((done) => setTimeout(done, 100));
    assert.equal(await h.commits("space"), start, "no commit for a status change outside the space");
  }));

test("useConflicts and useOutbox follow a conflict from its sync to its resolution", () =>
  withHarness(async (h) => {
    const manual = { syncOnOpen: false, debounceMs: false, intervalMs: false };
    await h.open("left", manual);
    await h.open("right", manual);
    await h.mount("problems", "right");
    await settled(h, "conflicts", "no conflicts", (v) => Array.isArray(v) && v.length === 0);
    await settled(h, "outbox", "an empty outbox", (v) => Array.isArray(v) && v.length === 0);

    const id = (await h.notes("left", "create", { title: "shared", at: 1 })).id;
    await h.db("left", "syncNow");
    await h.db("right", "syncNow");
    await h.notes("left", "update", id, { title: "left's" });
    await h.db("left", "syncNow");
    await h.notes("right", "update", id, { title: "right's" });
    await settled(h, "outbox", "right's queued update", (v) => v?.length === 1 && v[0].recordId === id);

    await h.db("right", "syncNow");
    const conflict = await settled(h, "conflicts", "the conflict", (v) => v?.length === 1);
    assert.equal(conflict.value[0].local.title, "right's");
    assert.equal(conflict.value[0].server.data.title, "left's");
    await settled(h, "outbox", "the update held by the conflict", (v) => v[0]?.hold === "conflict");

    // A sync that finds nothing new reads the conflicts again; the same answer commits nothing.
    const conflictCommits = await h.commits("conflicts");
    await h.db("right", "syncNow");
    await h.db("right", "syncNow");
    await new Promise((done) => setTimeout(done, 200));
    assert.equal(await h.commits("conflicts"), conflictCommits, "no commit for the same conflicts");

    await h.db("right", "resolveConflict", "notes", id, "local");
    await settled(h, "conflicts", "no conflict left", (v) => v?.length === 0);
    assert.equal(await h.commits("conflicts"), conflictCommits + 1, "one commit for the resolution, and no late one");
    await h.db("right", "syncNow");
    await settled(h, "outbox", "an empty outbox after the sync", (v) => v?.length === 0);
  }));

test("useSyncLog: a settlement by the collection's strategy during a sync commits once; writes and syncs that log nothing commit nothing", () =>
  withHarness(async (h) => {
    const manual = { syncOnOpen: false, debounceMs: false, intervalMs: false };
    await h.open("log-left", manual);
    await h.open("log-right", manual, "server-wins");
    await h.mount("log", "log-right");
    await settled(h, "log", "an empty log", (v) => Array.isArray(v) && v.length === 0);
    assert.equal(await h.commits("log"), 2, "a commit while loading, one for the answer");

    const id = (await h.notes("log-left", "create", { title: "shared", at: 1 })).id;
    await h.db("log-left", "syncNow");
    await h.db("log-right", "syncNow");
    await h.notes("log-right", "update", id, { title: "right's, pushed" });
    await h.db("log-right", "syncNow");
    await h.db("log-left", "syncNow");
    await new Promise((done) => setTimeout(done, 200));
    assert.equal(await h.commits("log"), 2, "no commit for writes and syncs that log nothing");

    // Both change the note; left's version reaches the server first, and right's strategy
    // settles the conflict in right's sync: a rollback notice, and no conflict left to show.
    const rollback = async (round) => {
      await h.notes("log-left", "update", id, { title: `left's ${round}` });
      await h.db("log-left", "syncNow");
      await h.notes("log-right", "update", id, { title: `right's ${round}` });
      const summary = await h.db("log-right", "syncNow");
      assert.equal(summary.resolved, 1, "settled by the strategy in that sync");
    };
    await rollback(1);
    const first = await settled(h, "log", "the rollback notice", (v) => v?.length === 1);
    const [entry] = first.value;
    assert.deepEqual(
      [entry.kind, entry.by, entry.kept, entry.collection, entry.id, entry.local.title, entry.server.title],
      ["resolved", "server-wins", "server", "notes", id, "right's 1", "left's 1"],
    );
    await new Promise((done) => setTimeout(done, 200));
    assert.equal(await h.commits("log"), 3, "one commit for the new entry, and no late one");
    assert.deepEqual((await h.seen("conflicts")).at(-1).value, [], "the strategy left no conflict");

    await rollback(2);
    const second = await settled(h, "log", "the second notice", (v) => v?.length === 2);
    assert.deepEqual(second.value.map((e) => e.local.title), ["right's 2", "right's 1"], "newest first");
    assert.ok(second.value[0].seq > second.value[1].seq);
    await new Promise((done) => setTimeout(done, 200));
    assert.equal(await h.commits("log"), 4);
  }));

test("useBlob: a file on this device at once; one pulled from another device downloaded on first read", () =>
  withHarness(async (h) => {
    // Syncs only when asked, so that the writer's push is the one syncNow() reports.
    const manual = { syncOnOpen: false, debounceMs: false, intervalMs: false };
    await h.open("blob-writer", manual);
    await h.open("blob-reader", manual);
    const text = "a file written on another device";
    const id = await h.createWithFile("blob-writer", "with a file", text);
    assert.equal((await h.db("blob-writer", "syncNow")).pushed, 1);

    // The writer has the bytes: useBlob gives the Blob with the record.
    await h.mount("blob", "blob-writer", { id });
    const mine = await settled(h, "blob", "the writer's file", (v) => v.size !== null);
    assert.deepEqual(mine.value, { reference: false, size: text.length, error: null });

    // The reader pulled a reference (a lazy collection): downloaded by the hook.
    await h.db("blob-reader", "syncNow");
    await h.mount("blob", "blob-reader", { id });
    const theirs = await settled(h, "blob", "the reader's file", (v) => v.size !== null);
    assert.deepEqual(theirs.value, { reference: true, size: text.length, error: null });
    const before = (await h.seen("blob")).find((s) => s.value.reference);
    assert.deepEqual(before.value, { reference: true, size: null, error: null }, "nothing until it is here");
  }));
