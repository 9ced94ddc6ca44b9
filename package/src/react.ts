// React bindings ("ferrysync/react"): a provider for the open database and hooks that read it
// through useSyncExternalStore. Every hook is safe to call inline (a fresh but equal query on
// each render keeps its subscription), under StrictMode's double mount, and never re-renders
// for an answer equal to the last one.
import {
  createElement,
  useContext,
  useEffect,
  useMemo,
  useState,
  useSyncExternalStore,
  type ReactNode,
} from "react";
import type {
  BlobRef,
  Collection,
  ConflictOf,
  Database,
  ExternalStore,
  OutboxEntry,
  Query,
  StoredRecord,
  SyncLogEntry,
  SyncStatus,
  SpaceStatus,
  CollectionName,
} from "./index.js";
import { DatabaseContext, useDatabaseOr } from "./react/context.js";
import { queryKey } from "./react/key.js";
import { asyncStore, sharedStore } from "./react/stores.js";

export { useDatabase } from "./react/context.js";

export interface FerrysyncProviderProps<S = any> {
  /** The open database, or the promise `open()` returned: until it resolves the provider shows
   * `fallback`; if it rejects, the error is thrown to the nearest error boundary. Create the
   * promise once (at module level, or in state), not on every render. */
  db: Database<S> | Promise<Database<S>>;
  /** Shown while `db` is a pending promise (default: nothing). */
  fallback?: ReactNode;
  children?: ReactNode;
}

/** Makes `db` the database of every hook below it. */
export function FerrysyncProvider<S = any>({ db, fallback = null, children }: FerrysyncProviderProps<S>): ReactNode {
  const opened = useSettled(db);
  if (opened === undefined) return fallback;
  return createElement(DatabaseContext.Provider, { value: opened as Database }, children);
}

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };
/** Outcomes of the promises a provider was given, so that a re-render (or StrictMode's second
 * render) does not start over. */
const settled = new WeakMap<Promise<unknown>, Settled<unknown>>();

function useSettled<T>(value: T | Promise<T>): T | undefined {
  const promise = value instanceof Promise ? value : null;
  const outcome = promise === null ? undefined : (settled.get(promise) as Settled<T> | undefined);
  const [, setVersion] = useState(0);
  useEffect(() => {
    if (promise === null || outcome !== undefined) return;
    let current = true;
    promise
      .then(
        (v) => settled.set(promise, { ok: true, value: v }),
        (error: unknown) => settled.set(promise, { ok: false, error }),
      )
      .then(() => current && setVersion((n) => n + 1));
    return () => {
      current = false;
    };
  }, [promise, outcome]);
  if (promise === null) return value as T;
  if (outcome === undefined) return undefined;
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}

const NOTHING: ExternalStore<undefined> = {
  subscribe: () => () => {},
  getSnapshot: () => undefined,
};

function useStore<V>(store: ExternalStore<V>): V {
  return useSyncExternalStore(store.subscribe, store.getSnapshot, store.getSnapshot);
}

/**
 * The records matching `query` (all of them without one), kept current: `undefined` until the
 * first answer, then an array that keeps its identity, and its records theirs, while the
 * answer stays the same. A collection is told apart by its name (and the provider's database),
 * so `useLiveQuery(db.collection("tasks"), { index: "createdAt" })` inline is fine. Throws
 * InvalidQueryError during render for a malformed query.
 */
export function useLiveQuery<T extends object>(
  collection: Collection<T> | null | undefined,
  query?: Query & { includeDeleted?: false },
): Array<StoredRecord<T>> | undefined {
  const owner = useContext(DatabaseContext);
  const name = collection?.name;
  const key = queryKey(query);
  const store = useMemo(
    () => (collection ? sharedStore(collection.live(query), (rows) => rows) : NOTHING),
    // The collection and query objects may be new on every render; their name and key are not.
    [owner, name, key],
  );
  return useStore(store);
}

/**
 * One record by id, kept current: `undefined` until the first answer, `null` when there is no
 * such record (or no id), then the record, the same object while it is unchanged.
 */
export function useRecord<T extends object>(
  collection: Collection<T> | null | undefined,
  id: string | null | undefined,
): StoredRecord<T> | null | undefined {
  const owner = useContext(DatabaseContext);
  const name = collection?.name;
  const store = useMemo(() => {
    if (!collection) return NOTHING;
    if (id === null || id === undefined) return NO_RECORD;
    return sharedStore(collection.live({ equals: id }), (rows) => (rows === undefined ? undefined : (rows[0] ?? null)));
  }, [owner, name, id]);
  return useStore(store);
}

const NO_RECORD: ExternalStore<null> = { subscribe: () => () => {}, getSnapshot: () => null };

/** The sync status (`db.status()`), re-rendering only when one of its values changes. */
export function useSyncStatus(db?: Database): SyncStatus {
  const store = useDatabaseOr(db).statusStore();
  return useStore(store);
}

/** What `useBlob` gives: the `Blob` once it is here, or why it is not. */
export interface BlobState {
  readonly blob?: Blob;
  readonly error?: Error;
}

