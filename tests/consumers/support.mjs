// What every consumer test shares: a fresh copy of an app under target/consumers/ with the packed
// tarball npm-installed into it (the build tools and React come from the workspace's
// node_modules, found by walking up), running a workspace tool in it, the sizes of what a build
// ships, and the one scenario every browser consumer passes.
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { eventually, openBrowser, REPO, serverRecords } from "../e2e/support.mjs";

export { eventually };
import { startSyncServer } from "../../scripts/sync-server.mjs";

const APPS = join(REPO, "tests", "consumers", "apps");
const WORK = join(REPO, "target", "consumers");
const BIN = join(REPO, "node_modules", ".bin");
const run = promisify(execFile);

/** The tarball scripts/pack.sh built. */
export function tarball() {
  const { version } = JSON.parse(readFileSync(join(REPO, "package", "package.json"), "utf8"));
  const file = join(REPO, "pkg", `ferrysync-${version}.tgz`);
  assert.ok(existsSync(file), `${file} is missing: run scripts/pack.sh first`);
  return file;
}

/** Copies tests/consumers/apps/shared and then apps/<name> (or only `from`, when given) to
 * target/consumers/<name>, installs the tarball there with npm, and returns the folder. */
export async function prepareApp(name, { from } = {}) {
  const dir = join(WORK, name);
  rmSync(dir, { recursive: true, force: true });
  for (const source of from ? [from] : [join(APPS, "shared"), join(APPS, name)]) cpSync(source, dir, { recursive: true });
  await run("npm", ["install", "--no-save", "--no-package-lock", "--no-audit", "--no-fund", tarball()], { cwd: dir });
  assert.ok(existsSync(join(dir, "node_modules", "ferrysync", "package.json")), "npm installed the tarball");
  return dir;
}

/** Runs a workspace tool (node_modules/.bin/<tool>) in `dir`; fails with its output. */
export async function tool(dir, name, args, env = {}) {
  try {
    return await run(join(BIN, name), args, { cwd: dir, env: { ...process.env, NO_COLOR: "1", ...env }, maxBuffer: 16 << 20 });
  } catch (error) {
    assert.fail(`${name} ${args.join(" ")} failed in ${dir}:\n${error.stdout ?? ""}${error.stderr ?? ""}`);
  }
}

/** Starts a long-running workspace tool (a dev server) in `dir`; resolves once its output
 * matches `ready`, with the match and a stop(). */
export function startTool(dir, name, args, { env = {}, ready }) {
  const child = spawn(join(BIN, name), args, { cwd: dir, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((done) => child.once("exit", done));
    child.kill("SIGTERM");
    await exited;
  };
  const started = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start:\n${output}`)), 30_000);
    const seen = (chunk) => {
      // Colour codes would split the URL.
      output += String(chunk).replace(/\x1b\[[0-9;]*m/g, "");
      const match = ready.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ match, stop });
      }
    };
    child.stdout.on("data", seen);
    child.stderr.on("data", seen);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code}:\n${output}`));
    });
  });
  return started.catch(async (error) => {
    await stop();
    throw error;
  });
}

function filesUnder(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)],
  );
}

/** What a build in `dist` ships: bytes and gzip -9 bytes of its .wasm and its .js files. */
export function shipped(dist) {
  const sum = (files) =>
    files.reduce(
      (total, file) => {
        const bytes = readFileSync(file);
        return { raw: total.raw + bytes.length, gzip: total.gzip + gzipSync(bytes, { level: 9 }).length };
      },
      { raw: 0, gzip: 0 },
    );
  const files = filesUnder(dist).filter((f) => statSync(f).isFile());
  return { wasm: sum(files.filter((f) => f.endsWith(".wasm"))), js: sum(files.filter((f) => f.endsWith(".js"))) };
}

const kb = (n) => `${(n / 1024).toFixed(1)} KB`;

