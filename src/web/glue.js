// The JS side of the wasm edge: IndexedDB's event callbacks as promises; the small objects
// stored beside user data (metadata, outbox entries, conflicts), built in one call instead of one
// call per field; Web Locks, the network events and calls into JS transports. No decisions: each
// helper does one thing the Rust edge asks for.

/** Settles with the request's result, or rejects with its DOMException. The error is left to
 * bubble, so a failed write aborts its transaction. */
export function requestDone(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/** Settles when the transaction commits; rejects with its DOMException (or an AbortError) when it
 * aborts. Attach before returning to the event loop. */
export function transactionDone(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = () =>
      reject(tx.error || new DOMException("The transaction was aborted.", "AbortError"));
  });
}

/** Asks `tx` to commit once its requests are done, without waiting for it to go idle; a
 * transaction that committed already (not active any more) is left as it is. */
export function commitNow(tx) {
  try {
    tx.commit();
  } catch {
    // InvalidStateError: it is committing or finished.
  }
}

/** A copy of the caller's fields with the id and the `_sync` metadata set. */
export function stampRecord(data, id, meta) {
  const record = Object.assign({}, data);
  record.id = id;
  record._sync = meta;
  return record;
}

export function makeMeta(version, serverVersion, status, updatedAt, deleted, tombstoneId) {
  const meta = { version, serverVersion, status, updatedAt, deleted };
  if (tombstoneId !== undefined) meta.tombstone = tombstoneId;
  return meta;
}

/** An outbox entry; `base` (the server's data the change started from) only when known. */
export function makeOutboxEntry(mutationId, collection, recordId, op, baseVersion, queuedAt, base) {
  const entry = { mutationId, collection, recordId, op, baseVersion, queuedAt, attempts: 0 };
  if (base !== undefined) entry.base = base;
  return entry;
}

/** Whether a stored value is a tombstone (undefined is not). */
export function isTombstone(record) {
  return record !== undefined && !!(record._sync && record._sync.deleted);
}

/** A live query's new rows: each of `sources` is a row of `old` (>= 0), or, as -(k + 1), the
 * record `fresh[k]`. */
export function assembleRows(old, fresh, sources) {
  const rows = new Array(sources.length);
  for (let i = 0; i < sources.length; i++) {
    const s = sources[i];
    rows[i] = s >= 0 ? old[s] : fresh[-s - 1];
  }
  return rows;
}

/** Drops tombstones from a getAll() result, in place order. */
export function withoutTombstones(records) {
  return records.filter((r) => !isTombstone(r));
}

/** The class of every error ferrysync throws or rejects with: an Error whose `name` callers
 * switch on. The package's entry exports it, so `error instanceof FerrysyncError` holds for
 * errors made here and in the entry's own JS. */
export class FerrysyncError extends Error {
  constructor(name, message) {
    super(message);
    this.name = name;
  }
}

/** A FerrysyncError, with the DOMException that caused it, if any. */
export function makeError(name, message, domName, domMessage) {
  const error = new FerrysyncError(name, message);
  if (domName !== undefined) {
    error.domName = domName;
    error.domMessage = domMessage;
  }
  return error;
}

/** Calls each listener; one that throws is reported and does not stop the others. */
export function notifyAll(listeners, event) {
  for (const listener of listeners) {
    try {
      listener(event);
    } catch (error) {
      console.error("ferrysync: a change listener threw", error);
    }
  }
}

/** The user's fields of a stored record with a patch merged over them (shallow). */
export function mergeFields(record, patch) {
  const { _sync, ...fields } = record;
  return Object.assign(fields, patch);
}

/** Sets the op of a stored outbox entry (coalescing rewrites it in place). */
export function withOp(entry, op) {
  entry.op = op;
  return entry;
}

/** Whether this context has Web Locks (secure contexts only; windows and workers). */
export function hasLocks() {
  return !!(globalThis.navigator && navigator.locks);
}

/** Runs `callback` (which returns a promise) holding the Web Lock `name`, so that only one
 * connection in this browser profile runs it at a time. Without Web Locks it just runs. */
export function withLock(name, callback) {
  if (hasLocks()) return navigator.locks.request(name, callback);
  return callback();
}

