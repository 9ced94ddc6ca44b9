// What a project's switch says about it, from its space status and what the switch is doing.
import type { SpaceStatus } from "ferrysync";

/** What the switch itself is waiting for: `spaces.add(…, { wait: true })` or `spaces.remove()`. */
export type SwitchStep = "adding" | "removing" | null;

/** `off`: not synced here; `pulling`: its first full pull is not done; `ready`: every task of
 * it is here; `removing`: its tasks are being removed from this device. */
export type ProjectState = "off" | "pulling" | "ready" | "removing";

export function projectState(status: SpaceStatus | undefined, step: SwitchStep): ProjectState {
  if (step === "removing") return "removing";
  if (status?.ready) return "ready";
  // Just added, the status learns of the space a moment later: the switch knows first.
  if (status !== undefined || step === "adding") return "pulling";
  return "off";
}

export function projectStateText(state: ProjectState, status: SpaceStatus | undefined): string {
  switch (state) {
    case "off":
      return "not synced on this device";
    case "removing":
      return "removing its tasks from this device…";
    case "pulling":
      // `pulled` is null while no pull of it runs (offline, or between retries); the server
      // sends no total, so a count is all there is to show.
      return status?.pulled == null ? "pulling…" : `pulling… ${status.pulled} received`;
    case "ready":
      return status?.lastSyncAt == null ? "ready" : `ready, synced ${new Date(status.lastSyncAt).toLocaleTimeString()}`;
  }
}
