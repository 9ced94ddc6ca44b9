// The provider's database, typed with the demo's schema.
import { useDatabase } from "ferrysync/react";
import type { DemoDatabase, Schema } from "./database";

export function useDemoDatabase(): DemoDatabase {
  return useDatabase<Schema>();
}
