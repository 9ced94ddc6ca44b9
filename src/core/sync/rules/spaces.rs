//! Spaces: which cursors a pull asks from, what a `left` entry does to the local copy, and when a
//! record outside the device's spaces goes (docs/sync.md, "Spaces").
//!
//! A record's space is the value of its collection's space field in the record's data as it is
//! here (the store reads it; a tombstone has none). Spaces live inside a tenant.

use crate::core::meta::RecordMeta;
use crate::protocol::{LeftRecord, ServerRecord, SpaceCursor};

/// The pull by space: every space the device syncs after its cursor (`None`: from its start),
/// in the order given, then `space: null` after the no-space cursor.
pub fn request<'a>(
    spaces: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
    no_space: Option<&str>,
) -> Vec<SpaceCursor> {
    let mut out: Vec<SpaceCursor> = spaces
        .into_iter()
        .map(|(space, cursor)| SpaceCursor { space: Some(space.to_string()), cursor: cursor.map(str::to_string) })
        .collect();
    out.push(SpaceCursor { space: None, cursor: no_space.map(str::to_string) });
    out
}

/// The local copy of a record, as the space rules see it.
#[derive(Debug, Clone, Copy)]
pub struct Copy<'a> {
    pub meta: &'a RecordMeta,
    /// The record's space here (its field's value in the local data).
    pub space: Option<&'a str>,
    /// Changes of the record are queued (held ones included).
    pub queued: bool,
}

/// Whether a `left` entry of `space` (`None`: the records of no space) removes the local copy: only a copy that is in the space
/// left, whose server version is lower than the entry's, and that has nothing queued (a queued
/// change is never dropped: the copy stays until it is acknowledged, then [`outside`] decides).
/// The removal is local: nothing is queued, the server's record lives on elsewhere.
pub fn left_removes(left: &LeftRecord, space: Option<&str>, copy: Option<Copy<'_>>) -> bool {
    let Some(copy) = copy else { return false };
    !copy.queued && copy.space == space && copy.meta.server_version.is_none_or(|v| v < left.version)
}

/// The server side a conflict of a record keeps once a `left` entry says the record left a space
/// this device syncs, at a version newer than the one the conflict holds: as far as this device
/// can see, the record is gone (a tombstone at that version; the server's record lives on in a
/// space not synced here). Keeping the server's side then removes the copy here, and nothing is
/// pushed; keeping the local side sends it on top of that version. `None`: the conflict stays as
/// it is (what it holds is as new, or newer).
pub fn left_conflict<D>(left: &LeftRecord, conflict: &ServerRecord<D>) -> Option<ServerRecord<D>> {
    (left.version > conflict.version).then(|| ServerRecord {
        collection: left.collection.clone(),
        id: left.id.clone(),
        version: left.version,
        deleted: true,
        data: None,
        updated_at: None,
        forced: false,
    })
}

/// Whether a record with nothing queued and no conflict goes from this device because it is in
/// a space the device does not sync: a local write moved it there and the server acknowledged
/// it, or a conflict settled on a version that is there. Records of no space always stay.
pub fn outside(space: Option<&str>, synced: impl Fn(&str) -> bool, queued: bool, in_conflict: bool) -> bool {
    !queued && !in_conflict && space.is_some_and(|s| !synced(s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::status::RecordStatus;

    fn meta(server_version: Option<u64>) -> RecordMeta {
        RecordMeta { version: 3, server_version, status: RecordStatus::Synced, updated_at: 1.0, deleted: false }
    }

    fn left(version: u64) -> LeftRecord {
        LeftRecord { collection: "todos".into(), id: "a".into(), version }
    }

    #[test]
    fn a_request_names_every_space_with_its_cursor_then_no_space() {
        let mut spaces = std::collections::BTreeMap::new();
        spaces.insert("p1".to_string(), Some("c1.4".to_string()));
        // Added later: from its start, while p1 carries on.
        spaces.insert("p2".to_string(), None);
        assert_eq!(
            request(spaces.iter().map(|(s, c): (&String, &Option<String>)| (s.as_str(), c.as_deref())), Some("c1.9")),
            vec![
                SpaceCursor { space: Some("p1".into()), cursor: Some("c1.4".into()) },
                SpaceCursor { space: Some("p2".into()), cursor: None },
                SpaceCursor { space: None, cursor: Some("c1.9".into()) },
            ]
        );
        assert_eq!(request([], None), vec![SpaceCursor { space: None, cursor: None }]);
    }

    #[test]
    fn a_left_entry_removes_only_an_older_copy_in_the_space_left() {
        let m = meta(Some(4));
        let copy = |space| Some(Copy { meta: &m, space, queued: false });
        assert!(left_removes(&left(5), Some("A"), copy(Some("A"))));
        // The copy from the new space, at the move's version or later, is kept.
        assert!(!left_removes(&left(4), Some("A"), copy(Some("A"))));
        assert!(!left_removes(&left(3), Some("A"), copy(Some("A"))));
        // A copy in another space (the page of the new space came first) is kept.
        assert!(!left_removes(&left(5), Some("A"), copy(Some("B"))));
        assert!(!left_removes(&left(5), Some("A"), copy(None)));
        // Leaving no space for a space.
        assert!(left_removes(&left(5), None, copy(None)));
        assert!(!left_removes(&left(5), Some("A"), None));
    }

    #[test]
    fn a_left_entry_never_drops_a_queued_change() {
        let m = meta(Some(4));
        assert!(!left_removes(&left(5), Some("A"), Some(Copy { meta: &m, space: Some("A"), queued: true })));
    }

    #[test]
    fn a_left_entry_brings_a_conflict_up_to_date() {
        let held = ServerRecord::<()> {
            collection: "todos".into(),
            id: "a".into(),
            version: 4,
            deleted: false,
            data: Some(()),
            updated_at: Some(9),
            forced: false,
        };
        let gone = left_conflict(&left(6), &held).unwrap();
        assert_eq!((gone.version, gone.deleted, gone.data), (6, true, None));
        assert_eq!(left_conflict(&left(4), &held), None, "not newer: the conflict stays as it is");
    }

    #[test]
    fn a_record_outside_the_spaces_goes_once_nothing_holds_it() {
        let synced = |s: &str| s == "A";
        assert!(outside(Some("B"), synced, false, false));
        assert!(!outside(Some("B"), synced, true, false), "a queued change keeps it");
        assert!(!outside(Some("B"), synced, false, true), "a conflict keeps it");
        assert!(!outside(Some("A"), synced, false, false));
        assert!(!outside(None, synced, false, false), "no space: always synced");
    }
}
