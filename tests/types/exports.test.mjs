// The public typings describe the module the Rust crate exports: every class of the .d.ts has
// exactly the members its runtime class has, and the exported functions are the same. Run on the
// built package (scripts/build-wasm.sh), whose JS glue defines the classes without loading the
// wasm.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const REPO = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const TYPINGS = join(REPO, "src/web/ferrysync.d.ts");
const GLUE = ["pkg/ferrysync_bg.js", "pkg/ferrysync.js"].map((p) => join(REPO, p)).find(existsSync);

/** Classes (name → member names) and function names the .d.ts exports. */
function declared() {
  const source = ts.createSourceFile(TYPINGS, readFileSync(TYPINGS, "utf8"), ts.ScriptTarget.Latest, true);
  const classes = new Map();
  const functions = new Set();
  for (const node of source.statements) {
    const exported = node.modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
    if (!exported) continue;
    if (ts.isClassDeclaration(node) && node.name) {
      const members = new Set(node.members.filter((m) => m.name).map((m) => m.name.getText(source)));
      classes.set(node.name.text, members);
    } else if (ts.isFunctionDeclaration(node) && node.name) {
      functions.add(node.name.text);
    }
  }
  return { classes, functions };
}

/** What wasm-bindgen adds to every class for its own use. */
const INTERNAL = new Set(["constructor", "__destroy_into_raw", "__wbg_ptr"]);

test("the .d.ts classes and functions are the Rust exports", async () => {
  assert.ok(GLUE, "build the package first (bash scripts/build-wasm.sh)");
  const module = await import(GLUE);
  const { classes, functions } = declared();
  assert.ok(classes.size >= 2, `the .d.ts declares the classes: ${[...classes.keys()]}`);
  for (const [name, members] of classes) {
    const runtime = module[name];
    assert.equal(typeof runtime, "function", `${name} is exported`);
    const actual = new Set(Object.getOwnPropertyNames(runtime.prototype).filter((m) => !INTERNAL.has(m)));
    assert.deepEqual([...members].sort(), [...actual].sort(), `${name}: the .d.ts members and the runtime's`);
  }
  const exported = Object.entries(module)
    .filter(([name, value]) => typeof value === "function" && !name.startsWith("__wbg") && !name.startsWith("__wbindgen"))
    .filter(([name]) => !classes.has(name))
    .map(([name]) => name);
  assert.deepEqual([...functions].sort(), exported.sort(), "the exported functions");
});
