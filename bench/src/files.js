// File transfer against a reference server on loopback: one file of N MB uploaded by ferrysync's
// sync (a record holding the file, one syncNow() until the server acknowledged the record) and
// downloaded by a fresh client whose collection downloads lazily (`db.blob(ref)`, which fetches,
// checks the hash and stores the file). Beside each, the floor: plain fetch moving the same bytes
// (the same GET of the upload state and PATCHes of the same chunks, then one GET of the whole
// file), storing and checking nothing, so the table shows what ferrysync adds to the network and
// the server.
import { deleteDatabase, open } from "ferrysync";

const COLLECTION = "files";

function check(condition, message) {
  if (!condition) throw new Error(`file benchmark: ${message}`);
}

/** `bytes` random bytes (so that nothing on the way can compress them), as a Blob. */
function makeFile(bytes) {
  const data = new Uint8Array(bytes);
  // getRandomValues fills at most 64 KiB per call.
  for (let at = 0; at < bytes; at += 65_536) crypto.getRandomValues(data.subarray(at, Math.min(at + 65_536, bytes)));
  return new Blob([data], { type: "application/octet-stream" });
}

function openClient(app, url, token, chunkBytes, collection = {}) {
  return open({
    app,
    version: 1,
    collections: { [COLLECTION]: { blobs: ["file"], ...collection } },
    sync: { url, token, syncOnOpen: false, intervalMs: false, debounceMs: false, chunkBytes },
  });
}

/** ferrysync: the record and its file stored (timed apart: hashing and IndexedDB), then one
 * syncNow() that uploads the file and pushes the record; then a fresh client pulls the record
 * (untimed) and reads the file with `db.blob(ref)`. */
async function ferrysyncRound(file, url, token, chunkBytes, round) {
  const writer = `files-bench-w-${round}`;
  const reader = `files-bench-r-${round}`;
  const a = await openClient(writer, url, token, chunkBytes);
  let t = performance.now();
  await a.collection(COLLECTION).create({ name: "big.bin", file });
  const store = performance.now() - t;
  t = performance.now();
  await a.syncNow();
  const upload = performance.now() - t;
  check(a.status().pending === 0, `still queued after the upload: ${a.status().pending} (${a.status().lastError})`);
  a.close();
  await deleteDatabase(writer, undefined, { discardPending: true });

  const b = await openClient(reader, url, token, chunkBytes, { download: "lazy" });
  await b.syncNow();
  const [record] = await b.collection(COLLECTION).query();
  check(record && typeof record.file?.$blob === "string", "the fresh client holds a reference, not the file");
  t = performance.now();
  const blob = await b.blob(record.file);
  const download = performance.now() - t;
  check(blob.size === file.size, `downloaded ${blob.size} bytes of ${file.size}`);
  b.close();
  await deleteDatabase(reader, undefined, { discardPending: true });
  return { store, upload, download };
}

const hex = (buffer) => Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");

/** The floor: the requests of a resumable upload made with fetch (the upload state, then each
 * chunk), then one GET of the whole file read to its end. The hash is computed before the clock
 * starts, as ferrysync computes it when the record is stored. */
async function fetchRound(file, url, token, chunkBytes) {
  const hash = hex(await crypto.subtle.digest("SHA-256", await file.arrayBuffer()));
  const auth = { Authorization: `Bearer ${token}` };
  const blobUrl = `${url}/v1/blobs/${hash}`;
  let t = performance.now();
  let state = await (await fetch(`${blobUrl}/upload`, { headers: auth })).json();
  check(state.complete === false && state.offset === 0, "a fresh tenant has nothing of the file");
  while (!state.complete) {
    const offset = state.offset;
    const response = await fetch(`${blobUrl}/upload?offset=${offset}&size=${file.size}`, {
      method: "PATCH",
      headers: { ...auth, "Content-Type": "application/octet-stream" },
      body: file.slice(offset, offset + chunkBytes),
    });
    check(response.ok, `PATCH at ${offset} answered ${response.status}`);
    state = await response.json();
  }
  const upload = performance.now() - t;
  t = performance.now();
  const response = await fetch(blobUrl, { headers: auth });
  const bytes = await response.arrayBuffer();
  const download = performance.now() - t;
  check(response.ok && bytes.byteLength === file.size, `GET answered ${response.status} with ${bytes.byteLength} bytes`);
  return { upload, download };
}

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/**
 * `megabytes`: the file's size in MiB; `chunkBytes`: the upload's chunks, for both contenders
 * (ferrysync's default `sync.chunkBytes` unless given). `tokens`: one fresh tenant per round and contender
 * (rounds = warmup + reps, ferrysync first), so that no server already holds the file.
 */
export async function runFileBenchmark({ megabytes = 50, chunkBytes = 1024 * 1024, reps = 3, warmup = 1, url = location.origin, tokens }) {
  const rounds = warmup + reps;
  check(Array.isArray(tokens) && tokens.length >= rounds * 2, `needs ${rounds * 2} tokens`);
  const file = makeFile(Math.round(megabytes * 1024 * 1024));
  const samples = { ferrysync: { store: [], upload: [], download: [] }, fetch: { upload: [], download: [] } };
  for (let round = 0; round < rounds; round++) {
    const f = await ferrysyncRound(file, url, tokens[round * 2], chunkBytes, round);
    const raw = await fetchRound(file, url, tokens[round * 2 + 1], chunkBytes);
    if (round < warmup) continue;
    samples.ferrysync.store.push(f.store);
    samples.ferrysync.upload.push(f.upload);
    samples.ferrysync.download.push(f.download);
    samples.fetch.upload.push(raw.upload);
    samples.fetch.download.push(raw.download);
  }
  const summarize = (list) => ({ median: median(list), samples: list });
  return {
    options: { megabytes, bytes: file.size, reps, warmup, chunkBytes },
    ferrysync: {
      store: summarize(samples.ferrysync.store),
      upload: summarize(samples.ferrysync.upload),
      download: summarize(samples.ferrysync.download),
    },
    fetch: { upload: summarize(samples.fetch.upload), download: summarize(samples.fetch.download) },
  };
}
