//! Reads: get, query and count, each in one readonly transaction.
//!
//! Ascending queries use `getAll` with a count, which beats a cursor step per record; only
//! descending order walks a cursor. Tombstones keep no user fields, so they never appear in a
//! user index; only queries over ids filter them out, using the internal tombstone index to
//! know how many extra rows to fetch.

use js_sys::Array;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{IdbCursorDirection, IdbCursorWithValue, IdbDatabase, IdbIndex, IdbKeyRange, IdbObjectStore, IdbRequest};

use crate::core::error::{Error, ErrorKind, Result};
use crate::core::meta::TOMBSTONE_INDEX;
use crate::core::query::{Order, QuerySpec};
use crate::core::schema::{CONFLICTS_STORE, META_STORE, OUTBOX_BY_HOLD, OUTBOX_BY_RECORD, OUTBOX_STORE};
use crate::core::sync::storage::Counts;

use super::super::error::from_js;
use super::super::glue;
use super::super::js::get as field;
use super::connection::{js_err, request, transaction};
use super::entries::{record_key, DEAD_LETTERS_KEY};
use super::sent::{read_mark, show_attempts};

/// Where a query reads from: the records by id, or a declared index.
enum Source {
    Store(IdbObjectStore),
    Index(IdbIndex),
}

impl Source {
    fn get_all(&self, range: &JsValue, count: Option<u32>) -> std::result::Result<IdbRequest, JsValue> {
        match (self, count) {
            (Source::Store(s), Some(n)) => s.get_all_with_key_and_limit(range, n),
            (Source::Store(s), None) => s.get_all_with_key(range),
            (Source::Index(i), Some(n)) => i.get_all_with_key_and_limit(range, n),
            (Source::Index(i), None) => i.get_all_with_key(range),
        }
    }
    fn count(&self, range: &JsValue) -> std::result::Result<IdbRequest, JsValue> {
        match self {
            Source::Store(s) => s.count_with_key(range),
            Source::Index(i) => i.count_with_key(range),
        }
    }
    fn open_cursor(&self, range: &JsValue, direction: IdbCursorDirection) -> std::result::Result<IdbRequest, JsValue> {
        match self {
            Source::Store(s) => s.open_cursor_with_range_and_direction(range, direction),
            Source::Index(i) => i.open_cursor_with_range_and_direction(range, direction),
        }
    }
}

fn open_store(db: &IdbDatabase, collection: &str) -> Result<IdbObjectStore> {
    let tx = transaction(db, &[collection], false)?;
    tx.object_store(collection).map_err(js_err("opening the store"))
}

fn source(store: &IdbObjectStore, collection: &str, spec: &QuerySpec) -> Result<Source> {
    match &spec.index {
        None => Ok(Source::Store(store.clone())),
        Some(name) => {
            if name.starts_with('_') || !store.index_names().contains(name) {
                return Err(Error::new(
                    ErrorKind::UnknownIndex,
                    format!("collection \"{collection}\" has no index \"{name}\"; declare it in the schema"),
                ));
            }
            store.index(name).map(Source::Index).map_err(js_err("opening the index"))
        }
    }
}

fn key_or_all(range: &Option<IdbKeyRange>) -> JsValue {
    range.as_ref().map(|r| r.clone().into()).unwrap_or(JsValue::NULL)
}

/// The record under `key` (a checked id string), or undefined. The hot read path: one request,
/// one JS call to check for a tombstone, and text for errors only when one happens.
pub async fn get(db: &IdbDatabase, collection: &str, key: &JsValue, include_deleted: bool) -> Result<JsValue> {
    let store = open_store(db, collection)?;
    let with_context = |mut e: Error| {
        e.message = format!("reading from \"{collection}\": {}", e.message);
        e
    };
    let req = store.get(key).map_err(|e| from_js("get", &e, ErrorKind::Storage)).map_err(with_context)?;
    let record = request(&req, "get").await.map_err(with_context)?;
    Ok(if !include_deleted && glue::is_tombstone(&record) { JsValue::UNDEFINED } else { record })
}

/// The records under `keys`, in their order (undefined where none), read in one transaction.
pub async fn get_many(db: &IdbDatabase, collection: &str, keys: &[JsValue]) -> Result<Vec<JsValue>> {
    let store = open_store(db, collection)?;
    let context = format!("reading from \"{collection}\"");
    // Every request is issued, and listened to, before the first await.
    let mut pending = Vec::with_capacity(keys.len());
    for key in keys {
        pending.push(request(&store.get(key).map_err(js_err(&context))?, &context));
    }
    let mut out = Vec::with_capacity(keys.len());
    for done in pending {
        out.push(done.await?);
    }
    Ok(out)
}

