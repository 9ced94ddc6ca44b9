//! What the engine asks of storage. Each method is one transaction: it commits as a whole or
//! changes nothing. The IndexedDB implementation is `crate::web::idb::SyncStore`; the in-memory
//! one is [`super::memory::MemoryStore`]. Both carry out the same rules ([`super::rules`]), so
//! the only thing that differs between them is how values are stored.

use crate::core::error::Result;
use crate::core::error::{Error, ErrorKind};
use crate::core::outbox::Op;
use crate::core::sync::rules::decide::Side;
use crate::core::sync::rules::force::Force;
use crate::protocol::{Mutation, PullResponse, PushResponse, SpaceCursor, SpacesPullResponse};

/// A batch read from the outbox and marked as sent: the mutations to push, and the queue
/// position (`seq`) of the entry each came from, in the same order.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch<D> {
    pub mutations: Vec<Mutation<D>>,
    pub seqs: Vec<u64>,
}

impl<D> Batch<D> {
    pub fn len(&self) -> usize {
        self.mutations.len()
    }

    pub fn is_empty(&self) -> bool {
        self.mutations.is_empty()
    }
}

/// Records changed by one step, by collection, for the change listeners here and in other tabs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes(pub Vec<(String, Vec<(String, Op)>)>);

impl Changes {
    pub fn add(&mut self, collection: &str, id: &str, op: Op) {
        match self.0.iter_mut().find(|(c, _)| c == collection) {
            Some((_, list)) => list.push((id.to_string(), op)),
            None => self.0.push((collection.to_string(), vec![(id.to_string(), op)])),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|(_, list)| list.is_empty())
    }

    /// Adds every change of `other`.
    pub fn extend(&mut self, other: Changes) {
        for (collection, list) in other.0 {
            for (id, op) in list {
                self.add(&collection, &id, op);
            }
        }
    }
}

/// What applying one push answer did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushApplied {
    /// Entries of the batch the answer covered.
    pub answered: u64,
    /// Entries that left the outbox.
    pub acknowledged: u64,
    pub conflicts: u64,
    pub rejected: u64,
    pub changes: Changes,
}

/// What applying one pulled page did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageApplied {
    pub received: u64,
    /// Records that went into conflict (a record already in conflict is not counted again).
    pub conflicts: u64,
    /// The stored cursor was no longer the one the page was asked from (a discarded change reset
    /// it meanwhile): the page is applied, its cursor is not stored, and the pull starts over.
    pub restart: bool,
    /// A force pull is under way: once the pull is complete, its sweep is due (read with a page's
    /// last slice; the engine looks once the page is in).
    pub sweep_due: bool,
    pub changes: Changes,
}

/// Where the next pull starts, read in one transaction with the device's space set.
#[derive(Debug, Clone, PartialEq)]
pub enum PullFrom {
    /// No collection declares a space field: `GET /v1/pull`, the whole tenant after one cursor.
    Tenant(Option<String>),
    /// `POST /v1/pull`: each space the device syncs after its own cursor, and `space: null` (the
    /// records of no space, the collections without a space field among them) after its own
    /// ([`super::rules::spaces::request`]).
    Spaces(Vec<SpaceCursor>),
}

/// One space of the device's set, as stored.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SpaceState {
    pub space: String,
    /// When a pull of it last reached its end (`None`: its first pull is not done).
    pub synced_at: Option<f64>,
}

/// The numbers the status shows, read from the database.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counts {
    /// Queued entries that can be sent: those of a record held by a conflict or a dead letter
    /// count only in `conflicts` and `failed`, so that 0 means "nothing left to send".
    pub pending: u64,
    /// Dead letters.
    pub failed: u64,
    /// Unresolved conflicts.
    pub conflicts: u64,
    /// The spaces this device syncs, in order.
    pub spaces: Vec<SpaceState>,
    /// The bytes of blobs here, to upload and to download.
    pub blob_bytes: crate::core::status::BlobBytes,
}

fn no_spaces() -> Error {
    Error::new(ErrorKind::InvalidOptions, "this store does not sync by space yet")
}

/// How a conflict is settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    /// Keep the record as it is here, and push it over the server's version.
    Local,
    /// Take the server's version.
    Server,
}

/// What a user's decision (a conflict resolved, a dead letter retried or discarded) changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decided {
    /// Change in the number of queued entries.
    pub pending_delta: i64,
    pub changes: Changes,
}

/// What settling conflicts by their collections' strategies did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settled {
    /// Conflicts settled (each one is in the sync log).
    pub resolved: u64,
    /// Changes queued (local and merged versions to push) and records changed.
    pub decided: Decided,
    /// Conflicts (collection, id) whose collection's own resolver must be asked.
    pub asks: Vec<(String, String)>,
}

impl Settled {
    /// Counts one conflict settled by `decided`.
    pub fn settled(&mut self, decided: Decided) {
        self.resolved += 1;
        self.decided.pending_delta += decided.pending_delta;
        self.decided.changes.extend(decided.changes);
    }
}

