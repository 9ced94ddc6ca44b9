//! The public typings say what the Rust exports are: the `FerrysyncErrorName` union of the .d.ts
//! is exactly the names of `ErrorKind`. (The classes and functions are compared with the built
//! module by `tests/types/exports.test.mjs`.)

#![cfg(not(target_arch = "wasm32"))]

use std::collections::BTreeSet;

use ferrysync::core::error::ErrorKind;

/// The public .d.ts.
const TYPINGS: &str = include_str!("../package/src/index.d.ts");

/// The string literals of `export type <name> = "a" | "b" ...;`.
fn union(name: &str) -> BTreeSet<String> {
    let start = TYPINGS.find(&format!("export type {name} =")).unwrap_or_else(|| panic!("no type {name} in the .d.ts"));
    let body = &TYPINGS[start..];
    let body = &body[..body.find(';').expect("the union ends")];
    body.split('"').skip(1).step_by(2).map(str::to_string).collect()
}

#[test]
fn the_error_name_union_is_every_error_kind() {
    let typed = union("FerrysyncErrorName");
    let kinds: BTreeSet<String> = ErrorKind::ALL.iter().map(|k| k.name().to_string()).collect();
    assert_eq!(typed, kinds, "the .d.ts union and ErrorKind::ALL differ");
    assert_eq!(kinds.len(), ErrorKind::ALL.len(), "two kinds share a name");
}
