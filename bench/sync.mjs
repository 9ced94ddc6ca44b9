// The sync benchmark: a reference sync server (profile `server`, in memory) serves bench/dist on
// loopback; headless Chromium times N offline-created records until the server acknowledged
// them all, and a fresh client pulling them, beside plain fetch making the same requests and raw
// IndexedDB doing the least storage work they need. Then
// the first full pull of one space (`--space` records) in a tenant of `--tenant` records, beside
// pulling the whole tenant (bench/src/space.js). Then the initial sync at scale: an empty
// client pulling a tenant of `--initial` and then `--large` records while the page reads, beside
// fetch and raw IndexedDB (bench/src/initial.js; 0 skips a size).
//
//   node bench/sync.mjs [--records N] [--reps N] [--warmup N] [--tenant N] [--space N] [--initial N] [--large N]
//
// bench/dist and target/server/ferrysync-server must be built first (scripts/bench.sh does it).
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import { join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium } from "playwright-core";
import { CHROMIUM, CHROMIUM_ARGS } from "../scripts/chromium.mjs";
import { startSyncServer } from "../scripts/sync-server.mjs";
import { DIST, machine, parseArgs, REPO } from "./run.mjs";

/** Runs `run(page)` on the benchmark page served by a sync server of `profile` that knows
 * `tokens` (each its own tenant); resolves with its answer, the date and the machine. */
export async function onSyncPage(tokens, profile, log, run, browserArgs = []) {
  const server = await startSyncServer({
    profile,
    args: ["--static", DIST, "--dev-tokens", tokens.map((t) => `${t}=${t}`).join(",")],
  });
  const dir = await mkdtemp(join(os.tmpdir(), "ferrysync-sync-bench-"));
  let context;
  try {
    const args = [...CHROMIUM_ARGS, ...browserArgs];
    context = await chromium.launchPersistentContext(dir, { executablePath: CHROMIUM, headless: true, args });
    const page = context.pages()[0] ?? (await context.newPage());
    page.on("console", (msg) => log(`[page] ${msg.text()}`));
    const cdp = await context.newCDPSession(page);
    const { product } = await cdp.send("Browser.getVersion");
    await page.goto(`${server.url}/`);
    await page.waitForFunction(() => typeof window.runSyncBenchmark === "function", null, { timeout: 30_000 });
    const result = await run(page);
    return { date: new Date().toISOString(), machine: machine(product), server: profile, ...result };
  } finally {
    if (context) await context.close();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Runs the sync benchmark page. `profile`: which server build to use. */
export function syncBenchmark({ records = 10_000, reps = 3, warmup = 1, profile = "server", log = () => {} } = {}) {
  const tokens = Array.from({ length: (reps + warmup) * 2 }, (_, i) => `bench-${i}`);
  return onSyncPage(tokens, profile, log, (page) =>
    page.evaluate((options) => window.runSyncBenchmark(options), { records, reps, warmup, tokens }),
  );
}

/** Runs the space benchmark page: the first full pull of one space of `space` records in a
 * tenant of `tenant`, beside the whole tenant's. */
export function spaceBenchmark({ tenant = 100_000, space = 1_000, reps = 3, warmup = 1, profile = "server", log = () => {} } = {}) {
  return onSyncPage(["bench-space"], profile, log, (page) =>
    page.evaluate((options) => window.runSpaceBenchmark(options), { tenant, space, reps, warmup, token: "bench-space" }),
  );
}

/** Runs the initial sync at scale: an empty client pulls a tenant of each of `sizes` records
 * while the page reads (precise heap figures need Chromium's flag). */
export function initialBenchmark({ sizes, profile = "server", log = () => {} } = {}) {
  const tokens = sizes.map((size) => `bench-initial-${size}`);
  return onSyncPage(
    tokens,
    profile,
    log,
    (page) => page.evaluate((options) => window.runInitialBenchmark(options), { sizes, tokens }),
    ["--enable-precise-memory-info"],
  );
}

const ms = (v) => (v >= 100 ? v.toFixed(0) : v.toFixed(1));
const mb = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)}`;

export function formatInitialTable(report) {
  const n = (v) => v.toLocaleString("en-US");
  const seconds = (v) => (v / 1000).toFixed(1);
  const rows = report.results.map(({ size, ferrysync: f, fetch, raw }) => [
    `${n(size)} records`,
    seconds(f.ms),
    n(Math.round((size / f.ms) * 1000)),
    seconds(fetch),
    seconds(raw),
    `${(f.ms / raw).toFixed(2)}×`,
    `${ms(f.reads.p50)} / ${ms(f.reads.p99)} / ${ms(f.reads.worst)}`,
    `${mb(f.heap.peak)} (+${mb(f.heap.peak - f.heap.before)})`,
    `${mb(f.wasm.peak)} (+${mb(f.wasm.peak - f.wasm.before)})`,
  ]);
  return table(
    ["empty client pulls", "ferrysync s", "records/s", "fetch only s", "raw IndexedDB s", "ferrysync/raw", "app reads p50 / p99 / worst ms", "JS heap peak MB", "wasm memory MB"],
    rows,
  );
}

export function table(head, rows) {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(" | ")} |`;
  const rule = `|${widths.map((w, i) => (i === 0 ? `:${"-".repeat(w + 1)}` : `${"-".repeat(w + 1)}:`)).join("|")}|`;
  return [line(head), rule, ...rows.map(line)].join("\n");
}

