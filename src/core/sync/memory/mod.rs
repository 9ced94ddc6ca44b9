//! An in-memory store: records, outbox, conflicts and metadata as plain Rust values, with the
//! same local writes and the same sync steps as the IndexedDB store, carried out by the same
//! rules ([`crate::core::write`], [`super::rules`]). The native simulation runs the real engine
//! over it; tests of the engine use it as a store that needs no browser.
//!
//! Every method is one transaction: it works on a copy of the state and keeps it only when it
//! succeeds, so a failed call changes nothing. Several tabs of one client share one store (an
//! `Rc`), as tabs share one IndexedDB database.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use uuid::Uuid;

mod downloads;

use crate::core::blobs::{blob_hashes, ready, Hasher, Uploaded};
use crate::core::error::{Error, ErrorKind, Result};
use crate::core::meta::RecordMeta;
use crate::core::outbox::{Op, Queued as QueuedOp};
use crate::core::sent::{Sends, SentMark};
use crate::core::write::{plan_write, Current, Fields, Intent, Newest, Queue, WriteStep};
use crate::protocol::{
    self, check_record_id, check_space, BlobRef, Mutation, MutationResult, PullResponse, PushResponse, ServerRecord,
    SpaceCursor, SpacesPullResponse,
};

use super::batch::{next_batch, wire_op, Queued};
use super::conflict::strategy::{settle, Settlement, Strategy};
use super::conflict::tree::Tree;
use super::entry::{Entry, Hold};
use super::log::{trim_through, By, Kept, LogEntry, LogKind, LOG_CHANGES};
use super::rules::decide::{self, Decision, Side};
use super::rules::force::{
    begin_pull, check_spaces, force_entry, force_record, forgets_every_cursor, in_spaces, swept, Force, Scope, Sweep,
};
use super::rules::pull::{clash_step, pull_step, PullStep};
use super::rules::push::{awaits_upload, push_step, pushed_data_is_base, settles_conflict, EntryStep};
use super::rules::spaces::{self, left_conflict, left_removes, outside, Copy};
use super::rules::RecordStep;
use super::storage::{
    Answer, Batch, Changes, Choice, Counts, Decided, PageApplied, PullFrom, PushApplied, Settled, SpaceState,
    SyncStorage,
};

/// Record data that a patch can be merged into (a shallow merge of fields, as `update()` does).
pub trait Patch: Clone {
    fn patched(&self, patch: &Self) -> Self;
}

/// A stored record: its fields (`None` for a tombstone) and its metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored<D> {
    pub data: Option<D>,
    pub meta: RecordMeta,
}

/// One unresolved conflict: the record here (`None` when there is none, as after a unique-index
/// clash on a record this client never had), the server's, and the base: the server's data the
/// local change started from (`None` when the record was new here).
#[derive(Debug, Clone, PartialEq)]
pub struct ConflictRow<D> {
    pub collection: String,
    pub id: String,
    pub local: Option<Stored<D>>,
    pub server: ServerRecord<D>,
    pub base: Option<D>,
    pub detected_at: f64,
}

/// A change the server rejected, with its error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    pub entry: Entry,
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone)]
struct Row<D> {
    entry: Entry,
    /// The server's data the change started from, kept while it is queued (for a three-way
    /// merge); `None` when the server never had the record, or not known yet.
    base: Option<D>,
    /// The server's rejection of a dead letter.
    error: Option<(String, String)>,
}

type Key = (String, String);

/// A blob stored here: its reference, whether the server has it, and its bytes (shared, so that
/// a transaction's copy of the state does not copy them).
#[derive(Debug, Clone)]
struct BlobRow {
    blob: BlobRef,
    uploaded: Uploaded,
    bytes: Rc<Vec<u8>>,
    /// When it was stored or last read, for the eviction's order.
    used: f64,
}

#[derive(Debug, Clone)]
struct State<D> {
    records: BTreeMap<Key, Stored<D>>,
    outbox: BTreeMap<u64, Row<D>>,
    next_seq: u64,
    conflicts: BTreeMap<Key, ConflictRow<D>>,
    cursor: Option<String>,
    /// Which entries may have been sent ([`SentMark`]).
    sent_mark: SentMark,
    dead_letters: u64,
    /// The sync log by sequence number, oldest first.
    log: BTreeMap<u64, LogEntry<D>>,
    log_seq: u64,
    /// Force pulls (and discards) under way: what to sweep once the pull from the start is
    /// complete.
    sweep: Sweep,
    /// Unique indexes: (collection, field). No two live records of the collection may hold the
    /// same value in the field (a record without the field holds none), as IndexedDB enforces.
    unique: Vec<(String, String)>,
    /// Space fields: (collection, field). When a collection declares one, pulls go by space.
    space_fields: Vec<(String, String)>,
    /// The spaces this device syncs, each with its cursor (`None`: from its start). The
    /// no-space cursor is `cursor`.
    spaces: BTreeMap<String, Option<String>>,
    /// When a pull of each space last reached its end (absent: its first pull is not done).
    synced: BTreeMap<String, f64>,
    /// Blobs by hash, stored once however many records refer to them.
    blobs: BTreeMap<String, BlobRow>,
    /// Blobs pulled records refer to that the sync downloads, not here yet (`true`: the server
    /// could not give it).
    wanted: BTreeMap<String, (BlobRef, bool)>,
    /// How pulled blobs come here, and the cap on the bytes of blobs kept.
    blob_policy: (crate::core::blobs::DownloadMode, Option<u64>),
}

/// Settles by `resolve` on `state`, unless what it would store clashes with another record on a
/// unique index: then nothing of it is kept, and the conflict stays until the clash is gone.
trait SettleUnlessClash<D> {
    fn settled_unless_clash(
        &mut self,
        state: &mut State<D>,
        resolve: impl FnOnce(&mut State<D>) -> Result<Decided>,
    ) -> Result<()>;
}

impl<D: Clone> SettleUnlessClash<D> for Settled {
    fn settled_unless_clash(
        &mut self,
        state: &mut State<D>,
        resolve: impl FnOnce(&mut State<D>) -> Result<Decided>,
    ) -> Result<()> {
        let before = state.clone();
        match resolve(state) {
            Ok(decided) => self.settled(decided),
            Err(e) if e.kind == ErrorKind::RecordExists => *state = before,
            Err(e) => return Err(e),
        }
        Ok(())
    }
}

/// What one local write call did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Written {
    pub pending_delta: i64,
    pub changes: Changes,
}

/// The in-memory store of one database with the collections `collections`.
#[derive(Debug)]
pub struct MemoryStore<D> {
    collections: Vec<String>,
    /// Each collection's conflict strategy, in the order of `collections`.
    strategies: Vec<Strategy>,
    state: RefCell<State<D>>,
    /// The bytes of the download under way.
    received: RefCell<Option<(String, Vec<u8>)>>,
}

fn key(collection: &str, id: &str) -> Key {
    (collection.to_string(), id.to_string())
}

