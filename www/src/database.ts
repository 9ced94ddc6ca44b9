// The demo's one database: a "tasks" collection, opened once for the page's lifetime.
import { open, type Database, type OpenOptions } from "ferrysync";

/** A task as the app writes it; ferrysync adds `id` and `_sync` when storing it. */
export interface Task {
  id: string;
  title: string;
  done: boolean;
  createdAt: number;
}

/** The record type of each collection: `db.collection("tasks")` is a `Collection<Task>`. */
export interface Schema {
  tasks: Task;
}

export type DemoDatabase = Database<Schema>;

/** The page is served by the reference sync server (scripts/demo.sh), so it syncs with its
 * own origin, as the development tenant. */
export const openOptions: OpenOptions<Schema> = {
  app: "ferrysync-demo",
  version: 1,
  collections: {
    tasks: { indexes: ["createdAt"] },
  },
  sync: { url: window.location.origin, token: "dev-token", debounceMs: 300 },
};

let opening: Promise<DemoDatabase> | null = null;

/** Opens the database on first call (the wasm module loads then); later calls share it. */
export function getDatabase(): Promise<DemoDatabase> {
  opening ??= open(openOptions).then((db) => {
    // For poking at from the browser console (and for the end-to-end tests).
    (window as unknown as { ferrysyncDemo: DemoDatabase }).ferrysyncDemo = db;
    return db;
  });
  return opening;
}
