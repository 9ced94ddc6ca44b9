// The page: status, the new-task form, the task list, and the last error.
import { useCallback, useMemo, useState } from "react";
import type { Database } from "ferrysync";
import { TASKS, type Task } from "./database";
import { ErrorBanner } from "./ErrorBanner";
import { toShownError, type ShownError } from "./errors";
import { NewTaskForm } from "./NewTaskForm";
import { Problems } from "./Problems";
import { StatusBar } from "./StatusBar";
import { TaskList } from "./TaskList";
import { useDatabase } from "./useDatabase";

export function App() {
  const opened = useDatabase();
  const [error, setError] = useState<ShownError | null>(null);
  const report = useCallback((e: unknown) => setError(toShownError(e)), []);
  const shown = opened.state === "failed" ? toShownError(opened.error) : error;

  return (
    <main>
      <header>
        <div>
          <h1>ferrysync demo</h1>
          <p className="subtitle">Tasks stored offline in IndexedDB, synced with the server when it can.</p>
        </div>
        {opened.state === "open" && <StatusBar db={opened.db} onError={report} />}
      </header>
      {shown && <ErrorBanner error={shown} onDismiss={() => setError(null)} />}
      {opened.state === "opening" && <p className="loading">Opening the database…</p>}
      {opened.state === "open" && <Problems db={opened.db} onError={report} />}
      {opened.state === "open" && <Tasks db={opened.db} onError={report} />}
    </main>
  );
}

function Tasks({ db, onError }: { db: Database; onError: (error: unknown) => void }) {
  const tasks = useMemo(() => db.collection<Task>(TASKS), [db]);
  return (
    <section className="card" data-testid="app-ready">
      <NewTaskForm tasks={tasks} onError={onError} />
      <TaskList tasks={tasks} onError={onError} />
    </section>
  );
}
