// One task: toggle done, rename, move to another project, delete, and its sync status.
import { useState, type FormEvent } from "react";
import type { Collection, StoredRecord } from "ferrysync";
import type { Task } from "./database";
import { ProjectPicker } from "./ProjectPicker";
import { PROJECTS, type Project } from "./projects";

interface Props {
  task: StoredRecord<Task>;
  tasks: Collection<Task>;
  /** The task was moved to a project this device does not sync: it leaves once synced. */
  onMovedAway: (task: StoredRecord<Task>) => void;
  onError: (error: unknown) => void;
}

/** Every project a task can move to, and the one it is in when this version does not know it
 * (so that the select shows it rather than another). */
function movesFor(current: string | null | undefined): ReadonlyArray<Project> {
  if (typeof current !== "string" || PROJECTS.some((p) => p.id === current)) return PROJECTS;
  return [...PROJECTS, { id: current, name: current }];
}

export function TaskRow({ task, tasks, onMovedAway, onError }: Props) {
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

  function move(project: string | null) {
    run(async () => {
      const moved = await tasks.update(task.id, { project });
      if (moved._sync.outside) onMovedAway(moved);
    });
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
      <ProjectPicker projects={movesFor(task.project)} value={task.project ?? null} onChange={move} label="Project" testId="task-project" />
      <span className={`badge ${status}`} data-testid="task-status" title={`Local version ${version}`}>
        {status}
      </span>
      <button type="button" className="danger" data-testid="task-delete" onClick={() => run(() => tasks.delete(task.id))}>
        Delete
      </button>
    </li>
  );
}
