// What the page and its service worker share: the database (a collection whose `photo` field
// holds a file) and a file of random bytes with its SHA-256, computed here apart from the
// package, so that the test checks the package's hash against one it did not make.

export const APP = "consumer-files";

/** The options of `open()`: the sync server is this page's origin (the test's counting proxy);
 * nothing syncs unless asked, so the test decides when the upload runs. */
export function filesOptions(sync = {}) {
  return {
    app: APP,
    version: 1,
    collections: { visits: { blobs: ["photo"] } },
    sync: { url: location.origin, token: "dev-token", syncOnOpen: false, intervalMs: false, debounceMs: false, ...sync },
  };
}

/** getRandomValues fills at most 64 KiB per call. */
const PIECE = 65536;

/** A Blob of `size` random bytes of media type `type`, and the hex SHA-256 of those bytes. */
export async function randomFile(size, type = "application/octet-stream") {
  const bytes = new Uint8Array(size);
  for (let at = 0; at < size; at += PIECE) crypto.getRandomValues(bytes.subarray(at, Math.min(at + PIECE, size)));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  const hash = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
  return { blob: new Blob([bytes], { type }), hash };
}
