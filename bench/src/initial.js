// The initial sync at scale, in the browser: an empty client pulls a tenant of `size` records of
// about 500 bytes from the reference server while the page goes on reading as an app would (a
// `get` of one of its own records and a 100-row index query, every 50 ms). Timed, with the
// reads' latencies, the JS heap's peak and the wasm memory's. Beside it, the floors: the same
// pages fetched and dropped, and raw IndexedDB writing the same records a page per transaction
// with nothing else to do (no sync, no reads, no index but the one the app declared).
import { deleteDatabase, open } from "ferrysync";
import { requestDone } from "./contenders/raw.js";
import { fetchTenant } from "./space.js";

const COLLECTION = "todos";
const PAGE = 500;
const READ_EVERY_MS = 50;
/** Push requests in flight while filling the tenant. */
const LANES = 4;

function check(condition, message) {
  if (!condition) throw new Error(`initial sync benchmark: ${message}`);
}

function headers(token) {
  return { Authorization: `Bearer ${token}`, "Content-Type": "application/json" };
}

/** Record `i` of the tenant: about 500 bytes of JSON. */
function data(i) {
  return { title: `todo ${i}`, done: i % 2, n: i, note: "x".repeat(430) };
}

/** Fills the tenant with `size` records, pushed 100 per request over a few lanes. */
async function fill(url, token, size) {
  let next = 0;
  const lane = async () => {
    while (next < size) {
      const from = next;
      next = Math.min(size, next + 100);
      const mutations = [];
      for (let i = from; i < next; i++) {
        mutations.push({ mutationId: crypto.randomUUID(), collection: COLLECTION, id: `r${i}`, op: "upsert", data: data(i), baseVersion: null });
      }
      const response = await fetch(`${url}/v1/push`, { method: "POST", headers: headers(token), body: JSON.stringify({ mutations }) });
      check(response.ok, `filling answered ${response.status}`);
    }
  };
  await Promise.all(Array.from({ length: LANES }, lane));
}

const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

function percentile(sorted, p) {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
}

/** The JS heap in use, where the browser says (Chromium; precise with
 * `--enable-precise-memory-info`). */
const heapBytes = () => performance.memory?.usedJSHeapSize ?? 0;

/** ferrysync: an empty client's first sync of the whole tenant, the page reading throughout. */
async function ferrysyncInitial(url, token, size) {
  const app = `initial-bench-${size}`;
  const collections = { [COLLECTION]: { indexes: ["done"] }, prefs: {} };
  const sync = { url, token, syncOnOpen: false, intervalMs: false, debounceMs: false, pullLimit: PAGE };
  const db = await open({ app, version: 1, collections, sync });
  const todos = db.collection(COLLECTION);
  const prefs = db.collection("prefs");
  await prefs.create({ id: "me", theme: "dark" });
  const heapBefore = heapBytes();
  const wasmBefore = (await db.metrics()).wasmMemoryBytes;
  const latencies = [];
  let heapPeak = heapBefore;
  let syncing = true;
  const reader = (async () => {
    let due = performance.now() + READ_EVERY_MS;
    while (syncing) {
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      // From when the read was due: a page too busy to run its timer is as slow as a slow read.
      const [me] = await Promise.all([prefs.get("me"), todos.query({ index: "done", equals: 0, limit: 100 })]);
      const now = performance.now();
      check(me?.theme === "dark", "the app's own record");
      latencies.push(now - due);
      heapPeak = Math.max(heapPeak, heapBytes());
      due = Math.max(due + READ_EVERY_MS, now);
    }
  })();
  const t = performance.now();
  const summary = await db.syncNow();
  const ms = performance.now() - t;
  syncing = false;
  await reader;
  const wasmAfter = (await db.metrics()).wasmMemoryBytes;
  check(summary.pulled >= size && (await todos.count()) === size, `pulled ${summary.pulled} of ${size}`);
  db.close();
  await deleteDatabase(app, undefined, { discardPending: true });
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    ms,
    reads: { count: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), worst: sorted[sorted.length - 1] ?? 0 },
    heap: { before: heapBefore, peak: heapPeak },
    wasm: { before: wasmBefore, peak: wasmAfter },
  };
}

/** The storage floor: raw IndexedDB putting the same records (with the metadata ferrysync
 * stores on each) into a store with the app's one index, a page per transaction. */
async function rawInitial(size) {
  const name = `initial-bench-raw-${size}`;
  await requestDone(indexedDB.deleteDatabase(name));
  const open = indexedDB.open(name, 1);
  open.onupgradeneeded = () => open.result.createObjectStore(COLLECTION, { keyPath: "id" }).createIndex("done", "done");
  const db = await requestDone(open);
  const t = performance.now();
  for (let from = 0; from < size; from += PAGE) {
    const tx = db.transaction(COLLECTION, "readwrite");
    const store = tx.objectStore(COLLECTION);
    for (let i = from; i < Math.min(size, from + PAGE); i++) {
      store.put({ id: `r${i}`, ...data(i), _sync: { version: 1, serverVersion: i + 1, status: "synced", updatedAt: 0, deleted: false } });
    }
    await new Promise((resolve, reject) => {
      tx.oncomplete = resolve;
      tx.onerror = () => reject(tx.error);
    });
  }
  const ms = performance.now() - t;
  db.close();
  await requestDone(indexedDB.deleteDatabase(name));
  return ms;
}

/** One round per size in `sizes`, each on its own tenant (`tokens[i]`), filled here first. */
export async function runInitialBenchmark({ sizes, tokens, url = location.origin }) {
  check(Array.isArray(sizes) && sizes.length === tokens.length, "a token per size");
  const results = [];
  for (const [i, size] of sizes.entries()) {
    const fillStart = performance.now();
    await fill(url, tokens[i], size);
    const fillMs = performance.now() - fillStart;
    const ferrysync = await ferrysyncInitial(url, tokens[i], size);
    // The network's floor: the same pages fetched and dropped (the tenant now holds the app's
    // own record too, pushed by the first sync).
    const fetched = await fetchTenant(url, tokens[i], size + 1);
    results.push({ size, fillMs, ferrysync, fetch: fetched, raw: await rawInitial(size) });
  }
  return { options: { sizes, pullLimit: PAGE, readEveryMs: READ_EVERY_MS, recordBytes: JSON.stringify({ id: "r0", ...data(0) }).length }, results };
}
