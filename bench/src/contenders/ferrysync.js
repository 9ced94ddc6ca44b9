// ferrysync through its public API. Every write is one readwrite transaction that stores the
// record with its `_sync` metadata and queues (or coalesces) its outbox entry.
import { open, deleteDatabase } from "ferrysync";
import { COLLECTION, INDEXES } from "../records.js";

const APP = "bench";

function schema(tenant) {
  return {
    app: APP,
    tenant,
    version: 1,
    collections: { [COLLECTION]: { indexes: INDEXES } },
  };
}

export default {
  name: "ferrysync",
  /** An update coalesces into the record's unsent create entry, so it adds no outbox entry. */
  updatesCoalesce: true,

  async open(name) {
    const db = await open(schema(name));
    const tasks = db.collection(COLLECTION);
    return {
      bulkCreate: (records) => tasks.bulkCreate(records),
      create: async (record) => (await tasks.create(record)).id,
      update: (id, patch) => tasks.update(id, patch),
      get: (id) => tasks.get(id),
      queryRange: (lower) => tasks.query({ index: "createdAt", range: { lower } }),
      queryEquals: (bucket) => tasks.query({ index: "bucket", equals: bucket }),
      count: () => tasks.count(),
      outboxCount: async () => (await db.outbox()).length,
      close: () => db.close(),
    };
  },

  destroy: (name) => deleteDatabase(APP, name, { discardPending: true }),
};
