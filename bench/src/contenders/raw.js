// Hand-written IndexedDB: the same stores, records and outbox entries as the Dexie contender,
// with nothing between the code and the browser's API. Two of them:
//
// - `raw` does what ferrysync's design does: an index on the outbox (`byRecord`, which
//   coalescing and pushes look entries up by) and transactions left to commit by themselves. It
//   shows the library's overhead on its own design.
// - `raw-min` does the least work that stores a record and its queue entry: no index on the
//   outbox, and `commit()` called as soon as the last request is issued. It shows what the
//   design costs: the floor.
import { COLLECTION, OUTBOX, INDEXES, newMeta, outboxEntry } from "../records.js";

/** A request as a promise of its result. */
export function requestDone(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/** Settles when `tx` commits; rejects with its error when it aborts. */
export function transactionDone(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = () => reject(tx.error || new DOMException("The transaction was aborted.", "AbortError"));
  });
}

function openDatabase(name, outboxIndex) {
  const request = indexedDB.open(name, 1);
  request.onupgradeneeded = () => {
    const db = request.result;
    const tasks = db.createObjectStore(COLLECTION, { keyPath: "id" });
    for (const field of INDEXES) tasks.createIndex(field, field);
    const outbox = db.createObjectStore(OUTBOX, { keyPath: "seq", autoIncrement: true });
    if (outboxIndex) outbox.createIndex("byRecord", ["collection", "recordId"]);
  };
  return requestDone(request);
}

/** A raw contender: `outboxIndex`, whether the outbox has its index; `commit`, whether each
 * write transaction is committed explicitly once its last request is issued. */
function rawContender({ name, outboxIndex, commit }) {
  const end = commit ? (tx) => tx.commit() : () => {};
  return {
    name,
    updatesCoalesce: false,

    async open(name) {
      const db = await openDatabase(name, outboxIndex);
      const writeTx = () => db.transaction([COLLECTION, OUTBOX], "readwrite");
      const readStore = () => db.transaction(COLLECTION, "readonly").objectStore(COLLECTION);
      return {
        async bulkCreate(input) {
          const tx = writeTx();
          const done = transactionDone(tx);
          const tasks = tx.objectStore(COLLECTION);
          const outbox = tx.objectStore(OUTBOX);
          const now = Date.now();
          const ids = new Array(input.length);
          for (let i = 0; i < input.length; i++) {
            const id = crypto.randomUUID();
            ids[i] = id;
            tasks.put({ ...input[i], id, _sync: newMeta(now) });
            outbox.add(outboxEntry(id, "create", now));
          }
          end(tx);
          await done;
          return ids;
        },
        async create(data) {
          const tx = writeTx();
          const done = transactionDone(tx);
          const now = Date.now();
          const id = crypto.randomUUID();
          tx.objectStore(COLLECTION).put({ ...data, id, _sync: newMeta(now) });
          tx.objectStore(OUTBOX).add(outboxEntry(id, "create", now));
          end(tx);
          await done;
          return id;
        },
        async update(id, patch) {
          const tx = writeTx();
          const done = transactionDone(tx);
          const tasks = tx.objectStore(COLLECTION);
          const now = Date.now();
          const read = tasks.get(id);
          read.onsuccess = () => {
            const record = read.result;
            if (record === undefined) {
              tx.abort();
              return;
            }
            Object.assign(record, patch);
            const meta = record._sync;
            record._sync = { ...meta, version: meta.version + 1, status: "pending", updatedAt: now };
            tasks.put(record);
            tx.objectStore(OUTBOX).add(outboxEntry(id, "update", now));
            end(tx);
          };
          await done;
        },
        get: (id) => requestDone(readStore().get(id)),
        queryRange: (lower) => requestDone(readStore().index("createdAt").getAll(IDBKeyRange.lowerBound(lower))),
        queryEquals: (bucket) => requestDone(readStore().index("bucket").getAll(bucket)),
        count: () => requestDone(readStore().count()),
        outboxCount: () => requestDone(db.transaction(OUTBOX, "readonly").objectStore(OUTBOX).count()),
        close: () => db.close(),
      };
    },

    destroy: (name) => requestDone(indexedDB.deleteDatabase(name)),
  };
}

export default rawContender({ name: "raw", outboxIndex: true, commit: false });
export const rawMin = rawContender({ name: "raw-min", outboxIndex: false, commit: true });
