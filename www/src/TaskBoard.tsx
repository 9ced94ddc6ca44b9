// The board: its title, the form for a new task, and the tasks on this device, with a notice
// when a task the person wrote went to a project this device does not sync.
import { useMemo, useState } from "react";
import type { StoredRecord } from "ferrysync";
import { BoardTitle } from "./BoardTitle";
import type { Task } from "./database";
import { MovedAwayNotice, type MovedAway } from "./MovedAwayNotice";
import { NewTaskForm } from "./NewTaskForm";
import { TaskList } from "./TaskList";
import { useDemoDatabase } from "./useDemoDatabase";

export function TaskBoard({ onError }: { onError: (error: unknown) => void }) {
  const db = useDemoDatabase();
  // A handle holds a little wasm memory: one per database is plenty.
  const tasks = useMemo(() => db.collection("tasks"), [db]);
  const board = useMemo(() => db.collection("board"), [db]);
  // The last such task only: the notice is about what the person just did.
  const [movedAway, setMovedAway] = useState<MovedAway | null>(null);
  const onMovedAway = (task: StoredRecord<Task>) => setMovedAway({ title: task.title, project: task.project });

  return (
    <section className="card" data-testid="app-ready">
      <BoardTitle board={board} onError={onError} />
      <NewTaskForm tasks={tasks} onMovedAway={onMovedAway} onError={onError} />
      {movedAway && <MovedAwayNotice moved={movedAway} onDismiss={() => setMovedAway(null)} />}
      <TaskList tasks={tasks} onMovedAway={onMovedAway} onError={onError} />
    </section>
  );
}
