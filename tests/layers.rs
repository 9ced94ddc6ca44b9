//! The layers of docs/architecture.md, checked against the code: which module of the browser
//! edge uses which, and that the core and the protocol know nothing of the web.

#![cfg(not(target_arch = "wasm32"))]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

/// The modules of `src/web` each module may use, besides the leaves every module may use.
const ALLOWED: &[(&str, &[&str])] = &[
    (
        "api",
        &[
            "database",
            "driver",
            "idb",
            "events",
            "live",
            "metrics",
            "options",
            "query_args",
            "records",
            "spaces",
            "wire",
        ],
    ),
    ("spaces", &["database", "driver", "idb", "options"]),
    ("metrics", &[]),
    ("live", &["events", "idb", "query_args"]),
    ("database", &["driver", "idb", "events", "tabs", "records", "transport", "blobs"]),
    ("driver", &["idb", "transport", "wire", "resolvers", "blobs"]),
    ("resolvers", &["records", "wire"]),
    ("tabs", &["records"]),
    ("idb", &["records", "wire", "blobs"]),
    ("blobs", &[]),
    ("transport", &["wire"]),
    ("options", &["transport"]),
    ("query_args", &["options"]),
    ("events", &["records"]),
    ("records", &[]),
    ("wire", &[]),
    ("error", &[]),
    ("js", &[]),
    ("glue", &[]),
    ("types", &[]),
];

/// Used by anything: JS helpers, the glue.js bindings, errors as JS values.
const LEAVES: &[&str] = &["js", "glue", "error"];

/// A source without its comment lines (docs may name the layers they are not allowed to use).
fn code(text: &str) -> String {
    text.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n")
}

fn sources(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push((path.display().to_string(), code(&fs::read_to_string(&path).unwrap())));
        }
    }
    out
}

/// The module of `src/web` a file belongs to (`idb` for everything under `idb/`).
fn module_of(path: &str) -> Option<String> {
    let rel = path.split("src/web/").nth(1)?;
    let first = rel.split('/').next()?;
    let name = first.trim_end_matches(".rs");
    (name != "mod").then(|| name.to_string())
}

/// The `src/web` modules a file names through `super::` (one or two levels up, from a module
/// that is a directory: `idb/`, `blobs/`).
fn uses(path: &str, text: &str) -> BTreeSet<String> {
    let in_idb = path.split("src/web/").nth(1).is_some_and(|rel| rel.contains('/'));
    let mut used = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("super::") {
        rest = &rest[at + "super::".len()..];
        let (up_twice, tail) = match rest.strip_prefix("super::") {
            Some(t) => (true, t),
            None => (false, rest),
        };
        let name: String = tail.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        // From `idb/`, one level up is `idb` itself; two levels up is `web`.
        if !in_idb || up_twice {
            used.insert(name);
        }
    }
    used
}

#[test]
fn web_modules_use_only_what_the_architecture_allows() {
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut problems = Vec::new();
    for (path, text) in sources(Path::new("src/web")) {
        let Some(module) = module_of(&path) else { continue };
        let Some(may) = allowed.get(module.as_str()) else {
            problems.push(format!("{path}: module `{module}` is not in docs/architecture.md's table"));
            continue;
        };
        for used in uses(&path, &text) {
            if used != module && !LEAVES.contains(&used.as_str()) && !may.contains(&used.as_str()) {
                problems.push(format!("{path}: `{module}` uses `{used}`"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_core_and_the_protocol_know_nothing_of_the_web() {
    let mut problems = Vec::new();
    for dir in ["src/core", "src/protocol"] {
        for (path, text) in sources(Path::new(dir)) {
            for web in ["crate::web", "wasm_bindgen", "web_sys", "js_sys", "gloo", "idb::", "JsValue"] {
                if text.contains(web) {
                    problems.push(format!("{path} names `{web}`"));
                }
            }
        }
    }
    // The engine reads no clock and draws no randomness of its own.
    for (path, text) in sources(Path::new("src/core/sync")) {
        for impure in ["SystemTime", "Instant", "getrandom", "Uuid::now", "new_v7"] {
            if text.contains(impure) {
                problems.push(format!("{path} uses `{impure}`"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
