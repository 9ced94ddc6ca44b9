// Adds a task, to one of the projects this device syncs or to none, with a file if one is picked.
import { useState, type FormEvent } from "react";
import type { Collection, StoredRecord } from "ferrysync";
import type { Task } from "./database";
import { FilePicker } from "./FilePicker";
import { ProjectPicker } from "./ProjectPicker";
import { useSyncedProjects } from "./useSyncedProjects";

interface Props {
  tasks: Collection<Task>;
  /** A task written to a project this device does not sync (turned off while picked). */
  onMovedAway: (task: StoredRecord<Task>) => void;
  onError: (error: unknown) => void;
}

export function NewTaskForm({ tasks, onMovedAway, onError }: Props) {
  const { projects } = useSyncedProjects();
  const [title, setTitle] = useState("");
  /** The project picked; undefined until the person picks one, meaning the first synced one. */
  const [picked, setPicked] = useState<string | null | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  /** The file to attach to the new task, if any. */
  const [file, setFile] = useState<File | null>(null);
  // Until the person picks, and once a picked project is turned off, the first one offered.
  const project = picked === null ? null : (projects.find((p) => p.id === picked) ?? projects[0])?.id ?? null;

  async function add(event: FormEvent) {
    event.preventDefault();
    const trimmed = title.trim();
    if (!trimmed) return;
    setBusy(true);
    try {
      const attached = file === null ? {} : { attachment: file, attachmentName: file.name };
      const created = await tasks.create({ title: trimmed, done: false, createdAt: Date.now(), project, ...attached });
      if (created._sync.outside) onMovedAway(created);
      setTitle("");
      setFile(null);
    } catch (error) {
      onError(error);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="new-task" onSubmit={add}>
      <input
        type="text"
        data-testid="new-task-input"
        aria-label="New task"
        placeholder="What needs doing?"
        value={title}
        onChange={(event) => setTitle(event.target.value)}
      />
      <ProjectPicker projects={projects} value={project} onChange={setPicked} label="Project of the new task" testId="new-task-project" />
      <FilePicker
        text={file === null ? "Attach…" : file.name}
        label="A file for the new task"
        testId="new-task-file"
        onPick={setFile}
        disabled={busy}
      />
      <button type="submit" className="primary" data-testid="add-task" disabled={busy || !title.trim()}>
        Add
      </button>
    </form>
  );
}
