// Browser scenarios of sync per space (docs/sync.md, "Spaces"), against the reference server
// that scripts/with-servers.sh starts. Each scenario has a token (a tenant) of its own.
import { assert, eq, manual, quiet, rejects, serverState, uniqueApp, waitFor } from "./scenarios.js";

/** `tasks` belong to a project (their space); `notes` belong to none. */
const SPACED = { tasks: { indexes: ["project"], space: "project" }, notes: {} };
const DISCARD = { discardPending: true };

async function openSpaced(api, prefix, sync, app = uniqueApp(prefix)) {
  const db = await api.open({ app, version: 1, collections: SPACED, sync });
  return { db, app, tasks: db.collection("tasks"), notes: db.collection("notes") };
}

async function cleanup(api, ...handles) {
  for (const { db, app } of handles) {
    db.close();
    await api.deleteDatabase(app, undefined, DISCARD);
  }
}

const ids = async (collection) => (await collection.query()).map((r) => r.id).sort();

/** A transport over the reference server's HTTP API whose pull by space can be watched. */
function watchedTransport(url, token, onPullSpaces) {
  const headers = { Authorization: `Bearer ${token}`, "Content-Type": "application/json" };
  const post = async (path, body) => {
    const response = await fetch(`${url}${path}`, { method: "POST", headers, body: JSON.stringify(body) });
    if (!response.ok) throw new Error(`${path} answered ${response.status}`);
    return response.json();
  };
  return {
    push: (batch) => post("/v1/push", batch),
    async pull() {
      throw new Error("a database with spaces pulls by space");
    },
    async pullSpaces(request) {
      const answer = await post("/v1/pull", request);
      await onPullSpaces(request, answer);
      return answer;
    },
  };
}

/** Fills the server: `p1` tasks, `p2` tasks and notes (of no space), through a client that
 * syncs both spaces. */
async function seed(api, url, token, counts) {
  const writer = await openSpaced(api, "space-writer", manual(url, token));
  try {
    await writer.db.spaces.add("p1");
    await writer.db.spaces.add("p2");
    for (const [project, n] of [["p1", counts.p1], ["p2", counts.p2]]) {
      if (n > 0) await writer.tasks.bulkCreate(Array.from({ length: n }, (_, i) => ({ title: `${project} #${i}`, project })));
    }
    if (counts.notes > 0) await writer.notes.bulkCreate(Array.from({ length: counts.notes }, (_, i) => ({ text: `note ${i}` })));
    await writer.db.syncNow();
    eq(writer.db.status().pending, 0, "the writer sent everything");
  } finally {
    await cleanup(api, writer);
  }
}

