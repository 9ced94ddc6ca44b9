// The service worker entry ("ferrysync/sw"): `backgroundSync()`, called at the top level of an
// app's service worker, sends the changes a page queued after the page has closed. It answers
// the Background Sync registration the page makes with `sync.backgroundSync` (and a periodic
// sync of the same tag, and a page's message); where the browser has no Background Sync, it
// syncs once each time the worker starts. Each sync is one-shot: open, push and pull, close.
// The engine decides everything a sync does, as in a page; this file only wires events to it.
import type { OpenOptions, SyncSummary } from "./index.js";
import { FerrysyncError, open } from "./ferrysync.js";

/** The options of `open()` the worker syncs with, or a function giving them (called for each
 * sync, so that it may read a token or a tenant the page stored). */
export type OpenOptionsSource<S = any> = OpenOptions<S> | (() => OpenOptions<S> | Promise<OpenOptions<S>>);

export interface BackgroundSyncOptions {
  /** The tag of the `sync` and `periodicsync` events (and messages) to answer. Default: the tag a
   * page with `sync.backgroundSync` registers, `"ferrysync:" + db.name` (`"ferrysync:ferrysync:"
   * + app`, then `":" + tenant` if there is one). Give another only if the app registers it. */
  tag?: string;
  /** Sync once when the worker starts (and keep it alive through `activate` for that). Default:
   * where the browser has no Background Sync (no `SyncManager`: Firefox, Safari). */
  syncOnStart?: boolean;
}

export interface BackgroundSync {
  /** One sync now, after any this worker is running: opens the database, pushes and pulls,
   * closes it. Resolves as `syncNow()` does, or with null where the database does not exist
   * (nothing was ever queued); rejects as `syncNow()` does. Call it from the app's own events
   * (a `push`, say) inside `event.waitUntil()`. */
  sync(): Promise<SyncSummary | null>;
}

/** What a page posts to ask the worker for a sync: `{ ferrysync: "sync", tag }`. The worker
 * answers on the message's first port, if any, with `{ summary }` or `{ error: { name, message } }`. */
export interface SyncRequestMessage {
  ferrysync: "sync";
  tag: string;
}

/** The events used here, as a service worker's global scope fires them. */
interface WorkerEvent extends Event {
  waitUntil(promise: Promise<unknown>): void;
  /** `sync` and `periodicsync`. */
  tag?: string;
  /** `message`. */
  data?: unknown;
  ports?: ReadonlyArray<MessagePort>;
}

interface WorkerScope {
  addEventListener(type: string, listener: (event: WorkerEvent) => void): void;
}

/** Listens, in this service worker, for the database's Background Sync (`sync`), periodic
 * sync (`periodicsync`) and sync requests from pages (`message`); each runs one sync within
 * `event.waitUntil()`. A failed sync rejects that promise, so that the browser tries the
 * Background Sync again later. Call it once per database, at the top level of the worker's
 * script. */
