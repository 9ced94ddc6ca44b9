//! The pure core: rules with no web dependencies, tested natively with `cargo test`.
//!
//! The browser edge (`crate::web`) asks these modules what to do and only carries it out.
//! `backoff`, `batch`, `reconcile` and `sync` are the sync engine's rules; `crate::web::sync`
//! drives them over the network.

pub mod backoff;
pub mod batch;
pub mod error;
pub mod ids;
pub mod meta;
pub mod outbox;
pub mod query;
pub mod reconcile;
pub mod schema;
pub mod status;
pub mod sync;
