// The server benchmark: push mutations/s and pull records/s against the reference server
// (profile `server`, optimised for speed) on loopback, with 1, 8 and 32 concurrent clients, one tenant and many, over
// SQLite and PostgreSQL, with request latency percentiles.
//
//   node bench/server/load.mjs [--mutations N] [--batch N] [--page N]
//
// FERRYSYNC_TEST_POSTGRES (set by scripts/with-postgres.sh) adds the PostgreSQL rows; without it
// only SQLite runs. scripts/bench-server.sh builds the server and provides the cluster.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { startSyncServer } from "../../scripts/sync-server.mjs";

function parseArgs(argv, defaults) {
  const out = { ...defaults };
  for (let i = 0; i < argv.length; i += 2) out[argv[i].replace(/^--/, "")] = Number(argv[i + 1]);
  return out;
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

/** Runs `clients` workers over `jobs` (shared queue); returns wall ms and sorted latencies. */
async function run(clients, jobs, work) {
  const latencies = [];
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      for (;;) {
        const job = next++;
        if (job >= jobs) return;
        const t = performance.now();
        await work(c, job);
        latencies.push(performance.now() - t);
      }
    }),
  );
  return { ms: performance.now() - start, latencies: latencies.sort((a, b) => a - b) };
}

async function post(url, token, body) {
  for (let attempt = 0; ; attempt++) {
    const res = await fetch(`${url}/v1/push`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body,
    });
    if (res.ok) return res.json();
    await res.arrayBuffer();
    if ((res.status === 429 || res.status === 503) && attempt < 100) continue;
    throw new Error(`push answered ${res.status}`);
  }
}

async function pullAll(url, token, page) {
  let cursor = null;
  let records = 0;
  let requests = 0;
  const latencies = [];
  for (;;) {
    const t = performance.now();
    const q = `limit=${page}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
    const res = await fetch(`${url}/v1/pull?${q}`, { headers: { authorization: `Bearer ${token}` } });
    if (!res.ok) throw new Error(`pull answered ${res.status}`);
    const body = await res.json();
    latencies.push(performance.now() - t);
    records += body.changes.length;
    requests++;
    cursor = body.cursor;
    if (!body.hasMore) return { records, requests, latencies };
  }
}

async function scenario(url, { backend, clients, tenancy, mutations, batch, page, run: runId }) {
  const tenant = (c) => (tenancy === "one" ? `r${runId}-t0` : `r${runId}-t${c}`);
  const batches = Math.ceil(mutations / batch);
  const push = await run(clients, batches, async (c, job) => {
    const ms = Array.from({ length: batch }, (_, k) => ({
      mutationId: randomUUID(),
      collection: "items",
      id: `b${job}-${k}`,
      op: "upsert",
      data: { title: `item ${job}-${k}`, done: false, n: k, note: "x".repeat(150) },
      baseVersion: null,
    }));
    const answer = await post(url, tenant(c), JSON.stringify({ mutations: ms }));
    if (answer.results.some((r) => r.status !== "applied")) throw new Error("not applied");
  });
  // Each client pulls its tenant's whole history (one tenant: all pull the same records).
  const pullLatencies = [];
  let pulled = 0;
  const pull = await run(clients, clients, async (c) => {
    const r = await pullAll(url, tenant(c), page);
    pulled += r.records;
    pullLatencies.push(...r.latencies);
  });
  pullLatencies.sort((a, b) => a - b);
  const lat = (l) => [50, 95, 99].map((p) => percentile(l, p).toFixed(1)).join(" / ");
  return {
    backend,
    clients,
    tenancy,
    pushPerSec: Math.round((batches * batch) / (push.ms / 1000)),
    pushLatency: lat(push.latencies),
    pullPerSec: Math.round(pulled / (pull.ms / 1000)),
    pullLatency: lat(pullLatencies),
  };
}

export function formatServerTable(rows) {
  const head = ["backend", "clients", "tenants", "push mutations/s", "push ms p50 / p95 / p99", "pull records/s", "pull ms p50 / p95 / p99"];
  const cells = rows.map((r) => [r.backend, `${r.clients}`, r.tenancy === "one" ? "one" : `${r.clients}`, r.pushPerSec.toLocaleString("en-US"), r.pushLatency, r.pullPerSec.toLocaleString("en-US"), r.pullLatency]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c) => `| ${c.map((x, i) => (i < 3 ? x.padEnd(widths[i]) : x.padStart(widths[i]))).join(" | ")} |`;
  const rule = `|${widths.map((w, i) => (i < 3 ? `:${"-".repeat(w + 1)}` : `${"-".repeat(w + 1)}:`)).join("|")}|`;
  return [line(head), rule, ...cells.map(line)].join("\n");
}

async function main() {
  const options = parseArgs(process.argv.slice(2), { mutations: 20_000, batch: 100, page: 1000 });
  const backends = [["sqlite", null]];
  if (process.env.FERRYSYNC_TEST_POSTGRES) backends.push(["postgres", process.env.FERRYSYNC_TEST_POSTGRES]);
  const dir = await mkdtemp(join(os.tmpdir(), "ferrysync-server-bench-"));
  const rows = [];
  let runId = 0;
  // Every tenant name a run uses is a development token of the same name.
  const tokens = [];
  for (let r = 0; r < 12; r++) for (let t = 0; t < 32; t++) tokens.push(`r${r}-t${t}`);
  try {
    for (const [backend, url] of backends) {
      const db = url ? ["--database", url] : ["--db", join(dir, "bench.sqlite3")];
      const server = await startSyncServer({
        profile: "server",
        args: ["--dev-tokens", tokens.map((t) => `${t}=${t}`).join(","), "--max-in-flight-per-tenant", "64", ...db],
        memory: false,
      });
      try {
        for (const tenancy of ["one", "many"]) {
          for (const clients of [1, 8, 32]) {
            const row = await scenario(server.url, { backend, clients, tenancy, run: runId++, ...options });
            console.error(`${backend} ${clients} clients, ${tenancy} tenant(s): ${row.pushPerSec} mutations/s, ${row.pullPerSec} records/s`);
            rows.push(row);
          }
        }
      } finally {
        await server.stop();
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const cpu = os.cpus()[0]?.model ?? "unknown CPU";
  console.log(`\n${options.mutations.toLocaleString("en-US")} mutations per run in batches of ${options.batch}, pulled in pages of ${options.page}; ${cpu}, ${os.cpus().length} cores, node ${process.version}\n`);
  console.log(formatServerTable(rows));
}

await main();
