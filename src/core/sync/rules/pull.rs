//! What a pulled change does to the local copy.

use crate::core::meta::RecordMeta;
use crate::core::outbox::Op;
use crate::core::status::RecordStatus;
use crate::protocol::ServerRecord;

use super::super::entry::{Entry, Hold};
use super::RecordStep;

/// The effect of one pulled change.
#[derive(Debug, Clone, PartialEq)]
pub enum PullStep {
    /// The local copy already has this version or a newer one (an echo of our own push).
    Ignore,
    /// Take the server's record (`record` is [`RecordStep::Server`]) or remove the local copy
    /// for a tombstone ([`RecordStep::Remove`], or `Keep` when there is no local copy). Any
    /// conflict row of the record goes: the server's version now lands on it.
    Take { record: RecordStep, announce: Option<Op> },
    /// A local change is queued for a record the server changed: keep both as a conflict (with
    /// the server's record from the change), never overwrite the queued change.
    Conflict {
        /// The first queued entry, held until the user decides (none when it is already a dead
        /// letter, which holds the record's queue already).
        hold: Option<u64>,
        /// The local record's metadata, now in conflict (`Keep` without a local copy).
        record: RecordStep,
        /// Whether the record newly went into conflict (one already in conflict only gets the
        /// newer server version).
        counted: bool,
    },
}

/// `local`: the record's metadata here (`None`: no local copy); `queued`: its outbox entries, in
/// queue order.
pub fn pull_step<D>(change: &ServerRecord<D>, local: Option<&RecordMeta>, queued: &[Entry], now: f64) -> PullStep {
    if let Some(m) = local {
        if m.server_version.is_some_and(|known| known >= change.version) {
            return PullStep::Ignore;
        }
        // A change being force-pushed overwrites whatever the server has now.
        if queued.first().is_some_and(|e| e.force && e.hold.is_none()) {
            return PullStep::Ignore;
        }
        // A tombstone is no conflict for a change queued as if the record never existed
        // (`baseVersion` null): the server takes it as it stands (the protocol's version rule),
        // so the record is recreated rather than the user asked. That is what a client sees of
        // its own delete when the tombstone it had was removed once the server had it. (A held
        // change is already in a conflict, which takes the newer server version below.)
        if change.deleted && queued.first().is_some_and(|e| e.base_version.is_none() && e.hold.is_none()) {
            return PullStep::Ignore;
        }
        if !queued.is_empty() {
            let hold = queued.first().filter(|e| e.hold != Some(Hold::Failed)).map(|e| e.seq);
            let (record, counted) = into_conflict(local);
            return PullStep::Conflict { hold, record, counted };
        }
    }
    if change.deleted {
        return match local {
            Some(_) => PullStep::Take { record: RecordStep::Remove, announce: Some(Op::Delete) },
            None => PullStep::Take { record: RecordStep::Keep, announce: None },
        };
    }
    let meta = RecordMeta {
        version: local.map_or(1, |m| m.version + 1),
        server_version: Some(change.version),
        status: RecordStatus::Synced,
        updated_at: now,
        deleted: false,
    };
    let announce = if local.is_some_and(|m| !m.deleted) { Op::Update } else { Op::Create };
    PullStep::Take { record: RecordStep::Server(meta), announce: Some(announce) }
}

/// A pulled record that could not be stored because it clashes with another local record on a
/// unique index: it is kept as a conflict (the local side may be no record at all) rather than
/// stopping the pull for good. Returns the record's step and whether it newly went into conflict.
pub fn clash_step(local: Option<&RecordMeta>) -> (RecordStep, bool) {
    match local {
        Some(_) => into_conflict(local),
        None => (RecordStep::Keep, true),
    }
}

