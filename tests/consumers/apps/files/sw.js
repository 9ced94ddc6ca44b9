// A module service worker that writes and syncs a file by itself: it makes the Blob, opens the
// database, creates a record holding it and syncs. A service worker has no XMLHttpRequest and
// no DOM; the upload has to go through fetch and Blob alone.
import * as ferrysync from "./node_modules/ferrysync/ferrysync.js";
import { filesOptions, randomFile } from "./files.js";
import { serve } from "./rpc.js";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

serve(self, {
  /** Creates a visit whose photo is `size` random bytes made here, syncs with chunks of
   * `chunkBytes`, and answers what the test checks on the server. */
  async createAndSync(size, chunkBytes) {
    const { blob, hash } = await randomFile(size, "image/png");
    const db = await ferrysync.open(filesOptions({ chunkBytes }));
    try {
      const visit = await db.collection("visits").create({ note: "made in the worker", photo: blob });
      const summary = await db.syncNow();
      const stored = await db.collection("visits").get(visit.id);
      return {
        id: visit.id,
        hash,
        summary,
        status: stored._sync.status,
        photoIsBlob: stored.photo instanceof Blob,
        photoSize: stored.photo.size,
        pending: db.status().pending,
        upload: db.status().upload,
      };
    } finally {
      db.close();
    }
  },
});
