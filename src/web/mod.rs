//! The browser edge: it carries out what the core decides, and decides nothing itself.
//!
//! - `api`: the wasm-bindgen facade (`open`, `Database`, `Collection`);
//! - `database`: the open handle the facade and the driver share;
//! - `driver`: runs the core's sync engine (events in, commands carried out);
//! - `idb`: IndexedDB (open and upgrade, reads, writes, migrations, the engine's storage);
//! - `transport`, `wire`: HTTP or a JS object to the server, and the protocol as JS values;
//! - `tabs`, `events`: other tabs (BroadcastChannel), listeners and `{subscribe, getSnapshot}`
//!   stores;
//! - `live`: live queries, patched in place after each change (the rule is `core::query::live`);
//! - `spaces`: `db.spaces`, the spaces this device syncs;
//! - `options`, `query_args`, `records`: reading the caller's arguments, and records and
//!   statuses as JS values;
//! - `error`, `js`, `glue`: errors as JS `Error`s, small JS helpers, the bindings of `glue.js`.
//!
//! docs/architecture.md draws these layers and says which may use which.

mod api;
mod blobs;
mod database;
mod driver;
mod error;
mod events;
mod glue;
mod idb;
mod js;
mod live;
mod metrics;
mod options;
mod query_args;
mod records;
mod resolvers;
mod spaces;
mod tabs;
mod transport;
mod types;
mod wire;

pub use api::{delete_database, open, Collection, Database};
