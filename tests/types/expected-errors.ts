// Mistakes the types must catch, each with the diagnostic it must produce on the line below its
// `expect-error` comment (code and the start of the message). check.mjs compiles this file and
// fails on a missing, different or extra error.
import { Database, isFerrysyncError, open, type OpenOptions } from "ferrysync";
import { FerrysyncDevtools } from "ferrysync/devtools";
import { useLiveQuery } from "ferrysync/react";
import { backgroundSync } from "ferrysync/sw";
import type { Schema } from "./schema.js";

export const typo: OpenOptions<Schema> = {
  app: "typed",
  version: 1,
  collections: {
    // expect-error TS2820: Type '"createdAtt"' is not assignable to type '"title" | "done" | "createdAt" | "owner" | "owner.name" | IndexSpec<Task>'. Did you mean '"createdAt"'?
    tasks: { indexes: ["createdAtt"] },
    notes: {},
  },
};

export const badSpace: OpenOptions<Schema> = {
  app: "typed",
  version: 1,
  collections: {
    // expect-error TS2322: Type '"done"' is not assignable to type '"title"'.
    tasks: { space: "done" },
    // expect-error TS2322: Type '"id"' is not assignable to type '"text"'.
    notes: { space: "id" },
  },
};

export const missing: OpenOptions<Schema> = {
  app: "typed",
  version: 1,
  // expect-error TS2741: Property 'notes' is missing in type '{ tasks: {}; }' but required in type
  collections: { tasks: {} },
};

export async function mistakes(): Promise<void> {
  const db = await open(typo);
  // expect-error TS2345: Argument of type '"nope"' is not assignable to parameter of type '"tasks" | "notes"'.
  db.collection("nope");
  const tasks = db.collection("tasks");
  // expect-error TS2322: Type 'string' is not assignable to type 'boolean'.
  await tasks.create({ title: "t", done: "no", createdAt: 1 });
  // expect-error TS2345: Argument of type '{ title: string; createdAt: number; }' is not assignable to parameter of type 'NewRecord<Task>'.
  await tasks.create({ title: "t", createdAt: 1 });
  // expect-error TS2561: Object literal may only specify known properties, but 'titel' does not exist in type 'Partial<UserFields<Task>>'. Did you mean to write 'title'?
  await tasks.update("id", { titel: "x" });
  // expect-error TS2353: Object literal may only specify known properties, and '_sync' does not exist in type
  await tasks.create({ title: "t", done: false, createdAt: 1, _sync: null });
  // expect-error TS2345: Argument of type '"nope"' is not assignable to parameter of type '"tasks" | "notes"'.
  await db.resolveConflict("nope", "id", "local");
  // expect-error TS2345: Argument of type '"mine"' is not assignable to parameter of type '"server" | "local" | { merged: Fields; }'.
  await db.resolveConflict("tasks", "id", "mine");

  for (const conflict of await db.conflicts()) {
    if (conflict.collection === "tasks") {
      // expect-error TS2339: Property 'text' does not exist on type 'UserFields<Task>'.
      console.log(conflict.server.data?.text);
    }
  }

  // expect-error TS2345: Argument of type 'number' is not assignable to parameter of type 'string'.
  await db.spaces.add(1);

  const loose = await open({ app: "loose", version: 1, collections: { things: {} } });
  // expect-error TS2345: Argument of type '"other"' is not assignable to parameter of type '"things"'.
  loose.collection("other");

  try {
    await tasks.delete("id");
  } catch (error) {
    // expect-error TS2345: Argument of type '"RecordNotFound"' is not assignable to parameter of type 'FerrysyncErrorName | undefined'.
    if (isFerrysyncError(error, "RecordNotFound")) throw error;
    if (isFerrysyncError(error, "RecordNotFoundError")) {
      // expect-error TS2322: Type '"RecordNotFoundError"' is not assignable to type '"NetworkError"'.
      const name: "NetworkError" = error.name;
      console.log(name);
    }
    // expect-error TS18046: 'error' is of type 'unknown'.
    console.log(error.name);
  }

  // expect-error TS2673: Constructor of class 'Database<S>' is private
  new Database();
}

export function Rows() {
  const db = (null as unknown) as Database<Schema>;
  // expect-error TS2322: Type 'true' is not assignable to type 'false'.
  const rows = useLiveQuery(db.collection("tasks"), { includeDeleted: true });
  // expect-error TS18048: 'rows' is possibly 'undefined'.
  return rows.length;
}

export function Panel() {
  const opening = open<Schema>({ app: "typed", version: 1, collections: { tasks: {}, notes: {} } });
  // The panel takes an open database, not the promise a provider takes.
  // expect-error TS2740: Type 'Promise<Database<Schema>>' is missing the following properties from type 'Database<any>'
  FerrysyncDevtools({ db: opening });
  // expect-error TS2322: Type '"middle"' is not assignable to type
  return FerrysyncDevtools({ position: "middle" });
}

export function worker(): void {
  // expect-error TS2322: Type 'number' is not assignable to type 'string'.
  backgroundSync(typo, { tag: 1 });
  // expect-error TS2322: Type 'string' is not assignable to type 'boolean | undefined'.
  backgroundSync({ ...typo, sync: { url: "https://x", token: "t", backgroundSync: "yes" } });
}
