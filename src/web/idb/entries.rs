//! Outbox entries as IndexedDB stores them (JS objects, read into the core's
//! [`Entry`](crate::core::sync::entry::Entry)), and the transaction shape every sync step uses:
//! all stores, readwrite, committed or aborted as a whole.

use std::future::Future;

use js_sys::Array;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use web_sys::{IdbDatabase, IdbIndex, IdbObjectStore, IdbTransaction};

use crate::core::error::{ErrorKind, Result};
use crate::core::meta_rows::Row;
use crate::core::schema::{META_STORE, OUTBOX_BY_RECORD, OUTBOX_STORE};
use crate::core::sync::entry::{decode, Entry, RawEntry};

use super::super::error::from_js;
use super::super::glue;
use super::super::js::get;
use super::connection::{js_err, request, transaction};

/// `_meta` key of the number of dead letters in the outbox, kept by every step that adds or
/// removes one, so that the status never has to scan the queue.
pub const DEAD_LETTERS_KEY: &str = Row::DeadLetters.key();

/// One stored outbox entry: what the rules read, and the object as stored, to write back changed.
pub struct Stored {
    pub entry: Entry,
    pub raw: JsValue,
}

impl Stored {
    /// The entry `raw` holds, or why it holds none (the core's [`decode`] says).
    pub fn decode(raw: JsValue) -> std::result::Result<Stored, (JsValue, String)> {
        let fields = RawEntry {
            seq: get(&raw, "seq").as_f64(),
            mutation_id: get(&raw, "mutationId").as_string(),
            collection: get(&raw, "collection").as_string(),
            record_id: get(&raw, "recordId").as_string(),
            op: get(&raw, "op").as_string(),
            base_version: get(&raw, "baseVersion").as_f64(),
            attempts: get(&raw, "attempts").as_f64(),
            never_sent: get(&raw, "neverSent").as_bool(),
            hold: get(&raw, "hold").as_string(),
            force: get(&raw, "force").as_bool(),
        };
        match decode(fields) {
            Ok(entry) => Ok(Stored { entry, raw }),
            Err(why) => Err((raw, why)),
        }
    }
}

/// The entries of a getAll() answer, in queue order. A row that does not decode is passed over
/// here; reading a batch quarantines it ([`super::push::read_batch`]).
pub fn entries(list: &JsValue) -> Vec<Stored> {
    Array::from(list).iter().filter_map(|raw| Stored::decode(raw).ok()).collect()
}

/// The entries of a getAll() answer, and the rows that do not decode, each with why.
pub fn entries_and_damaged(list: &JsValue) -> (Vec<Stored>, Vec<(JsValue, String)>) {
    let mut good = Vec::new();
    let mut damaged = Vec::new();
    for raw in Array::from(list).iter() {
        match Stored::decode(raw) {
            Ok(stored) => good.push(stored),
            Err(bad) => damaged.push(bad),
        }
    }
    (good, damaged)
}

/// The seq key of an entry, as IndexedDB holds it.
pub fn seq_key(seq: u64) -> JsValue {
    JsValue::from_f64(seq as f64)
}

pub fn store(tx: &IdbTransaction, name: &str) -> Result<IdbObjectStore> {
    tx.object_store(name).map_err(|e| from_js(&format!("opening store \"{name}\""), &e, ErrorKind::Storage))
}

/// A readwrite transaction over every store of the database (records of any collection, the
/// outbox, conflicts and meta), so that a sync step commits as one.
pub fn all_stores(db: &IdbDatabase) -> Result<IdbTransaction> {
    transaction(db, &store_names(db).iter().map(String::as_str).collect::<Vec<_>>(), true)
}

/// [`all_stores`], flushed to disk before it reports the commit. The step that counts a send
/// (the sent mark, [`super::sent`]) must be on disk before the request leaves: if a crash lost
/// it, a later write could coalesce into a change the server already applied under its mutation
/// id, and be lost. One such commit per batch costs little; every other step may be redone
/// safely, so it keeps the browser's default (relaxed) durability.
pub fn all_stores_strict(db: &IdbDatabase) -> Result<IdbTransaction> {
    let names: Array = store_names(db).iter().map(|n| JsValue::from_str(n)).collect();
    glue::strict_transaction(db, &names)
        .map_err(|e| from_js("starting a transaction on every store", &e, ErrorKind::Storage))
}

/// Every store of the database: the collections and ferrysync's own.
pub fn store_names(db: &IdbDatabase) -> Vec<String> {
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

/// `keys` (collection, id) grouped by collection: each collection with the positions of its ids
/// in `keys` and the ids as a JS array.
fn by_collection<'a>(keys: &[(&'a str, &str)]) -> Vec<(&'a str, Vec<usize>, Array)> {
    let mut groups: Vec<(&str, Vec<usize>, Array)> = Vec::new();
    for (i, (collection, id)) in keys.iter().enumerate() {
        let at = match groups.iter().position(|(c, _, _)| c == collection) {
            Some(at) => at,
            None => {
                groups.push((collection, Vec::new(), Array::new()));
                groups.len() - 1
            }
        };
        groups[at].1.push(i);
        groups[at].2.push(&JsValue::from_str(id));
    }
    groups
}

/// Waits for one answer per group of [`by_collection`] and puts each value at its key's position.
async fn gather(n: usize, answers: Vec<(Vec<usize>, JsFuture)>, context: &str) -> Result<Vec<JsValue>> {
    let mut out = vec![JsValue::UNDEFINED; n];
    for (positions, answer) in answers {
        let values = Array::from(&answer.await.map_err(|e| from_js(context, &e, ErrorKind::Storage))?);
        for (k, i) in positions.into_iter().enumerate() {
            out[i] = values.get(k as u32);
        }
    }
    Ok(out)
}

/// The records of `keys` (collection, id), one value per key in their order (undefined where
/// there is none), read a collection at a time ([`glue::get_many`]: one range read when the ids
/// lie together, as ids made in order do). Every request is issued before this returns.
pub fn records_of(
    tx: &IdbTransaction,
    keys: &[(&str, &str)],
    context: &str,
) -> Result<impl Future<Output = Result<Vec<JsValue>>>> {
    let mut answers = Vec::new();
    for (collection, positions, ids) in by_collection(keys) {
        let promise = glue::get_many(&store(tx, collection)?, &ids).map_err(js_err(context))?;
        answers.push((positions, JsFuture::from(promise)));
    }
    let (n, context) = (keys.len(), context.to_string());
    Ok(async move { gather(n, answers, &context).await })
}

/// The outbox entries of each record of `keys` (collection, id), one JS array per key in their
/// order ([`glue::entries_of_many`]). Every request is issued before this returns.
pub fn entries_of_each(
    index: &IdbIndex,
    keys: &[(&str, &str)],
    context: &str,
) -> Result<impl Future<Output = Result<Vec<JsValue>>>> {
    let mut answers = Vec::new();
    for (collection, positions, ids) in by_collection(keys) {
        let promise = glue::entries_of_many(index, collection, &ids).map_err(js_err(context))?;
        answers.push((positions, JsFuture::from(promise)));
    }
    let (n, context) = (keys.len(), context.to_string());
    Ok(async move { gather(n, answers, &context).await })
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
