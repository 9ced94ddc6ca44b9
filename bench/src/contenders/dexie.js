// Dexie 4, used the way an offline-first app would: each write stores the record with a small
// metadata object and adds an outbox entry in the same readwrite transaction.
import Dexie, { add } from "dexie";
import { COLLECTION, OUTBOX, INDEXES, newMeta, outboxEntry } from "../records.js";

function database(name) {
  const db = new Dexie(name);
  db.version(1).stores({
    [COLLECTION]: ["id", ...INDEXES].join(", "),
    [OUTBOX]: "++seq, [collection+recordId]",
  });
  return db;
}

export default {
  name: "dexie",
  updatesCoalesce: false,

  /** Dexie opens the database on the first call that needs it. */
  async open(name) {
    const db = database(name);
    const tasks = db.table(COLLECTION);
    const outbox = db.table(OUTBOX);
    return {
      async bulkCreate(input) {
        const now = Date.now();
        const records = new Array(input.length);
        const entries = new Array(input.length);
        for (let i = 0; i < input.length; i++) {
          const id = crypto.randomUUID();
          records[i] = { ...input[i], id, _sync: newMeta(now) };
          entries[i] = outboxEntry(id, "create", now);
        }
        await db.transaction("rw", tasks, outbox, async () => {
          await tasks.bulkAdd(records);
          await outbox.bulkAdd(entries);
        });
        return records.map((r) => r.id);
      },
      async create(data) {
        const now = Date.now();
        const id = crypto.randomUUID();
        await db.transaction("rw", tasks, outbox, async () => {
          await tasks.add({ ...data, id, _sync: newMeta(now) });
          await outbox.add(outboxEntry(id, "create", now));
        });
        return id;
      },
      async update(id, patch) {
        const now = Date.now();
        await db.transaction("rw", tasks, outbox, async () => {
          const changed = await tasks.update(id, {
            ...patch,
            "_sync.version": add(1),
            "_sync.updatedAt": now,
            "_sync.status": "pending",
          });
          if (changed !== 1) throw new Error(`no record ${id}`);
          await outbox.add(outboxEntry(id, "update", now));
        });
      },
      get: (id) => tasks.get(id),
      queryRange: (lower) => tasks.where("createdAt").aboveOrEqual(lower).toArray(),
      queryEquals: (bucket) => tasks.where("bucket").equals(bucket).toArray(),
      count: () => tasks.count(),
      outboxCount: () => outbox.count(),
      close: () => db.close(),
    };
  },

  destroy: (name) => Dexie.delete(name),
};
