/* The public TypeScript surface of ferrysync: the types of the package entry ("ferrysync").
 * The classes and functions are the wasm module's exports under the names the Rust code gives
 * them (src/web/api.rs), plus the entry's own `preload`, `FerrysyncError` and
 * `isFerrysyncError`. Every Rust export skips its generated typing (src/web/types.rs), so this
 * file is the one description of the API. Needs TypeScript 5.4 or later and the "DOM" lib. */

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
  /** On a record a write just returned, when its space field names a space this device does not
   * sync (`db.spaces`): the write is kept and sent, and once the server has it the record goes
   * from this device (it lives on in that space). */
  readonly outside?: true;
}

/** Records of no declared type: any fields. */
export type Fields = { [field: string]: unknown };

/** The user's fields of a record type `T` (an interface or a type alias): all but `id` and `_sync`. */
export type UserFields<T extends object> = Omit<T, "id" | "_sync">;
/** A record as written: the user's fields; `id` is optional (a UUID v7 is generated when absent). */
export type NewRecord<T extends object = Fields> = UserFields<T> & { id?: string };
/** A record as stored and returned: the user's fields, its string id, and its metadata. */
export type StoredRecord<T extends object = Fields> = UserFields<T> & {
  readonly id: string;
  readonly _sync: RecordMeta;
};

/* A schema, the `S` of `open<S>`, `Database<S>` and `OpenOptions<S>`, gives the record type of
 * each collection by name, e.g. `{ tasks: Task; notes: Note }`; every collection, conflict and
 * outbox entry is typed from it. A database opened without one knows its collection names
 * (from `collections`) and types their records as `Fields`. */

/** The collection names of a schema. */
export type CollectionName<S> = keyof S & string;
/** The record type of one collection of a schema (`Fields` when the schema leaves it open). */
export type RecordOf<T> = unknown extends T ? Fields : T extends object ? T : never;

/** The key paths an index of records of type `T` may use: a field, or a dotted path into
 * nested objects (four levels deep). Any string when the record type is open. */
export type KeyPath<T> = unknown extends T ? string : KeyPathOf<T, []>;
type KeyPathOf<T, Depth extends unknown[]> = Depth["length"] extends 4
  ? never
  : {
      [K in keyof T & string]:
        | K
        | (NonNullable<T[K]> extends readonly unknown[] | Date | ArrayBuffer | ArrayBufferView
            ? never
            : NonNullable<T[K]> extends object
              ? `${K}.${KeyPathOf<NonNullable<T[K]>, [...Depth, 1]>}`
              : never);
    }[keyof T & string];

/** The top-level fields of `T` that hold a string (a space field's candidates), `id` aside; any
 * string when the record type is open. */
export type StringField<T> = unknown extends T
  ? string
  : { [K in Exclude<keyof T & string, "id" | "_sync">]: NonNullable<T[K]> extends string ? K : never }[Exclude<
      keyof T & string,
      "id" | "_sync"
    >];

/** An index on one field (dotted paths allowed) or, with an array keyPath, a compound index. */
export interface IndexSpec<T = Fields> {
  /** Defaults to the keyPath, compound paths joined with "+". */
  name?: string;
  keyPath: NoInfer<KeyPath<T>> | Array<NoInfer<KeyPath<T>>>;
  unique?: boolean;
  multiEntry?: boolean;
}

/** How a collection's conflicts are settled: kept for a person (`"manual"`, the default), by the
 * server's version, by the local one, by the newer write (`"last-write-wins"`: each version's
 * write time on the server's clock; a tie goes to a person), or by a three-way merge whose fields changed on both sides
 * to different values go to a person, or to the named side with `{ merge: ... }`. Every
 * automatic settlement is written to the sync log with both versions. */
export type ConflictStrategy<T extends object = Fields> =
  | "manual"
  | "server-wins"
  | "client-wins"
  | "last-write-wins"
  | "merge"
  | { merge: "manual" | "server-wins" | "client-wins" | "last-write-wins" }
  | ConflictResolver<T>;

/** A collection's own resolver: called during a sync with each conflict (as `conflicts()` gives
 * it), it answers which side to keep, merged data (a plain object of the record's fields), or
 * `"manual"` to leave it for a person. It may be async. One that throws, rejects, answers
 * anything else or takes over 10 s leaves the conflict for a person, and the sync log says why
 * (an `unresolved` entry). */
