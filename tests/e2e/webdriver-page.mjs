// The part of playwright-core's page API that the browser tests use, over a WebDriver session
// (scripts/webdriver.mjs), so that the same scenarios run in Firefox and WebKit. Like Playwright's,
// locators are queries run again at each use, actions wait for exactly one visible element, and
// every wait is bounded.
import { setTimeout as sleep } from "node:timers/promises";

const TIMEOUT = 15_000;

// Runs in the page: the elements a chain of steps selects. Text matches the innermost elements
// whose whitespace-normalised text is the given one (exact) or contains it (case-insensitively).
const RESOLVE = `
  const steps = arguments[0];
  const norm = (s) => (s ?? "").replace(/\\s+/g, " ").trim();
  let found = [document];
  for (const step of steps) {
    if (step.css !== undefined) found = found.flatMap((root) => [...root.querySelectorAll(step.css)]);
    else if (step.nth !== undefined) found = found.length > step.nth ? [found.at(step.nth)] : [];
    else {
      const want = step.exact ? norm(step.text) : norm(step.text).toLowerCase();
      const matches = (el) => (step.exact ? norm(el.textContent) === want : norm(el.textContent).toLowerCase().includes(want));
      found = found.flatMap((root) =>
        [root, ...root.querySelectorAll("*")].filter(
          (el) => el.nodeType === 1 && matches(el) && ![...el.children].some(matches),
        ),
      );
    }
  }
  found = [...new Set(found)];
`;

const visible = "(el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden'";

class Locator {
  constructor(session, steps) {
    this.session = session;
    this.steps = steps;
  }

  #with(step) {
    return new Locator(this.session, [...this.steps, step]);
  }

  getByTestId(id) {
    return this.#with({ css: `[data-testid="${id}"]` });
  }

  getByText(text, { exact = false } = {}) {
    return this.#with({ text, exact });
  }

  locator(css) {
    return this.#with({ css });
  }

  first() {
    return this.#with({ nth: 0 });
  }

  nth(i) {
    return this.#with({ nth: i });
  }

  /** Runs `body` (a function body over `el`, arguments[1..] after it) on the one element, once
   * there is exactly one visible. */
  async #on(body, args = [], what = "act on") {
    const script = `${RESOLVE}
      const shown = found.filter(${visible});
      if (shown.length !== 1) return { count: shown.length };
      const el = shown[0];
      return { value: ((el, ...args) => { ${body} })(el, ...Array.from(arguments).slice(1)) };`;
    const deadline = Date.now() + TIMEOUT;
    for (;;) {
      const answer = await this.session.execute(script, [this.steps, ...args]);
      if (answer.count === undefined) return answer.value;
      if (Date.now() > deadline) {
        throw new Error(`${what} ${JSON.stringify(this.steps)}: ${answer.count} visible elements after ${TIMEOUT} ms, not one`);
      }
      await sleep(50);
    }
  }

  waitFor() {
    return this.#on("return null;", [], "wait for");
  }

  count() {
    return this.session.execute(`${RESOLVE} return found.length;`, [this.steps]);
  }

  allTextContents() {
    return this.session.execute(`${RESOLVE} return found.map((el) => el.textContent);`, [this.steps]);
  }

  textContent() {
    return this.#on("return el.textContent;");
  }

  getAttribute(name) {
    return this.#on("return el.getAttribute(arguments[1]);", [name]);
  }

  inputValue() {
    return this.#on("return el.value;");
  }

  isChecked() {
    return this.#on("return el.checked;");
  }

  /** A real click, by the driver, on the element's centre. */
  async click() {
    const element = await this.#on("return el;");
    await this.session.click(element);
  }

  /** Picks the option whose value is `value` as Playwright's selectOption does (then `input` and
   * `change` events, the one React's controlled selects follow). */
  async selectOption(value) {
    const picked = await this.#on(
      `if (![...el.options].some((o) => o.value === arguments[1])) return false;
       el.focus();
       el.value = arguments[1];
       el.dispatchEvent(new Event("input", { bubbles: true }));
       el.dispatchEvent(new Event("change", { bubbles: true }));
       return true;`,
      [value],
    );
    if (!picked) throw new Error(`selectOption ${JSON.stringify(this.steps)}: no option of value ${JSON.stringify(value)}`);
    return [value];
  }

  /** Gives a file input the files `files` (one or a list of Playwright's `{ name, mimeType,
   * buffer }` payloads) as Playwright's setInputFiles does: Files made in the page, set through a
   * DataTransfer (WebDriver's own upload needs a path the browser can read), then `input` and
   * `change` events. */
  setInputFiles(files) {
    const payloads = (Array.isArray(files) ? files : [files]).map((f) => ({
      name: f.name,
      type: f.mimeType,
      base64: Buffer.from(f.buffer).toString("base64"),
    }));
    return this.#on(
      `const transfer = new DataTransfer();
       for (const f of arguments[1]) {
         const bytes = Uint8Array.from(atob(f.base64), (c) => c.charCodeAt(0));
         transfer.items.add(new File([bytes], f.name, { type: f.type }));
       }
       el.files = transfer.files;
       el.dispatchEvent(new Event("input", { bubbles: true }));
       el.dispatchEvent(new Event("change", { bubbles: true }));
       return null;`,
      [payloads],
    );
  }

  /** Sets the value as Playwright's fill does (the native setter, then an `input` event), which
   * React's controlled inputs follow. */
  fill(value) {
    return this.#on(
      `const setter = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(el), "value").set;
       el.focus();
       setter.call(el, arguments[1]);
       el.dispatchEvent(new Event("input", { bubbles: true }));
       return null;`,
      [value],
    );
  }
}

/** A page over `session`, with `evaluate`, `waitForFunction`, navigation and locators. */
export function pageOver(session) {
  const root = new Locator(session, []);
  const evaluate = (fn, arg) => session.execute(`return (${fn})(arguments[0]);`, [arg]);
  return {
    goto: (url) => session.goto(url),
    reload: () => session.reload(),
    evaluate,
    async waitForFunction(fn, arg, { timeout = TIMEOUT } = {}) {
      const deadline = Date.now() + timeout;
      for (;;) {
        const value = await evaluate(fn, arg);
        if (value) return value;
        if (Date.now() > deadline) throw new Error(`waitForFunction timed out after ${timeout} ms: ${fn}`);
        await sleep(50);
      }
    },
    getByTestId: (id) => root.getByTestId(id),
    getByText: (text, options) => root.getByText(text, options),
    locator: (css) => root.locator(css),
  };
}
