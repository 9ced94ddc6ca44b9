// Asks before a force push, saying how many of the server's records it will overwrite.
import { useConflicts, useOutbox } from "ferrysync/react";
import { ConfirmDialog } from "./ConfirmDialog";
import { counted, countLocalChanges, forcePushWarning } from "./forceText";
import { useDemoDatabase } from "./useDemoDatabase";

interface Props {
  onConfirm: () => void;
  onCancel: () => void;
}

export function ForcePushDialog({ onConfirm, onCancel }: Props) {
  const db = useDemoDatabase();
  // Read live: a sync finishing while the dialog is open changes what the force would do.
  const outbox = useOutbox(db);
  const conflicts = useConflicts(db);
  const changes = outbox && conflicts ? countLocalChanges(outbox, conflicts) : undefined;
  const warning = changes && forcePushWarning(changes);

  return (
    <ConfirmDialog
      name="force-push"
      title="Force push"
      confirmLabel="Replace the server's versions"
      confirmDisabled={!warning}
      onConfirm={onConfirm}
      onCancel={onCancel}
    >
      <p className="warning" data-testid="force-push-warning">
        {changes === undefined ? "Counting your changes…" : (warning ?? "Nothing queued: nothing to force.")}
      </p>
      {changes !== undefined && changes.records > 0 && (
        <p className="hint">Whatever others saved to those records is overwritten, conflicts included.</p>
      )}
      {changes !== undefined && changes.rejected > 0 && (
        <p className="hint">
          {counted(changes.rejected, "change")} the server rejected {changes.rejected === 1 ? "stays" : "stay"} rejected: a force
          does not send {changes.rejected === 1 ? "it" : "them"}.
        </p>
      )}
    </ConfirmDialog>
  );
}
