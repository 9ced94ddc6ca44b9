// The database the page and its service workers share: the same options module on both sides,
// so that they open the same schema (and the worker answers the tag the page registers).

export const APP = "consumer-background";

/** The options of `open()`; `sync` adds to the sync options (the token is the caller's). */
export function notesOptions(sync) {
  return {
    app: APP,
    version: 1,
    collections: { notes: {} },
    sync: { url: location.origin, ...sync },
  };
}

/** Where the page leaves the token for its service worker (the Cache API, which both reach). */
const TOKEN = new Request("/token-for-the-service-worker");

export async function storeToken(token) {
  await (await caches.open("auth")).put(TOKEN, new Response(token));
}

/** The token the page stored, or undefined (the sync then fails typed, and is retried). */
export async function storedToken() {
  return (await (await caches.open("auth")).match(TOKEN))?.text();
}
