//! A record as the server holds it: in pulled pages and in conflict answers.

use serde::{Deserialize, Serialize};

/// A record as the server holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerRecord<D> {
    pub collection: String,
    pub id: String,
    /// Per-record counter: 1 after the first upsert, +1 on every change. A record the server
    /// never held is reported (in a conflict) with version 0 and `deleted: true`.
    pub version: u64,
    /// True for a tombstone; its `data` is null.
    pub deleted: bool,
    /// Always serialized (null for a tombstone); may be absent on input.
    pub data: Option<D>,
    /// When this version was written, in milliseconds since the epoch: the mutation's
    /// `writtenAt` (never later than the server's clock when it stored it), or the server's time.
    /// Ordering uses versions and the pull cursor; only last-write-wins compares these times.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<u64>,
    /// This version was written by a force push, whatever the version it was made on.
    #[serde(default, skip_serializing_if = "is_false")]
    pub forced: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}
