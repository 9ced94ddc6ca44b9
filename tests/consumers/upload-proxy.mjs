// A counting HTTP proxy between a page and the reference sync server: it passes every request
// through, and for each chunk of a blob upload (`PATCH /v1/blobs/{hash}/upload?offset=&size=`)
// it records the offset asked for, the body bytes it forwarded to the server and the answer's
// status. The sum of those bytes is what the server received of the file, however many times
// the client sent it. A gate can hold further chunks (the upload then stalls mid-file, as on a
// slow network), so that a test can close the tab at a known point; a held chunk never reaches
// the server and is not counted.
import { createServer, request } from "node:http";

const CHUNK = /^\/v1\/blobs\/[0-9a-f]{64}\/upload\?/;

/** Starts the proxy on a free loopback port in front of `target` (the server's URL).
 * `holdFrom`: once the forwarded chunk bytes reach this many, later chunks are held until
 * `release()`. Resolves to `{ url, chunks, received(), held(), release(), stop() }`. */
export async function startUploadProxy(target, { holdFrom = Infinity } = {}) {
  const upstream = new URL(target);
  /** One entry per chunk forwarded: `{ offset, size, bytes, status }`. */
  const chunks = [];
  let received = 0;
  let holding = false;
  const waiting = new Set();

  const forward = (req, res, chunk) => {
    const out = request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } },
      (answer) => {
        if (chunk) chunk.status = answer.statusCode;
        res.writeHead(answer.statusCode, answer.headers);
        answer.pipe(res);
      },
    );
    out.on("error", () => res.destroy());
    // A client that goes away (a reload) takes its request to the server with it.
    res.on("close", () => {
      if (!res.writableFinished) out.destroy();
    });
    if (chunk) {
      // Counted as it is handed to the server's connection: what the server got, not what the
      // client meant to send.
      req.on("data", (data) => {
        chunk.bytes += data.length;
        received += data.length;
        if (received >= holdFrom) holding = true;
      });
    }
    req.pipe(out);
  };

  const server = createServer((req, res) => {
    if (req.method !== "PATCH" || !CHUNK.test(req.url)) return forward(req, res, null);
    const query = new URL(req.url, "http://proxy").searchParams;
    const chunk = { offset: Number(query.get("offset")), size: Number(query.get("size")), bytes: 0, status: null };
    if (holding) {
      // Not read, not answered: the client waits, as for a chunk stuck on the network.
      waiting.add(res);
      res.on("close", () => waiting.delete(res));
      return;
    }
    chunks.push(chunk);
    forward(req, res, chunk);
  });
  const url = await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${server.address().port}`));
  });

  return {
    url,
    chunks,
    /** Body bytes of upload chunks the server received through the proxy. */
    received: () => received,
    /** Chunks held at the gate now. */
    held: () => waiting.size,
    /** Opens the gate for later chunks; the held ones are dropped (their client is gone, or
     * sees a lost connection and asks the server where it is). */
    release() {
      holding = false;
      holdFrom = Infinity;
      for (const res of waiting) res.socket?.destroy();
      waiting.clear();
    },
    async stop() {
      for (const res of waiting) res.socket?.destroy();
      server.closeAllConnections();
      await new Promise((done) => server.close(done));
    },
  };
}
