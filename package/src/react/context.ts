// The database a <FerrysyncProvider> hands down, in a module of its own so that every entry
// reading it (ferrysync/react, ferrysync/devtools) shares the one context object.
import { createContext, useContext } from "react";
import type { Database } from "../index.js";
import { FerrysyncError } from "../wasm/errors.js";

export const DatabaseContext = createContext<Database | null>(null);

/** The provider's database. `S` names its schema: `useDatabase<MySchema>()`. */
export function useDatabase<S = any>(): Database<S> {
  const db = useContext(DatabaseContext);
  if (db === null) {
    throw new FerrysyncError("InvalidOptionsError", "ferrysync/react: useDatabase() needs a <FerrysyncProvider db={…}> above it");
  }
  return db as Database<S>;
}

/** The database passed in, else the provider's; `who` names the caller in the error thrown
 * when there is neither. */
export function useDatabaseOr<S>(db: Database<S> | undefined, who = "ferrysync/react: pass this hook"): Database<S> {
  const fromContext = useContext(DatabaseContext);
  const chosen = db ?? fromContext;
  if (chosen === null) {
    throw new FerrysyncError("InvalidOptionsError", `${who} a database, or render it below a <FerrysyncProvider db={…}>`);
  }
  return chosen as Database<S>;
}
