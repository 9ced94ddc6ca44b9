// The package under vitest in Node, on fake-indexeddb: the wasm is read from disk on the first
// open(), and everything but the browser's own events works as in a page, sync included when
// the driver passes a server.
import { afterEach, expect, test } from "vitest";
import { deleteDatabase, FerrysyncError, isFerrysyncError, open } from "ferrysync";

const schema = { app: "vitest", version: 1, collections: { notes: { indexes: ["at"] } } };
const opened = [];
async function openNotes(extra = {}) {
  const db = await open({ ...schema, ...extra });
  opened.push(db);
  return db;
}

afterEach(async () => {
  for (const db of opened.splice(0)) db.close();
  await deleteDatabase("vitest", undefined, { discardPending: true });
});

test("records are stored, queried and still there after closing and opening again", async () => {
  const db = await openNotes();
  const notes = db.collection("notes");
  const first = await notes.create({ title: "first", at: 2 });
  await notes.create({ title: "second", at: 1 });
  expect((await notes.query({ index: "at" })).map((n) => n.title)).toEqual(["second", "first"]);
  expect(first._sync).toMatchObject({ version: 1, status: "pending", serverVersion: null });
  db.close();

  const again = await openNotes();
  expect(await again.collection("notes").count()).toBe(2);
  expect((await again.outbox()).map((e) => e.op)).toEqual(["create", "create"]);
});

test("errors are FerrysyncErrors with the names callers switch on", async () => {
  const db = await openNotes();
  const error = await db.collection("notes").update("missing", { title: "x" }).catch((e) => e);
  expect(error).toBeInstanceOf(FerrysyncError);
  expect(isFerrysyncError(error, "RecordNotFoundError")).toBe(true);
  expect(isFerrysyncError(error, "InvalidRecordError")).toBe(false);
  expect(() => db.collection("tasks")).toThrow(/no collection "tasks"/);
});

test.runIf(process.env.FERRYSYNC_SYNC_URL)("a note syncs with the reference server from Node", async () => {
  const db = await openNotes({
    sync: { url: process.env.FERRYSYNC_SYNC_URL, token: "dev-token", syncOnOpen: false, debounceMs: false },
  });
  const note = await db.collection("notes").create({ title: "from vitest", at: 3 });
  const summary = await db.syncNow();
  expect(summary.pushed).toBe(1);
  expect((await db.collection("notes").get(note.id))._sync.status).toBe("synced");
});