fn into_conflict(local: Option<&RecordMeta>) -> (RecordStep, bool) {
    match local {
        Some(m) => (
            RecordStep::Meta(RecordMeta { status: RecordStatus::Conflict, ..m.clone() }),
            m.status != RecordStatus::Conflict,
        ),
        None => (RecordStep::Keep, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(version: u64, deleted: bool) -> ServerRecord<()> {
        ServerRecord {
            collection: "c".into(),
            id: "a".into(),
            version,
            deleted,
            data: None,
            updated_at: None,
            forced: false,
        }
    }

    fn meta(server_version: Option<u64>, status: RecordStatus) -> RecordMeta {
        RecordMeta { version: 4, server_version, status, updated_at: 1.0, deleted: false }
    }

    fn entry(seq: u64, hold: Option<Hold>) -> Entry {
        Entry {
            seq,
            mutation_id: "m".into(),
            collection: "c".into(),
            record_id: "a".into(),
            op: Op::Update,
            base_version: None,
            attempts: 0,
            never_sent: false,
            hold,
            force: false,
        }
    }

    #[test]
    fn a_new_record_is_stored() {
        let PullStep::Take { record: RecordStep::Server(m), announce } = pull_step(&change(1, false), None, &[], 9.0)
        else {
            panic!()
        };
        assert_eq!((m.version, m.server_version, m.status, m.updated_at), (1, Some(1), RecordStatus::Synced, 9.0));
        assert_eq!(announce, Some(Op::Create));
    }

    #[test]
    fn newer_versions_overwrite_and_echoes_are_ignored() {
        let here = meta(Some(2), RecordStatus::Synced);
        let PullStep::Take { record: RecordStep::Server(m), announce } =
            pull_step(&change(3, false), Some(&here), &[], 9.0)
        else {
            panic!()
        };
        assert_eq!((m.version, m.server_version, announce), (5, Some(3), Some(Op::Update)));
        assert_eq!(
            pull_step(&change(3, false), Some(&meta(Some(3), RecordStatus::Synced)), &[], 9.0),
            PullStep::Ignore
        );
        let queued = [entry(7, None)];
        assert_eq!(
            pull_step(&change(3, false), Some(&meta(Some(4), RecordStatus::Pending)), &queued, 9.0),
            PullStep::Ignore
        );
    }

    #[test]
    fn tombstones_remove_the_local_copy() {
        let here = meta(Some(2), RecordStatus::Synced);
        assert_eq!(
            pull_step(&change(3, true), Some(&here), &[], 9.0),
            PullStep::Take { record: RecordStep::Remove, announce: Some(Op::Delete) }
        );
        assert_eq!(
            pull_step(&change(3, true), None, &[], 9.0),
            PullStep::Take { record: RecordStep::Keep, announce: None }
        );
    }

    #[test]
    fn a_queued_change_is_never_overwritten() {
        let here = meta(Some(2), RecordStatus::Pending);
        let queued = [entry(7, None), entry(8, None)];
        let PullStep::Conflict { hold, record: RecordStep::Meta(m), counted } =
            pull_step(&change(3, false), Some(&here), &queued, 9.0)
        else {
            panic!()
        };
        assert_eq!((hold, m.status, counted), (Some(7), RecordStatus::Conflict, true));
        // A local create the server also has.
        let here = meta(None, RecordStatus::Pending);
        assert!(matches!(pull_step(&change(1, false), Some(&here), &queued, 9.0), PullStep::Conflict { .. }));
        // Already in conflict: not counted again; a dead letter first keeps the queue held.
        let here = meta(Some(2), RecordStatus::Conflict);
        let dead = Entry { base_version: Some(2), ..entry(7, Some(Hold::Failed)) };
        let step = pull_step(&change(4, true), Some(&here), &[dead], 9.0);
        assert!(matches!(step, PullStep::Conflict { hold: None, counted: false, .. }));
    }

    #[test]
    fn a_tombstone_does_not_conflict_with_a_change_made_as_if_the_record_never_was() {
        // Deleted here, the delete acknowledged (its tombstone removed), created again: the
        // echo of that delete is not a conflict; the create recreates the record.
        let here = meta(None, RecordStatus::Pending);
        let create = Entry { op: Op::Create, ..entry(9, None) };
        assert_eq!(pull_step(&change(2, true), Some(&here), std::slice::from_ref(&create), 9.0), PullStep::Ignore);
        // A change already held by a conflict keeps it, with the newer server version.
        let held = Entry { hold: Some(Hold::Conflict), ..create.clone() };
        assert!(matches!(pull_step(&change(3, true), Some(&here), &[held], 9.0), PullStep::Conflict { .. }));
        // A change made on a version the server has since deleted is one.
        let update = Entry { base_version: Some(1), ..entry(9, None) };
        let here = meta(Some(1), RecordStatus::Pending);
        assert!(matches!(pull_step(&change(2, true), Some(&here), &[update], 9.0), PullStep::Conflict { .. }));
    }

    #[test]
    fn a_unique_index_clash_is_a_conflict() {
        assert_eq!(clash_step(None), (RecordStep::Keep, true));
        let (record, counted) = clash_step(Some(&meta(Some(1), RecordStatus::Synced)));
        assert!(matches!(record, RecordStep::Meta(RecordMeta { status: RecordStatus::Conflict, .. })));
        assert!(counted);
    }
}
