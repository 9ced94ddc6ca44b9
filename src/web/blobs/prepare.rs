//! Before a write: the `Blob`s of a record's declared blob fields are hashed and replaced by
//! references, and each becomes a `_blobs` row for the write's transaction to store (once per
//! hash). Hashing reads the blob outside any transaction (a transaction must not wait on anything
//! but its own requests). A blob that is read in one step is hashed by [`super::digest`] (Web
//! Crypto); a larger one is read in chunks through the core's incremental hasher, so a file of
//! hundreds of MB is never in memory at once.

use js_sys::{Array, Reflect, Uint8Array};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

use crate::core::blobs::Hasher;
use crate::core::error::{Error, ErrorKind, Result};
use crate::core::schema::CollectionDef;

use super::super::error::from_js;
use super::super::js::get;
use super::glue;

/// Bytes read per step while hashing.
const HASH_CHUNK: f64 = 4.0 * 1024.0 * 1024.0;

/// The declared blob fields of `collection`, as a JS array.
pub fn fields(collection: &CollectionDef) -> Array {
    collection.blobs.iter().map(|f| JsValue::from_str(f)).collect()
}

/// Record `data` (number `i` of a write call, for the message) with its `Blob`s replaced by
/// references, and the `_blobs` rows to store with it: each holding the `Blob`, or, when
/// `as_parts` (an engine that stores no Blobs), the bytes read while hashing. `None` when the
/// data holds no Blob. A `Blob` at the top of a field the collection does not declare is refused
/// (InvalidRecord): it would be stored but never synced.
pub async fn take(
    collection: &CollectionDef,
    i: usize,
    data: &JsValue,
    as_parts: bool,
    now: f64,
) -> Result<Option<(JsValue, Vec<JsValue>)>> {
    if collection.blobs.is_empty() {
        return Ok(None);
    }
    let taken = glue::take_blobs(data, &fields(collection))
        .map_err(|e| from_js("reading its fields", &e, ErrorKind::InvalidRecord))?;
    if taken.is_undefined() {
        return Ok(None);
    }
    if let Some(field) = get(&taken, "misplaced").as_string() {
        return Err(Error::new(
            ErrorKind::InvalidRecord,
            format!(
                "record #{i}: field \"{field}\" holds a Blob, but collection \"{}\" does not name it in `blobs`",
                collection.name
            ),
        ));
    }
    let mut rows = Vec::new();
    for pair in Array::from(&get(&taken, "found")).iter() {
        let pair = Array::from(&pair);
        let (blob, reference) = (pair.get(0), pair.get(1));
        let size = get(&blob, "size").as_f64().unwrap_or(0.0);
        let parts = as_parts.then(Array::new);
        let hash = hash_blob(&blob, size, parts.as_ref()).await?;
        let _ = Reflect::set(&reference, &JsValue::from_str("$blob"), &JsValue::from_str(&hash));
        let media_type = get(&blob, "type").as_string().unwrap_or_default();
        let parts: JsValue = parts.map_or(JsValue::UNDEFINED, Into::into);
        rows.push(glue::make_blob_row(&hash, &blob, &parts, size, &media_type, now, false));
    }
    Ok(Some((get(&taken, "data"), rows)))
}

/// The SHA-256 of a blob's bytes, read [`HASH_CHUNK`] at a time; each chunk's ArrayBuffer is
/// kept in `parts` when given. A blob of one chunk is hashed in one go, by Web Crypto where there
/// is one: natively, and without copying its bytes into the wasm memory.
async fn hash_blob(blob: &JsValue, size: f64, parts: Option<&Array>) -> Result<String> {
    if size <= HASH_CHUNK {
        let buffer = read(blob, 0.0, size).await?;
        if let Some(parts) = parts {
            parts.push(&buffer);
        }
        return Ok(super::digest(&Array::of1(&buffer)).await);
    }
    let mut hasher = Hasher::new();
    let mut at = 0.0;
    while at < size {
        let end = (at + HASH_CHUNK).min(size);
        let buffer = read(blob, at, end).await?;
        hasher.update(&Uint8Array::new(&buffer).to_vec());
        if let Some(parts) = parts {
            parts.push(&buffer);
        }
        at = end;
    }
    Ok(hasher.finish())
}

/// Bytes `start .. end` of `blob`.
async fn read(blob: &JsValue, start: f64, end: f64) -> Result<JsValue> {
    JsFuture::from(glue::blob_chunk(blob, start, end))
        .await
        .map_err(|e| from_js("reading a Blob to hash it", &e, ErrorKind::InvalidRecord))
}
