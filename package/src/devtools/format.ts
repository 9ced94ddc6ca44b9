// How the panel writes times, durations, sizes, errors and the app's own values. Records can be
// of any schema and hold anything IndexedDB stores (dates, binary, maps, cycles), so nothing here
// may throw on a value it does not expect.

/** A time on the developer's clock, with the date only when it is not today. */
export function time(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "never";
  const at = new Date(ms);
  return at.toDateString() === new Date().toDateString() ? at.toLocaleTimeString() : at.toLocaleString();
}

export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "–";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${(ms / 60_000).toFixed(1)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

const UNITS = ["B", "KB", "MB", "GB", "TB"];

export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return "unknown";
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${UNITS[unit]}`;
}

/** "SyncError: …" for a FerrysyncError (its name is what an app switches on), else the
 * error's text. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  if (typeof error === "object" && error !== null && "name" in error && "message" in error) {
    return `${String(error.name)}: ${String(error.message)}`;
  }
  return String(error);
}

/** JSON text of any stored value: binary, blobs, maps and sets written as what they are, a
 * value seen before (a cycle, or an object in two places) as "[seen]". */
export function toJson(value: unknown, indent?: number): string {
  const seen = new WeakSet<object>();
  try {
    const text = JSON.stringify(
      value,
      (_key, v: unknown) => {
        if (typeof v === "bigint") return `${v}n`;
        if (typeof v !== "object" || v === null) return v;
        if (seen.has(v)) return "[seen]";
        seen.add(v);
        if (typeof Blob !== "undefined" && v instanceof Blob) return `[Blob ${v.type || "?"}, ${v.size} bytes]`;
        if (v instanceof ArrayBuffer) return `[${v.byteLength} bytes]`;
        if (ArrayBuffer.isView(v)) return `[${v.constructor.name}, ${v.byteLength} bytes]`;
        if (v instanceof Map) return { "[Map]": [...v.entries()] };
        if (v instanceof Set) return { "[Set]": [...v.values()] };
        return v;
      },
      indent,
    );
    return text ?? String(value);
  } catch {
    return String(value);
  }
}

/** A value on one line, cut at `max` characters (a record's field may hold megabytes). */
export function preview(value: unknown, max = 80): string {
  const text = value === undefined ? "–" : toJson(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
