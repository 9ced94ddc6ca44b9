// The demo's one database, opened once for the page's lifetime: the tasks, and the board they are
// on (its title). Tasks belong to projects, and a device syncs only the projects it turned on.
import { open, type Database } from "ferrysync";
import type { Attachment } from "./attachments";
import { demoOptions } from "./options";

/** A task as the app writes it; ferrysync adds `id` and `_sync` when storing it. */
export interface Task {
  id: string;
  title: string;
  done: boolean;
  createdAt: number;
  /** The project's id (see projects.ts): the task's ferrysync space. Absent on tasks made
   * before projects existed and null when moved to "No project": either way, in no space. */
  project?: string | null;
  /** A file attached to the task (a blob field, see options.ts): a `Blob` when the bytes are on
   * this device, else the server's reference to them. Null once removed. */
  attachment?: Attachment | null;
  /** The attached file's name as it was picked: the file itself keeps only its bytes and type. */
  attachmentName?: string | null;
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

let opening: Promise<DemoDatabase> | null = null;

/** Opens the database on first call (the wasm module loads then); later calls share it. */
export function getDatabase(): Promise<DemoDatabase> {
  // Opened as the service worker opens it (options.ts).
  opening ??= open(demoOptions(window.location.origin)).then((db) => {
    // For poking at from the browser console (and for the end-to-end tests).
    (window as unknown as { ferrysyncDemo: DemoDatabase }).ferrysyncDemo = db;
    return db;
  });
  return opening;
}