export type ConflictResolver<T extends object = Fields> = (
  conflict: Conflict<T>,
) => ResolverAnswer | Promise<ResolverAnswer>;
export type ResolverAnswer = "local" | "server" | "manual" | Fields;

export interface CollectionSpec<T = Fields> {
  /** A string is shorthand for `{ keyPath: string }`. */
  indexes?: Array<NoInfer<KeyPath<T>> | IndexSpec<T>>;
  /** How conflicts of this collection are settled (default `"manual"`). */
  conflicts?: ConflictStrategy<T & object>;
  /** The top-level field whose value (a string) is a record's space, e.g. `"projectId"`. When a
   * collection declares one, the device syncs only the spaces `db.spaces` lists (records of no
   * space, and collections without this field, sync as always). A record whose field is not a
   * string belongs to no space. An index on the field speeds up `db.spaces.remove()`. */
  space?: NoInfer<StringField<T>>;
  /** The top-level fields that may hold files (`Blob`s or `File`s, at any depth inside them:
   * `photo: Blob`, `pages: Blob[]`). Each file is stored once per content beside the records
   * (addressed by its SHA-256), read back as a `Blob`, and uploaded to the server, in chunks that
   * resume where they stopped, before any change that refers to it. A `Blob` in another field is
   * refused with InvalidRecordError. A file pulled from the server and not downloaded here reads
   * as its reference (`BlobRef`); `db.blob(value)` gives its `Blob`, downloading it if need be. */
  blobs?: Array<NoInfer<Exclude<keyof T & string, "id" | "_sync">>>;
  /** How the files of records pulled from the server come to this device: `"eager"` (default)
   * downloads each one of up to `eagerDownloadBytes` during the sync, after the pull; `"lazy"`
   * downloads a file on its first `db.blob()` (BlobNotDownloadedError offline). */
  download?: "eager" | "lazy";
  /** The largest file an eager collection downloads during the sync (default 16777216); larger
   * ones come on their first `db.blob()`. */
  eagerDownloadBytes?: number;
}

/** A file a record refers to that is not on this device (yet): what a blob field reads as until
 * it is downloaded. `db.blob(ref)` downloads it. */
export interface BlobRef {
  /** The SHA-256 of its bytes (64 lowercase hex digits). */
  readonly $blob: string;
  readonly size: number;
  readonly type: string;
}

/** A data migration: runs once, after the schema of `version` is in place, and is recorded. */
export type Migration<S = any> = (db: Database<S>) => void | Promise<void>;

export interface VersionChangeInfo {
  /** The version another tab asked for (null when the database is being deleted). */
  newVersion: number | null;
}

export interface OpenOptions<S = any> {
  /** Application name; with the tenant, it names the IndexedDB database. */
  app: string;
  /** Each tenant is its own database: nothing crosses between tenants. */
  tenant?: string;
  /** Schema version, a positive integer; raise it to add collections or indexes. */
  version: number;
  /** Every collection of the schema, with its indexes. */
  collections: { [K in keyof S]: CollectionSpec<S[K]> };
  /** Data migrations keyed by the schema version they belong to; they run in ascending order. */
  migrations?: { [version: number]: Migration<S> };
  /** Called after this connection closed itself because another tab opened a newer version. */
  onVersionChange?: (info: VersionChangeInfo) => void;
  /** How long to wait for older tabs to close before failing with UpgradeBlockedError (default 5000 ms). */
  blockedTimeoutMs?: number;
  /** The spaces a database starts with (see `db.spaces`), stored as it is created, so that its
   * first sync pulls them; ignored for a database that exists already (change it with
   * `db.spaces`). Needs a collection with a `space` field. */
  spaces?: ReadonlyArray<string>;
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
  /** Set by `forcePush()`: the server takes the change whatever its base version. */
  force?: boolean;
}

