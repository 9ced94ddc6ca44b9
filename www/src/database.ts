// The demo's one database: a "tasks" collection, opened once for the page's lifetime.
import { open, type Database, type OpenOptions } from "ferrysync";

/** A task as the app writes it; ferrysync adds `id` and `_sync` when storing it. */
export type Task = {
  id: string;
  title: string;
  done: boolean;
  createdAt: number;
};

export const TASKS = "tasks";

/** The page is served by the reference sync server (scripts/demo.sh), so it syncs with its
 * own origin, as the development tenant. */
export const openOptions: OpenOptions = {
  app: "ferrysync-demo",
  version: 1,
  collections: {
    [TASKS]: { indexes: ["createdAt"] },
  },
  sync: { url: window.location.origin, token: "dev-token", debounceMs: 300 },
};

let opening: Promise<Database> | null = null;

/** Opens the database on first call; later calls share the same connection. */
export function getDatabase(): Promise<Database> {
  opening ??= open(openOptions).then((db) => {
    // For poking at from the browser console (and for the end-to-end tests).
    (window as unknown as { ferrysyncDemo: Database }).ferrysyncDemo = db;
    return db;
  });
  return opening;
}
