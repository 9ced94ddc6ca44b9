// The sync log (`db.syncLog()` through useSyncLog), newest first: what happened to people's
// changes without them doing it there and then (settlements, rejections, forces, wipes).
import type { ReactNode } from "react";
import type { Database, SyncLogEntry } from "../index.js";
import { useSyncLog } from "../react.js";
import { preview, time } from "./format.js";
import { Empty, More, Section, Table, h } from "./ui.js";

const SHOWN = 50;

export function SyncLogSection({ db }: { db: Database }): ReactNode {
  const log = useSyncLog(db);
  return h(
    Section,
    { name: "sync-log", title: "Sync log", count: log?.length },
    log === undefined
      ? h(Empty, null, "reading…")
      : log.length === 0
        ? h(Empty, null, "empty")
        : [
            h(Table, {
              key: "table",
              head: ["when", "what", "collection", "record", "details"],
              rows: log.slice(0, SHOWN).map((entry) =>
                h(
                  "tr",
                  { key: entry.seq, "data-kind": entry.kind },
                  h("td", null, time(entry.at)),
                  h("td", { className: entry.kind === "rejected" || entry.kind === "quarantined" ? "fsd-bad" : undefined }, entry.kind),
                  h("td", null, entry.collection),
                  h("td", { className: "fsd-wrap" }, entry.id || "–"),
                  h("td", { className: "fsd-text" }, details(entry)),
                ),
              ),
            }),
            h(More, { key: "more", shown: SHOWN, total: log.length }),
          ],
  );
}

/** What `count` counts, by kind of entry (docs of SyncLogEntry). */
const COUNTED: Partial<Record<SyncLogEntry["kind"], (n: number, entry: SyncLogEntry) => string>> = {
  "force-push": (n) => `${n} changes forced`,
  "force-pull": (n, e) => `${n} queued changes ${e.kept === "local" ? "kept" : "dropped"}`,
  swept: (n) => `${n} records the server lacks removed`,
  wipe: (n) => `${n} records removed`,
  evicted: (n) => `${n} unsent changes lost`,
};

/** What an entry adds to its kind, in a few words: who settled it and what was kept, the
 * server's reason, how many changes or records it concerned. */
function details(entry: SyncLogEntry): string {
  const parts: string[] = [];
  const counted = COUNTED[entry.kind];
  if (counted !== undefined && entry.count !== undefined) parts.push(counted(entry.count, entry));
  else if (entry.kept !== undefined) parts.push(`kept ${entry.kept}${entry.by ? ` (by ${entry.by})` : ""}`);
  else if (entry.by !== undefined) parts.push(`by ${entry.by}`);
  if (entry.code !== undefined) parts.push(`${entry.code}${entry.message ? `: ${entry.message}` : ""}`);
  else if (entry.message !== undefined) parts.push(entry.message);
  if (entry.dropped !== undefined) parts.push(`${entry.dropped} queued changes dropped`);
  if (entry.space !== undefined) parts.push(`space ${entry.space}`);
  if (entry.kind === "resolved") parts.push(`here ${preview(entry.local, 40)}, server ${preview(entry.server, 40)}`);
  return parts.join("; ") || "–";
}
