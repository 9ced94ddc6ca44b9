// The database's sync status: connection, queued changes, problems, files going up or down, the
// last sync, and a button to sync now.
import { useState } from "react";
import { useSyncStatus } from "ferrysync/react";
import { FileTransfers } from "./FileTransfers";
import { useDemoDatabase } from "./useDemoDatabase";

export function StatusBar({ onError }: { onError: (error: unknown) => void }) {
  const db = useDemoDatabase();
  const status = useSyncStatus();
  const [asked, setAsked] = useState(false);

  function syncNow() {
    setAsked(true);
    db.syncNow()
      .catch(onError)
      .finally(() => setAsked(false));
  }

  const last = status.lastSyncAt === null ? "never" : new Date(status.lastSyncAt).toLocaleTimeString();
  return (
    <div className="status-bar" data-testid="status-bar">
      <span data-testid="online" className={status.online ? "online" : "offline"}>
        {status.online ? "online" : "offline"}
      </span>
      <span>
        pending <strong data-testid="pending-count">{status.pending}</strong>
      </span>
      <span>
        failed <strong data-testid="failed-count">{status.failed}</strong>
      </span>
      <span>
        conflicts <strong data-testid="conflict-count">{status.conflicts}</strong>
      </span>
      <FileTransfers status={status} />
      <span data-testid="sync-state" title={status.lastError ?? undefined}>
        {status.syncing
          ? `syncing${status.progress ? ` ${status.progress.done}/${status.progress.total}` : ""}`
          : status.lastError
            ? "sync failed"
            : `synced ${last}`}
      </span>
      <button type="button" data-testid="sync-now" onClick={syncNow} disabled={asked}>
        Sync now
      </button>
    </div>
  );
}
