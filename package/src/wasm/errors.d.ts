/* The error class of src/web/glue.js, re-exported by wasm/errors.js (written by
 * scripts/pack.sh, since wasm-bindgen puts glue.js under a hashed snippets/ path). */
export class FerrysyncError extends Error {
  constructor(name: string, message: string);
  domName?: string;
  domMessage?: string;
}
