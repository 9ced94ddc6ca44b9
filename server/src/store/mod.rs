//! Storage behind a small trait, with two backends: SQLite ([`sqlite`]) and PostgreSQL
//! ([`postgres`]).
//!
//! A store keeps four things per tenant: the records (latest state, tombstones included, each
//! with its space: `""` for none), the answer given to every mutation id (in the compact form of
//! [`answers`]), a change sequence (a counter, +1 on every write) that orders the records for
//! pull, and the departures: for each record that a write moved out of a space, that space, the
//! write's version and its change number, so that a pull of the old space learns it left. The rules for one mutation
//! are the same for every backend and live here ([`plan`]); a backend only supplies the
//! transaction around them.

pub mod answers;
pub mod blobs;
pub mod postgres;
pub mod sqlite;

use std::future::Future;
use std::pin::Pin;

use ferrysync::protocol::{
    self, codes, Change, Current, Decision, LeftRecord, Mutation, MutationResult, Rejection, ServerRecord,
};
use serde_json::value::RawValue;
use serde_json::Value;

pub use sqlite::SqliteStore;

use crate::blobs::refs::blob_hashes;
use blobs::{Appended, BlobState, Chunk, Collected, DeleteObjects, Started};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A storage failure. Nothing of the request is applied when one is returned.
#[derive(Debug)]
pub enum StoreError {
    /// The database is locked by someone else for longer than the busy timeout: retry later.
    Busy,
    /// The conflicts' records would take the answer over this many bytes; nothing was stored.
    AnswerTooLarge { limit: usize },
    /// Anything else (logged, never sent to the client).
    Other(String),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Busy => f.write_str("database busy"),
            StoreError::AnswerTooLarge { limit } => write!(f, "answer over {limit} bytes"),
            StoreError::Other(msg) => f.write_str(msg),
        }
    }
}

impl std::error::Error for StoreError {}

/// One page of a pull.
#[derive(Debug)]
pub struct PullPage {
    /// Records whose last change is after the requested sequence number, in change order. Data
    /// is the stored JSON text, passed through without parsing.
    pub changes: Vec<ServerRecord<Box<RawValue>>>,
    /// The sequence number of the last change in `changes` (the requested one if it is empty).
    pub last_seq: u64,
    pub has_more: bool,
}

/// One space's page of a pull by space (`POST /v1/pull`).
#[derive(Debug, Default)]
pub struct SpacePage {
    /// Records of the space changed after the requested sequence number, in change order.
    pub changes: Vec<ServerRecord<Box<RawValue>>>,
    /// Records that left the space after it, in change order.
    pub left: Vec<LeftRecord>,
    /// The sequence number of the last entry in the page (the requested one if it is empty).
    pub last_seq: u64,
    pub has_more: bool,
}

/// One entry of a space's page, as a backend reads it.
pub enum SpaceEntry {
    Record(ServerRecord<Box<RawValue>>),
    Left(LeftRecord),
}

impl SpaceEntry {
    /// What it counts toward the answer's byte bound ([`record_bytes`]).
    pub fn bytes(&self) -> usize {
        match self {
            SpaceEntry::Record(r) => record_bytes(&r.collection, &r.id, r.data.as_ref().map(|d| d.get())),
            SpaceEntry::Left(l) => record_bytes(&l.collection, &l.id, None),
        }
    }
}

/// How the count and byte bounds of a pull by space are shared between its spaces. A backend
/// reads each space twice at most, in one snapshot:
///
/// 1. each space in request order, up to its fair share ([`SpacesBudget::first_pass`]: the limit
///    divided among the spaces, rounded up), so that one busy space does not starve the others;
/// 2. then, in request order again, the spaces cut by their share, up to what the answer may still
///    carry ([`SpacesBudget::second_pass`]).
///
/// The byte bound is the answer's: an entry that would take the answer over it ends its space's
/// page (and, since every later space would meet the same bound, the answer), except that the
/// answer's first entry is always taken, so that every request makes progress.
pub struct SpacesBudget {
    count_left: u32,
    bytes_left: usize,
    share: u32,
    /// Nothing taken yet: the next entry is taken whatever its size.
    empty: bool,
    /// An entry did not fit in the bytes left.
    full: bool,
}

