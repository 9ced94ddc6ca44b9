// The records every contender stores: about 1 KB of JSON each, with three indexed fields.
// Generation is deterministic and happens before any timing starts.

const WORDS = [
  "offline", "queue", "record", "sync", "store", "index", "change", "merge", "tenant", "version",
  "browser", "commit", "cursor", "server", "client", "status", "pending", "update", "create", "field",
];

/** About 900 characters of text that differ from record to record. */
function body(i) {
  let text = "";
  let n = Math.imul(i + 1, 2654435761) >>> 0;
  while (text.length < 900) {
    n = (Math.imul(n, 1103515245) + 12345) >>> 0;
    text += WORDS[(n >>> 16) % WORDS.length] + " ";
  }
  return text.slice(0, 900);
}

/**
 * Record number `i`, without an id (each contender generates one, as ferrysync does when none is
 * given). `bucket` has 100 values, so `bucket == 7` matches one record in a hundred; `createdAt`
 * is `i`, so a range on it selects records by their number.
 */
export function makeRecord(i) {
  return {
    title: `Task ${i}`,
    body: body(i),
    priority: i % 10,
    bucket: i % 100,
    createdAt: i,
  };
}

/** Records `from` .. `from + count - 1`. */
export function makeRecords(from, count) {
  const records = new Array(count);
  for (let k = 0; k < count; k++) records[k] = makeRecord(from + k);
  return records;
}

/** The store layout shared by the baselines (ferrysync builds its own equivalent). */
export const COLLECTION = "tasks";
export const OUTBOX = "outbox";
export const INDEXES = ["priority", "bucket", "createdAt"];

/** The metadata the baselines keep on each record, shaped like ferrysync's `_sync`. */
export function newMeta(now) {
  return { version: 1, serverVersion: null, status: "pending", updatedAt: now, deleted: false };
}

/** An outbox entry shaped like ferrysync's: no copy of the data, a UUID mutation id. */
export function outboxEntry(recordId, op, now) {
  return {
    mutationId: crypto.randomUUID(),
    collection: COLLECTION,
    recordId,
    op,
    baseVersion: null,
    queuedAt: now,
    attempts: 0,
  };
}
