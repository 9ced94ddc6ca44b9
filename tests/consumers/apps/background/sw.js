// The app's service worker: two lines send what the page queued once the page is gone. The
// token is the one the page stored, read for every request.
import { backgroundSync } from "./node_modules/ferrysync/sw.js";
import { notesOptions, storedToken } from "./options.js";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));
backgroundSync(notesOptions({ token: storedToken }));
