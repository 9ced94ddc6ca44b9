//! What a check of the stored records (`db.checkIntegrity()`) does with a record whose `_sync`
//! metadata does not decode (written by hand, by another program, or damaged), and the tally
//! it reports. Reads return such a record as stored until then; a pulled change of it sets it
//! aside too (docs/sync.md, *Damaged rows*).

use super::meta::RecordMeta;
use super::status::RecordStatus;

/// What takes the place of a damaged record. Either way its raw value goes to the sync log.
#[derive(Debug, Clone, PartialEq)]
pub enum RecordRepair {
    /// Changes of it are still queued, so its fields are the person's unsent work: kept, with
    /// metadata rebuilt as for a record the server has not seen. The next push sends it as a
    /// create; the server's copy, if it has one, meets it as a conflict, settled by the
    /// collection's strategy with both versions at hand.
    Rebuild(RecordMeta),
    /// Nothing of it is queued: deleted here, and the pull starts over, so that the server's
    /// version comes back if it has one (applying a change twice is harmless).
    SetAside,
}

/// The repair of a damaged record; `queued`: whether the outbox holds changes of it.
pub fn repair(queued: bool, now: f64) -> RecordRepair {
    if !queued {
        return RecordRepair::SetAside;
    }
    RecordRepair::Rebuild(RecordMeta {
        version: 1,
        server_version: None,
        status: RecordStatus::Pending,
        updated_at: now,
        deleted: false,
    })
}

/// What a check found, also handed to its progress callback after each page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Records read so far.
    pub checked: u64,
    /// Of all collections, known when the check starts (records written meanwhile may add to
    /// `checked` beyond it).
    pub total: u64,
    pub set_aside: u64,
    pub rebuilt: u64,
}

impl Tally {
    /// Counts one page of `read` records and the repairs made in it.
    pub fn page(&mut self, read: u64, repairs: &[RecordRepair]) {
        self.checked += read;
        for r in repairs {
            match r {
                RecordRepair::SetAside => self.set_aside += 1,
                RecordRepair::Rebuild(_) => self.rebuilt += 1,
            }
        }
    }
}

/// Whether `repairs` set a record aside, so that the pull must start over.
pub fn repull(repairs: &[RecordRepair]) -> bool {
    repairs.contains(&RecordRepair::SetAside)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_with_queued_changes_is_kept_as_never_seen_by_the_server() {
        let RecordRepair::Rebuild(meta) = repair(true, 42.0) else { panic!("kept") };
        assert_eq!(
            (meta.version, meta.server_version, meta.status, meta.updated_at, meta.deleted),
            (1, None, RecordStatus::Pending, 42.0, false)
        );
    }

    #[test]
    fn a_record_with_nothing_queued_is_set_aside_and_pulled_again() {
        assert_eq!(repair(false, 42.0), RecordRepair::SetAside);
        let mut tally = Tally { total: 10, ..Tally::default() };
        tally.page(4, &[]);
        assert!(!repull(&[]) && !repull(&[repair(true, 1.0)]));
        let repairs = [repair(false, 1.0), repair(true, 1.0), repair(false, 1.0)];
        tally.page(6, &repairs);
        assert_eq!(tally, Tally { checked: 10, total: 10, set_aside: 2, rebuilt: 1 });
        assert!(repull(&repairs));
    }
}
