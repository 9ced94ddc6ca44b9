// Live queries: the time from one write to a live query's new snapshot, over a collection of
// `records` records, beside the time a full run of the same query takes. A live query hands its
// listeners a new snapshot after every commit that changes its result; this measures that path
// end to end, from the write call to the listener.
import { open, deleteDatabase } from "ferrysync";
import { COLLECTION, INDEXES, makeRecord, makeRecords } from "./records.js";
import { median } from "./workload.js";

const APP = "bench-live";
/** Writes per repetition of each kind (update, create). */
const WRITES = 5;

function check(condition, message) {
  if (!condition) throw new Error(message);
}

/** The lines of the table, labelled with the sizes `records` gives them. */
export function liveOperations(records) {
  const n = records.toLocaleString("en-US");
  return [
    { key: "update", label: `one update → new snapshot of a live query of ${n} rows` },
    { key: "create", label: `one create → new snapshot of a live query of ${n} rows` },
    { key: "limited", label: `one update → new snapshot of a live query of 100 rows (desc, limit)` },
    { key: "rerun", label: `the same ${n}-row query run again (query())` },
    { key: "untouched", label: "new snapshots of a live query no write touched (count, not ms)" },
  ];
}

/** A live query's store with a promise of its next snapshot. */
function watch(tasks, query) {
  const store = tasks.live(query);
  let waiting = null;
  let calls = 0;
  const off = store.subscribe(() => {
    calls++;
    if (waiting) {
      const done = waiting;
      waiting = null;
      done(performance.now());
    }
  });
  return {
    store,
    get calls() {
      return calls;
    },
    /** Resolves with the time the listener next hears of a change. */
    next: () => new Promise((resolve) => (waiting = resolve)),
    off,
  };
}

async function until(condition, what) {
  const deadline = performance.now() + 60_000;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Whether two results hold the same records (ids, titles and versions) in the same order. */
function same(a, b) {
  return (
    a.length === b.length &&
    a.every((r, i) => r.id === b[i].id && r.title === b[i].title && r._sync.version === b[i]._sync.version)
  );
}

/**
 * Opens a fresh database, stores `records` records, keeps three live queries subscribed (every
 * row by `createdAt`; the 100 newest by `createdAt`, descending; `bucket == 7`, which no write
 * here touches), then times `warmup + reps` rounds of writes. Returns ms medians per operation.
 */
export async function runLiveBenchmark(options = {}) {
  const records = options.records ?? 10_000;
  const reps = options.reps ?? 5;
  const warmup = options.warmup ?? 1;
  const log = options.log ?? ((line) => console.log(line));
  const tenant = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const db = await open({ app: APP, tenant, version: 1, collections: { [COLLECTION]: { indexes: INDEXES } } });
  const samples = { update: [], create: [], limited: [], rerun: [] };
  try {
    const tasks = db.collection(COLLECTION);
    const ids = await tasks.bulkCreate(makeRecords(0, records));
    const query = { index: "createdAt", range: { lower: 0 } };
    const all = watch(tasks, query);
    const newest = watch(tasks, { index: "createdAt", order: "desc", limit: 100 });
    // Bucket 7 holds records 7, 107, ...; the writes below touch only other buckets.
    const bucket7 = watch(tasks, { index: "bucket", equals: 7 });
    await until(() => all.store.getSnapshot() && newest.store.getSnapshot() && bucket7.store.getSnapshot(), "the first answers");
    check(all.store.getSnapshot().length === records, "the live query's first answer");
    const untouched = bucket7.store.getSnapshot();
    const bucket7Calls = bucket7.calls;
    let created = records;
    for (let r = -warmup; r < reps; r++) {
      const counted = r >= 0;
      for (let k = 0; k < WRITES; k++) {
        // An update that leaves the record where it is (its `createdAt` is unchanged).
        const at = (((r + warmup) * WRITES + k) * 7919 + 3) % records;
        if (at % 100 === 7) continue;
        const id = ids[at];
        let next = all.next();
        let start = performance.now();
        await tasks.update(id, { title: `edited ${r} ${k}` });
        let end = await next;
        if (counted) samples.update.push(end - start);

        // A create: a new row at the end of the ascending query, the first of the descending one.
        const record = makeRecord(created);
        record.bucket = 8;
        created++;
        next = all.next();
        const newestNext = newest.next();
        start = performance.now();
        await tasks.create(record);
        end = await next;
        if (counted) samples.create.push(end - start);
        await newestNext;

        // An update of a row of the limited descending query.
        const top = newest.store.getSnapshot()[k];
        const limitedNext = newest.next();
        next = all.next();
        start = performance.now();
        await tasks.update(top.id, { title: `top ${r} ${k}` });
        end = await limitedNext;
        if (counted) samples.limited.push(end - start);
        await next;
      }
      const start = performance.now();
      const rows = await tasks.query(query);
      if (counted) samples.rerun.push(performance.now() - start);
      check(same(all.store.getSnapshot(), rows), "the live query's snapshot differs from a fresh query");
      const fresh = await tasks.query({ index: "createdAt", order: "desc", limit: 100 });
      check(same(newest.store.getSnapshot(), fresh), "the limited live query's snapshot differs from a fresh query");
      log(`live ${counted ? `rep ${r + 1}/${reps}` : `warm-up ${r + warmup + 1}/${warmup}`}`);
    }
    // Counted, not checked: a library that re-runs every live query shows it here.
    const rerunsOfUntouched = bucket7.calls - bucket7Calls;
    check((bucket7.store.getSnapshot() === untouched) === (rerunsOfUntouched === 0), "a new snapshot without a notification");
    all.off();
    newest.off();
    bucket7.off();
    const results = {};
    for (const [key, s] of Object.entries(samples)) results[key] = { median: median(s), samples: s };
    results.untouched = { median: rerunsOfUntouched, samples: [rerunsOfUntouched] };
    return { options: { records, reps, warmup, writes: WRITES }, operations: liveOperations(records), results };
  } finally {
    db.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    await deleteDatabase(APP, tenant, { discardPending: true });
  }
}
