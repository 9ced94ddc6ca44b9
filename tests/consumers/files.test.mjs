// Files in records, in headless Chromium against the reference server on 127.0.0.1, with the
// package installed from the tarball (no bundler): a 50 MiB file written offline goes up in
// chunks, the tab is reloaded halfway, and the upload goes on from where the server stopped
// (the bytes the server received, counted by a proxy in front of it, are the file once, not
// once and a half); a service worker makes a file, stores and syncs it with no page's help; and
// the service worker entry (`ferrysync/sw`) sends a file a page stored.
// Each test checks on the server that the bytes are the file (SHA-256 computed here from what
// the server answers, against one the page computed apart from the package) and that the
// record refers to it.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { serverRecords } from "../e2e/support.mjs";
import { eventually, prepareApp, withServerAndBrowser } from "./support.mjs";
import { startUploadProxy } from "./upload-proxy.mjs";

const MiB = 1024 * 1024;
const AUTH = { Authorization: "Bearer dev-token" };

let prepared;
const app = () => (prepared ??= prepareApp("files"));

/** The SHA-256 (hex) and length of blob `hash` as the server answers it, read as a stream. */
async function download(serverUrl, hash) {
  const response = await fetch(`${serverUrl}/v1/blobs/${hash}`, { headers: AUTH });
  assert.equal(response.status, 200, `GET /v1/blobs/${hash}`);
  const digest = createHash("sha256");
  let length = 0;
  for await (const part of response.body) {
    digest.update(part);
    length += part.length;
  }
  return { sha256: digest.digest("hex"), length };
}

/** Where the server is with the upload of `hash`: `{ offset, size, complete }`. */
async function uploadState(serverUrl, hash) {
  const response = await fetch(`${serverUrl}/v1/blobs/${hash}/upload`, { headers: AUTH });
  assert.equal(response.status, 200, `GET /v1/blobs/${hash}/upload`);
  return response.json();
}

/** The server's record `id` (of the development tenant). */
async function serverRecord(serverUrl, id) {
  return (await serverRecords(serverUrl)).records.find((r) => r.id === id);
}

/** Loads the app at `url` and waits for its module script. */
async function load(page, url) {
  await page.goto(url);
  await page.waitForSelector("body[data-ready=yes]", { state: "attached" });
}

test("chromium: a 50 MiB file written offline resumes its upload after a reload halfway, and the server gets it once", { timeout: 180_000 }, async () => {
  const SIZE = 50 * MiB;
  const CHUNK = 1 * MiB;
  const HALF = 25 * MiB;
  const dir = await app();
  await withServerAndBrowser(["--static", dir], async (server, { context, page }) => {
    // The page loads from the proxy and syncs with its own origin: every request goes through it.
    const proxy = await startUploadProxy(server.url, { holdFrom: HALF });
    try {
      await load(page, `${proxy.url}/`);
      // The wasm module is fetched now: the page opens the database offline.
      await page.evaluate(() => window.ferrysync.preload());

      // Offline: the record and its file are written locally, and wait in the queue.
      await context.setOffline(true);
      const written = await page.evaluate(
        async ([size, chunkBytes]) => {
          window.db = await window.ferrysync.open(window.files.filesOptions({ chunkBytes }));
          const { blob, hash } = await window.files.randomFile(size);
          const visit = await window.db.collection("visits").create({ note: "roof", photo: blob });
          return { id: visit.id, hash, pending: window.db.status().pending };
        },
        [SIZE, CHUNK],
      );
      assert.equal(written.pending, 1, "the change is queued");
      const { id, hash } = written;
      assert.deepEqual(await uploadState(server.url, hash), { offset: 0, size: null, complete: false }, "nothing sent offline");

      // Back online, a sync starts the upload; the proxy holds the chunks after the first half,
      // so the upload stalls there with a chunk in flight.
      await context.setOffline(false);
      await page.evaluate(() => {
        window.firstSync = window.db.syncNow().catch((error) => error.name);
      });
      await eventually("the server holds the first half", async () => proxy.held() > 0 && (await uploadState(server.url, hash)).offset === HALF, { timeout: 60_000 });
      assert.equal(proxy.received(), HALF);
      const halfway = await eventually("the page's status shows the upload halfway", () =>
        page.evaluate(() => window.db.status().upload),
      );
      assert.deepEqual(halfway, { blob: hash, done: HALF, total: SIZE }, "status().upload");
      assert.equal((await serverRecord(server.url, id)) ?? null, null, "the record waits for its file");
      const before = proxy.chunks.length;
      assert.deepEqual(
        proxy.chunks.map((c) => [c.offset, c.bytes, c.status]),
        Array.from({ length: HALF / CHUNK }, (_, i) => [i * CHUNK, CHUNK, 200]),
        "the first half went up chunk after chunk",
      );

      // The tab is reloaded mid-upload; the chunk held at the gate dies with it.
      await page.reload();
      await page.waitForSelector("body[data-ready=yes]", { state: "attached" });
      proxy.release();

      const done = await page.evaluate(
        async ([chunkBytes, id]) => {
          window.db = await window.ferrysync.open(window.files.filesOptions({ chunkBytes }));
          const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error("sync took over 90 s")), 90_000));
          const summary = await Promise.race([window.db.syncNow(), timeout]);
          const visit = await window.db.collection("visits").get(id);
          const status = window.db.status();
          return {
            summary,
            status: visit._sync.status,
            photo: visit.photo instanceof Blob ? { size: visit.photo.size, type: visit.photo.type } : visit.photo,
            pending: status.pending,
            upload: status.upload,
          };
        },
        [CHUNK, id],
      );
      assert.equal(done.summary.pushed, 1, `the record went up after its file: ${JSON.stringify(done.summary)}`);
      assert.deepEqual(
        { status: done.status, photo: done.photo, pending: done.pending, upload: done.upload },
        { status: "synced", photo: { size: SIZE, type: "application/octet-stream" }, pending: 0, upload: null },
      );

      // After the reload the upload went on from the server's offset: no chunk before it, none
      // refused, and the server received the file once.
      const after = proxy.chunks.slice(before);
      console.log(
        `files: ${SIZE} bytes in chunks of ${CHUNK}; the server received ${proxy.received()} bytes ` +
          `(${before} chunks before the reload, ${after.length} after, the first at offset ${after[0]?.offset})`,
      );
      assert.ok(after.length > 0, "chunks were sent after the reload");
      assert.equal(after[0].offset, HALF, "the first chunk after the reload starts where the server stopped");
      assert.deepEqual(
        after.filter((c) => c.offset < HALF || c.status !== 200),
        [],
        "no chunk after the reload went back before the server's offset or was refused",
      );
      assert.ok(proxy.received() < SIZE + 2 * CHUNK, `the server received ${proxy.received()} bytes for a file of ${SIZE}`);
      assert.equal(proxy.received(), SIZE, "every byte once");

      // The server holds exactly the file, and the record refers to it.
      assert.deepEqual(await uploadState(server.url, hash), { offset: SIZE, size: SIZE, complete: true });
      assert.deepEqual(await download(server.url, hash), { sha256: hash, length: SIZE }, "the server's bytes are the file");
      const record = await serverRecord(server.url, id);
      assert.deepEqual(record?.data?.photo, { $blob: hash, size: SIZE, type: "application/octet-stream" }, JSON.stringify(record));
      await page.evaluate(() => window.db.close());
    } finally {
      await proxy.stop();
    }
  });
});

