// "Export pending": every queued change with its record (`db.exportPending()`), shown as JSON
// and offered as a file. The reset offers it too, before it drops those changes, so the state
// lives in a hook the actions share.
import { useEffect, useRef, useState, type ReactNode } from "react";
import type { Database } from "../index.js";
import { describeError, time, toJson } from "./format.js";
import { Empty, h } from "./ui.js";

export type PendingExportState =
  | { step: "none" }
  | { step: "running" }
  | { step: "done"; count: number; at: number; json: string; url: string; file: string }
  | { step: "failed"; error: string };

export interface PendingExport {
  readonly state: PendingExportState;
  readonly run: () => void;
}

export function usePendingExport(db: Database): PendingExport {
  const [state, setState] = useState<PendingExportState>({ step: "none" });
  // The object URL of the file offered, released when a new export replaces it and on unmount.
  const url = useRef<string | null>(null);
  const release = () => {
    if (url.current !== null) URL.revokeObjectURL(url.current);
    url.current = null;
  };
  useEffect(() => release, []);

  const run = () => {
    setState({ step: "running" });
    db.exportPending().then(
      (exported) => {
        const json = toJson(exported, 2);
        release();
        url.current = URL.createObjectURL(new Blob([json], { type: "application/json" }));
        const tenant = exported.tenant === null ? "" : `-${exported.tenant}`;
        const file = `ferrysync-pending-${exported.app}${tenant}-${exported.exportedAt}.json`;
        setState({ step: "done", count: exported.changes.length, at: exported.exportedAt, json, url: url.current, file });
      },
      (e: unknown) => setState({ step: "failed", error: describeError(e) }),
    );
  };
  return { state, run };
}

export function ExportView({ state }: { state: PendingExportState }): ReactNode {
  switch (state.step) {
    case "none":
      return null;
    case "running":
      return h(Empty, null, "exporting…");
    case "failed":
      return h("p", { className: "fsd-result fsd-bad", "data-field": "export" }, state.error);
    case "done":
      return h(
        "div",
        { className: "fsd-result", "data-field": "export" },
        `${state.count} pending changes exported at ${time(state.at)}: `,
        h("a", { href: state.url, download: state.file }, "save as file"),
        h("details", null, h("summary", null, "JSON"), h("pre", { "data-field": "export-json" }, state.json)),
      );
  }
}
