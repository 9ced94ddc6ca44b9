/* The public TypeScript surface of ferrysync. wasm-bindgen emits this text verbatim into the
 * package's .d.ts (see src/web/types.rs); every exported class skips its generated typing so
 * that this file is the one description of the API. */

/** Sync state of one record, kept in its `_sync` metadata. */
export type RecordStatus = "pending" | "synced" | "conflict" | "failed";

/** Metadata ferrysync keeps on every record, under the reserved field `_sync`. */
export interface RecordMeta {
  /** Local version: 1 on create, +1 on every local write. */
  readonly version: number;
  /** Last version the server acknowledged, or null if the server has never seen the record. */
  readonly serverVersion: number | null;
  readonly status: RecordStatus;
  /** Time of the last local write, in milliseconds since the epoch. */
  readonly updatedAt: number;
  /** True for a tombstone: a delete the server has not acknowledged yet. */
  readonly deleted: boolean;
  /** On tombstones only: the record's id, which feeds an internal index of tombstones. */
  readonly tombstone?: string;
}

/** The user's fields; `id` is optional on input (a UUID v7 is generated when absent). */
export type Fields = { [field: string]: unknown };
export type NewRecord<T extends Fields> = Omit<T, "id" | "_sync"> & { id?: string };
/** A record as stored and returned: the user's fields, its string id, and its metadata. */
export type StoredRecord<T extends Fields = Fields> = Omit<T, "id" | "_sync"> & {
  readonly id: string;
  readonly _sync: RecordMeta;
};

/** An index on one field (dotted paths allowed) or, with an array keyPath, a compound index. */
export interface IndexSpec {
  /** Defaults to the keyPath, compound paths joined with "+". */
  name?: string;
  keyPath: string | string[];
  unique?: boolean;
  multiEntry?: boolean;
}

export interface CollectionSpec {
  /** A string is shorthand for `{ keyPath: string }`. */
  indexes?: Array<string | IndexSpec>;
}

/** A data migration: runs once, after the schema of `version` is in place, and is recorded. */
export type Migration = (db: Database) => void | Promise<void>;

export interface VersionChangeInfo {
  /** The version another tab asked for (null when the database is being deleted). */
  newVersion: number | null;
}

export interface OpenOptions {
  /** Application name; with the tenant, it names the IndexedDB database. */
  app: string;
  /** Each tenant is its own database: nothing crosses between tenants. */
  tenant?: string;
  /** Schema version, a positive integer; raise it to add collections or indexes. */
  version: number;
  collections: { [name: string]: CollectionSpec };
  /** Data migrations keyed by the schema version they belong to; they run in ascending order. */
  migrations?: { [version: number]: Migration };
  /** Called after this connection closed itself because another tab opened a newer version. */
  onVersionChange?: (info: VersionChangeInfo) => void;
  /** How long to wait for older tabs to close before failing with UpgradeBlockedError (default 5000 ms). */
  blockedTimeoutMs?: number;
  /** Sync with a server. Without it the database is local only. */
  sync?: SyncOptions;
}

/** A mutation as pushed (docs/protocol.md). `data` is the record's fields without `id` and
 * `_sync`; absent for a delete. */
export interface Mutation {
  mutationId: string;
  collection: string;
  id: string;
  op: "upsert" | "delete";
  data?: Fields;
  /** The server version the change was made on; null if the client believes the record does
   * not exist on the server. */
  baseVersion: number | null;
}

/** A record as the server holds it. `version` 0 with `deleted` means it never existed there. */
export interface ServerRecord {
  collection: string;
  id: string;
  version: number;
  deleted: boolean;
  data: Fields | null;
  updatedAt?: number;
}

export type MutationResult =
  | { mutationId: string; status: "applied"; version: number }
  | { mutationId: string; status: "conflict"; current: ServerRecord }
  | { mutationId: string; status: "rejected"; code: string; message: string };

