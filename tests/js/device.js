// Browser scenarios of what happens to a device's data outside ferrysync (docs/storage.md, "When
// the data goes"), against the reference server that scripts/with-servers.sh starts.
import { assert, eq, manual, rawMarkSynced, rawOpen, uniqueApp, waitFor } from "./scenarios.js";

const TASKS = { tasks: {} };
const DISCARD = { discardPending: true };

/** The eviction marker of database `name`, as stored beside it. */
function marker(name) {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open("ferrysync-markers");
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const db = open.result;
      const get = db.transaction("markers").objectStore("markers").get(name);
      get.onsuccess = () => {
        db.close();
        resolve(get.result);
      };
      get.onerror = () => reject(get.error);
    };
  });
}

/** Deletes database `name` the way a user's "clear site data" or a script would: around
 * ferrysync, with plain IndexedDB. */
function deleteBehindItsBack(name) {
  return new Promise((resolve, reject) => {
    const request = indexedDB.deleteDatabase(name);
    request.onsuccess = () => resolve();
    request.onerror = () => reject(request.error);
  });
}

/** Puts `rows` into `storeName` of database `name` by hand, around ferrysync: each row a value
 * (a store with a key path) or, with `byKey`, an object of values by key (`_meta`). */
async function putByHand(name, storeName, rows, { byKey = false } = {}) {
  const raw = await rawOpen(name);
  await new Promise((resolve, reject) => {
    const tx = raw.transaction(storeName, "readwrite");
    const store = tx.objectStore(storeName);
    if (byKey) for (const [key, value] of Object.entries(rows)) store.put(value, key);
    else for (const row of rows) store.put(row);
    tx.oncomplete = resolve;
    tx.onerror = () => reject(tx.error);
  });
  raw.close();
}

/** Writes `rows` (`{ key: value }`) into the `_meta` store of database `name` by hand. */
const damageMeta = (name, rows) => putByHand(name, "_meta", rows, { byKey: true });

export async function aDatabaseClearedOutsideIsReportedOnceAndPulledAfresh(api) {
  const { main } = api.servers;
  const app = uniqueApp("evicted");
  const sync = manual(main, "tok29");
  const open = () => api.open({ app, version: 1, collections: TASKS, sync });
  let db = await open();
  try {
    const tasks = db.collection("tasks");
    await tasks.create({ id: "kept", title: "on the server" });
    await db.syncNow();
    window.dispatchEvent(new Event("offline"));
    for (const id of ["a", "b", "c"]) await tasks.create({ id, title: "never sent" });
    eq(db.status().evicted, null, "nothing to report at first");
    // The marker follows the unsent changes about a second after they change.
    await waitFor(async () => (await marker(db.name))?.unsent === 3, "the marker to count 3 unsent changes");
    db.close();
    window.dispatchEvent(new Event("online"));

    await deleteBehindItsBack(db.name);
    db = await open();
    const evicted = db.status().evicted;
    eq([evicted?.lostUnsent, typeof evicted?.detectedAt, typeof evicted?.lastSeenAt], [3, "number", "number"], "reported at open");
    const [entry] = await db.syncLog();
    eq([entry.kind, entry.count], ["evicted", 3], "and in the sync log");
    await db.syncNow();
    eq((await db.collection("tasks").query()).map((t) => t.id), ["kept"], "pulled afresh: what the server had");

    // Reported once.
    db.close();
    db = await open();
    eq(db.status().evicted, null, "not again at the next open");

    // A damaged instance id is set aside, and is no eviction: the data is all there.
    db.close();
    await damageMeta(db.name, { instance: 42 });
    db = await open();
    eq(db.status().evicted, null, "an unreadable id is not an eviction");
    const [aside] = (await db.syncLog()).filter((e) => e.kind === "quarantined");
    eq([aside?.collection, aside?.id, aside?.local], ["_meta", "instance", 42], "set aside with its raw value");
    eq((await db.collection("tasks").query()).map((t) => t.id), ["kept"], "the data is untouched");
    db.close();
    db = await open();
    eq(db.status().evicted, null, "and the new id holds at the next open");

    // Deleted on purpose: a new device, nothing to report.
    db.close();
    await api.deleteDatabase(app, undefined, DISCARD);
    eq(await marker(db.name), undefined, "the marker goes with a deliberate delete");
    db = await open();
    eq(db.status().evicted, null, "a deliberate delete is not an eviction");
  } finally {
    db.close();
    await api.deleteDatabase(app, undefined, DISCARD);
  }
}

