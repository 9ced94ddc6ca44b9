// Runs the benchmark page (bench/dist) in headless Chromium, then in headless Firefox, and prints
// a table of medians for each, the package sizes and the machine; writes the whole result to
// bench/results/latest.json (Firefox's under `firefox`).
//
//   node bench/run.mjs [--records N] [--reps N] [--warmup N] [--only live]
//
// It also times live queries (bench/src/live.js): one write to the new snapshot of a live query
// over every record, beside running that query again; `--only live` runs that part alone.
//
// bench/dist must be built first (scripts/bench.sh does it all).
import { createReadStream, existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import os from "node:os";
import { extname, join, normalize, relative, resolve, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { brotliCompressSync, constants as zlib, gzipSync } from "node:zlib";
import { chromium } from "playwright-core";
import { CHROMIUM, CHROMIUM_ARGS } from "../scripts/chromium.mjs";
import { startSession } from "../scripts/webdriver.mjs";

export const REPO = resolve(fileURLToPath(new URL("..", import.meta.url)));
export const DIST = join(REPO, "bench", "dist");
const RESULTS = join(REPO, "bench", "results");

const BENCH_CHROMIUM_ARGS = [
  ...CHROMIUM_ARGS,
  "--enable-precise-memory-info",
  // Lets the page collect garbage between operations (never inside a timed one).
  "--js-flags=--expose-gc",
];

const CONTENDERS = [
  { key: "ferrysync", title: "ferrysync" },
  { key: "dexie", title: "Dexie" },
  { key: "raw", title: "raw" },
  { key: "raw-min", title: "raw-min" },
];

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".wasm": "application/wasm",
  ".json": "application/json",
  ".map": "application/json",
};

/** Serves `root` on a free loopback port. Resolves to { url, close() }. */
export async function serve(root) {
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    const file = normalize(join(root, path.endsWith("/") ? `${path}index.html` : path));
    if (file !== root && !file.startsWith(root + sep)) {
      res.writeHead(403).end();
      return;
    }
    try {
      const info = await stat(file);
      if (!info.isFile()) throw new Error("not a file");
      res.writeHead(200, {
        "content-type": TYPES[extname(file)] ?? "application/octet-stream",
        "content-length": info.size,
        "cache-control": "no-store",
      });
      createReadStream(file).pipe(res);
    } catch {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found");
    }
  });
  await new Promise((done, fail) => {
    server.once("error", fail);
    server.listen(0, "127.0.0.1", done);
  });
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise((done) => server.close(done)),
  };
}

/**
 * Opens bench/dist in a fresh headless Chromium profile and calls
 * `runBenchmarks({ records, reps, warmup })` in the page. Resolves to { result, chromium }.
 */
export async function runInChromium({ records = 10_000, reps = 5, warmup = 1, log = () => {}, entry = "runBenchmarks" } = {}) {
  if (!existsSync(join(DIST, "index.html"))) {
    throw new Error("bench/dist is missing: run `npx webpack --config webpack.bench.config.js --mode production`");
  }
  const server = await serve(DIST);
  const profile = await mkdtemp(join(os.tmpdir(), "ferrysync-bench-"));
  let context;
  try {
    // A persistent profile keeps IndexedDB on disk, as in a real browser (a fresh incognito-like
    // context would keep it in memory).
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: BENCH_CHROMIUM_ARGS,
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const problems = [];
    page.on("console", (msg) => {
      if (msg.type() === "error") problems.push(msg.text());
      log(`[page] ${msg.text()}`);
    });
    page.on("pageerror", (error) => problems.push(String(error)));
    const cdp = await context.newCDPSession(page);
    const { product } = await cdp.send("Browser.getVersion");
    await page.goto(server.url);
    await page.waitForFunction(() => typeof window.runBenchmarks === "function", null, { timeout: 30_000 });
    const result = await page.evaluate(([name, options]) => window[name](options), [entry, { records, reps, warmup }]);
    if (problems.length) log(`page reported: ${problems.join("\n")}`);
    return { result, chromium: product };
  } finally {
    if (context) await context.close();
    await server.close();
    await rm(profile, { recursive: true, force: true });
  }
}

/** Like runInChromium, in a fresh headless Firefox profile (on disk too) over WebDriver. Firefox
 * exposes neither a way to collect garbage nor the JS heap's size, so the heap row is n/a.
 * Resolves to { result, firefox } (the version). */
