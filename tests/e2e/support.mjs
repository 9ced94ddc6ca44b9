// Shared pieces of the browser tests: the static server, and a browser with a fresh profile:
// headless Chromium through playwright-core, Firefox and WebKit through WebDriver.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { CHROMIUM, CHROMIUM_ARGS } from "../../scripts/chromium.mjs";
import { startSyncServer } from "../../scripts/sync-server.mjs";
import { startSession } from "../../scripts/webdriver.mjs";
import { pageOver } from "./webdriver-page.mjs";

export const REPO = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const DIST = join(REPO, "www", "dist");
const RESULTS = join(REPO, "test-results");


/** Starts the reference sync server (which serves www/dist) on a free loopback port, in memory,
 * with the demo's development token, and with `extraArgs` (fault injection, say, which
 * turns --enable-faults on). */
export async function startServer(extraArgs = []) {
  if (!existsSync(join(DIST, "index.html"))) {
    throw new Error("www/dist/index.html is missing: run scripts/build-wasm.sh and `npx webpack --mode production` first");
  }
  const faults = extraArgs.length > 0 ? ["--enable-faults"] : [];
  const server = await startSyncServer({ args: ["--static", DIST, "--dev-tokens", "dev-token=dev", ...faults, ...extraArgs] });
  const url = `${server.url}/`;
  return {
    url,
    /** Every live record of the demo's tenant on the server, and the final cursor. */
    records: () => serverRecords(server.url),
    /** The bytes of the development tenant's blob `hash` (`GET /v1/blobs/{hash}`), or null
     * when the server does not hold it complete. */
    blob: (hash) => serverBlob(server.url, hash),
    stop: server.stop,
  };
}

/** Every live record of the development tenant on the sync server at `serverUrl`, and the
 * final cursor. */
export async function serverRecords(serverUrl) {
  const live = new Map();
  let cursor = null;
  for (;;) {
    const query = `limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
    const response = await fetch(`${serverUrl}/v1/pull?${query}`, { headers: { Authorization: "Bearer dev-token" } });
    if (!response.ok) throw new Error(`pull answered ${response.status}`);
    const page = await response.json();
    for (const r of page.changes) {
      if (r.deleted) live.delete(r.id);
      else live.set(r.id, r);
    }
    cursor = page.cursor;
    if (!page.hasMore) return { records: [...live.values()], cursor };
  }
}

/** The bytes of blob `hash` of the development tenant on the sync server at `serverUrl`, or null
 * when it answers 404. */
export async function serverBlob(serverUrl, hash) {
  const response = await fetch(`${serverUrl}/v1/blobs/${hash}`, { headers: { Authorization: "Bearer dev-token" } });
  if (response.status === 404) return null;
  if (!response.ok) throw new Error(`GET /v1/blobs/${hash} answered ${response.status}`);
  return Buffer.from(await response.arrayBuffer());
}

/** The engines the browser tests run in, every one by default; FERRYSYNC_BROWSERS="chromium"
 * (a comma-separated list) narrows a run. */
export const ENGINES = (process.env.FERRYSYNC_BROWSERS ?? "chromium,firefox,webkit").split(",");

/** Whether `engine` can take the network away (`context.setOffline`). WebKit's WebDriver has no
 * way to, so the scenarios that go offline run in Chromium and Firefox only. */
export const canGoOffline = (engine) => engine !== "webkit";

/**
 * Opens a page in `engine` with a profile of its own (so IndexedDB starts empty and persists
 * across reloads); in Chromium, with service workers blocked if `serviceWorkers` is "block". In Chromium every page error, console error, failed request and HTTP error is
 * collected in `problems`; WebDriver reports none of these, so elsewhere it stays empty and the
 * scenarios' own checks are what fails.
 */
export async function openBrowser(engine = "chromium", { serviceWorkers = "allow" } = {}) {
  return engine === "chromium" ? openChromium(serviceWorkers) : openWebDriver(engine);
}

async function openWebDriver(engine) {
  const session = await startSession(engine);
  return {
    context: {
      async setOffline(offline) {
        if (!canGoOffline(engine)) throw new Error(`${engine} cannot be taken offline here`);
        // Firefox's own offline switch (chrome context): navigator.onLine, the online and
        // offline events in pages and workers, and failed requests, as with a network gone.
        await session.call("POST", "/moz/context", { context: "chrome" });
        try {
          await session.execute("Services.io.manageOfflineStatus = false; Services.io.offline = arguments[0];", [offline]);
        } finally {
          await session.call("POST", "/moz/context", { context: "content" });
        }
      },
    },
    page: pageOver(session),
    problems: [],
    async screenshot(name) {
      await mkdir(RESULTS, { recursive: true });
      const path = join(RESULTS, `${name}.png`);
      await writeFile(path, Buffer.from(await session.screenshot(), "base64"));
      return path;
    },
    close: () => session.close(),
  };
}

/** `serviceWorkers`: "block" keeps a page's worker out (the demo's scenarios, so that every
 * sync is the page's own: Chromium would fire the worker's Background Sync beside them). */
async function openChromium(serviceWorkers) {
  const profile = await mkdtemp(join(tmpdir(), "ferrysync-e2e-"));
  const context = await chromium.launchPersistentContext(profile, {
    serviceWorkers,
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

/** Waits until `check()` resolves truthy (polling), or fails with `what`. */
export async function eventually(what, check, { timeout = 15_000 } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    last = await check();
    if (last) return last;
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what} (last: ${JSON.stringify(last)})`);
    await new Promise((done) => setTimeout(done, 100));
  }
}