impl SpacesBudget {
    pub fn new(limits: PullLimits, spaces: usize) -> SpacesBudget {
        let share = limits.count.div_ceil(spaces.max(1) as u32).max(1);
        SpacesBudget { count_left: limits.count, bytes_left: limits.bytes, share, empty: true, full: false }
    }

    /// Most entries a space may take in the first pass (0: only find out whether it has any).
    pub fn first_pass(&self) -> u32 {
        if self.full {
            0
        } else {
            self.share.min(self.count_left)
        }
    }

    /// Most entries a space with more may take in the second pass; `None`: skip it.
    pub fn second_pass(&self, page: &SpacePage) -> Option<u32> {
        (page.has_more && !self.full && self.count_left > 0).then_some(self.count_left)
    }

    /// Records that the next entry did not fit in the bytes left (a backend that applies the byte
    /// bound in its query learns it from the rows it did not get).
    pub fn mark_full(&mut self) {
        if !self.empty {
            self.full = true;
        }
    }

    /// Bytes the answer may still carry, and whether the next entry is taken whatever its size.
    pub fn bytes_left(&self) -> (usize, bool) {
        (self.bytes_left, self.empty)
    }

    /// Offers the next entry of a space (in change order, after `page.last_seq`) that may take at
    /// most `cap` entries in this pass; false when it is not taken (the page then has more).
    pub fn offer(&mut self, page: &mut SpacePage, taken: &mut u32, cap: u32, seq: u64, entry: SpaceEntry) -> bool {
        let size = entry.bytes();
        if *taken >= cap || self.count_left == 0 {
            return false;
        }
        if !self.empty && size > self.bytes_left {
            self.full = true;
            return false;
        }
        self.count_left -= 1;
        self.bytes_left = self.bytes_left.saturating_sub(size);
        self.empty = false;
        *taken += 1;
        page.last_seq = seq;
        match entry {
            SpaceEntry::Record(r) => page.changes.push(r),
            SpaceEntry::Left(l) => page.left.push(l),
        }
        true
    }
}

/// Limits a store applies to a push.
#[derive(Debug, Clone, Copy)]
pub struct MutationLimits {
    /// The server's clock for this push (ms since the epoch): a version is stamped with its
    /// mutation's `writtenAt`, never later than this.
    pub now: u64,
    /// Largest `data`, as compact JSON text, in bytes.
    pub max_record_bytes: usize,
    /// Most bytes of record data (the records of conflicts) in the answer.
    pub max_answer_bytes: usize,
    /// Largest blob a reference in data may name.
    pub max_blob_bytes: u64,
}

/// Bounds of one pull page.
#[derive(Debug, Clone, Copy)]
pub struct PullLimits {
    /// Most records.
    pub count: u32,
    /// Most bytes of records ([`record_bytes`]), except that a page always has one record.
    pub bytes: usize,
}

/// What a record counts toward a page's or an answer's byte bound: its data's JSON text and its
/// names, plus the fixed fields' share.
pub fn record_bytes(collection: &str, id: &str, data: Option<&str>) -> usize {
    collection.len() + id.len() + data.map_or(0, str::len) + 100
}

/// The record bytes an answer may still carry.
pub struct AnswerBudget {
    limit: usize,
    used: usize,
}

impl AnswerBudget {
    pub fn new(limit: usize) -> AnswerBudget {
        AnswerBudget { limit, used: 0 }
    }

    /// Counts a conflict's record; fails once the answer would be over the limit.
    pub fn charge(&mut self, bytes: usize) -> Result<(), StoreError> {
        self.used += bytes;
        if self.used > self.limit {
            return Err(StoreError::AnswerTooLarge { limit: self.limit });
        }
        Ok(())
    }
}