export async function runInFirefox({ records = 10_000, reps = 5, warmup = 1, entry = "runBenchmarks" } = {}) {
  const server = await serve(DIST);
  let session;
  try {
    session = await startSession("firefox");
    await session.goto(server.url);
    const deadline = Date.now() + 30_000;
    while (!(await session.execute('return typeof window.runBenchmarks === "function";'))) {
      if (Date.now() > deadline) throw new Error("the benchmark page did not load in Firefox within 30 s");
      await new Promise((done) => setTimeout(done, 100));
    }
    // The whole run is one script, so one bound covers it, well beyond a default run's length.
    const result = await session.execute(`return window.${entry}(arguments[0]);`, [{ records, reps, warmup }], {
      timeoutMs: 30 * 60_000,
    });
    return { result, firefox: `Firefox ${session.capabilities.browserVersion}` };
  } finally {
    await session?.close();
    await server.close();
  }
}

function compressed(bytes) {
  return {
    raw: bytes.length,
    gzip: gzipSync(bytes, { level: 9 }).length,
    brotli: brotliCompressSync(bytes, {
      params: { [zlib.BROTLI_PARAM_QUALITY]: 11, [zlib.BROTLI_PARAM_SIZE_HINT]: bytes.length },
    }).length,
  };
}

async function filesUnder(dir, suffix) {
  if (!existsSync(dir)) return [];
  const out = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(path, suffix)));
    else if (entry.name.endsWith(suffix)) out.push(path);
  }
  return out.sort();
}

/** Raw, gzip (-9) and brotli (q 11) sizes of what each library ships. */
export async function sizes() {
  // The package folder scripts/pack.sh builds, whose JS is minified there: the wasm, the glue
  // (wasm-bindgen's and glue.js), and the package's own entry and loader.
  const pkg = join(REPO, "pkg", "ferrysync");
  const glueFiles = [join(pkg, "wasm", "ferrysync.js"), ...(await filesUnder(join(pkg, "wasm", "snippets"), ".js"))];
  const glue = Buffer.concat(await Promise.all(glueFiles.map((f) => readFile(f))));
  const entryFiles = [join(pkg, "ferrysync.js"), join(pkg, "loader.js"), join(pkg, "wasm", "errors.js")];
  const entry = Buffer.concat(await Promise.all(entryFiles.map((f) => readFile(f))));
  const list = [
    {
      name: "ferrysync wasm (pkg/ferrysync/wasm/ferrysync_bg.wasm)",
      ...compressed(await readFile(join(pkg, "wasm", "ferrysync_bg.wasm"))),
    },
    {
      name: `ferrysync JS glue (${glueFiles.map((f) => relative(REPO, f)).join(" + ")}), as shipped (minified)`,
      ...compressed(glue),
    },
    {
      name: `ferrysync JS entry (${entryFiles.map((f) => relative(REPO, f)).join(" + ")}), as shipped (minified)`,
      ...compressed(entry),
    },
  ];
  list.push({
    name: "Dexie (node_modules/dexie/dist/dexie.min.js)",
    ...compressed(await readFile(join(REPO, "node_modules", "dexie", "dist", "dexie.min.js"))),
  });
  return list;
}

export function machine(chromiumVersion) {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model?.trim() ?? "unknown",
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    chromium: chromiumVersion,
  };
}

async function dexieVersion() {
  const pkg = JSON.parse(await readFile(join(REPO, "node_modules", "dexie", "package.json"), "utf8"));
  return pkg.version;
}

function ms(value) {
  if (!Number.isFinite(value)) return "n/a";
  return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
}

function ratio(a, b) {
  return Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}×` : "n/a";
}

/** The table as Markdown, padded so it also reads well in a terminal. */
export function formatTable(result) {
  const head = [
    "operation",
    ...CONTENDERS.map((c) => `${c.title} ms`),
    "ferrysync/Dexie",
    "ferrysync/raw",
    "ferrysync/raw-min",
  ];
  const ratios = (m) => [ratio(m[0], m[1]), ratio(m[0], m[2]), ratio(m[0], m[3])];
  const rows = result.operations.map((op) => {
    const m = CONTENDERS.map((c) => result.results[op.key][c.key].median);
    return [op.label, ...m.map(ms), ...ratios(m)];
  });
  const heap = CONTENDERS.map((c) => result.bulkCreateHeapBytes[c.key]?.median ?? NaN);
  if (heap.some(Number.isFinite)) {
    const mb = heap.map((b) => (Number.isFinite(b) ? (b / 2 ** 20).toFixed(1) : "n/a"));
    rows.push(["bulk create: peak JS heap, MB (not ms)", ...mb, ...ratios(heap)]);
  }
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(" | ")} |`;
  const rule = `|${widths.map((w, i) => (i === 0 ? `:${"-".repeat(w + 1)}` : `${"-".repeat(w + 1)}:`)).join("|")}|`;
  return [line(head), rule, ...rows.map(line)].join("\n");
}

function formatSizes(list) {
  const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
  return list.map((s) => `${s.name}: ${kb(s.raw)} raw, ${kb(s.gzip)} gzip, ${kb(s.brotli)} brotli`).join("\n");
}

