//! The rules a server applies to one mutation: its shape ([`Mutation::check`]) and the version rule
//! ([`decide`]).

use super::codes;
use super::names::{check_collection, check_record_id, check_space, Rejection};
use super::push::{Mutation, Op};

/// A checked mutation's effect.
#[derive(Debug, PartialEq)]
pub enum Change<'a, D> {
    Upsert(&'a D),
    Delete,
}

impl<D> Clone for Change<'_, D> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<D> Copy for Change<'_, D> {}

impl<D> Mutation<D> {
    /// The checks every server makes on one mutation, independent of the data's format: a valid
    /// collection name and id, data on an upsert and none on a delete. (The reference server
    /// also requires the data to be a JSON object within its size limit.)
    pub fn check(&self) -> Result<Change<'_, D>, Rejection> {
        check_collection(&self.collection)?;
        check_record_id(&self.id)?;
        if let Some(space) = &self.space {
            check_space(space)?;
        }
        match (self.op, &self.data) {
            (Op::Upsert, Some(data)) => Ok(Change::Upsert(data)),
            (Op::Upsert, None) => Err(Rejection::new(codes::INVALID_DATA, "an upsert needs data")),
            (Op::Delete, None) => Ok(Change::Delete),
            (Op::Delete, Some(_)) => Err(Rejection::new(codes::INVALID_DATA, "a delete takes no data")),
        }
    }
}

// ----- version and conflict rules -----

/// A record's state on the server, as far as [`decide`] needs it.
#[derive(Debug, PartialEq)]
pub struct Current<'a, D> {
    pub version: u64,
    pub deleted: bool,
    /// `None` for a tombstone.
    pub data: Option<&'a D>,
}

impl<D> Clone for Current<'_, D> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<D> Copy for Current<'_, D> {}

/// What the server does with a mutation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The record already is what the mutation asks for: nothing is written, and the answer is
    /// "applied" at the current version (which is 0 for a delete of a record never held).
    Unchanged { version: u64 },
    /// Write the record at this new version (`deleted` for a delete), and answer "applied".
    Write { version: u64, deleted: bool },
    /// Answer "conflict" with the current record; nothing is written.
    Conflict,
}

