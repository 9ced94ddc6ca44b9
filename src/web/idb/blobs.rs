//! `_blobs` in IndexedDB: one row per blob (keyed by its hash) with the `Blob` and where its
//! upload stands. A row not on the server yet has `upload` (`"no"`, or `"failed"` with the
//! refusal), which the `byUpload` index lists, so that finding the uploads to do, and the changes
//! that wait for them, reads only those few rows.

use std::future::Future;

use js_sys::{Array, Map, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{IdbDatabase, IdbTransaction};

use crate::core::blobs::Uploaded;
use crate::core::error::{Error, ErrorKind, Result};
use crate::core::schema::{CollectionDef, Schema, BLOBS_BY_UPLOAD, BLOBS_STORE};
use crate::core::status::StatusEvent;
use crate::core::sync::rules::push::awaits_upload;
use crate::core::sync::rules::RecordStep;
use crate::core::sync::storage::Decided;
use crate::protocol::BlobRef;

use super::super::blobs::{blob_of_row, fields, refs_in, with_blobs};
use super::super::js::get;
use super::super::records::read_meta;
use super::connection::{commit_now_or_abort, js_err, request, transaction};
use super::entries::{all_stores, count_dead_letters, entries, outbox, records_of, store};
use super::push::{reject, Rejection};
use super::record_step::carry_out;

/// The `upload` value of a blob not on the server yet.
const NOT_UPLOADED: &str = "no";
const FAILED: &str = "failed";

/// Stores the blob `rows` of a write that are not stored yet (a blob already here keeps its row,
/// its bytes and where its upload stands; a pulled reference without bytes gets them), then
/// evicts downloaded blobs beyond `cap`. In the write's transaction.
pub async fn store_rows(tx: &IdbTransaction, rows: &[JsValue], cap: Option<u64>, context: &str) -> Result<()> {
    let blobs = store(tx, BLOBS_STORE)?;
    let fail = js_err(context);
    let mut pending = Vec::with_capacity(rows.len());
    for row in rows {
        let hash = get(row, "hash");
        pending.push((row, request(&blobs.get(&hash).map_err(&fail)?, context)));
    }
    let mut put: Vec<String> = Vec::new();
    let mut added = 0;
    for (row, here) in pending {
        let hash = get(row, "hash").as_string().unwrap_or_default();
        if blob_of_row(&here.await?).is_undefined() && !put.contains(&hash) {
            blobs.put(row).map_err(&fail)?;
            added += get(row, "size").as_f64().unwrap_or(0.0) as i64;
            put.push(hash);
        }
    }
    let evicted = super::downloads::evict(&blobs, cap, added as u64, context).await?;
    super::downloads::add_to_total(&blobs, added - evicted as i64, context).await
}

/// The hashes of the blobs not on the server (not uploaded, or refused), issued now.
pub fn waiting(tx: &IdbTransaction, context: &str) -> Result<impl Future<Output = Result<Vec<String>>>> {
    let index = store(tx, BLOBS_STORE)?.index(BLOBS_BY_UPLOAD).map_err(js_err(context))?;
    let keys = request(&index.get_all_keys().map_err(js_err(context))?, context);
    Ok(async move { Ok(Array::from(&keys.await?).iter().filter_map(|k| k.as_string()).collect()) })
}

/// Whether a change of `record` (of a collection with blob `fields`) waits for an upload: it
/// refers to one of the blobs `waiting`.
pub fn waits(record: &JsValue, fields: &Array, waiting: &[String]) -> bool {
    !waiting.is_empty() && refs_in(record, fields).iter().any(|h| h.as_string().is_some_and(|h| waiting.contains(&h)))
}

/// Whether a pushed change whose server answer is `result` waits for its blobs instead of being
/// judged (`blob_missing`, with every blob its `record` refers to stored here): if so, those
/// blobs are marked not uploaded, to go up again before the change is sent again.
pub async fn await_upload(
    tx: &IdbTransaction,
    record: &JsValue,
    fields: &Array,
    result: &crate::protocol::MutationResult<super::super::wire::JsData>,
    context: &str,
) -> Result<bool> {
    if !matches!(result, crate::protocol::MutationResult::Rejected { .. }) {
        return Ok(false);
    }
    let hashes = refs_in(record, fields);
    let blobs = store(tx, BLOBS_STORE)?;
    let fail = js_err(context);
    let mut rows = Vec::new();
    for h in hashes.iter() {
        rows.push(request(&blobs.get(&h).map_err(&fail)?, context));
    }
    let mut stored = Vec::new();
    for row in rows {
        let row = row.await?;
        if !blob_of_row(&row).is_undefined() {
            stored.push(row);
        }
    }
    let here = hashes.length() > 0 && stored.len() == hashes.length() as usize;
    if !awaits_upload(result, here) {
        return Ok(false);
    }
    for row in stored {
        Reflect::set(&row, &JsValue::from_str("upload"), &JsValue::from_str(NOT_UPLOADED)).map_err(&fail)?;
        blobs.put(&row).map_err(&fail)?;
    }
    Ok(true)
}

/// Marks the files `record` refers to that the server refused (`upload: "failed"`) as not
/// uploaded, so that a retried change goes up with them.
pub async fn retry_refused(tx: &IdbTransaction, record: &JsValue, fields: &Array, context: &str) -> Result<()> {
    let blobs = store(tx, BLOBS_STORE)?;
    let fail = js_err(context);
    let mut rows = Vec::new();
    for h in refs_in(record, fields).iter() {
        rows.push(request(&blobs.get(&h).map_err(&fail)?, context));
    }
    for row in rows {
        let row = row.await?;
        if get(&row, "upload").as_string().as_deref() == Some(FAILED) {
            Reflect::set(&row, &JsValue::from_str("upload"), &JsValue::from_str(NOT_UPLOADED)).map_err(&fail)?;
            let _ = Reflect::delete_property(row.unchecked_ref::<js_sys::Object>(), &JsValue::from_str("error"));
            blobs.put(&row).map_err(&fail)?;
        }
    }
    Ok(())
}

/// `records` (an array, or one record or undefined) read from `collection`, with the blobs
/// stored here in place of their references (one read-only transaction on `_blobs` for all of
/// them); a reference to a blob not here stays a reference (`{ $blob, size, type }`).
pub async fn resolve(db: &IdbDatabase, collection: &CollectionDef, records: JsValue) -> Result<JsValue> {
    if collection.blobs.is_empty() || records.is_undefined() || records.is_null() {
        return Ok(records);
    }
    let fields = fields(collection);
    let list = if Array::is_array(&records) { Array::from(&records) } else { Array::of1(&records) };
    let mut hashes: Vec<JsValue> = Vec::new();
    for record in list.iter() {
        for h in refs_in(&record, &fields).iter() {
            if !hashes.iter().any(|k| k.as_string() == h.as_string()) {
                hashes.push(h);
            }
        }
    }
    if hashes.is_empty() {
        return Ok(records);
    }
    let context = "reading the blobs of the records read";
    let tx = transaction(db, &[BLOBS_STORE], false)?;
    let blobs = store(&tx, BLOBS_STORE)?;
    let mut pending = Vec::with_capacity(hashes.len());
    for h in &hashes {
        pending.push(request(&blobs.get(h).map_err(js_err(context))?, context));
    }
    let rows = Map::new();
    for (h, row) in hashes.iter().zip(pending) {
        let row = row.await?;
        if !blob_of_row(&row).is_undefined() {
            rows.set(h, &row);
        }
    }
    // Read: the blobs found not marked used lately move to the back of the eviction's order (a
    // write of their own, after this read, not waited for; none when all are fresh).
    let now = js_sys::Date::now();
    let found: Vec<JsValue> = hashes.iter().filter(|h| super::downloads::stale(&rows.get(h), now)).cloned().collect();
    if !found.is_empty() {
        let db = db.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let _ = super::downloads::touch(&db, &found, now).await;
        });
    }
    let resolved: Array = list.iter().map(|r| with_blobs(&r, &fields, &rows)).collect();
    Ok(if Array::is_array(&records) { resolved.into() } else { resolved.get(0) })
}