/** Asks for the Web Lock `name` and calls `granted()` once it is held; the lock is kept until the
 * returned function is called. Called before the grant, that function gives the lock back as
 * soon as it comes, and `granted` is not called. Without Web Locks, `granted` runs on the next
 * microtask. */
export function takeLock(name, granted) {
  let release;
  let released = false;
  const held = new Promise((resolve) => (release = resolve));
  const grant = () => {
    if (!released) granted();
    return held;
  };
  if (hasLocks()) navigator.locks.request(name, grant);
  else Promise.resolve().then(grant);
  return () => {
    released = true;
    release();
  };
}

/** Calls `free()` once the Web Lock `name` is free (taking it and giving it back at once).
 * Returns false, and never calls it, without Web Locks. */
export function whenLockFree(name, free) {
  if (!hasLocks()) return false;
  navigator.locks.request(name, () => free());
  return true;
}

/** What the platform believes of the network: `navigator.onLine`, true where it is unknown. */
export function isOnline() {
  return !(globalThis.navigator && navigator.onLine === false);
}

/** Listens for `online` and `offline` on the global scope (a window or a worker); returns the
 * function that stops listening. Chromium fires neither event in workers, though
 * `navigator.onLine` changes there: outside a window it is also read once a second, and a
 * change counts as the event. */
export function listenNetwork(online, offline) {
  if (typeof globalThis.addEventListener !== "function") return () => {};
  let last = isOnline();
  const on = () => {
    last = true;
    online();
  };
  const off = () => {
    last = false;
    offline();
  };
  globalThis.addEventListener("online", on);
  globalThis.addEventListener("offline", off);
  const poll =
    typeof window === "undefined" && globalThis.navigator && typeof navigator.onLine === "boolean"
      ? setInterval(() => {
          if (navigator.onLine !== last) (navigator.onLine ? on : off)();
        }, 1000)
      : undefined;
  return () => {
    globalThis.removeEventListener("online", on);
    globalThis.removeEventListener("offline", off);
    if (poll !== undefined) clearInterval(poll);
  };
}

/** Registers a Background Sync of `tag` (`registration.sync.register`), so that the browser
 * fires `sync` at this origin's service worker once it is online, even after the page has
 * closed. In a service worker, its own registration; elsewhere, the ready one (which waits for
 * a registration, if none is there yet). Where there is no service worker or no SyncManager
 * (Firefox, Safari, an insecure origin), or the browser refuses, nothing happens. */
export function askBackgroundSync(tag) {
  if (typeof SyncManager !== "function") return;
  const inWorker = typeof ServiceWorkerGlobalScope === "function" && globalThis instanceof ServiceWorkerGlobalScope;
  const ready = inWorker ? Promise.resolve(globalThis.registration) : globalThis.navigator?.serviceWorker?.ready;
  ready?.then((registration) => registration.sync?.register(tag)).catch(() => {});
}

/** Registers a Periodic Background Sync of `tag` with the page's service worker, every
 * `minInterval` ms at least, where the browser grants `periodic-background-sync` (Chromium, for
 * an installed app; the browser may space the events further). Nothing elsewhere, and never
 * from a worker: the page that opened with `backgroundSync` asks. */
export function askPeriodicSync(tag, minInterval) {
  const page = globalThis.navigator;
  if (typeof globalThis.PeriodicSyncManager !== "function" || !page?.serviceWorker || !page.permissions) return;
  page.permissions
    .query({ name: "periodic-background-sync" })
    .then((permission) => (permission.state === "granted" ? page.serviceWorker.ready : null))
    .then((registration) => registration?.periodicSync.register(tag, { minInterval }))
    .catch(() => {});
}

// ---- sync ----

/** A readwrite transaction over `names` that reports its commit only once it is on disk
 * (web-sys has the options dictionary only behind its unstable-API flag). */
export function strictTransaction(db, names) {
  return db.transaction(names, "readwrite", { durability: "strict" });
}

/** One queued change as `exportPending()` gives it: the entry's own fields, and the record as
 * it is here (its id and fields, no `_sync`; null when it is deleted here or gone). */
