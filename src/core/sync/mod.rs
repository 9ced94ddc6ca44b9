//! The sync engine and everything it decides, with no web dependency: tested natively with
//! `cargo test` and driven, over the in-memory store, by the deterministic simulation (`sim/`).
//!
//! - [`engine`]: the state machine (events in, commands out) that runs every sync;
//! - [`rules`]: what a push answer, a pulled page and a user's decision do to records, entries
//!   and conflicts;
//! - [`batch`], [`backoff`], [`failure`], [`settings`]: batch planning, retry timing, failure
//!   handling and the options;
//! - [`storage`] and [`transport`]: the seams the edges implement ([`memory`] is the in-memory
//!   store, `crate::web` the browser's).

pub mod backoff;
pub mod batch;
#[cfg(test)]
mod blob_tests;
pub mod conflict;
pub mod engine;
pub mod entry;
pub mod failure;
pub mod log;
pub mod memory;
pub mod metrics;
pub mod rules;
#[cfg(test)]
mod sent_tests;
pub mod settings;
#[cfg(test)]
mod space_tests;
pub mod storage;
pub mod transport;
#[cfg(test)]
mod unique_tests;
