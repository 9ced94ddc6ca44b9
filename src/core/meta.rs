//! The metadata every record carries, under the reserved field [`META_FIELD`], and the rules
//! that move it on each local write.

use super::status::RecordStatus;

/// The one top-level field name that belongs to ferrysync; user data may not contain it.
pub const META_FIELD: &str = "_sync";
/// On tombstones only: the record's id, so that an internal index holds exactly the
/// tombstones and `count()` can leave them out without reading every record.
pub const TOMBSTONE_FIELD: &str = "tombstone";
/// The internal index over [`TOMBSTONE_FIELD`] on every collection store.
pub const TOMBSTONE_INDEX: &str = "_tombstones";

#[derive(Debug, Clone, PartialEq)]
pub struct RecordMeta {
    /// 1 on create, +1 on each local write.
    pub version: u64,
    /// The last version the server acknowledged; `None` until it has seen the record.
    pub server_version: Option<u64>,
    pub status: RecordStatus,
    /// Milliseconds since the epoch of the last local write.
    pub updated_at: f64,
    pub deleted: bool,
}

impl RecordMeta {
    /// Metadata after a local create, update or replace of a record whose metadata was `prev`
    /// (`None` for a record that never existed here).
    pub fn after_write(prev: Option<&RecordMeta>, now: f64) -> RecordMeta {
        match prev {
            None => RecordMeta {
                version: 1,
                server_version: None,
                status: RecordStatus::Pending,
                updated_at: now,
                deleted: false,
            },
            Some(p) => RecordMeta {
                version: p.version + 1,
                server_version: p.server_version,
                status: p.status.after_local_write(),
                updated_at: monotonic(p.updated_at, now),
                deleted: false,
            },
        }
    }

    /// Metadata of the tombstone a local delete leaves behind.
    pub fn after_delete(prev: &RecordMeta, now: f64) -> RecordMeta {
        RecordMeta { deleted: true, ..RecordMeta::after_write(Some(prev), now) }
    }
}

/// `updatedAt` never goes backwards for one record, even if the wall clock does.
fn monotonic(prev: f64, now: f64) -> f64 {
    if now > prev {
        now
    } else {
        prev
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_starts_at_version_one_pending_unsynced() {
        let m = RecordMeta::after_write(None, 10.0);
        assert_eq!(m.version, 1);
        assert_eq!(m.server_version, None);
        assert_eq!(m.status, RecordStatus::Pending);
        assert!(!m.deleted);
        assert_eq!(m.updated_at, 10.0);
    }

    #[test]
    fn writes_bump_version_and_keep_server_version() {
        let synced = RecordMeta {
            version: 4,
            server_version: Some(7),
            status: RecordStatus::Synced,
            updated_at: 50.0,
            deleted: false,
        };
        let m = RecordMeta::after_write(Some(&synced), 60.0);
        assert_eq!((m.version, m.server_version, m.status), (5, Some(7), RecordStatus::Pending));
        let d = RecordMeta::after_delete(&m, 70.0);
        assert!(d.deleted);
        assert_eq!((d.version, d.server_version), (6, Some(7)));
    }

    #[test]
    fn updated_at_never_goes_back() {
        let m = RecordMeta::after_write(None, 100.0);
        let m2 = RecordMeta::after_write(Some(&m), 40.0);
        assert_eq!(m2.updated_at, 100.0);
    }

    #[test]
    fn a_conflicted_record_stays_in_conflict_when_edited() {
        let c = RecordMeta { status: RecordStatus::Conflict, ..RecordMeta::after_write(None, 1.0) };
        assert_eq!(RecordMeta::after_write(Some(&c), 2.0).status, RecordStatus::Conflict);
    }
}
