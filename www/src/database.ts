// The demo's one database, opened once for the page's lifetime: the tasks, and the board they are
// on (its title). Tasks belong to projects, and a device syncs only the projects it turned on.
import { open, type Database, type OpenOptions } from "ferrysync";
import { DEFAULT_PROJECT } from "./projects";

/** A task as the app writes it; ferrysync adds `id` and `_sync` when storing it. */
export interface Task {
  id: string;
  title: string;
  done: boolean;
  createdAt: number;
  /** The project's id (see projects.ts): the task's ferrysync space. Absent on tasks made
   * before projects existed and null when moved to "No project": either way, in no space. */
  project?: string | null;
}

/** The board's one record (id `BOARD_ID`): its title, shown above the tasks. */
export interface Board {
  id: string;
  title: string;
}

export const BOARD_ID = "main";

/** The record type of each collection: `db.collection("tasks")` is a `Collection<Task>`. */
export interface Schema {
  tasks: Task;
  board: Board;
}

export type DemoDatabase = Database<Schema>;

/** The page is served by the reference sync server (scripts/demo.sh), so it syncs with its
 * own origin, as the development tenant. */
export const openOptions: OpenOptions<Schema> = {
  app: "ferrysync-demo",
  // 3: the index on `project`.
  version: 3,
  collections: {
    // Edits to different fields of a task merge by themselves; the same field changed on both
    // sides waits in the conflict panel for a person. `project` is the task's space: only the
    // projects this device turned on are synced, and turning one off finds its tasks through
    // the index on it.
    tasks: { indexes: ["createdAt", "project"], conflicts: "merge", space: "project" },
    // The board's title is shared: the version the server has wins, and a local change it
    // replaces shows up in the sync log as a rollback notice.
    board: { conflicts: "server-wins" },
  },
  // A new device starts with the default project; the set is ferrysync's from then on, so the
  // person's choice survives reloads. (A device that had the demo before projects existed
  // starts with none, and turns them on in the panel.)
  spaces: [DEFAULT_PROJECT],
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
