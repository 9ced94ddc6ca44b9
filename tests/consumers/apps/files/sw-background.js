// A module service worker with the package's service worker entry: it sends what a page
// queued, files included. The file is a Blob the page stored; the worker reads it back from
// IndexedDB in its own realm and uploads it.
import { backgroundSync } from "./node_modules/ferrysync/sw.js";
import { filesOptions } from "./files.js";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));
backgroundSync(filesOptions({ chunkBytes: 256 * 1024 }));
