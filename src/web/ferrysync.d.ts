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
  /** The server answered the last probe (false until a sync engine is configured). */
  readonly online: boolean;
  readonly syncing: boolean;
  /** Queued local changes not yet acknowledged by the server. Counted just after open, once the
   * page's first queries are under way (subscribers are notified when it lands), then kept
   * current by every write. */
  readonly pending: number;
  /** Changes the server rejected (kept as dead letters). */
  readonly failed: number;
  /** Records waiting for a conflict to be resolved. */
  readonly conflicts: number;
  readonly lastSyncAt: number | null;
  readonly lastError: string | null;
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
  readonly attempts: number;
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
  | "StorageError";

/** Every rejection from ferrysync is an Error whose `name` is one of FerrysyncErrorName. */
export interface FerrysyncError extends Error {
  name: FerrysyncErrorName;
  /** The browser's DOMException name, when one caused the error. */
  domName?: string;
  /** The browser's DOMException message, when one caused the error. */
  domMessage?: string;
}