export async function spacesAreChosenWaitedForAndRemoved(api) {
  const { main } = api.servers;
  await seed(api, main, "tok26", { p1: 5, p2: 3, notes: 2 });
  const a = await openSpaced(api, "spaces", manual(main, "tok26"));
  try {
    const { db, tasks, notes } = a;
    eq(await db.spaces.list(), [], "no space at first");
    eq(db.status().spaces, {}, "nor in the status");
    await db.syncNow();
    eq([(await tasks.query()).length, (await notes.query()).length], [0, 2], "only what belongs to no space");

    // Bad input: a typed error, nothing changed.
    await rejects(db.spaces.add(5), "InvalidOptionsError", "a space id that is not a string");
    await rejects(db.spaces.add(""), "InvalidOptionsError", "an empty space id");
    await rejects(db.spaces.add("p1", { wait: "yes" }), "InvalidOptionsError", "a bad option");
    await rejects(db.spaces.remove("p1", { discardPending: 1 }), "InvalidOptionsError", "a bad remove option");
    eq(await db.spaces.list(), [], "nothing added by bad input");

    // Added and waited for: pulled from its start, the others untouched.
    eq(await db.spaces.add("p1", { wait: true }), true, "added");
    eq((await tasks.query()).map((r) => r.project), Array(5).fill("p1"), "every task of p1, none of p2");
    const p1 = db.status().spaces.p1;
    eq([p1.ready, p1.pulled, typeof p1.lastSyncAt], [true, null, "number"], "p1's status once pulled");
    eq(await db.spaces.add("p1"), false, "added once");
    eq(await db.spaces.list(), ["p1"], "listed");

    // Added offline: kept, and pulled at the next sync.
    window.dispatchEvent(new Event("offline"));
    eq(await db.spaces.add("p2"), true, "added offline");
    await waitFor(() => db.status().spaces.p2 !== undefined, "p2 in the status");
    eq(db.status().spaces.p2.ready, false, "not pulled while offline");

    // Removal is guarded by queued changes.
    const [first] = await tasks.query();
    await tasks.update(first.id, { title: "edited offline" });
    const refused = await rejects(db.spaces.remove("p1"), "PendingChangesError", "a removal that drops a change");
    eq(refused.pending, 1, "the error counts the queued changes");
    eq([(await tasks.query()).length, await db.spaces.list()], [5, ["p1", "p2"]], "nothing changed");
    await db.spaces.remove("p1", DISCARD);
    eq([(await tasks.query()).length, (await notes.query()).length], [0, 2], "p1's records went, the notes stay");
    eq(await db.spaces.list(), ["p2"], "p1 is no longer synced");
    eq(db.status().pending, 0, "its queued change went with it");
    const [logged] = await db.syncLog();
    eq([logged.kind, logged.space, logged.id, logged.count, logged.dropped], ["wipe", "p1", "p1", 5, 1], "logged");

    window.dispatchEvent(new Event("online"));
    await waitFor(() => db.status().spaces.p2?.ready, "p2's first pull");
    eq((await tasks.query()).map((r) => r.project), Array(3).fill("p2"), "p2's tasks");
    const server = await serverState(main, "tok26");
    eq(server.live.filter((r) => r.data.project === "p1").length, 5, "the removal deleted nothing on the server");
    assert(!server.live.some((r) => r.data.title === "edited offline"), "the dropped edit was never sent");

    // The set survives a reload.
    db.close();
    const again = await openSpaced(api, "spaces", manual(main, "tok26"), a.app);
    eq(await again.db.spaces.list(), ["p2"], "the set after a reload");
    await waitFor(() => again.db.status().spaces.p2?.ready, "p2 ready after a reload, as stored");
    again.db.close();
  } finally {
    await cleanup(api, a);
  }
  // A new database can start with its spaces: its first sync pulls them.
  const fresh = uniqueApp("spaces-initial");
  const sync = manual(main, "tok26");
  for (const [spaces, why] of [["p1", "not an array"], [[""], "an empty id"], [[7], "not a string"]]) {
    await rejects(api.open({ app: fresh, version: 1, collections: SPACED, spaces, sync }), "InvalidOptionsError", why);
  }
  const started = await api.open({ app: fresh, version: 1, collections: SPACED, spaces: ["p2", "p2"], sync });
  try {
    eq(await started.spaces.list(), ["p2"], "the set it starts with");
    await started.syncNow();
    eq(started.status().spaces.p2.ready, true, "pulled by the first sync");
    await started.spaces.remove("p2");
    started.close();
    const reopened = await api.open({ app: fresh, version: 1, collections: SPACED, spaces: ["p1"], sync });
    eq(await reopened.spaces.list(), [], "only a new database takes them");
    reopened.close();
  } finally {
    started.close();
    await api.deleteDatabase(fresh, undefined, DISCARD);
  }

  // Without a space field there are no spaces.
  const plain = uniqueApp("no-spaces");
  await rejects(
    api.open({ app: plain, version: 1, collections: { notes: {} }, spaces: ["p1"] }),
    "InvalidOptionsError",
    "starting spaces without a space field",
  );
  const db = await api.open({ app: plain, version: 1, collections: { notes: {} } });
  try {
    await rejects(db.spaces.list(), "InvalidOptionsError", "spaces without a space field");
    await rejects(db.spaces.add("p1"), "InvalidOptionsError", "adding without a space field");
  } finally {
    db.close();
    await api.deleteDatabase(plain, undefined, DISCARD);
  }
}

export async function aReloadMidFirstPullOfASpaceResumesFromItsCursor(api) {
  const { main } = api.servers;
  await seed(api, main, "tok27", { p1: 30, p2: 0, notes: 0 });
  const app = uniqueApp("space-reload");
  let pages = 0;
  const first = await api.open({
    app,
    version: 1,
    collections: SPACED,
    sync: quiet({
      pullLimit: 5,
      transport: watchedTransport(main, "tok27", async () => {
        pages += 1;
        // The tab goes away after its second page has been asked for.
        if (pages === 2) first.close();
      }),
    }),
  });
  await first.spaces.add("p1");
  await rejects(first.syncNow(), "DatabaseClosedError", "the sync of a tab that closed");
  const asked = [];
  const second = await api.open({
    app,
    version: 1,
    collections: SPACED,
    sync: quiet({
      pullLimit: 5,
      transport: watchedTransport(main, "tok27", async (request) => asked.push(request.spaces)),
    }),
  });
  try {
    const tasks = second.collection("tasks");
    const before = (await tasks.query()).length;
    eq(before, 5, "the first page was stored with its cursor; the second was not");
    // The status lists the spaces once it has counted, just after open.
    await waitFor(() => second.status().spaces.p1 !== undefined, "p1 in the status");
    eq(second.status().spaces.p1.ready, false, "its first pull is not done");
    await second.syncNow();
    const p1 = asked[0].find((s) => s.space === "p1");
    assert(p1.cursor, `the pull resumes after the stored cursor, asked ${JSON.stringify(asked[0])}`);
    eq((await tasks.query()).length, 30, "every record of p1");
    eq(second.status().spaces.p1.ready, true, "ready");
    assert(asked.length >= 5 && asked.length <= 6, `five more pages of five (and an empty one), asked ${asked.length}`);
  } finally {
    second.close();
    await api.deleteDatabase(app, undefined, DISCARD);
  }
}