/** A record as the server holds it. `version` 0 with `deleted` means it never existed there. */
export interface ServerRecord<T extends object = Fields> {
  collection: string;
  id: string;
  version: number;
  deleted: boolean;
  data: UserFields<T> | null;
  updatedAt?: number;
  /** This version was written by a force push. */
  forced?: boolean;
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
  /** Pulled changes written per IndexedDB transaction (default 100): a larger page is written
   * in slices, so that the app's reads and writes never wait behind a long transaction. Set it
   * to `pullLimit` for the fastest initial sync. */
  applyLimit?: number;
  /** Periodic sync, in ms (default 300000 = 5 minutes); false turns it off. */
  intervalMs?: number | false;
  /** A sync starts this long after the last local write of a burst (default 1000 ms); false
   * turns it off. */
  debounceMs?: number | false;
  /** Sync right after open (default true). */
  syncOnOpen?: boolean;
  /** A request without an answer by then is abandoned as a network failure (default 30000 ms). */
  requestTimeoutMs?: number;
  /** Bytes per chunk of a file upload, from 65536 to 8388608 (default 1048576): smaller chunks
   * lose less to a dropped connection, larger ones cost fewer requests. */
  chunkBytes?: number;
  /** The most bytes of files kept on this device (default 536870912), or false for no cap.
   * Beyond it, storing a file (a write or a download) evicts downloaded files, the least
   * recently read first; a file whose upload is not done is never evicted. An evicted file reads
   * as its `BlobRef` again, and `db.blob()` downloads it. */
  blobCacheBytes?: number | false;
  /** Registers a Background Sync (tag `"ferrysync:" + db.name`) with the page's service worker
   * whenever changes are queued, so that a worker calling `backgroundSync()` of
   * `ferrysync/sw` sends them after the page has closed (default false); and, at open, a
   * Periodic Background Sync of the same tag every `intervalMs` at least, where the browser
   * grants `periodic-background-sync`. Nothing happens where there is no service worker or no
   * SyncManager. */
  backgroundSync?: boolean;
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

/** Sync health, for an app's own monitoring: what the syncs of this tab (or worker) did since
 * it opened the database. Times are ms since the epoch, durations ms; `null`: never happened. */
export interface SyncMetrics {
  /** Syncs that ended well, and that failed (an attempt while offline is neither). */
  readonly syncs: number;
  readonly failedSyncs: number;
  /** Push and pull requests the server answered. */
  readonly pushes: number;
  readonly pulls: number;
  /** Changes sent (every attempt counts), and records received (tombstones included). */
  readonly changesSent: number;
  readonly recordsReceived: number;
  /** Request bodies sent and answers' `Content-Length` received, over `sync.url` (0 with a
   * `transport` of the app's own). */
  readonly bytesSent: number;
  readonly bytesReceived: number;
  /** Requests sent again within a sync: after a fresh token, with a halved batch, or from the
   * start after the server forgot the cursor. */
  readonly retries: number;
  /** Failed syncs by error name, e.g. `{ NetworkError: 3 }`. */
  readonly failures: Readonly<Partial<Record<FerrysyncErrorName, number>>>;
  readonly lastSuccessAt: number | null;
  /** How long the last successful sync took, and how long ago it ended. */
  readonly lastSyncMs: number | null;
  readonly sinceLastSuccessMs: number | null;
  readonly lastFailureAt: number | null;
  /** The round trips of the last push and the last pull. */
  readonly lastPushMs: number | null;
  readonly lastPullMs: number | null;
  /** How long the oldest change still queued has waited (`null`: nothing is queued). Read from
   * the database, so it counts every tab's changes. */
  readonly oldestPendingAgeMs: number | null;
  /** The size of the wasm module's memory in bytes, shared by every database of the page or
   * worker. It grows and never shrinks, so it is also its peak. */
  readonly wasmMemoryBytes: number;
}

/** What `checkIntegrity()` found: during the check (its `onProgress`) and at the end. */
export interface IntegrityTally {
  /** Records read so far, tombstones included. */
  readonly checked: number;
  /** Records stored when the check started, in every collection. */
  readonly total: number;
  /** Damaged records with nothing queued: deleted here (their raw value in the sync log) and
   * pulled again from the server. */
  readonly setAside: number;
  /** Damaged records with changes queued: kept, with new metadata, and pushed whole. */
  readonly rebuilt: number;
}

/** One queued change in `exportPending()`. */
export interface ExportedChange<C extends string = string> {
  readonly collection: C;
  readonly id: string;
  readonly op: ChangeOp;
  readonly mutationId: string;
  /** The server's version the change started from (`null`: a record new here). */
  readonly baseVersion: number | null;
  readonly queuedAt: number;
  /** Times it was sent without an answer that settled it. */
  readonly attempts: number;
  /** Held by a conflict or a rejection (then with the server's `error`), or `null`. */
  readonly held: "conflict" | "failed" | null;
  readonly error?: { readonly code: string; readonly message: string };
  /** The record as it is here (its id and fields), `null` when it is deleted here. */
  readonly record: ({ id: string } & Fields) | null;
}

/** Every queued change, as plain JSON data (`JSON.stringify` it for a file). */
export interface PendingExport<C extends string = string> {
  readonly app: string;
  readonly tenant: string | null;
  readonly exportedAt: number;
  readonly changes: ReadonlyArray<ExportedChange<C>>;
}

/** The origin's storage, as the browser reports it (bytes; `null` where it does not say). */
export interface StorageInfo {
  readonly usage: number | null;
  readonly quota: number | null;
  /** Whether the browser keeps this origin's data under storage pressure (see `persist()`). */
  readonly persisted: boolean | null;
}

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
  /** Conflicts settled by their collection's strategy (see `syncLog()`). */
  readonly resolved: number;
}

