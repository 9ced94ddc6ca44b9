// Browser scenarios of files in records: stored as Blobs once per content beside the records,
// uploaded to the reference server (scripts/with-servers.sh) before the records that refer to
// them, and read back as Blobs.
import { assert, eq, manual, rejects, uniqueApp } from "./scenarios.js";

const DISCARD = { discardPending: true };

/** Random bytes (incompressible). */
function noise(n) {
  const bytes = new Uint8Array(n);
  for (let at = 0; at < n; at += 65536) crypto.getRandomValues(bytes.subarray(at, Math.min(n, at + 65536)));
  return bytes;
}

async function sha256(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function bytesOf(blob) {
  return new Uint8Array(await blob.arrayBuffer());
}

function sameBytes(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** The blob `hash` as the server has it for `token`: its bytes, or the error code. (Never put
 * the bytes in a failure's message: megabytes of text stall the test runner.) */
async function serverBlob(url, token, hash) {
  const response = await fetch(`${url}/v1/blobs/${hash}`, { headers: { Authorization: `Bearer ${token}` } });
  if (!response.ok) return { code: (await response.json()).error.code };
  return { bytes: new Uint8Array(await response.arrayBuffer()) };
}

/** A record holding files: each Blob is hashed and stored once beside it, read back as a Blob,
 * uploaded in chunks before the record is pushed, and on the server byte for byte; a Blob in a
 * field the collection does not declare is refused with nothing stored. */
export async function filesGoUpBeforeTheirRecords(api) {
  const { main } = api.servers;
  const token = "tok34";
  const app = uniqueApp("files");
  const collections = { notes: { blobs: ["file", "pages"] } };
  const db = await api.open({ app, version: 1, collections, sync: manual(main, token) });
  try {
    const notes = db.collection("notes");
    // Three chunks of the default 1 MiB, the last one short.
    const big = noise(2.5 * 1024 * 1024);
    const small = noise(1000);
    const [bigHash, smallHash] = [await sha256(big), await sha256(small)];
    const note = await notes.create({
      title: "site visit",
      file: new File([big], "photo.jpg", { type: "image/jpeg" }),
      pages: [new Blob([small]), { cover: new Blob([small]) }],
    });
    // Stored as references; read back as Blobs with their bytes and type.
    const read = await notes.get(note.id);
    assert(read.file instanceof Blob, "a Blob comes back");
    eq([read.file.type, read.file.size], ["image/jpeg", big.length], "its type and size");
    assert(sameBytes(await bytesOf(read.file), big), "its bytes");
    assert(sameBytes(await bytesOf(read.pages[1].cover), small), "nested in the field too");
    eq((await db.outbox()).length, 1, "one queued change");
    // A live query (what the React hooks read) gives the Blobs too.
    const live = notes.live({});
    const rows = await new Promise((resolve) => {
      const stop = live.subscribe(() => {
        const now = live.getSnapshot();
        if (now && now.length) {
          stop();
          resolve(now);
        }
      });
    });
    assert(rows[0].file instanceof Blob && rows[0].file.size === big.length, "a live query's row holds the Blob");

    // Refused: a Blob in a field the collection does not name in `blobs`.
    await rejects(notes.create({ title: "x", other: new Blob([small]) }), "InvalidRecordError", "an undeclared blob field");
    eq((await notes.query()).length, 1, "nothing stored by the refused write");
    const seen = [];
    const store = db.statusStore();
    const stop = store.subscribe(() => {
      const upload = store.getSnapshot().upload;
      if (upload) seen.push(upload);
    });
    const summary = await db.syncNow();
    stop();
    eq([summary.pushed, db.status().pending, db.status().upload], [1, 0, null], "pushed once its blobs are up");
    // Per file, the bytes the server holds only grow, up to the whole file; the small one first
    // (the chunks of the large one are more requests to see).
    const of = (hash) => seen.filter((u) => u.blob === hash);
    for (const [hash, size] of [[bigHash, big.length], [smallHash, small.length]]) {
      const done = of(hash).map((u) => u.done);
      assert(done.every((d, i) => i === 0 || d >= done[i - 1]), `progress of ${hash.slice(0, 8)} only grows: ${done}`);
      eq([done.at(-1), of(hash)[0].total], [size, size], "up to the whole file");
    }
    for (const [hash, bytes] of [[bigHash, big], [smallHash, small]]) {
      const got = await serverBlob(main, token, hash);
      assert(got.bytes && sameBytes(got.bytes, bytes), `the server has ${hash.slice(0, 8)} byte for byte: ${got.code}`);
    }
    // Another tenant cannot read it, even knowing its hash.
    // (Its bytes are cached by this browser for tok34: the answer varies by token.)
    eq((await serverBlob(main, "tok33", bigHash)).code, "blob_not_found", "other tenants see nothing");
    // The record went up with references, not bytes.
    const pulled = await fetch(`${main}/v1/pull?limit=10`, { headers: { Authorization: `Bearer ${token}` } });
    const record = (await pulled.json()).changes.find((c) => c.id === note.id);
    eq(record.data.file, { $blob: bigHash, size: big.length, type: "image/jpeg" }, "the reference on the server");
    eq(db.status().blobsUnsupported, false, "the server has blob endpoints");
  } finally {
    db.close();
    await api.deleteDatabase(app, undefined, DISCARD);
  }
}
