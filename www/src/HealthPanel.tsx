// "Sync health": the ferrysync devtools panel, in the page's flow. It shows what a developer (or
// a curious user) wants to see of the device: the status, the storage the browser grants this
// site and whether it is kept under pressure (with the button that asks for it), the metrics,
// the queue, conflicts, rejected changes and the sync log, and a guarded reset.
import { FerrysyncDevtools } from "ferrysync/devtools";

export function HealthPanel() {
  return (
    <section className="card health" data-testid="health" aria-labelledby="health-heading">
      <h2 id="health-heading">Sync health</h2>
      <p className="hint">
        What this device holds and how its syncs go. Storage shows how much the browser lets this site keep, and
        whether it keeps it when the disk fills (ask for that with “Request persistence”).
      </p>
      <FerrysyncDevtools position="inline" />
    </section>
  );
}
