//! What a push result or a pulled change does to a record and its outbox entry.

use super::status::{RecordStatus, StatusEvent};

/// The server's answer to one pushed entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushOutcome {
    Applied { version: u64 },
    Conflict { server_version: u64 },
    Rejected,
}

/// The record, as it is when the answer arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalRecord {
    pub status: RecordStatus,
    pub deleted: bool,
}

/// What to do with the pushed entry and its record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushEffect {
    /// The entry leaves the outbox; the record takes this server version and status. With
    /// `purge`, the record is a tombstone the server now has, and it goes too. With
    /// `rebase_next`, the record's next queued entry was made on top of the version just
    /// acknowledged, so its base version becomes `server_version`.
    Acknowledge { server_version: u64, status: RecordStatus, purge: bool, rebase_next: bool },
    /// The entry stays, held, and both versions go to the conflicts store.
    Conflict { server_version: u64 },
    /// The entry stays as a dead letter with the server's message; the record shows failed.
    DeadLetter,
}

/// `later_queued`: another outbox entry of the same record follows the pushed one. A sent entry
/// is never rewritten, so every local write made after the send (while it was in flight, or
/// before a retry) is in such a later entry: the record stays pending, and that entry is
/// rebased on the version just acknowledged. Counting entries rather than comparing versions
/// stays right when a page died after sending and the entry is re-sent after more writes.
pub fn apply_push(outcome: PushOutcome, later_queued: bool, now: LocalRecord) -> PushEffect {
    match outcome {
        PushOutcome::Applied { version } => PushEffect::Acknowledge {
            server_version: version,
            status: now.status.next(StatusEvent::PushApplied { newer_local: later_queued }),
            purge: now.deleted && !later_queued,
            rebase_next: later_queued,
        },
        PushOutcome::Conflict { server_version } => PushEffect::Conflict { server_version },
        PushOutcome::Rejected => PushEffect::DeadLetter,
    }
}

/// What a pulled change does to the local copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullEffect {
    /// Take the server's record (or remove the local one, for a tombstone).
    Overwrite,
    /// The local copy already has this version or a newer one (an echo of our own push).
    Ignore,
    /// A local change is queued for a record the server changed: keep both as a conflict.
    Conflict,
}

/// `local`: the record's server version here and whether a local change to it is queued
/// (`None`: no local copy).
pub fn apply_pull(pulled_version: u64, local: Option<(Option<u64>, bool)>) -> PullEffect {
    match local {
        None => PullEffect::Overwrite,
        Some((known, queued)) => {
            if known.is_some_and(|k| k >= pulled_version) {
                PullEffect::Ignore
            } else if queued {
                PullEffect::Conflict
            } else {
                PullEffect::Overwrite
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use RecordStatus::*;

    fn rec(status: RecordStatus, deleted: bool) -> LocalRecord {
        LocalRecord { status, deleted }
    }

    #[test]
    fn an_acknowledged_push_syncs_the_record() {
        let e = apply_push(PushOutcome::Applied { version: 4 }, false, rec(Pending, false));
        assert_eq!(e, PushEffect::Acknowledge { server_version: 4, status: Synced, purge: false, rebase_next: false });
    }

    #[test]
    fn a_write_during_the_push_stays_pending_and_is_rebased() {
        let e = apply_push(PushOutcome::Applied { version: 4 }, true, rec(Pending, false));
        assert_eq!(e, PushEffect::Acknowledge { server_version: 4, status: Pending, purge: false, rebase_next: true });
    }

    #[test]
    fn an_acknowledged_delete_purges_the_tombstone_unless_rewritten() {
        let e = apply_push(PushOutcome::Applied { version: 5 }, false, rec(Pending, true));
        assert_eq!(e, PushEffect::Acknowledge { server_version: 5, status: Synced, purge: true, rebase_next: false });
        // Deleted, pushed, then recreated while in flight: keep it.
        let e = apply_push(PushOutcome::Applied { version: 5 }, true, rec(Pending, false));
        assert!(matches!(e, PushEffect::Acknowledge { purge: false, .. }));
        // Deleted again after the first delete was sent: the tombstone waits for its own entry.
        let e = apply_push(PushOutcome::Applied { version: 5 }, true, rec(Pending, true));
        assert!(matches!(e, PushEffect::Acknowledge { purge: false, .. }));
    }

    #[test]
    fn a_conflicted_record_stays_in_conflict_when_an_earlier_push_lands() {
        let e = apply_push(PushOutcome::Applied { version: 2 }, true, rec(Conflict, false));
        assert!(matches!(e, PushEffect::Acknowledge { status: Conflict, .. }));
    }

    #[test]
    fn conflicts_and_rejections_keep_the_entry() {
        assert_eq!(
            apply_push(PushOutcome::Conflict { server_version: 9 }, false, rec(Pending, false)),
            PushEffect::Conflict { server_version: 9 }
        );
        assert_eq!(apply_push(PushOutcome::Rejected, false, rec(Pending, false)), PushEffect::DeadLetter);
    }

    #[test]
    fn pulled_changes() {
        assert_eq!(apply_pull(1, None), PullEffect::Overwrite);
        assert_eq!(apply_pull(3, Some((Some(2), false))), PullEffect::Overwrite);
        assert_eq!(apply_pull(3, Some((Some(3), false))), PullEffect::Ignore, "an echo of our own push");
        assert_eq!(apply_pull(3, Some((Some(4), true))), PullEffect::Ignore);
        assert_eq!(apply_pull(3, Some((Some(2), true))), PullEffect::Conflict, "never overwrite a queued change");
        assert_eq!(apply_pull(1, Some((None, true))), PullEffect::Conflict, "a local create the server also has");
    }
}
