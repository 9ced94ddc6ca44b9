//! Spaces in IndexedDB (docs/sync.md, "Spaces"): the device's space set, stored in `_meta` with
//! each space's cursor; the pull by space applied in one transaction; a space removed with its
//! local records; and the check that lets a record outside the device's spaces go. What each
//! step does comes from the core ([`crate::core::sync::rules::spaces`]).

use js_sys::{Array, Object};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{IdbDatabase, IdbObjectStore, IdbTransaction};

use crate::core::error::{Error, ErrorKind, Result};
use crate::core::meta_rows::Row;
use crate::core::outbox::Op;
use crate::core::schema::{Schema, CONFLICTS_STORE, META_STORE};
use crate::core::sync::entry::Hold;
use crate::core::sync::log::{LogKind, LOG_CHANGES};
use crate::core::sync::rules::spaces::{left_conflict, left_removes, outside, request as space_request, Copy};
use crate::core::sync::storage::{Decided, PageApplied, PullFrom, SpaceState};
use crate::protocol::{check_space, SpaceCursor};

use super::super::glue;
use super::super::js::{get, set_field};
use super::super::records::read_meta;
use super::super::wire::{self, ServerRecord, SpacesResponse};
use super::connection::{commit_now_or_abort, commit_or_abort, js_err, request, transaction};
use super::entries::{
    all_stores, by_record, count_dead_letters, entries, entries_of, outbox, record_key, seq_key, store,
};
use super::log;
use super::pull::{apply_changes, CURSOR_KEY};

/// `_meta` key of the device's space set: `{ [space]: { cursor, syncedAt } }` (`cursor` null:
/// from its start; `syncedAt`: when a pull of it last reached its end, null before the first).
pub const SPACES_KEY: &str = Row::Spaces.key();

/// One space of the set, as stored.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SpaceRow {
    pub cursor: Option<String>,
    pub synced_at: Option<f64>,
}

/// The space set, sorted by space id. A sorted list rather than a map: a map's code weighs on
/// the wasm build (BENCHMARKS.md, "Size"), and a device syncs a handful of spaces.
#[derive(Debug, Clone, Default)]
pub struct SpaceSet(Vec<(String, SpaceRow)>);

impl SpaceSet {
    fn at(&self, space: &str) -> std::result::Result<usize, usize> {
        self.0.binary_search_by(|(s, _)| s.as_str().cmp(space))
    }

    pub fn get(&self, space: &str) -> Option<&SpaceRow> {
        self.at(space).ok().map(|i| &self.0[i].1)
    }

    fn get_mut(&mut self, space: &str) -> Option<&mut SpaceRow> {
        self.at(space).ok().map(|i| &mut self.0[i].1)
    }

    pub fn contains(&self, space: &str) -> bool {
        self.at(space).is_ok()
    }

    /// Adds `space` with `row`, or replaces its row.
    fn insert(&mut self, space: String, row: SpaceRow) {
        match self.at(&space) {
            Ok(i) => self.0[i].1 = row,
            Err(i) => self.0.insert(i, (space, row)),
        }
    }

    fn remove(&mut self, space: &str) {
        if let Ok(i) = self.at(space) {
            self.0.remove(i);
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &SpaceRow)> {
        self.0.iter().map(|(s, row)| (s.as_str(), row))
    }

    /// The spaces as the status shows them.
    pub fn states(self) -> Vec<SpaceState> {
        self.0.into_iter().map(|(space, row)| SpaceState { space, synced_at: row.synced_at }).collect()
    }
}

/// The space field of `collection`, if it declares one.
fn field<'a>(schema: &'a Schema, collection: &str) -> Option<&'a str> {
    schema.collection(collection).and_then(|c| c.space.as_deref())
}

/// Whether pulls go by space: a collection declares a space field.
pub fn by_space(schema: &Schema) -> bool {
    schema.collections.iter().any(|c| c.space.is_some())
}

/// The space of a record of `collection` as stored here (its space field's value, if a string;
/// `None`: no space field, no record, a tombstone, or no value).
pub fn space_of(schema: &Schema, collection: &str, record: &JsValue) -> Option<String> {
    let field = field(schema, collection)?;
    if record.is_undefined() || record.is_null() || glue::is_tombstone(record) {
        return None;
    }
    get(record, field).as_string()
}

/// The space set as stored in `meta` (empty when none was stored).
pub async fn read_set(meta: &IdbObjectStore, context: &str) -> Result<SpaceSet> {
    let stored = request(&meta.get(&JsValue::from_str(SPACES_KEY)).map_err(js_err(context))?, context).await?;
    let mut set = SpaceSet::default();
    if !stored.is_object() {
        return Ok(set);
    }
    for pair in Object::entries(stored.unchecked_ref()).iter() {
        let pair = Array::from(&pair);
        let Some(space) = pair.get(0).as_string() else { continue };
        let row = pair.get(1);
        set.insert(
            space,
            SpaceRow { cursor: get(&row, "cursor").as_string(), synced_at: get(&row, "syncedAt").as_f64() },
        );
    }
    Ok(set)
}

