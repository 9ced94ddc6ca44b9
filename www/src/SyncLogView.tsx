// The sync log, newest first: changes settled by a strategy or by a decision, and changes the
// server rejected, with a button to clear it.
import { useSyncLog } from "ferrysync/react";
import { LogEntryItem } from "./LogEntryItem";
import { useDemoDatabase } from "./useDemoDatabase";

export function SyncLogView({ onError }: { onError: (error: unknown) => void }) {
  const db = useDemoDatabase();
  const log = useSyncLog(db);
  const shown = log ?? [];

  function clear() {
    // The clear is announced to the log's listeners, so useSyncLog reads the empty log again.
    db.clearSyncLog().catch(onError);
  }

  return (
    <section className="card sync-log" data-testid="sync-log" aria-labelledby="sync-log-heading">
      <div className="card-heading">
        <h2 id="sync-log-heading">Sync log</h2>
        <button type="button" data-testid="sync-log-clear" onClick={clear} disabled={shown.length === 0}>
          Clear
        </button>
      </div>
      {log === undefined ? (
        <p className="loading">Loading the log…</p>
      ) : shown.length === 0 ? (
        <p className="empty" data-testid="sync-log-empty">
          No change of yours has been settled or rejected by a sync.
        </p>
      ) : (
        <ol className="log" data-testid="sync-log-entries">
          {shown.map((entry) => (
            <LogEntryItem key={entry.seq} entry={entry} />
          ))}
        </ol>
      )}
    </section>
  );
}
