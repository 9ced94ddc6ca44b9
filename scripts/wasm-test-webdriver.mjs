// A cargo test runner for wasm32 that runs the browser tests in an engine wasm-bindgen's own
// runner cannot start (WebKit): wasm-bindgen-test-runner serves the tests in its interactive
// mode (NO_HEADLESS=1), this opens that page over WebDriver, waits for the result, prints the
// page's output, and fails when any test failed or no result came in time.
//
//   CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER="node scripts/wasm-test-webdriver.mjs" \
//     WEBDRIVER_ENGINE=webkit cargo test --target wasm32-unknown-unknown --test browser
//
// WASM_BINDGEN_TEST_TIMEOUT (seconds, 300 by default) bounds the whole run.
import { spawn } from "node:child_process";
import { startSession } from "./webdriver.mjs";

const engine = process.env.WEBDRIVER_ENGINE ?? "webkit";
const timeoutMs = Number(process.env.WASM_BINDGEN_TEST_TIMEOUT ?? 300) * 1000;
const deadline = Date.now() + timeoutMs;
const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

/** Starts the interactive test server on a free port; resolves to its URL and a stop(). */
async function serveTests(args) {
  const child = spawn("wasm-bindgen-test-runner", args, {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NO_HEADLESS: "1", WASM_BINDGEN_TEST_ADDRESS: "127.0.0.1:0" },
  });
  let output = "";
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((done) => child.once("exit", done));
    child.kill("SIGTERM");
    await Promise.race([exited, sleep(5_000).then(() => child.kill("SIGKILL"))]);
  };
  const started = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the test server did not start:\n${output}`)), 120_000);
    const seen = (chunk) => {
      output += chunk;
      const match = /available at (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout.setEncoding("utf8").on("data", seen);
    child.stderr.setEncoding("utf8").on("data", seen);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`wasm-bindgen-test-runner exited with ${code}:\n${output}`));
    });
    child.on("error", reject);
  });
  try {
    return { url: await started, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

const textOf = (session, id) =>
  session.execute("const el = document.getElementById(arguments[0]); return el ? el.textContent : null;", [id]);

async function run() {
  const server = await serveTests(process.argv.slice(2));
  let session;
  try {
    session = await startSession(engine);
    console.log(`running the tests in ${engine} at ${server.url}`);
    await session.goto(server.url);
    // The page writes each test's line to #output as it ends, and "test result: " at the end.
    let printed = 0;
    let output = "";
    for (;;) {
      output = (await textOf(session, "output")) ?? "";
      process.stdout.write(output.slice(printed));
      printed = Math.max(printed, output.length);
      if (output.includes("test result: ")) break;
      if (Date.now() > deadline) {
        console.error(`\nno test result within ${timeoutMs / 1000} s`);
        const console_ = await textOf(session, "console_output").catch(() => null);
        if (console_) console.log(`console output so far:\n${console_}`);
        return 1;
      }
      await sleep(500);
    }
    console.log();
    if (output.includes("test result: ok")) return 0;
    const console_ = await textOf(session, "console_output");
    if (console_) console.log(`console output:\n${console_}`);
    return 1;
  } finally {
    await session?.close();
    await server.stop();
  }
}

run().then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
