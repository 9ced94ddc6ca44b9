// Asks before turning off a project whose tasks have changes the server never got: removing the
// project from this device drops them.
import { ConfirmDialog } from "./ConfirmDialog";
import { counted } from "./forceText";
import type { Project } from "./projects";

interface Props {
  project: Project;
  /** The queued changes the refused removal counted (PendingChangesError's `pending`). */
  pending: number;
  onConfirm: () => void;
  onCancel: () => void;
}

export function ProjectOffDialog({ project, pending, onConfirm, onCancel }: Props) {
  return (
    <ConfirmDialog
      name="project-off"
      title={`Stop syncing ${project.name}`}
      confirmLabel={`Drop ${pending === 1 ? "it" : "them"} and stop syncing`}
      confirmDisabled={false}
      onConfirm={onConfirm}
      onCancel={onCancel}
    >
      <p className="warning" data-testid="project-off-warning">
        {counted(pending, "unsent change")} to {project.name}'s tasks will be lost: the server never got{" "}
        {pending === 1 ? "it" : "them"}.
      </p>
      <p className="hint">
        {project.name}'s tasks stay on the server as it has them, and come back if you turn {project.name} on again. To
        keep your changes, cancel and sync first.
      </p>
    </ConfirmDialog>
  );
}
