// The page: status, the last error, conflicts and rejected changes, the board's tasks, the
// projects this device syncs, force push and force pull, and the sync log. The database comes
// from <FerrysyncProvider>, which shows "Opening…" until it is open; a failure to open reaches
// the error boundary.
import { useCallback, useState } from "react";
import { FerrysyncProvider } from "ferrysync/react";
import { HealthPanel } from "./HealthPanel";
import { getDatabase } from "./database";
import { ConflictPanel } from "./ConflictPanel";
import { ErrorBanner } from "./ErrorBanner";
import { OpenFailed } from "./OpenFailed";
import { toShownError, type ShownError } from "./errors";
import { Problems } from "./Problems";
import { ProjectsPanel } from "./ProjectsPanel";
import { StatusBar } from "./StatusBar";
import { SyncLogView } from "./SyncLogView";
import { SyncTools } from "./SyncTools";
import { TaskBoard } from "./TaskBoard";

export function App() {
  const [error, setError] = useState<ShownError | null>(null);
  const report = useCallback((e: unknown) => setError(toShownError(e)), []);

  return (
    <main>
      <OpenFailed>
        <FerrysyncProvider db={getDatabase()} fallback={<Opening />}>
          <header>
            <Title />
            <StatusBar onError={report} />
          </header>
          {error && <ErrorBanner error={error} onDismiss={() => setError(null)} />}
          <ConflictPanel onError={report} />
          <Problems onError={report} />
          <TaskBoard onError={report} />
          <ProjectsPanel onError={report} />
          <SyncTools onError={report} />
          <SyncLogView onError={report} />
          <HealthPanel />
        </FerrysyncProvider>
      </OpenFailed>
    </main>
  );
}

function Title() {
  return (
    <div>
      <h1>ferrysync demo</h1>
      <p className="subtitle">Tasks stored offline in IndexedDB, synced with the server when it can.</p>
    </div>
  );
}

function Opening() {
  return (
    <>
      <header>
        <Title />
      </header>
      <p className="loading">Opening the database…</p>
    </>
  );
}
