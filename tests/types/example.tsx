// A typed app against the installed package: it must compile with no error under --strict (and
// the stricter flags of tsconfig.*.json), with moduleResolution "bundler", "node16" and "node10".
import {
  FerrysyncError,
  isFerrysyncError,
  open,
  preload,
  type Collection,
  type Conflict,
  type Database,
  type OpenOptions,
  type StoredRecord,
  type IntegrityTally,
  type SyncMetrics,
} from "ferrysync";
import {
  FerrysyncProvider,
  useConflicts,
  useDatabase,
  useLiveQuery,
  useOutbox,
  useRecord,
  useSpaceStatus,
  useSyncLog,
  useSyncStatus,
} from "ferrysync/react";
import { FerrysyncDevtools } from "ferrysync/devtools";
import { backgroundSync, type BackgroundSync, type SyncRequestMessage } from "ferrysync/sw";
import type { Note, Schema, Task } from "./schema.js";

export const options: OpenOptions<Schema> = {
  app: "typed",
  version: 2,
  collections: {
    // Index paths are checked against the record type, nested paths included.
    // A task's space is its title (any string field may be one).
    tasks: { indexes: ["createdAt", "owner.name", { keyPath: ["done", "createdAt"], name: "byDone" }], space: "title" },
    notes: { indexes: [{ keyPath: "tags", multiEntry: true }] },
  },
  migrations: {
    2: async (db) => {
      const tasks = db.collection("tasks");
      for (const task of await tasks.query()) await tasks.update(task.id, { done: false });
    },
  },
  sync: { url: "https://sync.example.com", token: async () => "fresh-token", debounceMs: false },
};

export async function main(): Promise<void> {
  void preload();
  const db = await open(options);
  const tasks: Collection<Task> = db.collection("tasks");
  const created: StoredRecord<Task> = await tasks.create({ title: "Write docs", done: false, createdAt: Date.now() });
  const title: string = created.title;
  const version: number = created._sync.version;
  const updated = await tasks.update(created.id, { done: true });
  const done: boolean = updated.done;
  const found = await tasks.get(created.id);
  if (found !== undefined) console.log(found.owner?.name ?? "nobody", title, version, done);

  // Spaces: chosen at run time, with a status each.
  const added: boolean = await db.spaces.add("p1", { wait: true });
  const spaces: string[] = await db.spaces.list();
  await db.forcePull({ spaces: ["p1"], keepLocalChanges: true });
  await db.spaces.remove("p1", { discardPending: true });
  const ready: boolean | undefined = db.status().spaces["p1"]?.ready;
  const outside: true | undefined = created._sync.outside;
  console.log(added, spaces, ready, outside);

  // A record type with its own `id`: optional on input, a string on output.
  const notes = db.collection("notes");
  const note = await notes.create({ text: "hello", tags: ["a"] });
  await notes.put({ id: note.id, text: "hello again", tags: [] });
  const ids: string[] = await notes.bulkCreate([{ text: "one", tags: [] }]);
  console.log(ids, db.collectionNames.includes("notes"));

  // Conflicts are one type per collection, told apart by `collection`.
  for (const conflict of await db.conflicts()) {
    if (conflict.collection === "tasks") {
      const local = conflict.local;
      if (local !== null && "title" in local) console.log(local.title.toUpperCase());
      console.log(conflict.server.data?.createdAt);
    } else {
      const tags: string[] | undefined = conflict.server.data?.tags;
      console.log(tags);
    }
    await db.resolveConflict(conflict.collection, conflict.id, "server");
  }
  const taskConflict: Conflict<Task> | undefined = (await db.conflicts()).find(
    (c): c is Conflict<Task, "tasks"> => c.collection === "tasks",
  );
  console.log(taskConflict?.local);

  for (const entry of await db.outbox()) {
    const collection: "tasks" | "notes" = entry.collection;
    console.log(collection, entry.op);
  }

  const metrics: SyncMetrics = await db.metrics();
  const waited: number | null = metrics.oldestPendingAgeMs;
  console.log(waited, metrics.failures.NetworkError ?? 0, metrics.bytesSent);
  const storage = await db.storage();
  const free: number | null = storage.quota === null || storage.usage === null ? null : storage.quota - storage.usage;
  if (!storage.persisted && (await db.persist())) console.log("kept", free);
  const backup = await db.exportPending();
  for (const change of backup.changes) {
    const collection: "tasks" | "notes" = change.collection;
    console.log(collection, change.op, change.record?.id, JSON.stringify(backup).length);
  }
  const checked: IntegrityTally = await db.checkIntegrity({
    onProgress: ({ checked, total }) => console.log(`${checked} of ${total}`),
  });
  console.log(checked.setAside + checked.rebuilt);

  try {
    await tasks.update("missing", { title: "x" });
  } catch (error) {
    if (isFerrysyncError(error, "RecordNotFoundError")) {
      const name: "RecordNotFoundError" = error.name;
      console.log(name, error.message);
    } else if (error instanceof FerrysyncError) {
      switch (error.name) {
        case "NetworkError":
        case "SyncError":
          console.log("later", error.domName);
          break;
        default:
          throw error;
      }
    }
  }

  // Without a schema the names still come from `collections`; the records are open.
  const loose = await open({ app: "loose", version: 1, collections: { things: { indexes: ["any.path"] } } });
  const thing = await loose.collection("things").create({ anything: 1 });
  const value: unknown = thing["anything"];
  console.log(value);

  // A bare Database takes a database of any schema.
  const anyDatabase: Database = db;
  anyDatabase.close();
  loose.close();
}