impl<D: Tree> State<D> {
    /// The unique index and the other record that `data`, stored as `k`, would clash with.
    fn clash(&self, k: &Key, data: &D) -> Option<(String, String)> {
        let fields = data.fields()?;
        self.unique.iter().filter(|(c, _)| *c == k.0).find_map(|(c, index)| {
            let value = fields.iter().find(|(f, _)| f == index).map(|(_, v)| v)?;
            let (other, _) = self.records.iter().find(|((oc, oi), stored)| {
                oc == c
                    && *oi != k.1
                    && stored
                        .data
                        .as_ref()
                        .and_then(Tree::fields)
                        .is_some_and(|theirs| theirs.iter().any(|(f, v)| f == index && v.same(value)))
            })?;
            Some((index.clone(), other.1.clone()))
        })
    }

    /// Fails with the unique-index clash of `data` stored as `k`, if there is one.
    fn check_unique(&self, k: &Key, data: Option<&D>) -> Result<()> {
        match data.and_then(|d| self.clash(k, d)) {
            Some((index, other)) => Err(Error::unique_clash(&k.0, &index, &other)),
            None => Ok(()),
        }
    }
}

impl<D: Tree> State<D> {
    /// Whether pulls go by space: a collection declares a space field.
    fn by_space(&self) -> bool {
        !self.space_fields.is_empty()
    }

    /// The space `data` of `collection` belongs to: its space field's value, if it is a string.
    fn space_in(&self, collection: &str, data: Option<&D>) -> Option<String> {
        let (_, field) = self.space_fields.iter().find(|(c, _)| c == collection)?;
        let fields = data?.fields()?;
        fields.iter().find(|(f, _)| f == field).and_then(|(_, v)| v.text())
    }

    /// The space of the record here (`None`: no space, a tombstone, or no record).
    fn space_of(&self, k: &Key) -> Option<String> {
        self.space_in(&k.0, self.records.get(k).and_then(|s| s.data.as_ref()))
    }

    /// Forgets every cursor: the next pull starts from the beginning, every space's too.
    fn reset_cursors(&mut self) {
        self.cursor = None;
        for cursor in self.spaces.values_mut() {
            *cursor = None;
        }
    }

    /// Forgets the cursors of `spaces`: they are pulled from their start, while the other spaces
    /// and the records of no space carry on from where they were.
    fn reset_space_cursors(&mut self, spaces: &[String]) {
        for space in spaces {
            if let Some(cursor) = self.spaces.get_mut(space) {
                *cursor = None;
            }
        }
    }

    /// The collections with a space field, in the order they were declared.
    fn space_collections(&self) -> Vec<String> {
        self.space_fields.iter().map(|(c, _)| c.clone()).collect()
    }

    /// Removes the record here if it is in a space this device does not sync and nothing holds
    /// it ([`spaces::outside`]): a local removal, never pushed.
    fn prune(&mut self, k: &Key, changes: &mut Changes) {
        if !self.by_space() || !self.records.contains_key(k) {
            return;
        }
        let space = self.space_of(k);
        let queued = !self.entries_of(&k.0, &k.1).is_empty();
        let in_conflict = self.conflicts.contains_key(k);
        if outside(space.as_deref(), |s| self.spaces.contains_key(s), queued, in_conflict) {
            self.records.remove(k);
            changes.add(&k.0, &k.1, Op::Delete);
        }
    }

    /// The record's entries, in queue order.
    fn entries_of(&self, collection: &str, id: &str) -> Vec<Entry> {
        self.outbox.values().filter(|r| r.entry.is(collection, id)).map(|r| r.entry.clone()).collect()
    }

    fn meta(&self, collection: &str, id: &str) -> Option<RecordMeta> {
        self.records.get(&key(collection, id)).map(|s| s.meta.clone())
    }

    /// The record's data here: `None` for a tombstone or a record that is not here.
    fn data(&self, k: &Key) -> Option<D> {
        self.records.get(k).and_then(|s| s.data.clone())
    }

    /// What this store knows of blob `hash` being on the server (`None`: no such blob here).
    fn uploaded(&self, hash: &str) -> Option<Uploaded> {
        self.blobs.get(hash).map(|b| b.uploaded.clone())
    }

    /// The hashes of the blobs the record's current data refers to.
    fn blobs_of(&self, k: &Key) -> Vec<String> {
        self.records.get(k).and_then(|r| r.data.as_ref()).map(blob_hashes).unwrap_or_default()
    }

    /// Makes the queued entry `seq` a dead letter with the server's (or an upload's) error,
    /// logged with the data it carried.
    fn reject(&mut self, seq: u64, data: Option<D>, code: String, message: String, now: f64, changes: &mut Changes) {
        let Some(row) = self.outbox.get_mut(&seq) else { return };
        row.entry.hold = Some(Hold::Failed);
        row.error = Some((code.clone(), message.clone()));
        let mut logged = LogEntry::new(now, LogKind::Rejected, &row.entry.collection, &row.entry.record_id);
        (logged.code, logged.message) = (Some(code), Some(message));
        logged.local = data;
        changes.add(LOG_CHANGES, &logged.id, Op::Create);
        self.log(logged);
        self.dead_letters += 1;
    }

    /// The base of the record's first queued entry: the server's data its changes started from.
    fn base_of(&self, collection: &str, id: &str) -> Option<D> {
        self.outbox.values().find(|r| r.entry.is(collection, id)).and_then(|r| r.base.clone())
    }

