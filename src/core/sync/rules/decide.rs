//! What the user's decisions do: a conflict resolved by keeping one side, a dead letter retried
//! or discarded. Each is one transaction in the store that carries it out.

use crate::core::error::{Error, ErrorKind};
use crate::core::meta::RecordMeta;
use crate::core::outbox::Op;
use crate::core::status::{RecordStatus, StatusEvent};

use super::super::entry::{Entry, Hold};
use super::super::storage::Choice;
use super::RecordStep;

/// A new outbox entry a decision queues, under the mutation id the caller gave. Its base data (for
/// a later three-way merge) is the server's data of the conflict it settles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewEntry {
    pub op: Op,
    pub base_version: Option<u64>,
}

/// Which version a resolution keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The record here, pushed over the server's version.
    Local,
    /// The server's version.
    Server,
    /// Data given with the decision (a merge), stored here and pushed over the server's version;
    /// the store writes it as [`RecordStep::Server`] writes the server's.
    Merged,
}

impl From<Choice> for Side {
    fn from(c: Choice) -> Side {
        match c {
            Choice::Local => Side::Local,
            Choice::Server => Side::Server,
        }
    }
}

/// The effect of a decision.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// Queued entries that leave the outbox (by seq).
    pub remove: Vec<u64>,
    /// The dead letter sent again under the new mutation id, from scratch (by seq): never sent
    /// under it ([`crate::core::sent::Sends::renewed`]).
    pub retry: Option<u64>,
    pub add: Option<NewEntry>,
    /// Change in the stored number of dead letters.
    pub dead_letters_delta: i64,
    /// The record's conflict row goes.
    pub drop_conflict: bool,
    pub record: RecordStep,
    /// The pull starts over from the beginning (the stored cursor goes).
    pub reset_cursor: bool,
    /// Once that pull is complete, the record's collection is swept like after a force pull:
    /// the record goes unless the pull took it again (the server's version may be in a space
    /// this device does not sync, or gone).
    pub sweep: bool,
    pub announce: Option<Op>,
    /// Change in the number of queued entries.
    pub pending_delta: i64,
}

/// The error of a decision on a conflict that does not exist.
pub fn no_conflict(collection: &str, id: &str) -> Error {
    Error::new(ErrorKind::RecordNotFound, format!("no conflict on \"{id}\" in \"{collection}\""))
}

/// The error of a decision on a dead letter that does not exist.
fn no_dead_letter(collection: &str, id: &str) -> Error {
    Error::new(ErrorKind::RecordNotFound, format!("no failed change of \"{id}\" in \"{collection}\""))
}

fn dead_letters_in(entries: &[Entry]) -> i64 {
    entries.iter().filter(|e| e.hold == Some(Hold::Failed)).count() as i64
}

/// The side a decision for `choice` keeps: a local side with no record here (a pulled version that
/// clashed with another record on a unique index) has no local version to send, and dropping the
/// conflict would leave this client without the server's record for good: it keeps the server's.
pub fn kept_side(choice: Side, local: Option<&RecordMeta>) -> Side {
    if choice == Side::Local && local.is_none() {
        Side::Server
    } else {
        choice
    }
}

