// Every task on this device, oldest first, kept current by a live query: those of the projects
// it syncs and those of no project (one just moved to a project it does not sync stays until
// the server has it).
import type { Collection, StoredRecord } from "ferrysync";
import { useLiveQuery } from "ferrysync/react";
import type { Task } from "./database";
import { TaskRow } from "./TaskRow";

interface Props {
  tasks: Collection<Task>;
  onMovedAway: (task: StoredRecord<Task>) => void;
  onError: (error: unknown) => void;
}

export function TaskList({ tasks, onMovedAway, onError }: Props) {
  const rows = useLiveQuery(tasks, { index: "createdAt" });

  if (rows === undefined) {
    return <p className="loading" data-testid="tasks-loading">Loading tasks…</p>;
  }
  if (rows.length === 0) {
    return <p className="empty" data-testid="tasks-empty">No tasks yet.</p>;
  }
  return (
    <ul className="tasks" data-testid="task-list">
      {rows.map((task) => (
        <TaskRow key={task.id} task={task} tasks={tasks} onMovedAway={onMovedAway} onError={onError} />
      ))}
    </ul>
  );
}
