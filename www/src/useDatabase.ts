// Opens the demo database and reports where that stands.
import { useEffect, useState } from "react";
import type { Database } from "ferrysync";
import { getDatabase } from "./database";

export type DatabaseState =
  | { state: "opening" }
  | { state: "open"; db: Database }
  | { state: "failed"; error: unknown };

export function useDatabase(): DatabaseState {
  const [current, setCurrent] = useState<DatabaseState>({ state: "opening" });
  useEffect(() => {
    let mounted = true;
    getDatabase().then(
      (db) => mounted && setCurrent({ state: "open", db }),
      (error: unknown) => mounted && setCurrent({ state: "failed", error }),
    );
    return () => {
      mounted = false;
    };
  }, []);
  return current;
}
