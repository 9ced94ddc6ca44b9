//! Outbox entries as the sync engine reads them, and the transaction shape every sync step
//! uses: all stores, readwrite, committed or aborted as a whole.

use std::future::Future;

use js_sys::Array;
use wasm_bindgen::JsValue;
use web_sys::{IdbDatabase, IdbIndex, IdbObjectStore, IdbTransaction};

use super::super::reads::DEAD_LETTERS_KEY;
use crate::core::error::{ErrorKind, Result};
use crate::core::outbox::Op;
use crate::core::schema::{META_STORE, OUTBOX_BY_RECORD, OUTBOX_STORE};

use super::super::connection::{js_err, request, transaction};
use super::super::error::from_js;
use super::super::interop::get;
pub use super::super::writes::store;

/// Why an entry is held back from pushing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// The server or a pull disagreed; waits for `resolveConflict`.
    Conflict,
    /// A dead letter: the server rejected it; waits for `retryFailed` or `discardFailed`.
    Failed,
}

impl Hold {
    pub fn as_str(self) -> &'static str {
        match self {
            Hold::Conflict => "conflict",
            Hold::Failed => "failed",
        }
    }
}

/// One stored outbox entry.
pub struct Entry {
    pub seq: f64,
    pub mutation_id: String,
    pub collection: String,
    pub record_id: String,
    pub op: Op,
    pub base_version: Option<u64>,
    pub hold: Option<Hold>,
    /// The entry as stored, to write back changed.
    pub raw: JsValue,
}

impl Entry {
    pub fn read(raw: JsValue) -> Option<Entry> {
        let hold = match get(&raw, "hold").as_string().as_deref() {
            Some("conflict") => Some(Hold::Conflict),
            Some("failed") => Some(Hold::Failed),
            _ => None,
        };
        Some(Entry {
            seq: get(&raw, "seq").as_f64()?,
            mutation_id: get(&raw, "mutationId").as_string()?,
            collection: get(&raw, "collection").as_string()?,
            record_id: get(&raw, "recordId").as_string()?,
            op: Op::parse(&get(&raw, "op").as_string()?)?,
            base_version: get(&raw, "baseVersion").as_f64().map(|v| v as u64),
            hold,
            raw,
        })
    }

    pub fn seq_key(&self) -> JsValue {
        JsValue::from_f64(self.seq)
    }
}

/// The entries of every record in a getAll() answer, in queue order.
pub fn entries(list: &JsValue) -> Vec<Entry> {
    Array::from(list).iter().filter_map(Entry::read).collect()
}

/// A readwrite transaction over every store of the database (records of any collection, the
/// outbox, conflicts and meta), so that a sync step commits as one.
pub fn all_stores(db: &IdbDatabase) -> Result<IdbTransaction> {
    transaction(db, &store_names(db).iter().map(String::as_str).collect::<Vec<_>>(), true)
}

/// [`all_stores`], flushed to disk before it reports the commit. The step that counts a send
/// must be on disk before the request leaves: if a crash lost it, a later write could coalesce
/// into a change the server already applied under its mutation id, and be lost. One such commit
/// per batch costs little; every other step may be redone safely, so it keeps the browser's
/// default (relaxed) durability.
pub fn all_stores_strict(db: &IdbDatabase) -> Result<IdbTransaction> {
    let names: js_sys::Array = store_names(db).iter().map(|n| JsValue::from_str(n)).collect();
    super::super::glue::strict_transaction(db, &names)
        .map_err(|e| from_js("starting a transaction on every store", &e, ErrorKind::Storage))
}

fn store_names(db: &IdbDatabase) -> Vec<String> {
    let names = db.object_store_names();
    (0..names.length()).filter_map(|i| names.get(i)).collect()
}

/// The byRecord index of the outbox.
pub fn by_record(outbox: &IdbObjectStore) -> Result<IdbIndex> {
    outbox.index(OUTBOX_BY_RECORD).map_err(|e| from_js("opening the outbox index", &e, ErrorKind::Storage))
}

pub fn outbox(tx: &IdbTransaction) -> Result<IdbObjectStore> {
    store(tx, OUTBOX_STORE)
}

/// Issues a request for every entry of one record; awaited later.
pub fn entries_of(
    index: &IdbIndex,
    collection: &str,
    key: &JsValue,
    context: &str,
) -> Result<impl Future<Output = Result<JsValue>>> {
    let req =
        index.get_all_with_key(&record_key(collection, key)).map_err(|e| from_js(context, &e, ErrorKind::Storage))?;
    Ok(request(&req, context))
}

/// `[collection, id]`: the key of a record in the conflicts store, and of its entries in the
/// outbox's byRecord index.
pub fn record_key(collection: &str, key: &JsValue) -> JsValue {
    Array::of2(&JsValue::from_str(collection), key).into()
}

/// Adds `delta` to the stored number of dead letters, in the step's own transaction.
pub async fn count_dead_letters(tx: &IdbTransaction, delta: i64) -> Result<()> {
    if delta == 0 {
        return Ok(());
    }
    let context = "counting dead letters";
    let meta = store(tx, META_STORE)?;
    let key = JsValue::from_str(DEAD_LETTERS_KEY);
    let now = request(&meta.get(&key).map_err(js_err(context))?, context).await?.as_f64().unwrap_or(0.0);
    let next = (now + delta as f64).max(0.0);
    meta.put_with_key(&JsValue::from_f64(next), &key).map_err(js_err(context))?;
    Ok(())
}
