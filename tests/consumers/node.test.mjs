// The package in Node: vitest on fake-indexeddb (with a sync against the reference server), and
// a server-side render, which must neither crash nor touch the wasm module.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { startSyncServer } from "../../scripts/sync-server.mjs";
import { REPO } from "../e2e/support.mjs";
import { prepareApp, tool } from "./support.mjs";

test("vitest with fake-indexeddb: store, reopen, typed errors and a sync, with no settings for ferrysync", async () => {
  const dir = await prepareApp("vitest");
  // The vitest app syncs with the development token.
  const server = await startSyncServer({ args: ["--dev-tokens", "dev-token=dev"] });
  try {
    const { stdout } = await tool(dir, "vitest", ["run", "--reporter", "verbose"], { FERRYSYNC_SYNC_URL: server.url });
    assert.match(stdout, /Tests\s+3 passed \(3\)/, stdout);
  } finally {
    await server.stop();
  }
});

test("server-side rendering: the import is cheap and safe, open() rejects with StorageUnavailableError", async () => {
  const dir = await prepareApp("ssr");
  // Without the .wasm file any attempt to load it would fail with another message.
  rmSync(join(dir, "node_modules", "ferrysync", "wasm", "ferrysync_bg.wasm"));
  const { stdout } = await promisify(execFile)(process.execPath, ["render.mjs"], { cwd: dir });
  const result = JSON.parse(stdout);
  console.log(`import("ferrysync") and ("ferrysync/react") in Node: ${result.importMs.toFixed(1)} ms`);
  for (const call of ["open", "delete"]) {
    assert.equal(result[call].name, "StorageUnavailableError", `${call}: ${result[call].message}`);
    assert.equal(result[call].typed, true, `${call}: a FerrysyncError`);
    assert.match(result[call].message, /needs IndexedDB, and this JavaScript environment has none/);
  }
  assert.equal(result.html, "<p>Loading…</p>", "the provider renders its fallback");

  // With an IndexedDB but still no .wasm: a typed error naming the file, and a retry that works.
  const wasm = join(REPO, "pkg", "ferrysync", "wasm", "ferrysync_bg.wasm");
  const missing = JSON.parse((await promisify(execFile)(process.execPath, ["missing-wasm.mjs", wasm], { cwd: dir })).stdout);
  assert.equal(missing.failed?.name, "StorageUnavailableError");
  assert.equal(missing.failed.typed, true);
  assert.match(missing.failed.message, /loading the ferrysync wasm module .*ferrysync_bg\.wasm.* failed: .*ENOENT/);
  assert.equal(missing.retried, "after the retry", "the next open() loaded the module");
});