    fn log(&mut self, entry: LogEntry<D>) {
        self.log_seq += 1;
        self.log.insert(self.log_seq, entry);
        if let Some(through) = trim_through(self.log_seq) {
            self.log.retain(|seq, _| *seq > through);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn append(
        &mut self,
        mutation_id: &str,
        collection: &str,
        id: &str,
        op: Op,
        base_version: Option<u64>,
        base: Option<D>,
    ) -> u64 {
        self.next_seq += 1;
        let entry = Entry {
            seq: self.next_seq,
            mutation_id: mutation_id.to_string(),
            collection: collection.to_string(),
            record_id: id.to_string(),
            op,
            base_version,
            attempts: 0,
            never_sent: false,
            hold: None,
            force: false,
        };
        self.outbox.insert(self.next_seq, Row { entry, base, error: None });
        self.next_seq
    }

    /// Carries out a record step; `server` is the data a [`RecordStep::Server`] takes.
    fn record(&mut self, k: &Key, step: RecordStep, server: Option<&Option<D>>) -> Result<()> {
        match step {
            RecordStep::Keep => {}
            RecordStep::Remove => {
                self.records.remove(k);
            }
            RecordStep::Meta(meta) => {
                if let Some(stored) = self.records.get_mut(k) {
                    stored.meta = meta;
                }
            }
            RecordStep::Server(meta) => {
                let data = server
                    .cloned()
                    .flatten()
                    .ok_or_else(|| Error::new(ErrorKind::Sync, format!("the server's \"{}\" has no data", k.1)))?;
                self.check_unique(k, Some(&data))?;
                // The server's version (or a merge): its blobs come down with the sync.
                self.want_blobs(&data);
                self.records.insert(k.clone(), Stored { data: Some(data), meta });
            }
        }
        Ok(())
    }

    /// Carries out a decision. `server`: the data a [`RecordStep::Server`] takes (the server's,
    /// or a merge); `base`: the base of the change it queues (the server's data).
    fn decide(
        &mut self,
        k: &Key,
        d: Decision,
        server: Option<&Option<D>>,
        base: Option<D>,
        mutation_id: &str,
    ) -> Result<Decided> {
        for seq in &d.remove {
            self.outbox.remove(seq);
        }
        if let Some(row) = d.retry.and_then(|seq| self.outbox.get_mut(&seq)) {
            row.entry.hold = None;
            row.entry =
                Entry { mutation_id: mutation_id.to_string(), ..row.entry.clone() }.with_sends(Sends::renewed());
            row.error = None;
        }
        if let Some(new) = d.add {
            self.append(mutation_id, &k.0, &k.1, new.op, new.base_version, base);
        }
        self.dead_letters = (self.dead_letters as i64 + d.dead_letters_delta).max(0) as u64;
        if d.drop_conflict {
            self.conflicts.remove(k);
        }
        if d.sweep {
            self.sweep.add_collections(&Scope::Only(vec![k.0.clone()]));
        }
        if d.reset_cursor {
            self.reset_cursors();
        }
        self.record(k, d.record, server)?;
        let mut changes = Changes::default();
        if let Some(op) = d.announce {
            changes.add(&k.0, &k.1, op);
        }
        self.prune(k, &mut changes);
        Ok(Decided { pending_delta: d.pending_delta, changes })
    }
}

impl<D: Tree> State<D> {
    /// Settles the conflict of `collection`/`id` by keeping `side` (`merged`: the data of a
    /// [`Side::Merged`]), and logs it with both versions as they were.
    #[allow(clippy::too_many_arguments)]
    fn resolve(
        &mut self,
        collection: &str,
        id: &str,
        side: Side,
        merged: Option<D>,
        by: By,
        mutation_id: &str,
        now: f64,
    ) -> Result<Decided> {
        let k = key(collection, id);
        let conflict = self.conflicts.get(&k).cloned().ok_or_else(|| decide::no_conflict(collection, id))?;
        let server_data = if conflict.server.deleted { None } else { conflict.server.data.clone() };
        let side = decide::kept_side(side, self.meta(collection, id).as_ref());
        let mut logged = LogEntry::new(now, LogKind::Resolved, collection, id);
        logged.by = Some(by);
        logged.kept = Some(match side {
            Side::Local => Kept::Local,
            Side::Server => Kept::Server,
            Side::Merged => Kept::Merged,
        });
        (logged.local, logged.server) = (self.data(&k), server_data.clone());
        self.log(logged);
        let server = (conflict.server.version, conflict.server.deleted);
        let d =
            decide::resolve(side, server, self.meta(collection, id).as_ref(), &self.entries_of(collection, id), now);
        let data = match side {
            Side::Merged => Some(merged),
            _ => Some(conflict.server.data.clone()),
        };
        let mut decided = self.decide(&k, d, data.as_ref(), server_data, mutation_id)?;
        decided.changes.add(LOG_CHANGES, id, Op::Create);
        Ok(decided)
    }
}

impl<D: Clone> MemoryStore<D> {
    /// A store whose collections all keep their conflicts for a person.
    pub fn new(collections: &[&str]) -> MemoryStore<D> {
        let with: Vec<(&str, Strategy)> = collections.iter().map(|c| (*c, Strategy::Manual)).collect();
        MemoryStore::with_strategies(&with)
    }

    /// A store of these collections, each with its conflict strategy.
    pub fn with_strategies(collections: &[(&str, Strategy)]) -> MemoryStore<D> {
        MemoryStore {
            collections: collections.iter().map(|(c, _)| c.to_string()).collect(),
            strategies: collections.iter().map(|(_, s)| *s).collect(),
            state: RefCell::new(State {
                records: BTreeMap::new(),
                outbox: BTreeMap::new(),
                next_seq: 0,
                conflicts: BTreeMap::new(),
                cursor: None,
                sent_mark: SentMark::default(),
                dead_letters: 0,
                log: BTreeMap::new(),
                log_seq: 0,
                sweep: Sweep::default(),
                unique: Vec::new(),
                space_fields: Vec::new(),
                spaces: BTreeMap::new(),
                synced: BTreeMap::new(),
                blobs: BTreeMap::new(),
                wanted: BTreeMap::new(),
                blob_policy: (Default::default(), None),
            }),
            received: RefCell::default(),
        }
    }

    /// The store with a unique index on `field` of `collection`.
    pub fn with_unique(self, collection: &str, field: &str) -> MemoryStore<D> {
        self.state.borrow_mut().unique.push((collection.to_string(), field.to_string()));
        self
    }

    /// The store with `field` as the space field of `collection` (`space: "projectId"`): pulls
    /// then go by space, and pushes carry each record's space.
    pub fn with_space(self, collection: &str, field: &str) -> MemoryStore<D> {
        self.state.borrow_mut().space_fields.push((collection.to_string(), field.to_string()));
        self
    }

    /// Whether pulls go by space (a collection declares a space field).
    pub fn by_space(&self) -> bool {
        !self.state.borrow().space_fields.is_empty()
    }

    /// The spaces this device syncs, with their cursors.
    pub fn space_cursors(&self) -> BTreeMap<String, Option<String>> {
        self.state.borrow().spaces.clone()
    }

    /// The space of `data` in `collection` (`None`: no space field, or no value in it).
    pub fn space_in(&self, collection: &str, data: &D) -> Option<String>
    where
        D: Tree,
    {
        self.state.borrow().space_in(collection, Some(data))
    }

    /// The record of `collection` other than `id` that holds a value of `data` that a unique
    /// index of the collection keeps to one record: a write of `data` to `id` would clash with it.
    pub fn unique_holder(&self, collection: &str, id: &str, data: &D) -> Option<String>
    where
        D: Tree,
    {
        self.state.borrow().clash(&key(collection, id), data).map(|(_, other)| other)
    }

    /// Runs `f` on a copy of the state and keeps the copy only if `f` succeeds.
    fn transaction<T>(&self, f: impl FnOnce(&mut State<D>) -> Result<T>) -> Result<T> {
        let mut next = self.state.borrow().clone();
        let out = f(&mut next)?;
        *self.state.borrow_mut() = next;
        Ok(out)
    }

    fn check_collection(&self, collection: &str) -> Result<()> {
        if self.collections.iter().any(|c| c == collection) {
            Ok(())
        } else {
            Err(Error::new(ErrorKind::UnknownCollection, format!("no collection \"{collection}\" in the schema")))
        }
    }

    /// Every live record: (collection, id, data), in key order.
    pub fn live_records(&self) -> Vec<(String, String, D)> {
        let state = self.state.borrow();
        state.records.iter().filter_map(|((c, i), s)| s.data.clone().map(|d| (c.clone(), i.clone(), d))).collect()
    }

    /// The record here, with its metadata (`None`: not here).
    pub fn stored(&self, collection: &str, id: &str) -> Option<Stored<D>> {
        self.state.borrow().records.get(&key(collection, id)).cloned()
    }

    /// Stores a blob's bytes (once per hash) and gives the reference a record holds. The hash is
    /// computed chunk by chunk, as the browser reads a file. Not a transaction of its own with a
    /// write: a blob no change refers to is never uploaded.
    pub fn put_blob(&self, bytes: Vec<u8>, media_type: &str) -> BlobRef {
        let mut hasher = Hasher::new();
        for chunk in bytes.chunks(64 * 1024) {
            hasher.update(chunk);
        }
        let blob = BlobRef { hash: hasher.finish(), size: bytes.len() as u64, media_type: media_type.to_string() };
        let row = BlobRow { blob: blob.clone(), uploaded: Uploaded::No, bytes: Rc::new(bytes), used: 0.0 };
        let mut state = self.state.borrow_mut();
        state.wanted.remove(&blob.hash);
        state.blobs.entry(blob.hash.clone()).or_insert(row);
        state.evict();
        blob
    }

    /// The bytes of blob `hash`, if they are here.
    pub fn blob_bytes(&self, hash: &str) -> Option<Rc<Vec<u8>>> {
        self.state.borrow().blobs.get(hash).map(|b| b.bytes.clone())
    }

    /// Whether the server has blob `hash`, as this store knows it (`None`: no such blob here).
    pub fn blob_uploaded(&self, hash: &str) -> Option<Uploaded> {
        self.state.borrow().blobs.get(hash).map(|b| b.uploaded.clone())
    }

    /// Every queued entry, oldest first.
    pub fn outbox(&self) -> Vec<Entry> {
        self.state.borrow().outbox.values().map(|r| r.entry.clone()).collect()
    }

    /// Every conflict, with the record here as it is now: writes made while it was held are in
    /// it (what a person or a resolver keeps must not undo them).
    pub fn conflict_rows(&self) -> Vec<ConflictRow<D>> {
        let state = self.state.borrow();
        state
            .conflicts
            .values()
            .map(|row| ConflictRow { local: state.records.get(&key(&row.collection, &row.id)).cloned(), ..row.clone() })
            .collect()
    }

    /// The sync log, newest first.
    pub fn log_entries(&self) -> Vec<LogEntry<D>> {
        self.state.borrow().log.values().rev().cloned().collect()
    }

    /// The conflict strategy `collection` was declared with.
    pub fn strategy(&self, collection: &str) -> Strategy {
        self.collections.iter().position(|c| c == collection).map_or(Strategy::Manual, |i| self.strategies[i])
    }

    pub fn stored_cursor(&self) -> Option<String> {
        self.state.borrow().cursor.clone()
    }

    /// Local writes to one collection, in one transaction: all of them or none. `data` is the
    /// record for create/put/replace, the patch for update, and `None` for delete.
    /// `mutation_id` makes the id of each new outbox entry.
    pub fn write(
        &self,
        collection: &str,
        writes: Vec<(String, Intent, Option<D>)>,
        mutation_id: &mut dyn FnMut() -> String,
        now: f64,
    ) -> Result<Written>
    where
        D: Patch + Tree,
    {
        self.check_collection(collection)?;
        self.transaction(|state| {
            let mut written = Written::default();
            for (id, intent, data) in writes {
                check_record_id(&id).map_err(|r| Error::new(ErrorKind::InvalidRecord, r.message))?;
                let k = key(collection, &id);
                let stored = state.records.get(&k).cloned();
                let newest = state.entries_of(collection, &id).last().map(|e| Newest {
                    seq: Some(e.seq),
                    queued: QueuedOp {
                        op: e.op,
                        sent: state.sent_mark.may_have_sent(Some(e.seq), e.sends()),
                        held: e.hold.is_some(),
                        forced: e.force,
                    },
                });
                let current = Current { meta: stored.as_ref().map(|s| s.meta.clone()), newest };
                let step = plan_write(intent, &current, collection, &id, now)?;
                let base =
                    if WriteStep::keeps_base(&current) { stored.as_ref().and_then(|s| s.data.clone()) } else { None };
                written.pending_delta += step.pending_delta();
                match step {
                    WriteStep::Nothing => {}
                    WriteStep::Cancel => {
                        state.records.remove(&k);
                        if let Some(seq) = newest.and_then(|n| n.seq) {
                            state.outbox.remove(&seq);
                        }
                        written.changes.add(collection, &id, Op::Delete);
                    }
                    WriteStep::Store { meta, fields, queue, change } => {
                        let missing = || Error::new(ErrorKind::InvalidRecord, format!("no data for \"{id}\""));
                        let data = match fields {
                            Fields::Given => Some(data.ok_or_else(missing)?),
                            Fields::Merged => {
                                let patch = data.ok_or_else(missing)?;
                                stored.and_then(|s| s.data).map(|d| d.patched(&patch))
                            }
                            Fields::Tombstone => None,
                        };
                        state.check_unique(&k, data.as_ref())?;
                        state.records.insert(k.clone(), Stored { data, meta });
                        match queue {
                            Queue::Append { op, base_version } => {
                                state.append(&mutation_id(), collection, &id, op, base_version, base);
                            }
                            Queue::Rewrite { op } => {
                                if let Some(row) = newest.and_then(|n| n.seq).and_then(|s| state.outbox.get_mut(&s)) {
                                    row.entry.op = op;
                                }
                            }
                            Queue::Keep => {}
                        }
                        written.changes.add(collection, &id, change);
                    }
                }
            }
            Ok(written)
        })
    }
}

impl<D: Tree> MemoryStore<D> {
    /// Applies pulled changes ([`super::rules::pull`]) to `state`, counting into `applied`.
    fn apply_changes(
        &self,
        state: &mut State<D>,
        changes: &[ServerRecord<D>],
        now: f64,
        applied: &mut PageApplied,
    ) -> Result<()> {
        // Changes to collections this app does not declare are passed over (the cursor still
        // moves past them): the schema decides what this client keeps.
        // Pulled records that clash with another local record on a unique index, tried once
        // more after the rest of the page (a page may move a value from one record to another
        // in either order).
        let mut clashed = Vec::new();
        for change in changes.iter().filter(|c| self.collections.contains(&c.collection)) {
            let k = key(&change.collection, &change.id);
            let local = state.records.get(&k).cloned();
            let queued = state.entries_of(&change.collection, &change.id);
            match pull_step(change, local.as_ref().map(|s| &s.meta), &queued, now) {
                PullStep::Ignore => {}
                PullStep::Take { record: RecordStep::Server(_), .. }
                    if change.data.as_ref().is_some_and(|d| state.clash(&k, d).is_some()) =>
                {
                    clashed.push(change);
                }
                PullStep::Take { record, announce } => {
                    state.record(&k, record, Some(&change.data))?;
                    state.conflicts.remove(&k);
                    if let Some(op) = announce {
                        applied.changes.add(&change.collection, &change.id, op);
                    }
                }
                PullStep::Conflict { hold, record, counted } => {
                    let row = ConflictRow {
                        collection: change.collection.clone(),
                        id: change.id.clone(),
                        local: local.clone(),
                        server: change.clone(),
                        base: state.base_of(&change.collection, &change.id),
                        detected_at: now,
                    };
                    state.conflicts.insert(k.clone(), row);
                    if let Some(row) = hold.and_then(|seq| state.outbox.get_mut(&seq)) {
                        row.entry.hold = Some(Hold::Conflict);
                    }
                    if matches!(record, RecordStep::Meta(_)) {
                        applied.changes.add(&change.collection, &change.id, Op::Update);
                    }
                    state.record(&k, record, None)?;
                    applied.conflicts += u64::from(counted);
                }
            }
        }
        for change in clashed {
            let k = key(&change.collection, &change.id);
            let local = state.records.get(&k).cloned();
            if let PullStep::Take { record, announce } = pull_step(change, local.as_ref().map(|s| &s.meta), &[], now) {
                if change.data.as_ref().is_none_or(|d| state.clash(&k, d).is_none()) {
                    state.record(&k, record, Some(&change.data))?;
                    state.conflicts.remove(&k);
                    if let Some(op) = announce {
                        applied.changes.add(&change.collection, &change.id, op);
                    }
                    continue;
                }
            }
            // Still clashing: kept as a conflict (the record here, if any, stays as it is)
            // instead of stopping the pull for good.
            let row = ConflictRow {
                collection: change.collection.clone(),
                id: change.id.clone(),
                local: local.clone(),
                server: change.clone(),
                base: None,
                detected_at: now,
            };
            state.conflicts.insert(k.clone(), row);
            let (step, counted) = clash_step(local.as_ref().map(|s| &s.meta));
            if matches!(step, RecordStep::Meta(_)) {
                applied.changes.add(&change.collection, &change.id, Op::Update);
            }
            state.record(&k, step, None)?;
            applied.conflicts += u64::from(counted);
        }
        Ok(())
    }
}

impl<D: Tree> SyncStorage<D> for MemoryStore<D> {
    type Conflicts = Vec<ConflictRow<D>>;
    type DeadLetters = Vec<DeadLetter>;
    type Log = Vec<LogEntry<D>>;

    async fn read_batch(&self, max: u32, unapplied: &[u64], _now: f64) -> Result<Option<Batch<D>>> {
        self.transaction(|state| {
            // A change waits, as a held one does, until the blobs its record refers to are up.
            let plan: Vec<Queued<'_>> = state
                .outbox
                .values()
                .map(|r| {
                    let k = key(&r.entry.collection, &r.entry.record_id);
                    let waits = !ready(&state.blobs_of(&k), |h| state.uploaded(h));
                    let held = r.entry.hold.is_some() || waits || unapplied.contains(&r.entry.seq);
                    Queued { held, ..Queued::from(&r.entry) }
                })
                .collect();
            let chosen = next_batch(&plan, max as usize);
            if chosen.is_empty() {
                return Ok(None);
            }
            let mut batch = Batch { mutations: Vec::new(), seqs: Vec::new() };
            for seq in chosen {
                let space = state.outbox.get(&seq).and_then(|row| {
                    let record = state.records.get(&key(&row.entry.collection, &row.entry.record_id));
                    state.space_in(&row.entry.collection, record.and_then(|r| r.data.as_ref()))
                });
                let Some(row) = state.outbox.get_mut(&seq) else { continue };
                let e = &row.entry;
                let record = state.records.get(&key(&e.collection, &e.record_id));
                let op = wire_op(e.op, record.is_some_and(|r| !r.meta.deleted));
                let mutation_id = Uuid::try_parse(&e.mutation_id).map_err(|_| {
                    Error::new(ErrorKind::Storage, format!("outbox entry {seq} has a malformed mutation id"))
                })?;
                batch.mutations.push(Mutation {
                    mutation_id,
                    collection: e.collection.clone(),
                    id: e.record_id.clone(),
                    op,
                    data: if op == protocol::Op::Upsert { record.and_then(|r| r.data.clone()) } else { None },
                    base_version: e.base_version,
                    force: e.force,
                    // The local clock; the engine turns it into the server's before the push.
                    written_at: record.map(|r| r.meta.updated_at as u64),
                    // Where the record is after the change, from its space field.
                    space: space.filter(|_| op == protocol::Op::Upsert),
                });
                batch.seqs.push(seq);
            }
            // Counted in this same transaction: the mark, and the few entries it misdescribes.
            let read: Vec<(u64, Sends)> = state.outbox.values().map(|r| (r.entry.seq, r.entry.sends())).collect();
            let counted = state.sent_mark.count_batch(&read, &batch.seqs);
            for (seq, count) in counted.entries {
                if let Some(row) = state.outbox.get_mut(&seq) {
                    row.entry = row.entry.clone().with_sends(row.entry.sends().counted(count));
                }
            }
            state.sent_mark = counted.mark.unwrap_or(state.sent_mark);
            Ok(Some(batch))
        })
    }

    async fn apply_push(&self, batch: Batch<D>, answer: PushResponse<D>, now: f64) -> Result<PushApplied> {
        let mut by_id: BTreeMap<Uuid, MutationResult<D>> =
            answer.results.into_iter().map(|r| (r.mutation_id(), r)).collect();
        self.transaction(|state| {
            let mut applied = PushApplied::default();
            for (m, seq) in batch.mutations.iter().zip(&batch.seqs) {
                let Some(result) = by_id.remove(&m.mutation_id) else { continue };
                applied.answered += 1;
                // The entry may have gone meanwhile (the user discarded it); nothing to apply then.
                if !state.outbox.contains_key(seq) {
                    continue;
                }
                let k = key(&m.collection, &m.id);
                let later = state.entries_of(&m.collection, &m.id).into_iter().find(|e| e.seq > *seq);
                let attempts = state.outbox.get(seq).map_or(0, |r| r.entry.attempts);
                let local = state.records.get(&k).cloned();
                let blobs = m.data.as_ref().map(blob_hashes).unwrap_or_default();
                let bytes_here = !blobs.is_empty() && blobs.iter().all(|h| state.blobs.contains_key(h));
                if awaits_upload(&result, bytes_here) {
                    // Sent again once its blobs are up (`next_upload` finds them).
                    for hash in &blobs {
                        if let Some(b) = state.blobs.get_mut(hash) {
                            b.uploaded = Uploaded::No;
                        }
                    }
                    continue;
                }
                let mut step = push_step(&result, local.as_ref().map(|s| &s.meta), later.is_some());
                if state.conflicts.get(&k).is_some_and(|c| settles_conflict(&result, c.server.version)) {
                    state.conflicts.remove(&k);
                    step = step.conflict_settled(later.is_some());
                }
                match step.entry {
                    EntryStep::Remove => {
                        state.outbox.remove(seq);
                        applied.acknowledged += 1;
                    }
                    EntryStep::Hold(hold) => {
                        if let Some(row) = state.outbox.get_mut(seq) {
                            row.entry.hold = Some(hold);
                        }
                        applied.conflicts += 1;
                    }
                    EntryStep::DeadLetter { code, message } => {
                        state.reject(*seq, m.data.clone(), code, message, now, &mut applied.changes);
                        applied.rejected += 1;
                    }
                }
                if let (Some(version), Some(next)) = (step.rebase_next, &later) {
                    // The server now has what was pushed: the next change starts from it.
                    if let Some(row) = state.outbox.get_mut(&next.seq) {
                        row.entry.base_version = Some(version);
                        row.base = m.data.clone().filter(|_| pushed_data_is_base(attempts));
                    }
                }
                if let (true, MutationResult::Conflict { current, .. }) = (step.keep_conflict, &result) {
                    let row = ConflictRow {
                        collection: m.collection.clone(),
                        id: m.id.clone(),
                        local,
                        server: current.clone(),
                        base: state.outbox.get(seq).and_then(|r| r.base.clone()),
                        detected_at: now,
                    };
                    state.conflicts.insert(k.clone(), row);
                }
                state.record(&k, step.record, None)?;
                if let Some(op) = step.announce {
                    applied.changes.add(&m.collection, &m.id, op);
                }
                // Acknowledged into a space this device does not sync: the local copy goes.
                state.prune(&k, &mut applied.changes);
            }
            Ok(applied)
        })
    }

    /// In hash order, as the browser's `byUpload` index lists them. Any blob stored here and not
    /// on the server goes up, whether or not a queued change still refers to it (one replaced
    /// before its upload costs an upload, and the server collects it).
    async fn next_download(&self, skip: &[String]) -> Result<Option<BlobRef>> {
        Ok(self.next_wanted(skip))
    }

    async fn next_upload(&self, skip: &[String]) -> Result<Option<BlobRef>> {
        let state = self.state.borrow();
        let mut waiting = state.blobs.values().filter(|b| b.uploaded == Uploaded::No && !skip.contains(&b.blob.hash));
        Ok(waiting.next().map(|b| b.blob.clone()))
    }

    async fn end_upload(&self, hash: &str, outcome: Uploaded, now: f64) -> Result<Decided> {
        self.transaction(|state| {
            let mut decided = Decided::default();
            let Some(row) = state.blobs.get_mut(hash) else { return Ok(decided) };
            row.uploaded = outcome.clone();
            if let Uploaded::Failed { code, message } = outcome {
                let waiting: Vec<(u64, Key)> = state
                    .outbox
                    .values()
                    .filter(|r| r.entry.hold.is_none())
                    .map(|r| (r.entry.seq, key(&r.entry.collection, &r.entry.record_id)))
                    .filter(|(_, k)| state.blobs_of(k).iter().any(|h| h == hash))
                    .collect();
                for (seq, k) in waiting {
                    let stored = state.records.get(&k).cloned();
                    state.reject(
                        seq,
                        stored.as_ref().and_then(|s| s.data.clone()),
                        code.clone(),
                        message.clone(),
                        now,
                        &mut decided.changes,
                    );
                    if let Some(meta) = stored.map(|s| s.meta) {
                        let status = meta.status.next(crate::core::status::StatusEvent::PushRejected);
                        state.record(&k, RecordStep::Meta(RecordMeta { status, ..meta }), None)?;
                        decided.changes.add(&k.0, &k.1, Op::Update);
                    }
                    decided.pending_delta -= 1;
                }
            }
            Ok(decided)
        })
    }

    async fn cursor(&self) -> Result<Option<String>> {
        Ok(self.stored_cursor())
    }

    async fn reset_cursor(&self) -> Result<()> {
        self.state.borrow_mut().reset_cursors();
        Ok(())
    }

    async fn pull_from(&self) -> Result<PullFrom> {
        let state = self.state.borrow();
        Ok(if state.by_space() {
            let set = state.spaces.iter().map(|(s, c)| (s.as_str(), c.as_deref()));
            PullFrom::Spaces(spaces::request(set, state.cursor.as_deref()))
        } else {
            PullFrom::Tenant(state.cursor.clone())
        })
    }

    async fn apply_spaces(
        &self,
        asked: &[SpaceCursor],
        answer: SpacesPullResponse<D>,
        now: f64,
    ) -> Result<PageApplied> {
        self.transaction(|state| {
            let mut applied = PageApplied::default();
            for page in &answer.spaces {
                let Some(asked) = asked.iter().find(|a| a.space == page.space) else { continue };
                let stored = match &page.space {
                    None => state.cursor.clone(),
                    // Removed meanwhile: its records went with it, and its page goes too.
                    Some(space) => match state.spaces.get(space) {
                        Some(cursor) => cursor.clone(),
                        None => continue,
                    },
                };
                applied.received += (page.changes.len() + page.left.len()) as u64;
                self.apply_changes(state, &page.changes, now, &mut applied)?;
                {
                    let space = page.space.as_deref();
                    for left in page.left.iter().filter(|l| self.collections.contains(&l.collection)) {
                        let k = key(&left.collection, &left.id);
                        let here = state.space_of(&k);
                        let queued = !state.entries_of(&k.0, &k.1).is_empty();
                        let copy =
                            state.records.get(&k).map(|s| Copy { meta: &s.meta, space: here.as_deref(), queued });
                        if left_removes(left, space, copy) {
                            state.records.remove(&k);
                            state.conflicts.remove(&k);
                            applied.changes.add(&k.0, &k.1, Op::Delete);
                        } else if let Some(row) = state.conflicts.get(&k) {
                            // Kept for its changes: a conflict whose server version is the one that
                            // left learns that the record is gone from here.
                            let theirs = state.space_in(&k.0, row.server.data.as_ref());
                            if theirs.as_deref() == space {
                                if let Some(gone) = left_conflict(left, &row.server) {
                                    if let Some(row) = state.conflicts.get_mut(&k) {
                                        row.server = gone;
                                    }
                                }
                            }
                        }
                    }
                }
                if stored == asked.cursor {
                    match &page.space {
                        None => state.cursor = Some(page.cursor.clone()),
                        Some(space) => {
                            state.spaces.insert(space.clone(), Some(page.cursor.clone()));
                            if !page.has_more {
                                state.synced.insert(space.clone(), now);
                            }
                        }
                    }
                } else {
                    applied.restart = true;
                }
            }
            applied.sweep_due = state.sweep.is_due();
            Ok(applied)
        })
    }

    async fn spaces(&self) -> Result<Vec<String>> {
        Ok(self.state.borrow().spaces.keys().cloned().collect())
    }

    async fn add_space(&self, space: &str) -> Result<bool> {
        check_space(space).map_err(|r| Error::new(ErrorKind::InvalidOptions, r.message))?;
        self.transaction(|state| {
            if state.spaces.contains_key(space) {
                return Ok(false);
            }
            state.spaces.insert(space.to_string(), None);
            Ok(true)
        })
    }

    async fn remove_space(&self, space: &str, discard_pending: bool, now: f64) -> Result<Decided> {
        self.transaction(|state| {
            let keys: Vec<Key> =
                state.records.keys().filter(|k| state.space_of(k).as_deref() == Some(space)).cloned().collect();
            let queued = state.outbox.values().filter(|r| keys.iter().any(|(c, i)| r.entry.is(c, i))).count() as u64;
            if queued > 0 && !discard_pending {
                return Err(Error::pending_changes(queued, &format!("space \"{space}\"")));
            }
            let dead = state
                .outbox
                .values()
                .filter(|r| r.entry.hold == Some(Hold::Failed) && keys.iter().any(|(c, i)| r.entry.is(c, i)))
                .count() as u64;
            state.dead_letters = state.dead_letters.saturating_sub(dead);
            state.outbox.retain(|_, r| !keys.iter().any(|(c, i)| r.entry.is(c, i)));
            // The count that follows the removal (under the lock) sets the queue's size.
            let mut decided = Decided::default();
            for k in &keys {
                state.conflicts.remove(k);
                state.records.remove(k);
                decided.changes.add(&k.0, &k.1, Op::Delete);
            }
            state.spaces.remove(space);
            state.synced.remove(space);
            if queued > 0 {
                // A dropped change may have moved a record into this space from one still synced
                // (or from none): the server's version is there, behind the cursors. The pull
                // starts over, so that it comes back.
                state.reset_cursors();
            }
            let mut logged =
                LogEntry::force(now, LogKind::Wipe, &Scope::Only(state.space_collections()), keys.len() as u64);
            logged.id = space.to_string();
            logged.message = Some(format!("space \"{space}\" removed: {queued} queued changes dropped"));
            state.log(logged);
            decided.changes.add(LOG_CHANGES, "", Op::Create);
            Ok(decided)
        })
    }

    async fn apply_page(
        &self,
        asked_from: Option<&str>,
        page: PullResponse<D>,
        last: bool,
        now: f64,
    ) -> Result<PageApplied> {
        self.transaction(|state| {
            let mut applied = PageApplied { received: page.changes.len() as u64, ..PageApplied::default() };
            self.apply_changes(state, &page.changes, now, &mut applied)?;
            if state.cursor.as_deref() == asked_from {
                if last {
                    state.cursor = Some(page.cursor.clone());
                }
            } else {
                applied.restart = true;
            }
            applied.sweep_due = state.sweep.is_due();
            Ok(applied)
        })
    }

    async fn counts(&self) -> Result<Counts> {
        let state = self.state.borrow();
        let held: Vec<(&str, &str)> = state
            .outbox
            .values()
            .filter(|r| r.entry.hold.is_some())
            .map(|r| (r.entry.collection.as_str(), r.entry.record_id.as_str()))
            .collect();
        Ok(Counts {
            pending: state.outbox.values().filter(|r| !held.iter().any(|(c, i)| r.entry.is(c, i))).count() as u64,
            failed: state.dead_letters,
            conflicts: state.conflicts.len() as u64,
            spaces: state
                .spaces
                .keys()
                .map(|space| SpaceState { space: space.clone(), synced_at: state.synced.get(space).copied() })
                .collect(),
            blob_bytes: state.blob_bytes(),
        })
    }

    async fn conflicts(&self) -> Result<Vec<ConflictRow<D>>> {
        Ok(self.conflict_rows())
    }

    async fn dead_letters(&self) -> Result<Vec<DeadLetter>> {
        let state = self.state.borrow();
        Ok(state
            .outbox
            .values()
            .filter(|r| r.entry.hold == Some(Hold::Failed))
            .map(|r| {
                let (code, message) = r.error.clone().unwrap_or_default();
                DeadLetter { entry: r.entry.clone(), code, message }
            })
            .collect())
    }

    async fn resolve_conflict(
        &self,
        collection: &str,
        id: &str,
        choice: Choice,
        mutation_id: &str,
        now: f64,
    ) -> Result<Decided> {
        self.check_collection(collection)?;
        self.transaction(|state| state.resolve(collection, id, Side::from(choice), None, By::User, mutation_id, now))
    }

    async fn merge_conflict(
        &self,
        collection: &str,
        id: &str,
        merged: D,
        mutation_id: &str,
        now: f64,
    ) -> Result<Decided> {
        self.check_collection(collection)?;
        self.transaction(|state| state.resolve(collection, id, Side::Merged, Some(merged), By::User, mutation_id, now))
    }

    async fn settle_conflicts(
        &self,
        now: f64,
        clock_offset: f64,
        mutation_id: &mut dyn FnMut() -> String,
    ) -> Result<Settled> {
        self.transaction(|state| {
            let mut settled = Settled::default();
            let rows: Vec<ConflictRow<D>> = state.conflicts.values().cloned().collect();
            for row in rows {
                let strategy = self.strategy(&row.collection);
                let nothing_queued = state.entries_of(&row.collection, &row.id).is_empty();
                if nothing_queued {
                    // Nothing of this record is queued here (a pulled version that clashed on a
                    // unique index): the server's version, as soon as it can be stored.
                    let by = By::Strategy(strategy);
                    settled.settled_unless_clash(state, |s| {
                        s.resolve(&row.collection, &row.id, Side::Server, None, by, &mutation_id(), now)
                    })?;
                    continue;
                }
                if strategy == Strategy::Manual {
                    continue;
                }
                let local = state.data(&key(&row.collection, &row.id));
                let deleted = state.meta(&row.collection, &row.id).is_some_and(|m| m.deleted);
                let server = if row.server.deleted { None } else { row.server.data.clone() };
                let local_time = state.meta(&row.collection, &row.id).map(|m| m.updated_at + clock_offset);
                let times = local_time.zip(row.server.updated_at.map(|t| t as f64));
                let settlement = settle(strategy, row.base.as_ref(), local.as_ref(), deleted, server.as_ref(), times);
                if matches!(settlement, Settlement::Ask) {
                    settled.asks.push((row.collection.clone(), row.id.clone()));
                }
                let Some((side, merged)) = settlement.side() else { continue };
                let by = By::Strategy(strategy);
                settled.settled_unless_clash(state, |s| {
                    s.resolve(&row.collection, &row.id, side, merged, by, &mutation_id(), now)
                })?;
            }
            Ok(settled)
        })
    }

    async fn begin_force(&self, force: &Force, now: f64, mutation_id: &mut dyn FnMut() -> String) -> Result<Decided> {
        self.transaction(|state| {
            let mut decided = Decided::default();
            match force {
                Force::Push(scope) => {
                    let mut count = 0;
                    let mark = state.sent_mark;
                    for row in state.outbox.values_mut().filter(|r| scope.contains(&r.entry.collection)) {
                        let Some(forced) = force_entry(&row.entry, mark, &mut *mutation_id) else { continue };
                        if row.entry.hold == Some(Hold::Conflict) {
                            let k = key(&forced.collection, &forced.record_id);
                            state.conflicts.remove(&k);
                            if let Some(stored) = state.records.get_mut(&k) {
                                if let RecordStep::Meta(meta) = force_record(&stored.meta) {
                                    stored.meta = meta;
                                    decided.changes.add(&k.0, &k.1, Op::Update);
                                }
                            }
                        }
                        row.entry = forced;
                        count += 1;
                    }
                    state.log(LogEntry::force(now, LogKind::ForcePush, scope, count));
                }
                Force::Pull { scope, keep_local } => {
                    let before = state.outbox.len();
                    if !keep_local {
                        let dead = state
                            .outbox
                            .values()
                            .filter(|r| scope.contains(&r.entry.collection) && r.entry.hold == Some(Hold::Failed))
                            .count() as u64;
                        state.dead_letters = state.dead_letters.saturating_sub(dead);
                        state.outbox.retain(|_, r| !scope.contains(&r.entry.collection));
                        state.conflicts.retain(|(c, _), _| !scope.contains(c));
                    }
                    let count = if *keep_local {
                        state.outbox.values().filter(|r| scope.contains(&r.entry.collection)).count()
                    } else {
                        before - state.outbox.len()
                    } as u64;
                    let keys: Vec<Key> = state.records.keys().filter(|(c, _)| scope.contains(c)).cloned().collect();
                    for k in keys {
                        let queued = !state.entries_of(&k.0, &k.1).is_empty();
                        let meta = state.records[&k].meta.clone();
                        let step = begin_pull(&meta, queued, *keep_local);
                        if step == RecordStep::Remove {
                            decided.changes.add(&k.0, &k.1, Op::Delete);
                        }
                        state.record(&k, step, None)?;
                    }
                    state.reset_cursors();
                    state.sweep.add_collections(scope);
                    let mut logged = LogEntry::force(now, LogKind::ForcePull, scope, count);
                    logged.kept = Some(if *keep_local { Kept::Local } else { Kept::Server });
                    state.log(logged);
                }
                Force::PullSpaces { spaces, keep_local } => {
                    check_spaces(spaces, |s| state.spaces.contains_key(s))?;
                    // The records of those spaces as they are here: a tombstone has no space, so
                    // a queued delete stays (the user made it), as when a space is removed.
                    let keys: BTreeSet<Key> = state
                        .records
                        .keys()
                        .filter(|k| in_spaces(spaces, state.space_of(k).as_deref()))
                        .cloned()
                        .collect();
                    let in_scope = |r: &Row<D>| keys.contains(&key(&r.entry.collection, &r.entry.record_id));
                    let count = state.outbox.values().filter(|r| in_scope(r)).count() as u64;
                    let every_cursor = keys.iter().any(|k| {
                        let queued = !state.entries_of(&k.0, &k.1).is_empty();
                        forgets_every_cursor(queued, state.conflicts.contains_key(k), *keep_local)
                    });
                    if !keep_local {
                        let dead =
                            state.outbox.values().filter(|r| in_scope(r) && r.entry.hold == Some(Hold::Failed)).count();
                        state.dead_letters = state.dead_letters.saturating_sub(dead as u64);
                        state.outbox.retain(|_, r| !in_scope(r));
                        state.conflicts.retain(|k, _| !keys.contains(k));
                    }
                    for k in &keys {
                        let queued = !state.entries_of(&k.0, &k.1).is_empty();
                        let meta = state.records[k].meta.clone();
                        state.record(k, begin_pull(&meta, queued, *keep_local), None)?;
                    }
                    if every_cursor {
                        state.reset_cursors();
                    } else {
                        state.reset_space_cursors(spaces);
                    }
                    state.sweep.add_spaces(spaces);
                    let collections = state.space_collections();
                    let mut logged = LogEntry::force_spaces(now, LogKind::ForcePull, &collections, spaces, count);
                    logged.kept = Some(if *keep_local { Kept::Local } else { Kept::Server });
                    state.log(logged);
                }
            }
            decided.changes.add(LOG_CHANGES, "", Op::Create);
            Ok(decided)
        })
    }

    async fn finish_force_pull(&self, now: f64) -> Result<Decided> {
        self.transaction(|state| {
            let mut decided = Decided::default();
            let sweep = std::mem::take(&mut state.sweep);
            if !sweep.is_due() {
                return Ok(decided);
            }
            let gone: Vec<Key> = state
                .records
                .iter()
                .filter(|(k, s)| {
                    sweep.covers(&k.0, state.space_of(k).as_deref())
                        && swept(&s.meta, !state.entries_of(&k.0, &k.1).is_empty())
                })
                .map(|(k, _)| k.clone())
                .collect();
            for k in &gone {
                state.records.remove(k);
                decided.changes.add(&k.0, &k.1, Op::Delete);
            }
            state.log(LogEntry::swept(now, &sweep, &state.space_collections(), gone.len() as u64));
            decided.changes.add(LOG_CHANGES, "", Op::Create);
            Ok(decided)
        })
    }

    async fn wipe(&self, collection: &str, discard_pending: bool, now: f64) -> Result<Decided> {
        self.check_collection(collection)?;
        self.transaction(|state| {
            let queued = state.outbox.values().filter(|r| r.entry.collection == collection).count() as u64;
            if queued > 0 && !discard_pending {
                return Err(Error::pending_changes(queued, &format!("\"{collection}\"")));
            }
            let dead = state
                .outbox
                .values()
                .filter(|r| r.entry.collection == collection && r.entry.hold == Some(Hold::Failed))
                .count() as u64;
            state.dead_letters = state.dead_letters.saturating_sub(dead);
            state.outbox.retain(|_, r| r.entry.collection != collection);
            state.conflicts.retain(|(c, _), _| c != collection);
            let mut decided = Decided::default();
            let gone: Vec<Key> = state.records.keys().filter(|(c, _)| c == collection).cloned().collect();
            for k in &gone {
                state.records.remove(k);
                decided.changes.add(&k.0, &k.1, Op::Delete);
            }
            let mut logged =
                LogEntry::force(now, LogKind::Wipe, &Scope::Only(vec![collection.into()]), gone.len() as u64);
            logged.message = Some(format!("{queued} queued changes dropped"));
            state.log(logged);
            decided.changes.add(LOG_CHANGES, "", Op::Create);
            Ok(decided)
        })
    }

    async fn apply_answers(
        &self,
        answers: Vec<(String, String, Answer<D>)>,
        now: f64,
        mutation_id: &mut dyn FnMut() -> String,
    ) -> Result<Settled> {
        self.transaction(|state| {
            let mut settled = Settled::default();
            for (collection, id, answer) in answers {
                if !state.conflicts.contains_key(&key(&collection, &id)) {
                    continue;
                }
                let by = By::Strategy(Strategy::Custom);
                match answer.side() {
                    Ok((side, merged)) => settled.settled_unless_clash(state, |s| {
                        s.resolve(&collection, &id, side, merged, by, &mutation_id(), now)
                    })?,
                    Err(None) => {}
                    Err(Some(why)) => {
                        let mut logged = LogEntry::new(now, LogKind::Unresolved, &collection, &id);
                        (logged.by, logged.message) = (Some(by), Some(why));
                        state.log(logged);
                        settled.decided.changes.add(LOG_CHANGES, &id, Op::Create);
                    }
                }
            }
            Ok(settled)
        })
    }

    async fn log(&self) -> Result<Vec<LogEntry<D>>> {
        Ok(self.log_entries())
    }

    async fn clear_log(&self) -> Result<()> {
        self.state.borrow_mut().log.clear();
        Ok(())
    }

    async fn retry_failed(&self, collection: &str, id: &str, mutation_id: &str, now: f64) -> Result<Decided> {
        self.check_collection(collection)?;
        self.transaction(|state| {
            let queued = state.entries_of(collection, id);
            let d =
                decide::retry(decide::from_dead_letter(&queued, collection, id)?, state.meta(collection, id).as_ref());
            state.log(LogEntry::new(now, LogKind::Retried, collection, id));
            // A file the server refused goes up again with it.
            for hash in state.blobs_of(&key(collection, id)) {
                if let Some(b) = state.blobs.get_mut(&hash).filter(|b| matches!(b.uploaded, Uploaded::Failed { .. })) {
                    b.uploaded = Uploaded::No;
                }
            }
            let mut decided = state.decide(&key(collection, id), d, None, None, mutation_id)?;
            decided.changes.add(LOG_CHANGES, id, Op::Create);
            Ok(decided)
        })
    }

    async fn discard_failed(&self, collection: &str, id: &str, now: f64) -> Result<Decided> {
        self.check_collection(collection)?;
        self.transaction(|state| {
            let queued = state.entries_of(collection, id);
            let from_dead = decide::from_dead_letter(&queued, collection, id)?;
            let in_conflict = state.conflicts.contains_key(&key(collection, id));
            let d = decide::discard(from_dead, state.meta(collection, id).as_ref(), in_conflict, now);
            let mut logged = LogEntry::new(now, LogKind::Discarded, collection, id);
            logged.local = state.data(&key(collection, id));
            state.log(logged);
            let mut decided = state.decide(&key(collection, id), d, None, None, "")?;
            decided.changes.add(LOG_CHANGES, id, Op::Create);
            Ok(decided)
        })
    }
}