export async function aRecordMovedBetweenSpacesLeavesOneAndReachesTheOther(api) {
  const { main } = api.servers;
  const token = "tok28";
  const [only1, only2, both] = [
    await openSpaced(api, "only-p1", manual(main, token)),
    await openSpaced(api, "only-p2", manual(main, token)),
    await openSpaced(api, "both", manual(main, token)),
  ];
  try {
    await only1.db.spaces.add("p1");
    await only2.db.spaces.add("p2");
    await both.db.spaces.add("p1");
    await both.db.spaces.add("p2");
    const r = await both.tasks.create({ title: "moving", project: "p1" });
    await both.db.syncNow();
    for (const c of [only1, only2]) await c.db.syncNow();
    eq([await ids(only1.tasks), await ids(only2.tasks)], [[r.id], []], "in p1 only");

    let removed = [];
    const off = only1.tasks.subscribe((e) => (removed = removed.concat(e.changes)));
    await both.tasks.update(r.id, { project: "p2" });
    await both.db.syncNow();
    for (const c of [only1, only2, both]) await c.db.syncNow();
    off();
    eq(await ids(only1.tasks), [], "gone from the device that syncs only p1");
    eq(removed.map((c) => [c.id, c.op]), [[r.id, "delete"]], "its listeners heard it go");
    eq(only1.db.status().pending, 0, "the removal queued nothing");
    eq((await only2.tasks.query()).map((t) => [t.id, t.project]), [[r.id, "p2"]], "arrived in p2");
    eq((await both.tasks.query()).map((t) => [t.id, t.project]), [[r.id, "p2"]], "one record where both sync");
    const server = await serverState(main, token);
    eq(server.live.map((x) => [x.id, x.data.project]), [[r.id, "p2"]], "never deleted on the server");

    // A local write into a space this device does not sync: allowed, said so, sent, then gone.
    const s = await only1.tasks.create({ title: "handed over", project: "p1" });
    eq(s._sync.outside, undefined, "p1 is synced here");
    const moved = await only1.tasks.update(s.id, { project: "p3" });
    eq([moved.project, moved._sync.outside], ["p3", true], "the result says the record is outside");
    eq((await only1.tasks.get(s.id))._sync.outside, undefined, "only the result says so");
    await only1.db.syncNow();
    eq(await only1.tasks.get(s.id), undefined, "gone once the server has it");
    const onServer = (await serverState(main, token)).live.find((x) => x.id === s.id);
    eq(onServer?.data.project, "p3", "the server has it in p3");
  } finally {
    await cleanup(api, only1, only2, both);
  }
}

export async function aForcePullOfASpaceReplacesOnlyThatSpace(api) {
  const { main } = api.servers;
  await seed(api, main, "tok30", { p1: 3, p2: 2, notes: 0 });
  const c = await openSpaced(api, "force-space", manual(main, "tok30"));
  try {
    const { db, tasks } = c;
    await db.spaces.add("p1", { wait: true });
    await db.spaces.add("p2", { wait: true });
    const [p1a] = (await tasks.query()).filter((t) => t.project === "p1");
    const [p2a] = (await tasks.query()).filter((t) => t.project === "p2");
    await tasks.update(p1a.id, { title: "edited in p1" });
    const local = await tasks.create({ title: "only here", project: "p1" });
    await tasks.update(p2a.id, { title: "edited in p2" });
    eq(db.status().pending, 3, "three changes queued");

    // Refused, nothing changed.
    await rejects(db.forcePull({ spaces: ["p9"] }), "InvalidOptionsError", "a space not synced here");
    await rejects(db.forcePull({ spaces: [] }), "InvalidOptionsError", "no space");
    await rejects(db.forcePull({ spaces: ["p1"], collections: ["tasks"] }), "InvalidOptionsError", "both");
    await rejects(db.forcePush({ spaces: ["p1"] }), "InvalidOptionsError", "a force push by space");
    eq(db.status().pending, 3, "nothing changed by a refusal");
    eq((await serverState(main, "tok30")).live.filter((r) => r.data.title.startsWith("edited")).length, 0, "nor sent");

    await db.forcePull({ spaces: ["p1"] });
    const byId = Object.fromEntries((await tasks.query()).map((t) => [t.id, t]));
    eq(byId[p1a.id].title, p1a.title, "p1's edit gave way to the server's version");
    eq(byId[local.id], undefined, "a record of p1 the server never had is gone");
    eq([byId[p2a.id].title, byId[p2a.id]._sync.status], ["edited in p2", "synced"], "p2's change was kept, and sent by the sync");
    eq(db.status().pending, 0, "nothing left queued");
    const log = await db.syncLog();
    const forced = log.find((e) => e.kind === "force-pull");
    eq([forced.id, forced.count, forced.kept], ["p1", 2, "server"], "logged with its space and what it dropped");
    assert(log.some((e) => e.kind === "swept" && e.id === "p1" && e.count === 1), JSON.stringify(log));
    const server = await serverState(main, "tok30");
    assert(!server.live.some((r) => r.id === local.id), "the dropped create never reached the server");
    eq(server.live.find((r) => r.id === p2a.id).data.title, "edited in p2", "p2's change did");
  } finally {
    await cleanup(api, c);
  }
}
