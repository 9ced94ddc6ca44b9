// The first full pull of one space, in the browser: a tenant of `tenant` records spread over 100
// spaces (the one pulled holds `space` of them, scattered through the change sequence), filled
// once with plain fetch. Timed: a fresh client's `spaces.add(space, { wait: true })`, beside a
// fresh client pulling the whole tenant (`syncNow()` without a space field), and beside the floor
// of each (the same requests made with fetch, nothing stored).
import { deleteDatabase, open } from "ferrysync";

const COLLECTION = "todos";
const PULL_LIMIT = 500;
const MINE = "mine";

function check(condition, message) {
  if (!condition) throw new Error(`space benchmark: ${message}`);
}

function headers(token) {
  return { Authorization: `Bearer ${token}`, "Content-Type": "application/json" };
}

/** Fills the tenant: `tenant` records, one in every `tenant / space` in MINE, the others over 99
 * other spaces, pushed in batches of 100 that mix the spaces. */
async function fill(url, token, tenant, space) {
  const every = Math.floor(tenant / space);
  let mutations = [];
  for (let i = 0; i < tenant; i++) {
    const projectId = i % every === 0 ? MINE : `other-${i % 99}`;
    mutations.push({
      mutationId: crypto.randomUUID(),
      collection: COLLECTION,
      id: `r${i}`,
      op: "upsert",
      data: { title: `todo ${i}`, done: false, projectId, note: "x".repeat(100) },
      baseVersion: null,
      space: projectId,
    });
    if (mutations.length === 100 || i === tenant - 1) {
      const response = await fetch(`${url}/v1/push`, { method: "POST", headers: headers(token), body: JSON.stringify({ mutations }) });
      check(response.ok, `filling answered ${response.status}`);
      mutations = [];
    }
  }
}

function sync(url, token) {
  return { url, token, syncOnOpen: false, intervalMs: false, debounceMs: false, pullLimit: PULL_LIMIT };
}

/** ferrysync: a fresh client adds the space and waits for its first full pull. */
async function ferrysyncSpace(url, token, round, expected) {
  const app = `space-bench-${round}`;
  const db = await open({ app, version: 1, collections: { [COLLECTION]: { space: "projectId" } }, sync: sync(url, token) });
  const t = performance.now();
  await db.spaces.add(MINE, { wait: true });
  const ms = performance.now() - t;
  check((await db.collection(COLLECTION).count()) === expected, "the space's records");
  db.close();
  await deleteDatabase(app, undefined, { discardPending: true });
  return ms;
}

/** ferrysync: a fresh client without spaces pulls the whole tenant. */
async function ferrysyncTenant(url, token, round, expected) {
  const app = `tenant-bench-${round}`;
  const db = await open({ app, version: 1, collections: { [COLLECTION]: {} }, sync: sync(url, token) });
  const t = performance.now();
  await db.syncNow();
  const ms = performance.now() - t;
  check((await db.collection(COLLECTION).count()) === expected, "the tenant's records");
  db.close();
  await deleteDatabase(app, undefined, { discardPending: true });
  return ms;
}

/** The floor of the space's pull: POST /v1/pull page after page, nothing stored. */
async function fetchSpace(url, token, expected) {
  const t = performance.now();
  let cursor = null;
  let received = 0;
  for (;;) {
    const body = { spaces: [{ space: MINE, ...(cursor ? { cursor } : {}) }, { space: null }], limit: PULL_LIMIT };
    const response = await fetch(`${url}/v1/pull`, { method: "POST", headers: headers(token), body: JSON.stringify(body) });
    const answer = await response.json();
    const page = answer.spaces[0];
    received += page.changes.length;
    cursor = page.cursor;
    if (!page.hasMore) break;
  }
  const ms = performance.now() - t;
  check(received === expected, `fetch pulled ${received} of the space`);
  return ms;
}

/** The floor of the tenant's pull: GET /v1/pull page after page, nothing stored. */
export async function fetchTenant(url, token, expected) {
  const t = performance.now();
  let cursor = null;
  let received = 0;
  for (;;) {
    const query = `limit=${PULL_LIMIT}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
    const page = await (await fetch(`${url}/v1/pull?${query}`, { headers: headers(token) })).json();
    received += page.changes.length;
    cursor = page.cursor;
    if (!page.hasMore) break;
  }
  const ms = performance.now() - t;
  check(received === expected, `fetch pulled ${received} of the tenant`);
  return ms;
}

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** `token`: one tenant, filled here; `reps` timed rounds of the space's pull after `warmup`, and
 * one of the tenant's (it takes a hundred times as long). */
export async function runSpaceBenchmark({ tenant = 100_000, space = 1_000, reps = 3, warmup = 1, url = location.origin, token }) {
  check(typeof token === "string", "needs a token");
  const fillStart = performance.now();
  await fill(url, token, tenant, space);
  const fillMs = performance.now() - fillStart;
  const inSpace = Math.ceil(tenant / Math.floor(tenant / space));
  const samples = { ferrysync: [], fetch: [] };
  for (let round = 0; round < warmup + reps; round++) {
    const f = await ferrysyncSpace(url, token, round, inSpace);
    const raw = await fetchSpace(url, token, inSpace);
    if (round < warmup) continue;
    samples.ferrysync.push(f);
    samples.fetch.push(raw);
  }
  const whole = { ferrysync: await ferrysyncTenant(url, token, 0, tenant), fetch: await fetchTenant(url, token, tenant) };
  return {
    options: { tenant, space: inSpace, spaces: 100, reps, warmup, pullLimit: PULL_LIMIT },
    fillMs,
    space: {
      ferrysync: { median: median(samples.ferrysync), samples: samples.ferrysync },
      fetch: { median: median(samples.fetch), samples: samples.fetch },
    },
    tenant: whole,
  };
}