export function exportEntry(entry, record) {
  const change = {
    collection: entry.collection,
    id: entry.recordId,
    op: entry.op,
    mutationId: entry.mutationId,
    baseVersion: entry.baseVersion ?? null,
    queuedAt: entry.queuedAt,
    attempts: entry.attempts,
    held: entry.hold ?? null,
  };
  if (entry.error !== undefined) change.error = entry.error;
  const { _sync, ...fields } = record ?? {};
  change.record = record === undefined || (_sync && _sync.deleted) ? null : fields;
  return change;
}

/** The user's fields of a stored record, as pushed to the server (no id, no `_sync`). */
export function wireData(record) {
  const { id, _sync, ...fields } = record;
  return fields;
}

/** Sets a stored record's `_sync` (the record is this transaction's own copy). */
export function withMeta(record, meta) {
  record._sync = meta;
  return record;
}

/** Counts the sends of an outbox entry on the entry itself (a send again, or the first send under
 * a new mutation id): it was sent `attempts` times under its id. */
export function countSends(entry, attempts) {
  entry.attempts = attempts;
  delete entry.neverSent;
  return entry;
}

/** Flags an outbox entry never sent under its mutation id, though the sent mark covers its key. */
export function markNeverSent(entry) {
  entry.neverSent = true;
  return entry;
}

/** The entry now starts from what the server acknowledged: its version and its data (undefined
 * for a delete, which leaves no data to start from). */
export function withBase(entry, version, base) {
  entry.baseVersion = version;
  if (base === undefined) delete entry.base;
  else entry.base = base;
  return entry;
}

/** Holds an entry back from pushing: "conflict" or "failed" (with the server's error). */
export function holdEntry(entry, hold, error) {
  entry.hold = hold;
  if (error !== undefined) entry.error = error;
  return entry;
}

/** An entry a force push marks: forced, held by nothing, under `mutationId` (a new one if it may
 * have been sent), with what it holds about its sends under that id. */
export function forceEntry(entry, mutationId, attempts, neverSent) {
  delete entry.hold;
  entry.force = true;
  entry.mutationId = mutationId;
  entry.attempts = attempts;
  if (neverSent) entry.neverSent = true;
  else delete entry.neverSent;
  return entry;
}

/** How many outbox entries the database `name` holds (0 without an outbox). Opens it at the
 * version it has, without upgrading it, and closes it again. */
export function countQueued(name) {
  return new Promise((resolve, reject) => {
    const request = globalThis.indexedDB.open(name);
    request.onerror = () => reject(request.error);
    request.onsuccess = () => {
      const db = request.result;
      if (!db.objectStoreNames.contains("_outbox")) {
        db.close();
        resolve(0);
        return;
      }
      const count = db.transaction("_outbox", "readonly").objectStore("_outbox").count();
      count.onsuccess = () => {
        db.close();
        resolve(count.result);
      };
      count.onerror = () => {
        db.close();
        reject(count.error);
      };
    };
  });
}

/** A dead letter sent again as a new mutation. */
export function retryEntry(entry, mutationId) {
  delete entry.hold;
  delete entry.error;
  entry.mutationId = mutationId;
  entry.attempts = 0;
  entry.neverSent = true;
  return entry;
}

/** A mutation as pushed; `data` is left out of a delete, `force` unless it is set. */
export function makeMutation(mutationId, collection, id, op, data, baseVersion, force, writtenAt, space) {
  const mutation = { mutationId, collection, id, op, baseVersion };
  if (data !== undefined) mutation.data = data;
  if (force) mutation.force = true;
  if (writtenAt !== null && writtenAt !== undefined) mutation.writtenAt = writtenAt;
  if (space !== undefined) mutation.space = space;
  return mutation;
}

export function makeServerRecord(collection, id, version, deleted, data, updatedAt) {
  const record = { collection, id, version, deleted, data };
  if (updatedAt !== undefined) record.updatedAt = updatedAt;
  return record;
}

export function makeRejection(code, message) {
  return { code, message };
}

export function makeConflict(collection, id, local, server, base, detectedAt) {
  return { collection, id, local, server, base: base === undefined ? null : base, detectedAt };
}