export interface PullPage {
  changes: ServerRecord[];
  cursor: string;
  hasMore: boolean;
}

/** Any backend: answer in the protocol's shapes. A thrown error (or a rejection) counts as a
 * network failure and is retried with backoff; an error with `retryAfterMs` sets the least
 * wait. Each mutation id must be applied at most once, a repeat answered like the first. */
export interface SyncTransport {
  push(batch: { mutations: Mutation[] }): Promise<{ results: MutationResult[] }>;
  /** `cursor` is null for the first pull. */
  pull(cursor: string | null, limit: number): Promise<PullPage>;
  /** Optional reachability check; without it the transport counts as reachable. */
  probe?(): Promise<unknown>;
}

export interface SyncTuning {
  /** Mutations per push (default 100). Halved for the session when the server answers 413. */
  batchSize?: number;
  /** Changes per pull page (default 500). */
  pullLimit?: number;
  /** Periodic sync, in ms (default 300000 = 5 minutes); false turns it off. */
  intervalMs?: number | false;
  /** A sync starts this long after the last local write of a burst (default 1000 ms); false
   * turns it off. */
  debounceMs?: number | false;
  /** Sync right after open (default true). */
  syncOnOpen?: boolean;
  /** A request without an answer by then is abandoned as a network failure (default 30000 ms). */
  requestTimeoutMs?: number;
}

export type SyncOptions =
  | (SyncTuning & {
      /** Base URL of a server speaking the ferrysync protocol, e.g. "https://api.example.com". */
      url: string;
      /** Bearer token; the server maps it to a tenant. A function is called before every
       * request, so that an app whose tokens expire can hand over a fresh one. If it throws or
       * rejects, the sync fails with NetworkError and is retried. */
      token: string | (() => string | Promise<string>);
      transport?: never;
    })
  | (SyncTuning & { transport: SyncTransport; url?: never; token?: never });

/** What one completed sync did. */
export interface SyncSummary {
  /** Queued changes the server acknowledged. */
  readonly pushed: number;
  /** Changes received from the server (echoes of this client's own pushes included). */
  readonly pulled: number;
  /** New conflicts found. */
  readonly conflicts: number;
  /** Changes the server rejected (now dead letters). */
  readonly rejected: number;
}

/** A record changed both here and on the server. Both versions are kept until resolved. */
export interface Conflict {
  readonly collection: string;
  readonly id: string;
  /** The local record as it was when the conflict was found (null if it no longer existed). */
  readonly local: StoredRecord | Tombstone | null;
  /** The server's record. */
  readonly server: ServerRecord;
  readonly detectedAt: number;
}

/** A change the server rejected: it stays in the outbox, held, with the server's answer. */
export interface DeadLetter extends OutboxEntry {
  readonly hold: "failed";
  readonly error: { readonly code: string; readonly message: string };
}

export type ChangeOp = "create" | "update" | "delete";
export interface Change {
  readonly id: string;
  readonly op: ChangeOp;
}
/** Emitted once per committed transaction. */
export interface ChangeEvent {
  readonly collection: string;
  readonly changes: ReadonlyArray<Change>;
}
export type ChangeListener = (event: ChangeEvent) => void;
export type Unsubscribe = () => void;

/** The sync status snapshot. It keeps its identity until one of its values changes. */
export interface SyncStatus {
  /** The sync server answered this tab's last request or probe. False before the first sync,
   * after an `offline` event and after a network failure; always false without `sync`. */
  readonly online: boolean;
  /** A sync is running, in this tab or another tab of the same database. */
  readonly syncing: boolean;
  /** Queued local changes not yet acknowledged by the server, including those held by a
   * conflict or a rejection. Counted just after open, once the page's first queries are under
   * way (subscribers are notified when it lands), then kept current by every write, every sync
   * step and other tabs' changes. */
  readonly pending: number;
  /** Changes the server rejected (dead letters); see `failed()`. */
  readonly failed: number;
  /** Records waiting for a conflict to be resolved; see `conflicts()`. */
  readonly conflicts: number;
  /** When the last sync completed (ms since the epoch). */
  readonly lastSyncAt: number | null;
  /** Why the last sync failed; null once one succeeds. */
  readonly lastError: string | null;
  /** During a push: entries sent and the total of this sync (it grows if writes arrive). */
  readonly progress: { readonly done: number; readonly total: number } | null;
}

