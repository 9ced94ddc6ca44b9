//! Knowing that a database was cleared behind the library's back (docs/storage.md, "When the
//! data goes"): a user deleted it in the browser's tools, a script deleted it, the browser
//! evicted it.
//!
//! Each database holds an instance id, made when it is first opened. Beside it, outside it, a
//! marker remembers the instance last seen under the database's name and how many changes it
//! had not sent then. At open, a marker of another instance means the database this device had
//! is gone: reported once (the marker is then rewritten), with what was lost. `deleteDatabase()`
//! deletes the marker too, so that a deliberate delete is not reported. When the browser clears
//! the whole origin, the marker goes with the database and nothing can tell: the device looks
//! new.

/// What the marker outside the database remembers of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    /// The instance id of the database it saw.
    pub instance: String,
    /// Changes not yet on the server when it was last written (queued ones, and records held by
    /// a conflict or a rejection).
    pub unsent: u64,
    /// When it was last written (ms since the epoch).
    pub seen_at: f64,
}

/// A database found cleared at open.
#[derive(Debug, Clone, PartialEq)]
pub struct Evicted {
    pub detected_at: f64,
    /// Changes the lost database had not sent when the marker was last written.
    pub lost_unsent: u64,
    /// When the lost database was last seen.
    pub last_seen_at: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// The database the marker saw (or no marker: a new device, or one from before markers).
    Known,
    /// The database the marker saw is gone; this one is another.
    Lost(Evicted),
}

/// The instance id as the database holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Instance<'a> {
    /// None yet: the database was created by this open, or before instance ids existed.
    Missing,
    /// A value that is not an id (damaged, or written by hand).
    Unreadable,
    Id(&'a str),
}

/// What the marker (if any) says of the database open now, whose instance id is `instance`. An
/// unreadable id says nothing of the data (the rest of the database is there): it is not an
/// eviction, and the caller makes a new id.
pub fn verdict(marker: Option<&Marker>, instance: Instance<'_>, now: f64) -> Verdict {
    match (marker, instance) {
        (_, Instance::Unreadable) => Verdict::Known,
        (Some(m), Instance::Id(id)) if id == m.instance => Verdict::Known,
        (Some(m), _) => Verdict::Lost(Evicted { detected_at: now, lost_unsent: m.unsent, last_seen_at: m.seen_at }),
        (None, _) => Verdict::Known,
    }
}

/// How long the engine waits after the number of unsent changes changed before it writes the
/// marker again: a burst of writes costs one marker write.
pub const MARK_DELAY_MS: u64 = 1000;

#[cfg(test)]
mod tests {
    use super::*;

    fn marker(instance: &str, unsent: u64) -> Marker {
        Marker { instance: instance.into(), unsent, seen_at: 5.0 }
    }

    #[test]
    fn a_marker_of_another_instance_means_the_database_was_lost_with_its_unsent_changes() {
        let lost = Verdict::Lost(Evicted { detected_at: 9.0, lost_unsent: 3, last_seen_at: 5.0 });
        assert_eq!(verdict(Some(&marker("a", 3)), Instance::Missing, 9.0), lost, "recreated by this open");
        assert_eq!(verdict(Some(&marker("a", 3)), Instance::Id("b"), 9.0), lost, "recreated by another tab's open");
        assert_eq!(verdict(Some(&marker("a", 3)), Instance::Id("a"), 9.0), Verdict::Known);
    }

    #[test]
    fn no_marker_is_a_new_device_or_one_from_before_markers() {
        assert_eq!(verdict(None, Instance::Missing, 9.0), Verdict::Known);
        assert_eq!(verdict(None, Instance::Id("a"), 9.0), Verdict::Known);
    }

    #[test]
    fn an_unreadable_id_is_no_eviction() {
        assert_eq!(verdict(Some(&marker("a", 3)), Instance::Unreadable, 9.0), Verdict::Known);
        assert_eq!(verdict(None, Instance::Unreadable, 9.0), Verdict::Known);
    }
}