/** A sync log entry; fields that do not apply are left out. */
export function makeLogEntry(at, kind, collection, id, by, kept, local, server, code, message) {
  const entry = { at, kind, collection, id };
  if (by !== undefined) entry.by = by;
  if (kept !== undefined) entry.kept = kept;
  if (local !== undefined) entry.local = local;
  if (server !== undefined) entry.server = server;
  if (code !== undefined) entry.code = code;
  if (message !== undefined) entry.message = message;
  return entry;
}

/** Whether a value is a plain object (its fields merge one by one): not an array, a date, a
 * blob, a map or any other class's instance. */
export function isPlainObject(value) {
  if (value === null || typeof value !== "object") return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Deep equality of stored values: plain objects and arrays by content, dates by time, anything
 * else by Object.is. */
export function sameValue(a, b) {
  if (Object.is(a, b)) return true;
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((v, i) => sameValue(v, b[i]));
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && sameValue(a[k], b[k]));
  }
  return false;
}

/** `[key, value]` pairs of a plain object's own enumerable fields, or undefined for any other value. */
export function fieldsOf(value) {
  return isPlainObject(value) ? Object.entries(value) : undefined;
}

export function makeFieldDiff(path, base, local, server, change) {
  return { path, base, local, server, change };
}

/** `resolver(conflict)` as a promise (sync or async; a throw is a rejection), rejected when it
 * has not answered within `timeoutMs`. */
export function callResolver(resolver, conflict, timeoutMs) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    Promise.resolve()
      .then(() => resolver(conflict))
      .then(
        (answer) => {
          clearTimeout(timer);
          resolve(answer);
        },
        (error) => {
          clearTimeout(timer);
          reject(error);
        },
      );
  });
}

/** A plain object from `[key, value]` pairs. */
export function fromFields(pairs) {
  return Object.fromEntries(pairs);
}

/** `transport[method](...args)` as a promise; a synchronous throw becomes a rejection, and so
 * does no answer within `timeoutMs`. */
export function callTransport(transport, method, args, timeoutMs) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    new Promise((inner) => inner(method.apply(transport, args))).then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/**
 * Settles an open (or delete) request: `{ db }` on success (the result), `{ error }` on failure,
 * or `{ blocked }` when a `blocked` event came and `timeoutMs` passed before any upgrade started.
 * `blocked` is a promise of the request's end: the request carries on, `upgrade` may still run
 * until then, a late connection is closed at once and a late delete still happens. Once an
 * upgrade runs, nothing blocks it any more: it is never cut short. `upgrade(db, tx, oldVersion)`
 * runs in the versionchange transaction.
 */
export function settleOpen(request, upgrade, timeoutMs) {
  return new Promise((resolve) => {
    let upgrading = false;
    let timer;
    let late;
    const end = () => {
      clearTimeout(timer);
      if (late) late();
    };
    request.onupgradeneeded = (event) => {
      upgrading = true;
      upgrade(request.result, request.transaction, event.oldVersion);
    };
    request.onblocked = () => {
      if (timer !== undefined) return;
      timer = setTimeout(() => {
        if (!upgrading) resolve({ blocked: new Promise((done) => (late = done)) });
      }, timeoutMs);
    };
    request.onsuccess = () => {
      end();
      if (!late) resolve({ db: request.result });
      else if (request.result) request.result.close();
    };
    request.onerror = () => {
      end();
      resolve({ error: request.error });
    };
  });
}

/** Creates an object store in an upgrade; `keyPath` undefined: out-of-line keys. */
export function createStore(db, name, keyPath, autoIncrement) {
  db.createObjectStore(name, keyPath === undefined ? { autoIncrement } : { keyPath, autoIncrement });
}

/** Creates an index in an upgrade. */
export function createIndex(store, name, keyPath, unique, multiEntry) {
  store.createIndex(name, keyPath, { unique, multiEntry });
}

/**
 * One HTTP request of the sync: resolves to `{ status, retryAfter, contentLength, json }`
 * whatever the status (the two headers as strings or null; `json` is undefined when the body is
 * not JSON), or rejects with the text of the network error ("TypeError: Failed to fetch",
 * "AbortError: …"). Aborted after `timeoutMs`, body included, so a connection that never answers
 * cannot stall the sync. The body is JSON text unless `contentType` says otherwise (a blob's
 * chunk is sent as a Blob, `application/octet-stream`).
 */
