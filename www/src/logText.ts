// What a sync log entry means for the person who made the change, in words.
import type { SyncLogEntry } from "ferrysync";
import { differingFields, showValue, titleOf } from "./fields";

export interface EntryText {
  /** One sentence saying what happened. */
  headline: string;
  /** What the kept version replaced of the local change, field by field. */
  lost: string[];
  /** A local change was replaced, wholly or in part, without being kept as it was. */
  rollback: boolean;
}

export function describeEntry(entry: SyncLogEntry): EntryText {
  const title = titleOf(entry.local, entry.server) ?? entry.id;
  const what = entry.collection === "board" ? `the board's title “${title}”` : `“${title}”`;
  switch (entry.kind) {
    case "rejected":
      return {
        headline: `The server rejected your change to ${what}: ${entry.message ?? "no reason given"} (${entry.code ?? "?"})`,
        lost: [],
        rollback: false,
      };
    case "retried":
      return { headline: `Your rejected change to ${what} was sent again.`, lost: [], rollback: false };
    case "discarded":
      return { headline: `Your rejected change to ${what} was discarded.`, lost: [], rollback: false };
    case "resolved":
      return describeResolution(entry, what);
  }
}

function describeResolution(entry: SyncLogEntry, what: string): EntryText {
  const byYou = entry.by === "user";
  if (entry.kept === "local") {
    return {
      headline: byYou ? `You kept your change to ${what} over the server's.` : `Your change to ${what} was kept over the server's.`,
      lost: [],
      rollback: false,
    };
  }
  // The entry holds both versions as they were, not the base nor the merged result: what differs
  // between them is what a server's version replaced, or, for a merge, what may have been.
  const differed = entry.local
    ? differingFields(entry.local, entry.server).map((f) => `${f.name}: yours ${showValue(f.mine)}, the server's ${showValue(f.theirs)}`)
    : [];
  if (entry.kept === "server") {
    const lost = entry.local === null ? ["your delete: the record is back"] : differed;
    return {
      headline: byYou
        ? `You replaced your change to ${what} with the server's version.`
        : `Your change to ${what} was replaced by a newer version from the server.`,
      lost,
      rollback: true,
    };
  }
  return {
    headline: byYou
      ? `You merged your change to ${what} with the server's version.`
      : `Your change to ${what} was merged with a newer version from the server.`,
    lost: differed,
    rollback: true,
  };
}