function formatMachine(m) {
  return `machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB; ${m.os}; ${m.chromium}; node ${m.node}`;
}

/** Everything the command does except printing and writing the file: Chromium's result at the
 * top level, Firefox's under `firefox`. */
export async function benchmark(options) {
  const { result, chromium: chromiumVersion } = await runInChromium(options);
  const { result: inFirefox, firefox } = await runInFirefox(options);
  return {
    date: new Date().toISOString(),
    dexie: await dexieVersion(),
    machine: machine(chromiumVersion),
    sizes: await sizes(),
    ...result,
    firefox: { version: firefox, ...inFirefox },
    live: await liveBenchmark(options),
  };
}

/** The live-query measurement (bench/src/live.js) in Chromium, then in Firefox. */
export async function liveBenchmark(options) {
  const live = { entry: "runLiveBenchmark" };
  const { result, chromium } = await runInChromium({ ...options, ...live });
  const { result: inFirefox, firefox } = await runInFirefox({ ...options, ...live });
  return { chromium: { version: chromium, ...result }, firefox: { version: firefox, ...inFirefox } };
}

/** The live-query table: one column per browser. */
export function formatLiveTable(live) {
  const browsers = [live.chromium, live.firefox];
  const head = ["live query", "Chromium ms", "Firefox ms"];
  const cell = (op, b) => (op.key === "untouched" ? String(b.results[op.key].median) : ms(b.results[op.key].median));
  const rows = live.chromium.operations.map((op) => [op.label, ...browsers.map((b) => cell(op, b))]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(" | ")} |`;
  const rule = `|${widths.map((w, i) => (i === 0 ? `:${"-".repeat(w + 1)}` : `${"-".repeat(w + 1)}:`)).join("|")}|`;
  return [line(head), rule, ...rows.map(line)].join("\n");
}

export function parseArgs(argv, defaults = { records: 10_000, reps: 5, warmup: 1 }) {
  const options = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split("=", 2);
    const name = flag.replace(/^--/, "");
    if (!(name in options) || !flag.startsWith("--")) {
      throw new Error(`unknown option ${argv[i]} (use --records N, --reps N, --warmup N)`);
    }
    const value = Number(inline ?? argv[++i]);
    if (!Number.isInteger(value) || value < 0) throw new Error(`--${name} needs a non-negative integer`);
    options[name] = value;
  }
  return options;
}

async function main() {
  // `--only live`: the live-query lines alone (this command's own option, not the sync one's);
  // `--only sizes`: the size lines alone, with no browser (after `bash scripts/pack.sh`).
  const argv = process.argv.slice(2);
  const only = argv.indexOf("--only");
  const liveOnly = only >= 0 && argv[only + 1] === "live";
  if (only >= 0 && argv[only + 1] === "sizes") {
    console.log(formatSizes(await sizes()));
    return;
  }
  if (only >= 0 && !liveOnly) throw new Error("--only takes `live` or `sizes`");
  if (only >= 0) argv.splice(only, 2);
  const options = parseArgs(argv);
  const started = Date.now();
  const log = (line) => process.stderr.write(`${line}\n`);
  log(`benchmark: ${options.records} records, ${options.reps} repetitions after ${options.warmup} warm-up`);
  if (liveOnly) {
    const live = await liveBenchmark({ ...options, log });
    console.log(`\n${live.chromium.options.records.toLocaleString("en-US")} records, median of ${live.chromium.options.reps * live.chromium.options.writes} writes\n`);
    console.log(formatLiveTable(live));
    console.log(`\n${formatMachine(machine(live.chromium.version))}`);
    return;
  }
  const report = await benchmark({ ...options, log });
  console.log(
    `\n${report.options.records.toLocaleString("en-US")} records, median of ${report.options.reps} ` +
      `(after ${report.options.warmup} warm-up), Dexie ${report.dexie}\n`,
  );
  console.log(`${report.machine.chromium}:\n`);
  console.log(formatTable(report));
  console.log(`\n${report.firefox.version}:\n`);
  console.log(formatTable(report.firefox));
  console.log(
    `\nLive queries (median of ${report.live.chromium.options.reps * report.live.chromium.options.writes} writes each):\n`,
  );
  console.log(formatLiveTable(report.live));
  console.log(`\n${formatSizes(report.sizes)}`);
  console.log(`\n${formatMachine(report.machine)}`);
  await mkdir(RESULTS, { recursive: true });
  const out = join(RESULTS, "latest.json");
  await writeFile(out, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nwrote ${relative(REPO, out)} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((error) => {
    console.error(error && error.stack ? error.stack : error);
    process.exit(1);
  });
}