export function fetchJson(url, method, authorization, body, timeoutMs, contentType) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const headers = {};
  if (authorization !== undefined) headers.Authorization = authorization;
  if (body !== undefined) headers["Content-Type"] = contentType || "application/json";
  return fetch(url, { method, headers, body, signal: controller.signal })
    .then(
      (response) => {
        const answer = (json) => ({
          status: response.status,
          retryAfter: response.headers.get("Retry-After"),
          contentLength: response.headers.get("Content-Length"),
          json,
        });
        return response.json().then(answer, () => answer(undefined));
      },
      (error) => Promise.reject(String(error)),
    )
    .finally(() => clearTimeout(timer));
}

/** `GET url` for bytes `start .. end` (a `Range` request): `{ status, retryAfter, contentLength,
 * bytes }` with the ArrayBuffer of those bytes on a 2xx (a server that ignores the range and
 * answers the whole file with a 200 is cut to them), or `json` (the error body) otherwise;
 * rejects with the network error's text. */
export function fetchRange(url, authorization, start, end, timeoutMs) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const headers = { Range: `bytes=${start}-${end - 1}` };
  if (authorization !== undefined) headers.Authorization = authorization;
  return fetch(url, { headers, signal: controller.signal })
    .then(
      (response) => {
        const answer = (part) => ({
          status: response.status,
          retryAfter: response.headers.get("Retry-After"),
          contentLength: response.headers.get("Content-Length"),
          ...part,
        });
        if (!response.ok) return response.json().then((json) => answer({ json }), () => answer({}));
        return response.arrayBuffer().then((bytes) =>
          answer({ bytes: response.status === 200 && start > 0 ? bytes.slice(start, end) : bytes }),
        );
      },
      (error) => Promise.reject(String(error)),
    )
    .finally(() => clearTimeout(timer));
}

