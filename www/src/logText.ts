// What a sync log entry means for the person who made the change, in words.
import type { SyncLogEntry } from "ferrysync";
import { differingFields, showValue, titleOf } from "./fields";
import { counted } from "./forceText";
import { projectName } from "./projects";

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
    case "unresolved":
      return {
        headline: `The resolver could not settle the conflict on ${what}: ${entry.message ?? "no reason given"}. It waits for you.`,
        lost: [],
        rollback: false,
      };
    case "resolved":
      return describeResolution(entry, what);
    case "quarantined":
      return {
        headline: `A damaged queued change of ${entry.collection || "an unknown collection"} was set aside: ${entry.message ?? "it did not decode"}. The sync log keeps it.`,
        lost: [],
        rollback: false,
      };
    case "evicted": {
      const n = entry.count ?? 0;
      return {
        headline: `This device's data was cleared outside the app (by the browser, or in its settings) and pulled afresh from the server; ${n === 0 ? "no unsent change was lost" : `${counted(n, "unsent change")} ${n === 1 ? "was" : "were"} lost`}.`,
        lost: [],
        rollback: n > 0,
      };
    }
    case "wipe":
      // A project turned off (`db.spaces.remove`) is the wipe of its space.
      if (entry.space !== undefined) return describeProjectOff(entry, entry.space);
      return { headline: describeForce(entry), lost: [], rollback: false };
    case "force-push":
    case "force-pull":
    case "swept":
      return { headline: describeForce(entry), lost: [], rollback: entry.kind === "force-pull" && entry.kept === "server" };
  }
}

/** A force or a wipe names its collections (`*` for all) and a count, not one record. */
function describeForce(entry: SyncLogEntry): string {
  const where = entry.collection === "*" ? "every collection" : entry.collection;
  const n = entry.count ?? 0;
  switch (entry.kind) {
    case "force-push":
      return `You forced ${n} queued change${n === 1 ? "" : "s"} of ${where} onto the server.`;
    case "force-pull":
      return entry.kept === "server"
        ? `You replaced ${where} with the server's data; ${n} unsent change${n === 1 ? " was" : "s were"} dropped.`
        : `You replaced ${where} with the server's data, keeping ${n} unsent change${n === 1 ? "" : "s"}.`;
    case "swept":
      return `${n} record${n === 1 ? "" : "s"} of ${where} that the server no longer has ${n === 1 ? "was" : "were"} removed.`;
    default:
      return `The local data of ${where} was cleared (${n} record${n === 1 ? "" : "s"}).`;
  }
}

/** A project this device stopped syncing: `count` is how many of its tasks were removed here,
 * `dropped` the unsent changes that went with them, a loss shown like a rollback. */
function describeProjectOff(entry: SyncLogEntry, space: string): EntryText {
  const dropped = entry.dropped ?? 0;
  let headline = `You stopped syncing ${projectName(space)} on this device: ${removedTasks(entry.count ?? 0)}`;
  if (dropped > 0) headline += `; ${counted(dropped, "unsent change")} ${dropped === 1 ? "was" : "were"} dropped`;
  return { headline: `${headline}.`, lost: [], rollback: dropped > 0 };
}

function removedTasks(n: number): string {
  if (n === 0) return "none of its tasks were here";
  return `${n === 1 ? "its task was" : `its ${n} tasks were`} removed from this device, not from the server`;
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
