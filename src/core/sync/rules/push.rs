//! What the server's answer to one pushed entry does.

use crate::core::meta::RecordMeta;
use crate::core::outbox::Op;
use crate::core::status::{RecordStatus, StatusEvent};
use crate::protocol::MutationResult;

use super::super::entry::Hold;
use super::RecordStep;

/// What happens to the pushed entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryStep {
    /// It leaves the outbox.
    Remove,
    /// It stays, held until the user decides (a conflict).
    Hold(Hold),
    /// It stays as a dead letter, with the server's error.
    DeadLetter { code: String, message: String },
}

/// The effect of one result, for the store to carry out in the answer's transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct PushStep {
    pub entry: EntryStep,
    /// The record's next queued entry was made on top of the version just acknowledged: its
    /// base version becomes this.
    pub rebase_next: Option<u64>,
    pub record: RecordStep,
    /// Keep the local record and the server's current one (from the result) as a conflict.
    pub keep_conflict: bool,
    /// The change listeners hear of, if any.
    pub announce: Option<Op>,
}

/// `record`: the record's metadata as it is when the answer arrives (`None`: no local copy);
/// `later_queued`: another entry of the same record follows the pushed one.
///
/// A sent entry is never rewritten, so every local write made after the send (while it was in
/// flight, or before a retry) is in such a later entry: the record stays pending, and that entry
/// is rebased on the version just acknowledged. Counting entries rather than comparing versions
/// stays right when a page died after sending and the entry is re-sent after more writes.
pub fn push_step<D>(result: &MutationResult<D>, record: Option<&RecordMeta>, later_queued: bool) -> PushStep {
    let with_status = |event: StatusEvent| match record {
        Some(m) => RecordStep::Meta(RecordMeta { status: m.status.next(event), ..m.clone() }),
        None => RecordStep::Keep,
    };
    let announce = record.map(|_| Op::Update);
    match result {
        MutationResult::Applied { version, .. } => {
            let record = match record {
                // A tombstone the server now has, with nothing queued after it, goes.
                None => RecordStep::Remove,
                Some(m) if m.deleted && !later_queued => RecordStep::Remove,
                Some(m) => RecordStep::Meta(RecordMeta {
                    server_version: Some(*version),
                    status: m.status.next(StatusEvent::PushApplied { newer_local: later_queued }),
                    ..m.clone()
                }),
            };
            let announce = if matches!(record, RecordStep::Meta(_)) { announce } else { None };
            PushStep {
                entry: EntryStep::Remove,
                rebase_next: later_queued.then_some(*version),
                record,
                keep_conflict: false,
                announce,
            }
        }
        MutationResult::Conflict { .. } => PushStep {
            entry: EntryStep::Hold(Hold::Conflict),
            rebase_next: None,
            record: with_status(StatusEvent::PushConflict),
            keep_conflict: true,
            announce,
        },
        MutationResult::Rejected { code, message, .. } => PushStep {
            entry: EntryStep::DeadLetter { code: code.clone(), message: message.clone() },
            rebase_next: None,
            record: with_status(StatusEvent::PushRejected),
            keep_conflict: false,
            announce,
        },
    }
}

/// Whether a rejected change waits for its blobs instead of becoming a dead letter: the server
/// answered `blob_missing` (it does not have a blob the data refers to; that answer is the one
/// rejection it does not keep) and `bytes_here`, every such blob's bytes are in this store. The
/// entry then stays queued as it is, the blobs are marked not uploaded, and the change goes
/// again, under the same mutation id, once they are up. Without the bytes no upload can help: a
/// dead letter, as any other rejection.
pub fn awaits_upload<D>(result: &MutationResult<D>, bytes_here: bool) -> bool {
    bytes_here
        && matches!(result, MutationResult::Rejected { code, .. } if code == crate::protocol::codes::BLOB_MISSING)
}

/// Whether `result` settles a conflict whose server side is at `conflict_version`: the server
/// applied this client's change at a newer version, so it took the local side (a rejected change
/// retried after a pull had found the conflict, say). The conflict then goes; keeping it would
/// offer a person a server version older than the one the server holds.
pub fn settles_conflict<D>(result: &MutationResult<D>, conflict_version: u64) -> bool {
    matches!(result, MutationResult::Applied { version, .. } if *version > conflict_version)
}

impl PushStep {
    /// This step once the record's conflict is settled by it ([`settles_conflict`]): the record
    /// leaves the conflict status (pending when a later change is queued, synced otherwise).
    pub fn conflict_settled(mut self, later_queued: bool) -> PushStep {
        if let RecordStep::Meta(m) = &mut self.record {
            if m.status == RecordStatus::Conflict {
                m.status = if later_queued { RecordStatus::Pending } else { RecordStatus::Synced };
            }
        }
        self
    }
}

