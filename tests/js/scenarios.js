// Browser test scenarios. Each exported function takes the package's exports
// ({ open, deleteDatabase }) and throws on any failed check.
//
// They live in one module on purpose: wasm-bindgen-test-runner's page server stalls now and
// then when the browser fetches many snippet modules at once, which hangs the whole run.

// ---- Assertions and raw IndexedDB helpers ----

export function assert(condition, message) {
  if (!condition) throw new Error(`assertion failed: ${message}`);
}

export function eq(actual, expected, message) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${message}: expected ${e}, got ${a}`);
}

/** Awaits `promise` and checks that it rejects with an Error of `name`; returns that error. */
export async function rejects(promise, name, message) {
  try {
    await promise;
  } catch (error) {
    if (!(error instanceof Error)) throw new Error(`${message}: rejected with a non-Error ${String(error)}`);
    if (error.name !== name) throw new Error(`${message}: expected ${name}, got ${error.name}: ${error.message}`);
    if (!error.message) throw new Error(`${message}: ${name} has no message`);
    return error;
  }
  throw new Error(`${message}: expected ${name}, but it succeeded`);
}

export function throws(fn, name, message) {
  try {
    fn();
  } catch (error) {
    if (error.name !== name) throw new Error(`${message}: expected ${name}, got ${error.name}: ${error.message}`);
    return error;
  }
  throw new Error(`${message}: expected ${name}, but it succeeded`);
}

async function until(check, what) {
  for (let i = 0; i < 200; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

let counter = 0;
/** A database name no other test uses. */
export function uniqueApp(prefix) {
  counter += 1;
  return `${prefix}-${Date.now()}-${counter}-${Math.random().toString(36).slice(2)}`;
}

/** Tests delete their databases whatever they left queued. */
const DISCARD = { discardPending: true };

export const TASKS = { tasks: { indexes: ["done", "priority", { keyPath: ["done", "priority"] }] } };

/** Opens a fresh database, runs `body(db)`, then closes and deletes it. */
export async function withDb(api, prefix, body, collections = TASKS) {
  const app = uniqueApp(prefix);
  const db = await api.open({ app, version: 1, collections });
  try {
    await body(db, app);
  } finally {
    db.close();
    await api.deleteDatabase(app, undefined, DISCARD);
  }
}

/** Reads a whole store with the raw IndexedDB API, bypassing ferrysync. */
export async function rawGetAll(dbName, storeName) {
  const db = await rawOpen(dbName);
  return new Promise((resolve, reject) => {
    const req = db.transaction(storeName).objectStore(storeName).getAll();
    req.onsuccess = () => {
      db.close();
      resolve(req.result);
    };
    req.onerror = () => reject(req.error);
  });
}

/** Reads one value by key with the raw IndexedDB API, bypassing ferrysync. */
export async function rawGet(dbName, storeName, key) {
  const db = await rawOpen(dbName);
  return new Promise((resolve, reject) => {
    const req = db.transaction(storeName).objectStore(storeName).get(key);
    req.onsuccess = () => {
      db.close();
      resolve(req.result);
    };
    req.onerror = () => reject(req.error);
  });
}

/** Writes one value with the raw IndexedDB API (`key` for a store without a key path). */
export async function rawPut(dbName, storeName, value, key) {
  const db = await rawOpen(dbName);
  await new Promise((resolve, reject) => {
    const tx = db.transaction(storeName, "readwrite");
    if (key === undefined) tx.objectStore(storeName).put(value);
    else tx.objectStore(storeName).put(value, key);
    tx.oncomplete = resolve;
    tx.onerror = () => reject(tx.error);
  });
  db.close();
}

/** Opens a database at its current version with the raw IndexedDB API. */
export function rawOpen(dbName) {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open(dbName);
    open.onerror = () => reject(open.error);
    open.onsuccess = () => resolve(open.result);
  });
}

/** Clears the outbox and marks every record of `collection` as synced at server version 1, as
 * an acknowledged push would: the state of records the server already has. */
export async function rawMarkSynced(dbName, collection) {
  const db = await rawOpen(dbName);
  return new Promise((resolve, reject) => {
    const tx = db.transaction([collection, "_outbox"], "readwrite");
    tx.objectStore("_outbox").clear();
    const store = tx.objectStore(collection);
    store.getAll().onsuccess = (e) => {
      for (const r of e.target.result) {
        r._sync = { ...r._sync, status: "synced", serverVersion: 1 };
        store.put(r);
      }
    };
    tx.oncomplete = () => {
      db.close();
      resolve();
    };
    tx.onerror = () => reject(tx.error);
  });
}

// ---- CRUD round trips, bulk writes and queries ----

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export async function crudRoundTrip(api) {
  await withDb(api, "crud", async (db) => {
    const tasks = db.collection("tasks");
    const before = Date.now();
    const a = await tasks.create({ title: "write tests", done: 0, priority: 2 });
    assert(UUID_V7.test(a.id), `generated id is a UUID v7: ${a.id}`);
    eq(a._sync, { version: 1, serverVersion: null, status: "pending", updatedAt: a._sync.updatedAt, deleted: false }, "metadata of a new record");
    assert(a._sync.updatedAt >= before, "updatedAt is the write time");

    const b = await tasks.create({ id: "given-id", title: "second" });
    eq(b.id, "given-id", "a caller's id is kept");
    const got = await tasks.get(a.id);
    eq(got, a, "get returns what create stored");
    eq(await tasks.get("missing"), undefined, "get of a missing id");

    const updated = await tasks.update(a.id, { done: 1 });
    eq([updated.title, updated.done, updated.priority], ["write tests", 1, 2], "update merges a patch");
    eq(updated._sync.version, 2, "update bumps the local version");

    const replaced = await tasks.replace(a.id, { title: "replaced" });
    eq(Object.keys(replaced).sort(), ["_sync", "id", "title"], "replace drops fields not given");
    eq(replaced._sync.version, 3, "replace bumps the version");

    const put = await tasks.put({ id: "given-id", title: "put over" });
    eq([put.title, put._sync.version], ["put over", 2], "put replaces an existing record");
    const fresh = await tasks.put({ title: "put new" });
    eq(fresh._sync.version, 1, "put creates when absent");

    // The server has these records now (as after an acknowledged push): a delete leaves a tombstone.
    await rawMarkSynced(db.name, "tasks");
    eq(await tasks.delete(a.id), true, "delete of an existing record");
    eq(await tasks.get(a.id), undefined, "a deleted record is gone from get");
    const tomb = await tasks.get(a.id, { includeDeleted: true });
    eq([tomb.id, tomb._sync.deleted, tomb._sync.status, tomb.title], [a.id, true, "pending", undefined], "the tombstone keeps only id and metadata");
    eq(await tasks.delete(a.id), false, "a second delete changes nothing");
    eq(await tasks.delete("never-existed"), false, "delete of a missing id");
    await rejects(tasks.update(a.id, { done: 0 }), "RecordNotFoundError", "update of a deleted record");
    await rejects(tasks.replace("nope", { title: "x" }), "RecordNotFoundError", "replace of a missing record");
    await rejects(tasks.create({ id: "given-id", title: "again" }), "RecordExistsError", "create of an existing id");

    const recreated = await tasks.create({ id: a.id, title: "back again" });
    eq([recreated._sync.deleted, recreated._sync.version, recreated._sync.serverVersion], [false, 5, 1], "create over a tombstone revives it");
    eq((await db.outbox()).map((e) => e.op), ["update"], "and queues an update of the server's record");

    eq(await tasks.count(), 3, "count of live records");
    eq((await tasks.query()).map((r) => r.title).sort(), ["back again", "put new", "put over"], "list");
    const stored = await rawGetAll(db.name, "tasks");
    eq(stored.length, 3, "records as stored in IndexedDB");
  });
}

export async function bulkPutTenThousand(api) {
  await withDb(api, "bulk", async (db) => {
    const tasks = db.collection("tasks");
    const records = Array.from({ length: 10000 }, (_, i) => ({
      title: `task ${i}`,
      done: i % 2,
      priority: i % 10,
      body: "x".repeat(100),
    }));
    const ids = await tasks.bulkPut(records);
    eq(ids.length, 10000, "one id per record");
    eq(new Set(ids).size, 10000, "ids are distinct");
    eq([...ids].sort(), ids, "generated ids sort in creation order");
    eq(await tasks.count(), 10000, "all records stored");
    eq(db.status().pending, 10000, "one queued change per record");
    const outbox = await db.outbox();
    eq(outbox.length, 10000, "one outbox entry per record");
    eq(outbox.map((e) => e.recordId), ids, "outbox entries in write order");
    eq(outbox[0].op, "create", "entries are creates");
    eq(await tasks.count({ index: "priority", equals: 3 }), 1000, "indexed after bulk put");

    // A second bulk put over the same ids updates in place and coalesces into the creates.
    const again = await tasks.bulkPut(ids.slice(0, 100).map((id) => ({ id, title: "renamed", done: 1, priority: 0 })));
    eq(again, ids.slice(0, 100), "bulkPut keeps given ids");
    eq((await db.outbox()).length, 10000, "updates coalesce into queued creates");
    eq((await tasks.get(ids[0]))._sync.version, 2, "bulk put bumps the version");
    const created = await tasks.bulkCreate([{ title: "one" }, { title: "two" }]);
    eq(created.length, 2, "bulkCreate returns ids");
    eq(await tasks.count(), 10002, "bulkCreate added");
  });
}

export async function queriesByIndexAndRange(api) {
  await withDb(api, "query", async (db) => {
    const tasks = db.collection("tasks");
    const ids = await tasks.bulkCreate(
      Array.from({ length: 50 }, (_, i) => ({ id: `t${String(i).padStart(2, "0")}`, done: i % 2, priority: i % 5, n: i })),
    );
    eq(ids[0], "t00", "ids as given");
    const p3 = await tasks.query({ index: "priority", equals: 3 });
    eq(p3.map((r) => r.n), [3, 8, 13, 18, 23, 28, 33, 38, 43, 48], "equality on an index, in key then id order");
    const range = await tasks.query({ index: "priority", range: { lower: 1, upper: 2 } });
    eq(range.length, 20, "closed range");
    const open = await tasks.query({ index: "priority", range: { lower: 1, upper: 2, lowerOpen: true } });
    eq(open.every((r) => r.priority === 2), true, "open lower bound");
    const above = await tasks.query({ index: "priority", range: { lower: 4 } });
    eq(above.length, 10, "lower bound only");
    const below = await tasks.query({ index: "priority", range: { upper: 0 } });
    eq(below.length, 10, "upper bound only");
    const compound = await tasks.query({ index: "done+priority", equals: [1, 3] });
    eq(compound.map((r) => r.n), [3, 13, 23, 33, 43], "compound index");

    const page = await tasks.query({ limit: 5, offset: 10 });
    eq(page.map((r) => r.id), ["t10", "t11", "t12", "t13", "t14"], "limit and offset over ids");
    const desc = await tasks.query({ order: "desc", limit: 3 });
    eq(desc.map((r) => r.id), ["t49", "t48", "t47"], "descending order");
    const descIndex = await tasks.query({ index: "priority", order: "desc", limit: 2, offset: 1 });
    eq(descIndex.map((r) => r.n), [44, 39], "descending on an index with offset");
    const idRange = await tasks.query({ range: { lower: "t20", upper: "t25", upperOpen: true } });
    eq(idRange.map((r) => r.id), ["t20", "t21", "t22", "t23", "t24"], "a range over ids");

    // Deleted records the server has leave tombstones, which stay out of every query and count
    // unless asked for.
    await rawMarkSynced(db.name, "tasks");
    await tasks.delete("t10");
    await tasks.delete("t11");
    eq((await tasks.query({ limit: 3, offset: 9 })).map((r) => r.id), ["t09", "t12", "t13"], "tombstones skipped when paging");
    eq(await tasks.count(), 48, "count leaves tombstones out");
    eq(await tasks.count({ includeDeleted: true }), 50, "count with tombstones");
    eq(await tasks.count({ range: { lower: "t10", upper: "t19" } }), 8, "count over an id range");
    eq((await tasks.query({ includeDeleted: true })).length, 50, "list with tombstones");
    eq((await tasks.query({ order: "desc", range: { upper: "t12" }, limit: 2 })).map((r) => r.id), ["t12", "t09"], "desc skips tombstones");
    eq(await tasks.count({ index: "priority", equals: 0 }), 9, "an index never holds tombstones: t10 had priority 0");
    eq(await tasks.count({ index: "priority", equals: 0, limit: 4 }), 4, "count honours limit");

    await rejects(tasks.query({ index: "nope" }), "UnknownIndexError", "query on an undeclared index");
    await rejects(tasks.query({ index: "_tombstones" }), "UnknownIndexError", "internal indexes are not queryable");
    await rejects(tasks.query({ limit: -1 }), "InvalidQueryError", "negative limit");
    await rejects(tasks.query({ order: "sideways" }), "InvalidQueryError", "bad order");
    await rejects(tasks.query({ index: "priority", range: { lower: 3, upper: 1 } }), "InvalidQueryError", "inverted range");
    await rejects(tasks.query({ index: "priority", equals: {} }), "InvalidQueryError", "a key that is not a valid key");
    await rejects(tasks.query({ index: "priority", range: 5 }), "InvalidQueryError", "a range that is not an object");
    await rejects(tasks.query({ where: { done: 1 } }), "InvalidQueryError", "a field queries do not have");
    await rejects(tasks.query({ index: "priority", range: { lower: 1, lowerOpen: "yes" } }), "InvalidQueryError", "a non-boolean bound flag");
    await rejects(tasks.count({ includeDeleted: 1 }), "InvalidQueryError", "a non-boolean includeDeleted");
  });
}

// ---- Atomicity and outbox coalescing ----

export async function abortedTransactionLeavesNeither(api) {
  await withDb(api, "atomic", async (db) => {
    const tasks = db.collection("tasks");
    await tasks.create({ id: "keep", title: "already here" });

    // A function deep inside the 5,000th record fails its structured clone after 4,999 records
    // and entries were already issued in the same transaction.
    const batch = Array.from({ length: 6000 }, (_, i) => ({ title: `t${i}`, meta: { nested: i === 4999 ? () => 1 : i } }));
    const error = await rejects(tasks.bulkPut(batch), "InvalidRecordError", "a function inside a record");
    assert(error.message.includes("#4999"), `the message names the record: ${error.message}`);
    eq(error.domName, "DataCloneError", "the DOMException name is kept");

    // A duplicate id at the end fails only when IndexedDB reaches it.
    const dup = Array.from({ length: 100 }, (_, i) => ({ id: `d${i}`, title: "x" }));
    dup.push({ id: "keep", title: "clash" });
    await rejects(tasks.bulkCreate(dup), "RecordExistsError", "bulkCreate over an existing id");

    eq(await tasks.count({ includeDeleted: true }), 1, "no record of the failed batches");
    eq((await db.outbox()).length, 1, "no outbox entry of the failed batches");
    eq((await rawGetAll(db.name, "_outbox")).map((e) => e.recordId), ["keep"], "the outbox as stored");
    eq(db.status().pending, 1, "the pending count did not move");
    eq((await tasks.get("keep")).title, "already here", "the existing record is untouched");
  });
}

const ops = async (db) => (await rawGetAll(db.name, "_outbox")).map((e) => `${e.op}:${e.recordId}`);

export async function coalescingAsStored(api) {
  await withDb(api, "coalesce", async (db) => {
    const tasks = db.collection("tasks");
    // Records the server never saw.
    await tasks.create({ id: "a", v: 1 });
    await tasks.create({ id: "b", v: 1 });
    await tasks.create({ id: "c", v: 1 });
    await tasks.update("a", { v: 2 });
    eq(await ops(db), ["create:a", "create:b", "create:c"], "create+update stays a create, in place");
    eq((await tasks.get("a")).v, 2, "the record holds the latest data");
    await tasks.delete("b");
    eq(await ops(db), ["create:a", "create:c"], "create+delete removes the entry");
    eq(await tasks.get("b", { includeDeleted: true }), undefined, "create+delete removes the record too");
    eq(db.status().pending, 2, "pending count follows");

    // Records the server has: their entries were acknowledged and cleared.
    await rawMarkSynced(db.name, "tasks");
    await tasks.update("c", { v: 2 });
    await tasks.update("a", { v: 3 });
    await tasks.update("c", { v: 3 });
    eq(await ops(db), ["update:c", "update:a"], "update+update keeps one entry, in its place");
    const [entry] = await rawGetAll(db.name, "_outbox");
    eq(entry.baseVersion, 1, "the entry carries the server version it was made on");
    await tasks.delete("c");
    eq(await ops(db), ["delete:c", "update:a"], "update+delete becomes a delete in place");
    const tomb = await tasks.get("c", { includeDeleted: true });
    eq([tomb._sync.deleted, tomb._sync.serverVersion], [true, 1], "a tombstone is kept until the server has it");
    await tasks.create({ id: "c", v: 4 });
    eq(await ops(db), ["update:c", "update:a"], "delete+create is an update of the server's record");
    await rawMarkSynced(db.name, "tasks");
    await tasks.delete("a");
    eq(await ops(db), ["delete:a"], "a delete of a synced record is queued");
    const mutationIds = (await rawGetAll(db.name, "_outbox")).map((e) => e.mutationId);
    assert(mutationIds.every((id) => /^[0-9a-f-]{36}$/.test(id)), "every entry has a mutation id");

    // A batch read to send (here: by another tab) moves the sent mark in `_meta` past its
    // entries, and writes nothing on them. A write reads the mark in its own transaction: an
    // entry at or below it may have been sent, so the write gets an entry of its own.
    await tasks.update("c", { v: 5 });
    const [, sent] = await rawGetAll(db.name, "_outbox");
    await rawPut(db.name, "_meta", sent.seq, "sentMark");
    await tasks.update("c", { v: 6 });
    eq(await ops(db), ["delete:a", "update:c", "update:c"], "an entry under the sent mark is never coalesced into");
    eq((await db.outbox()).map((e) => e.attempts), [1, 1, 0], "entries under the mark show their send");
    eq((await rawGetAll(db.name, "_outbox")).map((e) => e.attempts), [0, 0, 0], "nothing written on the entries");
    await tasks.update("c", { v: 7 });
    eq(await ops(db), ["delete:a", "update:c", "update:c"], "the entry above the mark still absorbs writes");
    // One flagged never sent (passed over by the batch, or given a new mutation id) does too.
    const [passed] = await rawGetAll(db.name, "_outbox");
    await rawPut(db.name, "_outbox", { ...passed, neverSent: true });
    await tasks.create({ id: "a", v: 8 });
    eq(await ops(db), ["update:a", "update:c", "update:c"], "a flagged entry under the mark is coalesced into");
    eq((await db.outbox())[0].attempts, 0, "and shows no send");
  });
}

// ---- Bad input ----

async function nothingWritten(db) {
  eq(await db.collection("tasks").count({ includeDeleted: true }), 0, "no record written");
  eq((await db.outbox()).length, 0, "no outbox entry written");
  eq(db.status().pending, 0, "pending count unchanged");
}

export async function badInputChangesNothing(api) {
  await withDb(api, "bad", async (db) => {
    const tasks = db.collection("tasks");
    for (const [value, label] of [[42, "a number"], ["text", "a string"], [null, "null"], [[1, 2], "an array"], [undefined, "undefined"], [() => 1, "a function"]]) {
      const e = await rejects(tasks.create(value), "InvalidRecordError", `create(${label})`);
      assert(e.message.includes("must be an object"), `the message says why: ${e.message}`);
    }
    let e = await rejects(tasks.create({ id: 7, title: "x" }), "InvalidRecordError", "a number id");
    assert(e.message.includes("id must be a string"), e.message);
    await rejects(tasks.create({ id: "", title: "x" }), "InvalidRecordError", "an empty id");
    await rejects(tasks.get(5), "InvalidRecordError", "get with a number id");
    e = await rejects(tasks.create({ title: "x", run() {} }), "InvalidRecordError", "a function inside");
    eq(e.domName, "DataCloneError", "the browser's reason is attached");
    assert(e.message.includes("DataCloneError"), `the message includes the DOMException: ${e.message}`);
    await rejects(tasks.create({ title: "x", deep: { list: [1, Symbol("s")] } }), "InvalidRecordError", "a symbol inside");
    e = await rejects(tasks.create({ title: "x", _sync: { status: "synced" } }), "ReservedFieldError", "the metadata field");
    assert(e.message.includes("_sync"), e.message);
    await rejects(tasks.bulkPut([{ title: "ok" }, { title: "bad", _sync: 1 }]), "ReservedFieldError", "a reserved field in a batch");
    await rejects(tasks.bulkPut([{ title: "ok" }, 5]), "InvalidRecordError", "a non-object in a batch");
    await rejects(tasks.bulkPut({ title: "not an array" }), "InvalidRecordError", "bulkPut of a non-array");
    await rejects(tasks.bulkCreate([{ id: "x" }, { id: "x" }]), "RecordExistsError", "the same id twice in bulkCreate");
    e = await rejects(tasks.bulkCreate([{ id: "p" }, { id: "q" }, { title: "new" }, { id: "q" }, { id: "p" }]), "RecordExistsError", "the first repeated id is named");
    assert(e.message.includes("#3") && e.message.includes('"q"'), e.message);
    e = await rejects(tasks.bulkCreate([{ id: "r" }, { id: "r" }, 5]), "RecordExistsError", "a repeated id before an invalid record");
    assert(e.message.includes("#1"), e.message);
    e = await rejects(tasks.bulkCreate([{ id: "s" }, 5, { id: "s" }]), "InvalidRecordError", "an invalid record before a repeated id");
    assert(e.message.includes("#1"), e.message);
    await rejects(tasks.query({ index: "missingField" }), "UnknownIndexError", "an index on a missing field");
    const trap = { title: "ok" };
    Object.defineProperty(trap, "secret", { enumerable: true, get() { throw new TypeError("no access"); } });
    e = await rejects(tasks.bulkPut([{ title: "first" }, trap]), "InvalidRecordError", "a getter that throws");
    assert(e.message.includes("#1") && e.message.includes("no access"), e.message);
    throws(() => db.subscribe(123), "InvalidOptionsError", "subscribe with a non-function");
    throws(() => tasks.live({ limit: -1 }), "InvalidQueryError", "a live query with a bad limit");
    e = throws(() => db.collection("nope"), "UnknownCollectionError", "an unknown collection");
    assert(e.message.includes("nope") && e.message.includes("tasks"), `names the collection and the known ones: ${e.message}`);
    await nothingWritten(db);

    // Patches are checked the same way, and leave the record as it was.
    const t = await tasks.create({ id: "t", title: "kept" });
    await rejects(tasks.update("t", { _sync: {} }), "ReservedFieldError", "a patch with the metadata field");
    await rejects(tasks.update("t", { id: "other" }), "InvalidRecordError", "a patch that changes the id");
    await rejects(tasks.update("t", { f: () => 0 }), "InvalidRecordError", "a patch with a function");
    await rejects(tasks.update("t", "nope"), "InvalidRecordError", "a non-object patch");
    await rejects(tasks.update("t", trap), "InvalidRecordError", "a patch whose getter throws");
    eq(await tasks.get("t"), t, "the record is unchanged");
    eq((await db.outbox()).length, 1, "only the create is queued");
  });
}

export async function errorsCarryDomException(api) {
  // Bad options are refused before anything is opened.
  await rejects(api.open({ app: "", version: 1, collections: { t: {} } }), "InvalidOptionsError", "empty app");
  await rejects(api.open({ app: "x", version: 0, collections: { t: {} } }), "InvalidOptionsError", "version 0");
  await rejects(api.open({ app: "x", version: 1, collections: {} }), "InvalidOptionsError", "no collections");
  await rejects(api.open({ app: "x", version: 1, collections: { _outbox: {} } }), "InvalidOptionsError", "a reserved collection name");
  await rejects(api.open({ app: "x", version: 1, collections: { t: { indexes: ["a..b"] } } }), "InvalidOptionsError", "a bad key path");
  await rejects(api.open(null), "InvalidOptionsError", "no options");
  const sync = (extra) => ({ app: "x", version: 1, collections: { t: {} }, sync: { url: "http://127.0.0.1:9", ...extra } });
  await rejects(api.open(sync({ applyLimit: 0 })), "InvalidOptionsError", "no changes per transaction");
  await rejects(api.open(sync({ applyLimit: 2.5 })), "InvalidOptionsError", "a fraction of a change per transaction");
  await rejects(api.open({ app: "x", version: 1, collections: { t: { indexes: ["_sync.status"] } } }), "InvalidOptionsError", "an index over the metadata");
  await rejects(api.open({ app: "x", version: 1, collections: { t: { indexes: ["id"] } } }), "InvalidOptionsError", "an index over the id");
  // A database newer than the page: the browser's VersionError is reported with its text.
  await withDb(api, "newer", async (db, app) => {
    db.close();
    const newer = await api.open({ app, version: 3, collections: { tasks: {} } });
    newer.close();
    const e = await rejects(api.open({ app, version: 2, collections: { tasks: {} } }), "InvalidOptionsError", "opening an older version");
    eq(e.domName, "VersionError", "the DOMException name");
    assert(e.message.includes("VersionError"), e.message);
    await rejects(db.collection("tasks").count(), "DatabaseClosedError", "a closed handle");
  });
}

// ---- Schema versions, migrations, tenants, multi-tab ----

export async function upgradeKeepsRecordsAndQueue(api) {
  const app = uniqueApp("upgrade");
  const v1 = await api.open({ app, version: 1, collections: { tasks: { indexes: ["done"] } } });
  await v1.collection("tasks").bulkCreate([{ id: "a", done: 0, priority: 1 }, { id: "b", done: 1, priority: 2 }, { id: "c", done: 0, priority: 2 }]);
  await v1.collection("tasks").update("a", { priority: 3 });
  v1.close();

  const v2 = await api.open({
    app,
    version: 2,
    collections: { tasks: { indexes: ["done", "priority"] }, notes: { indexes: ["tag"] } },
  });
  eq(v2.version, 2, "opened at the new version");
  eq(v2.collectionNames, ["tasks", "notes"], "the new collection is there");
  const tasks = v2.collection("tasks");
  eq((await tasks.query()).map((r) => r.id), ["a", "b", "c"], "every record kept");
  eq((await tasks.get("a")).priority, 3, "with its latest data");
  eq((await tasks.query({ index: "priority", equals: 2 })).map((r) => r.id), ["b", "c"], "the new index covers old records");
  eq((await v2.outbox()).map((e) => `${e.op}:${e.recordId}`), ["create:a", "create:b", "create:c"], "every queued change kept");
  await until(() => v2.status().pending === 3, "the pending count read back after open");
  await v2.collection("notes").create({ tag: "x" });
  eq((await v2.outbox()).length, 4, "the new collection queues too");
  v2.close();

  // A schema that leaves a collection out keeps its store and records.
  const v3 = await api.open({ app, version: 3, collections: { notes: {} } });
  v3.close();
  const v4 = await api.open({ app, version: 4, collections: { tasks: {}, notes: {} } });
  eq(await v4.collection("tasks").count(), 3, "records survive a schema that omitted their collection");
  v4.close();
  await api.deleteDatabase(app, undefined, DISCARD);
}

export async function migrationRunsExactlyOnce(api) {
  const app = uniqueApp("migrate");
  const v1 = await api.open({ app, version: 1, collections: { tasks: {} }, migrations: { 1: () => { throw new Error("never on a new database"); } } });
  await v1.collection("tasks").bulkCreate([{ id: "a", title: "one" }, { id: "b", title: "two" }]);
  v1.close();

  let runs = 0;
  const migrations = {
    2: async (db) => {
      runs += 1;
      const tasks = db.collection("tasks");
      for (const t of await tasks.query()) await tasks.update(t.id, { priority: 0 });
    },
  };
  const v2 = await api.open({ app, version: 2, collections: { tasks: { indexes: ["priority"] } }, migrations });
  eq(runs, 1, "the migration ran on upgrade");
  eq(await v2.collection("tasks").count({ index: "priority", equals: 0 }), 2, "it changed the data");
  v2.close();
  const again = await api.open({ app, version: 2, collections: { tasks: { indexes: ["priority"] } }, migrations });
  eq(runs, 1, "it never runs twice");
  again.close();

  // A failing migration is reported, not recorded, and runs again on the next open.
  let attempts = 0;
  const flaky = {
    2: migrations[2],
    3: () => {
      attempts += 1;
      if (attempts === 1) throw new TypeError("bad data");
    },
  };
  const e = await rejects(api.open({ app, version: 3, collections: { tasks: {} }, migrations: flaky }), "MigrationError", "a throwing migration");
  assert(e.message.includes("version 3") && e.message.includes("bad data"), e.message);
  const v3 = await api.open({ app, version: 3, collections: { tasks: {} }, migrations: flaky });
  eq([attempts, runs], [2, 1], "the failed one ran again, the done one did not");
  // `_meta` also holds the database's instance id (a string); the applied list is the array.
  eq((await rawGetAll(v3.name, "_meta")).filter(Array.isArray), [[1, 2, 3]], "applied migrations are recorded");
  v3.close();
  await api.deleteDatabase(app, undefined, DISCARD);
}

export async function tenantsNeverMeet(api) {
  const app = uniqueApp("tenants");
  const collections = { tasks: { indexes: ["owner"] } };
  const acme = await api.open({ app, tenant: "acme", version: 1, collections });
  const globex = await api.open({ app, tenant: "globex", version: 1, collections });
  assert(acme.name !== globex.name, "each tenant is its own database");
  eq([acme.tenant, globex.tenant], ["acme", "globex"], "tenant names");
  await acme.collection("tasks").create({ id: "same-id", owner: "acme" });
  await globex.collection("tasks").create({ id: "same-id", owner: "globex" });
  await acme.collection("tasks").bulkCreate([{ owner: "acme" }, { owner: "acme" }]);
  eq(await acme.collection("tasks").count(), 3, "acme's records");
  eq(await globex.collection("tasks").count(), 1, "globex's records");
  eq((await globex.collection("tasks").get("same-id")).owner, "globex", "the same id holds each tenant's own record");
  eq(await globex.collection("tasks").count({ index: "owner", equals: "acme" }), 0, "no acme record in globex");
  eq([(await acme.outbox()).length, (await globex.outbox()).length], [3, 1], "separate outboxes");
  eq([acme.status().pending, globex.status().pending], [3, 1], "separate status");
  acme.close();
  globex.close();
  await api.deleteDatabase(app, "acme", DISCARD);
  await api.deleteDatabase(app, "globex", DISCARD);
}

export async function newerTabClosesOlderConnection(api) {
  const app = uniqueApp("versionchange");
  const seen = [];
  const old = await api.open({ app, version: 1, collections: { tasks: {} }, onVersionChange: (info) => seen.push(info.newVersion) });
  await old.collection("tasks").create({ id: "x" });
  // A second connection (as another tab would open) at a newer version is not blocked.
  const newer = await api.open({ app, version: 2, collections: { tasks: {}, notes: {} }, blockedTimeoutMs: 2000 });
  eq(seen, [2], "the old connection was told the new version");
  eq(old.isOpen, false, "and closed itself");
  await rejects(old.collection("tasks").get("x"), "DatabaseClosedError", "a closed connection refuses work");
  eq((await newer.collection("tasks").get("x")).id, "x", "the new connection has the data");
  newer.close();
  await api.deleteDatabase(app, undefined, DISCARD);
}

export async function blockedUpgradeIsReported(api) {
  const app = uniqueApp("blocked");
  const first = await api.open({ app, version: 1, collections: { tasks: {} } });
  const name = first.name;
  first.close();
  // A connection that ignores versionchange, like a tab running old code.
  const stubborn = await rawOpen(name);
  const started = Date.now();
  const e = await rejects(api.open({ app, version: 2, collections: { tasks: {} }, blockedTimeoutMs: 300 }), "UpgradeBlockedError", "an upgrade blocked by another tab");
  assert(Date.now() - started < 5000, "it reports instead of hanging");
  assert(e.message.includes("another tab"), e.message);
  stubborn.close();
  // Once the other tab is gone, the upgrade goes through.
  const v2 = await api.open({ app, version: 2, collections: { tasks: {} } });
  eq(v2.version, 2, "the upgrade succeeds after the blocker closed");
  v2.close();
  await api.deleteDatabase(app, undefined, DISCARD);
}

// ---- Subscriptions, status store, live queries ----

const tick = () => new Promise((r) => setTimeout(r, 0));


export async function subscriptionsFireAfterCommit(api) {
  const collections = { tasks: {}, notes: {} };
  await withDb(api, "subscribe", async (db) => {
    const tasks = db.collection("tasks");
    const all = [];
    const onlyTasks = [];
    const readsInListener = [];
    const offAll = db.subscribe((e) => all.push(e));
    const offTasks = tasks.subscribe((e) => {
      onlyTasks.push(e);
      // The write has committed: a new transaction already sees it.
      readsInListener.push(tasks.get(e.changes[0].id));
    });
    const throwing = db.subscribe(() => {
      throw new Error("a broken listener");
    });

    const a = await tasks.create({ title: "a" });
    eq(all, [{ collection: "tasks", changes: [{ id: a.id, op: "create" }] }], "the event after a create");
    eq((await readsInListener[0]).id, a.id, "a listener reads the committed record");
    await tasks.update(a.id, { title: "b" });
    await tasks.delete(a.id);
    eq(all.slice(1).map((e) => e.changes[0].op), ["update", "delete"], "update and delete events");
    await db.collection("notes").bulkPut([{ id: "n1" }, { id: "n2" }]);
    eq(all[3], { collection: "notes", changes: [{ id: "n1", op: "create" }, { id: "n2", op: "create" }] }, "one event per transaction");
    eq(onlyTasks.length, 3, "a collection listener hears only its collection");

    // Nothing is announced for a write that fails or changes nothing.
    await tasks.create({ _sync: 1 }).catch(() => {});
    await tasks.delete("missing");
    eq(all.length, 4, "no event for a failed write or a no-op delete");

    offAll();
    offTasks();
    offAll();
    throwing();
    await tasks.create({ title: "after" });
    eq([all.length, onlyTasks.length], [4, 3], "unsubscribed listeners are not called");
  }, collections);
}

export async function statusStoreKeepsIdentity(api) {
  await withDb(api, "status", async (db) => {
    const store = db.statusStore();
    assert(store === db.statusStore(), "the same store object on every call");
    const { subscribe, getSnapshot } = store; // unbound, as React calls them
    const first = getSnapshot();
    eq(first, { online: false, syncing: false, pending: 0, failed: 0, conflicts: 0, lastSyncAt: null, lastError: null, progress: null, spaces: {}, evicted: null, upload: null, download: null, blobsUnsupported: false, blobBytes: { stored: 0, toUpload: 0, toDownload: 0 } }, "initial status");
    assert(getSnapshot() === first, "the snapshot keeps its identity while nothing changes");
    let notified = 0;
    const off = subscribe(() => notified++);
    await db.collection("tasks").create({ id: "a" });
    const second = getSnapshot();
    assert(second !== first, "a new snapshot after a change");
    eq([second.pending, notified], [1, 1], "pending count and one notification");
    await db.collection("tasks").update("a", { x: 1 });
    assert(getSnapshot() === second, "a coalesced write changes nothing in the status");
    eq(notified, 1, "so no notification");
    assert(db.status() === second, "status() is the same snapshot");
    off();
    await db.collection("tasks").create({ id: "b" });
    eq(notified, 1, "no notification after unsubscribe");
    eq(getSnapshot().pending, 2, "but the snapshot is current");
  });
}

export async function liveQueryFollowsWrites(api) {
  await withDb(api, "live", async (db) => {
    const tasks = db.collection("tasks");
    await tasks.create({ id: "a", priority: 1 });
    const live = tasks.live({ index: "priority", range: { lower: 1 } });
    const { subscribe, getSnapshot } = live;
    eq(getSnapshot(), undefined, "no answer before anyone subscribes");
    let calls = 0;
    const off = subscribe(() => calls++);
    await until(() => getSnapshot() !== undefined, "the first answer");
    const first = getSnapshot();
    eq(first.map((r) => r.id), ["a"], "the first answer");
    assert(getSnapshot() === first, "the snapshot keeps its identity");
    await tasks.create({ id: "b", priority: 2 });
    await until(() => getSnapshot() !== first, "the re-run after a write");
    eq(getSnapshot().map((r) => r.id), ["a", "b"], "the live result follows writes");
    const countBefore = calls;
    off();
    await tasks.create({ id: "c", priority: 3 });
    await tick();
    await tick();
    eq(calls, countBefore, "no re-run after the last unsubscribe");
    const again = subscribe(() => {});
    await until(() => getSnapshot().length === 3, "a fresh answer on resubscribe");
    again();
  });
}

/** A seeded generator (mulberry32), so that a failing run can be replayed. */
function seeded(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Live queries are patched in place after each write (here and in another handle, as another
 * tab's writes arrive): after random writes each snapshot equals a fresh query, an old snapshot
 * is never changed, and a query no write touched keeps its snapshot and calls no listener. */
export async function liveQueriesMatchFreshQueriesOverRandomWrites(api) {
  const collections = {
    tasks: {
      indexes: ["priority", "title", { keyPath: ["done", "priority"] }, { keyPath: "tags", multiEntry: true }],
    },
  };
  await withDb(
    api,
    "livepatch",
    async (db, app) => {
      const other = await api.open({ app, version: 1, collections });
      try {
        const tasks = db.collection("tasks");
        const theirs = other.collection("tasks");
        const queries = [
          {},
          { order: "desc", limit: 4 },
          { index: "priority", range: { lower: 2, upper: 6, upperOpen: true } },
          { index: "priority", order: "desc", limit: 5 },
          { index: "priority", equals: 3 },
          { index: "priority", limit: 3, offset: 2 },
          { index: "priority", order: "desc", limit: 2, offset: 1 },
          { index: "title" },
          { index: "title", range: { lower: "b" }, limit: 3 },
          { index: "done+priority", range: { lower: [1, 0] } },
          { index: "tags", equals: "x" },
        ];
        const random = seeded(0xfe5);
        const pick = (list) => list[Math.floor(random() * list.length)];
        const ids = Array.from({ length: 16 }, (_, i) => `r${String(i).padStart(2, "0")}`);
        const titles = ["a", "b", "b", "c", "\u{1F600}", "é"];
        const makeRecord = (id) => {
          const r = { id, title: pick(titles), done: pick([0, 1]), tags: random() < 0.5 ? ["x"] : ["y", "z"] };
          if (random() < 0.85) r.priority = Math.floor(random() * 8);
          return r;
        };
        await tasks.bulkPut(ids.slice(0, 10).map(makeRecord));

        const stores = queries.map((q) => tasks.live(q));
        const offs = stores.map((s) => s.subscribe(() => {}));
        // Priority 100 is never written.
        const untouched = tasks.live({ index: "priority", equals: 100 });
        let untouchedCalls = 0;
        const offUntouched = untouched.subscribe(() => untouchedCalls++);
        const view = (rows) => JSON.stringify(rows.map((r) => [r.id, r.priority, r.title, r.done, r._sync.version]));
        const settled = async (round) => {
          const fresh = await Promise.all(queries.map((q) => tasks.query(q)));
          for (let i = 0; i < 200; i++) {
            if (stores.every((s, k) => s.getSnapshot() && view(s.getSnapshot()) === view(fresh[k]))) return;
            await new Promise((r) => setTimeout(r, 5));
          }
          const k = stores.findIndex((s, k) => !s.getSnapshot() || view(s.getSnapshot()) !== view(fresh[k]));
          throw new Error(
            `round ${round}: live ${JSON.stringify(queries[k])} holds ${view(stores[k].getSnapshot() ?? [])}, a fresh query ${view(fresh[k])}`,
          );
        };
        await settled("first");
        await until(() => untouched.getSnapshot() !== undefined, "the untouched query's first answer");
        const quiet = untouched.getSnapshot();
        const callsAfterFirst = untouchedCalls;
        const kept = stores.map((s) => [s.getSnapshot(), view(s.getSnapshot())]);

        for (let round = 0; round < 40; round++) {
          const writes = 1 + Math.floor(random() * 3);
          for (let w = 0; w < writes; w++) {
            const target = random() < 0.3 ? theirs : tasks;
            const id = pick(ids);
            const roll = random();
            if (roll < 0.35) await target.put(makeRecord(id));
            else if (roll < 0.6) await target.update(id, { priority: Math.floor(random() * 8) }).catch(() => {});
            else if (roll < 0.7) await target.update(id, { title: pick(titles), done: pick([0, 1]) }).catch(() => {});
            else if (roll < 0.85) await target.delete(id);
            else await target.bulkPut([pick(ids), pick(ids), pick(ids)].filter((x, i, a) => a.indexOf(x) === i).map(makeRecord));
          }
          await settled(round);
          for (const [snapshot, text] of kept) eq(view(snapshot), text, `round ${round}: an old snapshot was changed`);
          kept.splice(0, kept.length, ...stores.map((s) => [s.getSnapshot(), view(s.getSnapshot())]));
        }
        assert(untouched.getSnapshot() === quiet, "a query no write touched keeps its snapshot");
        eq(untouchedCalls, callsAfterFirst, "a query no write touched calls no listener");

        // A write that changes nothing a query shows past its offset keeps that snapshot too.
        const offsetStore = stores[5];
        const before = offsetStore.getSnapshot();
        const skipped = (await tasks.query({ index: "priority", limit: 1 }))[0];
        if (skipped) {
          await tasks.update(skipped.id, { title: skipped.title });
          await settled("skipped row");
          assert(offsetStore.getSnapshot() === before, "an offset query whose visible rows did not change keeps its snapshot");
        }
        offs.forEach((off) => off());
        offUntouched();
      } finally {
        other.close();
      }
    },
    collections,
  );
}

export async function schemaMistakesAreReported(api) {
  const app = uniqueApp("mistakes");
  const v1 = await api.open({ app, version: 1, collections: { tasks: { indexes: ["priority"] } } });
  eq(v1.tenant, null, "no tenant");
  await v1.collection("tasks").bulkCreate([{ id: "a", code: "x" }, { id: "b", code: "x" }]);
  v1.close();

  // A schema changed without raising the version is refused with what differs.
  let e = await rejects(api.open({ app, version: 1, collections: { tasks: { indexes: ["priority", "due"] }, notes: {} } }), "InvalidOptionsError", "a changed schema at the same version");
  assert(e.message.includes("raise `version`") && e.message.includes("notes") && e.message.includes("due"), e.message);

  // A unique index over duplicate values fails the upgrade and names the cause.
  e = await rejects(api.open({ app, version: 2, collections: { tasks: { indexes: ["priority", { keyPath: "code", unique: true }] } } }), "InvalidOptionsError", "a unique index over duplicates");
  eq(e.domName, "ConstraintError", "the browser's reason");

  // Nothing was lost: the old schema still opens with its records and queue.
  const again = await api.open({ app, version: 1, collections: { tasks: { indexes: ["priority"] } } });
  eq(await again.collection("tasks").count(), 2, "records kept after the failed upgrade");
  eq((await again.outbox()).length, 2, "queue kept after the failed upgrade");
  again.close();
  await api.deleteDatabase(app, undefined, DISCARD);

  // A value that breaks a unique index is refused, names the index and the record holding the
  // value (whatever the browser's own message says), and writes nothing.
  await withDb(api, "unique", async (db) => {
    const users = db.collection("users");
    await users.create({ id: "u1", email: "a@example.org", handle: "ann" });
    e = await rejects(users.create({ id: "u2", email: "a@example.org" }), "RecordExistsError", "a duplicate in a unique index");
    assert(e.message.includes('"email"') && e.message.includes('"u1"'), `the message names the index and the record: ${e.message}`);
    eq(e.domName, "ConstraintError", "the browser's reason");
    e = await rejects(users.update("u1", { email: "b@example.org" }).then(() => users.create({ id: "u2", email: "c@example.org", handle: "ann" })), "RecordExistsError", "a duplicate in the second unique index");
    assert(e.message.includes('"handle"') && !e.message.includes('"email"'), `the message names the second index: ${e.message}`);
    // Two records of one bulk write that clash with each other, none with what is stored.
    e = await rejects(users.bulkCreate([{ id: "u3", email: "d@example.org" }, { id: "u4", email: "d@example.org" }]), "RecordExistsError", "a clash within one bulk write");
    assert(e.message.includes('"email"') && e.message.includes('"u3"'), `the message names the index and the other record: ${e.message}`);
    // A bulk write that moves a value from one record to another clashes with nothing.
    await users.bulkPut([{ id: "u1", email: "e@example.org", handle: "ann2" }, { id: "u5", email: "b@example.org" }]);
    eq([await users.count(), (await db.outbox()).length], [2, 2], "nothing of the refused writes");
  }, { users: { indexes: [{ keyPath: "email", unique: true }, { keyPath: "handle", unique: true }] } });
}

export async function migrationsRunOnceAcrossConcurrentOpens(api) {
  const app = uniqueApp("concurrent");
  const v1 = await api.open({ app, version: 1, collections: { tasks: {} } });
  await v1.collection("tasks").bulkCreate([{ id: "a" }, { id: "b" }, { id: "c" }]);
  v1.close();
  await rawMarkSynced(v1.name, "tasks");

  let runs = 0;
  const options = {
    app,
    version: 2,
    collections: { tasks: {} },
    migrations: {
      2: async (db) => {
        runs += 1;
        const tasks = db.collection("tasks");
        for (const t of await tasks.query()) await tasks.update(t.id, { migrated: true });
      },
    },
  };
  // Two opens at once, as two tabs reloading together (or React StrictMode) would do.
  const [first, second] = await Promise.all([api.open(options), api.open(options)]);
  eq(runs, 1, "the migration ran once");
  eq((await first.outbox()).length, 3, "one queued update per migrated record");
  eq([first.status().pending, second.status().pending], [3, 3], "the pending count is the outbox, not twice it");
  first.close();
  second.close();
  await api.deleteDatabase(app, undefined, DISCARD);
}

// ---- Sync against the reference server ----
//
// scripts/test.sh starts two reference servers on 127.0.0.1 (one reliable, one with fault
// injection) and passes their URLs in `api.servers`. Every scenario uses tenants of its own
// (token `tokN` is tenant `tenantN`), so they never see each other's data.

const COLLECTIONS = { tasks: { indexes: ["done"] } };

/** Sync options for manual control: no sync on open, no timers, unless `options` says so. */
export function quiet(options) {
  return { syncOnOpen: false, intervalMs: false, debounceMs: false, ...options };
}

/** `quiet` sync options with the reference server at `url`. */
export function manual(url, token, extra = {}) {
  return quiet({ url, token, ...extra });
}

/** Opens a database of its own (fresh app name) with sync; returns it with a cleanup. */
async function openSynced(api, prefix, sync, app = uniqueApp(prefix)) {
  const db = await api.open({ app, version: 1, collections: COLLECTIONS, sync });
  return { db, app, tasks: db.collection("tasks") };
}

async function cleanup(api, ...handles) {
  for (const { db, app } of handles) {
    db.close();
    await api.deleteDatabase(app, undefined, DISCARD);
  }
}

/** Every record the server holds for `token` (pulled page by page, retried on failure: the
 * fault-injecting server fails reads too), and the final cursor. */
export async function serverState(url, token) {
  const records = new Map();
  let cursor = null;
  for (let tries = 0; tries < 500; tries++) {
    const query = `limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
    let page;
    try {
      const response = await fetch(`${url}/v1/pull?${query}`, { headers: { Authorization: `Bearer ${token}` } });
      if (!response.ok) continue;
      page = await response.json();
    } catch {
      continue;
    }
    for (const r of page.changes) records.set(`${r.collection}/${r.id}`, r);
    cursor = page.cursor;
    if (!page.hasMore) return { records, cursor, live: [...records.values()].filter((r) => !r.deleted) };
  }
  throw new Error("the server never answered a whole pull");
}

