// Says that a task the person just wrote went to a project this device does not sync: it is sent
// as any change, and then it leaves this device (the write came back with `_sync.outside`).
import { projectName } from "./projects";

export interface MovedAway {
  title: string;
  project: string | null | undefined;
}

interface Props {
  moved: MovedAway;
  onDismiss: () => void;
}

export function MovedAwayNotice({ moved, onDismiss }: Props) {
  const where = projectName(moved.project);
  return (
    <div className="notice" role="status" data-testid="moved-away">
      <p data-testid="moved-away-text">
        “{moved.title}” now lives in {where}, a project this device does not sync: it leaves this device once it is synced.
        Turn {where} on to keep it here.
      </p>
      <button type="button" data-testid="moved-away-dismiss" onClick={onDismiss}>
        Dismiss
      </button>
    </div>
  );
}