/// Whether the data an acknowledged entry was pushed with is what the server stored, and so the
/// base of the record's next change (for a three-way merge). Only when it was sent once: the
/// server answers a repeated mutation id with its first answer, and a first attempt it applied
/// may have carried older data (a push reads the record as it is when sent). An unknown base
/// makes every field of the next conflict a change of both sides, which a merge does not settle
/// by itself.
pub fn pushed_data_is_base(attempts: u32) -> bool {
    attempts <= 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::status::RecordStatus;
    use crate::protocol::ServerRecord;
    use RecordStatus::*;

    fn meta(status: RecordStatus, deleted: bool) -> RecordMeta {
        RecordMeta { version: 3, server_version: Some(1), status, updated_at: 5.0, deleted }
    }

    fn applied(version: u64) -> MutationResult<()> {
        MutationResult::Applied { mutation_id: Default::default(), version }
    }

    #[test]
    fn an_acknowledged_push_syncs_the_record() {
        let s = push_step(&applied(4), Some(&meta(Pending, false)), false);
        assert_eq!(s.entry, EntryStep::Remove);
        assert_eq!(s.rebase_next, None);
        assert_eq!(
            s.record,
            RecordStep::Meta(RecordMeta { server_version: Some(4), status: Synced, ..meta(Pending, false) })
        );
        assert_eq!(s.announce, Some(Op::Update));
    }

    #[test]
    fn a_change_the_server_applied_past_a_conflict_settles_it() {
        assert!(settles_conflict(&applied(5), 4));
        assert!(!settles_conflict(&applied(4), 4));
        let step = push_step(&applied(5), Some(&meta(Conflict, false)), false).conflict_settled(false);
        assert!(matches!(step.record, RecordStep::Meta(RecordMeta { status: Synced, server_version: Some(5), .. })));
        let step = push_step(&applied(5), Some(&meta(Conflict, false)), true).conflict_settled(true);
        assert!(matches!(step.record, RecordStep::Meta(RecordMeta { status: Pending, .. })));
    }

    #[test]
    fn only_data_sent_once_is_known_to_be_the_servers() {
        assert!(pushed_data_is_base(1));
        assert!(!pushed_data_is_base(2), "a first attempt may have been applied with older data");
    }

    #[test]
    fn a_write_during_the_push_stays_pending_and_is_rebased() {
        let s = push_step(&applied(4), Some(&meta(Pending, false)), true);
        assert_eq!(s.rebase_next, Some(4));
        assert!(matches!(s.record, RecordStep::Meta(RecordMeta { status: Pending, server_version: Some(4), .. })));
    }

    #[test]
    fn an_acknowledged_delete_removes_the_tombstone_unless_rewritten() {
        let s = push_step(&applied(5), Some(&meta(Pending, true)), false);
        assert_eq!((s.record, s.announce), (RecordStep::Remove, None));
        // Deleted, pushed, then recreated (or deleted again) while in flight: it stays for its
        // own entry.
        assert!(matches!(push_step(&applied(5), Some(&meta(Pending, false)), true).record, RecordStep::Meta(_)));
        assert!(matches!(push_step(&applied(5), Some(&meta(Pending, true)), true).record, RecordStep::Meta(_)));
        assert_eq!(push_step(&applied(5), None, false).record, RecordStep::Remove);
    }

    #[test]
    fn a_conflicted_record_stays_in_conflict_when_an_earlier_push_lands() {
        let s = push_step(&applied(2), Some(&meta(Conflict, false)), true);
        assert!(matches!(s.record, RecordStep::Meta(RecordMeta { status: Conflict, .. })));
    }

    #[test]
    fn conflicts_and_rejections_keep_the_entry() {
        let current = ServerRecord {
            collection: "c".into(),
            id: "a".into(),
            version: 9,
            deleted: false,
            data: None,
            updated_at: None,
            forced: false,
        };
        let s = push_step(
            &MutationResult::<()>::Conflict { mutation_id: Default::default(), current },
            Some(&meta(Pending, false)),
            false,
        );
        assert_eq!(s.entry, EntryStep::Hold(Hold::Conflict));
        assert!(s.keep_conflict);
        assert!(matches!(s.record, RecordStep::Meta(RecordMeta { status: Conflict, .. })));
        let missing = MutationResult::<()>::Rejected {
            mutation_id: Default::default(),
            code: crate::protocol::codes::BLOB_MISSING.into(),
            message: "m".into(),
        };
        assert!(awaits_upload(&missing, true));
        assert!(!awaits_upload(&missing, false), "no bytes here to upload: a dead letter");
        let rejected = MutationResult::<()>::Rejected {
            mutation_id: Default::default(),
            code: "invalid_id".into(),
            message: "m".into(),
        };
        let s = push_step(&rejected, Some(&meta(Pending, false)), false);
        assert_eq!(s.entry, EntryStep::DeadLetter { code: "invalid_id".into(), message: "m".into() });
        assert!(matches!(s.record, RecordStep::Meta(RecordMeta { status: Failed, .. })));
        assert_eq!(push_step(&rejected, None, false).record, RecordStep::Keep);
    }
}
