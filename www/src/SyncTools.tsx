// Force push and force pull, for when a sync cannot settle things by itself. Each asks first,
// saying what will be lost; while one runs, both are disabled and its progress shows.
import { useState } from "react";
import { useSyncStatus } from "ferrysync/react";
import { ForcePullDialog } from "./ForcePullDialog";
import { ForcePushDialog } from "./ForcePushDialog";
import { useDemoDatabase } from "./useDemoDatabase";

type Force = "push" | "pull";

const running: Record<Force, string> = {
  push: "Forcing your changes onto the server",
  pull: "Taking the server's data",
};

export function SyncTools({ onError }: { onError: (error: unknown) => void }) {
  const db = useDemoDatabase();
  const status = useSyncStatus();
  const [asking, setAsking] = useState<Force | null>(null);
  const [forcing, setForcing] = useState<Force | null>(null);

  function force(which: Force, keepLocalChanges = false) {
    setAsking(null);
    setForcing(which);
    // Refused before anything changes while offline (NetworkError): the banner says so.
    (which === "push" ? db.forcePush() : db.forcePull({ keepLocalChanges })).catch(onError).finally(() => setForcing(null));
  }

  const progress = status.progress ? ` ${status.progress.done}/${status.progress.total}` : "";
  return (
    <section className="card sync-tools" data-testid="sync-tools" aria-labelledby="sync-tools-heading">
      <div className="card-heading">
        <h2 id="sync-tools-heading">Sync tools</h2>
        <div className="actions">
          <button type="button" className="danger" data-testid="force-push" disabled={forcing !== null} onClick={() => setAsking("push")}>
            {forcing === "push" ? "Force pushing…" : "Force push…"}
          </button>
          <button type="button" className="danger" data-testid="force-pull" disabled={forcing !== null} onClick={() => setAsking("pull")}>
            {forcing === "pull" ? "Force pulling…" : "Force pull…"}
          </button>
        </div>
      </div>
      <p className="hint" role="status" data-testid="force-state">
        {forcing
          ? `${running[forcing]}…${progress}`
          : "Force push makes the server take your changes; force pull makes your data the server's."}
      </p>
      {asking === "push" && <ForcePushDialog onConfirm={() => force("push")} onCancel={() => setAsking(null)} />}
      {asking === "pull" && <ForcePullDialog onConfirm={(keep) => force("pull", keep)} onCancel={() => setAsking(null)} />}
    </section>
  );
}