/// Tombstones whose id falls in `range`.
async fn tombstones_in(store: &IdbObjectStore, range: &JsValue, context: &str) -> Result<u32> {
    let index = store.index(TOMBSTONE_INDEX).map_err(js_err(context))?;
    let n = request(&index.count_with_key(range).map_err(js_err(context))?, context).await?;
    Ok(n.as_f64().unwrap_or(0.0) as u32)
}

pub async fn query(db: &IdbDatabase, collection: &str, spec: &QuerySpec, range: &Option<IdbKeyRange>) -> Result<Array> {
    let store = open_store(db, collection)?;
    let src = source(&store, collection, spec)?;
    let context = format!("querying \"{collection}\"");
    let keys = key_or_all(range);
    if spec.order == Order::Desc {
        return walk_descending(&src, &keys, spec, &context).await;
    }
    let fetch = match (spec.fetch_count(), spec.filters_tombstones()) {
        (Some(n), true) => Some(n.saturating_add(tombstones_in(&store, &keys, &context).await?)),
        (n, _) => n,
    };
    let rows = request(&src.get_all(&keys, fetch).map_err(js_err(&context))?, &context).await?;
    let rows = if spec.filters_tombstones() { glue::without_tombstones(&rows) } else { rows.unchecked_into() };
    Ok(page(rows, spec))
}

fn page(rows: Array, spec: &QuerySpec) -> Array {
    if spec.offset == 0 && spec.limit.is_none_or(|l| l >= rows.length()) {
        return rows;
    }
    let end = spec.limit.map(|l| spec.offset.saturating_add(l)).unwrap_or(rows.length());
    rows.slice(spec.offset, end.min(rows.length()))
}

async fn walk_descending(src: &Source, keys: &JsValue, spec: &QuerySpec, context: &str) -> Result<Array> {
    let out = Array::new();
    let req = src.open_cursor(keys, IdbCursorDirection::Prev).map_err(js_err(context))?;
    let mut skip = spec.offset;
    let wanted = spec.limit.unwrap_or(u32::MAX);
    loop {
        let cursor = request(&req, context).await?;
        if cursor.is_null() || cursor.is_undefined() || out.length() >= wanted {
            break;
        }
        let cursor: IdbCursorWithValue = cursor.unchecked_into();
        let value = cursor.value().map_err(js_err(context))?;
        let deleted = field(&field(&value, "_sync"), "deleted").as_bool().unwrap_or(false);
        if !(deleted && spec.filters_tombstones()) {
            if skip > 0 {
                skip -= 1;
            } else {
                out.push(&value);
            }
        }
        if out.length() >= wanted {
            break;
        }
        cursor.continue_().map_err(js_err(context))?;
    }
    Ok(out)
}

pub async fn count(db: &IdbDatabase, collection: &str, spec: &QuerySpec, range: &Option<IdbKeyRange>) -> Result<u32> {
    let store = open_store(db, collection)?;
    let src = source(&store, collection, spec)?;
    let context = format!("counting \"{collection}\"");
    let keys = key_or_all(range);
    let total = request(&src.count(&keys).map_err(js_err(&context))?, &context).await?;
    let mut n = total.as_f64().unwrap_or(0.0) as u32;
    if spec.filters_tombstones() {
        n = n.saturating_sub(tombstones_in(&store, &keys, &context).await?);
    }
    let n = n.saturating_sub(spec.offset);
    Ok(spec.limit.map_or(n, |l| n.min(l)))
}

/// Every queued outbox entry, oldest first, each with the sends it had under its mutation id
/// ([`show_attempts`]).
pub async fn outbox(db: &IdbDatabase) -> Result<JsValue> {
    let context = "reading the outbox";
    let tx = transaction(db, &[OUTBOX_STORE, META_STORE], false)?;
    let mark = read_mark(&tx, context)?;
    let outbox = tx.object_store(OUTBOX_STORE).map_err(js_err(context))?;
    let entries = Array::from(&request(&outbox.get_all().map_err(js_err(context))?, context).await?);
    show_attempts(&entries, mark.await?);
    Ok(entries.into())
}

