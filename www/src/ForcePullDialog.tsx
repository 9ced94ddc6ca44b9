// Asks before a force pull, saying how many local changes it will drop, or keep when the person
// ticks "Keep my unsent changes".
import { useState } from "react";
import { useConflicts, useOutbox } from "ferrysync/react";
import { ConfirmDialog } from "./ConfirmDialog";
import { countLocalChanges, forcePullWarning } from "./forceText";
import { useDemoDatabase } from "./useDemoDatabase";

interface Props {
  /** Called with whether the queued changes are to be kept (`keepLocalChanges`). */
  onConfirm: (keepLocalChanges: boolean) => void;
  onCancel: () => void;
}

export function ForcePullDialog({ onConfirm, onCancel }: Props) {
  const db = useDemoDatabase();
  // Read live: a sync finishing while the dialog is open changes what the force would drop.
  const outbox = useOutbox(db);
  const conflicts = useConflicts(db);
  const [keep, setKeep] = useState(false);
  const changes = outbox && conflicts ? countLocalChanges(outbox, conflicts) : undefined;

  return (
    <ConfirmDialog
      name="force-pull"
      title="Force pull"
      confirmLabel={keep ? "Take the server's data, keep my changes" : "Take the server's data"}
      confirmDisabled={changes === undefined}
      onConfirm={() => onConfirm(keep)}
      onCancel={onCancel}
    >
      <p className="warning" data-testid="force-pull-warning">
        {changes === undefined ? "Counting your changes…" : forcePullWarning(changes, keep)}
      </p>
      <p className="hint">Records the server does not have are removed here.</p>
      <label className="check">
        <input type="checkbox" data-testid="force-pull-keep" checked={keep} onChange={(event) => setKeep(event.target.checked)} />
        Keep my unsent changes
      </label>
    </ConfirmDialog>
  );
}
