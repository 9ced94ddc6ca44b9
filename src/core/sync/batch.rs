//! Push batch planning: which queued entries go out in the next push, and as what.

use crate::core::outbox::Op;
use crate::protocol;

use super::entry::Entry;

/// Entries read per request while planning a batch of `max`: twice the batch, so that a few held
/// entries do not cost a second read; a store reads more only when held entries fill a page.
pub fn plan_page(max: u32) -> u32 {
    max.saturating_mul(2).max(64)
}

/// What an entry is pushed as, given whether its record is live now. An entry sent before, whose
/// record was deleted since, can only be pushed as a delete: the data it carried is gone. The
/// delete queued after it then applies unchanged, so the server ends where the client is.
pub fn wire_op(op: Op, record_live: bool) -> protocol::Op {
    match op {
        Op::Create | Op::Update if record_live => protocol::Op::Upsert,
        _ => protocol::Op::Delete,
    }
}

/// An outbox entry as batch planning sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued<'a> {
    pub seq: u64,
    pub collection: &'a str,
    pub record_id: &'a str,
    /// A dead letter (rejected by the server) or an entry waiting on a conflict: never pushed
    /// until the user retries or resolves it.
    pub held: bool,
}

impl<'a> From<&'a Entry> for Queued<'a> {
    fn from(e: &'a Entry) -> Queued<'a> {
        Queued { seq: e.seq, collection: &e.collection, record_id: &e.record_id, held: e.hold.is_some() }
    }
}

/// The seqs of the next batch: entries in queue order, at most `max`, skipping held ones and
/// everything queued after a held entry of the same record (its later changes must not overtake
/// it), and ending before a second entry of a record already in the batch, so that each entry's
/// base version is known when it is sent (the server answers the first before the second is
/// planned).
pub fn next_batch(entries: &[Queued<'_>], max: usize) -> Vec<u64> {
    let mut batch = Vec::new();
    let mut in_batch: Vec<(&str, &str)> = Vec::new();
    let mut blocked: Vec<(&str, &str)> = Vec::new();
    for e in entries {
        if batch.len() >= max {
            break;
        }
        let key = (e.collection, e.record_id);
        if e.held || blocked.contains(&key) {
            blocked.push(key);
            continue;
        }
        if in_batch.contains(&key) {
            break;
        }
        in_batch.push(key);
        batch.push(e.seq);
    }
    batch
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(seq: u64, id: &'static str) -> Queued<'static> {
        Queued { seq, collection: "tasks", record_id: id, held: false }
    }

    #[test]
    fn takes_entries_in_order_up_to_the_limit() {
        let ids: Vec<String> = (1..=250).map(|i| format!("r{i}")).collect();
        let entries: Vec<_> = ids
            .iter()
            .zip(1..)
            .map(|(id, seq)| Queued { seq, collection: "tasks", record_id: id, held: false })
            .collect();
        assert_eq!(next_batch(&entries, 100), (1..=100).collect::<Vec<_>>());
        assert_eq!(next_batch(&entries[200..], 100), (201..=250).collect::<Vec<_>>());
        assert!(next_batch(&[], 100).is_empty());
    }

    #[test]
    fn a_second_entry_of_the_same_record_starts_the_next_batch() {
        let entries = [q(1, "a"), q(2, "b"), q(3, "a"), q(4, "c")];
        assert_eq!(next_batch(&entries, 100), vec![1, 2]);
        assert_eq!(next_batch(&entries[2..], 100), vec![3, 4]);
    }

    #[test]
    fn the_same_id_in_another_collection_is_another_record() {
        let entries = [q(1, "a"), Queued { collection: "notes", ..q(2, "a") }];
        assert_eq!(next_batch(&entries, 100), vec![1, 2]);
    }

    #[test]
    fn a_deleted_record_is_pushed_as_a_delete() {
        assert_eq!(wire_op(Op::Create, true), protocol::Op::Upsert);
        assert_eq!(wire_op(Op::Update, false), protocol::Op::Delete);
        assert_eq!(wire_op(Op::Delete, true), protocol::Op::Delete);
        assert_eq!(plan_page(100), 200);
        assert_eq!(plan_page(1), 64);
    }

    #[test]
    fn held_entries_and_what_follows_them_wait() {
        let entries = [Queued { held: true, ..q(1, "a") }, q(2, "b"), q(3, "a"), q(4, "c")];
        assert_eq!(next_batch(&entries, 100), vec![2, 4]);
    }
}
