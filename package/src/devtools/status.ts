// The status snapshot (`db.status()`) as it is: the counts, the last sync and its error, the
// push's progress, each space, and the eviction an open found.
import type { ReactNode } from "react";
import type { SyncStatus } from "../index.js";
import { time } from "./format.js";
import { Fields, Section, Table, flag, h } from "./ui.js";

export function StatusSection({ status }: { status: SyncStatus }): ReactNode {
  const { progress, evicted } = status;
  return h(
    Section,
    { name: "status", title: "Status" },
    h(Fields, {
      rows: [
        ["online", "online", flag(status.online)],
        ["syncing", "syncing", status.syncing ? "yes" : "no"],
        ["pending", "pending", status.pending],
        ["failed", "failed", h("span", { className: status.failed > 0 ? "fsd-bad" : undefined }, status.failed)],
        ["conflicts", "conflicts", h("span", { className: status.conflicts > 0 ? "fsd-bad" : undefined }, status.conflicts)],
        ["lastSyncAt", "last sync", time(status.lastSyncAt)],
        ["lastError", "last error", status.lastError === null ? "none" : h("span", { className: "fsd-bad" }, status.lastError)],
        ["progress", "progress", progress === null ? "–" : `${progress.done} / ${progress.total} sent`],
        ...(evicted === null
          ? []
          : ([
              [
                "evicted",
                "evicted",
                h(
                  "span",
                  { className: "fsd-bad" },
                  `the database was cleared outside ferrysync (found ${time(evicted.detectedAt)}, last seen ${time(evicted.lastSeenAt)}): ${evicted.lostUnsent} unsent changes lost`,
                ),
              ],
            ] as const)),
      ],
    }),
    h(Spaces, { spaces: status.spaces }),
  );
}

function Spaces({ spaces }: { spaces: SyncStatus["spaces"] }): ReactNode {
  const ids = Object.keys(spaces);
  if (ids.length === 0) return null;
  return h(Table, {
    head: ["space", "ready", "pulled", "last sync"],
    rows: ids.map((id) => {
      const space = spaces[id]!;
      return h(
        "tr",
        { key: id, "data-space": id },
        h("td", null, id),
        h("td", null, flag(space.ready)),
        h("td", null, space.pulled ?? "–"),
        h("td", null, time(space.lastSyncAt)),
      );
    }),
  });
}
