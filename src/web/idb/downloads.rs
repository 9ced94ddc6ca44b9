//! Downloaded blobs in `_blobs`: the references pulled records bring that the sync is to
//! download (rows without bytes, `download: "wanted"`, which the `byDownload` index lists), the
//! bytes once they arrive and are checked, when each was last used, and the eviction that keeps
//! the bytes stored here under the cap (the core's [`evictions`]).
//!
//! The bytes stored here are summed in one row of `_blobs` itself ([`TOTAL_KEY`]), kept in the
//! transactions that add or drop bytes, so that the status shows them without reading every row.

use js_sys::{Array, Reflect};
use wasm_bindgen::JsValue;
use web_sys::{IdbDatabase, IdbObjectStore, IdbTransaction};

use crate::core::blobs::download::Downloaded;
use crate::core::blobs::{evictions, Cached};
use crate::core::error::Result;
use crate::core::schema::{CollectionDef, BLOBS_BY_DOWNLOAD, BLOBS_BY_UPLOAD, BLOBS_STORE};
use crate::core::status::BlobBytes;
use crate::protocol::BlobRef;

use super::super::blobs::{blob_of_parts, blob_of_row, fields, make_blob_row, ref_objects_in, wanted_blob_row};
use super::super::js::get;
use super::connection::{commit_now_or_abort, js_err, request, transaction};
use super::entries::store;

/// The key of the row that sums the bytes stored in `_blobs` (not a hash: no blob has it).
pub const TOTAL_KEY: &str = "\u{0}total";
const WANTED: &str = "wanted";
const FAILED: &str = "failed";

/// The blobs of the records a pull stores that their collections download during the sync.
#[derive(Default)]
pub struct Wanted(Vec<JsValue>);

impl Wanted {
    /// Notes the references of `record`, pulled into `collection`, that it downloads eagerly.
    pub fn note(&mut self, collection: &CollectionDef, record: &JsValue) {
        if collection.blobs.is_empty() {
            return;
        }
        for reference in ref_objects_in(record, &fields(collection), true).iter() {
            let size = get(&reference, "size").as_f64().unwrap_or(f64::MAX);
            if collection.download.eager(size as u64) {
                self.0.push(reference);
            }
        }
    }

    /// Stores a row without bytes for each noted blob that has no row here, in the pull's
    /// transaction.
    pub async fn store(self, tx: &IdbTransaction, context: &str) -> Result<()> {
        if self.0.is_empty() {
            return Ok(());
        }
        let blobs = store(tx, BLOBS_STORE)?;
        let fail = js_err(context);
        let mut pending = Vec::with_capacity(self.0.len());
        for reference in &self.0 {
            pending
                .push((reference, request(&blobs.count_with_key(&get(reference, "$blob")).map_err(&fail)?, context)));
        }
        let mut added: Vec<String> = Vec::new();
        for (reference, here) in pending {
            let hash = get(reference, "$blob").as_string().unwrap_or_default();
            if here.await?.as_f64() == Some(0.0) && !added.contains(&hash) {
                blobs.put(&wanted_blob_row(reference)).map_err(&fail)?;
                added.push(hash);
            }
        }
        Ok(())
    }
}

/// The next blob the sync downloads, passing over `skip`.
pub async fn next_download(db: &IdbDatabase, skip: &[String]) -> Result<Option<BlobRef>> {
    let context = "reading the next blob to download";
    let tx = transaction(db, &[BLOBS_STORE], false)?;
    let index = store(&tx, BLOBS_STORE)?.index(BLOBS_BY_DOWNLOAD).map_err(js_err(context))?;
    let rows = request(&index.get_all_with_key(&JsValue::from_str(WANTED)).map_err(js_err(context))?, context).await?;
    Ok(Array::from(&rows).iter().map(|row| reference_of(&row)).find(|b| !skip.contains(&b.hash)))
}

/// The reference a `_blobs` row stands for.
pub fn reference_of(row: &JsValue) -> BlobRef {
    BlobRef {
        hash: get(row, "hash").as_string().unwrap_or_default(),
        size: get(row, "size").as_f64().unwrap_or(0.0) as u64,
        media_type: get(row, "type").as_string().unwrap_or_default(),
    }
}

