// CRUD round trips, bulk writes and queries, through the public API.
import { assert, eq, rejects, withDb, rawGetAll, rawMarkSynced } from "./assert.js";

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export async function crudRoundTrip(api) {
  await withDb(api, "crud", async (db) => {
    const tasks = db.collection("tasks");
    const before = Date.now();
    const a = await tasks.create({ title: "write tests", done: 0, priority: 2 });
    assert(UUID_V7.test(a.id), `generated id is a UUID v7: ${a.id}`);
    eq(a._sync, { version: 1, serverVersion: null, status: "pending", updatedAt: a._sync.updatedAt, deleted: false }, "metadata of a new record");
    assert(a._sync.updatedAt >= before, "updatedAt is the write time");

    const b = await tasks.create({ id: "given-id", title: "second" });
    eq(b.id, "given-id", "a caller's id is kept");
    const got = await tasks.get(a.id);
    eq(got, a, "get returns what create stored");
    eq(await tasks.get("missing"), undefined, "get of a missing id");

    const updated = await tasks.update(a.id, { done: 1 });
    eq([updated.title, updated.done, updated.priority], ["write tests", 1, 2], "update merges a patch");
    eq(updated._sync.version, 2, "update bumps the local version");

    const replaced = await tasks.replace(a.id, { title: "replaced" });
    eq(Object.keys(replaced).sort(), ["_sync", "id", "title"], "replace drops fields not given");
    eq(replaced._sync.version, 3, "replace bumps the version");

    const put = await tasks.put({ id: "given-id", title: "put over" });
    eq([put.title, put._sync.version], ["put over", 2], "put replaces an existing record");
    const fresh = await tasks.put({ title: "put new" });
    eq(fresh._sync.version, 1, "put creates when absent");

    // The server has these records now (as after an acknowledged push): a delete leaves a tombstone.
    await rawMarkSynced(db.name, "tasks");
    eq(await tasks.delete(a.id), true, "delete of an existing record");
    eq(await tasks.get(a.id), undefined, "a deleted record is gone from get");
    const tomb = await tasks.get(a.id, { includeDeleted: true });
    eq([tomb.id, tomb._sync.deleted, tomb._sync.status, tomb.title], [a.id, true, "pending", undefined], "the tombstone keeps only id and metadata");
    eq(await tasks.delete(a.id), false, "a second delete changes nothing");
    eq(await tasks.delete("never-existed"), false, "delete of a missing id");
    await rejects(tasks.update(a.id, { done: 0 }), "RecordNotFoundError", "update of a deleted record");
    await rejects(tasks.replace("nope", { title: "x" }), "RecordNotFoundError", "replace of a missing record");
    await rejects(tasks.create({ id: "given-id", title: "again" }), "RecordExistsError", "create of an existing id");

    const recreated = await tasks.create({ id: a.id, title: "back again" });
    eq([recreated._sync.deleted, recreated._sync.version, recreated._sync.serverVersion], [false, 5, 1], "create over a tombstone revives it");
    eq((await db.outbox()).map((e) => e.op), ["update"], "and queues an update of the server's record");

    eq(await tasks.count(), 3, "count of live records");
    eq((await tasks.query()).map((r) => r.title).sort(), ["back again", "put new", "put over"], "list");
    const stored = await rawGetAll(db.name, "tasks");
    eq(stored.length, 3, "records as stored in IndexedDB");
  });
}

export async function bulkPutTenThousand(api) {
  await withDb(api, "bulk", async (db) => {
    const tasks = db.collection("tasks");
    const records = Array.from({ length: 10000 }, (_, i) => ({
      title: `task ${i}`,
      done: i % 2,
      priority: i % 10,
      body: "x".repeat(100),
    }));
    const ids = await tasks.bulkPut(records);
    eq(ids.length, 10000, "one id per record");
    eq(new Set(ids).size, 10000, "ids are distinct");
    eq([...ids].sort(), ids, "generated ids sort in creation order");
    eq(await tasks.count(), 10000, "all records stored");
    eq(db.status().pending, 10000, "one queued change per record");
    const outbox = await db.outbox();
    eq(outbox.length, 10000, "one outbox entry per record");
    eq(outbox.map((e) => e.recordId), ids, "outbox entries in write order");
    eq(outbox[0].op, "create", "entries are creates");
    eq(await tasks.count({ index: "priority", equals: 3 }), 1000, "indexed after bulk put");

    // A second bulk put over the same ids updates in place and coalesces into the creates.
    const again = await tasks.bulkPut(ids.slice(0, 100).map((id) => ({ id, title: "renamed", done: 1, priority: 0 })));
    eq(again, ids.slice(0, 100), "bulkPut keeps given ids");
    eq((await db.outbox()).length, 10000, "updates coalesce into queued creates");
    eq((await tasks.get(ids[0]))._sync.version, 2, "bulk put bumps the version");
    const created = await tasks.bulkCreate([{ title: "one" }, { title: "two" }]);
    eq(created.length, 2, "bulkCreate returns ids");
    eq(await tasks.count(), 10002, "bulkCreate added");
  });
}

