// Showing and combining record fields, for the conflict panel and the sync log. Field values are
// whatever the records hold, so they arrive as `unknown`.
import type { BlobRef, FieldDiff, Fields } from "ferrysync";
import { formatBytes } from "./attachments";

/** A field's value as text: strings quoted, an absent field (or a deleted record) as "—", a
 * file by its type and size (as JSON a Blob is `{}`, whatever it holds). */
export function showValue(value: unknown): string {
  if (value === undefined) return "—";
  if (typeof value === "string") return `“${value}”`;
  if (value instanceof Blob) return `a file (${value.type || "no type"}, ${formatBytes(value.size)})`;
  if (isFileReference(value)) return `a file (${value.type || "no type"}, ${formatBytes(value.size)}, ${value.$blob.slice(0, 8)}…)`;
  return JSON.stringify(value) ?? String(value);
}

/** A field path as one name: `owner.name`. */
export function pathName(path: ReadonlyArray<string>): string {
  return path.join(".");
}

/** The title a person knows a record by, from the first version that has one. */
export function titleOf(...versions: Array<Fields | null | undefined>): string | null {
  for (const version of versions) {
    const title = version?.["title"];
    if (typeof title === "string") return title;
  }
  return null;
}

/** How a merged field is chosen: one side's value, or a value typed in. */
export type FieldPick = { side: "local" | "server" } | { side: "typed"; value: string };

/**
 * The merged data: the server's version, with every change made only here, and for each field
 * changed on both sides to different values the side `picks` names (mine when it names none).
 * Fields changed only on the server, or the same on both, are already in the server's version.
 */
export function mergeFields(server: Fields, diff: ReadonlyArray<FieldDiff>, picks: ReadonlyMap<string, FieldPick>): Fields {
  const merged = structuredClone(server);
  for (const field of diff) {
    if (field.change === "local") setPath(merged, field.path, field.local);
    if (field.change === "both-different") {
      const pick = picks.get(pathName(field.path)) ?? { side: "local" };
      const value = pick.side === "typed" ? pick.value : pick.side === "local" ? field.local : field.server;
      setPath(merged, field.path, value);
    }
  }
  return merged;
}

/** Sets `path` in `target` to `value`, making the plain objects on the way; an undefined value
 * (a field absent on the chosen side) removes the field. */
function setPath(target: Fields, path: ReadonlyArray<string>, value: unknown): void {
  const last = path.at(-1);
  if (last === undefined) return;
  let at: Fields = target;
  for (const name of path.slice(0, -1)) {
    const next = at[name];
    if (typeof next !== "object" || next === null || Array.isArray(next)) at[name] = {};
    at = at[name] as Fields;
  }
  if (value === undefined) delete at[last];
  else at[last] = structuredClone(value);
}

/** The top-level fields whose values differ between two versions of a record: what one side
 * had that the other replaced. */
export function differingFields(mine: Fields, theirs: Fields | null | undefined): Array<{ name: string; mine: unknown; theirs: unknown }> {
  const out = [];
  for (const name of Object.keys(mine)) {
    if (name === "id" || name === "_sync") continue;
    const other = theirs?.[name];
    if (JSON.stringify(mine[name]) !== JSON.stringify(other)) out.push({ name, mine: mine[name], theirs: other });
  }
  return out;
}

function isFileReference(value: unknown): value is BlobRef {
  return typeof value === "object" && value !== null && typeof (value as Partial<BlobRef>).$blob === "string";
}
