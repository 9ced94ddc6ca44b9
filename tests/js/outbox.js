// The record and its outbox entry commit together, and queued changes coalesce per record.
import { assert, eq, rejects, withDb, rawGetAll, rawMarkSynced } from "./assert.js";

export async function abortedTransactionLeavesNeither(api) {
  await withDb(api, "atomic", async (db) => {
    const tasks = db.collection("tasks");
    await tasks.create({ id: "keep", title: "already here" });

    // A function deep inside the 5,000th record fails its structured clone after 4,999 records
    // and entries were already issued in the same transaction.
    const batch = Array.from({ length: 6000 }, (_, i) => ({ title: `t${i}`, meta: { nested: i === 4999 ? () => 1 : i } }));
    const error = await rejects(tasks.bulkPut(batch), "InvalidRecordError", "a function inside a record");
    assert(error.message.includes("#4999"), `the message names the record: ${error.message}`);
    eq(error.domName, "DataCloneError", "the DOMException name is kept");

    // A duplicate id at the end fails only when IndexedDB reaches it.
    const dup = Array.from({ length: 100 }, (_, i) => ({ id: `d${i}`, title: "x" }));
    dup.push({ id: "keep", title: "clash" });
    await rejects(tasks.bulkCreate(dup), "RecordExistsError", "bulkCreate over an existing id");

    eq(await tasks.count({ includeDeleted: true }), 1, "no record of the failed batches");
    eq((await db.outbox()).length, 1, "no outbox entry of the failed batches");
    eq((await rawGetAll(db.name, "_outbox")).map((e) => e.recordId), ["keep"], "the outbox as stored");
    eq(db.status().pending, 1, "the pending count did not move");
    eq((await tasks.get("keep")).title, "already here", "the existing record is untouched");
  });
}

const ops = async (db) => (await rawGetAll(db.name, "_outbox")).map((e) => `${e.op}:${e.recordId}`);

export async function coalescingAsStored(api) {
  await withDb(api, "coalesce", async (db) => {
    const tasks = db.collection("tasks");
    // Records the server never saw.
    await tasks.create({ id: "a", v: 1 });
    await tasks.create({ id: "b", v: 1 });
    await tasks.create({ id: "c", v: 1 });
    await tasks.update("a", { v: 2 });
    eq(await ops(db), ["create:a", "create:b", "create:c"], "create+update stays a create, in place");
    eq((await tasks.get("a")).v, 2, "the record holds the latest data");
    await tasks.delete("b");
    eq(await ops(db), ["create:a", "create:c"], "create+delete removes the entry");
    eq(await tasks.get("b", { includeDeleted: true }), undefined, "create+delete removes the record too");
    eq(db.status().pending, 2, "pending count follows");

    // Records the server has: their entries were acknowledged and cleared.
    await rawMarkSynced(db.name, "tasks");
    await tasks.update("c", { v: 2 });
    await tasks.update("a", { v: 3 });
    await tasks.update("c", { v: 3 });
    eq(await ops(db), ["update:c", "update:a"], "update+update keeps one entry, in its place");
    const [entry] = await rawGetAll(db.name, "_outbox");
    eq(entry.baseVersion, 1, "the entry carries the server version it was made on");
    await tasks.delete("c");
    eq(await ops(db), ["delete:c", "update:a"], "update+delete becomes a delete in place");
    const tomb = await tasks.get("c", { includeDeleted: true });
    eq([tomb._sync.deleted, tomb._sync.serverVersion], [true, 1], "a tombstone is kept until the server has it");
    await tasks.create({ id: "c", v: 4 });
    eq(await ops(db), ["update:c", "update:a"], "delete+create is an update of the server's record");
    await rawMarkSynced(db.name, "tasks");
    await tasks.delete("a");
    eq(await ops(db), ["delete:a"], "a delete of a synced record is queued");
    const mutationIds = (await rawGetAll(db.name, "_outbox")).map((e) => e.mutationId);
    assert(mutationIds.every((id) => /^[0-9a-f-]{36}$/.test(id)), "every entry has a mutation id");
  });
}