/// The next blob to upload: one stored here and not on the server, passing over `skip`.
pub async fn next_upload(db: &IdbDatabase, skip: &[String]) -> Result<Option<BlobRef>> {
    let context = "reading the next blob to upload";
    let tx = transaction(db, &[BLOBS_STORE], false)?;
    let index = store(&tx, BLOBS_STORE)?.index(BLOBS_BY_UPLOAD).map_err(js_err(context))?;
    let rows =
        request(&index.get_all_with_key(&JsValue::from_str(NOT_UPLOADED)).map_err(js_err(context))?, context).await?;
    for row in Array::from(&rows).iter() {
        let Some(hash) = get(&row, "hash").as_string() else { continue };
        if skip.contains(&hash) || blob_of_row(&row).is_undefined() {
            continue;
        }
        let size = get(&row, "size").as_f64().unwrap_or(0.0) as u64;
        let media_type = get(&row, "type").as_string().unwrap_or_default();
        return Ok(Some(BlobRef { hash, size, media_type }));
    }
    Ok(None)
}

/// The stored `Blob` of `hash`, to read a chunk of.
pub async fn blob_of(db: &IdbDatabase, hash: &str) -> Result<JsValue> {
    let context = "reading a blob to upload";
    let tx = transaction(db, &[BLOBS_STORE], false)?;
    let row =
        request(&store(&tx, BLOBS_STORE)?.get(&JsValue::from_str(hash)).map_err(js_err(context))?, context).await?;
    match blob_of_row(&row) {
        blob if blob.is_undefined() => Err(Error::new(ErrorKind::Storage, format!("blob {hash} is not stored here"))),
        blob => Ok(blob),
    }
}

