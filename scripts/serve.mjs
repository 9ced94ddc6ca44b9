#!/usr/bin/env node
// A small static file server for the built demo (www/dist), on the loopback interface only.
//
//   node scripts/serve.mjs [port] [--port N] [--dir PATH]
//
// The port comes from the argument, else $PORT, else 8080; port 0 picks a free one.
// Prints "ferrysync demo: http://127.0.0.1:PORT/" once it is listening.
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { createServer } from "node:http";
import { extname, join, normalize, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const HOST = "127.0.0.1";
const REPO = resolve(fileURLToPath(new URL("..", import.meta.url)));

const MIME = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".wasm": "application/wasm",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8",
};

function parseArgs(argv) {
  const options = { port: process.env.PORT ?? "8080", dir: join(REPO, "www", "dist") };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--port" || arg === "-p") options.port = argv[++i];
    else if (arg.startsWith("--port=")) options.port = arg.slice("--port=".length);
    else if (arg === "--dir") options.dir = resolve(argv[++i]);
    else if (arg.startsWith("--dir=")) options.dir = resolve(arg.slice("--dir=".length));
    else if (/^\d+$/.test(arg)) options.port = arg;
    else {
      console.error(`usage: node scripts/serve.mjs [port] [--port N] [--dir PATH] (unknown argument: ${arg})`);
      process.exit(2);
    }
  }
  const port = Number(options.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`invalid port: ${options.port}`);
    process.exit(2);
  }
  return { port, dir: options.dir };
}

const { port, dir } = parseArgs(process.argv.slice(2));
const root = resolve(dir);

async function findFile(urlPath) {
  let decoded;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  const file = normalize(join(root, decoded));
  if (file !== root && !file.startsWith(root + sep)) return null;
  try {
    const info = await stat(file);
    if (info.isDirectory()) {
      const index = join(file, "index.html");
      const indexInfo = await stat(index);
      return indexInfo.isFile() ? { file: index, size: indexInfo.size } : null;
    }
    return info.isFile() ? { file, size: info.size } : null;
  } catch {
    return null;
  }
}

const server = createServer(async (req, res) => {
  const url = new URL(req.url ?? "/", `http://${HOST}`);
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.writeHead(405, { Allow: "GET, HEAD" }).end();
    return;
  }
  const found = await findFile(url.pathname);
  if (!found) {
    res.writeHead(404, { "Content-Type": "text/plain; charset=utf-8" }).end("not found\n");
    return;
  }
  res.writeHead(200, {
    "Content-Type": MIME[extname(found.file).toLowerCase()] ?? "application/octet-stream",
    "Content-Length": found.size,
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
  });
  if (req.method === "HEAD") {
    res.end();
    return;
  }
  createReadStream(found.file)
    .on("error", () => res.destroy())
    .pipe(res);
});

server.on("error", (error) => {
  console.error(`cannot serve on ${HOST}:${port}: ${error.message}`);
  process.exit(1);
});

server.listen(port, HOST, async () => {
  const address = server.address();
  const index = await findFile("/");
  if (!index) console.warn(`warning: ${root} has no index.html yet (build it with: npx webpack --mode production)`);
  console.log(`ferrysync demo: http://${HOST}:${address.port}/`);
});

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    server.close();
    server.closeAllConnections();
    process.exit(0);
  });
}
