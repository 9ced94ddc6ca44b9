// Small assertion helpers for the browser scenarios: each failure throws with what was expected.

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

let counter = 0;
/** A database name no other test uses. */
export function uniqueApp(prefix) {
  counter += 1;
  return `${prefix}-${Date.now()}-${counter}-${Math.random().toString(36).slice(2)}`;
}

export const TASKS = { tasks: { indexes: ["done", "priority", { keyPath: ["done", "priority"] }] } };

/** Opens a fresh database, runs `body(db)`, then closes and deletes it. */
export async function withDb(api, prefix, body, collections = TASKS) {
  const app = uniqueApp(prefix);
  const db = await api.open({ app, version: 1, collections });
  try {
    await body(db, app);
  } finally {
    db.close();
    await api.deleteDatabase(app);
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