export async function aDamagedRecordIsSetAsideAndReplacedByTheServers(api) {
  const { main } = api.servers;
  const sync = manual(main, "tok31");
  const [appA, appB] = [uniqueApp("damaged-a"), uniqueApp("damaged-b")];
  const a = await api.open({ app: appA, version: 1, collections: TASKS, sync });
  const b = await api.open({ app: appB, version: 1, collections: TASKS, sync });
  try {
    const r1 = await a.collection("tasks").create({ title: "one" });
    const r2 = await a.collection("tasks").create({ title: "two" });
    await a.syncNow();
    await b.syncNow();
    // A row damaged by hand: its metadata is not an object.
    await putByHand(b.name, "tasks", [{ id: r1.id, title: "garbage", _sync: "broken" }]);
    const tasks = b.collection("tasks");
    eq([await tasks.count(), (await tasks.get(r1.id)).title], [2, "garbage"], "reads go on");

    await a.collection("tasks").update(r1.id, { title: "fixed on the server" });
    await a.syncNow();
    await b.syncNow();
    const fixed = await tasks.get(r1.id);
    eq([fixed.title, fixed._sync.status, (await tasks.get(r2.id)).title], ["fixed on the server", "synced", "two"], "replaced, the rest untouched");
    const [entry] = (await b.syncLog()).filter((e) => e.kind === "quarantined");
    eq([entry?.collection, entry?.id, entry?.local?.title], ["tasks", r1.id, "garbage"], "set aside with its raw value");
    assert(/does not decode/.test(entry.message), entry.message);
  } finally {
    for (const [db, app] of [[a, appA], [b, appB]]) {
      db.close();
      await api.deleteDatabase(app, undefined, DISCARD);
    }
  }
}

export async function damagedSyncStateIsSetAsideAtOpen(api) {
  const { main } = api.servers;
  const sync = manual(main, "tok32");
  const app = uniqueApp("damaged-meta");
  let ran = 0;
  const migrations = { 2: () => void ran++ };
  const open = (version = 2) => api.open({ app, version, collections: TASKS, sync, migrations });
  let db = await api.open({ app, version: 1, collections: TASKS, sync });
  try {
    await db.collection("tasks").create({ id: "one", title: "synced" });
    await db.syncNow();
    db.close();
    db = await open();
    eq(ran, 1, "the migration ran once");
    eq((await db.syncNow()).pulled, 0, "the cursor holds: nothing new to pull");
    db.close();

    // A change queued before the damage: the repaired sent mark must cover it.
    db = await open();
    await db.collection("tasks").create({ id: "two", title: "queued" });
    db.close();
    const damaged = { pullCursor: 42, deadLetters: "three", appliedMigrations: "all", forcePullSweep: { tasks: true }, sentMark: "x" };
    await damageMeta(db.name, damaged);
    db = await open();
    const aside = (await db.syncLog()).filter((e) => e.kind === "quarantined");
    eq(
      aside.map((e) => [e.collection, e.id, e.local]).sort(),
      Object.entries(damaged).map(([key, value]) => ["_meta", key, value]).sort(),
      "each damaged row is set aside with its raw value",
    );
    assert(aside.every((e) => /does not decode/.test(e.message)), aside.map((e) => e.message).join("; "));
    eq(ran, 1, "a damaged list of migrations runs none again");
    eq(db.status().failed, 0, "the dead letters are counted again");
    // The queued create counts as sent: an edit gets an entry of its own.
    await db.collection("tasks").update("two", { title: "edited" });
    eq((await db.outbox()).map((e) => [e.recordId, e.op]), [["two", "create"], ["two", "update"]], "no coalescing into a change that may have been sent");
    assert((await db.syncNow()).pulled > 0, "a damaged cursor: the pull starts over");
    eq((await db.collection("tasks").query()).map((t) => [t.id, t.title, t._sync.status]), [["one", "synced", "synced"], ["two", "edited", "synced"]], "the data is untouched, the queue sent");
    db.close();
    db = await open();
    eq((await db.syncLog()).filter((e) => e.kind === "quarantined").length, 5, "set aside once, not at every open");
  } finally {
    db.close();
    await api.deleteDatabase(app, undefined, DISCARD);
  }
}