/** Settles with a request's result; a failed request rejects (and aborts its transaction). */
function settled(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/** The smallest and the largest of `ids` (strings), in IndexedDB's key order (JS's). */
function span(ids) {
  let lo = ids[0];
  let hi = ids[0];
  for (const id of ids) {
    if (id < lo) lo = id;
    if (id > hi) hi = id;
  }
  return [lo, hi];
}

/** The records of `ids` (strings) in `store`, in the order of `ids`, undefined where there is
 * none. Ids made in order (a bulk create's UUID v7s, a page the server lists in change order) lie
 * next to each other, so the keys in the range they span are read first, keys only: when that
 * range holds few records besides the wanted ones, the records come in one getAll over it; when
 * it holds none of them, nothing more is read; otherwise each wanted record is read on its own.
 * Every request is issued inside a request callback, so the transaction stays active. */
export function getMany(store, ids) {
  if (ids.length === 0) return Promise.resolve([]);
  const [lo, hi] = span(ids);
  const range = IDBKeyRange.bound(lo, hi);
  const limit = ids.length * 2;
  const each = (wanted) => Promise.all(wanted.map((id) => settled(store.get(id))));
  return settled(store.getAllKeys(range, limit)).then((keys) => {
    if (keys.length >= limit) return each(ids);
    const present = new Set(keys);
    const wanted = ids.filter((id) => present.has(id));
    if (wanted.length === 0) return ids.map(() => undefined);
    if (keys.length > wanted.length * 2) {
      return each(wanted).then((found) => {
        const byId = new Map(wanted.map((id, i) => [id, found[i]]));
        return ids.map((id) => byId.get(id));
      });
    }
    return settled(store.getAll(range)).then((records) => {
      const byId = new Map(records.map((r) => [r.id, r]));
      return ids.map((id) => byId.get(id));
    });
  });
}

/** The outbox entries of each record of `ids` in `collection`, through the byRecord `index`: one
 * array per id, in queue order. One getAll over the range the ids span when it holds few other
 * entries, else one per record. */
export function entriesOfMany(index, collection, ids) {
  if (ids.length === 0) return Promise.resolve([]);
  const [lo, hi] = span(ids);
  const limit = ids.length * 4;
  return settled(index.getAll(IDBKeyRange.bound([collection, lo], [collection, hi]), limit)).then((entries) => {
    if (entries.length >= limit) return Promise.all(ids.map((id) => settled(index.getAll([collection, id]))));
    const byId = new Map();
    for (const e of entries) {
      const list = byId.get(e.recordId);
      if (list) list.push(e);
      else byId.set(e.recordId, [e]);
    }
    return ids.map((id) => byId.get(id) || []);
  });
}

/** Puts pulled records (`values[i]` into `stores[i]`). A unique-index clash with another local
 * record is caught, so that it does not abort the page. The clashing puts are tried once more
 * after the rest of the page is in: a page may move a value from one record to another in either
 * order. Resolves to one boolean per record: true when stored, false on a clash that remains
 * (kept as a conflict). */
export function putEachUnlessClash(stores, values) {
  const stored = new Array(values.length).fill(true);
  const pass = (indexes) =>
    new Promise((resolve, reject) => {
      const clashed = [];
      let left = indexes.length;
      if (left === 0) resolve(clashed);
      for (const i of indexes) {
        const request = stores[i].put(values[i]);
        request.onsuccess = () => --left === 0 && resolve(clashed);
        request.onerror = (event) => {
          if (request.error && request.error.name === "ConstraintError") {
            event.preventDefault();
            event.stopPropagation();
            clashed.push(i);
            if (--left === 0) resolve(clashed);
          } else {
            reject(request.error);
          }
        };
      }
    });
  return pass(values.map((_, i) => i))
    .then((clashed) => pass(clashed.sort((a, b) => a - b)))
    .then((still) => {
      for (const i of still) stored[i] = false;
      return stored;
    });
}

/** The keys a record has in an index of `keyPath` (a path or an array of paths), following
 * IndexedDB's rules: none when a value is missing or is not a valid key; one per distinct
 * element of an array for a multiEntry index. */
function indexKeys(record, keyPath, multiEntry) {
  const at = (path) => path.split(".").reduce((value, part) => (value == null ? undefined : value[part]), record);
  const valid = (key) => {
    try {
      indexedDB.cmp(key, key);
      return true;
    } catch {
      return false;
    }
  };
  if (Array.isArray(keyPath)) {
    const key = keyPath.map(at);
    return valid(key) ? [key] : [];
  }
  const value = at(keyPath);
  if (multiEntry && Array.isArray(value)) {
    const keys = [];
    for (const key of value) if (valid(key) && !keys.some((k) => indexedDB.cmp(k, key) === 0)) keys.push(key);
    return keys;
  }
  return valid(value) ? [value] : [];
}

/** After a write failed with a ConstraintError, finds which unique index of `store` (in a new
 * read-only transaction) the `records` it put clash on, and with which record: browsers differ
 * in whether their message names it. `rewritten` holds every id the failed write changed, whose
 * stored values do not count. Resolves to `{ index, id }` (`id` of the other record) or null. */
export function findUniqueClash(store, records, rewritten) {
  const changed = new Set(rewritten);
  // A record put twice in one write is stored as its last version.
  const last = new Map(records.map((r) => [r.id, r]));
  const lookups = [];
  for (const index of Array.from(store.indexNames).map((name) => store.index(name))) {
    if (!index.unique) continue;
    const seen = [];
    for (const [id, record] of last) {
      for (const key of indexKeys(record, index.keyPath, index.multiEntry)) {
        const other = seen.find((s) => indexedDB.cmp(s.key, key) === 0);
        if (other) return Promise.resolve({ index: index.name, id: other.id });
        seen.push({ key, id });
      }
    }
    // Every lookup is issued at once, so none waits on a promise while the transaction is open.
    for (const { key, id } of seen) {
      const request = index.getKey(key);
      lookups.push(
        new Promise((resolve, reject) => {
          request.onsuccess = () => {
            const holder = request.result;
            resolve(holder !== undefined && holder !== id && !changed.has(holder) ? { index: index.name, id: holder } : null);
          };
          request.onerror = () => reject(request.error);
        }),
      );
    }
  }
  return Promise.all(lookups).then((found) => found.find((f) => f !== null) ?? null);
}

/** The origin's storage: `{ usage, quota, persisted }` from `navigator.storage` (each null where
 * the browser does not say). */
export async function storageEstimate() {
  const storage = globalThis.navigator?.storage;
  const estimate = typeof storage?.estimate === "function" ? await storage.estimate() : {};
  const persisted = typeof storage?.persisted === "function" ? await storage.persisted() : null;
  return { usage: estimate.usage ?? null, quota: estimate.quota ?? null, persisted };
}

/** Asks the browser to keep the origin's data under storage pressure; resolves to whether it is
 * persistent now. Where it cannot be asked (a worker, an old browser), the current answer. */
export async function requestPersistence() {
  const storage = globalThis.navigator?.storage;
  if (typeof storage?.persist === "function") return storage.persist();
  return typeof storage?.persisted === "function" ? storage.persisted() : false;
}

/* The eviction markers (src/core/eviction.rs): one small database beside every ferrysync
 * database, so that a database cleared behind the library's back is noticed at its next open.
 * Each call opens it, does one request, and closes it (a marker is written about once a second
 * at most, while unsent changes change). */
const MARKERS = "ferrysync-markers";

function markerRequest(mode, act) {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open(MARKERS, 1);
    open.onupgradeneeded = () => open.result.createObjectStore("markers");
    open.onerror = () => reject(open.error);
    open.onblocked = () => reject(new Error("the markers database is blocked"));
    open.onsuccess = () => {
      const db = open.result;
      try {
        const tx = db.transaction("markers", mode);
        const request = act(tx.objectStore("markers"));
        tx.oncomplete = () => {
          db.close();
          resolve(request.result);
        };
        tx.onerror = tx.onabort = () => {
          db.close();
          reject(tx.error);
        };
      } catch (error) {
        db.close();
        reject(error);
      }
    };
  });
}