export function formatSpaceTable(report) {
  const o = report.options;
  const n = (v) => v.toLocaleString("en-US");
  const rows = [
    [`first full pull of one space (${n(o.space)} records; median of ${o.reps})`, report.space.ferrysync.median, report.space.fetch.median, o.space],
    [`the whole tenant (${n(o.tenant)} records; one run)`, report.tenant.ferrysync, report.tenant.fetch, o.tenant],
  ].map(([label, f, raw, count]) => [label, ms(f), ms(raw), `${(f / raw).toFixed(2)}×`, `${Math.round((count / f) * 1000)}`]);
  return table(["fresh client pulls", "ferrysync ms", "fetch only ms", "ferrysync/fetch", "records/s"], rows);
}

export function formatSyncTable(report) {
  const n = report.options.records.toLocaleString("en-US");
  const rows = [
    [`${n} offline creates → all acknowledged`, report.ferrysync.push.median, report.fetch.push.median, report.raw.push.median],
    [`fresh client pulls ${n} records`, report.ferrysync.pull.median, report.fetch.pull.median, report.raw.pull.median],
  ].map(([label, f, fetched, raw]) => [
    label,
    ms(f),
    ms(fetched),
    ms(raw),
    `${(f / fetched).toFixed(2)}×`,
    `${(f / raw).toFixed(2)}×`,
    `${Math.round((report.options.records / f) * 1000)}`,
  ]);
  const head = ["operation", "ferrysync ms", "fetch only ms", "raw IndexedDB ms", "ferrysync/fetch", "ferrysync/raw", "records/s"];
  return table(head, rows);
}

async function main() {
  const options = parseArgs(process.argv.slice(2), {
    records: 10_000,
    reps: 3,
    warmup: 1,
    tenant: 100_000,
    space: 1_000,
    initial: 100_000,
    large: 1_000_000,
  });
  const log = (line) => process.stderr.write(`${line}\n`);
  log(`sync benchmark: ${options.records} records, ${options.reps} repetitions after ${options.warmup} warm-up`);
  const { tenant, space, initial, large, ...sync } = options;
  const report = await syncBenchmark({ ...sync, log });
  const o = report.options;
  console.log(
    `\nsync against the reference server (profile server, in memory) on loopback: ${o.records.toLocaleString("en-US")} records of ~1 KB, ` +
      `batches of ${o.batch}, pull pages of ${o.pullLimit}, median of ${o.reps} (after ${o.warmup} warm-up)\n`,
  );
  console.log(formatSyncTable(report));
  const m = report.machine;
  console.log(`\nmachine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB; ${m.os}; ${m.chromium}; node ${m.node}`);
  await mkdir(join(REPO, "bench", "results"), { recursive: true });
  log(`space benchmark: one space of ${space} records in a tenant of ${tenant}`);
  const spaces = await spaceBenchmark({ tenant, space, reps: sync.reps, warmup: sync.warmup, log });
  console.log(
    `\npull by space: a tenant of ${spaces.options.tenant.toLocaleString("en-US")} records (~170 B each) over ${spaces.options.spaces} spaces, ` +
      `filled in ${(spaces.fillMs / 1000).toFixed(1)} s; pull pages of ${spaces.options.pullLimit}\n`,
  );
  console.log(formatSpaceTable(spaces));
  const sizes = [initial, large].filter((size) => size > 0);
  let initialSync = null;
  if (sizes.length > 0) {
    log(`initial sync benchmark: ${sizes.join(" and ")} records`);
    initialSync = await initialBenchmark({ sizes, log });
    const o = initialSync.options;
    console.log(
      `\ninitial sync at scale: an empty client pulls its tenant (records of ~${o.recordBytes} B, pages of ${o.pullLimit}) ` +
        `while the page reads one of its own records and runs a 100-row index query every ${o.readEveryMs} ms; ` +
        `one run each; raw IndexedDB: the same records put a page per transaction, nothing else\n`,
    );
    console.log(formatInitialTable(initialSync));
  }
  const out = join(REPO, "bench", "results", "sync-latest.json");
  await writeFile(out, `${JSON.stringify({ ...report, spaces, initialSync }, null, 2)}\n`);
  console.log(`\nwrote ${relative(REPO, out)}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((error) => {
    console.error(error && error.stack ? error.stack : error);
    process.exit(1);
  });
}
