// The same worker in a Chromium made to look like a browser without Background Sync (Firefox,
// Safari): SyncManager is removed from this global scope before `backgroundSync()` looks for it,
// so the entry takes its fallback (a sync each time the worker starts). Only the detection is
// simulated: the browser still has Background Sync, and the page registers nothing here.
import { backgroundSync } from "./node_modules/ferrysync/sw.js";
import { notesOptions, storedToken } from "./options.js";

delete self.SyncManager;
self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));
backgroundSync(notesOptions({ token: storedToken }));
