//! What one local write does: refused, nothing, or the record stored (with its metadata) and the
//! outbox coalesced ([`super::outbox::plan`]). The IndexedDB edge and the in-memory store both
//! carry out these steps; the record data itself (a patch merged, fields copied) is theirs.

use super::error::{Error, ErrorKind, Result};
use super::meta::RecordMeta;
use super::outbox::{plan, write_op, Op, Plan, Queued};

/// What the caller asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    /// Add a record; an existing live record with this id is an error.
    Create,
    /// Create or replace.
    Put,
    /// Merge a patch into an existing record.
    Update,
    /// Replace the user fields of an existing record.
    Replace,
    Delete,
}

/// The newest outbox entry of a record, and where it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Newest {
    /// `None` for an entry added earlier in the same transaction (its key is not known yet).
    pub seq: Option<u64>,
    pub queued: Queued,
}

/// What is stored under the id, as far as the write needs to know.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Current {
    pub meta: Option<RecordMeta>,
    pub newest: Option<Newest>,
}

/// Where the stored record's fields come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fields {
    /// The data the caller gave.
    Given,
    /// The caller's patch merged over the current fields.
    Merged,
    /// None: a tombstone keeps only the id and the metadata.
    Tombstone,
}

/// What happens to the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queue {
    /// A new entry at the end, based on this server version.
    Append { op: Op, base_version: Option<u64> },
    /// The newest entry (never sent) takes this op, in place.
    Rewrite { op: Op },
    /// The newest entry already covers the write.
    Keep,
}

#[derive(Debug, Clone, PartialEq)]
pub enum WriteStep {
    /// A delete of a record that is not here: nothing changes.
    Nothing,
    /// Created and deleted before any push: the record and its entry go.
    Cancel,
    /// The record is stored with `meta`; `change` is what listeners hear.
    Store { meta: RecordMeta, fields: Fields, queue: Queue, change: Op },
}

impl WriteStep {
    /// Change in the number of entries that can be sent: a change queued behind a conflict or a
    /// dead letter waits for a decision, so it does not count.
    pub fn pending_delta(&self) -> i64 {
        match self {
            WriteStep::Store { queue: Queue::Append { .. }, meta, .. } if !meta.status.is_held() => 1,
            WriteStep::Cancel => -1,
            _ => 0,
        }
    }

    /// Whether the entry this step appends keeps the record's current data as its base (for a
    /// three-way merge): only when that data is the server's, that is when the record is synced.
    /// A change queued behind others gets its base when the one before it is acknowledged.
    pub fn keeps_base(current: &Current) -> bool {
        current.meta.as_ref().is_some_and(|m| m.status == crate::core::status::RecordStatus::Synced)
    }

    /// What `current` becomes once the step is carried out (`appended_seq`: the key of an entry it
    /// appended, when the store knows it).
    pub fn next(&self, current: &Current, appended_seq: Option<u64>) -> Current {
        match self {
            WriteStep::Nothing => current.clone(),
            WriteStep::Cancel => Current::default(),
            WriteStep::Store { meta, queue, .. } => {
                let newest = match *queue {
                    Queue::Append { op, .. } => Some(Newest {
                        seq: appended_seq,
                        queued: Queued { op, sent: false, held: false, forced: false },
                    }),
                    Queue::Rewrite { op } => current.newest.map(|n| Newest { queued: Queued { op, ..n.queued }, ..n }),
                    Queue::Keep => current.newest,
                };
                Current { meta: Some(meta.clone()), newest }
            }
        }
    }
}

