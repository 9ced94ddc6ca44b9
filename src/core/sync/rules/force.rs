//! What a force push and a force pull do to records and entries. Both are destructive and
//! explicit: a force push makes the server take the local version of every queued change of its
//! collections, whatever it holds; a force pull makes the local data the server's, pulled from
//! the start.
//!
//! A force pull runs in three steps: [`begin_pull`] marks the records to be taken again (a
//! synced record the server has not confirmed: `serverVersion` none), the pull from the start
//! takes the server's version of every record it has, and [`swept`] removes what is still
//! marked once the pull is complete: the records the server does not have.

use crate::core::meta::RecordMeta;
use crate::core::status::RecordStatus;

use super::super::entry::{Entry, Hold};
use super::RecordStep;

/// The collections a force applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    All,
    Only(Vec<String>),
}

impl Scope {
    pub fn contains(&self, collection: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Only(list) => list.iter().any(|c| c == collection),
        }
    }

    /// The names, for the log (empty: all collections).
    pub fn names(&self) -> Vec<String> {
        match self {
            Scope::All => Vec::new(),
            Scope::Only(list) => list.clone(),
        }
    }
}

/// A destructive sync the caller asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Force {
    /// The server takes the local version of every queued change in the scope.
    Push(Scope),
    /// Local data in the scope becomes the server's. `keep_local`: queued changes are kept and
    /// re-applied on top of the server's fresh state (as conflicts where the server changed the
    /// record, settled by the collection's strategy); otherwise they are dropped.
    Pull { scope: Scope, keep_local: bool },
}

/// What a force push does to one queued entry: marked forced, and let go if a conflict held it
/// (the conflict goes: the server takes the local version). A dead letter stays one: the server
/// refused the change for what it is, not for its version. `None`: left as it is.
///
/// An entry sent before takes a new mutation id (from `new_id`): the server answers a repeated
/// id with its first answer, which may be the conflict the force is meant to overcome. Sending
/// the change again under a new id is safe even if the first send was applied: the server
/// applies a change that leaves the record as it is without writing anything.
pub fn force_entry(entry: &Entry, new_id: impl FnOnce() -> String) -> Option<Entry> {
    if entry.hold == Some(Hold::Failed) || (entry.force && entry.hold.is_none()) {
        return None;
    }
    let (mutation_id, attempts) = if entry.attempts > 0 { (new_id(), 0) } else { (entry.mutation_id.clone(), 0) };
    Some(Entry { force: true, hold: None, mutation_id, attempts, ..entry.clone() })
}

/// The record of a conflict a force push lets go: pending again (its change is queued).
pub fn force_record(meta: &RecordMeta) -> RecordStep {
    if meta.status == RecordStatus::Conflict {
        RecordStep::Meta(RecordMeta { status: RecordStatus::Pending, ..meta.clone() })
    } else {
        RecordStep::Keep
    }
}

/// What the start of a force pull does to one record. `queued`: it has queued changes (kept only
/// with `keep_local`; dropped otherwise, by the caller).
///
/// A record whose changes are kept stays as it is: the pull finds its conflicts. Any other is
/// marked to be taken again (a live one) or goes (a tombstone: its delete is dropped, and the
/// server's version, if any, comes back).
pub fn begin_pull(meta: &RecordMeta, queued: bool, keep_local: bool) -> RecordStep {
    if queued && keep_local {
        return RecordStep::Keep;
    }
    if meta.deleted {
        return RecordStep::Remove;
    }
    RecordStep::Meta(RecordMeta { server_version: None, status: RecordStatus::Synced, ..meta.clone() })
}

/// The collections to sweep once the pull from the start is complete: those already due
/// (`before`), and `more`.
pub fn widen_sweep(before: Option<Scope>, more: &Scope) -> Scope {
    match (before, more) {
        (Some(Scope::Only(mut names)), Scope::Only(more)) => {
            for name in more {
                if !names.contains(name) {
                    names.push(name.clone());
                }
            }
            Scope::Only(names)
        }
        (Some(_), _) => Scope::All,
        (None, more) => more.clone(),
    }
}

