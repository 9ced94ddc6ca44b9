// The devtools panel ("ferrysync/devtools"): a component an app mounts in development to see its
// database's sync health (status, metrics, storage, outbox, conflicts, dead letters, sync log)
// and act on it (sync now, export the pending changes, a guarded reset from the server). An
// entry of its own, so that an app that never imports it ships none of it; it reads through the
// hooks of ferrysync/react and needs nothing else than React.
import { useState, type ReactNode } from "react";
import type { Database, SyncStatus } from "./index.js";
import { useSyncStatus } from "./react.js";
import { useDatabaseOr } from "./react/context.js";
import { ActionsSection } from "./devtools/actions.js";
import { ConflictsSection } from "./devtools/conflicts.js";
import { DeadLettersSection } from "./devtools/dead-letters.js";
import { MetricsSection } from "./devtools/metrics.js";
import { OutboxSection } from "./devtools/outbox.js";
import { StatusSection } from "./devtools/status.js";
import { StorageSection } from "./devtools/storage.js";
import { ROOT, STYLE } from "./devtools/style.js";
import { SyncLogSection } from "./devtools/sync-log.js";
import { h } from "./devtools/ui.js";

export interface FerrysyncDevtoolsProps {
  /** The database to show; the provider's (`<FerrysyncProvider>`) when absent. */
  db?: Database | undefined;
  /** Whether the panel starts open (default false: a small button opens it). */
  initialOpen?: boolean | undefined;
  /** Where the panel sits: fixed in a corner of the window (default `"bottom-right"`), or
   * `"inline"`, in the page's flow where it is rendered. */
  position?: "bottom-right" | "bottom-left" | "top-right" | "top-left" | "inline" | undefined;
}

/** The devtools panel of `db` (else the provider's database): a button showing the pending,
 * failed and conflict counts, which opens the panel. Throws InvalidOptionsError with neither. */
export function FerrysyncDevtools({ db, initialOpen = false, position = "bottom-right" }: FerrysyncDevtoolsProps): ReactNode {
  const chosen = useDatabaseOr(db, "ferrysync/devtools: pass <FerrysyncDevtools>");
  const status = useSyncStatus(chosen);
  const [open, setOpen] = useState(initialOpen);
  const trouble = status.failed + status.conflicts;
  return h(
    "div",
    { className: `${ROOT} ${ROOT}--${position}`, "data-open": open },
    h("style", null, STYLE),
    h(
      "button",
      { type: "button", className: "fsd-toggle", "aria-expanded": open, onClick: () => setOpen(!open), title: "ferrysync devtools" },
      h("span", { className: status.online ? "fsd-dot fsd-on" : "fsd-dot" }),
      `ferrysync · ${status.pending} pending`,
      trouble > 0 ? h("span", { className: "fsd-bad" }, ` · ${status.failed} failed · ${status.conflicts} in conflict`) : null,
    ),
    // A database switch starts the panel over: an export or a reset question of the old
    // database must not stay on screen for the new one.
    open ? h(Panel, { key: keyOf(chosen), db: chosen, status }) : null,
  );
}

function Panel({ db, status }: { db: Database; status: SyncStatus }): ReactNode {
  return h(
    "div",
    { className: "fsd-body", role: "region", "aria-label": "ferrysync devtools" },
    h("div", { className: "fsd-title" }, h("span", null, db.name), h("span", { className: "fsd-muted" }, `schema version ${db.version}`)),
    h(StatusSection, { status }),
    h(ActionsSection, { db }),
    h(OutboxSection, { db }),
    h(ConflictsSection, { db }),
    h(DeadLettersSection, { db, status }),
    h(SyncLogSection, { db }),
    h(MetricsSection, { db, status }),
    h(StorageSection, { db, status }),
  );
}

/** A number per database object, to key the panel by (the name is the same for a database
 * closed and opened again). */
const keys = new WeakMap<Database, number>();
let lastKey = 0;
function keyOf(db: Database): number {
  let key = keys.get(db);
  if (key === undefined) keys.set(db, (key = ++lastKey));
  return key;
}