/// Keeps one side of a conflict. `server`: the server's version in the conflict and whether it is
/// a tombstone; `local`: the record here; `queued`: all its entries.
///
/// Local: the record stays as it is and one new change, based on the server's version, replaces
/// its queued ones (the server answered the old ids with "conflict", and would again). Merged:
/// the same, with the merged data replacing the record's. Server: the server's record replaces
/// the local one (or removes it, for a tombstone) and the queued changes are dropped.
/// A local side with no record here keeps the server's ([`kept_side`]).
pub fn resolve(choice: Side, server: (u64, bool), local: Option<&RecordMeta>, queued: &[Entry], now: f64) -> Decision {
    let (server_version, server_deleted) = server;
    let choice = kept_side(choice, local);
    // A record held by a conflict or a dead letter has no change counted as pending.
    let pending_removed = if queued.iter().any(|e| e.hold.is_some()) { 0 } else { queued.len() as i64 };
    let mut d = Decision {
        remove: queued.iter().map(|e| e.seq).collect(),
        retry: None,
        add: None,
        dead_letters_delta: -dead_letters_in(queued),
        drop_conflict: true,
        record: RecordStep::Keep,
        reset_cursor: false,
        sweep: false,
        announce: None,
        pending_delta: -pending_removed,
    };
    match (choice, local) {
        (Side::Merged, local) => {
            d.add = Some(NewEntry { op: Op::Update, base_version: Some(server_version) });
            d.pending_delta += 1;
            d.record = RecordStep::Server(RecordMeta {
                version: local.map_or(1, |m| m.version + 1),
                server_version: Some(server_version),
                status: RecordStatus::Pending,
                updated_at: local.map_or(now, |m| now.max(m.updated_at)),
                deleted: false,
            });
            d.announce = Some(if local.is_some_and(|m| !m.deleted) { Op::Update } else { Op::Create });
        }
        (Side::Local, Some(m)) => {
            d.add = Some(NewEntry {
                op: if m.deleted { Op::Delete } else { Op::Update },
                base_version: Some(server_version),
            });
            d.pending_delta += 1;
            d.record = RecordStep::Meta(RecordMeta {
                server_version: Some(server_version),
                status: m.status.next(StatusEvent::Resolved { queued: true }),
                ..m.clone()
            });
            d.announce = Some(Op::Update);
        }
        // (A local side with nothing here is the server's: `kept_side`.)
        (Side::Server | Side::Local, local) if server_deleted => {
            if local.is_some() {
                d.record = RecordStep::Remove;
                d.announce = Some(Op::Delete);
            }
        }
        (Side::Server | Side::Local, local) => {
            d.record = RecordStep::Server(RecordMeta {
                version: local.map_or(1, |m| m.version + 1),
                server_version: Some(server_version),
                status: RecordStatus::Synced,
                updated_at: now,
                deleted: false,
            });
            d.announce = Some(if local.is_some_and(|m| !m.deleted) { Op::Update } else { Op::Create });
        }
    }
    d
}

/// The record's queued entries from its dead letter on: a decision on a dead letter applies to it
/// and to everything queued after it. RecordNotFound when the record has no dead letter.
pub fn from_dead_letter<'a>(queued: &'a [Entry], collection: &str, id: &str) -> Result<&'a [Entry], Error> {
    let at = queued.iter().position(|e| e.hold == Some(Hold::Failed)).ok_or_else(|| no_dead_letter(collection, id))?;
    Ok(&queued[at..])
}

/// Sends a dead letter again, as a new mutation (the server answers a repeated id with its first
/// answer, the rejection). `from_dead`: the record's entries from the dead letter on; they can be
/// sent again, unless a conflict still holds the record.
pub fn retry(from_dead: &[Entry], local: Option<&RecordMeta>) -> Decision {
    let still_held = from_dead.iter().any(|e| e.hold == Some(Hold::Conflict));
    Decision {
        remove: Vec::new(),
        retry: from_dead.first().map(|e| e.seq),
        add: None,
        dead_letters_delta: -1,
        drop_conflict: false,
        record: match local {
            Some(m) => RecordStep::Meta(RecordMeta {
                status: m.status.next(StatusEvent::Resolved { queued: true }),
                ..m.clone()
            }),
            None => RecordStep::Keep,
        },
        reset_cursor: false,
        sweep: false,
        announce: Some(Op::Update),
        pending_delta: if still_held { 0 } else { from_dead.len() as i64 },
    }
}