/// Whether a record is still marked once the pull from the start is complete: the server does
/// not have it, so it goes. A record with queued changes (created here, or kept) stays.
pub fn swept(meta: &RecordMeta, queued: bool) -> bool {
    !queued && meta.server_version.is_none() && meta.status == RecordStatus::Synced
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::outbox::Op;

    #[test]
    fn sweeps_add_up() {
        let only = |names: &[&str]| Scope::Only(names.iter().map(|n| n.to_string()).collect());
        assert_eq!(widen_sweep(None, &only(&["a"])), only(&["a"]));
        assert_eq!(widen_sweep(Some(only(&["a"])), &only(&["b", "a"])), only(&["a", "b"]));
        assert_eq!(widen_sweep(Some(only(&["a"])), &Scope::All), Scope::All);
        assert_eq!(widen_sweep(Some(Scope::All), &only(&["a"])), Scope::All);
    }

    fn entry(hold: Option<Hold>, force: bool) -> Entry {
        Entry {
            seq: 1,
            mutation_id: "m".into(),
            collection: "c".into(),
            record_id: "a".into(),
            op: Op::Update,
            base_version: Some(2),
            attempts: 1,
            hold,
            force,
        }
    }

    fn meta(server_version: Option<u64>, status: RecordStatus, deleted: bool) -> RecordMeta {
        RecordMeta { version: 3, server_version, status, updated_at: 5.0, deleted }
    }

    #[test]
    fn a_force_push_marks_queued_and_held_changes_but_not_dead_letters() {
        let new_id = || "n".to_string();
        let forced = force_entry(&entry(None, false), new_id).unwrap();
        assert!(forced.force && forced.hold.is_none());
        assert_eq!((forced.mutation_id.as_str(), forced.attempts), ("n", 0), "sent before: a new id");
        let unsent = force_entry(&Entry { attempts: 0, ..entry(None, false) }, new_id).unwrap();
        assert_eq!(unsent.mutation_id, "m", "never sent: its own id");
        let released = force_entry(&entry(Some(Hold::Conflict), false), new_id).unwrap();
        assert!(released.force && released.hold.is_none(), "the conflict lets go of it");
        assert_eq!(released.mutation_id, "n", "the old id's answer is the conflict");
        assert_eq!(force_entry(&entry(Some(Hold::Failed), false), new_id), None);
        assert_eq!(force_entry(&entry(None, true), new_id), None, "already forced");
        assert!(matches!(
            force_record(&meta(Some(1), RecordStatus::Conflict, false)),
            RecordStep::Meta(RecordMeta { status: RecordStatus::Pending, .. })
        ));
        assert_eq!(force_record(&meta(Some(1), RecordStatus::Pending, false)), RecordStep::Keep);
    }

    #[test]
    fn a_force_pull_marks_records_and_sweeps_what_the_server_lacks() {
        let synced = meta(Some(4), RecordStatus::Synced, false);
        let marked = begin_pull(&synced, false, false);
        let RecordStep::Meta(m) = &marked else { panic!("{marked:?}") };
        assert_eq!((m.server_version, m.status), (None, RecordStatus::Synced));
        assert!(swept(m, false), "not taken again by the pull: the server lacks it");
        assert!(!swept(&synced, false), "taken again: the server has it");
        // Pending changes: dropped (marked like any other), or kept as they are.
        let pending = meta(Some(4), RecordStatus::Pending, false);
        assert!(matches!(begin_pull(&pending, true, false), RecordStep::Meta(_)));
        assert_eq!(begin_pull(&pending, true, true), RecordStep::Keep);
        // A local delete dropped: the tombstone goes, the server's record comes back if it has one.
        assert_eq!(begin_pull(&meta(Some(4), RecordStatus::Pending, true), true, false), RecordStep::Remove);
        // Created here and kept: never swept.
        assert!(!swept(&meta(None, RecordStatus::Pending, false), true));
        assert!(scope_checks());
    }

    fn scope_checks() -> bool {
        Scope::All.contains("x") && Scope::Only(vec!["a".into()]).contains("a") && !Scope::Only(vec![]).contains("a")
    }
}