/// The version rule, in three steps:
///
/// 1. If the record already is what the mutation asks for (an upsert whose data equals the live
///    record's data, or a delete of a record that is deleted or was never held), the mutation is
///    applied without a change, whatever its `baseVersion`: concurrent identical writes and
///    repeated deletes converge instead of conflicting.
/// 2. Otherwise the base must match: `baseVersion` equal to the record's version (a record never
///    held has version 0), or `null` while the record is not live (never held, or a tombstone:
///    the client believes it does not exist, and it does not). Then the record is written at
///    version + 1.
/// 3. Otherwise it is a conflict, and nothing changes, unless the mutation is `force`d: then the
///    record is written at version + 1 whatever the base.
pub fn decide<D: PartialEq>(
    current: Option<Current<'_, D>>,
    change: Change<'_, D>,
    base_version: Option<u64>,
    force: bool,
) -> Decision {
    let (version, live, data) = match current {
        Some(c) => (c.version, !c.deleted, if c.deleted { None } else { c.data }),
        None => (0, false, None),
    };
    let unchanged = match change {
        Change::Delete => !live,
        Change::Upsert(new) => live && data == Some(new),
    };
    if unchanged {
        return Decision::Unchanged { version };
    }
    let base_matches = force
        || match base_version {
            None => !live,
            Some(base) => base == version,
        };
    if base_matches {
        Decision::Write { version: version + 1, deleted: matches!(change, Change::Delete) }
    } else {
        Decision::Conflict
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::test_support::*;

    #[test]
    fn mutation_check() {
        let base = Mutation::<Todo> {
            mutation_id: mid(),
            collection: "todos".into(),
            id: "a".into(),
            op: Op::Upsert,
            data: Some(todo("x")),
            base_version: None,
            force: false,
            written_at: None,
            space: None,
        };
        assert!(matches!(base.check(), Ok(Change::Upsert(_))));
        let with = |f: &dyn Fn(&mut Mutation<Todo>)| {
            let mut m = base.clone();
            f(&mut m);
            m.check().map(|_| ()).map_err(|r| r.code)
        };
        assert_eq!(with(&|m| m.collection.clear()), Err(codes::INVALID_COLLECTION));
        assert_eq!(with(&|m| m.collection = "x".repeat(129)), Err(codes::INVALID_COLLECTION));
        assert_eq!(with(&|m| m.collection = "x".repeat(128)), Ok(()));
        assert_eq!(with(&|m| m.collection = "a\nb".into()), Err(codes::INVALID_COLLECTION));
        assert_eq!(with(&|m| m.id.clear()), Err(codes::INVALID_ID));
        assert_eq!(with(&|m| m.id = "é".repeat(129)), Err(codes::INVALID_ID));
        assert_eq!(with(&|m| m.id = "a\0".into()), Err(codes::INVALID_ID));
        assert_eq!(with(&|m| m.data = None), Err(codes::INVALID_DATA));
        assert_eq!(with(&|m| m.space = Some("project-1".into())), Ok(()));
        assert_eq!(with(&|m| m.space = Some(String::new())), Err(codes::INVALID_SPACE));
        assert_eq!(with(&|m| m.space = Some("x".repeat(129))), Err(codes::INVALID_SPACE));
        assert_eq!(with(&|m| m.space = Some("a\tb".into())), Err(codes::INVALID_SPACE));
        assert_eq!(
            with(&|m| {
                m.op = Op::Delete;
            }),
            Err(codes::INVALID_DATA)
        );
        assert_eq!(
            with(&|m| {
                m.op = Op::Delete;
                m.data = None;
            }),
            Ok(())
        );
    }

    fn cur(version: u64, deleted: bool, data: Option<&Todo>) -> Option<Current<'_, Todo>> {
        Some(Current { version, deleted, data })
    }

    #[test]
    fn version_rules() {
        let a = todo("a");
        let b = todo("b");
        let up = Change::Upsert(&b);
        use Decision::*;
        // Never held: create with null (or 0); a stale base conflicts; delete is a no-op.
        assert_eq!(decide(None, up, None, false), Write { version: 1, deleted: false });
        assert_eq!(decide(None, up, Some(0), false), Write { version: 1, deleted: false });
        assert_eq!(decide(None, up, Some(3), false), Conflict);
        assert_eq!(decide(None, Change::<Todo>::Delete, Some(3), false), Unchanged { version: 0 });
        assert_eq!(decide(None, Change::<Todo>::Delete, None, false), Unchanged { version: 0 });
        // Live at 2.
        assert_eq!(decide(cur(2, false, Some(&a)), up, Some(2), false), Write { version: 3, deleted: false });
        assert_eq!(decide(cur(2, false, Some(&a)), up, Some(1), false), Conflict);
        assert_eq!(decide(cur(2, false, Some(&a)), up, None, false), Conflict);
        assert_eq!(
            decide(cur(2, false, Some(&a)), Change::Delete, Some(2), false),
            Write { version: 3, deleted: true }
        );
        assert_eq!(decide(cur(2, false, Some(&a)), Change::Delete, Some(1), false), Conflict);
        assert_eq!(decide(cur(2, false, Some(&a)), Change::Delete, None, false), Conflict);
        // Identical data converges whatever the base, without a new version.
        assert_eq!(decide(cur(2, false, Some(&b)), up, Some(1), false), Unchanged { version: 2 });
        assert_eq!(decide(cur(2, false, Some(&b)), up, None, false), Unchanged { version: 2 });
        assert_eq!(decide(cur(2, false, Some(&b)), up, Some(2), false), Unchanged { version: 2 });
        // Tombstone at 3: recreate with null or 3; stale base conflicts; deletes converge.
        assert_eq!(decide(cur(3, true, None), up, None, false), Write { version: 4, deleted: false });
        assert_eq!(decide(cur(3, true, None), up, Some(3), false), Write { version: 4, deleted: false });
        assert_eq!(decide(cur(3, true, None), up, Some(2), false), Conflict);
        assert_eq!(decide(cur(3, true, None), Change::Delete, Some(1), false), Unchanged { version: 3 });
        assert_eq!(decide(cur(3, true, None), Change::Delete, None, false), Unchanged { version: 3 });
        // Forced: written whatever the base; what already is stays unchanged.
        assert_eq!(decide(cur(2, false, Some(&a)), up, Some(1), true), Write { version: 3, deleted: false });
        assert_eq!(decide(cur(2, false, Some(&a)), Change::Delete, None, true), Write { version: 3, deleted: true });
        assert_eq!(decide(cur(2, false, Some(&b)), up, Some(1), true), Unchanged { version: 2 });
    }
}