/** One field changed since the base, and on which side. Nested plain objects changed on both
 * sides are compared field by field (`path` has one name per level); arrays and other values
 * count as one field. A side's value is undefined where the field is absent or the record is
 * deleted there. */
export interface FieldDiff {
  readonly path: ReadonlyArray<string>;
  readonly base: unknown;
  readonly local: unknown;
  readonly server: unknown;
  readonly change: "local" | "server" | "both-same" | "both-different";
}

/** One entry of the sync log: what happened to people's changes without them doing it there and
 * then. `resolved`: a conflict settled by a strategy (`by` names it) or by `resolveConflict`
 * (`by: "user"`), with both versions as they were (`local`, `server`; null when deleted) and
 * what was `kept`; a rollback notice is a resolution whose `kept` is "server" or "merged".
 * `rejected`: the server refused a change for good (`code`, `message`, and the change's data as
 * `local`). `retried` / `discarded`: a decision on a rejected change. A pulled version that
 * clashed on a unique index is `resolved` with `kept: "server"` once it can be stored, `by` the
 * collection's strategy (`"manual"` included). `quarantined`: a stored row that does not decode
 * was taken out of the queue, its raw value in `local` and why in `message`. */
export interface SyncLogEntry<C extends string = string> {
  readonly seq: number;
  readonly at: number;
  readonly kind:
    | "resolved"
    | "rejected"
    | "retried"
    | "discarded"
    | "force-push"
    | "force-pull"
    | "swept"
    | "wipe"
    | "unresolved"
    | "quarantined"
    | "evicted";
  readonly collection: C;
  readonly id: string;
  readonly by?: "user" | "manual" | "server-wins" | "client-wins" | "last-write-wins" | "merge" | "custom";
  readonly kept?: "local" | "server" | "merged";
  readonly local?: Fields | null;
  readonly server?: Fields | null;
  readonly code?: string;
  readonly message?: string;
  /** On a force or wipe entry (`collection` names its collections, comma-separated, or `*` for
   * all; `id` is empty, or the space a space's removal wiped): the changes it forced, dropped or
   * kept, or the records a sweep or a wipe removed. */
  readonly count?: number;
  /** On a wipe entry: the queued changes it dropped (0 unless `discardPending` was given). */
  readonly dropped?: number;
  /** On the wipe of a space (`db.spaces.remove()`): the space. */
  readonly space?: string;
}

/** Options of `forcePush()`: the collections whose queued changes the server must take (all
 * when absent). */
export interface ForcePushOptions<C extends string = string> {
  collections?: ReadonlyArray<C>;
}

/** Options of `forcePull()`: the collections, or the spaces, whose local data becomes the
 * server's (everything when neither is given). */
export type ForcePullOptions<C extends string = string> =
  | {
      /** The collections whose local data becomes the server's (all when absent). */
      collections?: ReadonlyArray<C>;
      spaces?: never;
      /** Keep queued changes and re-apply them on top of the server's state (through each
       * collection's conflict strategy), instead of dropping them. */
      keepLocalChanges?: boolean;
    }
  | {
      collections?: never;
      /** The spaces whose local records become the server's (see `db.spaces`): each must be one
       * this device syncs (InvalidOptionsError otherwise, nothing changed). Only those spaces
       * are pulled from their start, unless dropping a queued change there means a record may
       * have moved in from elsewhere: then every space is. Records of other spaces, and of no
       * space, keep their queued changes. */
      spaces: ReadonlyArray<string>;
      keepLocalChanges?: boolean;
    };