/// Drops a dead letter and the record's later changes. A record the server never had is
/// removed; any other is marked as not known to the server and the pull restarts from the
/// beginning, so that the server's version replaces the local one; once that pull is complete,
/// a record it did not bring back goes (swept: the server's version is gone, or in a space this
/// device does not sync). A conflict found on the record meanwhile (`in_conflict`) goes with the
/// changes it was about; the server's version it held comes back by that same restarted pull.
///
/// A forced change among those dropped says the server may hold the record although this
/// device never stored a version of it: a force push lets go of the conflict that held the
/// server's version (a record created here meeting one created elsewhere), and the server's
/// version is behind the cursor. Such a record is refetched too, never simply removed.
pub fn discard(from_dead: &[Entry], local: Option<&RecordMeta>, in_conflict: bool, now: f64) -> Decision {
    let forced = from_dead.iter().any(|e| e.force);
    let (record, reset_cursor, announce) = match local {
        Some(m) if m.server_version.is_some() || forced => (
            RecordStep::Meta(RecordMeta {
                server_version: None,
                status: RecordStatus::Synced,
                updated_at: now.max(m.updated_at),
                ..m.clone()
            }),
            true,
            Op::Update,
        ),
        Some(_) => (RecordStep::Remove, false, Op::Delete),
        None => (RecordStep::Keep, false, Op::Delete),
    };
    Decision {
        remove: from_dead.iter().map(|e| e.seq).collect(),
        retry: None,
        add: None,
        dead_letters_delta: -dead_letters_in(from_dead),
        drop_conflict: true,
        record,
        reset_cursor: reset_cursor || in_conflict,
        sweep: reset_cursor,
        announce: Some(announce),
        // The dropped entries were held by the dead letter: none was counted as pending.
        pending_delta: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: u64, hold: Option<Hold>) -> Entry {
        Entry {
            seq,
            mutation_id: format!("m{seq}"),
            collection: "c".into(),
            record_id: "a".into(),
            op: Op::Update,
            base_version: Some(1),
            attempts: 1,
            never_sent: false,
            hold,
            force: false,
        }
    }

    fn meta(server_version: Option<u64>, status: RecordStatus, deleted: bool) -> RecordMeta {
        RecordMeta { version: 3, server_version, status, updated_at: 50.0, deleted }
    }

    #[test]
    fn keeping_the_local_side_queues_one_change_on_the_server_version() {
        let queued = [entry(4, Some(Hold::Conflict)), entry(6, None)];
        let d = resolve(Side::Local, (7, false), Some(&meta(Some(1), RecordStatus::Conflict, false)), &queued, 60.0);
        assert_eq!(d.remove, vec![4, 6]);
        assert_eq!(d.add, Some(NewEntry { op: Op::Update, base_version: Some(7) }));
        assert_eq!(d.pending_delta, 1, "the held changes were not pending; the new one is");
        assert!(matches!(
            d.record,
            RecordStep::Meta(RecordMeta { server_version: Some(7), status: RecordStatus::Pending, .. })
        ));
        let d = resolve(Side::Local, (7, false), Some(&meta(Some(1), RecordStatus::Conflict, true)), &queued, 60.0);
        assert_eq!(d.add.unwrap().op, Op::Delete, "a local delete is pushed over the server's record");
    }

    #[test]
    fn a_merge_is_stored_and_pushed_on_the_server_version() {
        let queued = [entry(4, Some(Hold::Conflict))];
        let d = resolve(Side::Merged, (7, true), Some(&meta(Some(1), RecordStatus::Conflict, true)), &queued, 60.0);
        assert_eq!(d.add, Some(NewEntry { op: Op::Update, base_version: Some(7) }));
        assert_eq!((d.remove, d.pending_delta, d.announce), (vec![4], 1, Some(Op::Create)));
        assert!(matches!(
            d.record,
            RecordStep::Server(RecordMeta {
                version: 4,
                server_version: Some(7),
                status: RecordStatus::Pending,
                deleted: false,
                ..
            })
        ));
    }

    #[test]
    fn keeping_the_server_side_takes_its_record_or_its_tombstone() {
        let queued = [entry(4, Some(Hold::Conflict))];
        let d = resolve(Side::Server, (7, false), Some(&meta(Some(1), RecordStatus::Conflict, false)), &queued, 60.0);
        assert_eq!((d.add, d.pending_delta, d.announce), (None, 0, Some(Op::Update)));
        assert!(matches!(
            d.record,
            RecordStep::Server(RecordMeta { version: 4, server_version: Some(7), status: RecordStatus::Synced, .. })
        ));
        let d = resolve(Side::Server, (7, true), Some(&meta(Some(1), RecordStatus::Conflict, false)), &queued, 60.0);
        assert_eq!((d.record, d.announce), (RecordStep::Remove, Some(Op::Delete)));
        // A clash kept a conflict with no local record.
        let d = resolve(Side::Server, (2, false), None, &[], 60.0);
        assert_eq!(d.announce, Some(Op::Create));
        // Keeping "mine" there keeps nothing: it takes the server's record too, never just
        // dropping the conflict.
        assert_eq!(kept_side(Side::Local, None), Side::Server);
        assert_eq!(kept_side(Side::Local, Some(&meta(Some(1), RecordStatus::Conflict, false))), Side::Local);
        let kept_mine = resolve(Side::Local, (2, false), None, &[], 60.0);
        assert_eq!((kept_mine.record, kept_mine.announce, kept_mine.add), (d.record, d.announce, None));
    }

    #[test]
    fn dead_letters_are_counted_out_by_every_decision_that_drops_them() {
        let queued = [entry(4, Some(Hold::Failed)), entry(6, None)];
        assert_eq!(from_dead_letter(&queued, "c", "a").unwrap(), &queued[..]);
        assert_eq!(from_dead_letter(&queued[1..], "c", "a").unwrap_err().kind, ErrorKind::RecordNotFound);
        let d = resolve(Side::Server, (7, false), None, &queued, 60.0);
        assert_eq!(d.dead_letters_delta, -1);
        let d = retry(&queued, Some(&meta(None, RecordStatus::Failed, false)));
        assert_eq!((d.retry, d.dead_letters_delta, d.pending_delta), (Some(4), -1, 2));
        assert!(matches!(d.record, RecordStep::Meta(RecordMeta { status: RecordStatus::Pending, .. })));
    }

    #[test]
    fn discarding_removes_what_the_server_never_had_and_refetches_the_rest() {
        let queued = [entry(4, Some(Hold::Failed)), entry(6, None)];
        let d = discard(&queued, Some(&meta(None, RecordStatus::Failed, false)), false, 60.0);
        assert_eq!((d.record, d.reset_cursor, d.pending_delta, d.remove), (RecordStep::Remove, false, 0, vec![4, 6]));
        let d = discard(&queued, Some(&meta(Some(2), RecordStatus::Failed, false)), false, 40.0);
        assert!(d.reset_cursor && d.sweep, "the local version goes unless the pull brings the server's back");
        assert!(
            matches!(d.record, RecordStep::Meta(RecordMeta { server_version: None, status: RecordStatus::Synced, updated_at, .. }) if updated_at == 50.0)
        );
        // A conflict dropped with the changes: its server version comes back by the pull.
        let d = discard(&queued, Some(&meta(None, RecordStatus::Failed, false)), true, 60.0);
        assert!(d.reset_cursor && d.drop_conflict);
    }

    #[test]
    fn discarding_a_forced_change_refetches_a_record_the_server_may_hold() {
        // Created here, met the server's version as a conflict, forced (the conflict let go),
        // then rejected: the server's version is behind the cursor, only a pull from the start
        // brings it back.
        let forced = Entry { force: true, ..entry(4, Some(Hold::Failed)) };
        let d = discard(&[forced], Some(&meta(None, RecordStatus::Failed, false)), false, 60.0);
        assert!(d.reset_cursor && d.sweep, "{d:?}");
        assert!(matches!(
            d.record,
            RecordStep::Meta(RecordMeta { server_version: None, status: RecordStatus::Synced, .. })
        ));
    }
}