/**
 * A value that plugs into React's `useSyncExternalStore(store.subscribe, store.getSnapshot)`:
 * both functions are bound, and `getSnapshot` returns the same object until the value changes.
 */
export interface ExternalStore<S> {
  readonly subscribe: (onStoreChange: () => void) => Unsubscribe;
  readonly getSnapshot: () => S;
}

export interface KeyRange {
  lower?: IDBValidKey;
  upper?: IDBValidKey;
  lowerOpen?: boolean;
  upperOpen?: boolean;
}

export interface Query {
  /** A declared index name; without it the query walks ids in order. */
  index?: string;
  /** Exact match on the index (or id) key. */
  equals?: IDBValidKey;
  /** A range on the index (or id) key; ignored when `equals` is given. */
  range?: KeyRange;
  order?: "asc" | "desc";
  limit?: number;
  offset?: number;
  /** Tombstones (deleted, not yet synced) are left out unless this is true. A tombstone
   * keeps no user fields, so it never matches an index query. */
  includeDeleted?: boolean;
}

export interface GetOptions {
  includeDeleted?: boolean;
}

/** One queued local change, as kept in the outbox. */
export interface OutboxEntry {
  readonly seq: number;
  readonly mutationId: string;
  readonly collection: string;
  readonly recordId: string;
  readonly op: ChangeOp;
  /** The server version this change was made on (null for a record the server never had). */
  readonly baseVersion: number | null;
  readonly queuedAt: number;
  /** How many times it was sent. A sent entry never absorbs later writes. */
  readonly attempts: number;
  /** Held back from pushing until a conflict is resolved or a rejection retried/discarded. */
  readonly hold?: "conflict" | "failed";
}

/** A deleted record the server has not acknowledged yet: only its id and metadata remain. */
export interface Tombstone {
  readonly id: string;
  readonly _sync: RecordMeta & { readonly deleted: true };
}

export class Collection<T extends Fields = Fields> {
  private constructor();
  readonly name: string;
  /** Adds a record; fails with RecordExistsError if the id is taken. */
  create(data: NewRecord<T>): Promise<StoredRecord<T>>;
  get(id: string, options?: GetOptions & { includeDeleted?: false }): Promise<StoredRecord<T> | undefined>;
  get(id: string, options: GetOptions): Promise<StoredRecord<T> | Tombstone | undefined>;
  /** Merges a partial patch into the record (shallow); fails with RecordNotFoundError. */
  update(id: string, patch: Partial<Omit<T, "id" | "_sync">>): Promise<StoredRecord<T>>;
  /** Replaces all user fields of an existing record; fails with RecordNotFoundError. */
  replace(id: string, data: Omit<T, "id" | "_sync">): Promise<StoredRecord<T>>;
  /** Creates or replaces. */
  put(data: NewRecord<T>): Promise<StoredRecord<T>>;
  /** Deletes (leaving a tombstone until the server has it); false if there was no such record. */
  delete(id: string): Promise<boolean>;
  /** Creates many records in one transaction: all or nothing. Returns their ids in order. */
  bulkCreate(records: Array<NewRecord<T>>): Promise<string[]>;
  /** Creates or replaces many records in one transaction: all or nothing. Returns their ids. */
  bulkPut(records: Array<NewRecord<T>>): Promise<string[]>;
  query(query?: Query & { includeDeleted?: false }): Promise<Array<StoredRecord<T>>>;
  query(query: Query): Promise<Array<StoredRecord<T> | Tombstone>>;
  count(query?: Query): Promise<number>;
  /** Fires after each committed transaction that touched this collection. Throws
   * InvalidOptionsError if `listener` is not a function. */
  subscribe(listener: ChangeListener): Unsubscribe;
  /** A live query: re-runs after each commit to this collection; snapshot is undefined until the
   * first answer. Throws InvalidQueryError at once for a malformed query. */
  live(query?: Query & { includeDeleted?: false }): ExternalStore<Array<StoredRecord<T>> | undefined>;
  /** Frees this handle's wasm memory (the database stays open). */
  free(): void;
}