test("chromium: a service worker makes a file, stores it in a record and syncs it", { timeout: 120_000 }, async () => {
  const SIZE = 3 * MiB + 12_345;
  const CHUNK = 1 * MiB;
  const dir = await app();
  await withServerAndBrowser(["--static", dir], async (server, { page }) => {
    const proxy = await startUploadProxy(server.url);
    try {
      await load(page, `${proxy.url}/`);
      const made = await page.evaluate(
        async ([size, chunkBytes]) => {
          await navigator.serviceWorker.register("./sw.js", { type: "module" });
          const { active } = await navigator.serviceWorker.ready;
          return window.connect(active).createAndSync(size, chunkBytes);
        },
        [SIZE, CHUNK],
      );
      assert.equal(made.summary.pushed, 1, JSON.stringify(made));
      assert.deepEqual(
        { status: made.status, photoIsBlob: made.photoIsBlob, photoSize: made.photoSize, pending: made.pending, upload: made.upload },
        { status: "synced", photoIsBlob: true, photoSize: SIZE, pending: 0, upload: null },
      );

      // Four chunks, each from where the last one ended, and the file once.
      assert.deepEqual(
        proxy.chunks.map((c) => [c.offset, c.bytes, c.status]),
        [0, 1, 2, 3].map((i) => [i * CHUNK, Math.min(CHUNK, SIZE - i * CHUNK), 200]),
      );
      assert.deepEqual(await download(server.url, made.hash), { sha256: made.hash, length: SIZE }, "the server's bytes are the file");
      const record = await serverRecord(server.url, made.id);
      assert.deepEqual(record?.data, { note: "made in the worker", photo: { $blob: made.hash, size: SIZE, type: "image/png" } }, JSON.stringify(record));
    } finally {
      await proxy.stop();
    }
  });
});

test("chromium: a file a page stored goes up through the service worker entry (ferrysync/sw) when the page asks it to sync", { timeout: 120_000 }, async () => {
  const SIZE = 1 * MiB + 1;
  // sw-background.js sends chunks of 256 KiB; the tag is the one of the database `ferrysync:consumer-files`.
  const CHUNK = 256 * 1024;
  const TAG = "ferrysync:ferrysync:consumer-files";
  const dir = await app();
  await withServerAndBrowser(["--static", dir], async (server, { page }) => {
    const proxy = await startUploadProxy(server.url);
    try {
      await load(page, `${proxy.url}/`);
      const { id, hash, answer } = await page.evaluate(
        async ([size, tag]) => {
          await navigator.serviceWorker.register("./sw-background.js", { type: "module" });
          const { active } = await navigator.serviceWorker.ready;
          // The page writes, and never syncs.
          const db = await window.ferrysync.open(window.files.filesOptions());
          const { blob, hash } = await window.files.randomFile(size, "text/plain");
          const visit = await db.collection("visits").create({ note: "stored by the page", photo: blob });
          db.close();
          const { port1, port2 } = new MessageChannel();
          const answered = new Promise((resolve) => (port1.onmessage = ({ data }) => resolve(data)));
          active.postMessage({ ferrysync: "sync", tag }, [port2]);
          return { id: visit.id, hash, answer: await answered };
        },
        [SIZE, TAG],
      );
      assert.equal(answer.error, undefined, JSON.stringify(answer));
      assert.equal(answer.summary.pushed, 1, JSON.stringify(answer));
      assert.deepEqual(
        proxy.chunks.map((c) => [c.offset, c.bytes, c.status]),
        [0, 1, 2, 3, 4].map((i) => [i * CHUNK, Math.min(CHUNK, SIZE - i * CHUNK), 200]),
      );
      assert.deepEqual(await download(server.url, hash), { sha256: hash, length: SIZE }, "the server's bytes are the file");
      const record = await serverRecord(server.url, id);
      assert.deepEqual(record?.data, { note: "stored by the page", photo: { $blob: hash, size: SIZE, type: "text/plain" } }, JSON.stringify(record));
    } finally {
      await proxy.stop();
    }
  });
});
