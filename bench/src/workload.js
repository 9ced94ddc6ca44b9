// The operations, in the order each repetition runs them, and the timing around them: a warm-up
// pass that is not counted, then `reps` passes, each on a fresh database per contender, with the
// median reported per operation and contender.
import { makeRecords } from "./records.js";

/** The operations, labelled with the sizes `records` gives them. */
export function operations(records) {
  const singles = Math.max(1, Math.round(records / 10));
  const n = (x) => x.toLocaleString("en-US");
  const bucket7 = countBucket7(records);
  return [
    { key: "bulkCreate", label: `bulk create ${n(records)} (one call)` },
    { key: "create", label: `${n(singles)} single creates` },
    { key: "update", label: `${n(singles)} single updates (patch)` },
    { key: "get", label: `${n(singles)} gets by id` },
    { key: "queryAll", label: `query createdAt >= 0 (${n(records)} rows)` },
    { key: "queryBucket", label: `query bucket == 7 (${n(bucket7)} rows)` },
    { key: "count", label: `count (${n(records)})` },
    { key: "reopen", label: `open ${n(records)}-record db + first query` },
  ];
}

function countBucket7(records) {
  return records > 7 ? Math.floor((records - 8) / 100) + 1 : 0;
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Collects garbage when the page may (Chromium with --js-flags=--expose-gc), then yields. */
async function settle() {
  if (typeof globalThis.gc === "function") globalThis.gc();
  await new Promise((resolve) => setTimeout(resolve, 50));
}

function heapUsed() {
  return performance.memory ? performance.memory.usedJSHeapSize : null;
}

/**
 * Samples the JS heap from a setInterval(…, 0) loop and a requestAnimationFrame loop while an
 * operation runs; `stop()` returns the peak minus the heap before the operation (null where the
 * browser does not report it).
 */
function heapSampler() {
  const base = heapUsed();
  if (base === null) return { stop: () => null };
  let peak = base;
  let running = true;
  const sample = () => {
    const used = heapUsed();
    if (used > peak) peak = used;
  };
  const timer = setInterval(sample, 0);
  const frame = () => {
    if (!running) return;
    sample();
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
  return {
    stop() {
      sample();
      running = false;
      clearInterval(timer);
      return peak - base;
    },
  };
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

/** One full pass of every operation for one contender on a fresh database; returns ms per op. */
async function pass(contender, records, name) {
  const singles = Math.max(1, Math.round(records / 10));
  const bulk = makeRecords(0, records);
  const fresh = makeRecords(records, singles);
  const patches = fresh.map((_, k) => ({ title: `Task edited ${k}` }));
  const times = {};
  let step = "open";
  let db = null;
  const timed = async (key, fn) => {
    step = key;
    await settle();
    const start = performance.now();
    const result = await fn();
    times[key] = performance.now() - start;
    return result;
  };

  try {
    db = await contender.open(name);

    step = "bulkCreate";
    await settle();
    const heap = heapSampler();
    const start = performance.now();
    const ids = await db.bulkCreate(bulk);
    times.bulkCreate = performance.now() - start;
    const heapPeak = heap.stop();
    check(Array.isArray(ids) && ids.length === records, `bulkCreate returned ${ids?.length} ids, expected ${records}`);
    check(new Set(ids).size === records, "bulkCreate returned duplicate ids");

    const n = await timed("count", () => db.count());
    check(n === records, `count() = ${n}, expected ${records}`);

    const rows = await timed("queryAll", async () => (await db.queryRange(0)).length);
    check(rows === records, `the createdAt range query returned ${rows} rows, expected ${records}`);

    const expected7 = countBucket7(records);
    const some = await timed("queryBucket", () => db.queryEquals(7));
    check(some.length === expected7, `the bucket query returned ${some.length} rows, expected ${expected7}`);
    check(some.every((r) => r.bucket === 7), "the bucket query returned a record with another bucket");

    // Ids in a scattered order, the same for every contender.
    const pick = (k, salt) => ids[(k * 7919 + salt) % records];
    const got = await timed("get", async () => {
      let found = 0;
      for (let k = 0; k < singles; k++) if ((await db.get(pick(k, 0))) !== undefined) found++;
      return found;
    });
    check(got === singles, `${singles - got} of ${singles} gets found nothing`);

    db.close();
    db = null;
    const reopened = await timed("reopen", async () => {
      db = await contender.open(name);
      return db.queryEquals(7);
    });
    check(reopened.length === expected7, `the first query after open returned ${reopened.length} rows`);

    const created = await timed("create", async () => {
      const out = [];
      for (const record of fresh) out.push(await db.create(record));
      return out;
    });
    check(created.length === singles && created.every((id) => typeof id === "string"), "create returned no id");

    const updated = [];
    await timed("update", async () => {
      for (let k = 0; k < singles; k++) {
        const id = pick(k, 1);
        updated.push(id);
        await db.update(id, patches[k]);
      }
    });

    // What the writes left behind, checked outside the timings.
    step = "verify";
    const last = await db.get(updated[updated.length - 1]);
    check(last && last.title === patches[singles - 1].title, "an updated record does not hold its patch");
    check(last._sync && last._sync.version === 2, `an updated record has _sync.version ${last?._sync?.version}`);
    const total = await db.count();
    check(total === records + singles, `count() after the writes = ${total}, expected ${records + singles}`);
    const distinct = new Set(updated).size;
    const queued = await db.outboxCount();
    const expectedQueued = records + singles + (contender.updatesCoalesce ? 0 : singles);
    check(
      queued === expectedQueued,
      `the outbox holds ${queued} entries, expected ${expectedQueued} (${distinct} distinct records updated)`,
    );
    return { times, heapPeak };
  } catch (error) {
    const wrapped = new Error(`${contender.name}, ${step}: ${error && error.name}: ${error && error.message}`);
    wrapped.cause = error;
    throw wrapped;
  } finally {
    if (db) db.close();
    // Lets the last read transaction finish, so the delete is not blocked by a closing connection.
    await settle();
    await contender.destroy(name);
  }
}

/**
 * Runs `warmup` uncounted passes and `reps` counted ones of every contender, rotating the order in
 * which contenders run from one repetition to the next. Returns plain JSON.
 */
export async function runBenchmarks(contenders, options = {}) {
  const records = options.records ?? 10_000;
  const reps = options.reps ?? 5;
  const warmup = options.warmup ?? 1;
  const log = options.log ?? ((line) => console.log(line));
  check(Number.isInteger(records) && records >= 100, "records must be an integer of at least 100");
  check(Number.isInteger(reps) && reps >= 1, "reps must be a positive integer");
  check(Number.isInteger(warmup) && warmup >= 0, "warmup must be a non-negative integer");

  const ops = operations(records);
  const run = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const samples = {};
  const heap = {};
  for (const c of contenders) {
    heap[c.name] = [];
    for (const op of ops) (samples[op.key] ??= {})[c.name] = [];
  }

  const started = performance.now();
  for (let r = -warmup; r < reps; r++) {
    const order = contenders.map((_, i) => contenders[(i + r + warmup) % contenders.length]);
    for (const contender of order) {
      const label = r < 0 ? `warm-up ${r + warmup + 1}/${warmup}` : `rep ${r + 1}/${reps}`;
      const t0 = performance.now();
      const { times, heapPeak } = await pass(contender, records, `bench-${contender.name}-${run}-${r + warmup}`);
      log(`${label} ${contender.name}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      if (r < 0) continue;
      for (const op of ops) samples[op.key][contender.name].push(times[op.key]);
      if (heapPeak !== null) heap[contender.name].push(heapPeak);
    }
  }

  const results = {};
  for (const op of ops) {
    results[op.key] = {};
    for (const c of contenders) {
      const s = samples[op.key][c.name];
      results[op.key][c.name] = { median: median(s), samples: s };
    }
  }
  const heapResults = {};
  for (const c of contenders) {
    const s = heap[c.name];
    heapResults[c.name] = s.length ? { median: median(s), samples: s } : null;
  }
  return {
    options: { records, reps, warmup, singles: Math.max(1, Math.round(records / 10)) },
    contenders: contenders.map((c) => c.name),
    operations: ops,
    results,
    bulkCreateHeapBytes: heapResults,
    environment: {
      userAgent: navigator.userAgent,
      preciseMemoryInfo: !!performance.memory,
      exposedGc: typeof globalThis.gc === "function",
    },
    seconds: (performance.now() - started) / 1000,
  };
}