/** Lines for the test log: what the app in `dist` ships, in all and file by file. */
export function reportShipped(name, dist) {
  const { wasm, js } = shipped(dist);
  console.log(`${name} ships: wasm ${kb(wasm.raw)} (${kb(wasm.gzip)} gzipped), JS ${kb(js.raw)} (${kb(js.gzip)} gzipped)`);
  for (const file of filesUnder(dist).filter((f) => /\.(js|wasm)$/.test(f)).sort()) {
    const bytes = readFileSync(file);
    console.log(`  ${file.slice(dist.length + 1)}: ${kb(bytes.length)} (${kb(gzipSync(bytes, { level: 9 }).length)} gzipped)`);
  }
  return { wasm, js };
}

/**
 * The scenario every browser consumer passes, for the app at `window.consumer` and, for each
 * `kind`, the app in that worker (`window.workers[kind]`): create a note, see it, reload, still
 * there, and synced with the reference server at `serverUrl`. Errors are typed.
 */
export async function createReloadSynced(page, { appUrl, serverUrl, kinds = [] }) {
  const labels = ["page", ...kinds];
  const call = (label, method, ...args) =>
    page.evaluate(
      ([label, method, args]) => (label === "page" ? window.consumer : window.workers[label])[method](...args),
      [label, method, args],
    );

  // Every app syncs with the same tenant, so each one also pulls the others' notes: each
  // checks for its own.
  const has = async (label, id) => (await call(label, "list")).some((n) => n.id === id);
  await page.goto(appUrl);
  await page.evaluate(() => window.consumerReady);
  const ids = {};
  for (const label of labels) {
    ids[label] = await call(label, "add", `written in the ${label}`);
    assert.ok(await has(label, ids[label]), `${label}: the note is listed`);
    assert.deepEqual(await call(label, "badUpdate"), { name: "RecordNotFoundError", typed: true }, `${label}: typed error`);
  }
  await page.evaluate(() => window.showNotes());
  const shown = page.locator(`#notes li[data-id="${ids.page}"]`);
  assert.equal(await shown.textContent(), "written in the page", "the page shows its note");

  await page.reload();
  await page.evaluate(() => window.consumerReady);
  for (const label of labels) assert.ok(await has(label, ids[label]), `${label}: the note is still there after a reload`);
  assert.equal(await shown.textContent(), "written in the page", "the page shows it after the reload");

  for (const label of labels) {
    await eventually(`the ${label}'s note is synced`, async () => {
      const note = (await call(label, "list")).find((n) => n.id === ids[label]);
      return note.status === "synced" && (await call(label, "status")).pending === 0;
    });
  }
  const onServer = (await serverRecords(serverUrl)).records.map((r) => r.id);
  for (const label of labels) assert.ok(onServer.includes(ids[label]), `the ${label}'s note reached the server`);
  return { ids, call };
}

/** A sync request that a reload cut short (the scenarios reload while syncs may be running; the
 * notes still have to reach the server). */
const ABORTED_SYNC = /^request failed: \S+\/v1\/\S* \(net::ERR_ABORTED\)$/;

/** Runs `body(server, browser)` with a fresh reference sync server (started with `serverArgs`,
 * e.g. `--static <dist>`) and a fresh browser profile of `engine` (headless Chromium unless
 * said); fails on any error the page reported but those `allowed(problem)` expects. */
export async function withServerAndBrowser(serverArgs, body, { allowed = () => false, engine = "chromium" } = {}) {
  // The apps sync with the development token.
  const server = await startSyncServer({ args: ["--dev-tokens", "dev-token=dev", ...serverArgs] });
  let browser;
  try {
    browser = await openBrowser(engine);
    await body(server, browser);
    const problems = browser.problems.filter((p) => !ABORTED_SYNC.test(p) && !allowed(p));
    assert.deepEqual(problems, [], "the page reported errors");
  } catch (error) {
    if (browser?.problems.length) console.error(browser.problems.join("\n"));
    throw error;
  } finally {
    await browser?.close();
    await server.stop();
  }
}