fn write_set(meta: &IdbObjectStore, set: &SpaceSet, context: &str) -> Result<()> {
    let stored = Object::new();
    for (space, row) in set.iter() {
        let value = Object::new();
        set_field(&value, "cursor", &row.cursor.as_deref().map_or(JsValue::NULL, JsValue::from_str));
        set_field(&value, "syncedAt", &row.synced_at.map_or(JsValue::NULL, JsValue::from_f64));
        set_field(&stored, space, &value);
    }
    meta.put_with_key(&stored, &JsValue::from_str(SPACES_KEY)).map_err(js_err(context))?;
    Ok(())
}

/// Stores `spaces` as the set of a database just created (none pulled yet).
pub fn start_set(meta: &IdbObjectStore, spaces: &[String], context: &str) -> Result<()> {
    let mut set = SpaceSet::default();
    for space in spaces {
        set.insert(space.clone(), SpaceRow::default());
    }
    write_set(meta, &set, context)
}

/// Forgets every cursor in `tx`, every space's too: the next pull starts from the beginning.
pub async fn forget_cursors(tx: &IdbTransaction, context: &str) -> Result<()> {
    let meta = store(tx, META_STORE)?;
    meta.delete(&JsValue::from_str(CURSOR_KEY)).map_err(js_err(context))?;
    let mut set = read_set(&meta, context).await?;
    if set.iter().any(|(_, row)| row.cursor.is_some()) {
        set.0.iter_mut().for_each(|(_, row)| row.cursor = None);
        write_set(&meta, &set, context)?;
    }
    Ok(())
}

/// Where the next pull starts ([`SyncStorage::pull_from`](crate::core::sync::storage::SyncStorage)).
pub async fn pull_from(db: &IdbDatabase, schema: &Schema) -> Result<PullFrom> {
    let context = "reading the pull cursors";
    let tx = transaction(db, &[META_STORE], false)?;
    let meta = store(&tx, META_STORE)?;
    let cursor = request(&meta.get(&JsValue::from_str(CURSOR_KEY)).map_err(js_err(context))?, context);
    if !by_space(schema) {
        return Ok(PullFrom::Tenant(cursor.await?.as_string()));
    }
    let set = read_set(&meta, context).await?;
    let cursors = set.iter().map(|(space, row)| (space, row.cursor.as_deref()));
    Ok(PullFrom::Spaces(space_request(cursors, cursor.await?.as_string().as_deref())))
}

/// The spaces this device syncs, in order, with when each was last pulled to its end.
pub async fn states(db: &IdbDatabase) -> Result<Vec<SpaceState>> {
    let context = "reading the spaces";
    let tx = transaction(db, &[META_STORE], false)?;
    let set = read_set(&store(&tx, META_STORE)?, context).await?;
    Ok(set.states())
}

/// Adds `space` to the set, from its start; false when it is there already.
pub async fn add_space(db: &IdbDatabase, space: &str) -> Result<bool> {
    check_space(space).map_err(|r| Error::new(ErrorKind::InvalidOptions, r.message))?;
    let context = "adding a space";
    let tx = transaction(db, &[META_STORE], true)?;
    let meta = store(&tx, META_STORE)?;
    commit_or_abort(&tx, context, async {
        let mut set = read_set(&meta, context).await?;
        if set.contains(space) {
            return Ok(false);
        }
        set.insert(space.to_string(), SpaceRow::default());
        write_set(&meta, &set, context)?;
        Ok(true)
    })
    .await
}

/// Forgets the cursors of `spaces` in `tx` (the others carry on).
pub async fn forget_space_cursors(tx: &IdbTransaction, spaces: &[String], context: &str) -> Result<()> {
    let meta = store(tx, META_STORE)?;
    let mut set = read_set(&meta, context).await?;
    for space in spaces {
        if let Some(row) = set.get_mut(space) {
            row.cursor = None;
        }
    }
    write_set(&meta, &set, context)
}

