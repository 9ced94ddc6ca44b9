// The guarded reset: a force pull of every collection (`db.forcePull()`), which replaces this
// device's data with the server's and drops every queued change, conflict and rejected change.
// Nothing is dropped without seeing how much would be: the first click counts the unsent
// changes and asks, offering an export first; only the explicit confirmation pulls, and cancel
// changes nothing.
import { useState, type ReactNode } from "react";
import type { Database, OutboxEntry } from "../index.js";
import { describeError } from "./format.js";
import { Button, h } from "./ui.js";

type ResetState =
  | { step: "idle" }
  | { step: "counting" }
  /** `grew`: more changes were queued while the question was shown, so it is asked again. */
  | { step: "confirming"; unsent: Unsent; grew: boolean }
  | { step: "running" }
  | { step: "done"; result: string }
  | { step: "failed"; error: string };

interface Unsent {
  readonly total: number;
  readonly heldByConflict: number;
  readonly rejected: number;
}

/** Every queued change is lost to a force pull, those held by a conflict or a rejection too. */
async function countUnsent(db: Database): Promise<Unsent> {
  const outbox: OutboxEntry[] = await db.outbox();
  return {
    total: outbox.length,
    heldByConflict: outbox.filter((e) => e.hold === "conflict").length,
    rejected: outbox.filter((e) => e.hold === "failed").length,
  };
}

function describeUnsent({ total, heldByConflict, rejected }: Unsent): string {
  if (total === 0) return "No unsent change would be lost.";
  const held = [heldByConflict > 0 ? `${heldByConflict} held by a conflict` : null, rejected > 0 ? `${rejected} rejected` : null];
  const detail = held.filter(Boolean).join(", ");
  return `${total} unsent ${total === 1 ? "change" : "changes"}${detail ? ` (${detail})` : ""} would be lost.`;
}

export function ResetAction({ db, exportFirst }: { db: Database; exportFirst: () => void }): ReactNode {
  const [state, setState] = useState<ResetState>({ step: "idle" });

  const ask = () => {
    setState({ step: "counting" });
    countUnsent(db).then(
      (unsent) => setState({ step: "confirming", unsent, grew: false }),
      (e: unknown) => setState({ step: "failed", error: describeError(e) }),
    );
  };

  // Counted again at the confirmation: a change written while the question was shown would be
  // dropped without having been counted. (One written between this count and the pull still
  // can be; the window is one read long.)
  const confirm = (shown: Unsent) => {
    setState({ step: "running" });
    countUnsent(db)
      .then((now) => {
        if (now.total > shown.total) {
          setState({ step: "confirming", unsent: now, grew: true });
          return;
        }
        return db.forcePull().then((summary) =>
          setState({ step: "done", result: `Reset done: ${summary.pulled} records pulled from the server.` }),
        );
      })
      .catch((e: unknown) => setState({ step: "failed", error: describeError(e) }));
  };

  const part = (...children: ReactNode[]) => h("div", { "data-part": "reset" }, ...children);
  switch (state.step) {
    case "counting":
      return part(h("p", { className: "fsd-muted" }, "Counting unsent changes…"));
    case "running":
      return part(h("p", { className: "fsd-muted" }, "Resetting…"));
    case "confirming":
      return part(
        h(
          "div",
          { className: "fsd-warning", role: "alertdialog", "aria-label": "Reset from the server" },
          h("p", null, "Reset replaces this device's data with the server's (a force pull of every collection)."),
          state.grew ? h("p", null, "More changes were queued since you asked:") : null,
          h("p", { "data-field": "unsent", "data-count": state.unsent.total }, h("strong", null, describeUnsent(state.unsent))),
          state.unsent.total > 0 ? h(Button, { onClick: exportFirst }, "Export first") : null,
          h(Button, { onClick: () => confirm(state.unsent), danger: true }, state.unsent.total > 0 ? `Drop ${state.unsent.total} and reset` : "Reset"),
          h(Button, { onClick: () => setState({ step: "idle" }) }, "Cancel"),
        ),
      );
    default:
      return part(
        h(Button, { onClick: ask, danger: true }, "Reset from server…"),
        state.step === "done" ? h("span", { className: "fsd-result", "data-field": "reset" }, state.result) : null,
        state.step === "failed" ? h("span", { className: "fsd-result fsd-bad", "data-field": "reset" }, state.error) : null,
      );
  }
}
