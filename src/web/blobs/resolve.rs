//! After a read: the references in the declared blob fields of the records read become the
//! `Blob`s stored here (one read of `_blobs` for all of them); a reference to a blob that is not
//! here stays a reference (`{ $blob, size, type }`).

use js_sys::{Array, Map};
use wasm_bindgen::JsValue;

use crate::core::error::Result;
use crate::core::schema::{CollectionDef, BLOBS_STORE};

use super::super::idb::connection::{request, transaction};
use super::super::idb::entries::store;
use super::glue;
use super::prepare::fields;

/// `records` (an array, or one record or undefined) with their blobs in place.
pub async fn resolve(db: &web_sys::IdbDatabase, collection: &CollectionDef, records: JsValue) -> Result<JsValue> {
    if collection.blobs.is_empty() || records.is_undefined() || records.is_null() {
        return Ok(records);
    }
    let fields = fields(collection);
    let list = if Array::is_array(&records) { Array::from(&records) } else { Array::of1(&records) };
    let mut hashes: Vec<JsValue> = Vec::new();
    for record in list.iter() {
        for h in glue::refs_in(&record, &fields).iter() {
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
        let req = blobs
            .get(h)
            .map_err(|e| super::super::error::from_js(context, &e, crate::core::error::ErrorKind::Storage))?;
        pending.push(request(&req, context));
    }
    let rows = Map::new();
    for (h, row) in hashes.iter().zip(pending) {
        let row = row.await?;
        if !glue::blob_of_row(&row).is_undefined() {
            rows.set(h, &row);
        }
    }
    let resolved: Array = list.iter().map(|r| glue::with_blobs(&r, &fields, &rows)).collect();
    Ok(if Array::is_array(&records) { resolved.into() } else { resolved.get(0) })
}