/// The records of `collection` whose space field holds `space`: through an index on the field
/// when the collection declares one, otherwise by reading the collection whole.
pub async fn records_in(
    tx: &IdbTransaction,
    schema: &Schema,
    collection: &str,
    space: &str,
    context: &str,
) -> Result<Vec<JsValue>> {
    let Some(field) = field(schema, collection) else { return Ok(Vec::new()) };
    let records = store(tx, collection)?;
    let fail = js_err(context);
    let indexed = schema.collection(collection).and_then(|c| {
        c.indexes.iter().find(|i| !i.compound && !i.multi_entry && i.key_path.len() == 1 && i.key_path[0] == field)
    });
    let found = match indexed {
        Some(index) => {
            let index = records.index(&index.name).map_err(&fail)?;
            request(&index.get_all_with_key(&JsValue::from_str(space)).map_err(&fail)?, context).await?
        }
        None => request(&records.get_all().map_err(&fail)?, context).await?,
    };
    Ok(Array::from(&found).iter().filter(|r| space_of(schema, collection, r).as_deref() == Some(space)).collect())
}

/// Removes `space` and wipes its local records
/// ([`SyncStorage::remove_space`](crate::core::sync::storage::SyncStorage)).
pub async fn remove_space(
    db: &IdbDatabase,
    schema: &Schema,
    space: &str,
    discard_pending: bool,
    now: f64,
) -> Result<Decided> {
    let context = "removing a space";
    let tx = all_stores(db)?;
    let work = async {
        let fail = js_err(context);
        let index = by_record(&outbox(&tx)?)?;
        // Every record of the space, with its queued entries.
        let mut found = Vec::new();
        let spaced: Vec<&str> =
            schema.collections.iter().filter(|c| c.space.is_some()).map(|c| c.name.as_str()).collect();
        for collection in &spaced {
            for record in records_in(&tx, schema, collection, space, context).await? {
                let key = get(&record, "id");
                let queued = entries(&entries_of(&index, collection, &key, context)?.await?);
                found.push((*collection, key, queued));
            }
        }
        let queued: u64 = found.iter().map(|(_, _, q)| q.len() as u64).sum();
        if queued > 0 && !discard_pending {
            return Err(Error::pending_changes(queued, &format!("space \"{space}\"")));
        }
        let outbox = outbox(&tx)?;
        let conflicts = store(&tx, CONFLICTS_STORE)?;
        let mut decided = Decided::default();
        let mut dead = 0i64;
        for (collection, key, queued) in &found {
            for s in queued {
                outbox.delete(&seq_key(s.entry.seq)).map_err(&fail)?;
                dead += i64::from(s.entry.hold == Some(Hold::Failed));
            }
            conflicts.delete(&record_key(collection, key)).map_err(&fail)?;
            store(&tx, collection)?.delete(key).map_err(&fail)?;
            decided.changes.add(collection, &key.as_string().unwrap_or_default(), Op::Delete);
        }
        count_dead_letters(&tx, -dead).await?;
        let meta = store(&tx, META_STORE)?;
        let mut set = read_set(&meta, context).await?;
        set.remove(space);
        write_set(&meta, &set, context)?;
        if queued > 0 {
            // A dropped change may have moved a record into this space from one still synced (or
            // from none): the server's version is there, behind the cursors. The pull starts
            // over, so that it comes back.
            forget_cursors(&tx, context).await?;
        }
        let entry = glue::make_log_entry(
            now,
            LogKind::Wipe.as_str(),
            &spaced.join(","),
            space,
            None,
            None,
            &JsValue::UNDEFINED,
            &JsValue::UNDEFINED,
            None,
            Some(format!("space \"{space}\" removed: {queued} queued changes dropped")),
        );
        set_field(entry.unchecked_ref(), "count", &JsValue::from_f64(found.len() as f64));
        set_field(entry.unchecked_ref(), "dropped", &JsValue::from_f64(queued as f64));
        set_field(entry.unchecked_ref(), "space", &JsValue::from_str(space));
        log::append(&tx, &entry, context).await?;
        decided.changes.add(LOG_CHANGES, "", Op::Create);
        Ok(decided)
    };
    commit_or_abort(&tx, context, work).await
}

