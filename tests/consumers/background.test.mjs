// Background sync through a service worker, in headless Chromium against the reference server
// on 127.0.0.1: the package installed from the tarball (no bundler), a page that queues changes
// offline with `sync.backgroundSync`, and a module service worker whose script calls
// `backgroundSync()` of `ferrysync/sw`. The DevTools protocol shows what the browser did with the
// registration (the BackgroundService domain records it), dispatches `sync` events
// (ServiceWorker.dispatchSyncEvent) and stops and starts the worker. Chromium only: Firefox and
// WebKit have no Background Sync, and WebDriver reaches no service worker.
import assert from "node:assert/strict";
import { test } from "node:test";
import { serverRecords } from "../e2e/support.mjs";
import { eventually, prepareApp, withServerAndBrowser } from "./support.mjs";

/** The tag and the sync lock of the app's database (`ferrysync:consumer-background`). */
const TAG = "ferrysync:ferrysync:consumer-background";
const LOCK = "ferrysync:ferrysync:consumer-background:sync";

let prepared;
const app = () => (prepared ??= prepareApp("background"));

/** A page of the app at `url`, its errors collected with the first page's. */
async function appPage(context, problems, url) {
  const page = await context.newPage();
  page.on("pageerror", (error) => problems.push(`page error: ${error.stack ?? error}`));
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console error: ${message.text()}`);
  });
  await page.goto(url);
  await page.waitForSelector("body[data-ready=yes]", { state: "attached" });
  return page;
}

/** Loads the app in `page`, registers the module service worker `script` and waits until it is
 * active. `token`: what the page leaves for the worker, if anything. */
async function start(page, url, script, { token } = {}) {
  await page.goto(url);
  await page.waitForSelector("body[data-ready=yes]", { state: "attached" });
  await page.evaluate(
    async ([script, token]) => {
      // Fetched now: the page opens the database offline later, and no worker of this app
      // caches the module.
      await window.ferrysync.preload();
      if (token !== undefined) await window.app.storeToken(token);
      await navigator.serviceWorker.register(script, { type: "module" });
      await navigator.serviceWorker.ready;
    },
    [script, token],
  );
}

/**
 * The DevTools protocol over a blank page of its own (kept open while app pages come and go):
 * the service worker registrations, what the browser records of Background Sync, and the calls
 * the tests make.
 */
async function devtools(context) {
  const cdp = await context.newCDPSession(await context.newPage());
  const registrations = new Map();
  const versions = new Map();
  const background = [];
  cdp.on("ServiceWorker.workerRegistrationUpdated", ({ registrations: list }) => {
    for (const r of list) if (!r.isDeleted) registrations.set(r.scopeURL, r.registrationId);
  });
  cdp.on("ServiceWorker.workerVersionUpdated", ({ versions: list }) => {
    for (const v of list) versions.set(v.versionId, v);
  });
  cdp.on("BackgroundService.backgroundServiceEventReceived", ({ backgroundServiceEvent: e }) => {
    const metadata = Object.fromEntries(e.eventMetadata.map((m) => [m.key, m.value]));
    background.push({ name: e.eventName, tag: e.instanceId, metadata });
  });
  await cdp.send("ServiceWorker.enable");
  await cdp.send("BackgroundService.startObserving", { service: "backgroundSync" });
  await cdp.send("BackgroundService.setRecording", { shouldRecord: true, service: "backgroundSync" });
  return {
    background,
    /** The registration id of the worker whose scope is `scopeURL`. */
    registration: (scopeURL) => eventually(`the worker of ${scopeURL} is registered`, () => registrations.get(scopeURL)),
    /** Fires the `sync` event `tag` at the worker of `scopeURL`, as the browser would. */
    async dispatchSync(origin, scopeURL, tag) {
      const registrationId = await this.registration(scopeURL);
      await cdp.send("ServiceWorker.dispatchSyncEvent", { origin, registrationId, tag, lastChance: false });
    },
    /** Fires the `periodicsync` event `tag` at the worker of `scopeURL`. */
    async dispatchPeriodicSync(origin, scopeURL, tag) {
      const registrationId = await this.registration(scopeURL);
      await cdp.send("ServiceWorker.dispatchPeriodicSyncEvent", { origin, registrationId, tag });
    },
    /** Whether a version of the worker is running. */
    running: () => [...versions.values()].some((v) => v.runningStatus === "running"),
    stopWorkers: () => cdp.send("ServiceWorker.stopAllWorkers"),
    startWorker: (scopeURL) => cdp.send("ServiceWorker.startWorker", { scopeURL }),
  };
}

/** The tags the page's service worker registration holds. */
const tags = (page) => page.evaluate(async () => (await navigator.serviceWorker.ready).sync.getTags());

/** Opens the database in `page` with no trigger of its own (no sync on open, no timers), so that
 * whatever syncs is someone else; `sync` adds options. */
const openQuiet = (page, sync = {}) =>
  page.evaluate(async (sync) => {
    const quiet = { token: "dev-token", syncOnOpen: false, intervalMs: false, debounceMs: false, ...sync };
    window.db = await window.ferrysync.open(window.app.notesOptions(quiet));
  }, sync);

/** What a later page sees of note `id`: the queue, the note's state, and its own syncs. */
const seen = (page, id) =>
  page.evaluate(async (id) => {
    const note = await window.db.collection("notes").get(id);
    return { pending: window.db.status().pending, status: note?._sync.status, pageSyncs: (await window.db.metrics()).syncs };
  }, id);

const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

const onServer = async (url, id) => (await serverRecords(url)).records.some((r) => r.id === id);

test("chromium: a change queued offline reaches the server through the service worker after the page has closed", async () => {
  const dir = await app();
  await withServerAndBrowser(["--static", dir], async (server, browser) => {
    const { context, page } = browser;
    const url = `${server.url}/`;
    const tools = await devtools(context);
    // The worker finds no token yet: the page has not stored one.
    await start(page, url, "./sw.js");

    const bad = await page.evaluate(async () => {
      try {
        await window.ferrysync.open(window.app.notesOptions({ token: "dev-token", backgroundSync: "yes" }));
        return null;
      } catch (error) {
        return { name: error.name, message: error.message };
      }
    });
    assert.equal(bad?.name, "InvalidOptionsError", `backgroundSync must be a boolean: ${JSON.stringify(bad)}`);
    assert.match(bad.message, /sync\.backgroundSync/);

    // Offline, the page queues a change: it asks for a Background Sync, which waits for the
    // network.
    await context.setOffline(true);
    const id = await page.evaluate(async () => {
      window.db = await window.ferrysync.open(window.app.notesOptions({ token: "dev-token", backgroundSync: true }));
      return (await window.db.collection("notes").create({ title: "written offline" })).id;
    });
    assert.equal(await page.evaluate(() => window.db.status().pending), 1);
    await eventually("the page registered the database's tag", async () => (await tags(page)).includes(TAG));
    assert.ok(tools.background.some((e) => e.name === "Registered sync" && e.tag === TAG), "the browser recorded it");
    await page.close();

    // The network comes back with no page open: the browser fires `sync` at the worker by itself.
    // The worker has no token, so the sync fails, and the rejected waitUntil() makes the browser
    // keep the registration for a later attempt.
    await context.setOffline(false);
    const failed = await eventually("the browser's own sync event fails", () =>
      tools.background.find((e) => e.name === "sync event failed" && e.tag === TAG),
    );
    assert.equal(failed.metadata["Failure Reason"], "waitUntil rejected", JSON.stringify(failed));
    assert.ok(Number(failed.metadata["Next Attempt Delay (ms)"]) > 0, "the browser tries again later");
    assert.equal(await onServer(server.url, id), false, "nothing reached the server without a token");

    // The user signs in again: a page stores a token for the worker (and opens no database).
    const signIn = await appPage(context, browser.problems, url);
    await signIn.evaluate(() => window.app.storeToken("dev-token"));
    assert.ok((await tags(signIn)).includes(TAG), "the registration waits for its retry");
    await signIn.close();

    // The retry, dispatched now rather than in five minutes: the change reaches the server.
    await tools.dispatchSync(server.url, url, TAG);
    await eventually("the worker's sync pushed the change", () => onServer(server.url, id));

    // A page opened later finds it synced, with no sync of its own.
    const later = await appPage(context, browser.problems, url);
    await openQuiet(later);
    assert.deepEqual(await seen(later, id), { pending: 0, status: "synced", pageSyncs: 0 });
    await later.evaluate(() => window.db.close());
  });
});

test("chromium: the worker's sync waits for the sync lock, an open page's status shows what it did, and a periodic sync works alike", async () => {
  const dir = await app();
  await withServerAndBrowser(["--static", dir], async (server, browser) => {
    const { context, page } = browser;
    const url = `${server.url}/`;
    const tools = await devtools(context);
    await start(page, url, "./sw.js", { token: "dev-token" });
    // The page never syncs by itself here, and registers nothing: only dispatched events sync.
    await openQuiet(page);
    const id = await page.evaluate(async () => {
      window.seen = [];
      window.db.statusStore().subscribe(() => window.seen.push(window.db.status()));
      return (await window.db.collection("notes").create({ title: "pushed by the worker" })).id;
    });

    // A sync of the page's holds the lock (simulated by taking it): the worker's sync waits.
    await page.evaluate((lock) => {
      window.held = new Promise((granted) =>
        navigator.locks.request(lock, () => {
          granted();
          return new Promise((release) => (window.release = release));
        }),
      );
      return window.held;
    }, LOCK);
    await tools.dispatchSync(server.url, url, TAG);
    // Another client than this page (which holds the lock) asks for it: the worker.
    await eventually("the worker waits for the lock", () =>
      page.evaluate(async (lock) => {
        const { held, pending } = await navigator.locks.query();
        const page = held.find((l) => l.name === lock).clientId;
        return pending.some((l) => l.name === lock && l.clientId !== page);
      }, LOCK),
    );
    await sleep(500);
    assert.equal(await onServer(server.url, id), false, "nothing sent while the lock is held");
    assert.equal(await page.evaluate(() => window.db.status().pending), 1);

    await page.evaluate(() => window.release());
    await eventually("the worker's sync pushed the change", () => onServer(server.url, id));
    // The worker posted its status like any tab: this page saw it sync, and counts the queue
    // again once it is done, without a sync of its own.
    const status = await eventually("the page shows the worker's sync", () =>
      page.evaluate(() => {
        const s = window.db.status();
        return s.pending === 0 && !s.syncing && s.lastSyncAt !== null && s;
      }),
    );
    assert.equal(status.lastError, null);
    assert.ok(await page.evaluate(() => window.seen.some((s) => s.syncing)), "the page saw the worker's sync running");
    assert.deepEqual(await seen(page, id), { pending: 0, status: "synced", pageSyncs: 0 });
    assert.ok(tools.running(), "the worker ran");

    // A periodic sync of the same tag (where the browser grants one) does the same.
    const next = await page.evaluate(async () => (await window.db.collection("notes").create({ title: "periodic" })).id);
    await tools.dispatchPeriodicSync(server.url, url, TAG);
    await eventually("the worker's periodic sync pushed the change", () => onServer(server.url, next));
    await eventually("the page counts it sent", async () => (await seen(page, next)).pending === 0);
    await page.evaluate(() => window.db.close());
  });
});

test("chromium, as a browser without Background Sync: the worker syncs when it starts, and when a page asks", async () => {
  const dir = await app();
  await withServerAndBrowser(["--static", dir], async (server, browser) => {
    const { context, page } = browser;
    const url = `${server.url}/`;
    const tools = await devtools(context);
    // This worker deletes SyncManager from its scope before backgroundSync() looks (see
    // sw-without-sync-manager.js). Its first start finds no database, and creates none.
    await start(page, url, "./sw-without-sync-manager.js", { token: "dev-token" });
    assert.deepEqual(await page.evaluate(async () => (await indexedDB.databases()).map((d) => d.name)), []);

    // Offline, the page queues a change (it registers nothing, as it could not in such a browser),
    // and closes.
    await context.setOffline(true);
    const id = await page.evaluate(async () => {
      window.db = await window.ferrysync.open(window.app.notesOptions({ token: "dev-token" }));
      const note = await window.db.collection("notes").create({ title: "sent as the worker starts" });
      window.db.close();
      return note.id;
    });
    await page.close();

    // The network comes back: nothing wakes the worker for it here. The browser stops the idle
    // worker; later something starts it again (a push, a navigation): it syncs as it starts.
    // (The network is given back while the worker runs: Playwright's setOffline() waits for
    // every worker it knows, a stopped one included.)
    await context.setOffline(false);
    await sleep(500);
    assert.equal(await onServer(server.url, id), false, "nothing sent before the worker starts again");
    await tools.stopWorkers();
    await eventually("the worker stopped", () => !tools.running());
    await tools.startWorker(url);
    await eventually("the worker synced as it started", () => onServer(server.url, id));

    // A page may ask the worker for a sync with a message, and hears how it went.
    const later = await appPage(context, browser.problems, url);
    await openQuiet(later);
    assert.deepEqual(await seen(later, id), { pending: 0, status: "synced", pageSyncs: 0 });
    const { second, answer } = await later.evaluate(async (tag) => {
      const second = (await window.db.collection("notes").create({ title: "sent when asked" })).id;
      const { port1, port2 } = new MessageChannel();
      const answered = new Promise((resolve) => (port1.onmessage = ({ data }) => resolve(data)));
      (await navigator.serviceWorker.ready).active.postMessage({ ferrysync: "sync", tag }, [port2]);
      return { second, answer: await answered };
    }, TAG);
    assert.equal(answer.error, undefined, JSON.stringify(answer));
    assert.equal(answer.summary.pushed, 1, JSON.stringify(answer));
    assert.ok(await onServer(server.url, second), "the change the page asked for reached the server");
    await eventually("the page counts it sent", async () => (await seen(later, second)).pending === 0);
    await later.evaluate(() => window.db.close());
  });
});

test("chromium: with backgroundSync and the periodic sync on, a page registers a Periodic Background Sync where the browser grants it", async () => {
  const dir = await app();
  await withServerAndBrowser(["--static", dir], async (server, browser) => {
    const { context, page } = browser;
    const url = `${server.url}/`;
    await start(page, url, "./sw.js", { token: "dev-token" });
    const periodicTags = () => page.evaluate(async () => (await navigator.serviceWorker.ready).periodicSync.getTags());
    const openWith = (sync) =>
      page.evaluate(async (sync) => {
        window.db?.close();
        window.db = await window.ferrysync.open(window.app.notesOptions({ token: "dev-token", syncOnOpen: false, ...sync }));
      }, sync);

    // A page that is no installed app is not granted the permission: nothing is registered.
    await openWith({ backgroundSync: true });
    await sleep(500);
    assert.deepEqual(await periodicTags(), [], "not granted");

    const cdp = await context.newCDPSession(page);
    await cdp.send("Browser.grantPermissions", { origin: server.url, permissions: ["periodicBackgroundSync"] });
    await openWith({ backgroundSync: false });
    await openWith({ backgroundSync: true, intervalMs: false });
    await sleep(500);
    assert.deepEqual(await periodicTags(), [], "granted, but without backgroundSync or without the periodic sync");
    await openWith({ backgroundSync: true, intervalMs: 3_600_000 });
    await eventually("the page registered its periodic sync", async () => (await periodicTags()).includes(TAG));
    await page.evaluate(() => window.db.close());
  });
});
