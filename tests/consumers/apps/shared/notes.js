// The app every consumer runs, in a page or a worker: a "notes" collection synced with the
// server that serves the page (the development token). It takes the ferrysync module as an
// argument, so that each app shows its own way of importing it.

/** Opens the database `consumer-<name>` and returns what the tests call. */
export function notesApp(ferrysync, name) {
  const opening = ferrysync.open({
    app: `consumer-${name}`,
    version: 1,
    collections: { notes: { indexes: ["at"] } },
    sync: { url: location.origin, token: "dev-token", debounceMs: 50 },
  });
  const notes = async () => (await opening).collection("notes");
  return {
    ready: async () => {
      await opening;
      return true;
    },
    add: async (title) => (await (await notes()).create({ title, at: Date.now() })).id,
    list: async () =>
      (await (await notes()).query({ index: "at" })).map((r) => ({ id: r.id, title: r.title, status: r._sync.status })),
    status: async () => (await opening).status(),
    syncNow: async () => (await opening).syncNow(),
    /** The error a bad call gets: its name, and whether the package's error class made it. */
    badUpdate: async () => {
      try {
        await (await notes()).update("no-such-note", { title: "x" });
        return null;
      } catch (error) {
        return { name: error.name, typed: ferrysync.isFerrysyncError(error, "RecordNotFoundError") };
      }
    },
    /** What this global scope says about the network, for the network-detection check. */
    navigatorOnLine: async () => navigator.onLine,
  };
}
