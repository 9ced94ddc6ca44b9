//! Record sync status and its transitions, and the database-wide sync status snapshot.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordStatus {
    /// Changed locally; the change is queued in the outbox.
    Pending,
    /// The server has acknowledged the latest local version.
    Synced,
    /// The server holds a different version; both are kept until resolved.
    Conflict,
    /// The server permanently rejected the change (kept as a dead letter).
    Failed,
}

/// What happened to a record, from the sync engine's or the user's side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusEvent {
    LocalWrite,
    /// The server applied the pushed version; `newer_local` when the record was written again
    /// while the push was in flight (that write stays queued).
    PushApplied {
        newer_local: bool,
    },
    PushConflict,
    PushRejected,
    /// A conflict or failure was settled by the user; the result is queued or already synced.
    Resolved {
        queued: bool,
    },
}

impl RecordStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordStatus::Pending => "pending",
            RecordStatus::Synced => "synced",
            RecordStatus::Conflict => "conflict",
            RecordStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<RecordStatus> {
        Some(match s {
            "pending" => RecordStatus::Pending,
            "synced" => RecordStatus::Synced,
            "conflict" => RecordStatus::Conflict,
            "failed" => RecordStatus::Failed,
            _ => return None,
        })
    }

    /// The status after `event`. A conflict or a rejection only ends by a decision: a local edit
    /// of such a record is queued, but it waits behind the held change, so the record still
    /// needs the user.
    pub fn next(self, event: StatusEvent) -> RecordStatus {
        use RecordStatus::*;
        match (self, event) {
            (Conflict, StatusEvent::LocalWrite) => Conflict,
            (Failed, StatusEvent::LocalWrite) => Failed,
            (_, StatusEvent::LocalWrite) => Pending,
            (Conflict, StatusEvent::PushApplied { .. }) => Conflict,
            (_, StatusEvent::PushApplied { newer_local: true }) => Pending,
            (_, StatusEvent::PushApplied { newer_local: false }) => Synced,
            (_, StatusEvent::PushConflict) => Conflict,
            (_, StatusEvent::PushRejected) => Failed,
            (_, StatusEvent::Resolved { queued: true }) => Pending,
            (_, StatusEvent::Resolved { queued: false }) => Synced,
        }
    }

    pub fn after_local_write(self) -> RecordStatus {
        self.next(StatusEvent::LocalWrite)
    }
}

/// The database-wide status that the JS `status()` snapshot shows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SyncStatus {
    pub online: bool,
    pub syncing: bool,
    pub pending: u64,
    pub failed: u64,
    pub conflicts: u64,
    pub last_sync_at: Option<f64>,
    pub last_error: Option<String>,
    pub progress: Option<(u64, u64)>,
}

impl SyncStatus {
    /// Adds `delta` queued changes (negative when entries leave the outbox). Returns whether
    /// the value changed, so that the snapshot keeps its identity when it did not.
    pub fn add_pending(&mut self, delta: i64) -> bool {
        let next = (self.pending as i64 + delta).max(0) as u64;
        let changed = next != self.pending;
        self.pending = next;
        changed
    }

    /// Sets the counts read from the database: queued changes, dead letters, conflicts.
    /// Returns whether any changed.
    pub fn set_counts(&mut self, pending: u64, failed: u64, conflicts: u64) -> bool {
        let next = (pending, failed, conflicts);
        let changed = (self.pending, self.failed, self.conflicts) != next;
        (self.pending, self.failed, self.conflicts) = next;
        changed
    }

    /// Replaces the whole status; returns whether anything changed.
    pub fn replace(&mut self, next: SyncStatus) -> bool {
        let changed = *self != next;
        *self = next;
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::RecordStatus::*;
    use super::*;

    const ALL: [RecordStatus; 4] = [Pending, Synced, Conflict, Failed];

    #[test]
    fn names_round_trip() {
        for s in ALL {
            assert_eq!(RecordStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(RecordStatus::parse("done"), None);
    }

    #[test]
    fn transitions() {
        assert_eq!(Failed.next(StatusEvent::LocalWrite), Failed, "the edit waits behind the dead letter");
        for s in [Pending, Synced, Failed] {
            if s != Failed {
                assert_eq!(s.next(StatusEvent::LocalWrite), Pending);
            }
            assert_eq!(s.next(StatusEvent::PushConflict), Conflict);
            assert_eq!(s.next(StatusEvent::PushRejected), Failed);
        }
        assert_eq!(Conflict.next(StatusEvent::LocalWrite), Conflict);
        assert_eq!(Pending.next(StatusEvent::PushApplied { newer_local: false }), Synced);
        assert_eq!(Pending.next(StatusEvent::PushApplied { newer_local: true }), Pending);
        assert_eq!(Conflict.next(StatusEvent::PushApplied { newer_local: false }), Conflict);
        assert_eq!(Conflict.next(StatusEvent::Resolved { queued: true }), Pending);
        assert_eq!(Failed.next(StatusEvent::Resolved { queued: false }), Synced);
    }

    #[test]
    fn pending_count_reports_changes_only() {
        let mut s = SyncStatus::default();
        assert!(s.add_pending(2));
        assert!(!s.add_pending(0));
        assert!(s.add_pending(-5));
        assert_eq!(s.pending, 0);
        assert!(!s.replace(s.clone()));
        assert!(s.set_counts(7, 1, 2));
        assert!(!s.set_counts(7, 1, 2));
        assert!(s.set_counts(7, 0, 2));
        assert_eq!((s.pending, s.failed, s.conflicts), (7, 0, 2));
    }
}
