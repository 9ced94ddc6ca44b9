//! What each sync step and each decision does to a record, its outbox entries and its conflict:
//! pure functions from what a store read to what it must write. Every store (IndexedDB, memory)
//! reads the same inputs, calls these, and carries out the answer, so that the record-metadata
//! rules live here and nowhere else.

pub mod decide;
pub mod force;
pub mod pull;
pub mod push;
pub mod spaces;

use crate::core::meta::RecordMeta;

/// What happens to the record itself.
#[derive(Debug, Clone, PartialEq)]
pub enum RecordStep {
    /// Left as it is.
    Keep,
    /// Removed (a tombstone the server now has, or a record the server deleted).
    Remove,
    /// The record keeps its data and takes this metadata.
    Meta(RecordMeta),
    /// The server's data replaces the record's, with this metadata.
    Server(RecordMeta),
}
