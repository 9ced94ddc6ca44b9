// Loads the wasm module once, on first use: importing the package fetches and compiles nothing.
// In a browser, a worker or a service worker the wasm-bindgen glue fetches `ferrysync_bg.wasm`
// beside itself (`new URL(…, import.meta.url)`, which bundlers rewrite to the emitted asset)
// and compiles it while it streams in. Under Node (vitest with an IndexedDB polyfill), where
// fetch cannot read files, the bytes are read from disk instead.
import type { WasmSource } from "./index.js";
import init from "./wasm/ferrysync.js";
import { FerrysyncError } from "./wasm/errors.js";

let loading: Promise<void> | undefined;

/** Starts the load (once; a failed load is tried again on the next call). */
export function load(source?: WasmSource): Promise<void> {
  if (loading === undefined) {
    loading = start(source);
    loading.catch(() => {
      loading = undefined;
    });
  }
  return loading;
}

async function start(source: WasmSource | undefined): Promise<void> {
  const fromDisk = source === undefined ? wasmFileForNode() : undefined;
  const from = source ?? fromDisk?.bytes;
  try {
    await init(from === undefined ? undefined : { module_or_path: from });
  } catch (cause) {
    const where =
      fromDisk !== undefined
        ? `from ${fromDisk.file}`
        : source === undefined
          ? "(ferrysync_bg.wasm beside the package's JS)"
          : typeof source === "string" || source instanceof URL
            ? `from ${String(source)}`
            : "from the source given to preload()";
    const error = new FerrysyncError(
      "StorageUnavailableError",
      `loading the ferrysync wasm module ${where} failed: ${String(cause)}. ` +
        "If the file is missing or served with the wrong type, see the bundler notes in the " +
        "package README, or pass its URL to preload().",
    );
    (error as Error & { cause?: unknown }).cause = cause;
    throw error;
  }
}

/** The module's file and bytes, read from disk, when this file was loaded from a `file:` URL by
 * Node; undefined elsewhere (the glue's own fetch is right there). */
function wasmFileForNode(): { file: string; bytes: Promise<Uint8Array> } | undefined {
  const here = import.meta.url;
  if (!here.startsWith("file:")) return undefined;
  // `process.getBuiltinModule` (Node 20.16+, 22.3+) reaches node:fs without an import that a
  // browser bundler would try to resolve. Deno and Bun fetch file: URLs, so they need neither.
  const node = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const fs = node?.getBuiltinModule?.("node:fs/promises") as
    | { readFile(path: URL): Promise<Uint8Array> }
    | undefined;
  if (fs === undefined) return undefined;
  // Built by hand rather than with `new URL("…", import.meta.url)`, which bundlers would take
  // for a second copy of the asset.
  const file = here.slice(0, here.lastIndexOf("/") + 1) + "wasm/ferrysync_bg.wasm";
  return { file, bytes: fs.readFile(new URL(file)) };
}
