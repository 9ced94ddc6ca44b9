// The notes app in a module service worker with no bundler (service workers may not use
// dynamic import(), and the package needs none).
import * as ferrysync from "./node_modules/ferrysync/ferrysync.js";
import { notesApp } from "./notes.js";
import { serve } from "./rpc.js";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));
serve(self, notesApp(ferrysync, "plain-service-worker"));
