//! Naming the unique index a refused write clashes on. The browser's ConstraintError says that a
//! uniqueness requirement failed, but only some engines name the index in its message, so after
//! such a failure the written records are checked against each unique index of the collection.

use js_sys::Array;
use wasm_bindgen_futures::JsFuture;
use web_sys::IdbDatabase;

use crate::core::error::Error;

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
    Error {
        message: format!(
            "writing to \"{collection}\": the unique index \"{index}\" already holds this value, in record \"{other}\"{cause}"
        ),
        ..error
    }
}
