//! The sync log: what happened to people's changes without them doing it there and then, kept in
//! the database so that an app can tell them (a rollback notice: "your change to X was replaced
//! by a newer one"). Automatic conflict resolutions keep both versions; decisions and dead
//! letters keep what they were about. The log is bounded: past [`LOG_CAP`] entries the oldest
//! go.

use super::conflict::strategy::Strategy;
use super::rules::force::{Scope, Sweep};

/// Entries kept; the oldest go first.
pub const LOG_CAP: u64 = 500;

/// The collection name that change events about the log carry (`{ collection: "_log", changes:
/// [{ id, op: "create" }] }`, the id being the record the entry is about): a step that logs
/// announces it like a change, so it reaches the log's listeners here and in other tabs. No
/// collection can have this name (names starting with "_" are reserved).
pub const LOG_CHANGES: &str = "_log";

/// What a log entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogKind {
    /// A conflict was settled, by the collection's strategy or by a person.
    Resolved,
    /// The server rejected a change for good: it is a dead letter now.
    Rejected,
    /// A dead letter was sent again.
    Retried,
    /// A dead letter (and the record's later changes) was dropped.
    Discarded,
    /// A force push marked `count` queued changes: the server takes them whatever it holds.
    ForcePush,
    /// A force pull began: `kept` says whether the queued changes were kept (`Local`) or dropped
    /// (`Server`); `count` how many. One by space names its spaces in `id`.
    ForcePull,
    /// A force pull's pull from the start was complete: `count` local records the server does
    /// not have were removed. Named as the force pull was; a sweep of spaces names them in `id`
    /// (and, if collections were swept whole with them, those in `collection`).
    Swept,
    /// A collection's local data was wiped: `count` records; `message` says how many queued
    /// changes were dropped with them.
    Wipe,
    /// A collection's own resolver failed on a conflict (`message` says how); it waits for a
    /// person.
    Unresolved,
    /// A stored row that does not decode (written by hand, by another version, or damaged) was
    /// taken out of the way: `local` holds its raw value, `message` why.
    Quarantined,
    /// At open, the database this device had under this name was found cleared outside
    /// ferrysync ([`crate::core::eviction`]): `count` changes it had not sent were lost.
    Evicted,
}

impl LogKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LogKind::Resolved => "resolved",
            LogKind::Rejected => "rejected",
            LogKind::Retried => "retried",
            LogKind::Discarded => "discarded",
            LogKind::ForcePush => "force-push",
            LogKind::ForcePull => "force-pull",
            LogKind::Swept => "swept",
            LogKind::Wipe => "wipe",
            LogKind::Unresolved => "unresolved",
            LogKind::Quarantined => "quarantined",
            LogKind::Evicted => "evicted",
        }
    }
}

/// Which version a resolution kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kept {
    Local,
    Server,
    Merged,
}

impl Kept {
    pub fn as_str(self) -> &'static str {
        match self {
            Kept::Local => "local",
            Kept::Server => "server",
            Kept::Merged => "merged",
        }
    }
}

/// Who made a resolution: a strategy (automatic) or a person (`resolveConflict`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    Strategy(Strategy),
    User,
}

impl By {
    pub fn as_str(self) -> &'static str {
        match self {
            By::Strategy(s) => s.as_str(),
            By::User => "user",
        }
    }
}

/// One log entry. `local` and `server` are the two versions of a resolution as they were before
/// it (`None`: deleted, or the record was not here); a rejection keeps the server's `code` and
/// `message`. An entry about a force names its collections in `collection` (comma-separated,
/// `*` for all); its `id` is empty, or, for a force pull by space and its sweep, names the
/// spaces (comma-separated), as a space removal's `wipe` entry names its space.
#[derive(Debug, Clone, PartialEq)]
pub struct LogEntry<D> {
    pub at: f64,
    pub kind: LogKind,
    pub collection: String,
    pub id: String,
    pub by: Option<By>,
    pub kept: Option<Kept>,
    pub local: Option<D>,
    pub server: Option<D>,
    pub code: Option<String>,
    pub message: Option<String>,
    /// How many changes or records a force concerned.
    pub count: Option<u64>,
}

impl<D> LogEntry<D> {
    /// An entry about `collection`/`id` with nothing else filled in.
    pub fn new(at: f64, kind: LogKind, collection: &str, id: &str) -> LogEntry<D> {
        LogEntry {
            at,
            kind,
            collection: collection.to_string(),
            id: id.to_string(),
            by: None,
            kept: None,
            local: None,
            server: None,
            code: None,
            message: None,
            count: None,
        }
    }

    /// An entry about a force over `scope`, concerning `count` changes or records.
    pub fn force(at: f64, kind: LogKind, scope: &Scope, count: u64) -> LogEntry<D> {
        let names = scope.names();
        let collection = if names.is_empty() { "*".to_string() } else { names.join(",") };
        LogEntry { count: Some(count), ..LogEntry::new(at, kind, &collection, "") }
    }

    /// An entry about a force pull of `spaces`, concerning `count` changes: `collection` names
    /// the collections with a space field (`space_collections`), and `id` the spaces
    /// (comma-separated), as the `wipe` entry of a space removed names its space.
    pub fn force_spaces(
        at: f64,
        kind: LogKind,
        space_collections: &[String],
        spaces: &[String],
        count: u64,
    ) -> LogEntry<D> {
        let mut entry = LogEntry::force(at, kind, &Scope::Only(space_collections.to_vec()), count);
        entry.id = spaces.join(",");
        entry
    }

    /// The entry of a sweep that removed `count` records: the collections it swept whole as a
    /// force's, and its spaces (if any) in `id`; a sweep of spaces only is named as
    /// [`LogEntry::force_spaces`] names its force.
    pub fn swept(at: f64, sweep: &Sweep, space_collections: &[String], count: u64) -> LogEntry<D> {
        match &sweep.collections {
            Some(scope) => LogEntry { id: sweep.spaces.join(","), ..LogEntry::force(at, LogKind::Swept, scope, count) },
            None => LogEntry::force_spaces(at, LogKind::Swept, space_collections, &sweep.spaces, count),
        }
    }

    /// Whether this entry replaced the local version of a record by another (the server's or a
    /// merge): what an app shows as a rollback notice.
    pub fn replaced_local(&self) -> bool {
        self.kind == LogKind::Resolved && matches!(self.kept, Some(Kept::Server | Kept::Merged))
    }
}

/// The sequence numbers to drop once entry `newest` is in (numbers start at 1): everything up to
/// this one.
pub fn trim_through(newest: u64) -> Option<u64> {
    newest.checked_sub(LOG_CAP).filter(|n| *n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_keeps_its_cap() {
        assert_eq!(trim_through(1), None);
        assert_eq!(trim_through(LOG_CAP), None);
        assert_eq!(trim_through(LOG_CAP + 1), Some(1));
        assert_eq!(trim_through(LOG_CAP + 70), Some(70));
    }

    #[test]
    fn a_rollback_notice_is_a_resolution_that_replaced_the_local_version() {
        let mut e = LogEntry::<()>::new(1.0, LogKind::Resolved, "c", "a");
        e.kept = Some(Kept::Server);
        assert!(e.replaced_local());
        e.kept = Some(Kept::Local);
        assert!(!e.replaced_local());
        assert!(!LogEntry::<()>::new(1.0, LogKind::Rejected, "c", "a").replaced_local());
        assert_eq!(By::Strategy(Strategy::ServerWins).as_str(), "server-wins");
    }
}
