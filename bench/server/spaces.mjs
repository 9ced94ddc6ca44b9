// The pull-by-space benchmark: the time to the first full pull of one space of 1,000 records in a
// tenant of 100,000 (POST /v1/pull), beside pulling the whole tenant (GET /v1/pull), from the
// reference server alone (profile `server`) on loopback, over SQLite and (with
// FERRYSYNC_TEST_POSTGRES, as scripts/with-postgres.sh sets it) PostgreSQL.
//
//   node bench/server/spaces.mjs [--records N] [--spaceRecords N] [--page N] [--runs N]
//
// The tenant's records are spread over 100 spaces (the one pulled gets spaceRecords of them),
// written in batches of 100 that mix the spaces, so the pulled space's records are scattered
// through the change sequence as they are in a real tenant.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { startSyncServer } from "../../scripts/sync-server.mjs";

const options = { records: 100_000, spaceRecords: 1_000, page: 1000, runs: 5 };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) options[argv[i].replace(/^--/, "")] = Number(argv[i + 1]);

const TOKEN = "bench";
const headers = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };

async function fill(url) {
  const { records, spaceRecords } = options;
  const every = Math.floor(records / spaceRecords);
  const mutations = [];
  for (let i = 0; i < records; i++) {
    const space = i % every === 0 ? "mine" : `other-${i % 99}`;
    mutations.push({
      mutationId: randomUUID(),
      collection: "todos",
      id: `r${i}`,
      op: "upsert",
      data: { title: `todo ${i}`, done: false, projectId: space, note: "x".repeat(100) },
      baseVersion: null,
      space,
    });
    if (mutations.length === 100 || i === records - 1) {
      const res = await fetch(`${url}/v1/push`, { method: "POST", headers, body: JSON.stringify({ mutations }) });
      if (!res.ok) throw new Error(`push answered ${res.status}`);
      await res.arrayBuffer();
      mutations.length = 0;
    }
  }
}

async function pullTenant(url) {
  let cursor = null;
  let records = 0;
  let requests = 0;
  for (;;) {
    const q = `limit=${options.page}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
    const res = await fetch(`${url}/v1/pull?${q}`, { headers });
    if (!res.ok) throw new Error(`pull answered ${res.status}`);
    const body = await res.json();
    records += body.changes.length;
    requests++;
    cursor = body.cursor;
    if (!body.hasMore) return { records, requests };
  }
}

async function pullSpace(url) {
  let cursor = null;
  let records = 0;
  let requests = 0;
  for (;;) {
    const body = JSON.stringify({ spaces: [{ space: "mine", cursor }], limit: options.page });
    const res = await fetch(`${url}/v1/pull`, { method: "POST", headers, body });
    if (!res.ok) throw new Error(`pull answered ${res.status}`);
    const page = (await res.json()).spaces[0];
    records += page.changes.length;
    requests++;
    cursor = page.cursor;
    if (!page.hasMore) return { records, requests };
  }
}

async function time(f) {
  const times = [];
  let out;
  for (let r = 0; r < options.runs; r++) {
    const t = performance.now();
    out = await f();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return { ...out, ms: times[Math.floor(times.length / 2)] };
}

const dir = await mkdtemp(join(os.tmpdir(), "ferrysync-spaces-bench-"));
const backends = [["SQLite", null]];
if (process.env.FERRYSYNC_TEST_POSTGRES) backends.push(["PostgreSQL", process.env.FERRYSYNC_TEST_POSTGRES]);
const rows = [];
try {
  for (const [backend, url] of backends) {
    const db = url ? ["--database", url] : ["--db", join(dir, "spaces.sqlite3")];
    const server = await startSyncServer({
      profile: "server",
      args: ["--dev-tokens", `${TOKEN}=${TOKEN}-${Date.now()}`, ...db],
      memory: false,
    });
    try {
      const t = performance.now();
      await fill(server.url);
      console.error(`${backend}: ${options.records} records written in ${((performance.now() - t) / 1000).toFixed(1)} s`);
      await pullSpace(server.url); // warm caches alike for both
      await pullTenant(server.url);
      const space = await time(() => pullSpace(server.url));
      const tenant = await time(() => pullTenant(server.url));
      if (space.records !== options.spaceRecords) throw new Error(`the space pull got ${space.records} records`);
      if (tenant.records !== options.records) throw new Error(`the tenant pull got ${tenant.records} records`);
      rows.push({ backend, what: `one space (${space.records} records)`, requests: space.requests, ms: space.ms.toFixed(1) });
      rows.push({ backend, what: `whole tenant (${tenant.records} records)`, requests: tenant.requests, ms: tenant.ms.toFixed(1) });
    } finally {
      await server.stop();
    }
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
console.log(`First full pull, page ${options.page}, median of ${options.runs} runs, from the server alone on loopback:\n`);
console.log("| Backend | Pull | Requests | Time (ms) |");
console.log("| ------- | ---- | -------- | --------- |");
for (const r of rows) console.log(`| ${r.backend} | ${r.what} | ${r.requests} | ${r.ms} |`);