export class Database {
  private constructor();
  /** The IndexedDB database name: `ferrysync:<app>` or `ferrysync:<app>:<tenant>`. */
  readonly name: string;
  readonly app: string;
  readonly tenant: string | null;
  readonly version: number;
  readonly collectionNames: string[];
  /** False once closed, by `close()` or because another tab upgraded the database. */
  readonly isOpen: boolean;
  /** Throws UnknownCollectionError for a collection not in the schema. */
  collection<T extends Fields = Fields>(name: string): Collection<T>;
  /** Fires after each committed transaction in any collection. Throws InvalidOptionsError if
   * `listener` is not a function. */
  subscribe(listener: ChangeListener): Unsubscribe;
  /** The status snapshot; the same object until something changes. */
  status(): SyncStatus;
  statusStore(): ExternalStore<SyncStatus>;
  /** The queued local changes, oldest first. */
  outbox(): Promise<OutboxEntry[]>;
  /** Pushes the queue and pulls the server's changes now. Resolves when a sync that started
   * after this call completes; rejects with NetworkError (offline, unreachable, 5xx, 429) or
   * SyncError (refused, e.g. a bad token), and a retry is scheduled with backoff. Rejects with
   * InvalidOptionsError without a `sync` option. */
  syncNow(): Promise<SyncSummary>;
  /** Every unresolved conflict. */
  conflicts(): Promise<Conflict[]>;
  /** Keeps the local version (pushed again on top of the server's) or the server's version
   * (replacing the local one, its queued changes dropped). RecordNotFoundError if there is no
   * such conflict. */
  resolveConflict(collection: string, id: string, keep: "local" | "server"): Promise<void>;
  /** The changes the server rejected. */
  failed(): Promise<DeadLetter[]>;
  /** Sends a rejected change again, as the record is now, under a new mutation id. */
  retryFailed(collection: string, id: string): Promise<void>;
  /** Drops a rejected change and the record's later queued changes. A record the server never
   * had is removed; any other gets the server's version back on the next sync. */
  discardFailed(collection: string, id: string): Promise<void>;
  /** Closes the connection. Queued changes stay in the outbox for the next open. */
  close(): void;
  /** Frees this handle's wasm memory; the connection closes once no handle of it remains. */
  free(): void;
}

export function open(options: OpenOptions): Promise<Database>;
/** Deletes a tenant's database. Connections of this library close themselves; one that does
 * not close within 5 s fails the delete with UpgradeBlockedError. */
export function deleteDatabase(app: string, tenant?: string): Promise<void>;

export type FerrysyncErrorName =
  | "UnknownCollectionError"
  | "UnknownIndexError"
  | "RecordNotFoundError"
  | "RecordExistsError"
  | "InvalidRecordError"
  | "ReservedFieldError"
  | "InvalidQueryError"
  | "InvalidOptionsError"
  | "QuotaExceededError"
  | "StorageUnavailableError"
  | "UpgradeBlockedError"
  | "DatabaseClosedError"
  | "MigrationError"
  | "NetworkError"
  | "SyncError"
  | "StorageError";

/** Every rejection from ferrysync is an Error whose `name` is one of FerrysyncErrorName. */
export interface FerrysyncError extends Error {
  name: FerrysyncErrorName;
  /** The browser's DOMException name, when one caused the error. */
  domName?: string;
  /** The browser's DOMException message, when one caused the error. */
  domMessage?: string;
}
