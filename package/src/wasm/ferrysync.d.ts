/* What the entry uses of the wasm-bindgen output (wasm-pack `--target web`, copied into the
 * package's wasm/ folder by scripts/pack.sh). Only the entry sees these loose types: the public
 * ones are in ../index.d.ts. */

/** Instantiates the module; without `module_or_path` it fetches `ferrysync_bg.wasm` beside the
 * glue, which is the `new URL(…, import.meta.url)` bundlers rewrite. Later calls return the
 * first one's instance. */
export default function init(input?: { module_or_path: unknown }): Promise<unknown>;

export function open(options: unknown): Promise<unknown>;
export function deleteDatabase(app: string, tenant?: string, options?: unknown): Promise<void>;
export class Database {
  private constructor();
}
export class Collection {
  private constructor();
}
export class Spaces {
  private constructor();
}