/**
 * The `Blob` of a blob field's value, as records read it: a `Blob` at once, a `BlobRef` (a file
 * not on this device) through `db.blob()`, which downloads it. `{}` while it comes, `{ error }`
 * when it cannot (BlobNotDownloadedError offline: tried again when the device is back online).
 */
export function useBlob(value: Blob | BlobRef | null | undefined, db?: Database): BlobState {
  const chosen = useDatabaseOr(db);
  const onlineStore = useMemo(() => sharedStore(chosen.statusStore(), (s) => s.online), [chosen]);
  const online = useStore(onlineStore);
  const key = value == null ? null : isBlobRef(value) ? value.$blob : value;
  const [state, setState] = useState<BlobState & { key?: unknown }>({});
  // A Blob is its own answer, the same object while the value is the same.
  const here = useMemo(() => (value != null && !isBlobRef(value) ? { blob: value } : NO_BLOB), [value]);
  useEffect(() => {
    if (value == null || !isBlobRef(value)) return;
    let live = true;
    chosen.blob(value).then(
      (blob) => live && setState({ blob, key }),
      (error: Error) => live && setState({ error, key }),
    );
    return () => {
      live = false;
    };
  }, [chosen, key, online]);
  if (value == null || !isBlobRef(value)) return here;
  return state.key === key ? state : NO_BLOB;
}

const NO_BLOB: BlobState = {};

function isBlobRef(value: Blob | BlobRef): value is BlobRef {
  return typeof (value as BlobRef).$blob === "string";
}

/** One space's status (`status().spaces[space]`: whether its first pull is done, its progress,
 * its last sync), re-rendering only when it changes; undefined while this device does not sync
 * the space. */
export function useSpaceStatus(space: string, db?: Database): SpaceStatus | undefined {
  const chosen = useDatabaseOr(db);
  const store = useMemo(() => sharedStore(chosen.statusStore(), (s) => s.spaces[space]), [chosen, space]);
  return useStore(store);
}

type Shared = "conflicts" | "outbox" | "log";

/** Per database, the stores of its conflicts, its outbox and its sync log, shared by every hook
 * reading them. */
const perDatabase = new WeakMap<Database, { [K in Shared]?: ExternalStore<unknown> }>();

function databaseStore<V>(db: Database, which: Shared, make: () => ExternalStore<V>): ExternalStore<V> {
  let stores = perDatabase.get(db);
  if (stores === undefined) perDatabase.set(db, (stores = {}));
  return (stores[which] ??= make()) as ExternalStore<V>;
}

/** Calls `changed` whenever the status changes in one of `fields`. */
function watchStatus(db: Database, fields: ReadonlyArray<keyof SyncStatus>, changed: () => void): () => void {
  const store = db.statusStore();
  let last = store.getSnapshot();
  return store.subscribe(() => {
    const now = store.getSnapshot();
    if (fields.some((f) => now[f] !== last[f])) changed();
    last = now;
  });
}

/** The unresolved conflicts (`db.conflicts()`), `undefined` until the first answer, read again
 * when the status says conflicts came or went or a sync ended. */
export function useConflicts<S = any>(db?: Database<S>): Array<ConflictOf<S>> | undefined {
  const chosen = useDatabaseOr(db) as Database;
  const store = databaseStore(chosen, "conflicts", () =>
    asyncStore(
      () => chosen.conflicts(),
      (changed) => watchStatus(chosen, ["conflicts", "syncing", "lastSyncAt"], changed),
    ),
  );
  return useStore(store) as Array<ConflictOf<S>> | undefined;
}

/** The queued local changes (`db.outbox()`), oldest first; `undefined` until the first answer,
 * read again after every committed change and every sync step. */
export function useOutbox<S = any>(db?: Database<S>): Array<OutboxEntry<CollectionName<S>>> | undefined {
  const chosen = useDatabaseOr(db) as Database;
  const store = databaseStore(chosen, "outbox", () =>
    asyncStore(
      () => chosen.outbox(),
      (changed) => {
        const stopChanges = chosen.subscribe(changed);
        const stopStatus = watchStatus(chosen, ["pending", "failed", "conflicts", "syncing", "progress"], changed);
        return () => {
          stopChanges();
          stopStatus();
        };
      },
    ),
  );
  return useStore(store) as Array<OutboxEntry<CollectionName<S>>> | undefined;
}

/** The sync log (`db.syncLog()`), newest first; `undefined` until the first answer, read again
 * whenever entries are added (`db.subscribeSyncLog`), in this tab or another. `clearSyncLog()`
 * announces nothing, so the entries it removed stay here until the next entry is added. */
export function useSyncLog<S = any>(db?: Database<S>): Array<SyncLogEntry<CollectionName<S>>> | undefined {
  const chosen = useDatabaseOr(db) as Database;
  const store = databaseStore(chosen, "log", () =>
    asyncStore(
      () => chosen.syncLog(),
      (changed) => chosen.subscribeSyncLog(changed),
    ),
  );
  return useStore(store) as Array<SyncLogEntry<CollectionName<S>>> | undefined;
}
