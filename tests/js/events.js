// Change subscriptions, the status store and live queries (the useSyncExternalStore contract).
import { assert, eq, withDb } from "./assert.js";

const tick = () => new Promise((r) => setTimeout(r, 0));

async function until(check, what) {
  for (let i = 0; i < 200; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export async function subscriptionsFireAfterCommit(api) {
  const collections = { tasks: {}, notes: {} };
  await withDb(api, "subscribe", async (db) => {
    const tasks = db.collection("tasks");
    const all = [];
    const onlyTasks = [];
    const readsInListener = [];
    const offAll = db.subscribe((e) => all.push(e));
    const offTasks = tasks.subscribe((e) => {
      onlyTasks.push(e);
      // The write has committed: a new transaction already sees it.
      readsInListener.push(tasks.get(e.changes[0].id));
    });
    const throwing = db.subscribe(() => {
      throw new Error("a broken listener");
    });

    const a = await tasks.create({ title: "a" });
    eq(all, [{ collection: "tasks", changes: [{ id: a.id, op: "create" }] }], "the event after a create");
    eq((await readsInListener[0]).id, a.id, "a listener reads the committed record");
    await tasks.update(a.id, { title: "b" });
    await tasks.delete(a.id);
    eq(all.slice(1).map((e) => e.changes[0].op), ["update", "delete"], "update and delete events");
    await db.collection("notes").bulkPut([{ id: "n1" }, { id: "n2" }]);
    eq(all[3], { collection: "notes", changes: [{ id: "n1", op: "create" }, { id: "n2", op: "create" }] }, "one event per transaction");
    eq(onlyTasks.length, 3, "a collection listener hears only its collection");

    // Nothing is announced for a write that fails or changes nothing.
    await tasks.create({ _sync: 1 }).catch(() => {});
    await tasks.delete("missing");
    eq(all.length, 4, "no event for a failed write or a no-op delete");

    offAll();
    offTasks();
    offAll();
    throwing();
    await tasks.create({ title: "after" });
    eq([all.length, onlyTasks.length], [4, 3], "unsubscribed listeners are not called");
  }, collections);
}

export async function statusStoreKeepsIdentity(api) {
  await withDb(api, "status", async (db) => {
    const store = db.statusStore();
    assert(store === db.statusStore(), "the same store object on every call");
    const { subscribe, getSnapshot } = store; // unbound, as React calls them
    const first = getSnapshot();
    eq(first, { online: false, syncing: false, pending: 0, failed: 0, conflicts: 0, lastSyncAt: null, lastError: null, progress: null }, "initial status");
    assert(getSnapshot() === first, "the snapshot keeps its identity while nothing changes");
    let notified = 0;
    const off = subscribe(() => notified++);
    await db.collection("tasks").create({ id: "a" });
    const second = getSnapshot();
    assert(second !== first, "a new snapshot after a change");
    eq([second.pending, notified], [1, 1], "pending count and one notification");
    await db.collection("tasks").update("a", { x: 1 });
    assert(getSnapshot() === second, "a coalesced write changes nothing in the status");
    eq(notified, 1, "so no notification");
    assert(db.status() === second, "status() is the same snapshot");
    off();
    await db.collection("tasks").create({ id: "b" });
    eq(notified, 1, "no notification after unsubscribe");
    eq(getSnapshot().pending, 2, "but the snapshot is current");
  });
}

export async function liveQueryFollowsWrites(api) {
  await withDb(api, "live", async (db) => {
    const tasks = db.collection("tasks");
    await tasks.create({ id: "a", priority: 1 });
    const live = tasks.live({ index: "priority", range: { lower: 1 } });
    const { subscribe, getSnapshot } = live;
    eq(getSnapshot(), undefined, "no answer before anyone subscribes");
    let calls = 0;
    const off = subscribe(() => calls++);
    await until(() => getSnapshot() !== undefined, "the first answer");
    const first = getSnapshot();
    eq(first.map((r) => r.id), ["a"], "the first answer");
    assert(getSnapshot() === first, "the snapshot keeps its identity");
    await tasks.create({ id: "b", priority: 2 });
    await until(() => getSnapshot() !== first, "the re-run after a write");
    eq(getSnapshot().map((r) => r.id), ["a", "b"], "the live result follows writes");
    const countBefore = calls;
    off();
    await tasks.create({ id: "c", priority: 3 });
    await tick();
    await tick();
    eq(calls, countBefore, "no re-run after the last unsubscribe");
    const again = subscribe(() => {});
    await until(() => getSnapshot().length === 3, "a fresh answer on resubscribe");
    again();
  });
}
