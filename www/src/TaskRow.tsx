// One task: toggle done, rename, move to another project, attach a file (or remove it), delete,
// and its sync status; its file, if any, shows under it.
import { useState, type FormEvent } from "react";
import type { Collection, StoredRecord } from "ferrysync";
import type { Task } from "./database";
import { FilePicker } from "./FilePicker";
import { ProjectPicker } from "./ProjectPicker";
import { PROJECTS, type Project } from "./projects";
import { TaskAttachment } from "./TaskAttachment";

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

  function attach(file: File | null) {
    run(() => tasks.update(task.id, { attachment: file, attachmentName: file?.name ?? null }));
  }

  const { status, version } = task._sync;
  const attachment = task.attachment ?? null;
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
      {attachment === null && <FilePicker text="Attach…" label={`A file for “${task.title}”`} testId="task-attach" onPick={attach} />}
      <span className={`badge ${status}`} data-testid="task-status" title={`Local version ${version}`}>
        {status}
      </span>
      <button type="button" className="danger" data-testid="task-delete" onClick={() => run(() => tasks.delete(task.id))}>
        Delete
      </button>
      {attachment !== null && (
        <TaskAttachment attachment={attachment} name={task.attachmentName ?? "file"} waitingToUpload={status === "pending"}>
          <FilePicker text="Replace…" label={`Another file for “${task.title}”`} testId="task-attach" onPick={attach} />
          <button type="button" data-testid="task-detach" aria-label={`Remove the file of “${task.title}”`} onClick={() => attach(null)}>
            Remove
          </button>
        </TaskAttachment>
      )}
    </li>
  );
}
