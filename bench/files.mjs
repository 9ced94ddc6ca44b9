// The file benchmark: a reference sync server (profile `server`, in memory) serves bench/dist on
// loopback; headless Chromium uploads one file of `--megabytes` MiB through ferrysync's sync and
// downloads it on a fresh client (`db.blob(ref)` of a lazy collection), beside plain fetch making
// the same transfer (the resumable upload's requests, one GET of the whole file); see
// bench/src/files.js.
//
//   node bench/files.mjs [--megabytes N] [--chunk-kib N] [--reps N] [--warmup N]
//
// bench/dist and target/server/ferrysync-server must be built first (scripts/bench.sh does it).
import { mkdir, writeFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs, REPO } from "./run.mjs";
import { onSyncPage, table } from "./sync.mjs";

/** Runs the file benchmark page: `megabytes` MiB up and down in chunks of `chunkKib` KiB,
 * `reps` counted rounds after `warmup`, each contender in a fresh tenant every round. */
export function fileBenchmark({ megabytes = 50, chunkKib = 1024, reps = 3, warmup = 1, profile = "server", log = () => {} } = {}) {
  const tokens = Array.from({ length: (reps + warmup) * 2 }, (_, i) => `bench-files-${i}`);
  return onSyncPage(tokens, profile, log, (page) =>
    page.evaluate((options) => window.runFileBenchmark(options), { megabytes, chunkBytes: chunkKib * 1024, reps, warmup, tokens }),
  );
}

/** The table: seconds and MiB/s of each transfer, ferrysync beside fetch. */
export function formatFileTable(report) {
  const { bytes } = report.options;
  const mib = bytes / 1024 / 1024;
  const seconds = (ms) => (ms / 1000).toFixed(2);
  const rate = (ms) => (mib / (ms / 1000)).toFixed(1);
  const cells = (timing) => [seconds(timing.median), rate(timing.median)];
  const ratio = (f, raw) => `${(f.median / raw.median).toFixed(2)}×`;
  const size = `${Number.isInteger(mib) ? mib : mib.toFixed(1)} MB`;
  const rows = [
    [`upload ${size} (sync until acknowledged)`, ...cells(report.ferrysync.upload), ...cells(report.fetch.upload), ratio(report.ferrysync.upload, report.fetch.upload)],
    [`download ${size} on a fresh client`, ...cells(report.ferrysync.download), ...cells(report.fetch.download), ratio(report.ferrysync.download, report.fetch.download)],
    [`store ${size} in a record (hash + IndexedDB)`, ...cells(report.ferrysync.store), "—", "—", "—"],
  ];
  return table(["file", "ferrysync s", "ferrysync MB/s", "fetch only s", "fetch only MB/s", "ferrysync/fetch"], rows);
}

async function main() {
  const { "chunk-kib": chunkKib, ...options } = parseArgs(process.argv.slice(2), { megabytes: 50, "chunk-kib": 1024, reps: 3, warmup: 1 });
  const log = (line) => process.stderr.write(`${line}\n`);
  log(`file benchmark: ${options.megabytes} MB, ${options.reps} repetitions after ${options.warmup} warm-up`);
  const report = await fileBenchmark({ ...options, chunkKib, log });
  const o = report.options;
  console.log(
    `\nfiles against the reference server (profile server, in memory) on loopback: one file of ${o.megabytes} MB (random bytes), ` +
      `chunks of ${o.chunkBytes / 1024} KB, median of ${o.reps} (after ${o.warmup} warm-up); MB = 2^20 bytes\n`,
  );
  console.log(formatFileTable(report));
  const m = report.machine;
  console.log(`\nmachine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB; ${m.os}; ${m.chromium}; node ${m.node}`);
  await mkdir(join(REPO, "bench", "results"), { recursive: true });
  const out = join(REPO, "bench", "results", "files-latest.json");
  await writeFile(out, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nwrote ${relative(REPO, out)}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((error) => {
    console.error(error && error.stack ? error.stack : error);
    process.exit(1);
  });
}
