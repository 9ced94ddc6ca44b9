// A small run of the benchmark (200 records, one warm-up pass, one counted pass), in Chromium and
// in Firefox: every operation must give a positive finite median for every contender, every
// size must be positive, and the live-query lines must be measured.
// It uses the package folder pkg/ferrysync as built (scripts/test.sh packs it before this step)
// and bundles bench/dist itself when the bundle is missing or older than its inputs.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { benchmark, DIST, formatLiveTable, formatTable, REPO } from "../../bench/run.mjs";
import { formatInitialTable, formatSpaceTable, formatSyncTable, initialBenchmark, spaceBenchmark, syncBenchmark } from "../../bench/sync.mjs";
import { fileBenchmark, formatFileTable } from "../../bench/files.mjs";

const CONTENDERS = ["ferrysync", "dexie", "raw", "raw-min"];
const PACKAGE = join(REPO, "pkg", "ferrysync");
const WASM = join(PACKAGE, "wasm", "ferrysync_bg.wasm");

function filesUnder(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)],
  );
}

/** The bundle is stale when any input changed after bench/dist/index.html was written. */
function bundleIsStale() {
  const index = join(DIST, "index.html");
  if (!existsSync(index)) return true;
  const built = statSync(index).mtimeMs;
  const inputs = [
    ...filesUnder(PACKAGE),
    join(REPO, "webpack.bench.config.js"),
    join(REPO, "webpack.page.js"),
    join(REPO, "bench", "index.html"),
    ...filesUnder(join(REPO, "bench", "src")),
  ];
  return inputs.some((file) => existsSync(file) && statSync(file).mtimeMs > built);
}

test("a small benchmark run measures every operation of every contender", { timeout: 300_000 }, async () => {
  assert.ok(existsSync(WASM), "pkg/ferrysync is missing: run scripts/pack.sh first");
  if (bundleIsStale()) {
    try {
      execFileSync(
        join(REPO, "node_modules", ".bin", "webpack"),
        ["--config", "webpack.bench.config.js", "--mode", "production"],
        { cwd: REPO, stdio: "pipe", encoding: "utf8" },
      );
    } catch (error) {
      assert.fail(`bundling bench/ failed:\n${error.stdout ?? ""}${error.stderr ?? ""}`);
    }
  }

  const report = await benchmark({ records: 200, reps: 1, warmup: 1 });

  assert.deepEqual(report.contenders, CONTENDERS);
  assert.equal(report.operations.length, 8);
  for (const op of report.operations) {
    for (const contender of CONTENDERS) {
      const { median, samples } = report.results[op.key][contender];
      assert.equal(samples.length, 1, `${op.key} / ${contender}: one sample`);
      assert.ok(Number.isFinite(median) && median > 0, `${op.key} / ${contender}: median ${median}`);
    }
  }
  for (const contender of CONTENDERS) {
    const heap = report.bulkCreateHeapBytes[contender];
    assert.ok(heap && Number.isFinite(heap.median), `${contender}: the bulk create heap peak was measured`);
  }
  assert.ok(report.sizes.length >= 3);
  for (const size of report.sizes) {
    for (const kind of ["raw", "gzip", "brotli"]) {
      assert.ok(Number.isInteger(size[kind]) && size[kind] > 0, `${size.name}: ${kind} size ${size[kind]}`);
    }
  }
  assert.match(report.machine.chromium, /\d+\.\d+/);
  const table = formatTable(report);
  for (const op of report.operations) assert.ok(table.includes(op.label), `the table has "${op.label}"`);

  // The same run in Firefox (which reports no heap size). Its clock counts whole milliseconds
  // here, so an operation on 200 records may take 0 ms; each contender's run as a whole may not.
  assert.match(report.firefox.version, /^Firefox \d+\.\d+/);
  for (const contender of CONTENDERS) {
    let total = 0;
    for (const op of report.firefox.operations) {
      const { median, samples } = report.firefox.results[op.key][contender];
      assert.equal(samples.length, 1, `Firefox: ${op.key} / ${contender}: one sample`);
      assert.ok(Number.isFinite(median) && median >= 0, `Firefox: ${op.key} / ${contender}: median ${median}`);
      total += median;
    }
    assert.ok(total > 0, `Firefox: ${contender} took some time in all`);
  }
  assert.equal(report.firefox.operations.length, report.operations.length);

  // Live queries, in both browsers: every timed line measured, and no new snapshot for the query
  // no write touched.
  for (const browser of ["chromium", "firefox"]) {
    const live = report.live[browser];
    for (const op of live.operations) {
      const { median } = live.results[op.key];
      if (op.key === "untouched") assert.equal(median, 0, `${browser}: the untouched live query got new snapshots`);
      else assert.ok(Number.isFinite(median) && median >= 0, `${browser}: live ${op.key}: median ${median}`);
    }
  }
  const liveTable = formatLiveTable(report.live);
  for (const op of report.live.chromium.operations) assert.ok(liveTable.includes(op.label), `the live table has "${op.label}"`);
});

