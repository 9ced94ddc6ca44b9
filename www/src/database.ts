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

export const openOptions: OpenOptions = {
  app: "ferrysync-demo",
  version: 1,
  collections: {
    [TASKS]: { indexes: ["createdAt"] },
  },
};

let opening: Promise<Database> | null = null;

/** Opens the database on first call; later calls share the same connection. */
export function getDatabase(): Promise<Database> {
  opening ??= open(openOptions);
  return opening;
}
