//! The sync log in IndexedDB (`_log`, auto-increment keys): entries are added in the transaction
//! of the step they record, and the oldest beyond the cap go in that same transaction.

use js_sys::Array;
use wasm_bindgen::JsValue;
use web_sys::{IdbDatabase, IdbKeyRange, IdbTransaction};

use crate::core::error::Result;
use crate::core::schema::LOG_STORE;
use crate::core::sync::log::{trim_through, LogKind};

use super::super::glue;
use super::connection::{commit_or_abort, js_err, request, transaction};
use super::entries::store;

/// Adds a `quarantined` entry to the log in `tx`: a row that does not decode, set aside with its
/// `raw` value (in `local`) and `why` (in `message`).
pub async fn quarantined(
    tx: &IdbTransaction,
    now: f64,
    (collection, id): (&str, &str),
    raw: &JsValue,
    why: String,
    context: &str,
) -> Result<()> {
    let kind = LogKind::Quarantined.as_str();
    let entry = glue::make_log_entry(now, kind, collection, id, None, None, raw, &JsValue::UNDEFINED, None, Some(why));
    append(tx, &entry, context).await
}

/// Adds `entry` to the log in `tx`, and drops what falls beyond the cap.
pub async fn append(tx: &IdbTransaction, entry: &JsValue, context: &str) -> Result<()> {
    let log = store(tx, LOG_STORE)?;
    let key = request(&log.add(entry).map_err(js_err(context))?, context).await?;
    if let Some(through) = key.as_f64().and_then(|k| trim_through(k as u64)) {
        let old = IdbKeyRange::upper_bound(&JsValue::from_f64(through as f64)).map_err(js_err(context))?;
        log.delete(&old).map_err(js_err(context))?;
    }
    Ok(())
}

/// Every entry, newest first.
pub async fn read(db: &IdbDatabase) -> Result<JsValue> {
    let context = "reading the sync log";
    let tx = transaction(db, &[LOG_STORE], false)?;
    let all = request(&store(&tx, LOG_STORE)?.get_all().map_err(js_err(context))?, context).await?;
    Ok(Array::from(&all).reverse().into())
}

/// Empties the log.
pub async fn clear(db: &IdbDatabase) -> Result<()> {
    let context = "clearing the sync log";
    let tx = transaction(db, &[LOG_STORE], true)?;
    let log = store(&tx, LOG_STORE)?;
    commit_or_abort(&tx, context, async { log.clear().map(|_| ()).map_err(js_err(context)) }).await
}