/** A record changed both here and on the server. Both versions are kept until resolved. */
export interface Conflict<T extends object = Fields, C extends string = string> {
  readonly collection: C;
  readonly id: string;
  /** The record here as it is now (null if it no longer exists): edits made while the conflict
   * waited are in it. */
  readonly local: StoredRecord<T> | Tombstone | null;
  /** The server's record. */
  readonly server: ServerRecord<T>;
  /** The server's data the local change started from; null when the record was new here. */
  readonly base: Partial<T> | null;
  /** Every field changed since `base`, and on which side. */
  readonly diff: ReadonlyArray<FieldDiff>;
  readonly detectedAt: number;
}

/** The conflicts a database of schema `S` can hold: one `Conflict` type per collection, told
 * apart by `collection`. */
export type ConflictOf<S> = { [K in CollectionName<S>]: Conflict<RecordOf<S[K]>, K> }[CollectionName<S>];

/** A change the server rejected: it stays in the outbox, held, with the server's answer. */
export interface DeadLetter<C extends string = string> extends OutboxEntry<C> {
  readonly hold: "failed";
  readonly error: { readonly code: string; readonly message: string };
}

export type ChangeOp = "create" | "update" | "delete";
export interface Change {
  readonly id: string;
  readonly op: ChangeOp;
}
/** Emitted once per committed transaction. */
export interface ChangeEvent<C extends string = string> {
  readonly collection: C;
  readonly changes: ReadonlyArray<Change>;
}
export type ChangeListener<C extends string = string> = (event: ChangeEvent<C>) => void;
export type Unsubscribe = () => void;

/** One space this device syncs, in `status().spaces`. */
export interface SpaceStatus {
  /** Its first full pull is done: every record of the space is here (as of then). */
  readonly ready: boolean;
  /** Entries (changed records and records that left the space) received for it by the sync
   * under way; null when no pull of it runs. The server sends no total. */
  readonly pulled: number | null;
  /** When a pull of it last reached its end (ms since the epoch); null before the first. */
  readonly lastSyncAt: number | null;
}

/** `db.spaces`: the spaces this device syncs, stored with the database (they survive reloads).
 * Every method rejects with InvalidOptionsError when no collection declares a `space` field, and
 * for a space id that is not a non-empty string of at most 256 characters. */
export class Spaces {
  private constructor();
  /** The spaces this device syncs, in order. */
  list(): Promise<string[]>;
  /** Syncs `space` from now on: it is pulled from its start while the other spaces carry on, at
   * once when online, else at the next sync. Allowed offline and during a sync. Resolves with
   * false when the device synced it already. With `wait`, resolves once its first full pull is
   * done (waiting through offline periods and retries); rejects with SpaceRemovedError if the
   * space is removed first, InvalidOptionsError without `sync`, DatabaseClosedError on close. */
  add(space: string, options?: { wait?: boolean }): Promise<boolean>;
  /** Stops syncing `space` and removes its records from this device (never from the server),
   * with their conflicts and rejected changes, waiting for a running sync. Refused with
   * PendingChangesError (`pending` counts them), nothing changed, while some of them have
   * queued changes, unless `discardPending` is true. Logged as a `wipe` whose `id` is the
   * space. */
  remove(space: string, options?: WipeOptions): Promise<void>;
  /** Frees this handle's wasm memory (the database stays open). */
  free(): void;
}

