//! What a force push and a force pull do to records and entries. Both are destructive and
//! explicit: a force push makes the server take the local version of every queued change of its
//! collections, whatever it holds; a force pull makes the local data the server's, pulled from
//! the start.
//!
//! A force pull runs in three steps: [`begin_pull`] marks the records to be taken again (a
//! synced record the server has not confirmed: `serverVersion` none), the pull from the start
//! takes the server's version of every record it has, and [`swept`] removes what is still
//! marked once the pull is complete: the records the server does not have.

use crate::core::error::{Error, ErrorKind, Result};
use crate::core::meta::RecordMeta;
use crate::core::sent::{Sends, SentMark};
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
    /// A force pull of some spaces: the records of collections with a space field whose field,
    /// as the record is here, holds one of `spaces` ([`in_spaces`]). Records of other spaces and
    /// of no space, their queued changes and their cursors are untouched. Every space must be
    /// one the device syncs ([`check_spaces`]). `keep_local` as for [`Force::Pull`].
    ///
    /// A variant of its own rather than a third [`Scope`]: a scope is also a force push's, and
    /// the sweep it leaves adds to those of collections ([`Sweep`]).
    PullSpaces { spaces: Vec<String>, keep_local: bool },
}

/// Why a force pull of `spaces` is refused before anything changes (`InvalidOptions`): no space
/// named, or one the device does not sync (`synced` says which it does). Pulling a space from
/// its start is only meaningful for a space whose cursor this device keeps; syncing a new one is
/// adding it.
pub fn check_spaces(spaces: &[String], synced: impl Fn(&str) -> bool) -> Result<()> {
    if spaces.is_empty() {
        return Err(Error::new(ErrorKind::InvalidOptions, "a force pull by space needs at least one space"));
    }
    match spaces.iter().find(|s| !synced(s)) {
        Some(space) => {
            Err(Error::new(ErrorKind::InvalidOptions, format!("space \"{space}\" is not synced on this device")))
        }
        None => Ok(()),
    }
}

/// Whether a record whose space here is `space` (its space field's value in the local data;
/// `None` for no space, a tombstone, or a collection without a space field) is in a force pull
/// of `spaces`. A record of no space never is.
pub fn in_spaces(spaces: &[String], space: Option<&str>) -> bool {
    space.is_some_and(|s| spaces.iter().any(|f| f == s))
}

/// Whether a force pull of spaces must forget every cursor, not only its spaces', because of
/// this record of its spaces: the server's version of the record may then be in another space
/// this device syncs (or in none), behind that space's cursor, and only a pull from the start
/// brings it back before the sweep (or a `left` entry of the space) removes the copy here. So it
/// is when the force drops the record's queued changes (`queued` and not `keep_local`: a dropped
/// change may have moved the record into the space here), and when the record is in conflict
/// with nothing queued (a pulled version that clashed on a unique index: the conflict holds a
/// version already pulled, maybe from another space, and the force drops it or marks the stale
/// copy). A record whose changes are kept stays as it is, its conflict (if any) settled as
/// usual; any other record of the space is as the server last sent it, and a newer version
/// elsewhere is still ahead of its space's cursor.
pub fn forgets_every_cursor(queued: bool, in_conflict: bool, keep_local: bool) -> bool {
    if queued {
        !keep_local
    } else {
        in_conflict
    }
}

/// What a force push does to one queued entry: marked forced, and let go if a conflict held it
/// (the conflict goes: the server takes the local version). A dead letter stays one: the server
/// refused the change for what it is, not for its version. `None`: left as it is.
///
/// An entry that may have been sent (`mark`: the sent mark, read in the same transaction) takes
/// a new mutation id (from `new_id`), never sent under it: the server answers a repeated id with
/// its first answer, which may be the conflict the force is meant to overcome. Sending the change
/// again under a new id is safe even if the first send was applied: the server applies a change
/// that leaves the record as it is without writing anything.
pub fn force_entry(entry: &Entry, mark: SentMark, new_id: impl FnOnce() -> String) -> Option<Entry> {
    if entry.hold == Some(Hold::Failed) || (entry.force && entry.hold.is_none()) {
        return None;
    }
    let forced = Entry { force: true, hold: None, ..entry.clone() };
    Some(match mark.may_have_sent(Some(entry.seq), entry.sends()) {
        true => Entry { mutation_id: new_id(), ..forced }.with_sends(Sends::renewed()),
        false => forced,
    })
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

/// What a sweep removes once the pull from the start is complete: the marked records of some
/// collections (a force pull of collections, a discarded change), and those of some spaces (a
/// force pull of spaces). Several forces before one complete pull add up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sweep {
    /// The collections swept (`None`: none).
    pub collections: Option<Scope>,
    /// The spaces swept: a record whose space, as it is here, is one of these.
    pub spaces: Vec<String>,
}

impl Sweep {
    /// Whether a sweep is due: a force pull (or a discard) is under way.
    pub fn is_due(&self) -> bool {
        self.collections.is_some() || !self.spaces.is_empty()
    }

    /// Adds the collections of `scope`.
    pub fn add_collections(&mut self, scope: &Scope) {
        self.collections = Some(widen_sweep(self.collections.take(), scope));
    }

