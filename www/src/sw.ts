// The demo's service worker: it sends the changes a page queued once the network is back, even
// with every page of the demo closed (a Background Sync the page registers while changes are
// queued; where the browser has none, once each time the worker starts). The token is the
// development one, as on the page; a real app reads one the page stored (package/README.md).
import { backgroundSync } from "ferrysync/sw";
import { demoOptions } from "./options";

/** What this file uses of the service worker's global scope (the DOM typings the page is
 * checked with do not describe it). */
interface WorkerScope {
  location: Location;
  skipWaiting(): Promise<void>;
  clients: { claim(): Promise<void> };
  addEventListener(type: "install" | "activate", listener: (event: { waitUntil(done: Promise<unknown>): void }) => void): void;
}
const worker = self as unknown as WorkerScope;

// A new version takes over at once: the worker keeps nothing of its own between versions.
worker.addEventListener("install", () => void worker.skipWaiting());
worker.addEventListener("activate", (event) => event.waitUntil(worker.clients.claim()));
backgroundSync(demoOptions(worker.location.origin));