/** The marker of database `name` (`{ instance, unsent, seenAt }`), or undefined. */
export function readMarker(name) {
  return markerRequest("readonly", (store) => store.get(name));
}

export function writeMarker(name, instance, unsent, seenAt) {
  return markerRequest("readwrite", (store) => store.put({ instance, unsent, seenAt }, name));
}

export function deleteMarker(name) {
  return markerRequest("readwrite", (store) => store.delete(name));
}

// Blobs in records (src/web/blobs): finding `Blob`s in a record's declared blob fields (and
// references where they were), reading a blob in chunks, and the rows of `_blobs`. A `Blob` is
// recognised by its tag, not `instanceof`, so that one from another realm (an iframe, a worker's
// postMessage) counts too.

/** Whether a value is a Blob (a File is one), from any realm. */
export function isBlob(value) {
  const tag = Object.prototype.toString.call(value);
  return tag === "[object Blob]" || tag === "[object File]";
}


/** A copy of `data` whose declared blob `fields` hold references instead of Blobs, and the Blobs
 * found with the reference object that stands for each (its `$blob` is filled in once hashed);
 * undefined when there are none. `misplaced` is the name of a field outside `fields` that holds
 * a Blob at its top, which is refused: it would be stored but never synced. */
export function takeBlobs(data, fields) {
  if (!isPlainObject(data)) return undefined;
  const found = [];
  const walk = (value) => {
    if (isBlob(value)) {
      const ref = { $blob: "", size: value.size, type: value.type || "" };
      found.push([value, ref]);
      return ref;
    }
    if (Array.isArray(value)) return value.map(walk);
    if (isPlainObject(value)) {
      const copy = {};
      for (const key of Object.keys(value)) copy[key] = walk(value[key]);
      return copy;
    }
    return value;
  };
  let out = data;
  for (const key of Object.keys(data)) {
    if (fields.includes(key)) {
      const value = data[key];
      if (value === null || typeof value !== "object") continue;
      const before = found.length;
      const walked = walk(value);
      if (found.length > before) {
        if (out === data) out = Object.assign({}, data);
        out[key] = walked;
      }
    } else if (isBlob(data[key])) {
      return { misplaced: key };
    }
  }
  return found.length ? { data: out, found } : undefined;
}

/** Bytes `start .. end` of a blob. */
export function blobChunk(blob, start, end) {
  return blob.slice(start, end).arrayBuffer();
}

