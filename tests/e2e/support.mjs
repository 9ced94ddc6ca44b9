// Shared pieces of the browser tests: the static server and a headless Chromium with a fresh profile.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { CHROMIUM, CHROMIUM_ARGS } from "../../scripts/chromium.mjs";

export const REPO = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const DIST = join(REPO, "www", "dist");
const RESULTS = join(REPO, "test-results");


/** Starts the reference sync server (which serves www/dist) on a free loopback port, in memory,
 * with `extraArgs` (fault injection, say); resolves once it prints its URL. */
export async function startServer(extraArgs = []) {
  if (!existsSync(join(DIST, "index.html"))) {
    throw new Error("www/dist/index.html is missing: run scripts/build-wasm.sh and `npx webpack --mode production` first");
  }
  // The reference sync server serves the page, as the demo command does.
  const bin = process.env.FERRYSYNC_SERVER_BIN ?? join(REPO, "target", "debug", "ferrysync-server");
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run \`cargo build -p ferrysync-server\` first`);
  const child = spawn(bin, ["--listen", "127.0.0.1:0", "--memory", "--static", DIST, ...extraArgs], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const url = await new Promise((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 15_000);
    const onData = (chunk) => {
      output += chunk;
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolveUrl(`${match[1]}/`);
      }
    };
    child.stdout.setEncoding("utf8").on("data", onData);
    child.stderr.setEncoding("utf8").on("data", (chunk) => (output += chunk));
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${output}`));
    });
  });
  return {
    url,
    /** Every live record of the demo's tenant on the server, and the final cursor. */
    async records() {
      const live = new Map();
      let cursor = null;
      for (;;) {
        const query = `limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
        const response = await fetch(`${url}v1/pull?${query}`, { headers: { Authorization: "Bearer dev-token" } });
        if (!response.ok) throw new Error(`pull answered ${response.status}`);
        const page = await response.json();
        for (const r of page.changes) {
          if (r.deleted) live.delete(r.id);
          else live.set(r.id, r);
        }
        cursor = page.cursor;
        if (!page.hasMore) return { records: [...live.values()], cursor };
      }
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((done) => child.once("exit", done));
      child.kill("SIGTERM");
      await exited;
    },
  };
}

/**
 * Opens a page in headless Chromium with a profile of its own (so IndexedDB starts empty and
 * persists across reloads). Every page error, console error, failed request and HTTP error is
 * collected in `problems`.
 */
export async function openBrowser() {
  const profile = await mkdtemp(join(tmpdir(), "ferrysync-e2e-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 900, height: 640 },
  });
  context.setDefaultTimeout(15_000);
  const page = context.pages()[0] ?? (await context.newPage());
  const problems = [];
  page.on("pageerror", (error) => problems.push(`page error: ${error.stack ?? error}`));
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console error: ${message.text()}`);
  });
  page.on("requestfailed", (request) =>
    problems.push(`request failed: ${request.url()} (${request.failure()?.errorText})`),
  );
  page.on("response", (response) => {
    if (response.status() >= 400) problems.push(`HTTP ${response.status()}: ${response.url()}`);
  });
  return {
    context,
    page,
    problems,
    /** Saves a screenshot under test-results/ (gitignored). */
    async screenshot(name) {
      await mkdir(RESULTS, { recursive: true });
      const path = join(RESULTS, `${name}.png`);
      await page.screenshot({ path, fullPage: true });
      return path;
    },
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** Waits until the locator's trimmed text equals `expected`, then asserts it (for a clear diff). */
export async function textOf(locator, expected, { timeout = 10_000 } = {}) {
  const deadline = Date.now() + timeout;
  let text;
  for (;;) {
    text = (await locator.textContent())?.trim();
    if (text === expected || Date.now() > deadline) return text;
    await new Promise((done) => setTimeout(done, 50));
  }
}