export async function aDamagedSpaceIsPulledAgainAndTheOthersKept(api) {
  const app = uniqueApp("damaged-spaces");
  const collections = { notes: { space: "project" } };
  const open = () => api.open({ app, version: 1, collections, spaces: ["home", "work"] });
  let db = await open();
  try {
    db.close();
    await damageMeta(db.name, { spaces: { home: { cursor: 5, syncedAt: null }, work: { cursor: null, syncedAt: 7 } } });
    db = await open();
    eq(await db.spaces.list(), ["home", "work"], "both kept");
    const synced = () => ["home", "work"].map((s) => db.status().spaces[s]?.lastSyncAt ?? null);
    await waitFor(() => synced()[1] === 7, "the spaces in the status");
    eq(synced(), [null, 7], "the damaged one from its start, the other as it was");
    const [entry] = (await db.syncLog()).filter((e) => e.kind === "quarantined");
    eq([entry?.id, entry?.local?.home?.cursor], ["spaces", 5], "set aside with its raw value");
    assert(/for home;/.test(entry.message), entry.message);

    db.close();
    await damageMeta(db.name, { spaces: "home,work" });
    db = await open();
    eq(await db.spaces.list(), [], "a set that does not decode at all is lost, and says so");
    const [lost] = (await db.syncLog()).filter((e) => e.kind === "quarantined");
    eq(lost?.local, "home,work", "with its raw value");
  } finally {
    db.close();
    await api.deleteDatabase(app, undefined, DISCARD);
  }
}

export async function anIntegrityCheckRepairsDamagedRecordsAndKeepsUnsentWork(api) {
  const { main } = api.servers;
  const sync = manual(main, "tok33");
  const app = uniqueApp("integrity");
  const db = await api.open({ app, version: 1, collections: TASKS, sync });
  try {
    const tasks = db.collection("tasks");
    await tasks.create({ id: "one", title: "one" });
    await tasks.create({ id: "two", title: "two" });
    await db.syncNow();
    // Enough records for three pages, here only (as if pulled long ago).
    const ids = Array.from({ length: 1100 }, (_, i) => `bulk-${String(i).padStart(4, "0")}`);
    await tasks.bulkCreate(ids.map((id) => ({ id, title: id })));
    await rawMarkSynced(db.name, "tasks");
    await tasks.create({ id: "three", title: "three" });

    let wrong = null;
    try {
      await db.checkIntegrity({ onProgress: 5 });
    } catch (error) {
      wrong = error;
    }
    eq(wrong?.name, "InvalidOptionsError", "onProgress must be a function");

    // Damaged by hand: one synced, one in the third page, and one with its create still queued.
    await putByHand(db.name, "tasks", [
      { id: "one", title: "garbage", _sync: "broken" },
      { id: "bulk-1050", title: "bulk-1050" },
      { id: "three", title: "unsent three", _sync: 7 },
    ]);
    const seen = [];
    const tally = await db.checkIntegrity({ onProgress: (p) => seen.push(p) });
    eq(tally, { checked: 1103, total: 1103, setAside: 2, rebuilt: 1 }, "what it found");
    eq(seen.map((p) => p.checked), [500, 1000, 1103], "progress after each page");
    eq(seen[2], tally, "the last progress is the result");

    const aside = (await db.syncLog()).filter((e) => e.kind === "quarantined");
    eq(aside.map((e) => [e.id, e.local?.title]).sort(), [["bulk-1050", "bulk-1050"], ["one", "garbage"], ["three", "unsent three"]], "each in the log with its raw value");
    eq([await tasks.get("one"), await tasks.get("bulk-1050")], [undefined, undefined], "set aside");
    const three = await tasks.get("three");
    eq([three.title, three._sync.status, three._sync.serverVersion ?? null], ["unsent three", "pending", null], "the unsent one is kept");

    await db.syncNow();
    eq((await tasks.get("one"))?.title, "one", "the pull brought the server's version back");
    eq([(await tasks.get("three"))._sync.status, db.status().pending], ["synced", 0], "and the kept one was pushed");
    eq(await db.checkIntegrity(), { checked: 1102, total: 1102, setAside: 0, rebuilt: 0 }, "nothing left to repair");
  } finally {
    db.close();
    await api.deleteDatabase(app, undefined, DISCARD);
  }
}