/** A part of a blob, as a request body. */
export function blobSlice(blob, start, end) {
  return blob.slice(start, end);
}

/** A `_blobs` row: the blob stored here, not uploaded yet (`upload` is indexed), or, when
 * `onServer` (downloaded), without `upload`. On an engine that cannot store a Blob in IndexedDB,
 * `blob` is undefined and `parts` holds its bytes (ArrayBuffers). */
export function makeBlobRow(hash, blob, parts, size, type, now, onServer) {
  const row = { hash, size, type, usedAt: now };
  if (!onServer) row.upload = "no";
  if (parts) row.parts = parts;
  else row.blob = blob;
  return row;
}

/** The Blob a `_blobs` row holds (rebuilt from its parts where the engine stores no Blobs), or
 * undefined for a row without its bytes. */
export function blobOfRow(row) {
  if (!row) return undefined;
  if (row.blob) return row.blob;
  return row.parts ? new Blob(row.parts, { type: row.type || "" }) : undefined;
}

/** Whether this engine stores Blobs in IndexedDB: a tiny Blob is put into `store` in a
 * transaction that is then aborted, so nothing stays. Some engines cannot (WebKit's ephemeral
 * sessions, Safari's private browsing): the put fails, or does not settle within `timeoutMs`. */
export function probeBlobStorage(db, store, timeoutMs) {
  return new Promise((resolve) => {
    let tx;
    let settled = false;
    const done = (ok) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      try {
        tx.abort();
      } catch {
        // Finished already.
      }
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    try {
      tx = db.transaction(store, "readwrite");
      tx.onabort = () => done(false);
      const request = tx.objectStore(store).put({ hash: "\u0000probe", blob: new Blob(["x"]) });
      request.onsuccess = () => done(true);
      request.onerror = (event) => {
        event.preventDefault();
        done(false);
      };
    } catch {
      done(false);
    }
  });
}

/** The references in a record's declared blob `fields`, each once: their hashes, or with
 * `objects` the reference objects (`{ $blob, size, type }`). */
export function refsIn(record, fields, objects) {
  const hashes = [];
  const found = [];
  const walk = (value) => {
    if (Array.isArray(value)) return value.forEach(walk);
    if (!isPlainObject(value)) return;
    if (typeof value.$blob === "string") {
      if (!hashes.includes(value.$blob)) {
        hashes.push(value.$blob);
        found.push(value);
      }
      return;
    }
    for (const key of Object.keys(value)) walk(value[key]);
  };
  if (isPlainObject(record)) for (const f of fields) walk(record[f]);
  return objects ? found : hashes;
}

/** The row of a blob the sync is to download (`download` is indexed): its reference, no bytes. */
export function wantedBlobRow(ref) {
  return { hash: ref.$blob, size: ref.size, type: ref.type || "", download: "wanted" };
}

/** The SHA-256 (lowercase hex) of `parts` (ArrayBuffers) in order, by Web Crypto; undefined
 * where there is none (an insecure context). */
export async function digestParts(parts) {
  const subtle = globalThis.crypto && globalThis.crypto.subtle;
  if (!subtle) return undefined;
  const bytes = parts.length === 1 ? parts[0] : await new Blob(parts).arrayBuffer();
  const hash = new Uint8Array(await subtle.digest("SHA-256", bytes));
  return Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A Blob of `parts` (ArrayBuffers received), of media type `type`. */
export function blobOfParts(parts, type) {
  return new Blob(parts, { type: type || "" });
}

/** A copy of `record` whose references in `fields` are the Blobs `rows` (a Map of hash to
 * `_blobs` row) hold here; a reference to a blob not here stays as it is. */
export function withBlobs(record, fields, rows) {
  const walk = (value) => {
    if (Array.isArray(value)) return value.map(walk);
    if (!isPlainObject(value)) return value;
    if (typeof value.$blob === "string") return blobOfRow(rows.get(value.$blob)) || value;
    const copy = {};
    for (const key of Object.keys(value)) copy[key] = walk(value[key]);
    return copy;
  };
  if (!isPlainObject(record)) return record;
  const out = Object.assign({}, record);
  for (const f of fields) if (Object.prototype.hasOwnProperty.call(record, f)) out[f] = walk(record[f]);
  return out;
}