/// The `_blobs` row of `hash` (undefined when there is none).
pub async fn row(db: &IdbDatabase, hash: &str) -> Result<JsValue> {
    let context = "reading a blob";
    let tx = transaction(db, &[BLOBS_STORE], false)?;
    request(&store(&tx, BLOBS_STORE)?.get(&JsValue::from_str(hash)).map_err(js_err(context))?, context).await
}

/// Carries out how the download of `blob` ended. `Stored`: its bytes (`parts`, ArrayBuffers)
/// are stored, as a `Blob` or, where the engine stores none (`as_parts`), as they are, the row
/// leaves `byDownload`, and blobs are evicted down to `cap`; the stored `Blob` is returned.
/// `Failed`: the row says so and the sync stops asking for it. `Dropped`: nothing changes.
pub async fn end_download(
    db: &IdbDatabase,
    blob: &BlobRef,
    outcome: Downloaded,
    parts: Option<&Array>,
    (as_parts, cap): (bool, Option<u64>),
    now: f64,
) -> Result<JsValue> {
    let context = "storing a downloaded blob";
    if outcome == Downloaded::Dropped {
        return Ok(JsValue::UNDEFINED);
    }
    let tx = transaction(db, &[BLOBS_STORE], true)?;
    let work = async {
        let blobs = store(&tx, BLOBS_STORE)?;
        let fail = js_err(context);
        let key = JsValue::from_str(&blob.hash);
        let row = request(&blobs.get(&key).map_err(&fail)?, context).await?;
        if let Some(stored) = Some(blob_of_row(&row)).filter(|b| !b.is_undefined()) {
            // Stored meanwhile (by a write, a read or another tab): that one stays.
            return Ok(stored);
        }
        if let Downloaded::Failed { code, message } = &outcome {
            // Only the sync's downloads fail here, each of a row it read: one gone meanwhile
            // has nothing to mark.
            if row.is_undefined() {
                return Ok(JsValue::UNDEFINED);
            }
            set(&row, "download", &JsValue::from_str(FAILED));
            set(&row, "error", &super::super::glue::make_rejection(code, message));
            blobs.put(&row).map_err(&fail)?;
            return Ok(JsValue::UNDEFINED);
        }
        let parts = parts.cloned().unwrap_or_default();
        let whole = blob_of_parts(&parts, &blob.media_type);
        let kept: JsValue = if as_parts { parts.into() } else { JsValue::UNDEFINED };
        let stored = make_blob_row(&blob.hash, &whole, &kept, blob.size as f64, &blob.media_type, now, true);
        blobs.put(&stored).map_err(&fail)?;
        let evicted = evict(&blobs, cap, blob.size, context).await?;
        add_to_total(&blobs, blob.size as i64 - evicted as i64, context).await?;
        Ok(whole)
    };
    commit_now_or_abort(&tx, context, work).await
}

fn set(target: &JsValue, field: &str, value: &JsValue) {
    let _ = Reflect::set(target, &JsValue::from_str(field), value);
}

/// Drops the bytes of the blobs the core picks so that what is stored fits in `cap` (counting
/// `adding` bytes just put in this transaction); their rows go (a record's reference to one then reads as a
/// reference again, and a read downloads it). Returns the bytes dropped.
pub async fn evict(blobs: &IdbObjectStore, cap: Option<u64>, adding: u64, context: &str) -> Result<u64> {
    let Some(cap) = cap else { return Ok(0) };
    let total = read_total(blobs, context).await?;
    if total + adding <= cap {
        return Ok(0);
    }
    let rows = request(&blobs.get_all().map_err(js_err(context))?, context).await?;
    let cached: Vec<Cached> = Array::from(&rows)
        .iter()
        .filter(|row| !blob_of_row(row).is_undefined())
        .map(|row| Cached {
            hash: get(&row, "hash").as_string().unwrap_or_default(),
            size: get(&row, "size").as_f64().unwrap_or(0.0) as u64,
            used: get(&row, "usedAt").as_f64().unwrap_or(0.0),
            only_here: !get(&row, "upload").is_undefined(),
        })
        .collect();
    let mut dropped = 0;
    for hash in evictions(&cached, cap) {
        blobs.delete(&JsValue::from_str(&hash)).map_err(js_err(context))?;
        dropped += cached.iter().find(|c| c.hash == hash).map_or(0, |c| c.size);
    }
    Ok(dropped)
}

