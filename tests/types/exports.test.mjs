// The public typings (package/src/index.d.ts) describe what the package really exports: every
// class the Rust crate exports is declared with exactly the members its runtime class has, every
// function the crate exports is declared, and every declared class and function is exported by
// the package entry. Run on the built package (scripts/pack.sh); importing it loads no wasm.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const REPO = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const TYPINGS = join(REPO, "package/src/index.d.ts");
/** What wasm-bindgen made of the crate's exports, and the package entry over it. */
const RUST = join(REPO, "pkg/ferrysync/wasm/ferrysync.js");
const ENTRY = join(REPO, "pkg/ferrysync/ferrysync.js");

/** Classes (name → member names) and function names the .d.ts exports. */
function declared() {
  const source = ts.createSourceFile(TYPINGS, readFileSync(TYPINGS, "utf8"), ts.ScriptTarget.Latest, true);
  const classes = new Map();
  const functions = new Set();
  for (const node of source.statements) {
    if (!node.modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)) continue;
    if (ts.isClassDeclaration(node) && node.name) {
      classes.set(node.name.text, new Set(node.members.filter((m) => m.name).map((m) => m.name.getText(source))));
    } else if (ts.isFunctionDeclaration(node) && node.name) {
      functions.add(node.name.text);
    }
  }
  return { classes, functions };
}

/** What wasm-bindgen adds to every class, and to the module, for its own use. */
const INTERNAL_MEMBERS = new Set(["constructor", "__destroy_into_raw", "__wbg_ptr"]);
const INTERNAL_EXPORTS = (name) => name === "default" || name === "initSync" || name.startsWith("__wbg");

test("the .d.ts declares the Rust exports as they are, and the entry exports what it declares", async () => {
  assert.ok(existsSync(RUST) && existsSync(ENTRY), "build the package first (bash scripts/pack.sh)");
  const rust = await import(RUST);
  const entry = await import(ENTRY);
  const { classes, functions } = declared();

  const rustExports = Object.entries(rust).filter(([name, v]) => typeof v === "function" && !INTERNAL_EXPORTS(name));
  const rustClasses = rustExports.filter(([, v]) => /^class\b/.test(Function.prototype.toString.call(v)));
  assert.ok(rustClasses.length >= 2, `the crate exports its classes: ${rustExports.map(([n]) => n)}`);
  for (const [name, runtime] of rustClasses) {
    assert.ok(classes.has(name), `the Rust class ${name} is declared`);
    const actual = Object.getOwnPropertyNames(runtime.prototype).filter((m) => !INTERNAL_MEMBERS.has(m));
    assert.deepEqual([...classes.get(name)].sort(), actual.sort(), `${name}: the .d.ts members and the runtime's`);
  }
  for (const [name] of rustExports.filter(([n]) => !rustClasses.some(([c]) => c === n))) {
    assert.ok(functions.has(name), `the Rust function ${name} is declared`);
  }
  for (const name of [...classes.keys(), ...functions]) {
    assert.equal(typeof entry[name], "function", `the entry exports ${name}`);
  }
  const undeclared = Object.keys(entry).filter((n) => !classes.has(n) && !functions.has(n));
  assert.deepEqual(undeclared, [], "everything the entry exports is declared");
});

const PACKAGE = join(REPO, "pkg/ferrysync");

/** The names a .d.ts exports as values (functions, classes, consts). */
function declaredValues(file) {
  const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true);
  const names = [];
  for (const node of source.statements) {
    // `export { useDatabase } from "./react/context.js"`: a value re-exported from another module.
    if (ts.isExportDeclaration(node) && !node.isTypeOnly && node.exportClause && ts.isNamedExports(node.exportClause)) {
      names.push(...node.exportClause.elements.filter((e) => !e.isTypeOnly).map((e) => e.name.text));
      continue;
    }
    if (!node.modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)) continue;
    if ((ts.isFunctionDeclaration(node) || ts.isClassDeclaration(node)) && node.name) names.push(node.name.text);
    if (ts.isVariableStatement(node)) names.push(...node.declarationList.declarations.map((d) => d.name.getText(source)));
  }
  return names;
}

test("every entry of the manifest's exports ships its files, and each typed entry declares what its JS exports", async () => {
  const manifest = JSON.parse(readFileSync(join(PACKAGE, "package.json"), "utf8"));
  const shipped = (file) =>
    manifest.files.some((f) => (f.endsWith("/") ? file.startsWith(`./${f}`) : file === `./${f}`));
  const entries = Object.entries(manifest.exports);
  assert.ok(entries.some(([name]) => name === "./sw"), "the service worker entry is exported");
  for (const [name, target] of entries) {
    const files = typeof target === "string" ? [target] : [target.types, target.default];
    for (const file of files) {
      assert.ok(existsSync(join(PACKAGE, file)), `${name}: ${file} is in the package`);
      assert.ok(file === "./package.json" || shipped(file), `${name}: ${file} is listed in "files"`);
    }
    // The main entry is checked against the Rust exports above; the others here, by name.
    if (typeof target === "string" || name === ".") continue;
    const runtime = Object.keys(await import(join(PACKAGE, target.default))).sort();
    assert.deepEqual(declaredValues(join(PACKAGE, target.types)).sort(), runtime, `${name}: the .d.ts and the JS export the same`);
  }
});
