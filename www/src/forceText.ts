// What a force push or a force pull will cost, in words, counted from the outbox and the
// conflicts as they are when the person is asked.
import type { Conflict, OutboxEntry } from "ferrysync";

/** What is needed of a conflict here: which record it holds. */
type ConflictKey = Pick<Conflict, "collection" | "id">;

export interface LocalChanges {
  /** Records with a change the server has not taken: queued, or held by a conflict. */
  records: number;
  /** Queued changes that can still be sent (held ones are counted below). */
  unsent: number;
  /** Records waiting in the conflict panel. */
  conflicts: number;
  /** Changes the server rejected. */
  rejected: number;
}

export function countLocalChanges(outbox: ReadonlyArray<OutboxEntry>, conflicts: ReadonlyArray<ConflictKey>): LocalChanges {
  // A record can have several queued changes (one already sent never absorbs later writes), and
  // its conflict holds them in the outbox as well: a force push replaces each record once.
  const records = new Set<string>();
  let unsent = 0;
  let rejected = 0;
  for (const entry of outbox) {
    if (entry.hold === "failed") {
      rejected += 1;
      continue;
    }
    if (entry.hold === undefined) unsent += 1;
    records.add(`${entry.collection}/${entry.recordId}`);
  }
  for (const conflict of conflicts) records.add(`${conflict.collection}/${conflict.id}`);
  return { records: records.size, unsent, conflicts: conflicts.length, rejected };
}

/** `n` and the noun, in the singular for one. */
export function counted(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** What a force push replaces on the server; null when there is nothing to force. */
export function forcePushWarning(changes: LocalChanges): string | null {
  if (changes.records === 0) return null;
  return `The server's versions of ${counted(changes.records, "record")} will be replaced by yours.`;
}

/** What a force pull drops here, or keeps with `keep` (re-applied on top of the server's data). */
export function forcePullWarning(changes: LocalChanges, keep: boolean): string {
  const { unsent, conflicts, rejected } = changes;
  if (unsent + conflicts + rejected === 0) return "Nothing unsent to drop; your local data becomes the server's.";
  const yours = `${counted(unsent, "unsent change")} and ${counted(conflicts, "conflict")}`;
  if (keep) return `Your ${yours} are kept and re-applied on top; the rest of your local data becomes the server's.`;
  // Rejected changes go too, and they are named only when there are some, to keep the
  // sentence short in the usual case.
  const dropped = rejected === 0 ? yours : `${counted(unsent, "unsent change")}, ${counted(conflicts, "conflict")} and ${counted(rejected, "rejected change")}`;
  return `${dropped} will be dropped; your local data becomes the server's.`;
}
