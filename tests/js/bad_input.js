// Bad input is refused with a typed error and changes nothing.
import { assert, eq, rejects, throws, withDb } from "./assert.js";

async function nothingWritten(db) {
  eq(await db.collection("tasks").count({ includeDeleted: true }), 0, "no record written");
  eq((await db.outbox()).length, 0, "no outbox entry written");
  eq(db.status().pending, 0, "pending count unchanged");
}

export async function badInputChangesNothing(api) {
  await withDb(api, "bad", async (db) => {
    const tasks = db.collection("tasks");
    for (const [value, label] of [[42, "a number"], ["text", "a string"], [null, "null"], [[1, 2], "an array"], [undefined, "undefined"], [() => 1, "a function"]]) {
      const e = await rejects(tasks.create(value), "InvalidRecordError", `create(${label})`);
      assert(e.message.includes("must be an object"), `the message says why: ${e.message}`);
    }
    let e = await rejects(tasks.create({ id: 7, title: "x" }), "InvalidRecordError", "a number id");
    assert(e.message.includes("id must be a string"), e.message);
    await rejects(tasks.create({ id: "", title: "x" }), "InvalidRecordError", "an empty id");
    await rejects(tasks.get(5), "InvalidRecordError", "get with a number id");
    e = await rejects(tasks.create({ title: "x", run() {} }), "InvalidRecordError", "a function inside");
    eq(e.domName, "DataCloneError", "the browser's reason is attached");
    assert(e.message.includes("DataCloneError"), `the message includes the DOMException: ${e.message}`);
    await rejects(tasks.create({ title: "x", deep: { list: [1, Symbol("s")] } }), "InvalidRecordError", "a symbol inside");
    e = await rejects(tasks.create({ title: "x", _sync: { status: "synced" } }), "ReservedFieldError", "the metadata field");
    assert(e.message.includes("_sync"), e.message);
    await rejects(tasks.bulkPut([{ title: "ok" }, { title: "bad", _sync: 1 }]), "ReservedFieldError", "a reserved field in a batch");
    await rejects(tasks.bulkPut([{ title: "ok" }, 5]), "InvalidRecordError", "a non-object in a batch");
    await rejects(tasks.bulkPut({ title: "not an array" }), "InvalidRecordError", "bulkPut of a non-array");
    await rejects(tasks.bulkCreate([{ id: "x" }, { id: "x" }]), "RecordExistsError", "the same id twice in bulkCreate");
    await rejects(tasks.query({ index: "missingField" }), "UnknownIndexError", "an index on a missing field");
    e = throws(() => db.collection("nope"), "UnknownCollectionError", "an unknown collection");
    assert(e.message.includes("nope") && e.message.includes("tasks"), `names the collection and the known ones: ${e.message}`);
    await nothingWritten(db);

    // Patches are checked the same way, and leave the record as it was.
    const t = await tasks.create({ id: "t", title: "kept" });
    await rejects(tasks.update("t", { _sync: {} }), "ReservedFieldError", "a patch with the metadata field");
    await rejects(tasks.update("t", { id: "other" }), "InvalidRecordError", "a patch that changes the id");
    await rejects(tasks.update("t", { f: () => 0 }), "InvalidRecordError", "a patch with a function");
    await rejects(tasks.update("t", "nope"), "InvalidRecordError", "a non-object patch");
    eq(await tasks.get("t"), t, "the record is unchanged");
    eq((await db.outbox()).length, 1, "only the create is queued");
  });
}

export async function errorsCarryDomException(api) {
  // Bad options are refused before anything is opened.
  await rejects(api.open({ app: "", version: 1, collections: { t: {} } }), "InvalidOptionsError", "empty app");
  await rejects(api.open({ app: "x", version: 0, collections: { t: {} } }), "InvalidOptionsError", "version 0");
  await rejects(api.open({ app: "x", version: 1, collections: {} }), "InvalidOptionsError", "no collections");
  await rejects(api.open({ app: "x", version: 1, collections: { _outbox: {} } }), "InvalidOptionsError", "a reserved collection name");
  await rejects(api.open({ app: "x", version: 1, collections: { t: { indexes: ["a..b"] } } }), "InvalidOptionsError", "a bad key path");
  await rejects(api.open(null), "InvalidOptionsError", "no options");
  // A database newer than the page: the browser's VersionError is reported with its text.
  await withDb(api, "newer", async (db, app) => {
    db.close();
    const newer = await api.open({ app, version: 3, collections: { tasks: {} } });
    newer.close();
    const e = await rejects(api.open({ app, version: 2, collections: { tasks: {} } }), "InvalidOptionsError", "opening an older version");
    eq(e.domName, "VersionError", "the DOMException name");
    assert(e.message.includes("VersionError"), e.message);
    await rejects(db.collection("tasks").count(), "DatabaseClosedError", "a closed handle");
  });
}