/// The bytes stored in `_blobs`, as summed.
async fn read_total(blobs: &IdbObjectStore, context: &str) -> Result<u64> {
    let row = request(&blobs.get(&JsValue::from_str(TOTAL_KEY)).map_err(js_err(context))?, context).await?;
    Ok(get(&row, "bytes").as_f64().filter(|b| *b >= 0.0).unwrap_or(0.0) as u64)
}

/// Adds `delta` bytes to the sum of what `_blobs` stores (in the caller's transaction).
pub async fn add_to_total(blobs: &IdbObjectStore, delta: i64, context: &str) -> Result<()> {
    if delta == 0 {
        return Ok(());
    }
    let total = read_total(blobs, context).await? as i64;
    let row = js_sys::Object::new();
    set(&row, "hash", &JsValue::from_str(TOTAL_KEY));
    set(&row, "bytes", &JsValue::from_f64((total + delta).max(0) as f64));
    blobs.put(&row).map_err(js_err(context))?;
    Ok(())
}

/// How long a file counts as just used: a read within it marks nothing, so that reads do not
/// cost a write each.
const FRESH_MS: f64 = 60_000.0;

/// Whether the row of a file read at `now` is to be marked used ([`touch`]).
pub fn stale(row: &JsValue, now: f64) -> bool {
    !row.is_undefined() && get(row, "usedAt").as_f64().is_none_or(|t| now - t >= FRESH_MS)
}

/// Marks the blobs of `hashes` used now, for the eviction's order (a row used within the last
/// [`FRESH_MS`] is left as it is).
pub async fn touch(db: &IdbDatabase, hashes: &[JsValue], now: f64) -> Result<()> {
    let context = "marking blobs used";
    let tx = transaction(db, &[BLOBS_STORE], true)?;
    let work = async {
        let blobs = store(&tx, BLOBS_STORE)?;
        let mut rows = Vec::with_capacity(hashes.len());
        for h in hashes {
            rows.push(request(&blobs.get(h).map_err(js_err(context))?, context));
        }
        for row in rows {
            let row = row.await?;
            if !stale(&row, now) {
                continue;
            }
            set(&row, "usedAt", &JsValue::from_f64(now));
            blobs.put(&row).map_err(js_err(context))?;
        }
        Ok(())
    };
    super::connection::commit_or_abort(&tx, context, work).await
}

/// The bytes of blobs stored here, waiting to go up, and waiting to come down (`tx` spans
/// `_blobs`), issued now.
pub fn bytes(tx: &IdbTransaction, context: &str) -> Result<impl std::future::Future<Output = Result<BlobBytes>>> {
    let blobs = store(tx, BLOBS_STORE)?;
    let fail = js_err(context);
    let total = request(&blobs.get(&JsValue::from_str(TOTAL_KEY)).map_err(&fail)?, context);
    let up = request(&blobs.index(BLOBS_BY_UPLOAD).map_err(&fail)?.get_all().map_err(&fail)?, context);
    let wanted = blobs.index(BLOBS_BY_DOWNLOAD).map_err(&fail)?.get_all_with_key(&JsValue::from_str(WANTED));
    let down = request(&wanted.map_err(&fail)?, context);
    let sum = |rows: JsValue| -> u64 {
        Array::from(&rows).iter().map(|r| get(&r, "size").as_f64().unwrap_or(0.0).max(0.0) as u64).sum()
    };
    Ok(async move {
        let stored = get(&total.await?, "bytes").as_f64().filter(|b| *b >= 0.0).unwrap_or(0.0) as u64;
        Ok(BlobBytes { stored, to_upload: sum(up.await?), to_download: sum(down.await?) })
    })
}
