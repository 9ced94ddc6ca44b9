// Adds a task.
import { useState, type FormEvent } from "react";
import type { Collection } from "ferrysync";
import type { Task } from "./database";

interface Props {
  tasks: Collection<Task>;
  onError: (error: unknown) => void;
}

export function NewTaskForm({ tasks, onError }: Props) {
  const [title, setTitle] = useState("");
  const [busy, setBusy] = useState(false);

  async function add(event: FormEvent) {
    event.preventDefault();
    const trimmed = title.trim();
    if (!trimmed) return;
    setBusy(true);
    try {
      await tasks.create({ title: trimmed, done: false, createdAt: Date.now() });
      setTitle("");
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
      <button type="submit" className="primary" data-testid="add-task" disabled={busy || !title.trim()}>
        Add
      </button>
    </form>
  );
}
