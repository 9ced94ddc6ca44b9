// Firefox and WebKit driven over W3C WebDriver, for the node-driven runs that Chromium does with
// playwright-core (which drives only its own patched Firefox and WebKit builds, not Debian's).
// Each session gets a driver of its own (geckodriver; WebKitWebDriver with MiniBrowser on a
// private Xvfb display) in a process group of its own, so that closing it stops the browser and
// every process the browser started, and every wait is bounded.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { homedir } from "node:os";
import { join } from "node:path";

/** The engines this module drives. */
export const WEBDRIVER_ENGINES = ["firefox", "webkit"];

const MINIBROWSER = process.env.MINIBROWSER_PATH ?? "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser";

function geckodriver() {
  const found = process.env.GECKODRIVER ?? join(homedir(), ".cargo", "bin", "geckodriver");
  if (!existsSync(found)) throw new Error(`${found} is missing: run scripts/setup.sh`);
  return found;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

/** Starts `command` as the leader of a new process group; `stop()` ends the whole group. */
function startGroup(command, args, env = {}) {
  const child = spawn(command, args, { detached: true, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  let output = "";
  child.stdout.setEncoding("utf8").on("data", (chunk) => (output = (output + chunk).slice(-20_000)));
  child.stderr.setEncoding("utf8").on("data", (chunk) => (output = (output + chunk).slice(-20_000)));
  // A command that cannot start is reported by the driver's /status wait, with this output.
  child.on("error", (error) => (output += `\n${error}`));
  const exited = new Promise((done) => child.once("exit", done));
  return {
    child,
    output: () => output,
    async stop() {
      for (const signal of ["SIGTERM", "SIGKILL"]) {
        try {
          process.kill(-child.pid, signal);
        } catch {
          return; // the group is gone
        }
        if (await Promise.race([exited.then(() => true), sleep(5_000).then(() => false)])) {
          // The leader is gone; anything left of its group goes with this.
          try {
            process.kill(-child.pid, "SIGKILL");
          } catch {}
          return;
        }
      }
    },
  };
}

/** Xvfb on a display number it picks itself (-displayfd), for MiniBrowser. */
async function startXvfb() {
  const xvfb = spawn("Xvfb", ["-displayfd", "3", "-screen", "0", "1280x1024x24", "-nolisten", "tcp"], {
    detached: true,
    stdio: ["ignore", "ignore", "pipe", "pipe"],
  });
  const stop = async () => {
    if (xvfb.exitCode !== null || xvfb.signalCode !== null) return;
    const exited = new Promise((done) => xvfb.once("exit", done));
    xvfb.kill("SIGTERM");
    await Promise.race([exited, sleep(5_000).then(() => xvfb.kill("SIGKILL"))]);
  };
  const started = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("Xvfb did not start within 15 s")), 15_000);
    xvfb.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    let text = "";
    xvfb.stdio[3].setEncoding("utf8").on("data", (chunk) => {
      text += chunk;
      if (text.includes("\n")) {
        clearTimeout(timer);
        resolve(`:${text.trim()}`);
      }
    });
    xvfb.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`Xvfb exited with ${code}`));
    });
  });
  try {
    return { display: await started, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** What each engine needs: its driver's command line and the capabilities of a session. */
async function launch(engine, port) {
  if (engine === "firefox") {
    // System access: the tests take the network away through Firefox's own offline switch,
    // which only privileged (chrome) code reaches.
    const driver = startGroup(geckodriver(), ["--host", "127.0.0.1", "--port", String(port), "--allow-system-access"]);
    const capabilities = {
      browserName: "firefox",
      "moz:firefoxOptions": {
        args: ["-headless"],
        prefs: {
          // Nothing in the background that a closed network would refuse.
          "network.captive-portal-service.enabled": false,
          "network.connectivity-service.enabled": false,
          "browser.safebrowsing.update.enabled": false,
          "extensions.update.enabled": false,
          "app.update.auto": false,
        },
      },
    };
    return { driver, capabilities, stop: () => driver.stop() };
  }
  if (engine === "webkit") {
    const xvfb = await startXvfb();
    let driver;
    try {
      driver = startGroup("WebKitWebDriver", [`--port=${port}`, "--host=127.0.0.1"], { DISPLAY: xvfb.display });
    } catch (error) {
      await xvfb.stop();
      throw error;
    }
    const capabilities = {
      "webkitgtk:browserOptions": { binary: MINIBROWSER, args: ["--automation"] },
    };
    return {
      driver,
      capabilities,
      async stop() {
        await driver.stop();
        await xvfb.stop();
      },
    };
  }
  throw new Error(`no WebDriver engine named ${engine} (known: ${WEBDRIVER_ENGINES.join(", ")})`);
}

/** A WebDriver error, with the driver's own error code and message. */
class WebDriverError extends Error {
  constructor(command, value) {
    super(`${command}: ${value?.error ?? "error"}: ${value?.message ?? JSON.stringify(value)}`);
    this.code = value?.error;
  }
}

/**
 * Starts `engine`'s driver and a session with a fresh profile. Resolves to the session's
 * commands: `call(method, path, body)` for any WebDriver endpoint under the session, the common
 * ones by name, and `close()`, which ends the session, the driver and the browser.
 */
export async function startSession(engine, { timeoutMs = 60_000 } = {}) {
  const port = await freePort();
  const launched = await launch(engine, port);
  const base = `http://127.0.0.1:${port}`;
  const request = async (method, path, body, timeout = timeoutMs) => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: body === undefined ? {} : { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeout),
    });
    const { value } = await response.json();
    if (!response.ok) throw new WebDriverError(`${method} ${path}`, value);
    return value;
  };
  let id;
  let capabilities;
  try {
    // The driver listens once it answers /status.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const ready = await request("GET", "/status", undefined, 2_000).then((v) => v?.ready !== false, () => false);
      if (ready) break;
      if (Date.now() > deadline) throw new Error(`${engine}'s driver did not start:\n${launched.driver.output()}`);
      await sleep(100);
    }
    ({ sessionId: id, capabilities } = await request("POST", "/session", { capabilities: { alwaysMatch: launched.capabilities } }));
  } catch (error) {
    await launched.stop();
    throw error;
  }
  const call = (method, path, body, timeout) => request(method, `/session/${id}${path}`, body, timeout);
  const element = (value) => Object.values(value)[0];
  return {
    engine,
    /** What the driver says of the browser: browserName, browserVersion, … */
    capabilities,
    call,
    goto: (url) => call("POST", "/url", { url }),
    reload: () => call("POST", "/refresh", {}),
    /** Runs `script` (a function body) in the page with `args`; resolves to what it returns (a
     * promise is awaited). `timeoutMs` allows a script longer than the driver's 30 s. */
    async execute(script, args = [], { timeoutMs } = {}) {
      if (timeoutMs === undefined) return call("POST", "/execute/sync", { script, args });
      await call("POST", "/timeouts", { script: timeoutMs });
      return call("POST", "/execute/sync", { script, args }, timeoutMs + 10_000);
    },
    /** The WebDriver id of an element a script returned. */
    element,
    click: (el) => call("POST", `/element/${element(el)}/click`, {}),
    clear: (el) => call("POST", `/element/${element(el)}/clear`, {}),
    type: (el, text) => call("POST", `/element/${element(el)}/value`, { text }),
    screenshot: () => call("GET", "/screenshot"),
    driverOutput: () => launched.driver.output(),
    async close() {
      await request("DELETE", `/session/${id}`, undefined, 15_000).catch(() => {});
      await launched.stop();
    },
  };
}
