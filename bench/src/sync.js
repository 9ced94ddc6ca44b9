// Sync timings against a reference server on loopback: N records created offline until the
// server acknowledged them all, and a fresh client pulling them. Beside each, the two floors: the
// same requests made with plain fetch and no local storage at all, and raw IndexedDB doing the
// least storage work the same push and pull need, with no network (`rawRound`).
import { deleteDatabase, open } from "ferrysync";
import { requestDone, transactionDone } from "./contenders/raw.js";
import { COLLECTION, INDEXES, OUTBOX, makeRecords, newMeta, outboxEntry } from "./records.js";

const BATCH = 100;
const PULL_LIMIT = 500;

function sync(url, token) {
  return { url, token, syncOnOpen: false, intervalMs: false, debounceMs: false, batchSize: BATCH, pullLimit: PULL_LIMIT };
}

async function openClient(app, url, token) {
  return open({ app, version: 1, collections: { [COLLECTION]: { indexes: INDEXES } }, sync: sync(url, token) });
}

function check(condition, message) {
  if (!condition) throw new Error(`sync benchmark: ${message}`);
}

/** ferrysync: create offline (untimed), then one syncNow() until all are acknowledged; then a
 * fresh client's syncNow() pulling them all. */
async function ferrysyncRound(records, url, token, round) {
  const writer = `sync-bench-w-${round}`;
  const reader = `sync-bench-r-${round}`;
  const a = await openClient(writer, url, token);
  await a.collection(COLLECTION).bulkCreate(records);
  check(a.status().pending === records.length, "all queued before the push");
  let t = performance.now();
  const pushed = await a.syncNow();
  const push = performance.now() - t;
  check(pushed.pushed === records.length && a.status().pending === 0, `pushed ${pushed.pushed}`);
  a.close();

  const b = await openClient(reader, url, token);
  t = performance.now();
  const pulled = await b.syncNow();
  const pull = performance.now() - t;
  check((await b.collection(COLLECTION).count()) === records.length, `pulled ${pulled.pulled}`);
  b.close();
  await deleteDatabase(writer, undefined, { discardPending: true });
  await deleteDatabase(reader, undefined, { discardPending: true });
  return { push, pull };
}