/// Applies the pages of a pull by space and stores their cursors
/// ([`SyncStorage::apply_spaces`](crate::core::sync::storage::SyncStorage)), in one transaction.
pub async fn apply_spaces(
    db: &IdbDatabase,
    schema: &Schema,
    asked: &[SpaceCursor],
    answer: SpacesResponse,
    now: f64,
) -> Result<PageApplied> {
    let context = "applying pulled changes";
    let tx = all_stores(db)?;
    let work = async {
        let fail = js_err(context);
        let meta = store(&tx, META_STORE)?;
        let no_space = request(&meta.get(&JsValue::from_str(CURSOR_KEY)).map_err(&fail)?, context);
        let mut set = read_set(&meta, context).await?;
        let no_space = no_space.await?.as_string();
        let declared = |c: &str| schema.collection(c).is_some();
        let mut applied = PageApplied::default();
        let (mut set_changed, mut no_space_cursor) = (false, None);
        for page in &answer.spaces {
            let Some(asked) = asked.iter().find(|a| a.space == page.space) else { continue };
            let stored = match &page.space {
                None => no_space.clone(),
                // Removed meanwhile: its records went with it, and its page goes too.
                Some(space) => match set.get(space) {
                    Some(row) => row.cursor.clone(),
                    None => continue,
                },
            };
            applied.received += (page.changes.len() + page.left.len()) as u64;
            apply_changes(&tx, schema, &page.changes, now, &mut applied).await?;
            for left in page.left.iter().filter(|l| declared(&l.collection)) {
                apply_left(&tx, schema, left, page.space.as_deref(), &mut applied, context).await?;
            }
            if stored != asked.cursor {
                applied.restart = true;
                continue;
            }
            match &page.space {
                None => no_space_cursor = Some(page.cursor.clone()),
                Some(space) => {
                    if let Some(row) = set.get_mut(space) {
                        row.cursor = Some(page.cursor.clone());
                        if !page.has_more {
                            row.synced_at = Some(now);
                        }
                        set_changed = true;
                    }
                }
            }
        }
        if let Some(cursor) = no_space_cursor {
            meta.put_with_key(&JsValue::from_str(&cursor), &JsValue::from_str(CURSOR_KEY)).map_err(&fail)?;
        }
        if set_changed {
            write_set(&meta, &set, context)?;
        }
        applied.sweep_due = super::force::sweep_due(&tx, context).await?.is_due();
        Ok(applied)
    };
    commit_now_or_abort(&tx, context, work).await
}

/// A `left` entry of `space`: the local copy goes if the core's [`left_removes`] says so; a
/// conflict kept for queued changes learns that the record is gone from here ([`left_conflict`]).
async fn apply_left(
    tx: &IdbTransaction,
    schema: &Schema,
    left: &crate::protocol::LeftRecord,
    space: Option<&str>,
    applied: &mut PageApplied,
    context: &str,
) -> Result<()> {
    let fail = js_err(context);
    let key = JsValue::from_str(&left.id);
    let records = store(tx, &left.collection)?;
    let conflicts = store(tx, CONFLICTS_STORE)?;
    let conflict_key = record_key(&left.collection, &key);
    let record = request(&records.get(&key).map_err(&fail)?, context);
    let queued = entries_of(&by_record(&outbox(tx)?)?, &left.collection, &key, context)?;
    let conflict = request(&conflicts.get(&conflict_key).map_err(&fail)?, context);
    let (record, queued, conflict) = (record.await?, !entries(&queued.await?).is_empty(), conflict.await?);
    let here = space_of(schema, &left.collection, &record);
    let meta = read_meta(&record);
    let copy = meta.as_ref().map(|meta| Copy { meta, space: here.as_deref(), queued });
    if left_removes(left, space, copy) {
        records.delete(&key).map_err(&fail)?;
        conflicts.delete(&conflict_key).map_err(&fail)?;
        applied.changes.add(&left.collection, &left.id, Op::Delete);
        return Ok(());
    }
    if conflict.is_undefined() {
        return Ok(());
    }
    // Kept for its changes: a conflict whose server version is the one that left learns that the
    // record is gone from here.
    let server = get(&conflict, "server");
    let theirs =
        if get(&server, "deleted").as_bool() == Some(true) { JsValue::UNDEFINED } else { get(&server, "data") };
    let theirs = field(schema, &left.collection).and_then(|f| get(&theirs, f).as_string());
    if theirs.as_deref() != space {
        return Ok(());
    }
    let held = ServerRecord {
        collection: left.collection.clone(),
        id: left.id.clone(),
        version: get(&server, "version").as_f64().unwrap_or(0.0) as u64,
        deleted: true,
        data: None,
        updated_at: None,
        forced: false,
    };
    if let Some(gone) = left_conflict(left, &held) {
        set_field(conflict.unchecked_ref(), "server", &wire::server_record(&gone));
        conflicts.put(&conflict).map_err(&fail)?;
    }
    Ok(())
}

/// Lets the record of `collection`/`key` go from this device if it is outside the device's spaces
/// and nothing holds it ([`outside`]): a local removal, never pushed. `record`: the record as it
/// is after the step (undefined if it went); `queued`, `in_conflict`: after the step too.
#[allow(clippy::too_many_arguments)]
pub fn prune(
    tx: &IdbTransaction,
    schema: &Schema,
    set: &SpaceSet,
    collection: &str,
    key: &JsValue,
    record: &JsValue,
    queued: bool,
    in_conflict: bool,
    context: &str,
) -> Result<bool> {
    let space = space_of(schema, collection, record);
    if !outside(space.as_deref(), |s| set.contains(s), queued, in_conflict) {
        return Ok(false);
    }
    store(tx, collection)?.delete(key).map_err(js_err(context))?;
    Ok(true)
}