/// Every queued change, oldest first, with its record as it is here, read in one transaction:
/// what `exportPending()` gives (`glue::export_entry` says the shape).
pub async fn pending_export(db: &IdbDatabase) -> Result<Array> {
    let context = "exporting the queued changes";
    let names = super::entries::store_names(db);
    let tx = transaction(db, &names.iter().map(String::as_str).collect::<Vec<_>>(), false)?;
    let mark = read_mark(&tx, context)?;
    let outbox = tx.object_store(OUTBOX_STORE).map_err(js_err(context))?;
    let entries = Array::from(&request(&outbox.get_all().map_err(js_err(context))?, context).await?);
    show_attempts(&entries, mark.await?);
    // Every record read is issued before any is awaited, so the transaction stays busy.
    let mut reads = Vec::with_capacity(entries.length() as usize);
    for entry in entries.iter() {
        let collection = field(&entry, "collection").as_string().unwrap_or_default();
        let read = match names.contains(&collection) {
            true => {
                let store = tx.object_store(&collection).map_err(js_err(context))?;
                Some(request(&store.get(&field(&entry, "recordId")).map_err(js_err(context))?, context))
            }
            false => None,
        };
        reads.push((entry, read));
    }
    let changes = Array::new();
    for (entry, read) in reads {
        let record = match read {
            Some(read) => read.await?,
            None => JsValue::UNDEFINED,
        };
        changes.push(&glue::export_entry(&entry, &record));
    }
    Ok(changes)
}

/// When the oldest change still queued was queued (`None`: nothing is queued).
pub async fn oldest_queued_at(db: &IdbDatabase) -> Result<Option<f64>> {
    let store = open_store(db, OUTBOX_STORE)?;
    let context = "reading the outbox";
    let first =
        request(&store.get_all_with_key_and_limit(&JsValue::UNDEFINED, 1).map_err(js_err(context))?, context).await?;
    Ok(Array::from(&first).iter().next().and_then(|entry| field(&entry, "queuedAt").as_f64()))
}

/// `(pending, failed, conflicts)`: every queued entry, the dead letters among them, and the
/// unresolved conflicts.
/// With `blobs` (the schema has blob fields), the bytes of blobs too.
pub async fn sync_counts(db: &IdbDatabase, blobs: bool) -> Result<Counts> {
    let context = "counting queued changes";
    let tx = if blobs {
        transaction(db, &[OUTBOX_STORE, CONFLICTS_STORE, META_STORE, crate::core::schema::BLOBS_STORE], false)?
    } else {
        transaction(db, &[OUTBOX_STORE, CONFLICTS_STORE, META_STORE], false)?
    };
    let blob_bytes = if blobs { Some(super::downloads::bytes(&tx, context)?) } else { None };
    let store = |name: &str| tx.object_store(name).map_err(js_err(context));
    let outbox = store(OUTBOX_STORE)?;
    let queued = request(&outbox.count().map_err(js_err(context))?, context);
    // Held entries are few (one per conflict or dead letter); the changes of their records wait
    // for a decision, so they are not pending.
    let held =
        request(&outbox.index(OUTBOX_BY_HOLD).map_err(js_err(context))?.get_all().map_err(js_err(context))?, context);
    let conflicted = request(&store(CONFLICTS_STORE)?.count().map_err(js_err(context))?, context);
    let failed =
        request(&store(META_STORE)?.get(&JsValue::from_str(DEAD_LETTERS_KEY)).map_err(js_err(context))?, context);
    let meta = store(META_STORE)?;
    let spaces = super::spaces::read_set(&meta, context);
    let n = |v: JsValue| v.as_f64().unwrap_or(0.0).max(0.0) as u64;
    let by_record = outbox.index(OUTBOX_BY_RECORD).map_err(js_err(context))?;
    let mut records: Vec<(String, JsValue)> = Vec::new();
    for entry in Array::from(&held.await?).iter() {
        let (collection, id) = (field(&entry, "collection").as_string().unwrap_or_default(), field(&entry, "recordId"));
        if !records.iter().any(|(c, i)| *c == collection && glue::same_value(i, &id)) {
            records.push((collection, id));
        }
    }
    let mut waiting = Vec::with_capacity(records.len());
    for (collection, id) in &records {
        let key = record_key(collection, id);
        waiting.push(request(&by_record.count_with_key(&key).map_err(js_err(context))?, context));
    }
    let mut held_changes = 0;
    for w in waiting {
        held_changes += n(w.await?);
    }
    Ok(Counts {
        pending: n(queued.await?).saturating_sub(held_changes),
        failed: n(failed.await?),
        conflicts: n(conflicted.await?),
        spaces: spaces.await?.states(),
        blob_bytes: match blob_bytes {
            Some(bytes) => bytes.await?,
            None => Default::default(),
        },
    })
}