export function backgroundSync<S = any>(options: OpenOptionsSource<S>, settings: BackgroundSyncOptions = {}): BackgroundSync {
  const scope = serviceWorkerScope();
  if (typeof options !== "function") checkOptions(options);
  const known = settings.tag ?? (typeof options === "function" ? undefined : tagOf(options));

  let last: Promise<unknown> = Promise.resolve();
  const sync = (): Promise<SyncSummary | null> => {
    const next = last.then(
      () => syncOnce(options),
      () => syncOnce(options),
    );
    last = next.catch(() => {});
    return next;
  };
  /** A sync if `tag` is this database's, else nothing; decided at once when the tag is known,
   * else once the options are read. */
  const syncIfOurs = async (tag: string): Promise<SyncSummary | null> => {
    if (known !== undefined) return tag === known ? sync() : null;
    return tagOf(await optionsOf(options)) === tag ? sync() : null;
  };
  const mightBeOurs = (tag: unknown): tag is string =>
    typeof tag === "string" && (known === undefined ? tag.startsWith("ferrysync:") : tag === known);

  for (const type of ["sync", "periodicsync"]) {
    scope.addEventListener(type, (event) => {
      if (mightBeOurs(event.tag)) event.waitUntil(syncIfOurs(event.tag));
    });
  }
  scope.addEventListener("message", (event) => {
    const data = event.data as Partial<SyncRequestMessage> | null | undefined;
    if (data?.ferrysync !== "sync" || !mightBeOurs(data.tag)) return;
    const done = syncIfOurs(data.tag);
    const port = event.ports?.[0];
    if (port !== undefined) {
      done.then(
        (summary) => port.postMessage({ summary }),
        (error: unknown) => port.postMessage({ error: { name: nameOf(error), message: String((error as Error)?.message ?? error) } }),
      );
    }
    event.waitUntil(done);
  });

  if (settings.syncOnStart ?? !("SyncManager" in globalThis)) {
    // No event keeps the worker alive for this one: `activate` does when it comes, and the
    // browser may stop the worker before it ends otherwise (nothing is lost: the next start,
    // or the next page, syncs again).
    const started = sync();
    started.catch(() => {});
    scope.addEventListener("activate", (event) => event.waitUntil(started.catch(() => {})));
  }
  return { sync };
}

/** The global scope, if it is a service worker's. */
function serviceWorkerScope(): WorkerScope {
  const Scope = (globalThis as { ServiceWorkerGlobalScope?: abstract new () => unknown }).ServiceWorkerGlobalScope;
  if (typeof Scope !== "function" || !(globalThis instanceof Scope)) {
    throw new FerrysyncError(
      "InvalidOptionsError",
      "backgroundSync() listens for a service worker's events: call it at the top level of the service worker's script",
    );
  }
  return globalThis as unknown as WorkerScope;
}

async function optionsOf<S>(source: OpenOptionsSource<S>): Promise<OpenOptions<S>> {
  const options = typeof source === "function" ? await source() : source;
  checkOptions(options);
  return options;
}

function checkOptions(options: OpenOptions): void {
  if (options === null || typeof options !== "object" || typeof options.app !== "string") {
    throw new FerrysyncError("InvalidOptionsError", "backgroundSync() takes the options of open() (or a function giving them)");
  }
  if (options.sync === undefined || options.sync === null) {
    throw new FerrysyncError("InvalidOptionsError", "backgroundSync() needs open() options with `sync`: there is nothing to sync without");
  }
}

/** The database's IndexedDB name, as `open()` names it (`database_name` in src/core/schema.rs). */
function databaseName(options: OpenOptions): string {
  return options.tenant == null ? `ferrysync:${options.app}` : `ferrysync:${options.app}:${options.tenant}`;
}

/** The Background Sync tag a page registers (`Inner::new` in src/web/database.rs). */
function tagOf(options: OpenOptions): string {
  return `ferrysync:${databaseName(options)}`;
}

/** Opens the database (unless it does not exist: a worker never creates it), syncs once, and
 * closes it, whatever the sync's outcome. */
async function syncOnce<S>(source: OpenOptionsSource<S>): Promise<SyncSummary | null> {
  const options = await optionsOf(source);
  if (!(await exists(databaseName(options)))) return null;
  // One sync, now: no timers, no sync on open, and no registration (the browser already
  // retries a failed Background Sync by itself).
  const sync = { ...options.sync, syncOnOpen: false, intervalMs: false, debounceMs: false, backgroundSync: false };
  const db = await open({ ...options, sync } as OpenOptions<S>);
  try {
    return await db.syncNow();
  } finally {
    db.close();
  }
}

/** Whether IndexedDB has the database; true where the browser cannot say. */
async function exists(name: string): Promise<boolean> {
  if (typeof indexedDB.databases !== "function") return true;
  return (await indexedDB.databases()).some((d) => d.name === name);
}

function nameOf(error: unknown): string {
  return error instanceof Error ? error.name : "Error";
}
