//! Record sync status and its transitions, and the database-wide sync status snapshot.

use super::sync::storage::{Counts, SpaceState};

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

    /// Held by a conflict or a dead letter: its queued changes wait for a decision.
    pub fn is_held(self) -> bool {
        matches!(self, RecordStatus::Conflict | RecordStatus::Failed)
    }

    pub fn after_local_write(self) -> RecordStatus {
        self.next(StatusEvent::LocalWrite)
    }
}

/// The database-wide status that the JS `status()` snapshot shows. The sync engine owns it; every
/// way it changes is one of the methods below.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SyncStatus {
    pub online: bool,
    pub syncing: bool,
    /// Changes that can still be sent; those held by a conflict or a rejection count only in
    /// `conflicts` and `failed`.
    pub pending: u64,
    pub failed: u64,
    pub conflicts: u64,
    pub last_sync_at: Option<f64>,
    pub last_error: Option<String>,
    pub progress: Option<(u64, u64)>,
    /// The spaces this device syncs, in order (empty when no collection declares a space field).
    pub spaces: Vec<SpaceStatus>,
    /// Set at open when the database this device had was found cleared behind the library's
    /// back ([`crate::core::eviction`]); reported by this open only.
    pub evicted: Option<crate::core::eviction::Evicted>,
    /// The blob being uploaded by the sync under way.
    pub upload: Option<UploadProgress>,
    /// The blob being downloaded by the sync under way (`done`: bytes received).
    pub download: Option<UploadProgress>,
    /// Bytes of blobs stored here, waiting to go up, and waiting to come down (as last
    /// counted).
    pub blob_bytes: BlobBytes,
    /// The server has no blob endpoints: blobs stay here, the changes that refer to them stay
    /// queued (the rest syncs). Cleared by an upload that goes through.
    pub blobs_unsupported: bool,
}

/// The bytes of blobs on this device, by where they stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BlobBytes {
    /// Stored here (whatever their state).
    pub stored: u64,
    /// Stored here and not on the server yet.
    pub to_upload: u64,
    /// Referred to by pulled records, to be downloaded by the sync, not here yet.
    pub to_download: u64,
}

/// How far the blob being uploaded (or downloaded) is.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UploadProgress {
    pub hash: String,
    /// Bytes the server holds.
    pub done: u64,
    pub total: u64,
}

/// One space this device syncs, as the status shows it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SpaceStatus {
    pub space: String,
    /// When a pull of it last reached its end (`None`: its first pull is not done).
    pub synced_at: Option<f64>,
    /// Entries (changes and `left` entries) received for it by the sync under way; `None` when
    /// no pull of it runs.
    pub pulled: Option<u64>,
}

impl SyncStatus {
    /// Changes not yet on the server: queued ones, and the records held by a conflict or a
    /// rejection (the eviction marker's count).
    pub fn unsent(&self) -> u64 {
        self.pending + self.failed + self.conflicts
    }

    /// Adds `delta` queued changes (negative when entries leave the outbox).
    pub fn add_pending(&mut self, delta: i64) {
        self.pending = (self.pending as i64).saturating_add(delta).max(0) as u64;
    }

    /// Sets the counts read from the database, and the space set with them (a space keeps the
    /// progress of the pull under way).
    pub fn set_counts(&mut self, counts: Counts) {
        (self.pending, self.failed, self.conflicts) = (counts.pending, counts.failed, counts.conflicts);
        self.blob_bytes = counts.blob_bytes;
        let old = std::mem::take(&mut self.spaces);
        self.spaces = counts
            .spaces
            .into_iter()
            .map(|SpaceState { space, synced_at }| {
                let pulled = old.iter().find(|s| s.space == space).and_then(|s| s.pulled);
                SpaceStatus { space, synced_at, pulled }
            })
            .collect();
    }

    /// `entries` of `space` arrived in the sync under way. False when the status does not show
    /// the space (yet, or any more).
    pub fn space_pulled(&mut self, space: &str, entries: u64) -> bool {
        let Some(s) = self.spaces.iter_mut().find(|s| s.space == space) else { return false };
        s.pulled = Some(s.pulled.unwrap_or(0) + entries);
        true
    }

    /// No pull runs any more.
    fn pulls_ended(&mut self) {
        self.spaces.iter_mut().for_each(|s| s.pulled = None);
    }

    /// The server answered and a sync began, with `total` entries to push.
    pub fn sync_began(&mut self, total: u64) {
        self.online = true;
        self.syncing = true;
        self.progress = Some((0, total));
    }

    pub fn progressed(&mut self, done: u64, total: u64) {
        self.progress = Some((done, total));
    }

    pub fn sync_succeeded(&mut self, now: f64) {
        self.syncing = false;
        self.progress = None;
        self.upload = None;
        self.download = None;
        self.pulls_ended();
        self.last_sync_at = Some(now);
        self.last_error = None;
    }