/** The sync status snapshot. It keeps its identity until one of its values changes. */
export interface SyncStatus {
  /** The sync server answered this tab's last request or probe. False before the first sync,
   * after an `offline` event and after a network failure; always false without `sync`. */
  readonly online: boolean;
  /** A sync is running, in this tab or another tab of the same database. */
  readonly syncing: boolean;
  /** Queued local changes that can still be sent: 0 means nothing is left to send. Changes held
   * by a conflict or a rejection (and those queued behind them) count only in `conflicts` and
   * `failed`. Counted just after open, once the page's first queries are under way (subscribers
   * are notified when it lands), then kept current by every write, every sync step and other
   * tabs' changes. */
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
  /** Each space this device syncs (see `db.spaces`), by id; empty without spaces. */
  readonly spaces: Readonly<Record<string, SpaceStatus>>;
  /** Set by the open that found this device's database cleared outside ferrysync (deleted in
   * the browser's tools or by a script, or evicted by the browser while a marker of it was
   * kept): the data is pulled afresh, and `lostUnsent` counts the changes the lost database had
   * not sent when last seen (written about a second after they changed). Reported by that open
   * only, and in the sync log (`evicted`); null otherwise. When the browser clears the whole
   * origin, the marker goes too and the device looks new: see docs/storage.md. */
  readonly evicted: { readonly detectedAt: number; readonly lostUnsent: number; readonly lastSeenAt: number } | null;
  /** The file being uploaded by the sync under way: its hash, and the bytes the server holds of
   * it (`done`) out of `total`; null when no upload runs. */
  readonly upload: { readonly blob: string; readonly done: number; readonly total: number } | null;
  /** The file being downloaded by the sync under way: its hash, and the bytes received (`done`)
   * out of `total`; null when no download runs. */
  readonly download: { readonly blob: string; readonly done: number; readonly total: number } | null;
  /** Bytes of files: stored on this device, stored and waiting to go up, and referred to by
   * pulled records of eager collections and waiting to come down (as last counted). */
  readonly blobBytes: { readonly stored: number; readonly toUpload: number; readonly toDownload: number };
  /** The server has no blob endpoints (it predates them): files stay here, and the changes that
   * refer to them stay queued while everything else syncs. */
  readonly blobsUnsupported: boolean;
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
export interface OutboxEntry<C extends string = string> {
  readonly seq: number;
  readonly mutationId: string;
  readonly collection: C;
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

export class Collection<T extends object = Fields> {
  private constructor();
  readonly name: string;
  /** Adds a record; fails with RecordExistsError if the id is taken. */
  create(data: NewRecord<T>): Promise<StoredRecord<T>>;
  get(id: string, options?: GetOptions & { includeDeleted?: false }): Promise<StoredRecord<T> | undefined>;
  get(id: string, options: GetOptions): Promise<StoredRecord<T> | Tombstone | undefined>;
  /** Merges a partial patch into the record (shallow); fails with RecordNotFoundError. */
  update(id: string, patch: Partial<UserFields<T>>): Promise<StoredRecord<T>>;
  /** Replaces all user fields of an existing record; fails with RecordNotFoundError. */
  replace(id: string, data: UserFields<T>): Promise<StoredRecord<T>>;
  /** Creates or replaces. */
  put(data: NewRecord<T>): Promise<StoredRecord<T>>;
  /** Deletes (leaving a tombstone until the server has it); false if there was no such record. */
  delete(id: string): Promise<boolean>;
  /** Clears this collection's local data (records, queued changes, conflicts, rejected changes);
   * the server's data is untouched, and it does not come back by itself (the pull cursor is past
   * it): `forcePull({ collections: [name] })` brings it back. Waits for a running sync and never
   * half-applies. Refused with PendingChangesError (`pending` counts them), nothing changed,
   * while the collection has queued changes, unless `discardPending` is true. Logged. */
  wipe(options?: WipeOptions): Promise<void>;
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
  /** A live query: updated in place after each commit to this collection (the changed records
   * are read and placed; a commit that touches none of its rows keeps the same snapshot and calls
   * no listener); snapshot is undefined until the first answer. Throws InvalidQueryError at once
   * for a malformed query. */
  live(query?: Query & { includeDeleted?: false }): ExternalStore<Array<StoredRecord<T>> | undefined>;
  /** Frees this handle's wasm memory (the database stays open). */
  free(): void;
}

/** An open database. `S` is its schema (record types by collection name); a bare `Database`
 * stands for a database of any schema. */
export class Database<S = any> {
  // Collection names are written `keyof S & string` rather than CollectionName<S>, so that a
  // wrong name's error lists the names.
  private constructor();
  /** The IndexedDB database name: `ferrysync:<app>` or `ferrysync:<app>:<tenant>`. */
  readonly name: string;
  readonly app: string;
  readonly tenant: string | null;
  readonly version: number;
  readonly collectionNames: Array<keyof S & string>;
  /** False once closed, by `close()` or because another tab upgraded the database. */
  readonly isOpen: boolean;
  /** A handle on one collection of the schema, typed from it. Throws UnknownCollectionError for
   * a collection not in the schema. */
  collection<K extends keyof S & string>(name: K): Collection<RecordOf<S[K]>>;
  /** Fires after each committed transaction in any collection. Throws InvalidOptionsError if
   * `listener` is not a function. */
  subscribe(listener: ChangeListener<keyof S & string>): Unsubscribe;
  /** The spaces this device syncs (collections with a `space` field). */
  readonly spaces: Spaces;
  /** The status snapshot; the same object until something changes. */
  status(): SyncStatus;
  statusStore(): ExternalStore<SyncStatus>;
  /** The queued local changes, oldest first. */
  outbox(): Promise<Array<OutboxEntry<keyof S & string>>>;
  /** The origin's storage usage, quota and persistence. */
  storage(): Promise<StorageInfo>;
  /** Asks the browser to keep this origin's data under storage pressure (without it, Safari
   * deletes it after seven days without a visit, and any browser may evict it when the disk
   * fills); resolves to whether it is persistent now. Browsers may ask the user, or decide by
   * how the site is used; in a worker it cannot be asked, and gives the current answer. */
  persist(): Promise<boolean>;
  /** Sync health counters and timings (see `SyncMetrics`). */
  metrics(): Promise<SyncMetrics>;
  /** The `Blob` of a blob field's value: a `Blob` as it is; a `BlobRef` (a file not on this
   * device) downloaded now from the server, checked against its hash and stored (then read
   * locally). Rejects with BlobNotDownloadedError when it cannot be downloaded (offline, no
   * `sync` option, the server does not have it), InvalidRecordError for any other value. */
  blob(value: Blob | BlobRef): Promise<Blob>;
  /** Every queued change with its record as it is here, oldest first, read in one transaction:
   * a backup an app can offer before a risky step (a force pull, a wipe, a sign-out). */
  exportPending(): Promise<PendingExport<keyof S & string>>;
  /** Reads every record, 500 at a time in transactions of their own, and repairs each one whose
   * `_sync` metadata does not decode (written by hand, by another program, or damaged): its raw
   * value goes to the sync log (`quarantined`), then it is kept with new metadata if changes of
   * it are queued, else set aside and pulled again. Reads return such a record as stored until
   * then. InvalidOptionsError for options other than `{ onProgress }`. */
  checkIntegrity(options?: { onProgress?: (progress: IntegrityTally) => void }): Promise<IntegrityTally>;
  /** Pushes the queue and pulls the server's changes now. Resolves when a sync that started
   * after this call completes; rejects with NetworkError (offline, unreachable, 5xx, 429) or
   * SyncError (refused, e.g. a bad token), and a retry is scheduled with backoff. Rejects with
   * InvalidOptionsError without a `sync` option. */
  syncNow(): Promise<SyncSummary>;
  /** Every unresolved conflict. */
  conflicts(): Promise<Array<ConflictOf<S>>>;
  /** Keeps the local version (pushed again on top of the server's), the server's version
   * (replacing the local one, its queued changes dropped), or `{ merged }` data (stored here and
   * pushed on top of the server's version). RecordNotFoundError if there is no such conflict;
   * InvalidOptionsError for anything else than these three; InvalidRecordError or
   * ReservedFieldError for merged data a record could not hold. Written to the sync log. */
  resolveConflict(
    collection: keyof S & string,
    id: string,
    keep: "local" | "server" | { merged: Fields },
  ): Promise<void>;
  /** The sync log, newest first; at most 500 entries (the oldest go). It survives reloads. */
  syncLog(): Promise<Array<SyncLogEntry<keyof S & string>>>;
  /** Calls `listener` whenever entries are added to the sync log or it is cleared, by this tab
   * or another (the event's `collection` is `"_log"`, each change's `id` the record an entry is
   * about, `""` for a force or a clear); read them with `syncLog()`. Returns the unsubscribe
   * function. `subscribe()` does not hear them. */
  subscribeSyncLog(listener: ChangeListener<"_log">): Unsubscribe;
  /** Empties the sync log (announced to its listeners). */
  clearSyncLog(): Promise<void>;
  /** Destructive: the server takes the local version of every queued change of the named
   * collections (all when absent) whatever it holds now, conflicts held here included (each
   * change is pushed with `force`); then the sync carries on. Rejected changes stay rejected,
   * and a record's changes queued behind one wait with it.
   * Resolves with what the sync did. Refused with NetworkError while offline (nothing changes),
   * InvalidOptionsError without `sync`, UnknownCollectionError for a name not in the schema. If
   * the network fails midway, the marked changes go out with the next sync. Logged. */
  forcePush(options?: ForcePushOptions<keyof S & string>): Promise<SyncSummary>;
  /** Destructive: the local data of the named collections, or of the named spaces (all when
   * neither is given), becomes the server's, pulled from the start; local records the server
   * does not have there are removed. Queued changes, conflicts and rejected changes of those
   * records are dropped, or kept and re-applied on top of the server's state with
   * `keepLocalChanges`. Resolves when the pull is complete. Refused like `forcePush()`, and with
   * InvalidOptionsError for a space this device does not sync. If the network fails midway, the
   * next sync completes it (until then the local records are still there). Logged (a force by
   * space names its spaces in `id`). */
  forcePull(options?: ForcePullOptions<keyof S & string>): Promise<SyncSummary>;
  /** The changes the server rejected. */
  failed(): Promise<Array<DeadLetter<keyof S & string>>>;
  /** Sends a rejected change again, as the record is now, under a new mutation id. */
  retryFailed(collection: keyof S & string, id: string): Promise<void>;
  /** Drops a rejected change and the record's later queued changes. A record the server never
   * had is removed; any other gets the server's version back on the next sync. */
  discardFailed(collection: keyof S & string, id: string): Promise<void>;
  /** Closes the connection. Queued changes stay in the outbox for the next open. */
  close(): void;
  /** Frees this handle's wasm memory; the connection closes once no handle of it remains. */
  free(): void;
}

/**
 * Opens (creating or upgrading) the database of `options.app` and `options.tenant`. The first
 * call fetches and compiles the wasm module, unless `preload()` already did. Without IndexedDB
 * in this global scope (server-side rendering, Node without a polyfill) it rejects with
 * StorageUnavailableError and loads nothing.
 *
 * `S` types the records of each collection: `open<{ tasks: Task }>({ collections: { tasks: {} }, … })`.
 * Without it, the collection names come from `options.collections`.
 */
export function open<S = {}>(options: OpenOptions<S>): Promise<Database<S>>;
/** Deletes a tenant's database (its local data only: the server's is untouched), as on logout.
 * Refused with PendingChangesError (its `pending` counts them), nothing deleted, while the
 * database holds queued changes that never reached the server, unless `discardPending` is true.
 * Connections of this library close themselves; one that does not close within 5 s fails the
 * delete with UpgradeBlockedError. */
export function deleteDatabase(app: string, tenant?: string, options?: WipeOptions): Promise<void>;

/** Options of `collection.wipe()` and `deleteDatabase()`. */
export interface WipeOptions {
  /** Drop queued changes that never reached the server (they are lost). */
  discardPending?: boolean;
}

/** Where the wasm module comes from: a URL to fetch (compiled while it streams in), a fetch
 * response, its bytes, or a compiled module. */
export type WasmSource =
  | string
  | URL
  | Request
  | Response
  | Promise<Response>
  | BufferSource
  | WebAssembly.Module;

/**
 * Fetches and compiles the wasm module now, so that the first `open()` does not wait for it;
 * resolves once it is ready. Calling it again (or after `open()`) returns the same load.
 * `source` replaces the default, the `ferrysync_bg.wasm` file beside the package's JS (also
 * exported as `ferrysync/ferrysync_bg.wasm`), e.g. for a CDN or a bundler that does not
 * rewrite `new URL(…, import.meta.url)`; it only counts on the first call.
 */
export function preload(source?: WasmSource): Promise<void>;

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
  | "StorageError"
  | "PendingChangesError"
  | "SpaceRemovedError"
  | "BlobNotDownloadedError";

/** Every rejection and throw from ferrysync is a FerrysyncError whose `name` is one of
 * FerrysyncErrorName. */
export class FerrysyncError<N extends FerrysyncErrorName = FerrysyncErrorName> extends Error {
  constructor(name: N, message: string);
  name: N;
  /** The browser's DOMException name, when one caused the error. */
  domName?: string;
  /** The browser's DOMException message, when one caused the error. */
  domMessage?: string;
  /** On PendingChangesError: how many queued changes would have been lost. */
  pending?: number;
}

/** Whether `error` is a FerrysyncError, and, when `name` is given, one of that name:
 * `if (isFerrysyncError(e, "RecordNotFoundError")) …`. */
export function isFerrysyncError<N extends FerrysyncErrorName = FerrysyncErrorName>(
  error: unknown,
  name?: N,
): error is FerrysyncError<N>;