/// What a collection's own resolver answered for one conflict.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer<D> {
    Local,
    Server,
    Merged(D),
    /// Left for a person: the resolver said so (`None`), or failed (`Some(why)`, logged).
    Manual(Option<String>),
}

impl<D> Answer<D> {
    /// The side the answer keeps, with a merge's data; or, for one left for a person, why the
    /// resolver failed (if it did).
    pub fn side(self) -> std::result::Result<(Side, Option<D>), Option<String>> {
        match self {
            Answer::Local => Ok((Side::Local, None)),
            Answer::Server => Ok((Side::Server, None)),
            Answer::Merged(data) => Ok((Side::Merged, Some(data))),
            Answer::Manual(why) => Err(why),
        }
    }
}

/// The storage of one database, as the sync engine and the decisions use it.
///
/// `D` is record data as this store holds it (a JS value in the browser). Methods that the user
/// calls with a new mutation id take it as an argument, so that storage makes no ids of its own.
#[allow(async_fn_in_trait)] // Futures stay on one thread (the browser's, or the simulation's).
pub trait SyncStorage<D> {
    /// Unresolved conflicts and dead letters, as this store lists them.
    type Conflicts;
    type DeadLetters;
    /// The sync log, newest first.
    type Log;

    /// The next batch of at most `max` entries (see `batch::next_batch`), counted as sent in the
    /// same transaction ([`crate::core::sent::SentMark::count_batch`]: the sent mark moves past
    /// them), which is on disk before this returns. The entries of `unapplied` (batches sent and
    /// not applied yet, `engine/pipeline.rs`) are planned as held ones: left out, and every later
    /// entry of their records with them. `None` when nothing is ready to push.
    async fn read_batch(&self, max: u32, unapplied: &[u64], now: f64) -> Result<Option<Batch<D>>>;

    /// Applies a push answer to the batch it answers ([`super::rules::push`]). An entry without
    /// an answer is left as it is (and sent again under the same mutation id).
    async fn apply_push(&self, batch: Batch<D>, answer: PushResponse<D>, now: f64) -> Result<PushApplied>;

    /// The stored pull cursor (`None`: pull from the start).
    async fn cursor(&self) -> Result<Option<String>>;

    /// Forgets the cursor (and every space's): the next pull starts from the beginning.
    async fn reset_cursor(&self) -> Result<()>;

    /// Where the next pull starts: the stored cursor, or, when a collection declares a space
    /// field, the device's space set with each space's cursor (one transaction, so that a space
    /// added or removed meanwhile is either wholly in or wholly out).
    async fn pull_from(&self) -> Result<PullFrom> {
        Ok(PullFrom::Tenant(self.cursor().await?))
    }

    /// Applies the pages of a pull by space ([`super::rules::pull`] for changes,
    /// [`super::rules::spaces`] for `left` entries) in one transaction, and stores each page's
    /// cursor unless that space's stored cursor is no longer the one `asked` gave (then
    /// [`PageApplied::restart`]: the engine reads the cursors again). A page of a space removed
    /// meanwhile is passed over.
    async fn apply_spaces(
        &self,
        asked: &[SpaceCursor],
        answer: SpacesPullResponse<D>,
        now: f64,
    ) -> Result<PageApplied> {
        let _ = (asked, answer, now);
        Err(no_spaces())
    }

    /// The spaces this device syncs, in order.
    async fn spaces(&self) -> Result<Vec<String>> {
        Ok(Vec::new())
    }

    /// Adds `space` to the device's set, with no cursor (its next pull starts from its start).
    /// Not under the sync lock: a sync in flight keeps its pages, and the next one pulls the
    /// space. False when the device syncs it already.
    async fn add_space(&self, space: &str) -> Result<bool> {
        let _ = space;
        Err(no_spaces())
    }

    /// Removes `space` from the set and wipes its local records (those of collections with a
    /// space field whose field holds it), their queued changes, conflicts and dead letters, in
    /// one transaction, logged; never pushed. PendingChanges, with nothing changed, when some
    /// are queued and `discard_pending` is false. Run under the sync lock.
    async fn remove_space(&self, space: &str, discard_pending: bool, now: f64) -> Result<Decided> {
        let _ = (space, discard_pending, now);
        Err(no_spaces())
    }

    /// Applies a slice of a page ([`super::rules::pull`]) and, with the page's `last` slice,
    /// stores its cursor, unless the stored cursor is no longer `asked_from` (then
    /// [`PageApplied::restart`]). The slices before the last leave the cursor as it is.
    async fn apply_page(
        &self,
        asked_from: Option<&str>,
        page: PullResponse<D>,
        last: bool,
        now: f64,
    ) -> Result<PageApplied>;

    async fn counts(&self) -> Result<Counts>;

    async fn conflicts(&self) -> Result<Self::Conflicts>;

    async fn dead_letters(&self) -> Result<Self::DeadLetters>;

