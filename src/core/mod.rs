//! The pure core: rules with no web dependencies, tested natively with `cargo test`.
//!
//! The browser edge (`crate::web`) carries out what these modules decide. [`sync`] is the sync
//! engine; [`write`] and [`outbox`] decide local writes, with [`sent`] telling which queued
//! entries may have been sent; the rest are the store's rules (schema, queries, metadata, ids)
//! and its errors.

pub mod blobs;
pub mod error;
pub mod eviction;
pub mod ids;
pub mod integrity;
pub mod meta;
pub mod meta_rows;
pub mod order;
pub mod outbox;
pub mod query;
pub mod schema;
pub mod sent;
pub mod status;
pub mod sync;
pub mod write;
