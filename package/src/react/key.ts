// A stable text for a query, so that a hook called with a fresh but equal query object on every
// render keeps its subscription. Keys are IndexedDB keys (numbers, strings, dates, binary,
// arrays of those), so each kind is tagged: a date and a string of the same text, or the
// number 1 and the string "1", are different queries.

/** The same text for equal queries, whatever the order of their properties. Properties set to
 * `undefined` count as absent, as they do for the query itself. */
export function queryKey(value: unknown): string {
  if (value === undefined) return "";
  if (value === null) return "null";
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "number":
      return `n${Object.is(value, -0) ? "-0" : String(value)}`;
    case "boolean":
      return value ? "true" : "false";
    case "bigint":
      return `b${value}`;
    case "object":
      return objectKey(value);
    default:
      // Functions and symbols are not query values; the query itself refuses them. Their type
      // is enough to keep two such queries apart from valid ones.
      return `?${typeof value}`;
  }
}

function objectKey(value: object): string {
  if (Array.isArray(value)) return `[${value.map(queryKey).join(",")}]`;
  if (value instanceof Date) return `d${value.getTime()}`;
  if (value instanceof ArrayBuffer) return `x${hex(new Uint8Array(value))}`;
  if (ArrayBuffer.isView(value)) {
    return `x${hex(new Uint8Array(value.buffer, value.byteOffset, value.byteLength))}`;
  }
  const parts: string[] = [];
  for (const name of Object.keys(value).sort()) {
    const field = (value as Record<string, unknown>)[name];
    if (field !== undefined) parts.push(`${JSON.stringify(name)}:${queryKey(field)}`);
  }
  return `{${parts.join(",")}}`;
}

function hex(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) out += byte.toString(16).padStart(2, "0");
  return out;
}