    /// Settles the conflict of `collection`/`id` ([`super::rules::decide::resolve`]);
    /// `mutation_id` names the new change a `Local` choice queues. RecordNotFound if there is
    /// no such conflict.
    async fn resolve_conflict(
        &self,
        collection: &str,
        id: &str,
        choice: Choice,
        mutation_id: &str,
        now: f64,
    ) -> Result<Decided>;

    /// Settles the conflict of `collection`/`id` with `merged` data, pushed over the server's
    /// version under `mutation_id`. RecordNotFound if there is no such conflict.
    async fn merge_conflict(
        &self,
        collection: &str,
        id: &str,
        merged: D,
        mutation_id: &str,
        now: f64,
    ) -> Result<Decided>;

    /// Settles every conflict whose collection has an automatic strategy, by that strategy
    /// ([`super::conflict::strategy::settle`]), in one transaction; each settlement goes into the
    /// sync log with both versions. Changes it queues take their ids from `mutation_id`.
    /// `clock_offset` turns this client's clock into the server's (for last-write-wins: a local
    /// write's time is its `updatedAt` plus the offset).
    async fn settle_conflicts(
        &self,
        now: f64,
        clock_offset: f64,
        mutation_id: &mut dyn FnMut() -> String,
    ) -> Result<Settled>;

    /// Carries out what collections' own resolvers answered, in one transaction: each answer
    /// settles its conflict as [`Self::settle_conflicts`] would (logged), a failure is logged
    /// and leaves it for a person; a conflict settled meanwhile is passed over.
    async fn apply_answers(
        &self,
        answers: Vec<(String, String, Answer<D>)>,
        now: f64,
        mutation_id: &mut dyn FnMut() -> String,
    ) -> Result<Settled>;

    /// The sync log, newest first ([`super::log`]).
    async fn log(&self) -> Result<Self::Log>;

    /// Empties the sync log.
    async fn clear_log(&self) -> Result<()>;

    /// Starts a force ([`super::rules::force`]) in one transaction, logged. A push marks the
    /// scope's queued changes forced (a conflict holding one lets it go). A pull drops the
    /// scope's queued changes, conflicts and dead letters (unless `keep_local`), marks its
    /// records to be taken again, forgets the cursor and remembers that a sweep is due
    /// ([`PageApplied::sweep_due`]). A pull of spaces does the same to the records of those
    /// spaces as they are here, forgets those spaces' cursors (every cursor when
    /// [`super::rules::force::forgets_every_cursor`] says so) and adds them to the sweep; it is
    /// refused with `InvalidOptions`, nothing changed, when [`super::rules::force::check_spaces`]
    /// refuses its spaces.
    /// An entry sent before takes a new mutation id from `mutation_id`.
    async fn begin_force(&self, force: &Force, now: f64, mutation_id: &mut dyn FnMut() -> String) -> Result<Decided>;

    /// After a pull from the start that a force pull began: removes the records of its scope the
    /// server does not have ([`super::rules::force::swept`]; the scope is a
    /// [`super::rules::force::Sweep`]: collections, and spaces as records are here), logged, and
    /// forgets the sweep.
    async fn finish_force_pull(&self, now: f64) -> Result<Decided>;

    /// Clears the local data of `collection` (records, queued changes, conflicts, dead letters)
    /// in one transaction, logged; the server's data is untouched. PendingChanges, with nothing
    /// changed, when it has queued changes and `discard_pending` is false.
    async fn wipe(&self, collection: &str, discard_pending: bool, now: f64) -> Result<Decided>;

    /// Queues the dead letter of `collection`/`id` again under `mutation_id`.
    async fn retry_failed(&self, collection: &str, id: &str, mutation_id: &str, now: f64) -> Result<Decided>;

    /// Drops the dead letter of `collection`/`id` and the record's later changes.
    async fn discard_failed(&self, collection: &str, id: &str, now: f64) -> Result<Decided>;

    /// The next blob the sync downloads: one a pulled record refers to, that its collection
    /// downloads eagerly and whose bytes are not here, passing over `skip`. `None` when there is
    /// none (a store that keeps no blobs has none).
    async fn next_download(&self, skip: &[String]) -> Result<Option<crate::protocol::BlobRef>> {
        let _ = skip;
        Ok(None)
    }

    /// The next blob to upload: one whose bytes are here and that is not known to be on the
    /// server ([`crate::core::blobs::Uploaded::No`]), passing over `skip`. `None` when there is
    /// none (a store that keeps no blobs has none).
    async fn next_upload(&self, skip: &[String]) -> Result<Option<crate::protocol::BlobRef>> {
        let _ = skip;
        Ok(None)
    }

    /// Stores how the upload of `hash` ended, in one transaction: `Yes`, the changes waiting for
    /// it may be pushed; `Failed`, every queued change that refers to it becomes a dead letter
    /// with that error (logged), and stays one until the user retries or drops it.
    async fn end_upload(&self, hash: &str, outcome: crate::core::blobs::Uploaded, now: f64) -> Result<Decided> {
        let _ = (hash, outcome, now);
        Ok(Decided::default())
    }
}
