// One task: toggle done, rename, delete, and its sync status.
import { useState, type FormEvent } from "react";
import type { Collection, StoredRecord } from "ferrysync";
import type { Task } from "./database";

interface Props {
  task: StoredRecord<Task>;
  tasks: Collection<Task>;
  onError: (error: unknown) => void;
}

export function TaskRow({ task, tasks, onError }: Props) {
  const [draft, setDraft] = useState<string | null>(null);

  function run(write: () => Promise<unknown>) {
    write().catch(onError);
  }

  function save(event: FormEvent) {
    event.preventDefault();
    const title = draft?.trim();
    setDraft(null);
    if (title && title !== task.title) run(() => tasks.update(task.id, { title }));
  }

  const { status, version } = task._sync;
  return (
    <li className={task.done ? "task done" : "task"} data-testid="task-row" data-task-id={task.id}>
      <input
        type="checkbox"
        data-testid="task-toggle"
        aria-label="Done"
        checked={task.done}
        onChange={() => run(() => tasks.update(task.id, { done: !task.done }))}
      />
      {draft === null ? (
        <>
          <span className="title" data-testid="task-title" onDoubleClick={() => setDraft(task.title)}>
            {task.title}
          </span>
          <button type="button" data-testid="task-edit" onClick={() => setDraft(task.title)}>
            Edit
          </button>
        </>
      ) : (
        <form onSubmit={save}>
          <input
            type="text"
            data-testid="task-title-input"
            aria-label="Title"
            autoFocus
            value={draft}
            onChange={(event) => setDraft(event.target.value)}
            onKeyDown={(event) => event.key === "Escape" && setDraft(null)}
          />
          <button type="submit" data-testid="task-save">
            Save
          </button>
        </form>
      )}
      <span className={`badge ${status}`} data-testid="task-status" title={`Local version ${version}`}>
        {status}
      </span>
      <button type="button" className="danger" data-testid="task-delete" onClick={() => run(() => tasks.delete(task.id))}>
        Delete
      </button>
    </li>
  );
}