function TaskList() {
  const db = useDatabase<Schema>();
  const rows = useLiveQuery(db.collection("tasks"), { index: "createdAt", order: "desc" });
  const note = useRecord(db.collection("notes"), "some-id");
  const status = useSyncStatus();
  const p1 = useSpaceStatus("p1", db);
  const pulled: number | null | undefined = p1?.pulled;
  const conflicts = useConflicts(db);
  const outbox = useOutbox(db);
  const log = useSyncLog(db);
  // Entries are typed per schema: their collection is one of its names.
  const lastCollection: "tasks" | "notes" | undefined = log?.[0]?.collection;
  if (rows === undefined) return <p>Loading…</p>;
  return (
    <ul>
      {rows.map((task) => (
        <li key={task.id}>{task.title}</li>
      ))}
      <li>{note === null ? "no note" : note?.tags.join(", ")}</li>
      <li>
        <FerrysyncDevtools db={db} position="inline" initialOpen />
      </li>
      <li>
        {status.pending} pending, {conflicts?.length ?? 0} conflicts, {outbox?.[0]?.collection}, {lastCollection},{" "}
        {pulled}
      </li>
    </ul>
  );
}

/** In a service worker: the same options with Background Sync on, and a token read at each
 * sync (the function form of the options is called then). */
export function serviceWorker(): BackgroundSync {
  const sync = { url: "https://sync.example.com", token: async () => "stored-token", backgroundSync: true };
  const worker = backgroundSync<Schema>(async () => ({ ...options, sync }), { tag: "ferrysync:ferrysync:typed" });
  void worker.sync().then((summary) => console.log(summary?.pushed ?? "no database yet"));
  backgroundSync(options, { syncOnStart: false });
  const ask: SyncRequestMessage = { ferrysync: "sync", tag: "ferrysync:ferrysync:typed" };
  return ask.tag === "" ? backgroundSync(options) : worker;
}

export function App({ db }: { db: Promise<Database<Schema>> }) {
  return (
    <FerrysyncProvider db={db} fallback={<p>Opening…</p>}>
      <TaskList />
      {/* The devtools panel: the provider's database, or one of any schema given as a prop. */}
      <FerrysyncDevtools />
    </FerrysyncProvider>
  );
}

export type { Note };