    /// `answered`: the server answered (online) before the sync failed.
    pub fn sync_failed(&mut self, error: String, answered: bool) {
        self.syncing = false;
        self.progress = None;
        self.upload = None;
        self.download = None;
        self.pulls_ended();
        self.online = answered;
        self.last_error = Some(error);
    }

    pub fn went_offline(&mut self) {
        self.online = false;
    }

    /// Another tab's status: the parts only the syncing tab knows (each tab counts the queue,
    /// dead letters and conflicts from the database itself).
    pub fn adopt_remote(&mut self, theirs: &SyncStatus) {
        self.online = theirs.online;
        self.syncing = theirs.syncing;
        self.last_sync_at = theirs.last_sync_at.or(self.last_sync_at);
        self.last_error = theirs.last_error.clone();
        self.progress = theirs.progress;
        self.upload = theirs.upload.clone();
        self.download = theirs.download.clone();
        self.blob_bytes = theirs.blob_bytes;
        self.blobs_unsupported = theirs.blobs_unsupported;
        // The set is this tab's own (read from the database); the progress is the syncing tab's.
        for mine in &mut self.spaces {
            if let Some(their) = theirs.spaces.iter().find(|s| s.space == mine.space) {
                mine.pulled = their.pulled;
                mine.synced_at = match (mine.synced_at, their.synced_at) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    (a, b) => a.or(b),
                };
            }
        }
    }

    /// The other tab's sync is over (its lock came free), however it ended.
    pub fn remote_sync_ended(&mut self) {
        self.syncing = false;
        self.progress = None;
        self.upload = None;
        self.download = None;
        self.pulls_ended();
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
    fn counts_and_sync_transitions() {
        let mut s = SyncStatus::default();
        s.add_pending(2);
        s.add_pending(-5);
        assert_eq!(s.pending, 0);
        s.set_counts(Counts { pending: 7, failed: 1, conflicts: 2, ..Counts::default() });
        assert_eq!((s.pending, s.failed, s.conflicts), (7, 1, 2));
        s.sync_began(4);
        assert!(s.online && s.syncing && s.progress == Some((0, 4)));
        s.sync_failed("down".into(), false);
        assert!(!s.online && !s.syncing && s.progress.is_none());
        assert_eq!(s.last_error.as_deref(), Some("down"));
        s.sync_began(1);
        s.sync_succeeded(9.0);
        assert_eq!((s.last_sync_at, s.last_error.clone(), s.syncing), (Some(9.0), None, false));
    }

    #[test]
    fn another_tabs_status_keeps_this_tabs_counts() {
        let mut mine = SyncStatus { pending: 3, last_sync_at: Some(1.0), ..Default::default() };
        let theirs =
            SyncStatus { online: true, syncing: true, pending: 99, progress: Some((1, 2)), ..Default::default() };
        mine.adopt_remote(&theirs);
        assert_eq!((mine.pending, mine.syncing, mine.progress, mine.last_sync_at), (3, true, Some((1, 2)), Some(1.0)));
        mine.remote_sync_ended();
        assert!(!mine.syncing && mine.progress.is_none());
    }

    #[test]
    fn spaces_come_from_the_counts_and_keep_the_progress_of_the_pull_under_way() {
        let state = |space: &str, synced_at| SpaceState { space: space.into(), synced_at };
        let mut s = SyncStatus::default();
        s.set_counts(Counts { spaces: vec![state("p1", None), state("p2", Some(1.0))], ..Counts::default() });
        assert!(s.space_pulled("p1", 5) && s.space_pulled("p1", 2));
        assert!(!s.space_pulled("p9", 1), "a space the status does not show");
        // A count during the pull: the progress stays, the stored times are taken, a space
        // removed meanwhile goes.
        s.set_counts(Counts { spaces: vec![state("p1", Some(3.0))], ..Counts::default() });
        assert_eq!(s.spaces, vec![SpaceStatus { space: "p1".into(), synced_at: Some(3.0), pulled: Some(7) }]);
        s.sync_succeeded(4.0);
        assert_eq!(s.spaces[0].pulled, None, "no pull runs");
        // Another tab's progress is shown; the set stays this tab's.
        let theirs = SyncStatus {
            spaces: vec![
                SpaceStatus { space: "p1".into(), synced_at: Some(5.0), pulled: Some(2) },
                SpaceStatus { space: "p8".into(), synced_at: None, pulled: Some(1) },
            ],
            ..SyncStatus::default()
        };
        s.adopt_remote(&theirs);
        assert_eq!(s.spaces, vec![SpaceStatus { space: "p1".into(), synced_at: Some(5.0), pulled: Some(2) }]);
        s.remote_sync_ended();
        assert_eq!(s.spaces[0].pulled, None);
    }
}
