// Starts a reference sync server (target/<profile>/ferrysync-server) on a free loopback port for
// node-driven runs (the end-to-end tests, the sync benchmark); resolves once it prints its URL.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const REPO = resolve(fileURLToPath(new URL("..", import.meta.url)));

/** `profile`: "debug", "release" or "server" (target/<profile>); `args`: more command-line options (authentication among
 * them: the server does not start without it); `memory: false` when `args` name a database.
 * Resolves to `{ url, stop() }`, the URL without a trailing slash. */
export async function startSyncServer({ profile = "debug", args = [], memory = true } = {}) {
  const bin = process.env.FERRYSYNC_SERVER_BIN ?? join(REPO, "target", profile, "ferrysync-server");
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run \`cargo build${profile === "debug" ? "" : ` --profile ${profile}`} -p ferrysync-server\` first`);
  const child = spawn(bin, ["--listen", "127.0.0.1:0", ...(memory ? ["--memory"] : []), ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, FERRYSYNC_LOG: process.env.FERRYSYNC_LOG ?? "warn" },
  });
  let output = "";
  const url = await new Promise((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 15_000);
    child.stdout.setEncoding("utf8").on("data", (chunk) => {
      output += chunk;
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolveUrl(match[1]);
      }
    });
    child.stderr.setEncoding("utf8").on("data", (chunk) => (output += chunk));
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${output}`));
    });
  });
  return {
    url,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((done) => child.once("exit", done));
      child.kill("SIGTERM");
      await exited;
    },
  };
}