export async function queriesByIndexAndRange(api) {
  await withDb(api, "query", async (db) => {
    const tasks = db.collection("tasks");
    const ids = await tasks.bulkCreate(
      Array.from({ length: 50 }, (_, i) => ({ id: `t${String(i).padStart(2, "0")}`, done: i % 2, priority: i % 5, n: i })),
    );
    eq(ids[0], "t00", "ids as given");
    const p3 = await tasks.query({ index: "priority", equals: 3 });
    eq(p3.map((r) => r.n), [3, 8, 13, 18, 23, 28, 33, 38, 43, 48], "equality on an index, in key then id order");
    const range = await tasks.query({ index: "priority", range: { lower: 1, upper: 2 } });
    eq(range.length, 20, "closed range");
    const open = await tasks.query({ index: "priority", range: { lower: 1, upper: 2, lowerOpen: true } });
    eq(open.every((r) => r.priority === 2), true, "open lower bound");
    const above = await tasks.query({ index: "priority", range: { lower: 4 } });
    eq(above.length, 10, "lower bound only");
    const below = await tasks.query({ index: "priority", range: { upper: 0 } });
    eq(below.length, 10, "upper bound only");
    const compound = await tasks.query({ index: "done+priority", equals: [1, 3] });
    eq(compound.map((r) => r.n), [3, 13, 23, 33, 43], "compound index");

    const page = await tasks.query({ limit: 5, offset: 10 });
    eq(page.map((r) => r.id), ["t10", "t11", "t12", "t13", "t14"], "limit and offset over ids");
    const desc = await tasks.query({ order: "desc", limit: 3 });
    eq(desc.map((r) => r.id), ["t49", "t48", "t47"], "descending order");
    const descIndex = await tasks.query({ index: "priority", order: "desc", limit: 2, offset: 1 });
    eq(descIndex.map((r) => r.n), [44, 39], "descending on an index with offset");
    const idRange = await tasks.query({ range: { lower: "t20", upper: "t25", upperOpen: true } });
    eq(idRange.map((r) => r.id), ["t20", "t21", "t22", "t23", "t24"], "a range over ids");

    // Deleted records the server has leave tombstones, which stay out of every query and count
    // unless asked for.
    await rawMarkSynced(db.name, "tasks");
    await tasks.delete("t10");
    await tasks.delete("t11");
    eq((await tasks.query({ limit: 3, offset: 9 })).map((r) => r.id), ["t09", "t12", "t13"], "tombstones skipped when paging");
    eq(await tasks.count(), 48, "count leaves tombstones out");
    eq(await tasks.count({ includeDeleted: true }), 50, "count with tombstones");
    eq(await tasks.count({ range: { lower: "t10", upper: "t19" } }), 8, "count over an id range");
    eq((await tasks.query({ includeDeleted: true })).length, 50, "list with tombstones");
    eq((await tasks.query({ order: "desc", range: { upper: "t12" }, limit: 2 })).map((r) => r.id), ["t12", "t09"], "desc skips tombstones");
    eq(await tasks.count({ index: "priority", equals: 0 }), 9, "an index never holds tombstones: t10 had priority 0");
    eq(await tasks.count({ index: "priority", equals: 0, limit: 4 }), 4, "count honours limit");

    await rejects(tasks.query({ index: "nope" }), "UnknownIndexError", "query on an undeclared index");
    await rejects(tasks.query({ index: "_tombstones" }), "UnknownIndexError", "internal indexes are not queryable");
    await rejects(tasks.query({ limit: -1 }), "InvalidQueryError", "negative limit");
    await rejects(tasks.query({ order: "sideways" }), "InvalidQueryError", "bad order");
    await rejects(tasks.query({ index: "priority", range: { lower: 3, upper: 1 } }), "InvalidQueryError", "inverted range");
    await rejects(tasks.query({ index: "priority", equals: {} }), "InvalidQueryError", "a key that is not a valid key");
  });
}