test("a small sync benchmark run times the push and the pull of ferrysync, plain fetch and raw IndexedDB", { timeout: 300_000 }, async () => {
  // Runs after the test above, which brought bench/dist up to date; uses the debug server that
  // scripts/test.sh built for the end-to-end tests.
  const report = await syncBenchmark({ records: 200, reps: 1, warmup: 0, profile: "debug" });
  for (const who of ["ferrysync", "fetch", "raw"]) {
    for (const phase of ["push", "pull"]) {
      const { median, samples } = report[who][phase];
      assert.equal(samples.length, 1, `${who} ${phase}: one sample`);
      assert.ok(Number.isFinite(median) && median > 0, `${who} ${phase}: median ${median}`);
    }
  }
  const table = formatSyncTable(report);
  assert.match(table, /raw IndexedDB ms/);
  assert.match(table, /200 offline creates → all acknowledged/);
  assert.match(table, /fresh client pulls 200 records/);

  const spaces = await spaceBenchmark({ tenant: 2_000, space: 100, reps: 1, warmup: 0, profile: "debug" });
  for (const who of ["ferrysync", "fetch"]) {
    assert.ok(spaces.space[who].median > 0, `${who}: the space's pull was timed`);
    assert.ok(spaces.tenant[who] > 0, `${who}: the tenant's pull was timed`);
  }
  assert.match(formatSpaceTable(spaces), /first full pull of one space \(100 records/);

  const initial = await initialBenchmark({ sizes: [1_500], profile: "debug" });
  const [{ ferrysync, fetch, raw }] = initial.results;
  assert.ok(ferrysync.ms > 0 && fetch > 0 && raw > 0, "the initial sync and its floors were timed");
  assert.ok(ferrysync.reads.count > 0 && ferrysync.reads.worst >= ferrysync.reads.p99, `the app's reads: ${JSON.stringify(ferrysync.reads)}`);
  assert.ok(ferrysync.heap.peak > 0 && ferrysync.wasm.peak >= ferrysync.wasm.before && ferrysync.wasm.before > 0, "the peaks");
  assert.match(formatInitialTable(initial), /1,500 records/);
});

test("a small file benchmark run times a file's upload and download through ferrysync and plain fetch", { timeout: 300_000 }, async () => {
  // After the tests above (bench/dist up to date), against the debug server.
  const report = await fileBenchmark({ megabytes: 2, reps: 1, warmup: 0, profile: "debug" });
  assert.equal(report.options.bytes, 2 * 1024 * 1024);
  const timed = [
    ["ferrysync", "store"],
    ["ferrysync", "upload"],
    ["ferrysync", "download"],
    ["fetch", "upload"],
    ["fetch", "download"],
  ];
  for (const [who, what] of timed) {
    const { median, samples } = report[who][what];
    assert.equal(samples.length, 1, `${who} ${what}: one sample`);
    assert.ok(Number.isFinite(median) && median > 0, `${who} ${what}: median ${median}`);
  }
  const table = formatFileTable(report);
  assert.match(table, /upload 2 MB \(sync until acknowledged\)/);
  assert.match(table, /download 2 MB on a fresh client/);
});
