// With an IndexedDB (fake-indexeddb) but no .wasm file: open() rejects with a
// StorageUnavailableError that names the file, and, once the file is back (argv[2] is where to
// copy it from), the next open() loads it and works. Prints what happened as JSON.
import "fake-indexeddb/auto";
import { copyFileSync } from "node:fs";
import { isFerrysyncError, open } from "ferrysync";

const options = { app: "missing-wasm", version: 1, collections: { notes: {} } };
const failed = await open(options).then(() => null, (error) => error);
copyFileSync(process.argv[2], new URL("./node_modules/ferrysync/wasm/ferrysync_bg.wasm", import.meta.url));
const db = await open(options);
const note = await db.collection("notes").create({ title: "after the retry" });
db.close();
console.log(
  JSON.stringify({
    failed: failed && { name: failed.name, message: failed.message, typed: isFerrysyncError(failed, "StorageUnavailableError") },
    retried: note.title,
  }),
);