/// Stores how the upload of `hash` ended. `Yes`: the row leaves the `byUpload` index, and the
/// changes waiting for it go with the next batch. `Failed`: the row keeps the refusal, and every
/// queued change (not already held) whose record refers to it becomes a dead letter with it,
/// logged, in the same transaction.
pub async fn end_upload(db: &IdbDatabase, schema: &Schema, hash: &str, outcome: Uploaded, now: f64) -> Result<Decided> {
    let context = "storing how an upload ended";
    let tx = all_stores(db)?;
    let work = async {
        let blobs = store(&tx, BLOBS_STORE)?;
        let fail = js_err(context);
        let key = JsValue::from_str(hash);
        let row = request(&blobs.get(&key).map_err(&fail)?, context).await?;
        let mut decided = Decided::default();
        if row.is_undefined() {
            return Ok(decided);
        }
        let set = |field: &str, value: &JsValue| Reflect::set(&row, &JsValue::from_str(field), value).map_err(&fail);
        match &outcome {
            Uploaded::Yes | Uploaded::No => {
                let _ = Reflect::delete_property(row.unchecked_ref::<js_sys::Object>(), &JsValue::from_str("upload"));
                let _ = Reflect::delete_property(row.unchecked_ref::<js_sys::Object>(), &JsValue::from_str("error"));
                if outcome == Uploaded::No {
                    set("upload", &JsValue::from_str(NOT_UPLOADED))?;
                }
            }
            Uploaded::Failed { code, message } => {
                set("upload", &JsValue::from_str(FAILED))?;
                set("error", &super::super::glue::make_rejection(code, message))?;
            }
        }
        blobs.put(&row).map_err(&fail)?;
        if let Uploaded::Failed { code, message } = outcome {
            decided = dead_letters(&tx, schema, hash, &code, &message, now, context).await?;
        }
        Ok(decided)
    };
    commit_now_or_abort(&tx, context, work).await
}

/// Makes every queued change not held whose record refers to `hash` a dead letter.
async fn dead_letters(
    tx: &IdbTransaction,
    schema: &Schema,
    hash: &str,
    code: &str,
    message: &str,
    now: f64,
    context: &str,
) -> Result<Decided> {
    let all = request(&outbox(tx)?.get_all().map_err(js_err(context))?, context).await?;
    let candidates: Vec<_> = entries(&all)
        .into_iter()
        .filter(|s| s.entry.hold.is_none())
        .filter(|s| schema.collection(&s.entry.collection).is_some_and(|c| !c.blobs.is_empty()))
        .collect();
    let keys: Vec<(&str, &str)> =
        candidates.iter().map(|s| (s.entry.collection.as_str(), s.entry.record_id.as_str())).collect();
    let records = records_of(tx, &keys, context)?.await?;
    let mut decided = Decided::default();
    for (s, record) in candidates.iter().zip(records) {
        let Some(collection) = schema.collection(&s.entry.collection) else { continue };
        let fields = fields(collection);
        if !refs_in(&record, &fields).iter().any(|h| h.as_string().as_deref() == Some(hash)) {
            continue;
        }
        let data = super::super::glue::wire_data(&record);
        let (collection, id) = (s.entry.collection.as_str(), s.entry.record_id.as_str());
        let rejection = Rejection { collection, id, data: &data, code: code.to_string(), message: message.to_string() };
        reject(tx, &s.raw, rejection, now, &mut decided.changes, context).await?;
        if let Some(meta) = read_meta(&record) {
            let status = meta.status.next(StatusEvent::PushRejected);
            let step = RecordStep::Meta(crate::core::meta::RecordMeta { status, ..meta });
            let key = JsValue::from_str(id);
            carry_out(&store(tx, collection)?, &key, &record, step, None, context)?;
            decided.changes.add(collection, id, crate::core::outbox::Op::Update);
        }
        decided.pending_delta -= 1;
    }
    count_dead_letters(tx, -decided.pending_delta).await?;
    Ok(decided)
}
