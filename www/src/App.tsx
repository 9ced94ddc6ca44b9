// The page: status, the last error, conflicts and rejected changes, the board's tasks, force
// push and force pull, and the sync log. The database comes
// from <FerrysyncProvider>, which shows "Opening…" until it is open; a failure to open reaches
// the error boundary.
import { useCallback, useMemo, useState } from "react";
import { FerrysyncProvider } from "ferrysync/react";
import { getDatabase } from "./database";
import { BoardTitle } from "./BoardTitle";
import { ConflictPanel } from "./ConflictPanel";
import { ErrorBanner } from "./ErrorBanner";
import { OpenFailed } from "./OpenFailed";
import { toShownError, type ShownError } from "./errors";
import { NewTaskForm } from "./NewTaskForm";
import { Problems } from "./Problems";
import { StatusBar } from "./StatusBar";
import { SyncLogView } from "./SyncLogView";
import { SyncTools } from "./SyncTools";
import { TaskList } from "./TaskList";
import { useDemoDatabase } from "./useDemoDatabase";

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
          <Tasks onError={report} />
          <SyncTools onError={report} />
          <SyncLogView onError={report} />
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

function Tasks({ onError }: { onError: (error: unknown) => void }) {
  const db = useDemoDatabase();
  // A handle holds a little wasm memory: one per database is plenty.
  const tasks = useMemo(() => db.collection("tasks"), [db]);
  const board = useMemo(() => db.collection("board"), [db]);
  return (
    <section className="card" data-testid="app-ready">
      <BoardTitle board={board} onError={onError} />
      <NewTaskForm tasks={tasks} onError={onError} />
      <TaskList tasks={tasks} onError={onError} />
    </section>
  );
}
