//! ferrysync: offline-first storage for browser apps.
//!
//! `core` and `protocol` are plain Rust, tested natively with `cargo test`; `web` is the thin
//! browser edge (IndexedDB through `idb`, the wasm-bindgen facade) and only exists on wasm32.

pub mod core;
pub mod protocol;

#[cfg(target_arch = "wasm32")]
pub mod web;
