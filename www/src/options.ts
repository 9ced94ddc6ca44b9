// How the demo opens its database, shared by the page (database.ts) and its service worker
// (sw.ts): both must open the same database with the same collections.
import type { OpenOptions } from "ferrysync";
import type { Schema } from "./database";
import { DEFAULT_PROJECT } from "./projects";

/** The page and its worker are served by the reference sync server (scripts/demo.sh), so both
 * sync with `origin`, as the development tenant. */
export function demoOptions(origin: string): OpenOptions<Schema> {
  return {
    app: "ferrysync-demo",
    // 3: the index on `project`.
    version: 3,
    collections: {
      // Edits to different fields of a task merge by themselves; the same field changed on both
      // sides waits in the conflict panel for a person. `project` is the task's space: only the
      // projects this device turned on are synced, and turning one off finds its tasks through
      // the index on it. `attachment` holds a file: stored here with the task, uploaded before
      // the task's change, and downloaded by the other devices during their sync (up to 16 MB;
      // a larger one when its task is shown).
      tasks: { indexes: ["createdAt", "project"], conflicts: "merge", space: "project", blobs: ["attachment"] },
      // The board's title is shared: the version the server has wins, and a local change it
      // replaces shows up in the sync log as a rollback notice.
      board: { conflicts: "server-wins" },
    },
    // A new device starts with the default project; the set is ferrysync's from then on, so the
    // person's choice survives reloads. (A device that had the demo before projects existed
    // starts with none, and turns them on in the panel.)
    spaces: [DEFAULT_PROJECT],
    // While changes are queued, the page asks the browser for a Background Sync, which the
    // service worker (sw.ts) answers, with the page closed if need be.
    sync: { url: origin, token: "dev-token", debounceMs: 300, backgroundSync: true },
  };
}