/// The storage of the sync server.
///
/// Every method is one transaction and keeps nothing in memory between calls that matters:
/// several servers over the same database answer the same.
pub trait Store: Send + Sync + 'static {
    /// Applies a batch in one transaction and returns one result per mutation, in order. A
    /// mutation id already answered for this tenant (earlier, or earlier in the same batch) gets
    /// the stored answer again and changes nothing; a stored conflict carries the record as it
    /// is now. Every new answer is stored with its id. When the conflicts' records would take the
    /// answer over `limits.max_answer_bytes`, nothing is stored and the result is
    /// [`StoreError::AnswerTooLarge`].
    fn push(
        &self,
        tenant: String,
        mutations: Vec<Mutation<Value>>,
        limits: MutationLimits,
    ) -> BoxFuture<'_, Result<Vec<MutationResult<Value>>, StoreError>>;

    /// The tenant's records changed after change number `after`, within `limits`; `None` when
    /// `after` is beyond the tenant's last change (a cursor this database never issued, e.g.
    /// from before the database was reset). Never waits for a writer.
    fn pull(
        &self,
        tenant: String,
        after: u64,
        limits: PullLimits,
    ) -> BoxFuture<'_, Result<Option<PullPage>, StoreError>>;

    /// For each `(space, after)` (space `""`: the records without a space), the space's records
    /// changed after change number `after` and the records that left it since, within `limits`
    /// for the whole answer (shared as [`SpacesBudget`] says), all read in one snapshot; one page
    /// per space, in order. `None` when an `after` is beyond the tenant's last change. Reads only
    /// the index entries of the spaces asked for. Never waits for a writer.
    fn pull_spaces(
        &self,
        tenant: String,
        spaces: Vec<(String, u64)>,
        limits: PullLimits,
    ) -> BoxFuture<'_, Result<Option<Vec<SpacePage>>, StoreError>>;

    /// Checks that the storage answers. Never waits for a writer.
    fn ping(&self) -> BoxFuture<'_, Result<(), StoreError>>;

    /// Deletes the stored answers given before `before_ms` (ms since the epoch), in small
    /// transactions; returns how many.
    fn prune(&self, before_ms: u64) -> BoxFuture<'_, Result<u64, StoreError>>;

    /// Where the tenant's blob `hash` is. Never waits for a writer.
    fn blob_state(&self, tenant: String, hash: String) -> BoxFuture<'_, Result<BlobState, StoreError>>;

    /// Starts an upload of `size` bytes if the blob has none and is not complete, when the
    /// tenant's blobs with it stay within `quota` bytes (complete blobs and the declared sizes of
    /// uploads in progress count). One transaction, ordered with the tenant's other starts.
    fn blob_start(
        &self,
        tenant: String,
        hash: String,
        size: u64,
        quota: u64,
        now: u64,
    ) -> BoxFuture<'_, Result<Started, StoreError>>;

    /// Records `chunk` as the upload's next one, if the upload holds exactly `chunk.offset`
    /// bytes and the chunk stays within its size: the check and the advance are one statement,
    /// so of two chunks at one offset one is recorded and the other [`Appended::Lost`].
    fn blob_append(
        &self,
        tenant: String,
        hash: String,
        chunk: Chunk,
        now: u64,
    ) -> BoxFuture<'_, Result<Appended, StoreError>>;

    /// The chunks of the upload in progress, in offset order.
    fn blob_chunks(&self, tenant: String, hash: String) -> BoxFuture<'_, Result<Vec<Chunk>, StoreError>>;

    /// Makes a fully received upload a complete blob (last referenced `now`) and forgets the
    /// upload; returns its chunks, whose objects the caller deletes. Empty when there was no
    /// fully received upload (another process finished or dropped it).
    fn blob_finish(&self, tenant: String, hash: String, now: u64) -> BoxFuture<'_, Result<Vec<Chunk>, StoreError>>;

    /// Forgets the upload in progress (its bytes did not hash to its address); returns its
    /// chunks, whose objects the caller deletes.
    fn blob_drop_upload(&self, tenant: String, hash: String) -> BoxFuture<'_, Result<Vec<Chunk>, StoreError>>;

    /// Deletes, in batches of [`blobs::COLLECT_BATCH`], the complete blobs that no record refers
    /// to and that were last referenced (or completed) before `before_ms`, and the uploads last
    /// written before it; `delete` removes each batch's objects inside its transaction. A push
    /// that refers to a blob refreshes its time in the same row, so a collection that meets it
    /// re-checks the time and leaves the blob. Returns what was deleted.
    fn collect_blobs(&self, before_ms: u64, delete: DeleteObjects) -> BoxFuture<'_, Result<Collected, StoreError>>;

    /// Which of these chunk object keys an upload in progress lists.
    fn known_chunks(&self, keys: Vec<String>) -> BoxFuture<'_, Result<Vec<String>, StoreError>>;
}

/// A record as a store holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRecord {
    pub version: u64,
    pub deleted: bool,
    /// When this version was written (ms since the epoch).
    pub updated_at: u64,
    /// `None` for a tombstone.
    pub data: Option<Value>,
    /// The record's space; `""` for none.
    pub space: String,
}

