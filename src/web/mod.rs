//! The browser edge: IndexedDB through web-sys (and `idb` for opening and upgrading), the
//! change and status subscriptions, and the wasm-bindgen facade. Decisions come from
//! `crate::core`; this layer reads JS values, carries the decisions out and reports back.

mod api;
mod connection;
mod error;
mod events;
mod glue;
mod interop;
mod migrations;
mod reads;
mod sync;
mod tabs;
mod types;
mod writes;

pub use api::{delete_database, open, Collection, Database};
