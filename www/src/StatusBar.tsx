// The database's sync status: queued changes and the rest of the snapshot.
import { useMemo } from "react";
import type { Database } from "ferrysync";
import { useExternalStore } from "./useExternalStore";

export function StatusBar({ db }: { db: Database }) {
  const store = useMemo(() => db.statusStore(), [db]);
  const status = useExternalStore(store);
  return (
    <div className="status-bar" data-testid="status-bar">
      <span>
        pending <strong data-testid="pending-count">{status.pending}</strong>
      </span>
      <span>
        failed <strong data-testid="failed-count">{status.failed}</strong>
      </span>
      <span>
        conflicts <strong data-testid="conflict-count">{status.conflicts}</strong>
      </span>
      <span data-testid="online">{status.online ? "online" : "offline"}</span>
    </div>
  );
}
