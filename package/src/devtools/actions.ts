// What the developer can do from the panel: sync now, export the pending changes, check the
// stored records, and the guarded reset.
import { useState, type ReactNode } from "react";
import type { Database, IntegrityTally, SyncSummary } from "../index.js";
import { ExportView, usePendingExport } from "./export.js";
import { describeError } from "./format.js";
import { ResetAction } from "./reset.js";
import { Button, Section, h } from "./ui.js";

export function ActionsSection({ db }: { db: Database }): ReactNode {
  const pending = usePendingExport(db);
  return h(
    Section,
    { name: "actions", title: "Actions" },
    h(SyncNowAction, { db }),
    h("div", null, h(Button, { onClick: pending.run, disabled: pending.state.step === "running" }, "Export pending"), h(ExportView, { state: pending.state })),
    h(IntegrityAction, { db }),
    h(ResetAction, { db, exportFirst: pending.run }),
  );
}

type IntegrityState = { running: boolean; progress?: IntegrityTally; result?: { ok: boolean; text: string } };

function tallied(t: IntegrityTally): string {
  return `checked ${t.checked} of ${t.total}, set aside ${t.setAside}, rebuilt ${t.rebuilt}`;
}

/** `db.checkIntegrity()`, with its progress while it reads, then what it repaired (each repair
 * is also in the sync log, with the raw value). */
function IntegrityAction({ db }: { db: Database }): ReactNode {
  const [state, setState] = useState<IntegrityState>({ running: false });
  const run = () => {
    setState({ running: true });
    db.checkIntegrity({ onProgress: (progress) => setState({ running: true, progress }) }).then(
      (tally) => setState({ running: false, result: { ok: true, text: tallied(tally) } }),
      (e: unknown) => setState({ running: false, result: { ok: false, text: describeError(e) } }),
    );
  };
  const shown = state.result ?? (state.progress ? { ok: true, text: tallied(state.progress) } : undefined);
  return h(
    "div",
    null,
    h(Button, { onClick: run, disabled: state.running }, state.running ? "Checking…" : "Check integrity"),
    shown === undefined
      ? null
      : h("span", { className: shown.ok ? "fsd-result" : "fsd-result fsd-bad", "data-field": "integrity" }, shown.text),
  );
}

type SyncNowState = { running: boolean; result?: { ok: boolean; text: string } };

function summarise(s: SyncSummary): string {
  return `pushed ${s.pushed}, pulled ${s.pulled}, conflicts ${s.conflicts}, rejected ${s.rejected}, resolved ${s.resolved}`;
}

/** `db.syncNow()`, and what it did or the error it failed with (its name is what the app would
 * switch on). */
function SyncNowAction({ db }: { db: Database }): ReactNode {
  const [state, setState] = useState<SyncNowState>({ running: false });
  const run = () => {
    setState({ running: true });
    db.syncNow().then(
      (summary) => setState({ running: false, result: { ok: true, text: summarise(summary) } }),
      (e: unknown) => setState({ running: false, result: { ok: false, text: describeError(e) } }),
    );
  };
  return h(
    "div",
    null,
    h(Button, { onClick: run, disabled: state.running }, state.running ? "Syncing…" : "Sync now"),
    state.result === undefined
      ? null
      : h("span", { className: state.result.ok ? "fsd-result" : "fsd-result fsd-bad", "data-field": "sync-now" }, state.result.text),
  );
}