/** The floor: the same batches POSTed and pages GETted with fetch, nothing stored. */
async function fetchRound(records, url, token) {
  const headers = { Authorization: `Bearer ${token}`, "Content-Type": "application/json" };
  const mutations = records.map((data) => ({
    mutationId: crypto.randomUUID(),
    collection: COLLECTION,
    id: crypto.randomUUID(),
    op: "upsert",
    data,
    baseVersion: null,
  }));
  let t = performance.now();
  for (let i = 0; i < mutations.length; i += BATCH) {
    const response = await fetch(`${url}/v1/push`, {
      method: "POST",
      headers,
      body: JSON.stringify({ mutations: mutations.slice(i, i + BATCH) }),
    });
    const answer = await response.json();
    check(answer.results.every((r) => r.status === "applied"), "fetch push applied");
  }
  const push = performance.now() - t;
  t = performance.now();
  let cursor = null;
  let received = 0;
  for (;;) {
    const query = `limit=${PULL_LIMIT}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
    const page = await (await fetch(`${url}/v1/pull?${query}`, { headers })).json();
    received += page.changes.length;
    cursor = page.cursor;
    if (!page.hasMore) break;
  }
  const pull = performance.now() - t;
  check(received === records.length, `fetch pulled ${received}`);
  return { push, pull };
}

/** The storage floor, no network: raw IndexedDB doing the least a push and a pull must store.
 * Push: the records and their queue entries stored beforehand (untimed); then per batch, one
 * transaction reading the batch's entries and records, and one writing the acknowledged records
 * back (their `_sync`) and deleting the entries by key range. Pull: the records put a page per
 * transaction into an empty store. Both stores have the app's indexes. */
async function rawRound(records, round) {
  const name = `sync-bench-raw-${round}`;
  await requestDone(indexedDB.deleteDatabase(name));
  const opening = indexedDB.open(name, 1);
  opening.onupgradeneeded = () => {
    const db = opening.result;
    for (const store of [COLLECTION, "pulled"]) {
      const s = db.createObjectStore(store, { keyPath: "id" });
      for (const field of INDEXES) s.createIndex(field, field);
    }
    db.createObjectStore(OUTBOX, { keyPath: "seq", autoIncrement: true });
  };
  const db = await requestDone(opening);
  const now = Date.now();
  const stored = records.map((r) => ({ ...r, id: crypto.randomUUID(), _sync: newMeta(now) }));
  const setup = db.transaction([COLLECTION, OUTBOX], "readwrite");
  for (const r of stored) {
    setup.objectStore(COLLECTION).put(r);
    setup.objectStore(OUTBOX).add(outboxEntry(r.id, "create", now));
  }
  await transactionDone(setup);

  let t = performance.now();
  for (let from = 1; from <= stored.length; from += BATCH) {
    const range = IDBKeyRange.bound(from, from + BATCH - 1);
    const read = db.transaction([COLLECTION, OUTBOX], "readonly");
    const entries = await requestDone(read.objectStore(OUTBOX).getAll(range));
    const tasks = read.objectStore(COLLECTION);
    const batch = await Promise.all(entries.map((e) => requestDone(tasks.get(e.recordId))));
    const write = db.transaction([COLLECTION, OUTBOX], "readwrite");
    for (const r of batch) write.objectStore(COLLECTION).put(synced(r));
    write.objectStore(OUTBOX).delete(range);
    write.commit();
    await transactionDone(write);
  }
  const push = performance.now() - t;

  t = performance.now();
  for (let from = 0; from < stored.length; from += PULL_LIMIT) {
    const tx = db.transaction("pulled", "readwrite");
    const store = tx.objectStore("pulled");
    for (const r of stored.slice(from, from + PULL_LIMIT)) store.put(synced(r));
    tx.commit();
    await transactionDone(tx);
  }
  const pull = performance.now() - t;
  db.close();
  await requestDone(indexedDB.deleteDatabase(name));
  return { push, pull };
}

/** `r` as the server acknowledged it: synced at version 1. */
function synced(r) {
  return { ...r, _sync: { ...r._sync, serverVersion: 1, status: "synced" } };
}

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/**
 * `tokens`: one fresh tenant per round and contender (rounds = warmup + reps, ferrysync first),
 * so that every round starts from an empty server.
 */
export async function runSyncBenchmark({ records: count = 10_000, reps = 3, warmup = 1, url = location.origin, tokens }) {
  const records = makeRecords(0, count);
  const rounds = warmup + reps;
  check(Array.isArray(tokens) && tokens.length >= rounds * 2, `needs ${rounds * 2} tokens`);
  const samples = { ferrysync: { push: [], pull: [] }, fetch: { push: [], pull: [] }, raw: { push: [], pull: [] } };
  for (let round = 0; round < rounds; round++) {
    const f = await ferrysyncRound(records, url, tokens[round * 2], round);
    const fetched = await fetchRound(records, url, tokens[round * 2 + 1]);
    const raw = await rawRound(records, round);
    if (round < warmup) continue;
    for (const [key, r] of [["ferrysync", f], ["fetch", fetched], ["raw", raw]]) {
      samples[key].push.push(r.push);
      samples[key].pull.push(r.pull);
    }
  }
  const summarize = (list) => ({ median: median(list), samples: list });
  return {
    options: { records: count, reps, warmup, batch: BATCH, pullLimit: PULL_LIMIT },
    ferrysync: { push: summarize(samples.ferrysync.push), pull: summarize(samples.ferrysync.pull) },
    fetch: { push: summarize(samples.fetch.push), pull: summarize(samples.fetch.pull) },
    raw: { push: summarize(samples.raw.push), pull: summarize(samples.raw.pull) },
  };
}
