// Schema versions, migrations, tenants, and the multi-tab version protocol.
import { assert, eq, rejects, uniqueApp, rawGetAll, rawOpen } from "./assert.js";

export async function upgradeKeepsRecordsAndQueue(api) {
  const app = uniqueApp("upgrade");
  const v1 = await api.open({ app, version: 1, collections: { tasks: { indexes: ["done"] } } });
  await v1.collection("tasks").bulkCreate([{ id: "a", done: 0, priority: 1 }, { id: "b", done: 1, priority: 2 }, { id: "c", done: 0, priority: 2 }]);
  await v1.collection("tasks").update("a", { priority: 3 });
  v1.close();

  const v2 = await api.open({
    app,
    version: 2,
    collections: { tasks: { indexes: ["done", "priority"] }, notes: { indexes: ["tag"] } },
  });
  eq(v2.version, 2, "opened at the new version");
  eq(v2.collectionNames, ["tasks", "notes"], "the new collection is there");
  const tasks = v2.collection("tasks");
  eq((await tasks.query()).map((r) => r.id), ["a", "b", "c"], "every record kept");
  eq((await tasks.get("a")).priority, 3, "with its latest data");
  eq((await tasks.query({ index: "priority", equals: 2 })).map((r) => r.id), ["b", "c"], "the new index covers old records");
  eq((await v2.outbox()).map((e) => `${e.op}:${e.recordId}`), ["create:a", "create:b", "create:c"], "every queued change kept");
  eq(v2.status().pending, 3, "pending count read back");
  await v2.collection("notes").create({ tag: "x" });
  eq((await v2.outbox()).length, 4, "the new collection queues too");
  v2.close();

  // A schema that leaves a collection out keeps its store and records.
  const v3 = await api.open({ app, version: 3, collections: { notes: {} } });
  v3.close();
  const v4 = await api.open({ app, version: 4, collections: { tasks: {}, notes: {} } });
  eq(await v4.collection("tasks").count(), 3, "records survive a schema that omitted their collection");
  v4.close();
  await api.deleteDatabase(app);
}

export async function migrationRunsExactlyOnce(api) {
  const app = uniqueApp("migrate");
  const v1 = await api.open({ app, version: 1, collections: { tasks: {} }, migrations: { 1: () => { throw new Error("never on a new database"); } } });
  await v1.collection("tasks").bulkCreate([{ id: "a", title: "one" }, { id: "b", title: "two" }]);
  v1.close();

  let runs = 0;
  const migrations = {
    2: async (db) => {
      runs += 1;
      const tasks = db.collection("tasks");
      for (const t of await tasks.query()) await tasks.update(t.id, { priority: 0 });
    },
  };
  const v2 = await api.open({ app, version: 2, collections: { tasks: { indexes: ["priority"] } }, migrations });
  eq(runs, 1, "the migration ran on upgrade");
  eq(await v2.collection("tasks").count({ index: "priority", equals: 0 }), 2, "it changed the data");
  v2.close();
  const again = await api.open({ app, version: 2, collections: { tasks: { indexes: ["priority"] } }, migrations });
  eq(runs, 1, "it never runs twice");
  again.close();

  // A failing migration is reported, not recorded, and runs again on the next open.
  let attempts = 0;
  const flaky = {
    2: migrations[2],
    3: () => {
      attempts += 1;
      if (attempts === 1) throw new TypeError("bad data");
    },
  };
  const e = await rejects(api.open({ app, version: 3, collections: { tasks: {} }, migrations: flaky }), "MigrationError", "a throwing migration");
  assert(e.message.includes("version 3") && e.message.includes("bad data"), e.message);
  const v3 = await api.open({ app, version: 3, collections: { tasks: {} }, migrations: flaky });
  eq([attempts, runs], [2, 1], "the failed one ran again, the done one did not");
  eq(await rawGetAll(v3.name, "_meta"), [[1, 2, 3]], "applied migrations are recorded");
  v3.close();
  await api.deleteDatabase(app);
}

export async function tenantsNeverMeet(api) {
  const app = uniqueApp("tenants");
  const collections = { tasks: { indexes: ["owner"] } };
  const acme = await api.open({ app, tenant: "acme", version: 1, collections });
  const globex = await api.open({ app, tenant: "globex", version: 1, collections });
  assert(acme.name !== globex.name, "each tenant is its own database");
  eq([acme.tenant, globex.tenant], ["acme", "globex"], "tenant names");
  await acme.collection("tasks").create({ id: "same-id", owner: "acme" });
  await globex.collection("tasks").create({ id: "same-id", owner: "globex" });
  await acme.collection("tasks").bulkCreate([{ owner: "acme" }, { owner: "acme" }]);
  eq(await acme.collection("tasks").count(), 3, "acme's records");
  eq(await globex.collection("tasks").count(), 1, "globex's records");
  eq((await globex.collection("tasks").get("same-id")).owner, "globex", "the same id holds each tenant's own record");
  eq(await globex.collection("tasks").count({ index: "owner", equals: "acme" }), 0, "no acme record in globex");
  eq([(await acme.outbox()).length, (await globex.outbox()).length], [3, 1], "separate outboxes");
  eq([acme.status().pending, globex.status().pending], [3, 1], "separate status");
  acme.close();
  globex.close();
  await api.deleteDatabase(app, "acme");
  await api.deleteDatabase(app, "globex");
}

export async function newerTabClosesOlderConnection(api) {
  const app = uniqueApp("versionchange");
  const seen = [];
  const old = await api.open({ app, version: 1, collections: { tasks: {} }, onVersionChange: (info) => seen.push(info.newVersion) });
  await old.collection("tasks").create({ id: "x" });
  // A second connection (as another tab would open) at a newer version is not blocked.
  const newer = await api.open({ app, version: 2, collections: { tasks: {}, notes: {} }, blockedTimeoutMs: 2000 });
  eq(seen, [2], "the old connection was told the new version");
  eq(old.isOpen, false, "and closed itself");
  await rejects(old.collection("tasks").get("x"), "DatabaseClosedError", "a closed connection refuses work");
  eq((await newer.collection("tasks").get("x")).id, "x", "the new connection has the data");
  newer.close();
  await api.deleteDatabase(app);
}

export async function blockedUpgradeIsReported(api) {
  const app = uniqueApp("blocked");
  const first = await api.open({ app, version: 1, collections: { tasks: {} } });
  const name = first.name;
  first.close();
  // A connection that ignores versionchange, like a tab running old code.
  const stubborn = await rawOpen(name);
  const started = Date.now();
  const e = await rejects(api.open({ app, version: 2, collections: { tasks: {} }, blockedTimeoutMs: 300 }), "UpgradeBlockedError", "an upgrade blocked by another tab");
  assert(Date.now() - started < 5000, "it reports instead of hanging");
  assert(e.message.includes("another tab"), e.message);
  stubborn.close();
  // Once the other tab is gone, the upgrade goes through.
  const v2 = await api.open({ app, version: 2, collections: { tasks: {} } });
  eq(v2.version, 2, "the upgrade succeeds after the blocker closed");
  v2.close();
  await api.deleteDatabase(app);
}
