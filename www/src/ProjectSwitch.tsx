// One project's switch: whether this device syncs it, and how far along it is. On asks for the
// project and waits for its first full pull; off removes its tasks from this device (never from
// the server), asking first when that would drop changes the server never got.
import { useState } from "react";
import { isFerrysyncError } from "ferrysync";
import { useSpaceStatus } from "ferrysync/react";
import { ProjectOffDialog } from "./ProjectOffDialog";
import { projectState, projectStateText, type SwitchStep } from "./projectText";
import type { Project } from "./projects";
import { useDemoDatabase } from "./useDemoDatabase";

interface Props {
  project: Project;
  onError: (error: unknown) => void;
}

export function ProjectSwitch({ project, onError }: Props) {
  const db = useDemoDatabase();
  const status = useSpaceStatus(project.id);
  const [step, setStep] = useState<SwitchStep>(null);
  /** The unsent changes a refused removal counted, while the dialog asks about them. */
  const [asking, setAsking] = useState<number | null>(null);
  const state = projectState(status, step);
  const on = state !== "off";

  /** Ends `done`, unless the switch has moved on to another step meanwhile. */
  const finish = (done: SwitchStep) => setStep((current) => (current === done ? null : current));

  async function turnOn() {
    setStep("adding");
    try {
      // Waits through offline periods and retries: "pulling…" stays until the project is here.
      await db.spaces.add(project.id, { wait: true });
    } catch (error) {
      // Turned off again before its first pull was done: what the person asked for, no error.
      if (!isFerrysyncError(error, "SpaceRemovedError")) onError(error);
    } finally {
      finish("adding");
    }
  }

  async function turnOff(discardPending: boolean) {
    setAsking(null);
    setStep("removing");
    try {
      await db.spaces.remove(project.id, { discardPending });
    } catch (error) {
      // Refused, nothing changed: the person decides whether the changes may go.
      if (isFerrysyncError(error, "PendingChangesError")) setAsking(error.pending ?? 0);
      else onError(error);
    } finally {
      finish("removing");
    }
  }

  return (
    <li className={`project ${state}`} data-testid="project" data-project={project.id} data-state={state}>
      <label className="check">
        <input
          type="checkbox"
          data-testid="project-toggle"
          checked={on}
          // A pull still waiting (offline, say) can be called off; a removal runs to its end.
          disabled={step === "removing"}
          onChange={() => void (on ? turnOff(false) : turnOn())}
        />
        {project.name}
      </label>
      <span className="hint project-state" role="status" data-testid="project-state">
        {projectStateText(state, status)}
      </span>
      {asking !== null && (
        <ProjectOffDialog project={project} pending={asking} onConfirm={() => void turnOff(true)} onCancel={() => setAsking(null)} />
      )}
    </li>
  );
}
