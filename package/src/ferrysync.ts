// The package entry ("ferrysync"): the wasm module's API under its own names, loaded on the
// first open() (or an explicit preload()), so that importing it costs a few kilobytes of JS and
// no request. Its types are index.d.ts; each export here is checked against them.
import type * as api from "./index.js";
import { load } from "./loader.js";
import * as wasm from "./wasm/ferrysync.js";
import { FerrysyncError as GlueError } from "./wasm/errors.js";

export const FerrysyncError = GlueError as unknown as typeof api.FerrysyncError;
export const Database = wasm.Database as unknown as typeof api.Database;
export const Collection = wasm.Collection as unknown as typeof api.Collection;
export const Spaces = wasm.Spaces as unknown as typeof api.Spaces;

export const preload: typeof api.preload = (source) => load(source);

export const open: typeof api.open = async (options) => {
  await storageHere("open");
  return wasm.open(options) as Promise<never>;
};

export const deleteDatabase: typeof api.deleteDatabase = async (app, tenant, options) => {
  await storageHere("deleteDatabase");
  return wasm.deleteDatabase(app, tenant, options);
};

export function isFerrysyncError<N extends api.FerrysyncErrorName = api.FerrysyncErrorName>(
  error: unknown,
  name?: N,
): error is api.FerrysyncError<N> {
  return error instanceof GlueError && (name === undefined || error.name === name);
}

/** Rejects with StorageUnavailableError, before anything is loaded, where this global scope
 * has no IndexedDB (server-side rendering, Node without a polyfill); else loads the module. */
async function storageHere(call: string): Promise<void> {
  if (typeof indexedDB === "undefined") {
    throw new FerrysyncError(
      "StorageUnavailableError",
      `${call}() needs IndexedDB, and this JavaScript environment has none ` +
        "(server-side rendering or Node without an IndexedDB polyfill): call it in the browser, " +
        "e.g. in an effect, a worker or an event handler",
    );
  }
  await load();
}
