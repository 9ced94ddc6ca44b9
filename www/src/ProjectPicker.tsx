// A select of projects, with "No project" (the empty value): the new-task form offers the
// projects this device syncs, a task's row every project.
import type { Project } from "./projects";

/** The select's value of "No project": a task's `project` is then null. */
const NONE = "";

interface Props {
  projects: ReadonlyArray<Project>;
  value: string | null;
  onChange: (project: string | null) => void;
  label: string;
  testId: string;
  disabled?: boolean;
}

export function ProjectPicker({ projects, value, onChange, label, testId, disabled = false }: Props) {
  return (
    <select
      data-testid={testId}
      aria-label={label}
      value={value ?? NONE}
      disabled={disabled}
      onChange={(event) => onChange(event.target.value === NONE ? null : event.target.value)}
    >
      {projects.map((p) => (
        <option key={p.id} value={p.id}>
          {p.name}
        </option>
      ))}
      <option value={NONE}>No project</option>
    </select>
  );
}