/// A write a store must make for one mutation.
#[derive(Debug, Clone, PartialEq)]
pub struct Write {
    pub version: u64,
    pub deleted: bool,
    /// Written by a force push (stored with the version, and shown in pulled pages).
    pub forced: bool,
    /// When the version was written: the mutation's `writtenAt`, never later than the clock.
    pub updated_at: u64,
    /// Compact JSON text of the data; `None` for a tombstone.
    pub data: Option<String>,
    /// The record's space after the write (`""`: none): the mutation's for an upsert, the
    /// record's own for a delete (a tombstone stays where the record was).
    pub space: String,
}

impl Write {
    /// The space the write moves the record out of, if it moves it: the stored record's space
    /// when it differs from the write's.
    pub fn leaves<'a>(&self, current: Option<&'a StoredRecord>) -> Option<&'a str> {
        current.map(|c| c.space.as_str()).filter(|old| *old != self.space)
    }
}

/// What to do for one mutation that has no stored answer yet: the answer, and maybe a write.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub result: MutationResult<Value>,
    pub write: Option<Write>,
    /// The blobs the upsert's data refers to (each once). When the result is `applied`, the
    /// store checks that each is complete for the tenant (else [`blob_missing`], not stored)
    /// and refreshes its last-referenced time; a write replaces the record's references.
    pub blobs: Vec<String>,
}

/// The rules for one mutation, given the record's current state (`None` if never held):
/// the protocol's checks, the reference server's data checks (a JSON object within the size
/// limit), then [`protocol::decide`].
pub fn plan(m: &Mutation<Value>, current: Option<&StoredRecord>, limits: MutationLimits) -> Plan {
    let mutation_id = m.mutation_id;
    let rejected =
        |r: Rejection| Plan { result: MutationResult::rejected(mutation_id, r), write: None, blobs: Vec::new() };
    let change = match m.check() {
        Ok(change) => change,
        Err(r) => return rejected(r),
    };
    let text = match change {
        Change::Upsert(data) => {
            if !data.is_object() {
                return rejected(Rejection::new(codes::INVALID_DATA, "data must be a JSON object"));
            }
            let text = data.to_string();
            if text.len() > limits.max_record_bytes {
                return rejected(Rejection::new(
                    codes::DATA_TOO_LARGE,
                    format!(
                        "data has {} bytes as JSON, more than the limit of {}",
                        text.len(),
                        limits.max_record_bytes
                    ),
                ));
            }
            Some(text)
        }
        Change::Delete => None,
    };
    let blobs = match change {
        Change::Upsert(data) => match blob_hashes(data, limits.max_blob_bytes) {
            Ok(hashes) => hashes,
            Err(r) => return rejected(r),
        },
        Change::Delete => Vec::new(),
    };
    let space = match change {
        Change::Upsert(_) => m.space.clone().unwrap_or_default(),
        Change::Delete => current.map(|c| c.space.clone()).unwrap_or_default(),
    };
    // A record's space is part of what an upsert asks for: a live record in another space is not
    // "already so" even with equal data (the data is then compared as if it differed).
    let cur = current.map(|c| Current {
        version: c.version,
        deleted: c.deleted,
        data: if c.space == space { c.data.as_ref() } else { None },
    });
    let updated_at = m.written_at.map_or(limits.now, |t| t.min(limits.now));
    let write = |version: u64, deleted: bool| Plan {
        result: MutationResult::Applied { mutation_id, version },
        write: Some(Write { version, deleted, forced: m.force, updated_at, data: text.clone(), space: space.clone() }),
        blobs: blobs.clone(),
    };
    match protocol::decide(cur, change, m.base_version, m.force) {
        // The record already is so, but this write was made later than its version: written
        // again as a new version with the later time, so that last-write-wins compares against
        // the latest write (a delete repeated after an edit elsewhere must still beat it), and
        // clients that hold the older version pull the newer time.
        Decision::Unchanged { version }
            if current.is_some_and(|c| m.written_at.is_some() && updated_at > c.updated_at) =>
        {
            write(version + 1, current.is_some_and(|c| c.deleted))
        }
        Decision::Unchanged { version } => {
            Plan { result: MutationResult::Applied { mutation_id, version }, write: None, blobs }
        }
        Decision::Write { version, deleted } => write(version, deleted),
        Decision::Conflict => {
            let current = conflict_record(&m.collection, &m.id, current);
            Plan { result: MutationResult::Conflict { mutation_id, current }, write: None, blobs: Vec::new() }
        }
    }
}