/** Calls syncNow until the queue is empty, tolerating failures (for the flaky server). */
async function syncUntilEmpty(db, maxTries = 200) {
  for (let i = 0; i < maxTries; i++) {
    try {
      await db.syncNow();
      if (db.status().pending === 0) return i + 1;
    } catch (error) {
      if (error.name !== "NetworkError") throw error;
    }
  }
  throw new Error(`still ${db.status().pending} queued after ${maxTries} syncs`);
}

export function waitFor(check, what, ms = 20000) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = async () => {
      try {
        if (await check()) return resolve();
      } catch (error) {
        return reject(error);
      }
      if (Date.now() - started > ms) return reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
      setTimeout(poll, 10);
    };
    poll();
  });
}

/** A record's user fields with the keys sorted (the server keeps JSON objects key-sorted), so
 * that records compare by content. */
function userFields(record) {
  const { _sync, ...fields } = record;
  return Object.fromEntries(Object.entries(fields).sort(([a], [b]) => (a < b ? -1 : 1)));
}

function byId(a, b) {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export async function offlineCreatesReachTheServerWhenOnline(api) {
  const { main } = api.servers;
  const client = await openSynced(api, "offline", manual(main, "tok1"));
  try {
    const { db, tasks } = client;
    window.dispatchEvent(new Event("offline"));
    for (let i = 0; i < 10; i++) await tasks.create({ title: `offline ${i}`, done: false });
    eq(db.status().pending, 10, "queued while offline");
    const offline = await rejects(db.syncNow(), "NetworkError", "syncNow while offline");
    assert(/offline/.test(offline.message), offline.message);
    eq(db.status().online, false, "status while offline");
    eq((await serverState(main, "tok1")).records.size, 0, "nothing sent while offline");

    window.dispatchEvent(new Event("online"));
    await waitFor(() => db.status().pending === 0 && db.status().lastSyncAt !== null, "the sync the online event starts");
    const status = db.status();
    eq([status.online, status.syncing, status.failed, status.conflicts, status.lastError], [true, false, 0, 0, null], "status after the sync");
    const server = await serverState(main, "tok1");
    eq(server.records.size, 10, "the server holds exactly 10");
    eq(server.cursor, "c1.10", "exactly 10 writes on the server");
    const local = await tasks.query();
    eq(local.map((r) => r._sync.status), Array(10).fill("synced"), "every record synced");
    eq(local.map((r) => r._sync.serverVersion), Array(10).fill(1), "at server version 1");
    eq(
      local.map(userFields).sort(byId),
      [...server.records.values()].map((r) => userFields({ ...r.data, id: r.id })).sort(byId),
      "the server has what the client has",
    );
    eq((await db.outbox()).length, 0, "outbox empty");
  } finally {
    await cleanup(api, client);
  }
}

export async function twoClientsConverge(api) {
  const { main } = api.servers;
  const a = await openSynced(api, "conv-a", manual(main, "tok2"));
  const b = await openSynced(api, "conv-b", manual(main, "tok2"));
  try {
    const a1 = await a.tasks.create({ title: "a1", done: false });
    await a.tasks.create({ title: "a2", done: false });
    const b1 = await b.tasks.create({ title: "b1", done: true });
    await a.db.syncNow();
    await b.db.syncNow();
    await a.db.syncNow();
    const state = async (c) => (await c.tasks.query()).map(userFields).sort(byId);
    eq((await state(a)).length, 3, "a has all three");
    eq(await state(a), await state(b), "both hold the same records");

    await a.tasks.update(a1.id, { done: true });
    await b.tasks.update(b1.id, { title: "b1 edited" });
    await b.tasks.delete((await b.tasks.query()).find((r) => r.title === "a2").id);
    await a.db.syncNow();
    const summary = await b.db.syncNow();
    eq([summary.pushed, summary.conflicts, summary.rejected], [2, 0, 0], "b pushed its edit and delete");
    await a.db.syncNow();
    eq(await state(a), await state(b), "converged after edits on both sides");
    eq((await state(a)).map((r) => r.title).sort(), ["a1", "b1 edited"], "the edits and the delete");
    const server = await serverState(main, "tok2");
    eq(server.live.map((r) => userFields({ ...r.data, id: r.id })).sort(byId), await state(a), "and so does the server");
    for (const c of [a, b]) {
      eq([c.db.status().pending, c.db.status().conflicts], [0, 0], "nothing left");
      assert((await c.tasks.query()).every((r) => r._sync.status === "synced"), "all synced");
    }
  } finally {
    await cleanup(api, a, b);
  }
}

export async function sameRecordEditedTwiceIsAConflict(api) {
  const { main } = api.servers;
  const a = await openSynced(api, "conf-a", manual(main, "tok3"));
  const b = await openSynced(api, "conf-b", manual(main, "tok3"));
  try {
    const x = await a.tasks.create({ title: "original", done: false });
    await a.db.syncNow();
    await b.db.syncNow();
    await a.tasks.update(x.id, { title: "from a" });
    await b.tasks.update(x.id, { title: "from b" });
    await a.db.syncNow();
    const summary = await b.db.syncNow();
    eq(summary.conflicts, 1, "b's push conflicts");
    const record = await b.tasks.get(x.id);
    eq([record.title, record._sync.status], ["from b", "conflict"], "b keeps its version, marked");
    eq([b.db.status().conflicts, b.db.status().pending], [1, 0], "status counts the conflict; a held change is not pending");
    const [conflict] = await b.db.conflicts();
    eq([conflict.collection, conflict.id], ["tasks", x.id], "conflict names the record");
    eq(conflict.local.title, "from b", "local version kept");
    eq([conflict.server.data.title, conflict.server.version], ["from a", 2], "server version kept");
    await b.db.syncNow();
    eq((await b.db.conflicts()).length, 1, "a later sync does not drop it");
    eq((await serverState(main, "tok3")).live[0].data.title, "from a", "nor does it overwrite the server");

    // Keep the local version: it is pushed on top of the server's.
    await b.db.resolveConflict("tasks", x.id, "local");
    eq([b.db.status().conflicts, (await b.tasks.get(x.id))._sync.status], [0, "pending"], "resolved, queued");
    await b.db.syncNow();
    await a.db.syncNow();
    eq((await a.tasks.get(x.id)).title, "from b", "a has b's version");
    eq((await serverState(main, "tok3")).live[0].version, 3, "server at version 3");

    // Another conflict, this time settled with the server's version.
    await a.tasks.update(x.id, { title: "a again" });
    await b.tasks.update(x.id, { title: "b again", done: true });
    await a.db.syncNow();
    await b.db.syncNow();
    await b.db.resolveConflict("tasks", x.id, "server");
    const settled = await b.tasks.get(x.id);
    eq([settled.title, settled.done, settled._sync.status, settled._sync.serverVersion], ["a again", false, "synced", 4], "server version taken");
    eq([b.db.status().pending, b.db.status().conflicts], [0, 0], "nothing queued");

    await rejects(b.db.resolveConflict("tasks", x.id, "local"), "RecordNotFoundError", "no conflict left");
    await rejects(b.db.resolveConflict("tasks", x.id, "mine"), "InvalidOptionsError", "a bad choice");
    await rejects(b.db.resolveConflict("nope", x.id, "local"), "UnknownCollectionError", "a bad collection");
  } finally {
    await cleanup(api, a, b);
  }
}

/** A transport over the real server whose hooks run after the server answered, before the
 * client applies the answer: where a closed tab loses the answer. */
/** Conflict strategies, the field diff, a merged resolution and the sync log, through the API. */
export async function conflictStrategiesSettleAndAreLogged(api) {
  const { main } = api.servers;
  const collections = {
    tasks: { indexes: ["done"], conflicts: "server-wins" },
    notes: { conflicts: "merge" },
    drafts: { conflicts: "client-wins" },
  };
  const open = (prefix, app = uniqueApp(prefix)) =>
    api.open({ app, version: 1, collections, sync: manual(main, "tok17") }).then((db) => ({ db, app }));
  const a = await open("strat-a");
  let b = await open("strat-b");
  try {
    await rejects(
      api.open({ app: uniqueApp("strat-bad"), version: 1, collections: { t: { conflicts: "newest" } } }),
      "InvalidOptionsError",
      "an unknown strategy",
    );
    const task = await a.db.collection("tasks").create({ title: "original", done: false });
    const note = await a.db.collection("notes").create({ title: "note", body: "b0", tags: ["x"] });
    await a.db.syncNow();
    await b.db.syncNow();

    // Server wins: b's edit is replaced, and the log says so with both versions.
    await a.db.collection("tasks").update(task.id, { title: "from a" });
    await b.db.collection("tasks").update(task.id, { title: "from b" });
    await a.db.syncNow();
    const heard = [];
    const offLog = b.db.subscribeSyncLog((e) => heard.push(e));
    const offAll = b.db.subscribe((e) => heard.push(e));
    const summary = await b.db.syncNow();
    offLog();
    offAll();
    eq([summary.conflicts, summary.resolved], [1, 1], "found and settled in the same sync");
    eq(heard.filter((e) => e.collection === "_log").map((e) => e.changes.map((c) => c.id)), [[task.id]], "the log's listeners hear of it, once");
    assert(heard.some((e) => e.collection === "tasks"), "and the record's change is announced to the others");
    eq((await b.db.collection("tasks").get(task.id)).title, "from a", "the server's version");
    eq([b.db.status().conflicts, b.db.status().pending], [0, 0], "nothing left");
    const [entry] = await b.db.syncLog();
    eq([entry.kind, entry.by, entry.kept, entry.local.title, entry.server.title], ["resolved", "server-wins", "server", "from b", "from a"], "a rollback notice");

    // Client wins: b's edit is pushed over a's, and a gets it.
    const draft = await a.db.collection("drafts").create({ text: "first" });
    await a.db.syncNow();
    await b.db.syncNow();
    await a.db.collection("drafts").update(draft.id, { text: "by a" });
    await a.db.syncNow();
    await b.db.collection("drafts").update(draft.id, { text: "by b" });
    eq((await b.db.syncNow()).resolved, 1, "settled for b");
    await b.db.syncNow();
    await a.db.syncNow();
    for (const c of [a, b]) eq((await c.db.collection("drafts").get(draft.id)).text, "by b", "the client's version wins");
    const [kept] = await b.db.syncLog();
    eq([kept.by, kept.kept, kept.server.text], ["client-wins", "local", "by a"], "logged with the version that lost");

    // Merge: fields changed on one side each merge by themselves.
    await a.db.collection("notes").update(note.id, { title: "title by a" });
    await b.db.collection("notes").update(note.id, { body: "body by b" });
    await a.db.syncNow();
    eq((await b.db.syncNow()).resolved, 1, "merged");
    await b.db.syncNow();
    await a.db.syncNow();
    for (const c of [a, b]) {
      const n = await c.db.collection("notes").get(note.id);
      eq([n.title, n.body], ["title by a", "body by b"], "both edits on both sides");
    }

    // The same field changed on both sides: the merge leaves it to a person, with the diff.
    await a.db.collection("notes").update(note.id, { tags: ["x", "a"] });
    await b.db.collection("notes").update(note.id, { tags: ["x", "b"], body: "again by b" });
    await a.db.syncNow();
    await b.db.syncNow();
    const [conflict] = await b.db.conflicts();
    eq([conflict.base.body, conflict.base.tags], ["body by b", ["x"]], "the base is the server's data the edit started from");
    const diff = conflict.diff.map((f) => [f.path.join("."), f.change]).sort();
    eq(diff, [["body", "local"], ["tags", "both-different"]], "the field diff");
    eq([b.db.status().conflicts, b.db.status().pending], [1, 0], "held: a conflict, not pending");
    await rejects(b.db.resolveConflict("notes", note.id, { merged: { _sync: {} } }), "ReservedFieldError", "metadata in a merge");
    await rejects(b.db.resolveConflict("notes", note.id, { merged: [1] }), "InvalidOptionsError", "a merge that is no object");
    eq((await b.db.conflicts()).length, 1, "a refused resolution changes nothing");
    await b.db.resolveConflict("notes", note.id, { merged: { title: "title by a", body: "again by b", tags: ["x", "a", "b"] } });
    await b.db.syncNow();
    await a.db.syncNow();
    eq((await a.db.collection("notes").get(note.id)).tags, ["x", "a", "b"], "the merged version reaches the other client");

    // The log survives a reload, newest first.
    b.db.close();
    b = await open("strat-b", b.app);
    const log = await b.db.syncLog();
    eq(
      log.map((e) => [e.kind, e.by, e.kept]),
      [["resolved", "user", "merged"], ["resolved", "merge", "merged"], ["resolved", "client-wins", "local"], ["resolved", "server-wins", "server"]],
      "the log after a reload",
    );
    let clears = 0;
    const off = b.db.subscribeSyncLog(() => clears++);
    await b.db.clearSyncLog();
    off();
    eq([(await b.db.syncLog()).length, clears], [0, 1], "cleared, and its listeners told");
  } finally {
    await cleanup(api, a, b);
  }
}

/** Last-write-wins: the newer write wins whichever client syncs first. */
export async function lastWriteWinsWhateverTheSyncOrder(api) {
  const { main } = api.servers;
  const collections = { tasks: { conflicts: "last-write-wins" } };
  const open = (prefix) => {
    const app = uniqueApp(prefix);
    return api
      .open({ app, version: 1, collections, sync: manual(main, "tok21") })
      .then((db) => ({ app, db, tasks: db.collection("tasks") }));
  };
  const a = await open("lww-a");
  const b = await open("lww-b");
  const later = () => new Promise((done) => setTimeout(done, 20));
  try {
    const x = await a.tasks.create({ title: "original" });
    await a.db.syncNow();
    await b.db.syncNow();
    // b writes last; the newer write wins whether b syncs first or last.
    for (const bFirst of [true, false]) {
      await a.tasks.update(x.id, { title: `a ${bFirst}` });
      await later();
      await b.tasks.update(x.id, { title: `b ${bFirst}` });
      const [first, second] = bFirst ? [b, a] : [a, b];
      await first.db.syncNow();
      await second.db.syncNow();
      await second.db.syncNow();
      await first.db.syncNow();
      for (const c of [a, b]) {
        eq([(await c.tasks.get(x.id)).title, c.db.status().conflicts], [`b ${bFirst}`, 0], `the newer write, b syncing ${bFirst ? "first" : "last"}`);
      }
    }
    const entry = (await a.db.syncLog()).find((e) => e.kind === "resolved");
    eq([entry.by, entry.kept, entry.local.title], ["last-write-wins", "server", "a true"], "the older write gave way, logged");
    const onServer = (await serverState(main, "tok21")).live.find((r) => r.id === x.id);
    assert(typeof onServer.updatedAt === "number" && onServer.updatedAt <= Date.now() + 1000, "versions carry their write time");
  } finally {
    await cleanup(api, a, b);
  }
}

/** A collection's own resolver: async, its merged data pushed; a failure leaves the conflict. */
export async function customResolverSettlesOrLeavesItLogged(api) {
  const { main } = api.servers;
  const asked = [];
  const resolver = async (c) => {
    asked.push([c.id, c.local.title, c.server.data.title, c.diff.map((f) => f.change)]);
    await new Promise((done) => setTimeout(done, 5));
    if (c.local.title === "throw") throw new Error("boom");
    if (c.local.title === "nonsense") return 42;
    return { title: `${c.local.title} & ${c.server.data.title}`, done: c.server.data.done };
  };
  const a = await openSynced(api, "custom-a", manual(main, "tok20"));
  const app = uniqueApp("custom-b");
  const b = {
    app,
    db: await api.open({ app, version: 1, collections: { tasks: { conflicts: resolver } }, sync: manual(main, "tok20") }),
  };
  b.tasks = b.db.collection("tasks");
  try {
    const x = await a.tasks.create({ title: "original", done: false });
    await a.db.syncNow();
    await b.db.syncNow();
    await a.tasks.update(x.id, { title: "A" });
    await a.db.syncNow();
    await b.tasks.update(x.id, { title: "B" });
    eq((await b.db.syncNow()).resolved, 1, "the resolver settled it");
    eq(asked[0], [x.id, "B", "A", ["both-different"]], "it was asked with both versions and the diff");
    await b.db.syncNow();
    await a.db.syncNow();
    eq((await a.tasks.get(x.id)).title, "B & A", "its merged data reached the other client");
    const [entry] = await b.db.syncLog();
    eq([entry.kind, entry.by, entry.kept], ["resolved", "custom", "merged"], "logged");

    for (const bad of ["throw", "nonsense"]) {
      await a.tasks.update(x.id, { title: `A ${bad}` });
      await a.db.syncNow();
      await b.tasks.update(x.id, { title: bad });
      await b.db.syncNow();
      eq(b.db.status().conflicts, 1, `a resolver that fails (${bad}) leaves the conflict for a person`);
      const [why] = await b.db.syncLog();
      eq([why.kind, why.id], ["unresolved", x.id], "and the log says so");
      assert(why.message.includes(bad === "throw" ? "boom" : "number"), why.message);
      await b.db.resolveConflict("tasks", x.id, "server");
    }
  } finally {
    await cleanup(api, a, b);
  }
}

/** Force push over a conflict, force pull dropping or keeping local changes, and the log. */
export async function forceSyncBothWays(api) {
  const { main } = api.servers;
  const a = await openSynced(api, "force-a", manual(main, "tok18"));
  const b = await openSynced(api, "force-b", manual(main, "tok18"));
  try {
    const x = await a.tasks.create({ title: "original", done: false });
    await a.db.syncNow();
    await b.db.syncNow();
    await rejects(b.db.forcePull({ collections: ["nope"] }), "UnknownCollectionError", "an unknown collection");
    await rejects(b.db.forcePull({ collections: [] }), "InvalidOptionsError", "no collection");
    await rejects(b.db.forcePush({ keepLocalChanges: true }), "InvalidOptionsError", "a pull's option");
    await rejects(b.db.forcePull("all"), "InvalidOptionsError", "options that are no object");

    // Force push: the server takes b's version over a's, the conflict held here included.
    await a.tasks.update(x.id, { title: "from a" });
    await a.db.syncNow();
    await b.tasks.update(x.id, { title: "from b" });
    await b.db.syncNow();
    eq(b.db.status().conflicts, 1, "a conflict, kept for a person");
    const pushed = await b.db.forcePush({ collections: ["tasks"] });
    eq([pushed.pushed, b.db.status().conflicts, b.db.status().pending], [1, 0, 0], "forced through");
    const onServer = (await serverState(main, "tok18")).live.find((r) => r.id === x.id);
    eq([onServer.data.title, onServer.forced], ["from b", true], "the server has b's version, marked forced");
    await a.db.syncNow();
    eq((await a.tasks.get(x.id)).title, "from b", "and a gets it");
    eq((await b.db.syncLog())[0].kind, "force-push", "logged");

    // Force pull, dropping: b's queued edit and its record the server never had go.
    await b.tasks.update(x.id, { title: "b's unsent edit" });
    const y = await b.tasks.create({ title: "never sent" });
    const dropped = await b.db.forcePull();
    eq((await b.tasks.get(x.id)).title, "from b", "the server's version is back");
    eq(await b.tasks.get(y.id), undefined, "a record the server does not have is gone");
    eq([b.db.status().pending, b.db.status().conflicts], [0, 0], "nothing queued");
    assert(dropped.pulled >= 1, "pulled from the start");
    const [swept, pull] = await b.db.syncLog();
    eq([pull.kind, pull.kept, pull.count, pull.collection], ["force-pull", "server", 2, "*"], "the drop is logged");
    eq([swept.kind, swept.count], ["swept", 1], "and the sweep");

    // Force pull, keeping: b's edits are re-applied on top of the server's state.
    await a.tasks.update(x.id, { title: "a again" });
    await a.db.syncNow();
    await b.tasks.update(x.id, { title: "b kept" });
    const w = await b.tasks.create({ title: "kept new" });
    await b.db.forcePull({ collections: ["tasks"], keepLocalChanges: true });
    const [conflict] = await b.db.conflicts();
    eq([conflict.id, conflict.local.title, conflict.server.data.title], [x.id, "b kept", "a again"], "the kept edit meets the server's as a conflict");
    eq((await serverState(main, "tok18")).live.find((r) => r.id === w.id).data.title, "kept new", "the kept create reached the server");
    eq((await b.tasks.get(w.id)).title, "kept new", "and stays here");
  } finally {
    await cleanup(api, a, b);
  }
}

/** collection.wipe() and deleteDatabase() look at the outbox first; the server is untouched. */
export async function wipesLookAtTheOutboxFirst(api) {
  const { main } = api.servers;
  const a = await openSynced(api, "wipe", manual(main, "tok19"));
  try {
    const kept = await a.tasks.create({ title: "synced" });
    await a.db.syncNow();
    await a.tasks.create({ title: "queued" });
    const refused = await rejects(a.tasks.wipe(), "PendingChangesError", "a wipe that would drop a queued change");
    eq(refused.pending, 1, "the error counts them");
    eq((await a.tasks.query()).length, 2, "nothing changed");
    await rejects(a.tasks.wipe({ discardPending: "yes" }), "InvalidOptionsError", "a bad option");
    let heard = 0;
    const off = a.tasks.subscribe(() => heard++);
    await a.tasks.wipe({ discardPending: true });
    off();
    eq([(await a.tasks.query()).length, a.db.status().pending], [0, 0], "wiped");
    assert(heard >= 1, "its listeners hear of it");
    eq((await serverState(main, "tok19")).live.map((r) => r.id), [kept.id], "the server's data is untouched");
    const [entry] = await a.db.syncLog();
    eq([entry.kind, entry.collection, entry.count, entry.dropped], ["wipe", "tasks", 2, 1], "logged");
    await a.db.forcePull({ collections: ["tasks"] });
    eq((await a.tasks.query()).map((r) => r.id), [kept.id], "a force pull brings the server's records back");

    // Deleting the database (a logout) looks at the outbox too.
    await a.tasks.create({ title: "again" });
    a.db.close();
    const blocked = await rejects(api.deleteDatabase(a.app), "PendingChangesError", "a delete that would drop a change");
    eq(blocked.pending, 1, "counted");
    const again = await openSynced(api, "wipe", manual(main, "tok19"), a.app);
    eq((await again.tasks.query()).length, 2, "nothing was deleted");
    again.db.close();
    await api.deleteDatabase(a.app, undefined, { discardPending: true });
    const fresh = await openSynced(api, "wipe", manual(main, "tok19"), a.app);
    eq((await fresh.tasks.query()).length, 0, "deleted when told to drop them");
    fresh.db.close();
  } finally {
    await cleanup(api, a);
  }
}

function hookedTransport(url, token, hooks) {
  const headers = { Authorization: `Bearer ${token}`, "Content-Type": "application/json" };
  return {
    async push(batch) {
      const response = await fetch(`${url}/v1/push`, { method: "POST", headers, body: JSON.stringify(batch) });
      const answer = await response.json();
      if (hooks.push) await hooks.push(batch, answer);
      return answer;
    },
    async pull(cursor, limit) {
      const query = `limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
      const answer = await (await fetch(`${url}/v1/pull?${query}`, { headers })).json();
      if (hooks.pull) await hooks.pull(cursor, answer);
      return answer;
    },
  };
}

export async function closedTabMidSyncResumesWithoutLossOrDuplicates(api) {
  const { main } = api.servers;
  const app = uniqueApp("resume");
  let pushes = 0;
  // The tab dies after the server applied the second batch, before the answer is stored.
  const dying = hookedTransport(main, "tok4", {
    push: async (batch) => {
      pushes += 1;
      if (pushes === 2) {
        first.db.close();
      }
    },
  });
  const first = await openSynced(api, "resume", quiet({ transport: dying, batchSize: 50 }), app);
  await first.tasks.bulkCreate(Array.from({ length: 150 }, (_, i) => ({ title: `t${i}`, done: false })));
  await rejects(first.db.syncNow(), "DatabaseClosedError", "the sync dies with its tab");
  eq((await serverState(main, "tok4")).records.size, 100, "two batches reached the server");

  const second = await openSynced(api, "resume", manual(main, "tok4", { batchSize: 50 }), app);
  try {
    // The first batch's answer was applied; the second batch's answer died with the tab.
    await waitFor(() => second.db.status().pending === 100, "the queue count");
    const outbox = await second.db.outbox();
    eq(outbox.length, 100, "nothing unacknowledged was lost from the queue");
    // The third batch was read (and counted) while the second was out: counted as sent before
    // it went, the safe side (docs/sync.md, "Pipelined push").
    eq(outbox.filter((e) => e.attempts === 1).length, 100, "the sent entries know they were sent");
    eq(await second.tasks.count(), 150, "every record is still here");
    await second.db.syncNow();
    const server = await serverState(main, "tok4");
    eq(server.records.size, 150, "every record once");
    eq(server.cursor, "c1.150", "no write applied twice");
    const local = await second.tasks.query();
    eq(local.length, 150, "all local records kept");
    assert(local.every((r) => r._sync.status === "synced" && r._sync.serverVersion === 1), "all synced at version 1");
    eq(second.db.status().pending, 0, "queue empty");
  } finally {
    await cleanup(api, second);
  }

  // A pull that dies mid-way resumes from the last applied page.
  const pullApp = uniqueApp("resume-pull");
  const cursors = [];
  let pages = 0;
  const dyingPull = hookedTransport(main, "tok4", {
    pull: async (cursor) => {
      cursors.push(cursor);
      pages += 1;
      if (pages === 2) puller.db.close();
    },
  });
  const puller = await openSynced(api, "resume-pull", quiet({ transport: dyingPull, pullLimit: 40 }), pullApp);
  await rejects(puller.db.syncNow(), "DatabaseClosedError", "the pull dies with its tab");
  const resumed = [];
  const again = await openSynced(
    api,
    "resume-pull",
    quiet({ transport: hookedTransport(main, "tok4", { pull: async (cursor) => resumed.push(cursor) }), pullLimit: 40 }),
    pullApp,
  );
  try {
    eq(await again.tasks.count(), 40, "the first page was applied with its cursor");
    await again.db.syncNow();
    eq(resumed[0], "c1.40", "the pull resumed after the applied page");
    eq(await again.tasks.count(), 150, "and got the rest");
  } finally {
    await cleanup(api, again);
  }

  // Pages written in slices of 15 (docs/sync.md, "Pages applied in slices"): the tab dies once
  // the first slice of the first page is in (a change listener closes it). Only a page's last
  // slice stores its cursor, so the whole page comes again, and its first slice is written again
  // without doubling anything.
  const slicedApp = uniqueApp("resume-slices");
  const slicing = { pullLimit: 40, applyLimit: 15 };
  const sliced = await openSynced(api, "resume-slices", quiet({ url: main, token: "tok4", ...slicing }), slicedApp);
  sliced.db.subscribe(() => sliced.db.close());
  await rejects(sliced.db.syncNow(), "DatabaseClosedError", "the sliced pull dies with its tab");
  const slicedCursors = [];
  const slicedHook = { pull: async (cursor) => slicedCursors.push(cursor ?? null) };
  const transport = hookedTransport(main, "tok4", slicedHook);
  const slicedAgain = await openSynced(api, "resume-slices", quiet({ transport, ...slicing }), slicedApp);
  try {
    eq(await slicedAgain.tasks.count(), 15, "the first slice is in, the page's cursor is not");
    await slicedAgain.db.syncNow();
    eq(slicedCursors[0], null, "the page comes again, from the cursor before it");
    const local = await slicedAgain.tasks.query();
    eq(local.length, 150, "every record once");
    assert(local.every((r) => r._sync.status === "synced" && r._sync.serverVersion === 1), "all synced at version 1");
  } finally {
    await cleanup(api, slicedAgain);
  }
}

export async function flakyServerStillConverges(api) {
  const { flaky } = api.servers;
  const a = await openSynced(api, "flaky-a", manual(flaky, "tok5", { batchSize: 10 }));
  const b = await openSynced(api, "flaky-b", manual(flaky, "tok5", { batchSize: 10 }));
  try {
    const ids = await a.tasks.bulkCreate(Array.from({ length: 60 }, (_, i) => ({ title: `f${i}`, done: false })));
    const aTries = await syncUntilEmpty(a.db);
    for (const id of ids.slice(0, 20)) await a.tasks.update(id, { done: true });
    await syncUntilEmpty(a.db);
    let bTries = 0;
    for (;;) {
      bTries += 1;
      try {
        await b.db.syncNow();
        if ((await b.tasks.count()) === 60) break;
      } catch (error) {
        if (error.name !== "NetworkError" || bTries > 200) throw error;
      }
    }
    const server = await serverState(flaky, "tok5");
    eq(server.records.size, 60, "exactly 60 records, none doubled");
    eq(server.cursor, "c1.80", "60 creates and 20 updates, each applied once");
    eq(server.live.filter((r) => r.data.done).length, 20, "the updates landed");
    eq(
      (await b.tasks.query()).map(userFields).sort(byId),
      (await a.tasks.query()).map(userFields).sort(byId),
      `both clients agree (after ${aTries} and ${bTries} syncs)`,
    );
  } finally {
    await cleanup(api, a, b);
  }
}

export async function tenThousandQueuedSyncInBatches(api) {
  const { main } = api.servers;
  const a = await openSynced(api, "ten-k", manual(main, "tok6"));
  try {
    await a.tasks.bulkPut(Array.from({ length: 10000 }, (_, i) => ({ id: `r${String(i).padStart(5, "0")}`, title: `record ${i}`, done: i % 2 })));
    eq(a.db.status().pending, 10000, "all queued");
    const progress = [];
    const store = a.db.statusStore();
    const unsubscribe = store.subscribe(() => {
      const p = store.getSnapshot().progress;
      if (p) progress.push(p.done);
    });
    const summary = await a.db.syncNow();
    unsubscribe();
    eq(summary.pushed, 10000, "all acknowledged");
    eq(a.db.status().pending, 0, "queue empty");
    const steps = [...new Set(progress)];
    assert(steps.length >= 100, `progress moved batch by batch (${steps.length} steps)`);
    assert(steps.every((d) => d % 100 === 0), `in batches of 100: ${steps.slice(0, 5)}`);
    const server = await serverState(main, "tok6");
    eq([server.records.size, server.cursor], [10000, "c1.10000"], "the server has each once");
    eq(await a.tasks.count({ index: "done", equals: 1 }), 5000, "records intact");
  } finally {
    await cleanup(api, a);
  }
}

export async function tenantsNeverSeeEachOthersData(api) {
  const { main } = api.servers;
  const a = await openSynced(api, "tenant-a", manual(main, "tok7"));
  const b = await openSynced(api, "tenant-b", manual(main, "tok8"));
  try {
    const secret = await a.tasks.create({ title: "tenant 7 only", done: false });
    await b.tasks.create({ title: "tenant 8 only", done: false });
    await a.db.syncNow();
    await b.db.syncNow();
    eq((await b.tasks.query()).map((r) => r.title), ["tenant 8 only"], "b pulls only its own");
    eq((await a.tasks.query()).map((r) => r.title), ["tenant 7 only"], "a pulls only its own");
    // The same id in another tenant is another record.
    await b.tasks.put({ id: secret.id, title: "b's own", done: true });
    await b.db.syncNow();
    await a.db.syncNow();
    eq((await a.tasks.get(secret.id)).title, "tenant 7 only", "a's record untouched");
    eq([...(await serverState(main, "tok7")).records.keys()], [`tasks/${secret.id}`], "server side, tenant 7");
    eq((await serverState(main, "tok8")).records.size, 2, "server side, tenant 8");
    const bad = await openSynced(api, "tenant-bad", manual(main, "not-a-token"));
    try {
      await bad.tasks.create({ title: "x", done: false });
      const e = await rejects(bad.db.syncNow(), "SyncError", "a bad token");
      assert(/401/.test(e.message) && /invalid_token/.test(e.message), e.message);
      eq([bad.db.status().pending, bad.db.status().lastError], [1, e.message], "kept queued, error shown");
    } finally {
      await cleanup(api, bad);
    }
  } finally {
    await cleanup(api, a, b);
  }
}

export async function rejectedChangesAreKeptAsDeadLetters(api) {
  const { main } = api.servers;
  const a = await openSynced(api, "dead", manual(main, "tok9"));
  try {
    const big = await a.tasks.create({ title: "x".repeat(300 * 1024), done: false });
    const fine = await a.tasks.create({ title: "fine", done: false });
    const summary = await a.db.syncNow();
    eq([summary.pushed, summary.rejected], [1, 1], "one applied, one rejected");
    eq([a.db.status().failed, a.db.status().pending], [1, 0], "status counts the dead letter; a held change is not pending");
    eq((await a.tasks.get(big.id))._sync.status, "failed", "the record shows failed");
    eq((await a.tasks.get(fine.id))._sync.status, "synced", "the other is synced");
    const [dead] = await a.db.failed();
    eq([dead.recordId, dead.error.code], [big.id, "data_too_large"], "the dead letter keeps the server's answer");
    assert(dead.error.message.length > 0, "with its message");

    // An edit of the failed record waits behind the dead letter.
    await a.tasks.update(big.id, { title: "small now" });
    await a.db.syncNow();
    eq((await serverState(main, "tok9")).records.size, 1, "nothing of it reached the server");

    await a.db.retryFailed("tasks", big.id);
    eq([a.db.status().failed, (await a.tasks.get(big.id))._sync.status], [0, "pending"], "retried");
    await a.db.syncNow();
    eq((await serverState(main, "tok9")).live.find((r) => r.id === big.id).data.title, "small now", "sent as it is now");
    eq([a.db.status().failed, a.db.status().pending], [0, 0], "nothing left");

    // Discarding drops the change; a record the server never had goes.
    const huge = await a.tasks.create({ title: "y".repeat(300 * 1024), done: false });
    await a.db.syncNow();
    eq(a.db.status().failed, 1, "rejected again");
    await a.db.discardFailed("tasks", huge.id);
    eq(await a.tasks.get(huge.id), undefined, "discarded with its record");
    eq([a.db.status().failed, a.db.status().pending], [0, 0], "counts follow");
    await rejects(a.db.discardFailed("tasks", huge.id), "RecordNotFoundError", "nothing to discard");
  } finally {
    await cleanup(api, a);
  }
}

export async function aWriteDuringThePushStaysQueued(api) {
  const { main } = api.servers;
  const app = uniqueApp("inflight");
  let x;
  let edited = false;
  const transport = hookedTransport(main, "tok10", {
    push: async () => {
      if (!edited) {
        edited = true;
        await client.tasks.update(x.id, { title: "edited in flight" });
      }
    },
  });
  const client = await openSynced(api, "inflight", quiet({ transport }), app);
  try {
    x = await client.tasks.create({ title: "first", done: false });
    const summary = await client.db.syncNow();
    // The edit is pushed in the same sync, after the create was acknowledged.
    eq(summary.pushed, 2, "both changes pushed");
    const server = await serverState(main, "tok10");
    eq([server.live[0].data.title, server.live[0].version], ["edited in flight", 2], "the server has the edit on top");
    const record = await client.tasks.get(x.id);
    eq([record._sync.status, record._sync.serverVersion], ["synced", 2], "synced at the edit's version");
  } finally {
    await cleanup(api, client);
  }
}

export async function oneTabSyncsAtATimeAndTabsSeeEachOther(api) {
  const { main } = api.servers;
  const app = uniqueApp("tabs");
  let inFlight = 0;
  let most = 0;
  const counting = () => {
    const t = hookedTransport(main, "tok11", {});
    return {
      async push(batch) {
        inFlight += 1;
        most = Math.max(most, inFlight);
        try {
          await new Promise((r) => setTimeout(r, 20));
          return await t.push(batch);
        } finally {
          inFlight -= 1;
        }
      },
      pull: t.pull,
    };
  };
  const one = await openSynced(api, "tabs", quiet({ transport: counting(), batchSize: 10 }), app);
  const two = await openSynced(api, "tabs", quiet({ transport: counting(), batchSize: 10 }), app);
  try {
    const heard = [];
    two.tasks.subscribe((event) => heard.push(event));
    await one.tasks.bulkCreate(Array.from({ length: 50 }, (_, i) => ({ title: `tab ${i}`, done: false })));
    await waitFor(() => heard.length === 1 && two.db.status().pending === 50, "the other tab to hear the write");
    eq([heard[0].collection, heard[0].changes.length, heard[0].changes[0].op], ["tasks", 50, "create"], "the change event crossed tabs");

    await Promise.all([one.db.syncNow(), two.db.syncNow()]);
    eq(most, 1, "never two pushes at once");
    const server = await serverState(main, "tok11");
    eq([server.records.size, server.cursor], [50, "c1.50"], "each record pushed once");
    await waitFor(() => one.db.status().pending === 0 && two.db.status().pending === 0, "both tabs to count the empty queue");
    assert(two.db.status().lastSyncAt !== null && one.db.status().lastSyncAt !== null, "both know of the sync");

    // A tab that dies mid-sync says nothing more; the others see its sync end anyway.
    let release;
    const stuck = new Promise((r) => (release = r));
    const dying = await openSynced(
      api,
      "tabs",
      quiet({ transport: { push: () => stuck, pull: () => stuck } }),
      app,
    );
    await dying.tasks.create({ title: "in flight", done: 0 });
    const dyingSync = dying.db.syncNow().catch((e) => e);
    await waitFor(() => two.db.status().syncing, "the other tab to show the sync");
    dying.db.close();
    release({ results: [] });
    eq((await dyingSync).name, "DatabaseClosedError", "the dead tab's sync ends");
    await waitFor(() => !two.db.status().syncing, "the other tab to see the sync gone");
  } finally {
    one.db.close();
    two.db.close();
    await api.deleteDatabase(app, undefined, DISCARD);
  }
}

export async function syncStartsShortlyAfterAWrite(api) {
  const { main } = api.servers;
  const a = await openSynced(api, "debounce", manual(main, "tok12", { debounceMs: 30 }));
  const b = await openSynced(api, "debounce-b", manual(main, "tok12", { syncOnOpen: true, intervalMs: 100 }));
  try {
    await a.tasks.create({ title: "soon", done: false });
    await waitFor(() => a.db.status().pending === 0, "the debounced sync");
    await waitFor(async () => (await b.tasks.count()) === 1, "the other client's periodic sync");
  } finally {
    await cleanup(api, a, b);
  }
}

export async function syncOptionsAreChecked(api) {
  const { main } = api.servers;
  const open = (sync) => api.open({ app: uniqueApp("opts"), version: 1, collections: COLLECTIONS, sync });
  await rejects(open({ url: main }), "InvalidOptionsError", "url without a token");
  await rejects(open({ url: "ftp://x", token: "t" }), "InvalidOptionsError", "not http");
  await rejects(open({ url: main, token: "t", transport: { push() {}, pull() {} } }), "InvalidOptionsError", "both");
  await rejects(open({ transport: { push() {} } }), "InvalidOptionsError", "no pull");
  await rejects(open({ url: main, token: "t", batchSize: 0 }), "InvalidOptionsError", "batch 0");
  await rejects(open({ url: main, token: "t", intervalMs: "soon" }), "InvalidOptionsError", "interval not a number");
  await rejects(open({ url: main, token: "t", backgroundSync: "yes" }), "InvalidOptionsError", "backgroundSync not a boolean");
  await rejects(open(42), "InvalidOptionsError", "not an object");
  await withDb(api, "nosync", async (db) => {
    await rejects(db.syncNow(), "InvalidOptionsError", "syncNow without sync");
  });
  // A server that is not running: a NetworkError, the queue kept, online false.
  const down = await openSynced(api, "down", manual("http://127.0.0.1:9", "t"));
  try {
    await down.tasks.create({ title: "kept", done: false });
    await rejects(down.db.syncNow(), "NetworkError", "no server");
    eq([down.db.status().online, down.db.status().pending], [false, 1], "offline, kept");
  } finally {
    await cleanup(api, down);
  }
}

/** Writes a value into the `_meta` store with the raw IndexedDB API. */
async function rawPutMeta(dbName, key, value) {
  const db = await rawOpen(dbName);
  await new Promise((resolve, reject) => {
    const tx = db.transaction("_meta", "readwrite");
    tx.objectStore("_meta").put(value, key);
    tx.oncomplete = resolve;
    tx.onerror = () => reject(tx.error);
  });
  db.close();
}

export async function nothingWedgesTheQueue(api) {
  const { main } = api.servers;
  // A change too large for any request becomes a dead letter; the rest still sync.
  const a = await openSynced(api, "wedge", manual(main, "tok13"));
  try {
    const huge = await a.tasks.create({ title: "z".repeat(1200 * 1024), done: 0 });
    await a.tasks.bulkCreate(Array.from({ length: 5 }, (_, i) => ({ title: `small ${i}`, done: 0 })));
    const summary = await a.db.syncNow();
    eq([summary.pushed, summary.rejected], [5, 1], "the others went through");
    const [dead] = await a.db.failed();
    eq([dead.recordId, dead.error.code], [huge.id, "payload_too_large"], "the huge one is a dead letter");

    // A cursor the server does not know: the pull starts over instead of failing for good.
    await rawPutMeta(a.db.name, "pullCursor", "not-a-cursor");
    const again = await a.db.syncNow();
    eq(again.pulled, 5, "pulled everything again");
    eq(await a.tasks.count(), 6, "nothing doubled locally");
  } finally {
    await cleanup(api, a);
  }

  // A pulled record that clashes with a local one on a unique index is a conflict, and the
  // pull goes on past it.
  const people = { people: { indexes: [{ keyPath: "email", unique: true }] } };
  const openPeople = (prefix) =>
    api.open({ app: uniqueApp(prefix), version: 1, collections: people, sync: manual(main, "tok14") });
  const p1 = await openPeople("unique-a");
  const p2 = await openPeople("unique-b");
  try {
    const first = await p1.collection("people").create({ email: "ada@example.com" });
    await p1.syncNow();
    await p2.collection("people").create({ email: "ada@example.com" });
    const summary = await p2.syncNow();
    eq(summary.conflicts, 1, "the clash is a conflict");
    const [conflict] = await p2.conflicts();
    eq([conflict.id, conflict.local, conflict.server.data.email], [first.id, null, "ada@example.com"], "kept with the server's record");
    await p1.collection("people").create({ email: "grace@example.com" });
    await p1.syncNow();
    await p2.syncNow();
    eq(await p2.collection("people").count(), 2, "later changes still arrive");
    const mine = (await p2.collection("people").query()).find((r) => r.email === "ada@example.com");

    // While the clash lasts, taking the server's version is refused with the index and the
    // record holding the value, and so is keeping "mine" (nothing of that record is here, so
    // it can only be the server's); the conflict stays as it was.
    for (const side of ["server", "local"]) {
      const e = await rejects(p2.resolveConflict("people", first.id, side), "RecordExistsError", `resolving a clash with "${side}"`);
      assert(e.message.includes('"email"') && e.message.includes(`"${mine.id}"`), e.message);
    }
    eq([(await p2.conflicts()).length, await p2.collection("people").get(first.id)], [1, undefined], "the conflict stays");

    // The clash goes away here: the next sync stores the server's version by itself (nothing
    // of it was queued here, so no person is needed), and logs it.
    await p2.collection("people").update(mine.id, { email: "ada.2@example.com" });
    const settled = await p2.syncNow();
    eq([settled.resolved, p2.status().conflicts], [1, 0], "settled once it can be stored");
    eq((await p2.collection("people").get(first.id)).email, "ada@example.com", "the server's version is in");
    const [logged] = await p2.syncLog();
    eq([logged.kind, logged.id, logged.kept], ["resolved", first.id, "server"], "logged");

    // The server's next version of the record lands as any other.
    await p1.collection("people").update(first.id, { name: "Ada" });
    await p1.syncNow();
    await p2.syncNow();
    eq([(await p2.collection("people").get(first.id)).name, p2.status().conflicts], ["Ada", 0], "stored, conflict gone");
    eq((await p2.conflicts()).length, 0, "no stale conflict row");

    // A page that moves a unique value between records in an order that clashes midway: B
    // gives up x, A takes x, B changes again, so the page holds A(x) before B.
    const people1 = p1.collection("people");
    const b = await people1.create({ email: "x@example.com" });
    await p1.syncNow();
    await p2.syncNow();
    // One sync per step, so that the server records three changes (queued together, they
    // would coalesce into two).
    await people1.update(b.id, { email: "y@example.com" });
    await p1.syncNow();
    const a = await people1.create({ email: "x@example.com" });
    await p1.syncNow();
    await people1.update(b.id, { email: "z@example.com" });
    await p1.syncNow();
    const moved = await p2.syncNow();
    eq(moved.conflicts, 0, "no false clash");
    eq(
      [(await p2.collection("people").get(a.id)).email, (await p2.collection("people").get(b.id)).email],
      ["x@example.com", "z@example.com"],
      "both stored",
    );
  } finally {
    for (const db of [p1, p2]) {
      db.close();
      await api.deleteDatabase(db.app, undefined, DISCARD);
    }
  }

  // A transport that never answers times out instead of holding the sync lock for good.
  const silent = await openSynced(
    api,
    "silent",
    quiet({ transport: { push: () => new Promise(() => {}), pull: () => new Promise(() => {}) }, requestTimeoutMs: 100 }),
  );
  try {
    await silent.tasks.create({ title: "waits", done: 0 });
    const e = await rejects(silent.db.syncNow(), "NetworkError", "a transport that never answers");
    assert(/no answer within 100 ms/.test(e.message), e.message);
  } finally {
    await cleanup(api, silent);
  }
  // An answer that is not the protocol is a SyncError naming what is wrong; nothing is applied.
  const garbled = await openSynced(
    api,
    "garbled",
    quiet({ transport: { push: async () => ({ results: [{ mutationId: "x", status: "applied" }] }), pull: async () => ({}) } }),
  );
  try {
    await garbled.tasks.create({ title: "kept", done: 0 });
    const e = await rejects(garbled.db.syncNow(), "SyncError", "a garbled push answer");
    assert(/not the protocol: results\[0\]\.mutationId should be a UUID/.test(e.message), e.message);
    eq([garbled.db.status().pending, (await garbled.db.outbox())[0].attempts], [1, 1], "kept, counted as sent");
    // Counted by the sent mark, strictly durable before the request left; nothing on the entry.
    const [stored] = await rawGetAll(garbled.db.name, "_outbox");
    eq([stored.attempts, await rawGet(garbled.db.name, "_meta", "sentMark")], [0, stored.seq], "the mark covers it");
    await garbled.tasks.update(stored.recordId, { title: "later" });
    eq((await garbled.db.outbox()).length, 2, "a later write gets an entry of its own");
  } finally {
    await cleanup(api, garbled);
  }
  const closed = await openSynced(api, "closed", manual(main, "tok13"));
  closed.db.close();
  await rejects(closed.db.syncNow(), "DatabaseClosedError", "syncNow after close");
  await api.deleteDatabase(closed.app, undefined, DISCARD);
}

/** Under an automatic strategy too, a pulled record that clashes on a unique index waits as a
 * conflict: settling it does not fail the sync (nor the syncs after it) while the clash lasts. */
export async function uniqueClashUnderAStrategyWaits(api) {
  const { main } = api.servers;
  const serverWins = { people: { conflicts: "server-wins", indexes: [{ keyPath: "email", unique: true }] } };
  const openWins = (prefix) =>
    api.open({ app: uniqueApp(prefix), version: 1, collections: serverWins, sync: manual(main, "tok22") });
  const w1 = await openWins("unique-wins-a");
  const w2 = await openWins("unique-wins-b");
  try {
    await w1.collection("people").create({ email: "lin@example.com" });
    await w1.syncNow();
    const here = await w2.collection("people").create({ email: "lin@example.com" });
    eq((await w2.syncNow()).conflicts, 1, "the clash is a conflict");
    eq([(await w2.syncNow()).resolved, w2.status().conflicts], [0, 1], "left as it is, no failure");
    await w2.collection("people").update(here.id, { email: "lin.2@example.com" });
    eq([(await w2.syncNow()).resolved, w2.status().conflicts], [1, 0], "settled once it can be stored");
  } finally {
    for (const db of [w1, w2]) {
      db.close();
      await api.deleteDatabase(db.app, undefined, DISCARD);
    }
  }
}

/** `db.metrics()` counts what this tab's syncs did, against the reference server. */
export async function metricsCountWhatSyncsDid(api) {
  const { main } = api.servers;
  const client = await openSynced(api, "metrics", manual(main, "tok23"));
  const refused = await openSynced(api, "metrics-refused", manual(main, "not-a-token"));
  try {
    const { db, tasks } = client;
    let m = await db.metrics();
    eq([m.syncs, m.pushes, m.lastSuccessAt, m.oldestPendingAgeMs, m.bytesSent], [0, 0, null, null, 0], "nothing yet");
    assert(m.wasmMemoryBytes >= 65536 && m.wasmMemoryBytes % 65536 === 0, `the wasm memory, in whole pages: ${m.wasmMemoryBytes}`);
    await tasks.bulkCreate([{ title: "a", done: 0 }, { title: "b", done: 0 }, { title: "c", done: 0 }]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    m = await db.metrics();
    assert(m.oldestPendingAgeMs >= 15, `the oldest queued change has waited: ${m.oldestPendingAgeMs}`);
    await db.syncNow();
    m = await db.metrics();
    eq([m.syncs, m.failedSyncs, m.pushes, m.changesSent, m.oldestPendingAgeMs], [1, 0, 1, 3, null], "one sync, one push of three");
    assert(m.pulls >= 1 && m.recordsReceived >= 3, `pulled the three back: ${JSON.stringify(m)}`);
    assert(m.bytesSent > 300 && m.bytesReceived > 300, `bytes both ways: ${m.bytesSent}, ${m.bytesReceived}`);
    assert(m.lastSyncMs >= 0 && m.lastPushMs >= 0 && m.lastPullMs >= 0 && m.sinceLastSuccessMs >= 0, JSON.stringify(m));
    eq(m.failures, {}, "no failure");

    // A refused token: a failed sync, by the name the app saw.
    await refused.tasks.create({ title: "never sent", done: 0 });
    const e = await rejects(refused.db.syncNow(), "SyncError", "a token the server does not know");
    m = await refused.db.metrics();
    eq([m.syncs, m.failedSyncs, m.failures.SyncError, m.lastSuccessAt], [0, 1, 1, null], `failed: ${e.message}`);
    assert(m.lastFailureAt > 0 && m.oldestPendingAgeMs >= 0, JSON.stringify(m));
  } finally {
    await cleanup(api, client, refused);
  }
}

/** `db.exportPending()`: every queued change with its record as it is here, oldest first. */
export async function exportPendingGivesEveryQueuedChange(api) {
  const app = uniqueApp("export");
  const db = await api.open({ app, version: 1, collections: COLLECTIONS });
  try {
    const tasks = db.collection("tasks");
    eq((await db.exportPending()).changes, [], "nothing queued");
    const a = await tasks.create({ title: "a", done: 0 });
    const b = await tasks.create({ title: "b", done: 0 });
    await tasks.update(a.id, { title: "a2" });
    await rawMarkSynced(db.name, "tasks");
    const c = await tasks.create({ title: "c", done: 1 });
    await tasks.delete(b.id);
    const backup = await db.exportPending();
    eq([backup.app, backup.tenant, typeof backup.exportedAt], [app, null, "number"], "whose export");
    const outbox = await db.outbox();
    eq(
      backup.changes.map((x) => [x.collection, x.id, x.op, x.mutationId, x.queuedAt, x.attempts, x.held]),
      outbox.map((e) => [e.collection, e.recordId, e.op, e.mutationId, e.queuedAt, e.attempts, e.hold ?? null]),
      "every entry, in queue order",
    );
    const byId = Object.fromEntries(backup.changes.map((x) => [x.id, x.record]));
    eq(userFields(byId[c.id]), userFields({ id: c.id, title: "c", done: 1 }), "a created record, as it is here");
    eq(byId[b.id], null, "a deleted one");
    // Plain data: it survives JSON as it is.
    eq(JSON.parse(JSON.stringify(backup)), backup, "plain JSON");
  } finally {
    db.close();
    await api.deleteDatabase(app, undefined, DISCARD);
  }
}

/** `db.storage()` and `db.persist()`: the origin's usage, quota and persistence. */
export async function storageUsageQuotaAndPersistence(api) {
  const app = uniqueApp("storage");
  const db = await api.open({ app, version: 1, collections: COLLECTIONS });
  try {
    const before = await db.storage();
    if (typeof navigator.storage?.estimate !== "function") {
      // An engine without the storage manager (WebKitGTK here): nothing is made up.
      eq(before, { usage: null, quota: null, persisted: null }, "nothing known");
      eq(await db.persist(), false, "cannot be asked");
      return;
    }
    assert(before.quota > 0 && before.usage >= 0 && typeof before.persisted === "boolean", JSON.stringify(before));
    // Random hex: Chromium compresses stored values, and 400 KB of one repeated letter came to
    // so little that another database's delete settling meanwhile hid it.
    const noise = () => Array.from(crypto.getRandomValues(new Uint8Array(4096)), (b) => b.toString(16).padStart(2, "0")).join("");
    await db.collection("tasks").bulkCreate(Array.from({ length: 200 }, () => ({ title: noise(), done: 0 })));
    // The estimate is the origin's, and lags: other databases of this page settle meanwhile
    // (deletes, eviction markers), so it is read until it shows the 1.6 MB written.
    await waitFor(async () => (await db.storage()).usage > before.usage, "the usage to grow");
    // Only Chromium answers without asking anyone; other engines may prompt a person.
    if (/Chrome\//.test(navigator.userAgent)) {
      const persisted = await db.persist();
      eq([typeof persisted, (await db.storage()).persisted], ["boolean", persisted], "asked, and reported");
    }
  } finally {
    db.close();
    await api.deleteDatabase(app, undefined, DISCARD);
  }
}

/** A damaged outbox row is quarantined (out of the queue, logged with its raw value and why)
 * instead of stopping every sync (a bad mutation id) or counting as pending for good (a missing
 * field); the rest of the queue syncs. */
export async function damagedOutboxRowsAreQuarantined(api) {
  const { main } = api.servers;
  const client = await openSynced(api, "quarantine", manual(main, "tok25"));
  try {
    const { db, tasks } = client;
    const good = await tasks.create({ title: "still syncs", done: 0 });
    const raw = await rawOpen(db.name);
    await new Promise((resolve, reject) => {
      const tx = raw.transaction("_outbox", "readwrite");
      const outbox = tx.objectStore("_outbox");
      outbox.add({ mutationId: "not-a-uuid", collection: "tasks", recordId: good.id, op: "update", baseVersion: null, queuedAt: 1, attempts: 0 });
      outbox.add({ mutationId: "0190a0f0-0000-7000-8000-000000000009", collection: "tasks", queuedAt: 2, attempts: 0 });
      tx.oncomplete = resolve;
      tx.onerror = () => reject(tx.error);
    });
    raw.close();
    const summary = await db.syncNow();
    eq([summary.pushed, db.status().pending, (await db.outbox()).length], [1, 0, 0], "the good change went, the damaged rows are out");
    const quarantined = (await db.syncLog()).filter((e) => e.kind === "quarantined");
    eq(quarantined.length, 2, "both logged");
    const byWhy = Object.fromEntries(quarantined.map((e) => [e.local.mutationId, e.message]));
    assert(/not a UUID/.test(byWhy["not-a-uuid"]), JSON.stringify(byWhy));
    assert(/no record id/.test(byWhy["0190a0f0-0000-7000-8000-000000000009"]), JSON.stringify(byWhy));
    const server = await serverState(main, "tok25");
    assert(server.records.has(`tasks/${good.id}`), "the good change reached the server");
  } finally {
    await cleanup(api, client);
  }
}

export async function deletesSyncAndConflictWithEdits(api) {
  const { main } = api.servers;
  const a = await openSynced(api, "del-a", manual(main, "tok15"));
  const b = await openSynced(api, "del-b", manual(main, "tok15"));
  try {
    const x = await a.tasks.create({ title: "x", done: 0 });
    const y = await a.tasks.create({ title: "y", done: 0 });
    await a.db.syncNow();
    await b.db.syncNow();
    eq(await b.tasks.count(), 2, "b has both");

    // A synced delete reaches the other client; the acknowledged tombstone is gone locally.
    await a.tasks.delete(x.id);
    eq((await a.tasks.get(x.id, { includeDeleted: true }))._sync.deleted, true, "a tombstone until acknowledged");
    await a.db.syncNow();
    eq(await a.tasks.get(x.id, { includeDeleted: true }), undefined, "purged once the server has it");
    await b.db.syncNow();
    eq(await b.tasks.get(x.id), undefined, "the delete reached b");
    const serverX = (await serverState(main, "tok15")).records.get(`tasks/${x.id}`);
    eq([serverX.deleted, serverX.version], [true, 2], "a tombstone on the server");

    // Created and deleted before any sync: nothing is sent.
    const z = await b.tasks.create({ title: "never sent", done: 0 });
    await b.tasks.delete(z.id);
    eq(b.db.status().pending, 0, "cancelled in the queue");
    await b.db.syncNow();
    assert(!(await serverState(main, "tok15")).records.has(`tasks/${z.id}`), "the server never heard of it");

    // Deleted on a, edited on b: b's push conflicts with the server's tombstone.
    await a.tasks.delete(y.id);
    await b.tasks.update(y.id, { title: "y edited on b" });
    await a.db.syncNow();
    await b.db.syncNow();
    const [conflict] = await b.db.conflicts();
    eq([conflict.id, conflict.server.deleted, conflict.local.title], [y.id, true, "y edited on b"], "the edit meets the delete");
    // Keeping the local version brings the record back on the server.
    await b.db.resolveConflict("tasks", y.id, "local");
    await b.db.syncNow();
    await a.db.syncNow();
    eq((await a.tasks.get(y.id)).title, "y edited on b", "recreated from b's version");

    // Edited on a, deleted on b; b takes the server's version: the record comes back on b.
    await a.tasks.update(y.id, { title: "y edited on a" });
    await b.tasks.delete(y.id);
    await a.db.syncNow();
    await b.db.syncNow();
    eq(b.db.status().conflicts, 1, "b's delete conflicts");
    await b.db.resolveConflict("tasks", y.id, "server");
    eq((await b.tasks.get(y.id)).title, "y edited on a", "the server's version restored on b");
    eq([b.db.status().pending, b.db.status().conflicts], [0, 0], "nothing left");
    const final = await serverState(main, "tok15");
    eq(final.live.map((r) => r.data.title), ["y edited on a"], "server and clients agree");
    eq((await a.tasks.query()).map((r) => r.title), ["y edited on a"], "a agrees");
  } finally {
    await cleanup(api, a, b);
  }
}

export async function tokenFunctionIsAskedForEveryRequest(api) {
  const { main } = api.servers;
  const asked = [];
  let token = "tok16";
  const client = await openSynced(
    api,
    "token-fn",
    manual(main, async () => {
      asked.push(token);
      if (token instanceof Error) throw token;
      return token;
    }),
  );
  try {
    await client.tasks.create({ title: "with a fresh token", done: 0 });
    await client.db.syncNow();
    assert(asked.length >= 2, `asked before the push and the pull (${asked.length} times)`);
    eq((await serverState(main, "tok16")).records.size, 1, "pushed as tenant 16");

    // The token is refreshed between syncs (same user, same tenant): the next requests use it.
    token = "tok16-rotated";
    await client.tasks.create({ title: "after the refresh", done: 0 });
    await client.db.syncNow();
    eq(asked.slice(-2), ["tok16-rotated", "tok16-rotated"], "the refreshed token was asked for");
    eq((await serverState(main, "tok16")).records.size, 2, "and accepted for the same tenant");

    token = new Error("signed out");
    await client.tasks.create({ title: "waits", done: 0 });
    const e = await rejects(client.db.syncNow(), "NetworkError", "a token function that throws");
    assert(/the token function failed: signed out/.test(e.message), e.message);
    eq(client.db.status().pending, 1, "kept queued");
    token = "";
    await rejects(client.db.syncNow(), "SyncError", "an empty token");
  } finally {
    await cleanup(api, client);
  }
  await rejects(
    api.open({ app: uniqueApp("token-bad"), version: 1, collections: COLLECTIONS, sync: { url: main, token: 42 } }),
    "InvalidOptionsError",
    "a token that is neither a string nor a function",
  );
}

/** Batches and pages whose ids lie far apart, among many other records and queued entries, take
 * the one-read-per-record paths of a push and a pull; ids next to each other take the range reads.
 * Either way the server and both clients end with the same records, each once. */
export async function scatteredIdsSyncLikeNeighbouringOnes(api) {
  const { main } = api.servers;
  const a = await openSynced(api, "scatter-a", manual(main, "tok24", { batchSize: 4 }));
  const b = await openSynced(api, "scatter-b", manual(main, "tok24", { pullLimit: 5 }));
  const id = (i) => `s${String(i).padStart(4, "0")}`;
  const records = async (c) => (await c.tasks.query()).map(userFields).sort(byId);
  try {
    // Queued so that every batch of 4 spans the whole range of ids: s0000, s0100, s0200, s0001, …
    const order = [];
    for (let i = 0; i < 100; i++) order.push(i, i + 100, i + 200);
    await a.tasks.bulkPut(order.map((i) => ({ id: id(i), title: `t${i}`, done: i % 2 })));
    eq((await a.db.syncNow()).pushed, 300, "all pushed");
    eq(a.db.status().pending, 0, "nothing left queued");
    assert((await a.tasks.query()).every((r) => r._sync.status === "synced"), "all synced");
    eq((await b.db.syncNow()).pulled, 300, "b pulled them all");

    // A local edit on b, so that its pulls look up queued entries too.
    await b.tasks.update(id(7), { title: "b's edit" });
    // Pages for b: far apart (s0000 … s0299 hold 300 records), one old record among new ones
    // next to it, and neighbours.
    for (const i of [0, 150, 299, 50, 250]) await a.tasks.update(id(i), { title: `far ${i}` });
    await a.tasks.update(id(10), { title: "near new ones" });
    for (const k of [0, 1, 2, 3]) await a.tasks.create({ id: `${id(10 + k)}a`, title: `new ${k}`, done: 0 });
    for (let i = 20; i < 25; i++) await a.tasks.update(id(i), { title: `neighbour ${i}` });
    await a.db.syncNow();
    await b.db.syncNow();
    await a.db.syncNow();
    eq(b.db.status().pending, 0, "b's edit pushed");
    const server = await serverState(main, "tok24");
    eq(server.records.size, 304, "the server has each record once");
    eq(await records(b), await records(a), "both clients hold the same records");
    eq((await b.tasks.get(id(299))).title, "far 299", "a far-apart change reached b");
    eq((await b.tasks.get(id(10))).title, "near new ones", "an old record among new ones reached b");
    eq((await a.tasks.get(id(7))).title, "b's edit", "b's edit reached a");
    for (const c of [a, b]) assert((await c.tasks.query()).every((r) => r._sync.status === "synced"), "all synced");
  } finally {
    await cleanup(api, a, b);
  }
}

// Browser scenarios of files in records: stored as Blobs once per content beside the records,
// uploaded to the reference server (scripts/with-servers.sh) before the records that refer to
// them, and read back as Blobs.


/** Random bytes (incompressible). */
function randomBytes(n) {
  const bytes = new Uint8Array(n);
  for (let at = 0; at < n; at += 65536) crypto.getRandomValues(bytes.subarray(at, Math.min(n, at + 65536)));
  return bytes;
}

async function sha256(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function bytesOf(blob) {
  return new Uint8Array(await blob.arrayBuffer());
}

function sameBytes(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** The blob `hash` as the server has it for `token`: its bytes, or the error code. (Never put
 * the bytes in a failure's message: megabytes of text stall the test runner.) */
async function serverBlob(url, token, hash) {
  const response = await fetch(`${url}/v1/blobs/${hash}`, { headers: { Authorization: `Bearer ${token}` } });
  if (!response.ok) return { code: (await response.json()).error.code };
  return { bytes: new Uint8Array(await response.arrayBuffer()) };
}

/** A record holding files: each Blob is hashed and stored once beside it, read back as a Blob,
 * uploaded in chunks before the record is pushed, and on the server byte for byte; a Blob in a
 * field the collection does not declare is refused with nothing stored. */
export async function filesGoUpBeforeTheirRecords(api) {
  const { main } = api.servers;
  const token = "tok34";
  const app = uniqueApp("files");
  const collections = { notes: { blobs: ["file", "pages"] } };
  const db = await api.open({ app, version: 1, collections, sync: manual(main, token) });
  try {
    const notes = db.collection("notes");
    // Three chunks of the default 1 MiB, the last one short.
    const big = randomBytes(2.5 * 1024 * 1024);
    const small = randomBytes(1000);
    const [bigHash, smallHash] = [await sha256(big), await sha256(small)];
    const note = await notes.create({
      title: "site visit",
      file: new File([big], "photo.jpg", { type: "image/jpeg" }),
      pages: [new Blob([small]), { cover: new Blob([small]) }],
    });
    // Stored as references; read back as Blobs with their bytes and type.
    const read = await notes.get(note.id);
    assert(read.file instanceof Blob, "a Blob comes back");
    eq([read.file.type, read.file.size], ["image/jpeg", big.length], "its type and size");
    assert(sameBytes(await bytesOf(read.file), big), "its bytes");
    assert(sameBytes(await bytesOf(read.pages[1].cover), small), "nested in the field too");
    eq((await db.outbox()).length, 1, "one queued change");
    // A live query (what the React hooks read) gives the Blobs too.
    const live = notes.live({});
    const rows = await new Promise((resolve) => {
      const stop = live.subscribe(() => {
        const now = live.getSnapshot();
        if (now && now.length) {
          stop();
          resolve(now);
        }
      });
    });
    assert(rows[0].file instanceof Blob && rows[0].file.size === big.length, "a live query's row holds the Blob");

    // Refused: a Blob in a field the collection does not name in `blobs`.
    await rejects(notes.create({ title: "x", other: new Blob([small]) }), "InvalidRecordError", "an undeclared blob field");
    eq((await notes.query()).length, 1, "nothing stored by the refused write");
    const seen = [];
    const store = db.statusStore();
    const stop = store.subscribe(() => {
      const upload = store.getSnapshot().upload;
      if (upload) seen.push(upload);
    });
    const summary = await db.syncNow();
    stop();
    const failed = (await db.failed()).map((f) => f.error.code);
    eq([summary.pushed, db.status().pending, db.status().upload], [1, 0, null], `pushed once its blobs are up (failed: ${failed})`);
    // Per file, the bytes the server holds only grow, up to the whole file; the small one first
    // (the chunks of the large one are more requests to see).
    const of = (hash) => seen.filter((u) => u.blob === hash);
    for (const [hash, size] of [[bigHash, big.length], [smallHash, small.length]]) {
      const done = of(hash).map((u) => u.done);
      assert(done.every((d, i) => i === 0 || d >= done[i - 1]), `progress of ${hash.slice(0, 8)} only grows: ${done}`);
      eq([done.at(-1), of(hash)[0].total], [size, size], "up to the whole file");
    }
    for (const [hash, bytes] of [[bigHash, big], [smallHash, small]]) {
      const got = await serverBlob(main, token, hash);
      assert(got.bytes && sameBytes(got.bytes, bytes), `the server has ${hash.slice(0, 8)} byte for byte: ${got.code}`);
    }
    // Another tenant cannot read it, even knowing its hash.
    // (Its bytes are cached by this browser for tok34: the answer varies by token.)
    eq((await serverBlob(main, "tok33", bigHash)).code, "blob_not_found", "other tenants see nothing");
    // The record went up with references, not bytes.
    const pulled = await fetch(`${main}/v1/pull?limit=10`, { headers: { Authorization: `Bearer ${token}` } });
    const record = (await pulled.json()).changes.find((c) => c.id === note.id);
    eq(record.data.file, { $blob: bigHash, size: big.length, type: "image/jpeg" }, "the reference on the server");
    eq(db.status().blobsUnsupported, false, "the server has blob endpoints");
  } finally {
    db.close();
    await api.deleteDatabase(app, undefined, DISCARD);
  }
}

/** Files pulled from the server: an eager collection downloads those up to its size during the
 * sync (progress in the status), a lazy one on `db.blob()`; beyond `blobCacheBytes` the least
 * recently used downloaded files are evicted and read as references again, never a file whose
 * upload is not done; offline, a file not here is a BlobNotDownloadedError. */
export async function filesComeDownAndMakeRoom(api) {
  const { main } = api.servers;
  const token = "tok35";
  const KB = 1024;
  const collections = (extra = {}) => ({
    notes: { blobs: ["file"], eagerDownloadBytes: 200 * KB, ...extra },
    docs: { blobs: ["file"], download: "lazy" },
  });
  const writerApp = uniqueApp("files-writer");
  const readerApp = uniqueApp("files-reader");
  const writer = await api.open({ app: writerApp, version: 1, collections: collections(), sync: manual(main, token) });
  let reader;
  let offline;
  try {
    const files = [100, 100, 300, 50].map((k) => randomBytes(k * KB));
    const hashes = await Promise.all(files.map(sha256));
    const notes = writer.collection("notes");
    const made = [];
    for (const bytes of files.slice(0, 3)) made.push(await notes.create({ file: new Blob([bytes]) }));
    const doc = await writer.collection("docs").create({ file: new Blob([files[3]], { type: "text/plain" }) });
    eq((await writer.syncNow()).pushed, 4, "the writer's records and files went up");

    // A second device: the notes up to 200 KB come down with the sync; the larger one and the
    // lazy collection's stay references.
    const sync = manual(main, token, { blobCacheBytes: 400 * KB });
    reader = await api.open({ app: readerApp, version: 1, collections: collections(), sync });
    const seen = [];
    const store = reader.statusStore();
    const stop = store.subscribe(() => {
      const download = store.getSnapshot().download;
      if (download) seen.push(download);
    });
    await reader.syncNow();
    stop();
    eq(reader.status().download, null, "no download once the sync is over");
    for (const i of [0, 1]) {
      assert(seen.some((d) => d.blob === hashes[i] && d.total === files[i].length), `progress of file ${i}: ${JSON.stringify(seen)}`);
    }
    const rnotes = reader.collection("notes");
    const read = async (i) => (await rnotes.get(made[i].id)).file;
    for (const i of [0, 1]) {
      const file = await read(i);
      assert(file instanceof Blob && sameBytes(await bytesOf(file), files[i]), `file ${i} is here, byte for byte`);
    }
    eq(await read(2), { $blob: hashes[2], size: 300 * KB, type: "" }, "above eagerDownloadBytes: a reference");
    const lazy = (await reader.collection("docs").get(doc.id)).file;
    eq(lazy, { $blob: hashes[3], size: 50 * KB, type: "text/plain" }, "a lazy collection's file: a reference");
    eq(reader.status().blobBytes, { stored: 200 * KB, toUpload: 0, toDownload: 0 }, "the bytes stored here");

    // The lazy one on its first read, then from here.
    const got = await reader.blob(lazy);
    assert(sameBytes(await bytesOf(got), files[3]) && got.type === "text/plain", "db.blob() downloads a reference");
    eq((await reader.collection("docs").get(doc.id)).file.size, 50 * KB, "stored: the record reads as a Blob now");
    assert((await reader.collection("docs").get(doc.id)).file instanceof Blob, "a Blob");
    assert((await reader.blob(got)) === got, "a Blob is given back as it is");

    // 300 KB more is over the 400 KB cap: the two least recently used go (the eager ones).
    const large = await reader.blob(await read(2));
    assert(sameBytes(await bytesOf(large), files[2]), "the large one downloaded");
    eq(await read(0), { $blob: hashes[0], size: 100 * KB, type: "" }, "evicted: a reference again");
    eq(await read(1), { $blob: hashes[1], size: 100 * KB, type: "" }, "evicted too");
    assert((await read(2)) instanceof Blob, "the one just read stays");
    await reader.syncNow();
    eq(reader.status().blobBytes.stored, 350 * KB, "the cap holds");

    // Both devices change the same note's file: the conflict shows both files, this device's as
    // a Blob, the other's as a reference db.blob() downloads.
    const [theirs, ours] = [randomBytes(10 * KB), randomBytes(12 * KB)];
    await notes.update(made[0].id, { file: new Blob([theirs]) });
    await writer.syncNow();
    await rnotes.update(made[0].id, { file: new Blob([ours]) });
    await reader.syncNow();
    const [conflict] = await reader.conflicts();
    assert(conflict && conflict.id === made[0].id, "a conflict on the note");
    assert(conflict.local.file instanceof Blob && sameBytes(await bytesOf(conflict.local.file), ours), "this device's file");
    eq(conflict.server.data.file, { $blob: await sha256(theirs), size: 10 * KB, type: "" }, "the other's, as a reference");
    assert(sameBytes(await bytesOf(await reader.blob(conflict.server.data.file)), theirs), "and its bytes, downloaded");

    // Another handle on the same database, whose server cannot be reached: a file not here
    // cannot be read, and says so; one written here is kept whatever the cap.
    offline = await api.open({
      app: readerApp,
      version: 1,
      collections: collections(),
      sync: manual("http://127.0.0.1:9", token, { blobCacheBytes: 400 * KB, requestTimeoutMs: 2000 }),
    });
    await rejects(offline.blob(await read(1)), "BlobNotDownloadedError", "offline, an evicted file");
    await rejects(offline.blob({ $blob: "nope" }), "InvalidRecordError", "not a reference");
    const mine = randomBytes(500 * KB);
    const note = await offline.collection("notes").create({ file: new Blob([mine]) });
    const kept = (await offline.collection("notes").get(note.id)).file;
    assert(kept instanceof Blob && sameBytes(await bytesOf(kept), mine), "a file not uploaded is never evicted");
    eq(await read(2), { $blob: hashes[2], size: 300 * KB, type: "" }, "downloaded files made room for it");
  } finally {
    for (const db of [writer, reader, offline]) db?.close();
    await api.deleteDatabase(writerApp, undefined, DISCARD);
    await api.deleteDatabase(readerApp, undefined, DISCARD);
  }
}