/// The step for writing `intent` to `collection`/`id` over `current`, at `now`.
pub fn plan_write(intent: Intent, current: &Current, collection: &str, id: &str, now: f64) -> Result<WriteStep> {
    let live = current.meta.as_ref().is_some_and(|m| !m.deleted);
    let tombstone = current.meta.as_ref().is_some_and(|m| m.deleted);
    let fields = match intent {
        Intent::Create if live => {
            return Err(Error::new(
                ErrorKind::RecordExists,
                format!("a record \"{id}\" already exists in \"{collection}\""),
            ))
        }
        Intent::Update | Intent::Replace if !live => {
            return Err(Error::new(ErrorKind::RecordNotFound, format!("no record \"{id}\" in \"{collection}\"")))
        }
        Intent::Delete if !live => return Ok(WriteStep::Nothing),
        Intent::Create | Intent::Put | Intent::Replace => Fields::Given,
        Intent::Update => Fields::Merged,
        Intent::Delete => Fields::Tombstone,
    };
    let is_delete = fields == Fields::Tombstone;
    let queue = match plan(current.newest.map(|n| n.queued), write_op(live, tombstone, is_delete)) {
        Plan::Cancel => return Ok(WriteStep::Cancel),
        Plan::Append(op) => Queue::Append { op, base_version: current.meta.as_ref().and_then(|m| m.server_version) },
        Plan::Rewrite(op) => Queue::Rewrite { op },
        Plan::Keep => Queue::Keep,
    };
    let meta = match (&current.meta, is_delete) {
        (Some(prev), true) => RecordMeta::after_delete(prev, now),
        (prev, _) => RecordMeta::after_write(prev.as_ref(), now),
    };
    let change = if is_delete {
        Op::Delete
    } else if live {
        Op::Update
    } else {
        Op::Create
    };
    Ok(WriteStep::Store { meta, fields, queue, change })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::status::RecordStatus;

    fn synced() -> Current {
        Current {
            meta: Some(RecordMeta {
                version: 2,
                server_version: Some(5),
                status: RecordStatus::Synced,
                updated_at: 1.0,
                deleted: false,
            }),
            newest: None,
        }
    }

    #[test]
    fn refusals() {
        let e = plan_write(Intent::Create, &synced(), "tasks", "a", 2.0).unwrap_err();
        assert_eq!(e.kind, ErrorKind::RecordExists);
        assert!(e.message.contains("\"a\"") && e.message.contains("\"tasks\""));
        for intent in [Intent::Update, Intent::Replace] {
            assert_eq!(
                plan_write(intent, &Current::default(), "tasks", "a", 2.0).unwrap_err().kind,
                ErrorKind::RecordNotFound
            );
        }
        assert_eq!(plan_write(Intent::Delete, &Current::default(), "tasks", "a", 2.0).unwrap(), WriteStep::Nothing);
    }

    #[test]
    fn a_write_of_a_synced_record_queues_an_update_on_its_server_version() {
        let step = plan_write(Intent::Update, &synced(), "tasks", "a", 2.0).unwrap();
        let WriteStep::Store { meta, fields, queue, change } = &step else { panic!("{step:?}") };
        assert_eq!(
            (meta.version, meta.status, *fields, *change),
            (3, RecordStatus::Pending, Fields::Merged, Op::Update)
        );
        assert_eq!(*queue, Queue::Append { op: Op::Update, base_version: Some(5) });
        assert_eq!(step.pending_delta(), 1);
        let next = step.next(&synced(), Some(9));
        assert_eq!(
            next.newest,
            Some(Newest { seq: Some(9), queued: Queued { op: Op::Update, sent: false, held: false, forced: false } })
        );
        // Deleted in the same transaction: the unsent update becomes a delete, in place.
        let step = plan_write(Intent::Delete, &next, "tasks", "a", 3.0).unwrap();
        assert!(matches!(
            step,
            WriteStep::Store { queue: Queue::Rewrite { op: Op::Delete }, fields: Fields::Tombstone, .. }
        ));
    }

    #[test]
    fn a_create_then_delete_before_any_push_leaves_nothing() {
        let step = plan_write(Intent::Create, &Current::default(), "tasks", "a", 2.0).unwrap();
        assert!(matches!(
            step,
            WriteStep::Store { change: Op::Create, queue: Queue::Append { op: Op::Create, base_version: None }, .. }
        ));
        let next = step.next(&Current::default(), Some(1));
        let step = plan_write(Intent::Delete, &next, "tasks", "a", 3.0).unwrap();
        assert_eq!((step.clone(), step.pending_delta()), (WriteStep::Cancel, -1));
        assert_eq!(step.next(&next, None), Current::default());
    }
}
