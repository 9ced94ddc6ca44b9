// The demo page against the release build: run after scripts/build-wasm.sh and the webpack build.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { openBrowser, startServer, textOf } from "./support.mjs";

const SCREENSHOTS = process.env.E2E_SCREENSHOTS === "1";

let server;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

/** Runs `body` on a fresh browser profile; fails on any page or console error. */
async function withPage(name, body) {
  const browser = await openBrowser();
  try {
    await body(browser.page);
    if (SCREENSHOTS) await browser.screenshot(name);
    assert.deepEqual(browser.problems, [], "the page reported errors");
  } catch (error) {
    const shot = await browser.screenshot(`${name}-failure`).catch(() => null);
    if (shot) console.error(`screenshot: ${shot}`);
    if (browser.problems.length) console.error(browser.problems.join("\n"));
    throw error;
  } finally {
    await browser.close();
  }
}

async function load(page) {
  await page.goto(server.url);
  await page.getByTestId("app-ready").waitFor();
}

const rows = (page) => page.getByTestId("task-row");

test("a new task is pending, counted, and still there after a reload", () =>
  withPage("demo-create-reload", async (page) => {
    await load(page);
    assert.equal(await textOf(page.getByTestId("pending-count"), "0"), "0");
    await page.getByTestId("tasks-empty").waitFor();

    await page.getByTestId("new-task-input").fill("Water the plants");
    await page.getByTestId("add-task").click();

    const row = rows(page).first();
    await row.waitFor();
    assert.equal(await rows(page).count(), 1);
    assert.equal(await textOf(row.getByTestId("task-title"), "Water the plants"), "Water the plants");
    assert.equal(await textOf(row.getByTestId("task-status"), "pending"), "pending");
    assert.equal(await textOf(page.getByTestId("pending-count"), "1"), "1");
    assert.equal(await page.getByTestId("new-task-input").inputValue(), "");

    await page.reload();
    await page.getByTestId("app-ready").waitFor();
    await rows(page).first().waitFor();
    assert.equal(await rows(page).count(), 1);
    assert.equal(await textOf(rows(page).first().getByTestId("task-title"), "Water the plants"), "Water the plants");
    assert.equal(await textOf(rows(page).first().getByTestId("task-status"), "pending"), "pending");
    assert.equal(await textOf(page.getByTestId("pending-count"), "1"), "1");
    assert.equal(await page.getByTestId("error").count(), 0, "an error banner is showing");
  }));

test("a task can be renamed, ticked off and deleted, and the changes persist", () =>
  withPage("demo-edit-delete", async (page) => {
    await load(page);
    for (const title of ["First", "Second"]) {
      await page.getByTestId("new-task-input").fill(title);
      await page.getByTestId("add-task").click();
      await page.getByTestId("task-title").getByText(title, { exact: true }).waitFor();
    }
    assert.deepEqual(await page.getByTestId("task-title").allTextContents(), ["First", "Second"]);

    const first = rows(page).first();
    await first.getByTestId("task-edit").click();
    await first.getByTestId("task-title-input").fill("First, renamed");
    await first.getByTestId("task-save").click();
    assert.equal(await textOf(first.getByTestId("task-title"), "First, renamed"), "First, renamed");

    await first.getByTestId("task-toggle").click();
    await page.waitForFunction(() => document.querySelector('[data-testid="task-toggle"]')?.checked === true);
    assert.equal(await textOf(first.getByTestId("task-status"), "pending"), "pending");

    await page.reload();
    await page.getByTestId("app-ready").waitFor();
    await rows(page).nth(1).waitFor();
    assert.deepEqual(await page.getByTestId("task-title").allTextContents(), ["First, renamed", "Second"]);
    assert.equal(await rows(page).first().getByTestId("task-toggle").isChecked(), true);
    assert.equal(await rows(page).nth(1).getByTestId("task-toggle").isChecked(), false);

    await rows(page).nth(1).getByTestId("task-delete").click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="task-row"]').length === 1);
    await page.reload();
    await page.getByTestId("app-ready").waitFor();
    await rows(page).first().waitFor();
    assert.deepEqual(await page.getByTestId("task-title").allTextContents(), ["First, renamed"]);
    assert.equal(await page.getByTestId("error").count(), 0, "an error banner is showing");
  }));
