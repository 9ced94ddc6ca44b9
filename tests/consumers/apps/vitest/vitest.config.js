// Nothing for ferrysync beyond an IndexedDB for Node: fake-indexeddb, loaded before each file.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: { environment: "node", setupFiles: ["fake-indexeddb/auto"] },
});
