//! The pure core: rules with no web dependencies, tested natively with `cargo test`.
//!
//! The browser edge (`crate::web`) asks these modules what to do and only carries it out.

pub mod error;
pub mod ids;
pub mod meta;
pub mod outbox;
pub mod query;
pub mod schema;
pub mod status;
