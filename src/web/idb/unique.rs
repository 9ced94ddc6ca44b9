//! Naming the unique index a refused write clashes on. The browser's ConstraintError says that a
//! uniqueness requirement failed, but only some engines name the index in its message, so after
//! such a failure the written records are checked against each unique index of the collection.

use js_sys::Array;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use web_sys::{IdbDatabase, IdbTransaction};

use crate::core::error::{Error, ErrorKind, Result};

use super::super::error::from_js;
use super::super::glue;
use super::super::js::get;
use super::connection::transaction;
use super::entries::store;

/// Whether `error` is a browser's ConstraintError.
pub fn is_clash(error: &Error) -> bool {
    error.dom.as_ref().is_some_and(|d| d.name == "ConstraintError")
}

/// `error` (a ConstraintError of a write to `collection` that put `records` and changed the ids
/// in `rewritten`) with the index and the record it clashes with said first. The error is kept
/// as it was when the clash cannot be found (the check itself failed).
pub async fn name_clash(db: &IdbDatabase, collection: &str, records: &Array, rewritten: &Array, error: Error) -> Error {
    let Ok(tx) = transaction(db, &[collection], false) else { return error };
    let Ok(records_store) = store(&tx, collection) else { return error };
    let Ok(found) = JsFuture::from(glue::find_unique_clash(&records_store, records, rewritten)).await else {
        return error;
    };
    if found.is_null() {
        return error;
    }
    let (index, other) = (get(&found, "index"), get(&found, "id"));
    let (Some(index), Some(other)) = (index.as_string(), other.as_string()) else { return error };
    let cause = error.dom.as_ref().map(|d| format!(" ({}: {})", d.name, d.message)).unwrap_or_default();
    Error { message: format!("{}{cause}", Error::unique_clash(collection, &index, &other).message), ..error }
}

/// The clash that storing `data` as record `key` of `collection` would meet on a unique index, read
/// in `tx` before anything is written: a decision on a conflict checks first, so that a clash
/// leaves the conflict as it was instead of aborting the transaction.
pub async fn clash_in(
    tx: &IdbTransaction,
    collection: &str,
    key: &JsValue,
    data: &JsValue,
    context: &str,
) -> Result<Option<Error>> {
    if data.is_undefined() || data.is_null() {
        return Ok(None);
    }
    let records_store = store(tx, collection)?;
    let candidate =
        glue::stamp_record(data, key, &JsValue::UNDEFINED).map_err(|e| from_js(context, &e, ErrorKind::Storage))?;
    let found = JsFuture::from(glue::find_unique_clash(&records_store, &Array::of1(&candidate), &Array::of1(key)))
        .await
        .map_err(|e| from_js(context, &e, ErrorKind::Storage))?;
    if found.is_null() {
        return Ok(None);
    }
    let (index, other) = (get(&found, "index").as_string(), get(&found, "id").as_string());
    Ok(Some(Error::unique_clash(collection, &index.unwrap_or_default(), &other.unwrap_or_default())))
}
