// Structural sharing: a live query answers with fresh objects every time it re-runs, even when
// nothing it returns has changed. Keeping the previous objects where the new ones are equal
// means React sees the same snapshot (and skips the render), and rows keep their identity
// (so memoised row components skip theirs too).

/** `next`, with every part equal to the matching part of `previous` replaced by it: the whole
 * of `previous` when nothing changed. Records in arrays are matched by `id` first, so a row
 * inserted in front does not make the others look new. */
export function share<V>(previous: V, next: V): V {
  if (Object.is(previous, next)) return previous;
  if (Array.isArray(previous) && Array.isArray(next)) return shareArray(previous, next) as V;
  return equal(previous, next) ? previous : next;
}

function shareArray(previous: unknown[], next: unknown[]): unknown[] {
  const byId = new Map<unknown, unknown>();
  for (const item of previous) {
    const id = idOf(item);
    if (id !== undefined) byId.set(id, item);
  }
  let same = previous.length === next.length;
  const out = next.map((item, i) => {
    const id = idOf(item);
    const candidate = id !== undefined && byId.has(id) ? byId.get(id) : previous[i];
    const kept = candidate !== undefined && equal(candidate, item) ? candidate : item;
    if (kept !== previous[i]) same = false;
    return kept;
  });
  return same ? previous : out;
}

function idOf(item: unknown): unknown {
  return typeof item === "object" && item !== null ? (item as { id?: unknown }).id : undefined;
}

/** Deep equality for what IndexedDB stores (structured-clone values). Anything it cannot see
 * into (a Blob, a class instance) is equal only to itself, so a doubt always counts as a
 * change: the cost is a render, never a stale screen. */
export function equal(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  const proto = Object.getPrototypeOf(a);
  if (proto !== Object.getPrototypeOf(b)) return false;
  if (Array.isArray(a)) return equalArrays(a, b as unknown[]);
  if (proto === Object.prototype || proto === null) return equalObjects(a, b);
  if (a instanceof Date) return a.getTime() === (b as Date).getTime();
  if (a instanceof RegExp) return String(a) === String(b);
  if (a instanceof ArrayBuffer) return equalBytes(new Uint8Array(a), new Uint8Array(b as ArrayBuffer));
  if (ArrayBuffer.isView(a)) return equalBytes(bytesOf(a), bytesOf(b as ArrayBufferView));
  if (a instanceof Map) return equalMaps(a, b as Map<unknown, unknown>);
  if (a instanceof Set) return equalSets(a, b as Set<unknown>);
  return false;
}

function equalArrays(a: unknown[], b: unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!equal(a[i], b[i])) return false;
  return true;
}

function equalObjects(a: object, b: object): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const key of keys) {
    if (!Object.prototype.hasOwnProperty.call(b, key)) return false;
    if (!equal((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key])) return false;
  }
  return true;
}

function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function equalMaps(a: Map<unknown, unknown>, b: Map<unknown, unknown>): boolean {
  if (a.size !== b.size) return false;
  for (const [key, value] of a) if (!b.has(key) || !equal(value, b.get(key))) return false;
  return true;
}

/** Members are compared by identity (primitives by value): a set of objects that were cloned
 * again counts as changed. */
function equalSets(a: Set<unknown>, b: Set<unknown>): boolean {
  if (a.size !== b.size) return false;
  for (const value of a) if (!b.has(value)) return false;
  return true;
}
