// Every task, oldest first, kept current by a live query.
import type { Collection } from "ferrysync";
import { useLiveQuery } from "ferrysync/react";
import type { Task } from "./database";
import { TaskRow } from "./TaskRow";

interface Props {
  tasks: Collection<Task>;
  onError: (error: unknown) => void;
}

export function TaskList({ tasks, onError }: Props) {
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
        <TaskRow key={task.id} task={task} tasks={tasks} onError={onError} />
      ))}
    </ul>
  );
}
