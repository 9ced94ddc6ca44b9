//! Outbox entries as the sync rules see them. Every store keeps the same fields (IndexedDB as JS
//! objects, the in-memory store as this struct); see docs/storage.md for the stored shape.

use crate::core::outbox::Op;

/// Why an entry is held back from pushing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// The server or a pull disagreed; waits for `resolveConflict`.
    Conflict,
    /// A dead letter: the server rejected it; waits for `retryFailed` or `discardFailed`.
    Failed,
}

impl Hold {
    pub fn as_str(self) -> &'static str {
        match self {
            Hold::Conflict => "conflict",
            Hold::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Hold> {
        match s {
            "conflict" => Some(Hold::Conflict),
            "failed" => Some(Hold::Failed),
            _ => None,
        }
    }
}

/// One queued change of a record. It names the record and the op; the data is read from the
/// record when the entry is pushed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Queue position (IndexedDB's auto-increment key).
    pub seq: u64,
    pub mutation_id: String,
    pub collection: String,
    pub record_id: String,
    pub op: Op,
    /// The server version the change was made on (`None`: the server never had the record).
    pub base_version: Option<u64>,
    /// Times it was sent. A sent entry is never coalesced into (docs/sync.md says why).
    pub attempts: u32,
    pub hold: Option<Hold>,
    /// Marked by a force push: the server takes it whatever its base version, and a pulled
    /// change of its record is no conflict (the push overwrites it).
    pub force: bool,
}

impl Entry {
    pub fn is(&self, collection: &str, record_id: &str) -> bool {
        self.collection == collection && self.record_id == record_id
    }
}
