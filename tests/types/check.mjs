// The package's types, as installed from the tarball: example.tsx must compile with no error
// under --strict with moduleResolution "bundler", "node16" (both through the exports map) and
// "node10" (through the files themselves), and expected-errors.ts must fail with exactly the
// diagnostics its `// expect-error TSxxxx: message` comments name, each on the line below its
// comment. Run after scripts/pack.sh: `node --test tests/types/check.mjs`.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { prepareApp } from "../consumers/support.mjs";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const TSC = join(HERE, "..", "..", "node_modules", ".bin", "tsc");

/** Runs tsc in `dir`; resolves to its exit code and its diagnostics, one per error. */
async function tsc(dir, args) {
  const { code, stdout } = await promisify(execFile)(TSC, [...args, "--pretty", "false"], { cwd: dir }).then(
    ({ stdout }) => ({ code: 0, stdout }),
    (error) => ({ code: error.code, stdout: error.stdout }),
  );
  const diagnostics = [...stdout.matchAll(/^(.+?)\((\d+),(\d+)\): error (TS\d+): (.*)$/gm)].map((m) => ({
    file: m[1],
    line: Number(m[2]),
    code: m[4],
    message: m[5],
  }));
  return { code, stdout, diagnostics };
}

let dir;
test("install the tarball beside the type checks", async () => {
  dir = await prepareApp("types", { from: HERE });
});

for (const resolution of ["bundler", "node16", "node10"]) {
  test(`example.tsx compiles under --strict, moduleResolution ${resolution}`, async () => {
    const { code, stdout } = await tsc(dir, ["-p", `tsconfig.${resolution}.json`]);
    assert.equal(code, 0, stdout);
  });
}

test("expected-errors.ts fails with exactly the diagnostics it names, each for its reason", async () => {
  const source = readFileSync(join(HERE, "expected-errors.ts"), "utf8").split("\n");
  const expected = source.flatMap((text, i) => {
    const m = /\/\/ expect-error (TS\d+): (.*)$/.exec(text);
    return m ? [{ line: i + 2, code: m[1], message: m[2] }] : [];
  });
  assert.ok(expected.length >= 10, "the file names its expected errors");
  const { diagnostics, stdout } = await tsc(dir, ["-p", "tsconfig.errors.json"]);
  const found = diagnostics.filter((d) => d.file === "expected-errors.ts");
  assert.deepEqual(diagnostics.filter((d) => d.file !== "expected-errors.ts"), [], `errors elsewhere:\n${stdout}`);
  for (const want of expected) {
    const at = found.filter((d) => d.line === want.line);
    assert.ok(
      at.some((d) => d.code === want.code && d.message.startsWith(want.message)),
      `line ${want.line}: expected ${want.code}: ${want.message}\ngot: ${at.map((d) => `${d.code}: ${d.message}`).join("\n     ") || "no error"}`,
    );
  }
  const unexpected = found.filter((d) => !expected.some((e) => e.line === d.line));
  assert.deepEqual(unexpected, [], "errors no comment expects");
});
