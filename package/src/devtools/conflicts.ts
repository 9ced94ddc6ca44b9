// The unresolved conflicts (`db.conflicts()` through useConflicts), each with its field diff:
// which fields changed since the base, on which side, and to what. Settling them is the app's
// business (resolveConflict), so the panel only shows them.
import type { ReactNode } from "react";
import type { Conflict, Database, FieldDiff } from "../index.js";
import { useConflicts } from "../react.js";
import { preview, time } from "./format.js";
import { Empty, More, Section, Table, h } from "./ui.js";

const SHOWN = 50;

const CHANGED: Record<FieldDiff["change"], string> = {
  local: "here",
  server: "on the server",
  "both-same": "both, the same way",
  "both-different": "both, differently",
};

export function ConflictsSection({ db }: { db: Database }): ReactNode {
  const conflicts = useConflicts(db);
  return h(
    Section,
    { name: "conflicts", title: "Conflicts", count: conflicts?.length, alert: true },
    conflicts === undefined
      ? h(Empty, null, "reading…")
      : conflicts.length === 0
        ? h(Empty, null, "none")
        : [
            ...conflicts.slice(0, SHOWN).map((c) => h(OneConflict, { key: `${c.collection}/${c.id}`, conflict: c })),
            h(More, { key: "more", shown: SHOWN, total: conflicts.length }),
          ],
  );
}

function OneConflict({ conflict }: { conflict: Conflict }): ReactNode {
  const deletedHere = conflict.local === null || conflict.local._sync.deleted;
  const sides = [deletedHere ? "deleted here" : null, conflict.server.deleted ? "deleted on the server" : null].filter(Boolean);
  return h(
    "div",
    { className: "fsd-conflict", "data-record": conflict.id },
    h(
      "div",
      null,
      h("strong", null, `${conflict.collection} / ${conflict.id}`),
      ` found ${time(conflict.detectedAt)}, server version ${conflict.server.version}`,
      sides.length > 0 ? h("span", { className: "fsd-bad" }, ` (${sides.join(", ")})`) : null,
    ),
    conflict.diff.length === 0
      ? h(Empty, null, "no field differs")
      : h(Table, {
          head: ["field", "base", "here", "server", "changed"],
          rows: conflict.diff.map((d) => {
            const field = d.path.join(".");
            return h(
              "tr",
              { key: field, "data-field": field },
              h("td", null, field),
              h("td", { className: "fsd-wrap" }, preview(d.base)),
              h("td", { className: "fsd-wrap" }, preview(d.local)),
              h("td", { className: "fsd-wrap" }, preview(d.server)),
              h("td", { className: d.change === "both-different" ? "fsd-bad" : undefined }, CHANGED[d.change]),
            );
          }),
        }),
  );
}