/// The answer to a mutation that would apply but refers to a blob the tenant does not hold
/// complete: rejected `blob_missing`. It changes nothing and is not stored, so the same mutation
/// applies once the blob is uploaded.
pub fn blob_missing(mutation_id: uuid::Uuid, hash: &str) -> MutationResult<Value> {
    MutationResult::rejected(
        mutation_id,
        Rejection::new(
            codes::BLOB_MISSING,
            format!("the blob {hash} is not uploaded (complete) yet: upload it, then send this mutation again"),
        ),
    )
}

/// The `current` of a conflict answer: the record as the store holds it, or a version-0
/// tombstone for one it never held.
pub fn conflict_record(collection: &str, id: &str, current: Option<&StoredRecord>) -> ServerRecord<Value> {
    let (version, deleted, data, updated_at) = match current {
        Some(c) => (c.version, c.deleted, if c.deleted { None } else { c.data.clone() }, Some(c.updated_at)),
        None => (0, true, None, None),
    };
    ServerRecord {
        collection: collection.to_string(),
        id: id.to_string(),
        version,
        deleted,
        data,
        updated_at,
        forced: false,
    }
}

/// Milliseconds since the epoch (informational `updatedAt` only).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrysync::protocol::Op;
    use serde_json::json;

    const LIMITS: MutationLimits =
        MutationLimits { now: 1_000, max_record_bytes: 64, max_answer_bytes: 2048, max_blob_bytes: 10 };

    fn m(op: Op, data: Option<Value>, base: Option<u64>) -> Mutation<Value> {
        Mutation {
            mutation_id: uuid::Uuid::now_v7(),
            collection: "todos".into(),
            id: "a".into(),
            op,
            data,
            base_version: base,
            force: false,
            written_at: None,
            space: None,
        }
    }

    #[test]
    fn data_must_be_a_small_object() {
        let p = plan(&m(Op::Upsert, Some(json!([1])), None), None, LIMITS);
        assert!(matches!(p.result, MutationResult::Rejected { ref code, .. } if code == codes::INVALID_DATA));
        let p = plan(&m(Op::Upsert, Some(json!({"t": "x".repeat(100)})), None), None, LIMITS);
        assert!(matches!(p.result, MutationResult::Rejected { ref code, .. } if code == codes::DATA_TOO_LARGE));
        assert_eq!(p.write, None);
    }

    #[test]
    fn a_change_already_so_but_written_later_is_a_new_version_with_the_later_time() {
        let at = |written_at: Option<u64>, op: Op, data: Option<Value>| Mutation { written_at, ..m(op, data, Some(1)) };
        let tombstone = StoredRecord { version: 3, deleted: true, updated_at: 500, data: None, space: String::new() };
        // A delete repeated later: a new tombstone version, stamped with the later time.
        let p = plan(&at(Some(800), Op::Delete, None), Some(&tombstone), LIMITS);
        assert!(matches!(p.result, MutationResult::Applied { version: 4, .. }));
        assert_eq!(
            p.write,
            Some(Write { version: 4, deleted: true, forced: false, updated_at: 800, data: None, space: String::new() })
        );
        // The same data written later: the same, live.
        let live = StoredRecord {
            version: 2,
            deleted: false,
            updated_at: 500,
            data: Some(json!({"t": 1})),
            space: String::new(),
        };
        let p = plan(&at(Some(2_000), Op::Upsert, Some(json!({"t": 1}))), Some(&live), LIMITS);
        assert_eq!(p.write.map(|w| (w.version, w.deleted, w.updated_at)), Some((3, false, 1_000)), "cut to the clock");
        // Written earlier, at the same time, or with no time: nothing to write, as before.
        for written_at in [Some(400), Some(500), None] {
            let p = plan(&at(written_at, Op::Delete, None), Some(&tombstone), LIMITS);
            assert!(matches!(p.result, MutationResult::Applied { version: 3, .. }), "{written_at:?}");
            assert_eq!(p.write, None);
        }
        // A delete of a record never held stays a no-op.
        assert_eq!(plan(&at(Some(800), Op::Delete, None), None, LIMITS).write, None);
    }

    #[test]
    fn create_update_conflict() {
        let p = plan(&m(Op::Upsert, Some(json!({"t": 1})), None), None, LIMITS);
        assert_eq!(
            p.write,
            Some(Write {
                version: 1,
                deleted: false,
                forced: false,
                updated_at: 1_000,
                data: Some(r#"{"t":1}"#.into()),
                space: String::new(),
            })
        );
        let cur = StoredRecord {
            version: 1,
            deleted: false,
            updated_at: 500,
            data: Some(json!({"t": 1})),
            space: String::new(),
        };
        let p = plan(&m(Op::Upsert, Some(json!({"t": 2})), None), Some(&cur), LIMITS);
        match p.result {
            MutationResult::Conflict { current, .. } => {
                assert_eq!(current.version, 1);
                assert_eq!(current.data, Some(json!({"t": 1})));
            }
            other => panic!("{other:?}"),
        }
        let p = plan(&m(Op::Delete, None, Some(1)), Some(&cur), LIMITS);
        assert_eq!(
            p.write,
            Some(Write {
                version: 2,
                deleted: true,
                forced: false,
                updated_at: 1_000,
                data: None,
                space: String::new()
            })
        );
        // Forced: written over a stale base, and marked.
        let p = plan(&Mutation { force: true, ..m(Op::Upsert, Some(json!({"t": 3})), Some(0)) }, Some(&cur), LIMITS);
        assert_eq!(
            p.write,
            Some(Write {
                version: 2,
                deleted: false,
                forced: true,
                updated_at: 1_000,
                data: Some(r#"{"t":3}"#.into()),
                space: String::new(),
            })
        );
        // A version is stamped with its write's time, never later than the server's clock.
        let at = |t| Mutation { written_at: Some(t), ..m(Op::Upsert, Some(json!({"t": 4})), Some(1)) };
        assert_eq!(plan(&at(700), Some(&cur), LIMITS).write.map(|w| w.updated_at), Some(700));
        assert_eq!(plan(&at(9_000), Some(&cur), LIMITS).write.map(|w| w.updated_at), Some(1_000));
        // Never held: a stale base conflicts with a version-0 tombstone.
        let p = plan(&m(Op::Upsert, Some(json!({})), Some(4)), None, LIMITS);
        match p.result {
            MutationResult::Conflict { current, .. } => {
                assert!(current.deleted && current.version == 0)
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn spaces() {
        let in_a = StoredRecord {
            version: 2,
            deleted: false,
            updated_at: 500,
            data: Some(json!({"t": 1})),
            space: "a".into(),
        };
        let to = |space: Option<&str>, data| Mutation {
            space: space.map(str::to_string),
            ..m(Op::Upsert, Some(data), Some(2))
        };
        // Same data, same space: already so.
        let p = plan(&to(Some("a"), json!({"t": 1})), Some(&in_a), LIMITS);
        assert_eq!(p.write, None);
        // Same data, another space (or none): a move, written at the next version.
        let p = plan(&to(Some("b"), json!({"t": 1})), Some(&in_a), LIMITS);
        let w = p.write.unwrap();
        assert_eq!((w.version, w.space.as_str(), w.leaves(Some(&in_a))), (3, "b", Some("a")));
        let w = plan(&to(None, json!({"t": 1})), Some(&in_a), LIMITS).write.unwrap();
        assert_eq!((w.space.as_str(), w.leaves(Some(&in_a))), ("", Some("a")));
        // A move on a stale base is a conflict like any other change.
        let stale = Mutation { base_version: Some(1), ..to(Some("b"), json!({"t": 1})) };
        assert!(matches!(plan(&stale, Some(&in_a), LIMITS).result, MutationResult::Conflict { .. }));
        // A delete keeps the record where it is, whatever space it names.
        let del = Mutation { space: Some("z".into()), ..m(Op::Delete, None, Some(2)) };
        let w = plan(&del, Some(&in_a), LIMITS).write.unwrap();
        assert_eq!((w.deleted, w.space.as_str(), w.leaves(Some(&in_a))), (true, "a", None));
        // A bad space id is rejected.
        let p = plan(&to(Some(""), json!({"t": 1})), Some(&in_a), LIMITS);
        assert!(matches!(p.result, MutationResult::Rejected { ref code, .. } if code == codes::INVALID_SPACE));
    }
}