    /// Adds `spaces`.
    pub fn add_spaces(&mut self, spaces: &[String]) {
        for space in spaces {
            if !self.spaces.contains(space) {
                self.spaces.push(space.clone());
            }
        }
    }

    /// Whether a record of `collection` whose space here is `space` is in the sweep: a record is
    /// removed only once the pull from the start of its own collection or space is complete (a
    /// force pull of spaces forgets only their cursors).
    pub fn covers(&self, collection: &str, space: Option<&str>) -> bool {
        self.collections.as_ref().is_some_and(|c| c.contains(collection)) || in_spaces(&self.spaces, space)
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
            never_sent: false,
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
        let none = SentMark(0);
        let forced = force_entry(&entry(None, false), none, new_id).unwrap();
        assert!(forced.force && forced.hold.is_none());
        assert_eq!((forced.mutation_id.as_str(), forced.sends()), ("n", Sends::renewed()), "sent before: a new id");
        let unsent = Entry { attempts: 0, ..entry(None, false) };
        let kept = force_entry(&unsent, none, new_id).unwrap();
        assert_eq!((kept.mutation_id.as_str(), kept.sends()), ("m", unsent.sends()), "never sent: its own id");
        // Sent as far as the mark tells (its key is covered), unless flagged never sent.
        let covered = force_entry(&unsent, SentMark(1), new_id).unwrap();
        assert_eq!((covered.mutation_id.as_str(), covered.sends()), ("n", Sends::renewed()));
        let flagged = Entry { never_sent: true, ..unsent.clone() };
        assert_eq!(force_entry(&flagged, SentMark(1), new_id).unwrap().mutation_id, "m");
        let released = force_entry(&entry(Some(Hold::Conflict), false), none, new_id).unwrap();
        assert!(released.force && released.hold.is_none(), "the conflict lets go of it");
        assert_eq!(released.mutation_id, "n", "the old id's answer is the conflict");
        assert_eq!(force_entry(&entry(Some(Hold::Failed), false), none, new_id), None);
        assert_eq!(force_entry(&entry(None, true), none, new_id), None, "already forced");
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

    #[test]
    fn a_force_pull_by_space_names_spaces_the_device_syncs() {
        let synced = |s: &str| s == "p1" || s == "p2";
        assert_eq!(check_spaces(&["p1".into(), "p2".into()], synced), Ok(()));
        let unknown = check_spaces(&["p1".into(), "p9".into()], synced).unwrap_err();
        assert_eq!(unknown.kind, ErrorKind::InvalidOptions);
        assert!(unknown.message.contains("\"p9\""), "{}", unknown.message);
        assert_eq!(check_spaces(&[], synced).unwrap_err().kind, ErrorKind::InvalidOptions);
    }

    #[test]
    fn a_force_pull_by_space_takes_the_records_of_its_spaces_as_they_are_here() {
        let spaces = ["p1".to_string(), "p2".to_string()];
        assert!(in_spaces(&spaces, Some("p1")) && in_spaces(&spaces, Some("p2")));
        assert!(!in_spaces(&spaces, Some("p3")));
        assert!(!in_spaces(&spaces, None), "no space (a tombstone, a collection without a space field)");
    }

    #[test]
    fn a_force_pull_by_space_forgets_every_cursor_only_for_a_record_that_may_be_elsewhere() {
        assert!(!forgets_every_cursor(false, false, false), "as the server last sent it");
        assert!(!forgets_every_cursor(true, false, true), "its changes kept: pushed on top");
        assert!(!forgets_every_cursor(true, true, true), "kept with its conflict, settled as usual");
        assert!(forgets_every_cursor(true, false, false), "a dropped change may have moved it here");
        assert!(forgets_every_cursor(true, true, false));
        for keep_local in [false, true] {
            assert!(forgets_every_cursor(false, true, keep_local), "a clash holds a version pulled from elsewhere");
        }
    }

    #[test]
    fn a_sweep_covers_its_collections_and_its_spaces() {
        let mut sweep = Sweep::default();
        assert!(!sweep.is_due() && !sweep.covers("notes", Some("p1")));
        sweep.add_spaces(&["p1".into()]);
        sweep.add_spaces(&["p2".into(), "p1".into()]);
        assert_eq!(sweep.spaces, vec!["p1".to_string(), "p2".to_string()]);
        assert!(sweep.is_due() && sweep.covers("notes", Some("p1")) && sweep.covers("notes", Some("p2")));
        assert!(!sweep.covers("notes", Some("p3")), "another space's pull may not be complete");
        assert!(!sweep.covers("notes", None), "nor that of no space");
        sweep.add_collections(&Scope::Only(vec!["tags".into()]));
        assert!(sweep.covers("tags", None) && sweep.covers("notes", Some("p2")) && !sweep.covers("notes", None));
        sweep.add_collections(&Scope::All);
        assert!(sweep.covers("notes", None));
    }

    fn scope_checks() -> bool {
        Scope::All.contains("x") && Scope::Only(vec!["a".into()]).contains("a") && !Scope::Only(vec![]).contains("a")
    }
}
